/**
 * The 8254 programmable interval timer (0x40-0x43) and the PC's system
 * control port B (0x61), after the Intel 8254 datasheet.
 *
 * Three counters clocked at 1.193182 MHz of *guest* time; counter 0's OUT
 * drives IRQ0, counter 1 (DRAM refresh) has no observable output, counter 2
 * is gated by port 0x61 bit 0 and its OUT is readable at port 0x61 bit 5 (the
 * speaker itself is not modelled). Nothing ticks: a counter stores the tick
 * at which its counting element was loaded, and its value and OUT are
 * computed from "now" when read. Counter 0 arms one scheduler task at the
 * tick of OUT's next rising edge, which pulses IRQ0.
 *
 * Ticks are absolute (tick n begins at guest time nsAtTick(n)), so the
 * counters are aligned to one free-running oscillator as on a real board.
 * All six modes, binary and BCD counting, the counter latch and read-back
 * commands, LSB/MSB/LSB-then-MSB access with separate read and write byte
 * flip-flops, the null-count flag, and gate behaviour per mode are modelled.
 *
 * Port 0x61: bits 0-3 read back as written (bit 0 = gate 2, bit 1 = speaker
 * data); bit 4 toggles every 18 PIT ticks (~15.08 us, the DRAM refresh
 * request that BIOS delay loops and Linux poll); bit 5 is OUT2; bits 6-7
 * (parity/IOCHK errors) read 0.
 */
import type { Device, DeviceContext } from '../device.js';
import type { SchedTask } from '../time/scheduler.js';
import type { StateRecord } from '../state/snapshot.js';
import { num, bool, rec } from '../state/snapshot.js';
import { ticksAtNs, nsAtTick } from './device-clock.js';

export const PIT_HZ = 1_193_182;
export const PIT_COUNTER0 = 0x40;
export const PIT_CONTROL = 0x43;
export const PIT_PORT_B = 0x61;
export const PIT_IRQ = 0;
/** Port 0x61 bits. */
export const PIT_PORTB_GATE2 = 0x01;
export const PIT_PORTB_SPEAKER = 0x02;
export const PIT_PORTB_REFRESH = 0x10;
export const PIT_PORTB_OUT2 = 0x20;
/** PIT ticks per refresh-request toggle (15.085 us). */
export const PIT_REFRESH_TICKS = 18;

/** Access modes (control word bits 5:4). */
const RW_LATCH = 0;
const RW_LSB = 1;
const RW_MSB = 2;
const RW_WORD = 3;

function fromBcd(v: number): number {
  return ((v >>> 12) & 0xf) * 1000 + ((v >>> 8) & 0xf) * 100 + ((v >>> 4) & 0xf) * 10 + (v & 0xf);
}
function toBcd(v: number): number {
  return (Math.floor(v / 1000) % 10 << 12) | (Math.floor(v / 100) % 10 << 8) | (Math.floor(v / 10) % 10 << 4) | v % 10;
}

export class PitCounter {
  readonly index: number;
  mode = 0;
  bcd = false;
  rw = RW_LSB;
  /** The count register as programmed (raw 16-bit; 0 means the maximum). */
  countReg = 0;
  /** The count the counting element is running with, in counts (1..65536 or 1..10000). */
  n = 0x10000;
  /** Tick at which the counting element was loaded with `n`; -1 = not counting (no count / not triggered). */
  loadTick = -1;
  /** A new count for modes 2 and 3, taking effect at the end of the current period. */
  pendingN = 0;
  pendingTick = -1;
  /** Gate input level. */
  gate = true;
  /** While the gate is low in modes 0/4: the frozen count (-1 when not frozen). */
  frozen = -1;
  /** A control word was written and no count followed yet. */
  waitingCount = false;
  nullCount = true;
  /** LSB of a two-byte write received, waiting for the MSB. */
  writeHigh = false;
  writeLsb = 0;
  /** Read flip-flop: next read of a two-byte count returns the MSB. */
  readHigh = false;
  countLatched = false;
  latchedCount = 0;
  /** Remaining bytes of the latched count to read (2 for LSB+MSB). */
  latchBytes = 0;
  statusLatched = false;
  latchedStatus = 0;
  /** OUT before the first count is written after a control word: mode 0 low, others high. */
  outIdle = true;

