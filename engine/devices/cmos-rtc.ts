/**
 * The MC146818A real-time clock and its CMOS RAM (index 0x70, data 0x71),
 * after the Motorola datasheet, with the PC's CMOS layout.
 *
 * The clock runs in guest time and is computed, not ticked: it holds the
 * time (seconds since the Unix epoch) at a reference update, and updates
 * happen on a 1 s grid of guest time whose phase follows the wall clock at
 * power-on (taken once, lazily, from the boundary). Update-in-progress (UIP)
 * reads as 1 during the 244 us before each update; the new time is visible
 * after it. Calendar arithmetic (proleptic Gregorian, day of week) is done
 * here in integers; the engine never uses Date.
 *
 * Registers A-D: divider (DV 010 = running; 11x holds the divider in reset,
 * and the first update after release comes 500 ms later) and rate select;
 * SET (stops updates so software can write the time; clears UIE), PIE, AIE,
 * UIE, DM (binary/BCD), 24/12; the flags PF, AF, UF and IRQF in register C,
 * cleared by reading it; VRT in D. IRQ8 is asserted while IRQF is set.
 * Flags are computed lazily from "now"; scheduler tasks exist only to raise
 * IRQ8 at the moment an enabled event happens.
 *
 * CMOS layout (as SeaBIOS/QEMU expect): 0x10 floppy types (none), 0x14
 * equipment (FPU), 0x15-0x16 base memory (640 KiB), 0x17-0x18 = 0x30-0x31
 * extended memory in KiB above 1 MiB (max 65535), 0x34-0x35 memory above
 * 16 MiB in 64 KiB units, 0x5B-0x5D memory above 4 GiB (0 here), 0x32
 * century, 0x2E-0x2F checksum of 0x10-0x2D.
 *
 * Simplifications: the time registers are kept as one seconds count, so
 * changing DM or 24/12 reinterprets rather than preserves the stored bytes
 * while running, the day-of-week register is derived from the date, and
 * out-of-range values written by software are normalised (25:00 becomes
 * 01:00 the next day) instead of counting on as the chip would. Daylight
 * saving (DSE) is stored but not applied.
 */
import type { Device, DeviceContext } from '../device.js';
import type { SchedTask } from '../time/scheduler.js';
import type { StateRecord } from '../state/snapshot.js';
import { num, bool, intoTyped } from '../state/snapshot.js';
import { ticksAtNs, nsAtTick, NS_PER_SEC } from './device-clock.js';

export const RTC_INDEX_PORT = 0x70;
export const RTC_DATA_PORT = 0x71;
export const RTC_IRQ = 8;

export const RTC_SECONDS = 0x00;
export const RTC_SECONDS_ALARM = 0x01;
export const RTC_MINUTES = 0x02;
export const RTC_MINUTES_ALARM = 0x03;
export const RTC_HOURS = 0x04;
export const RTC_HOURS_ALARM = 0x05;
export const RTC_DAY_OF_WEEK = 0x06;
export const RTC_DAY_OF_MONTH = 0x07;
export const RTC_MONTH = 0x08;
export const RTC_YEAR = 0x09;
export const RTC_REG_A = 0x0a;
export const RTC_REG_B = 0x0b;
export const RTC_REG_C = 0x0c;
export const RTC_REG_D = 0x0d;
export const RTC_CENTURY = 0x32;

export const RTC_A_UIP = 0x80;
export const RTC_B_SET = 0x80;
export const RTC_B_PIE = 0x40;
export const RTC_B_AIE = 0x20;
export const RTC_B_UIE = 0x10;
export const RTC_B_SQWE = 0x08;
export const RTC_B_DM_BINARY = 0x04;
export const RTC_B_24H = 0x02;
export const RTC_B_DSE = 0x01;
export const RTC_C_IRQF = 0x80;
export const RTC_C_PF = 0x40;
export const RTC_C_AF = 0x20;
export const RTC_C_UF = 0x10;
export const RTC_D_VRT = 0x80;

export const CMOS_EQUIPMENT = 0x14;
export const CMOS_BASE_MEM_LO = 0x15;
export const CMOS_EXT_MEM_LO = 0x17;
export const CMOS_EXT_MEM2_LO = 0x30;
export const CMOS_MEM_ABOVE_16M_LO = 0x34;
export const CMOS_MEM_ABOVE_4G = 0x5b;
export const CMOS_CHECKSUM_HI = 0x2e;