  constructor(index: number) {
    this.index = index;
  }

  powerOn(): void {
    this.mode = 0;
    this.bcd = false;
    this.rw = RW_LSB;
    this.countReg = 0;
    this.n = 0x10000;
    this.loadTick = -1;
    this.pendingN = 0;
    this.pendingTick = -1;
    this.gate = this.index !== 2;
    this.frozen = -1;
    this.waitingCount = false;
    this.nullCount = true;
    this.writeHigh = false;
    this.writeLsb = 0;
    this.readHigh = false;
    this.countLatched = false;
    this.latchedCount = 0;
    this.latchBytes = 0;
    this.statusLatched = false;
    this.latchedStatus = 0;
    this.outIdle = true;
  }

  private modulus(): number {
    return this.bcd ? 10000 : 0x10000;
  }

  private countFromReg(): number {
    const v = this.bcd ? fromBcd(this.countReg) : this.countReg;
    return v === 0 ? this.modulus() : v;
  }

  /** Applies a pending period change that has taken effect by tick `t`. */
  private settle(t: number): void {
    if (this.pendingTick >= 0 && t >= this.pendingTick) {
      this.loadTick = this.pendingTick;
      this.n = this.pendingN;
      this.pendingTick = -1;
    }
    if (this.nullCount && this.loadTick >= 0 && t >= this.loadTick && this.pendingTick < 0 && !this.waitingCount) this.nullCount = false;
  }

  /** The counting element's value at tick `t` (binary, 0..modulus-1; 0 stands for the maximum). */
  countAt(t: number): number {
    this.settle(t);
    if (this.frozen >= 0) return this.frozen;
    if (this.loadTick < 0 || t < this.loadTick) return this.countFromReg() % this.modulus();
    const d = t - this.loadTick;
    const n = this.n;
    const mod = this.modulus();
    switch (this.mode) {
      case 2:
        return n - (d % n);
      case 3: {
        // Decrements by two; each half-period reloads. Report the position within the half.
        const half = d % n;
        const hi = (n + 1) >>> 1;
        const inHalf = half < hi ? half : half - hi;
        const v = (n & ~1) - 2 * inHalf;
        return v <= 0 ? n & ~1 : v;
      }
      default: {
        const v = (n - d) % mod;
        return v < 0 ? v + mod : v;
      }
    }
  }

  /** OUT at tick `t`. */
  outAt(t: number): boolean {
    this.settle(t);
    if (this.loadTick < 0 || t < this.loadTick) return this.outIdle;
    if (this.frozen >= 0) {
      // Gate low: modes 2/3 force OUT high; modes 0/4 hold.
      if (this.mode === 0) return false;
      return true;
    }
    const d = t - this.loadTick;
    const n = this.n;
    switch (this.mode) {
      case 0:
      case 1:
        return d >= n;
      case 2:
        return d % n !== n - 1;
      case 3:
        return d % n < (n + 1) >>> 1;
      default: // 4, 5: one tick low at terminal count
        return d !== n;
    }
  }

  /** The first tick > t at which OUT rises, or -1 if it never will without new programming. */
  nextRiseAfter(t: number): number {
    this.settle(t);
    if (this.loadTick < 0 || this.frozen >= 0) return this.pendingTick > t ? this.pendingTick : -1;
    const L = this.loadTick;
    const n = this.n;
    let rise: number;
    switch (this.mode) {
      case 0:
      case 1:
        rise = L + n > t ? L + n : -1;
        break;
      case 4:
      case 5:
        rise = L + n + 1 > t ? L + n + 1 : -1;
        break;
      default: {
        // Modes 2 and 3 rise at each reload, L + k*n, k >= 1.
        const k = t < L ? 1 : Math.floor((t - L) / n) + 1;
        rise = L + k * n;
        break;
      }
    }
    if (this.pendingTick > t && (rise < 0 || this.pendingTick <= rise)) rise = this.pendingTick;
    return rise;
  }

  controlWord(v: number, t: number): void {
    const rw = (v >>> 4) & 3;
    if (rw === RW_LATCH) {
      this.latchCount(t);
      return;
    }
    this.settle(t);
    this.rw = rw;
    let mode = (v >>> 1) & 7;
    if (mode > 5) mode -= 4; // 6 and 7 alias 2 and 3
    this.mode = mode;
    this.bcd = (v & 1) !== 0;
    this.loadTick = -1;
    this.pendingTick = -1;
    this.frozen = -1;
    this.waitingCount = true;
    this.nullCount = true;
    this.writeHigh = false;
    this.readHigh = false;
    this.countLatched = false;
    this.latchBytes = 0;
    this.statusLatched = false;
    this.outIdle = mode !== 0;
  }

  latchCount(t: number): void {
    if (this.countLatched) return;
    let c = this.countAt(t);
    if (this.bcd) c = toBcd(c % 10000);
    this.latchedCount = c & 0xffff;
    this.countLatched = true;
    this.latchBytes = this.rw === RW_WORD ? 2 : 1;
  }

  latchStatus(t: number): void {
    if (this.statusLatched) return;
    const out = this.outAt(t);
    this.settle(t);
    this.latchedStatus = (out ? 0x80 : 0) | (this.nullCount ? 0x40 : 0) | (this.rw << 4) | (this.mode << 1) | (this.bcd ? 1 : 0);
    this.statusLatched = true;
  }

  read(t: number): number {
    if (this.statusLatched) {
      this.statusLatched = false;
      return this.latchedStatus;
    }
    let c: number;
    if (this.countLatched) {
      c = this.latchedCount;
    } else {
      c = this.countAt(t);
      if (this.bcd) c = toBcd(c % 10000);
    }
    let v: number;
    if (this.rw === RW_LSB) v = c & 0xff;
    else if (this.rw === RW_MSB) v = (c >>> 8) & 0xff;
    else {
      v = this.readHigh ? (c >>> 8) & 0xff : c & 0xff;
      this.readHigh = !this.readHigh;
    }
    if (this.countLatched && --this.latchBytes <= 0) this.countLatched = false;
    return v;
  }

  /** A data-port write. Returns true when a complete count was written. */
  write(v: number, t: number): boolean {
    if (this.rw === RW_LSB) this.countReg = v;
    else if (this.rw === RW_MSB) this.countReg = v << 8;
    else if (!this.writeHigh) {
      this.writeLsb = v;
      this.writeHigh = true;
      if (this.mode === 0) {
        // Writing the first byte in mode 0 stops the count (datasheet).
        this.settle(t);
        if (this.loadTick >= 0) {
          this.frozen = this.countAt(t);
          this.outIdle = false;
          this.loadTick = -1;
        }
      }
      return false;
    } else {
      this.countReg = this.writeLsb | (v << 8);
      this.writeHigh = false;
    }
    this.newCount(t);
    return true;
  }