/** The update cycle begins this long after UIP is set (244 us: 8 periods of 32.768 kHz). */
export const RTC_UIP_NS = 244_141;
const RTC_HZ = 32_768;

// ---- calendar (proleptic Gregorian; days since 1970-01-01) ----

export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** [year, month 1-12, day 1-31] of a day number. */
export function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** Broken-down time of a seconds-since-epoch count. dow: 1 = Sunday ... 7 = Saturday (the RTC's numbering). */
export interface RtcFields {
  sec: number;
  min: number;
  hour: number;
  dow: number;
  day: number;
  month: number;
  year: number;
}

export function fieldsFromSeconds(t: number): RtcFields {
  const days = Math.floor(t / 86400);
  const s = t - days * 86400;
  const [year, month, day] = civilFromDays(days);
  const dow = ((((days + 4) % 7) + 7) % 7) + 1;
  return { sec: s % 60, min: Math.floor(s / 60) % 60, hour: Math.floor(s / 3600), dow, day, month, year };
}

export function secondsFromFields(f: RtcFields): number {
  return daysFromCivil(f.year, f.month, f.day) * 86400 + f.hour * 3600 + f.min * 60 + f.sec;
}

function toBcd(v: number): number {
  return ((Math.floor(v / 10) % 10) << 4) | v % 10;
}
function fromBcd(v: number): number {
  return (v >>> 4) * 10 + (v & 0xf);
}

export class CmosRtc implements Device {
  readonly stateName = 'rtc';
  readonly stateVersion = 1;
  readonly cmos = new Uint8Array(128);
  index = 0;
  /** Port 0x70 bit 7: NMI disabled (the CPU side reads this). */
  nmiMasked = false;
  /** Wall clock at power-on in ms (-1 until first needed). */
  bootMs = -1;
  /** The time (s since epoch) after the update numbered refIndex. */
  baseSec = 0;
  refIndex = 0;
  /** Phase of the update grid: updates at gridNs + k * 1e9 (0 <= gridNs < 1e9). */
  gridNs = 0;
  /** False while SET is 1 or the divider is in reset: the time is then held in cmos[0..9] and cmos[0x32]. */
  running = true;
  /** Materialised register C flags, and the marks after which lazy flags count. */
  cFlags = 0;
  pfMark = 0;
  updMark = 0;
  irqLevel = false;
  private ctx: DeviceContext | null = null;
  private periodicTask: SchedTask | null = null;
  private updateTask: SchedTask | null = null;
  private irqSource = 0;

  constructor() {
    this.cmos[RTC_REG_A] = 0x26;
    this.cmos[RTC_REG_B] = RTC_B_24H;
    this.cmos[RTC_REG_D] = RTC_D_VRT;
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.irqSource = ctx.irq.allocSource('rtc');
    this.periodicTask = ctx.scheduler.createTask('rtc.periodic', () => this.onEvent());
    this.updateTask = ctx.scheduler.createTask('rtc.update', () => this.onEvent());
    ctx.ports.register(RTC_INDEX_PORT, 2, 'rtc', {
      read8: (port) => (port === RTC_INDEX_PORT ? 0xff : this.readData()),
      write8: (port, v) => {
        if (port === RTC_INDEX_PORT) {
          this.index = v & 0x7f;
          this.nmiMasked = (v & 0x80) !== 0;
        } else this.writeData(v);
      },
    });
    this.setMemorySize(ctx.memory.ramBytes);
  }

  /** Fills the CMOS memory-size fields for `ramBytes` of RAM below 4 GiB and updates the checksum. */
  setMemorySize(ramBytes: number): void {
    const c = this.cmos;
    c[0x10] = 0; // no floppies
    c[0x12] = 0; // no legacy hard disks
    c[CMOS_EQUIPMENT] = 0x02; // math coprocessor; no floppy; EGA/VGA
    c[CMOS_BASE_MEM_LO] = 640 & 0xff;
    c[CMOS_BASE_MEM_LO + 1] = 640 >>> 8;
    const extKb = Math.min(65535, Math.max(0, Math.floor(ramBytes / 1024) - 1024));
    c[CMOS_EXT_MEM_LO] = c[CMOS_EXT_MEM2_LO] = extKb & 0xff;
    c[CMOS_EXT_MEM_LO + 1] = c[CMOS_EXT_MEM2_LO + 1] = extKb >>> 8;
    const above16 = ramBytes > 16 << 20 ? Math.min(65535, Math.floor((ramBytes - (16 << 20)) / 65536)) : 0;
    c[CMOS_MEM_ABOVE_16M_LO] = above16 & 0xff;
    c[CMOS_MEM_ABOVE_16M_LO + 1] = above16 >>> 8;
    c[CMOS_MEM_ABOVE_4G] = c[CMOS_MEM_ABOVE_4G + 1] = c[CMOS_MEM_ABOVE_4G + 2] = 0;
    this.updateChecksum();
  }

  updateChecksum(): void {
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += this.cmos[i]!;
    this.cmos[CMOS_CHECKSUM_HI] = (sum >>> 8) & 0xff;
    this.cmos[CMOS_CHECKSUM_HI + 1] = sum & 0xff;
  }

  // ---- time base ----

  private now(): number {
    return this.ctx ? this.ctx.nowNs() : 0;
  }

  /** Number of update boundaries (gridNs + k*1e9, k >= 0) at or before `ns`. */
  private secIndex(ns: number): number {
    return Math.floor((ns - this.gridNs + NS_PER_SEC) / NS_PER_SEC);
  }

  /** 32.768 kHz divider ticks, aligned with the update grid. */
  private tick32(ns: number): number {
    return ticksAtNs(ns - this.gridNs + NS_PER_SEC, RTC_HZ);
  }

  private ensureBoot(): void {
    if (this.bootMs >= 0 || !this.ctx) return; // not attached yet: nothing to ask
    const ms = Math.floor(this.ctx.boundary.wallClockAtBoot());
    this.bootMs = ms;
    const sec = Math.floor(ms / 1000);
    const msInto = ms - sec * 1000;
    this.gridNs = ((1000 - msInto) % 1000) * 1_000_000;
    this.baseSec = sec;
    this.refIndex = this.secIndex(0);
    this.pfMark = this.tick32(this.now());
    this.updMark = this.secIndex(this.now());
  }

  /** The clock's time now, in seconds since the epoch. */
  currentSeconds(): number {
    this.ensureBoot();
    if (!this.running) return secondsFromFields(this.decodeHeld());
    return this.baseSec + this.secIndex(this.now()) - this.refIndex;
  }

  private dividerRunning(): boolean {
    return ((this.cmos[RTC_REG_A]! >>> 4) & 7) < 6;
  }

  private periodTicks(): number {
    const rs = this.cmos[RTC_REG_A]! & 0x0f;
    if (rs === 0 || !this.dividerRunning()) return 0;
    if (rs <= 2) return 1 << (rs + 6); // 256 Hz, 128 Hz
    return 1 << (rs - 1);
  }

  private encode(v: number): number {
    return this.cmos[RTC_REG_B]! & RTC_B_DM_BINARY ? v : toBcd(v);
  }
  private decode(v: number): number {
    return this.cmos[RTC_REG_B]! & RTC_B_DM_BINARY ? v : fromBcd(v);
  }
  private encodeHour(h: number): number {
    if (this.cmos[RTC_REG_B]! & RTC_B_24H) return this.encode(h);
    const pm = h >= 12;
    const h12 = h % 12 === 0 ? 12 : h % 12;
    return this.encode(h12) | (pm ? 0x80 : 0);
  }
  private decodeHour(v: number): number {
    if (this.cmos[RTC_REG_B]! & RTC_B_24H) return this.decode(v);
    const h = this.decode(v & 0x7f) % 12;
    return v & 0x80 ? h + 12 : h;
  }

  /** The register value of time field `reg` (0x00-0x09 or 0x32) for time `t`. */
  private fieldReg(reg: number, f: RtcFields): number {
    switch (reg) {
      case RTC_SECONDS: return this.encode(f.sec);
      case RTC_MINUTES: return this.encode(f.min);
      case RTC_HOURS: return this.encodeHour(f.hour);
      case RTC_DAY_OF_WEEK: return this.encode(f.dow);
      case RTC_DAY_OF_MONTH: return this.encode(f.day);
      case RTC_MONTH: return this.encode(f.month);
      case RTC_YEAR: return this.encode(((f.year % 100) + 100) % 100);
      default: return this.encode(Math.floor(f.year / 100) % 100); // century
    }
  }

  private static isTimeReg(reg: number): boolean {
    return reg === RTC_SECONDS || reg === RTC_MINUTES || reg === RTC_HOURS || (reg >= RTC_DAY_OF_WEEK && reg <= RTC_YEAR) || reg === RTC_CENTURY;
  }

  private holdFields(f: RtcFields): void {
    for (const r of [RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR, RTC_CENTURY]) this.cmos[r] = this.fieldReg(r, f);
  }

  private decodeHeld(): RtcFields {
    const c = this.cmos;
    return {
      sec: this.decode(c[RTC_SECONDS]!),
      min: this.decode(c[RTC_MINUTES]!),
      hour: this.decodeHour(c[RTC_HOURS]!),
      dow: this.decode(c[RTC_DAY_OF_WEEK]!),
      day: this.decode(c[RTC_DAY_OF_MONTH]!),
      month: this.decode(c[RTC_MONTH]!),
      year: this.decode(c[RTC_CENTURY]!) * 100 + this.decode(c[RTC_YEAR]!),
    };
  }

  /** Stops the clock, holding the current time in the registers. */
  private freeze(): void {
    if (!this.running) return;
    this.materialize();
    this.holdFields(fieldsFromSeconds(this.currentSeconds()));
    this.running = false;
  }

  /** Restarts the clock from the held registers; the next update is the next grid boundary. */
  private unfreeze(): void {
    if (this.running) return;
    const t = secondsFromFields(this.decodeHeld());
    const now = this.now();
    this.running = true;
    this.baseSec = t;
    this.refIndex = this.secIndex(now);
    this.updMark = this.refIndex;
  }

  // ---- flags and interrupts ----

  private alarmMatches(t: number): boolean {
    const f = fieldsFromSeconds(t);
    const c = this.cmos;
    const ok = (alarm: number, v: number) => (alarm & 0xc0) === 0xc0 || alarm === v;
    return ok(c[RTC_SECONDS_ALARM]!, this.encode(f.sec)) && ok(c[RTC_MINUTES_ALARM]!, this.encode(f.min)) && ok(c[RTC_HOURS_ALARM]!, this.encodeHour(f.hour));
  }

  /** Register C flags (without IRQF) at `ns`. */
  private flagsAt(ns: number): number {
    this.ensureBoot();
    let f = this.cFlags;
    const p = this.periodTicks();
    if (p > 0 && Math.floor(this.tick32(ns) / p) > Math.floor(this.pfMark / p)) f |= RTC_C_PF;
    if (this.running) {
      const idx = this.secIndex(ns);
      if (idx > this.updMark) {
        f |= RTC_C_UF;
        if ((f & RTC_C_AF) === 0) {
          // Any update in (updMark, idx] whose new time matches the alarm; a day covers every match.
          const first = this.baseSec + this.updMark + 1 - this.refIndex;
          const last = this.baseSec + idx - this.refIndex;
          const end = Math.min(last, first + 86400);
          for (let t = first; t <= end; t++) {
            if (this.alarmMatches(t)) {
              f |= RTC_C_AF;
              break;
            }
          }
        }
      }
    }
    return f;
  }

  /** Folds the lazily computed flags into cFlags and moves the marks to now. */
  private materialize(): void {
    const now = this.now();
    this.cFlags = this.flagsAt(now);
    this.pfMark = this.tick32(now);
    this.updMark = this.secIndex(now);
  }

  private irqf(flags: number): boolean {
    const b = this.cmos[RTC_REG_B]!;
    return ((flags & RTC_C_PF && b & RTC_B_PIE) || (flags & RTC_C_AF && b & RTC_B_AIE) || (flags & RTC_C_UF && b & RTC_B_UIE)) !== 0;
  }

  /** Drives IRQ8 from the flags and arms the tasks that will raise it later. */
  private updateIrq(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const now = this.now();
    const level = this.irqf(this.flagsAt(now));
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      ctx.irq.set(RTC_IRQ, level, this.irqSource);
    }
    const b = this.cmos[RTC_REG_B]!;
    const p = this.periodTicks();
    if (!level && b & RTC_B_PIE && p > 0) {
      const next = (Math.floor(this.tick32(now) / p) + 1) * p;
      ctx.scheduler.armAtNs(this.periodicTask!, nsAtTick(next, RTC_HZ) + this.gridNs - NS_PER_SEC);
    } else ctx.scheduler.cancel(this.periodicTask!);
    if (!level && b & (RTC_B_UIE | RTC_B_AIE) && this.running) {
      ctx.scheduler.armAtNs(this.updateTask!, this.gridNs + this.secIndex(now) * NS_PER_SEC);
    } else ctx.scheduler.cancel(this.updateTask!);
  }

  private onEvent(): void {
    this.updateIrq();
  }

  // ---- ports ----

  readData(): number {
    const reg = this.index;
    if (CmosRtc.isTimeReg(reg)) {
      if (!this.running) return this.cmos[reg]!;
      return this.fieldReg(reg, fieldsFromSeconds(this.currentSeconds()));
    }
    switch (reg) {
      case RTC_REG_A: {
        this.ensureBoot();
        let v = this.cmos[RTC_REG_A]! & 0x7f;
        if (this.running && this.dividerRunning()) {
          const phase = (((this.now() - this.gridNs) % NS_PER_SEC) + NS_PER_SEC) % NS_PER_SEC;
          if (phase >= NS_PER_SEC - RTC_UIP_NS) v |= RTC_A_UIP;
        }
        return v;
      }
      case RTC_REG_C: {
        const now = this.now();
        const flags = this.flagsAt(now);
        const v = flags | (this.irqf(flags) ? RTC_C_IRQF : 0);
        this.cFlags = 0;
        this.pfMark = this.tick32(now);
        this.updMark = this.secIndex(now);
        this.updateIrq();
        return v;
      }
      case RTC_REG_D:
        return RTC_D_VRT;
      default:
        return this.cmos[reg]!;
    }
  }

  writeData(v: number): void {
    const reg = this.index;
    if (CmosRtc.isTimeReg(reg)) {
      if (!this.running) {
        this.cmos[reg] = v;
        return;
      }
      // Running: rewrite one field of the current time, keeping the update phase.
      this.materialize();
      this.freeze();
      this.cmos[reg] = v;
      this.unfreeze();
      this.updateIrq();
      return;
    }
    switch (reg) {
      case RTC_REG_A: {
        this.ensureBoot();
        const wasRunning = this.dividerRunning();
        this.materialize();
        this.cmos[RTC_REG_A] = v & 0x7f;
        const nowRunning = this.dividerRunning();
        if (wasRunning && !nowRunning) this.freeze();
        else if (!wasRunning && nowRunning) {
          // Divider released: the first update comes 500 ms later.
          const now = this.now();
          this.gridNs = (((now + NS_PER_SEC / 2) % NS_PER_SEC) + NS_PER_SEC) % NS_PER_SEC;
          this.pfMark = this.tick32(now);
          if ((this.cmos[RTC_REG_B]! & RTC_B_SET) === 0) this.unfreeze();
        }
        this.updateIrq();
        return;
      }
      case RTC_REG_B: {
        this.ensureBoot();
        this.materialize();
        const old = this.cmos[RTC_REG_B]!;
        if (v & RTC_B_SET) v &= ~RTC_B_UIE;
        this.cmos[RTC_REG_B] = v;
        if (v & RTC_B_SET && (old & RTC_B_SET) === 0) {
          this.cmos[RTC_REG_B] = old; // freeze in the old encoding, as the chip holds its bytes
          this.freeze();
          this.cmos[RTC_REG_B] = v;
        } else if ((v & RTC_B_SET) === 0 && old & RTC_B_SET && this.dividerRunning()) this.unfreeze();
        this.updateIrq();
        return;
      }
      case RTC_REG_C:
      case RTC_REG_D:
        return; // read-only
      default:
        this.cmos[reg] = v;
    }
  }

  // ---- Device ----

  /** The RESET# pin: interrupt enables and flags cleared. The time and CMOS RAM are battery-backed and survive. */
  reset(): void {
    this.materialize();
    this.cmos[RTC_REG_B] = this.cmos[RTC_REG_B]! & ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
    this.cFlags = 0;
    this.index = 0;
    this.nmiMasked = false;
    this.updateIrq();
  }

  saveState(): StateRecord {
    return {
      cmos: this.cmos.slice(), index: this.index, nmiMasked: this.nmiMasked, bootMs: this.bootMs, baseSec: this.baseSec,
      refIndex: this.refIndex, gridNs: this.gridNs, running: this.running, cFlags: this.cFlags, pfMark: this.pfMark,
      updMark: this.updMark, irqLevel: this.irqLevel,
    };
  }

  loadState(s: StateRecord): void {
    intoTyped(s, 'cmos', this.cmos);
    this.index = num(s, 'index'); this.nmiMasked = bool(s, 'nmiMasked'); this.bootMs = num(s, 'bootMs');
    this.baseSec = num(s, 'baseSec'); this.refIndex = num(s, 'refIndex'); this.gridNs = num(s, 'gridNs');
    this.running = bool(s, 'running'); this.cFlags = num(s, 'cFlags'); this.pfMark = num(s, 'pfMark');
    this.updMark = num(s, 'updMark'); this.irqLevel = bool(s, 'irqLevel');
  }
}