  private newCount(t: number): void {
    this.settle(t);
    const n = this.countFromReg();
    const first = this.waitingCount;
    this.waitingCount = false;
    this.nullCount = true;
    this.frozen = -1;
    switch (this.mode) {
      case 0:
      case 4:
        this.outIdle = this.mode !== 0;
        this.n = n;
        this.pendingTick = -1;
        if (this.gate) this.loadTick = t + 1;
        else {
          this.loadTick = -1;
          this.frozen = n % this.modulus();
        }
        break;
      case 2:
      case 3:
        if (first || this.loadTick < 0) {
          this.n = n;
          this.loadTick = this.gate ? t + 1 : -1;
          this.pendingTick = -1;
        } else {
          const L = this.loadTick;
          const k = Math.floor((t - L) / this.n) + 1;
          this.pendingTick = L + k * this.n;
          this.pendingN = n;
        }
        break;
      default: // 1, 5: the new count is used at the next trigger
        this.pendingN = n;
        if (first) this.n = n;
        break;
    }
  }

  setGate(level: boolean, t: number): void {
    if (level === this.gate) return;
    this.settle(t);
    this.gate = level;
    switch (this.mode) {
      case 0:
      case 4:
        if (!level) {
          if (this.loadTick >= 0) {
            // Counting stops; OUT keeps the level it had.
            const out = this.outAt(t);
            this.frozen = t >= this.loadTick ? this.countAt(t) : this.n % this.modulus();
            this.outIdle = out;
            this.loadTick = -1;
          }
        } else if (this.frozen >= 0 && !this.waitingCount && !this.writeHigh) {
          // Resume from the frozen count on the next tick.
          const f = this.frozen === 0 ? this.modulus() : this.frozen;
          this.frozen = -1;
          this.loadTick = t + 1 - (this.n - f);
        }
        break;
      case 2:
      case 3:
        if (!level) {
          if (this.loadTick >= 0) {
            this.frozen = this.countAt(t);
            this.loadTick = -1;
            this.pendingTick = -1;
            this.outIdle = true;
          }
        } else if (!this.waitingCount) {
          this.frozen = -1;
          this.loadTick = t + 1;
        }
        break;
      default: // 1, 5: a rising edge triggers (reloads) the counter
        if (level && !this.waitingCount) {
          if (this.pendingN) this.n = this.pendingN;
          this.loadTick = t + 1;
          this.nullCount = false;
        }
        break;
    }
  }

  save(): StateRecord {
    return {
      mode: this.mode, bcd: this.bcd, rw: this.rw, countReg: this.countReg, n: this.n, loadTick: this.loadTick,
      pendingN: this.pendingN, pendingTick: this.pendingTick, gate: this.gate, frozen: this.frozen,
      waitingCount: this.waitingCount, nullCount: this.nullCount, writeHigh: this.writeHigh, writeLsb: this.writeLsb,
      readHigh: this.readHigh, countLatched: this.countLatched, latchedCount: this.latchedCount, latchBytes: this.latchBytes,
      statusLatched: this.statusLatched, latchedStatus: this.latchedStatus, outIdle: this.outIdle,
    };
  }

  load(s: StateRecord): void {
    this.mode = num(s, 'mode'); this.bcd = bool(s, 'bcd'); this.rw = num(s, 'rw'); this.countReg = num(s, 'countReg');
    this.n = num(s, 'n'); this.loadTick = num(s, 'loadTick'); this.pendingN = num(s, 'pendingN');
    this.pendingTick = num(s, 'pendingTick'); this.gate = bool(s, 'gate'); this.frozen = num(s, 'frozen');
    this.waitingCount = bool(s, 'waitingCount'); this.nullCount = bool(s, 'nullCount'); this.writeHigh = bool(s, 'writeHigh');
    this.writeLsb = num(s, 'writeLsb'); this.readHigh = bool(s, 'readHigh'); this.countLatched = bool(s, 'countLatched');
    this.latchedCount = num(s, 'latchedCount'); this.latchBytes = num(s, 'latchBytes');
    this.statusLatched = bool(s, 'statusLatched'); this.latchedStatus = num(s, 'latchedStatus'); this.outIdle = bool(s, 'outIdle');
  }
}

export class Pit8254 implements Device {
  readonly stateName = 'pit';
  readonly stateVersion = 1;
  readonly counters = [new PitCounter(0), new PitCounter(1), new PitCounter(2)] as const;
  /** Port 0x61 bits 0-3 as last written. */
  portB = 0;
  /** IRQ0 pulses raised (summary / debugger). */
  irqCount = 0;
  private ctx: DeviceContext | null = null;
  private task: SchedTask | null = null;
  private irqSource = 0;

  constructor() {
    for (const c of this.counters) c.powerOn();
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.irqSource = ctx.irq.allocSource('pit');
    this.task = ctx.scheduler.createTask('pit.out0', () => this.onOut0Rise());
    ctx.ports.register(PIT_COUNTER0, 4, 'pit', {
      read8: (port) => this.readPort(port),
      write8: (port, v) => this.writePort(port, v),
    });
    ctx.ports.register(PIT_PORT_B, 1, 'pit', {
      read8: () => this.readPortB(),
      write8: (_port, v) => this.writePortB(v),
    });
  }

  /** The current PIT tick. */
  tick(): number {
    return ticksAtNs(this.ctx ? this.ctx.nowNs() : 0, PIT_HZ);
  }

  readPort(port: number): number {
    const i = port & 3;
    if (i === 3) return 0xff; // the control register is write-only
    return this.counters[i]!.read(this.tick());
  }

  writePort(port: number, v: number): void {
    const i = port & 3;
    const t = this.tick();
    if (i < 3) {
      this.counters[i]!.write(v, t);
      if (i === 0) this.rearm(t);
      return;
    }
    const sc = v >>> 6;
    if (sc === 3) {
      // Read-back: bit 5 = 0 latches counts, bit 4 = 0 latches status, bits 3:1 select counters 2..0.
      for (let k = 0; k < 3; k++) {
        if ((v & (2 << k)) === 0) continue;
        const c = this.counters[k]!;
        if ((v & 0x20) === 0) c.latchCount(t);
        if ((v & 0x10) === 0) c.latchStatus(t);
      }
      return;
    }
    this.counters[sc]!.controlWord(v, t);
    if (sc === 0) this.rearm(t);
  }

  readPortB(): number {
    const t = this.tick();
    return (this.portB & 0x0f) | (Math.floor(t / PIT_REFRESH_TICKS) & 1 ? PIT_PORTB_REFRESH : 0) | (this.counters[2].outAt(t) ? PIT_PORTB_OUT2 : 0);
  }

  writePortB(v: number): void {
    this.portB = v & 0x0f;
    this.counters[2].setGate((v & PIT_PORTB_GATE2) !== 0, this.tick());
  }

  /** Arms the OUT0 task at the next rising edge after tick `t`. */
  private rearm(t: number): void {
    const ctx = this.ctx;
    if (!ctx || !this.task) return;
    const rise = this.counters[0].nextRiseAfter(t);
    if (rise < 0) ctx.scheduler.cancel(this.task);
    else ctx.scheduler.armAtNs(this.task, nsAtTick(rise, PIT_HZ));
  }

  private onOut0Rise(): void {
    const ctx = this.ctx!;
    this.irqCount++;
    ctx.irq.pulse(PIT_IRQ, this.irqSource);
    this.rearm(this.tick());
  }

  reset(): void {
    for (const c of this.counters) c.powerOn();
    this.portB = 0;
    this.irqCount = 0;
    if (this.ctx && this.task) this.ctx.scheduler.cancel(this.task);
  }

  saveState(): StateRecord {
    return { c0: this.counters[0].save(), c1: this.counters[1].save(), c2: this.counters[2].save(), portB: this.portB, irqCount: this.irqCount };
  }

  loadState(s: StateRecord): void {
    this.counters[0].load(rec(s, 'c0'));
    this.counters[1].load(rec(s, 'c1'));
    this.counters[2].load(rec(s, 'c2'));
    this.portB = num(s, 'portB');
    this.irqCount = num(s, 'irqCount');
  }
}
