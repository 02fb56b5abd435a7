/**
 * The NS16550A UART, after the National Semiconductor datasheet, as wired on
 * a PC (COM1 0x3F8/IRQ4, COM2 0x2F8/IRQ3): the IRQ pin reaches the bus only
 * while MCR.OUT2 is set.
 *
 * Registers: RBR/THR, IER, IIR/FCR, LCR (DLAB), MCR, LSR, MSR, SCR, and the
 * divisor latch. 16-byte receive and transmit FIFOs with receive trigger
 * levels 1/4/8/14 and the character-timeout interrupt (no byte received or
 * read for four character times while data waits). IIR reports, in priority
 * order: receiver line status (OE/PE/FE/BI), received data available or
 * character timeout, THR empty, modem status.
 *
 * THRE interrupt: pending when the THR (or TX FIFO) becomes empty, and when
 * IER.ETBEI goes 0 -> 1 while THR is empty; cleared by writing THR or by
 * reading IIR while it reports THRE (as Linux's 8250 driver expects).
 *
 * Time: a character occupies start + data + parity + stop bits at
 * 1.8432 MHz / 16 / divisor, all in guest time. Transmission has two modes:
 * `instant` (the default, as QEMU: a byte written to THR is sent at once and
 * THR/TSR are immediately empty again) and `line-rate` (bytes leave the FIFO
 * one character time apart; THRE/TEMT follow). Received bytes (INPUT.SERIAL)
 * always arrive at line rate: an input event's bytes queue on the "wire" and
 * enter the RX FIFO one character time apart, so a guest that does not read
 * sees an overrun (LSR.OE) exactly when a real one would.
 *
 * Loopback (MCR bit 4): transmitted bytes return to the receiver instead of
 * the host, and MSR reflects MCR (CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2).
 * Without loopback the modem lines read as a connected null-modem cable
 * (CTS, DSR, DCD set). Break and parity/framing errors never occur.
 */
import type { Device, DeviceContext } from '../device.js';
import type { SchedTask } from '../time/scheduler.js';
import { INPUT, OUTPUT, type InputEvent } from '../replay/boundary.js';
import type { StateRecord } from '../state/snapshot.js';
import { num, bool, bytes } from '../state/snapshot.js';
import { argError } from '../errors.js';

export const UART_RBR = 0;
export const UART_THR = 0;
export const UART_IER = 1;
export const UART_IIR = 2;
export const UART_FCR = 2;
export const UART_LCR = 3;
export const UART_MCR = 4;
export const UART_LSR = 5;
export const UART_MSR = 6;
export const UART_SCR = 7;

export const UART_IER_ERBFI = 0x01;
export const UART_IER_ETBEI = 0x02;
export const UART_IER_ELSI = 0x04;
export const UART_IER_EDSSI = 0x08;

export const UART_IIR_NO_INT = 0x01;
export const UART_IIR_MSI = 0x00;
export const UART_IIR_THRI = 0x02;
export const UART_IIR_RDI = 0x04;
export const UART_IIR_RLSI = 0x06;
export const UART_IIR_CTI = 0x0c;
export const UART_IIR_FIFO = 0xc0;

export const UART_FCR_ENABLE = 0x01;
export const UART_FCR_CLEAR_RX = 0x02;
export const UART_FCR_CLEAR_TX = 0x04;

export const UART_LCR_DLAB = 0x80;
export const UART_LCR_BREAK = 0x40;
export const UART_LCR_PARITY = 0x08;
export const UART_LCR_STOP = 0x04;

export const UART_MCR_DTR = 0x01;
export const UART_MCR_RTS = 0x02;
export const UART_MCR_OUT1 = 0x04;
export const UART_MCR_OUT2 = 0x08;
export const UART_MCR_LOOP = 0x10;

export const UART_LSR_DR = 0x01;
export const UART_LSR_OE = 0x02;
export const UART_LSR_PE = 0x04;
export const UART_LSR_FE = 0x08;
export const UART_LSR_BI = 0x10;
export const UART_LSR_THRE = 0x20;
export const UART_LSR_TEMT = 0x40;
export const UART_LSR_FIFOERR = 0x80;

export const UART_MSR_DCTS = 0x01;
export const UART_MSR_DDSR = 0x02;
export const UART_MSR_TERI = 0x04;
export const UART_MSR_DDCD = 0x08;
export const UART_MSR_CTS = 0x10;
export const UART_MSR_DSR = 0x20;
export const UART_MSR_RI = 0x40;
export const UART_MSR_DCD = 0x80;

export const UART_CLOCK_HZ = 1_843_200;
export const UART_FIFO_SIZE = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14] as const;
/** Most bytes kept waiting on the receive wire; more are dropped (the host is far ahead of the guest). */
export const UART_WIRE_LIMIT = 1 << 20;

export const UART_PORTS = [
  { base: 0x3f8, irq: 4 },
  { base: 0x2f8, irq: 3 },
  { base: 0x3e8, irq: 4 },
  { base: 0x2e8, irq: 3 },
] as const;

export type UartTxTiming = 'instant' | 'line-rate';

export interface UartOptions {
  /** 0 = COM1 ... 3 = COM4; also the boundary target for INPUT.SERIAL and OUTPUT.SERIAL. */
  index: number;
  base?: number;
  irq?: number;
  txTiming?: UartTxTiming;
}

/** A byte ring of fixed capacity. */
class ByteFifo {
  readonly buf: Uint8Array;
  head = 0;
  count = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }
  get full(): boolean {
    return this.count === this.buf.length;
  }
  push(v: number): void {
    this.buf[(this.head + this.count) % this.buf.length] = v;
    this.count++;
  }
  shift(): number {
    const v = this.buf[this.head]!;
    this.head = (this.head + 1) % this.buf.length;
    this.count--;
    return v;
  }
  clear(): void {
    this.head = 0;
    this.count = 0;
  }
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.buf[(this.head + i) % this.buf.length]!;
    return out;
  }
  fromBytes(b: Uint8Array): void {
    this.clear();
    for (let i = 0; i < b.length && i < this.buf.length; i++) this.push(b[i]!);
  }
}

export class Uart16550 implements Device {
  readonly stateName: string;
  readonly stateVersion = 1;
  readonly index: number;
  readonly base: number;
  readonly irqLine: number;
  readonly txTiming: UartTxTiming;

  ier = 0;
  lcr = 0;
  mcr = 0;
  /** LSR error and data bits (THRE/TEMT are derived). */
  lsrErrors = 0;
  msrDeltas = 0;
  /** MSR status bits as last seen by the delta logic. */
  msrLines = 0;
  scr = 0;
  divisor = 12;
  fifoEnabled = false;
  triggerLevel = 1;
  /** A THR-empty interrupt is pending. */
  thrIPending = false;
  /** A character-timeout interrupt is pending. */
  timeoutPending = false;
  /** The transmit shift register holds a byte (line-rate mode). */
  tsrBusy = false;
  /** Bytes transmitted and received (summary). */
  txBytes = 0;
  rxBytes = 0;
  overruns = 0;
  private readonly rx = new ByteFifo(UART_FIFO_SIZE);
  private readonly tx = new ByteFifo(UART_FIFO_SIZE);
  /** Received bytes still on the wire, arriving one character time apart. */
  private wire = new Uint8Array(64);
  private wireHead = 0;
  private wireLen = 0;
  private ctx: DeviceContext | null = null;
  private txTask: SchedTask | null = null;
  private rxTask: SchedTask | null = null;
  private timeoutTask: SchedTask | null = null;
  private irqSource = 0;
  private irqLevel = false;
  private readonly outByte = new Uint8Array(1);

  constructor(opts: UartOptions) {
    if (!Number.isInteger(opts.index) || opts.index < 0 || opts.index > 3) throw argError(`UART index must be 0-3, got ${String(opts.index)}`);
    const def = UART_PORTS[opts.index]!;
    this.index = opts.index;
    this.base = opts.base ?? def.base;
    this.irqLine = opts.irq ?? def.irq;
    this.txTiming = opts.txTiming ?? 'instant';
    if (this.txTiming !== 'instant' && this.txTiming !== 'line-rate') throw argError(`UART transmit timing must be instant or line-rate, got ${String(this.txTiming)}`);
    this.stateName = `uart${opts.index}`;
    this.msrLines = this.externalLines();
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.irqSource = ctx.irq.allocSource(this.stateName);
    this.txTask = ctx.scheduler.createTask(`${this.stateName}.tx`, () => this.txDone());
    this.rxTask = ctx.scheduler.createTask(`${this.stateName}.rx`, () => this.rxArrive());
    this.timeoutTask = ctx.scheduler.createTask(`${this.stateName}.timeout`, () => this.charTimeout());
    ctx.ports.register(this.base, 8, this.stateName, {
      read8: (port) => this.read(port - this.base),
      write8: (port, v) => this.write(port - this.base, v),
    });
    ctx.registerInput(INPUT.SERIAL, this.index, (ev) => this.receive(ev));
  }

  /** Guest time one character takes on the line, in ns (from LCR and the divisor). */
  charTimeNs(): number {
    const dataBits = 5 + (this.lcr & 3);
    const stopBits = this.lcr & UART_LCR_STOP ? (dataBits === 5 ? 1.5 : 2) : 1;
    const bits = 1 + dataBits + (this.lcr & UART_LCR_PARITY ? 1 : 0) + stopBits;
    const div = this.divisor === 0 ? 0x10000 : this.divisor;
    return Math.ceil((bits * 16 * div * 1e9) / UART_CLOCK_HZ);
  }

  private now(): number {
    return this.ctx ? this.ctx.nowNs() : 0;
  }

  // ---- registers ----

  read(reg: number): number {
    if (this.lcr & UART_LCR_DLAB && reg < 2) return reg === 0 ? this.divisor & 0xff : this.divisor >>> 8;
    switch (reg) {
      case UART_RBR:
        return this.readRbr();
      case UART_IER:
        return this.ier;
      case UART_IIR: {
        const iir = this.iir();
        if ((iir & 0x0f) === UART_IIR_THRI) {
          this.thrIPending = false;
          this.updateIrq();
        }
        return iir;
      }
      case UART_LCR:
        return this.lcr;
      case UART_MCR:
        return this.mcr;
      case UART_LSR: {
        const v = this.lsr();
        this.lsrErrors = 0;
        this.updateIrq();
        return v;
      }
      case UART_MSR: {
        const v = this.msr();
        this.msrDeltas = 0;
        this.updateIrq();
        return v;
      }
      default:
        return this.scr;
    }
  }

  write(reg: number, v: number): void {
    if (this.lcr & UART_LCR_DLAB && reg < 2) {
      this.divisor = reg === 0 ? (this.divisor & 0xff00) | v : (this.divisor & 0xff) | (v << 8);
      return;
    }
    switch (reg) {
      case UART_THR:
        this.writeThr(v);
        break;
      case UART_IER: {
        const old = this.ier;
        this.ier = v & 0x0f;
        if ((old & UART_IER_ETBEI) === 0 && this.ier & UART_IER_ETBEI && this.thrEmpty()) this.thrIPending = true;
        this.updateIrq();
        break;
      }
      case UART_FCR:
        this.writeFcr(v);
        break;
      case UART_LCR:
        this.lcr = v;
        break;
      case UART_MCR: {
        const wasLoop = (this.mcr & UART_MCR_LOOP) !== 0;
        this.mcr = v & 0x1f;
        if (wasLoop !== ((this.mcr & UART_MCR_LOOP) !== 0) && !wasLoop) this.wireHead = this.wireLen = 0;
        this.updateModemLines();
        this.updateIrq();
        break;
      }
      case UART_LSR:
      case UART_MSR:
        break; // read-only (factory test only)
      default:
        this.scr = v;
        break;
    }
  }

  private readRbr(): number {
    let v = 0;
    if (this.rx.count > 0) {
      v = this.rx.shift();
      this.timeoutPending = false;
      this.restartTimeout();
    }
    this.updateIrq();
    return v;
  }

  private thrEmpty(): boolean {
    return this.tx.count === 0;
  }

  lsr(): number {
    let v = this.lsrErrors;
    if (this.rx.count > 0) v |= UART_LSR_DR;
    if (this.thrEmpty()) {
      v |= UART_LSR_THRE;
      if (!this.tsrBusy) v |= UART_LSR_TEMT;
    }
    if (this.fifoEnabled && this.lsrErrors & (UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)) v |= UART_LSR_FIFOERR;
    return v;
  }

  msr(): number {
    return this.msrLines | this.msrDeltas;
  }

  /** The interrupt identification, highest priority first. */
  iir(): number {
    const fifo = this.fifoEnabled ? UART_IIR_FIFO : 0;
    const ier = this.ier;
    if (ier & UART_IER_ELSI && this.lsrErrors & (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)) return fifo | UART_IIR_RLSI;
    if (ier & UART_IER_ERBFI) {
      if (this.rx.count >= (this.fifoEnabled ? this.triggerLevel : 1)) return fifo | UART_IIR_RDI;
      if (this.timeoutPending && this.rx.count > 0) return fifo | UART_IIR_CTI;
    }
    if (ier & UART_IER_ETBEI && this.thrIPending) return fifo | UART_IIR_THRI;
    if (ier & UART_IER_EDSSI && this.msrDeltas) return fifo | UART_IIR_MSI;
    return fifo | UART_IIR_NO_INT;
  }

  private updateIrq(): void {
    const level = (this.iir() & UART_IIR_NO_INT) === 0 && (this.mcr & UART_MCR_OUT2) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.ctx?.irq.set(this.irqLine, level, this.irqSource);
    }
  }

  private writeFcr(v: number): void {
    const enable = (v & UART_FCR_ENABLE) !== 0;
    const toggled = enable !== this.fifoEnabled;
    const txHadData = this.tx.count > 0;
    if (toggled) {
      this.rx.clear();
      this.tx.clear();
      this.fifoEnabled = enable;
    }
    if (enable) {
      if (v & UART_FCR_CLEAR_RX) this.rx.clear();
      if (v & UART_FCR_CLEAR_TX) this.tx.clear();
      this.triggerLevel = TRIGGER_LEVELS[v >>> 6]!;
    }
    // Emptying a non-empty transmitter makes THR empty: a THRE interrupt, as on the chip.
    if (txHadData && this.tx.count === 0) this.thrIPending = true;
    this.timeoutPending = false;
    this.restartTimeout();
    this.updateIrq();
  }

  // ---- transmit ----

  private writeThr(v: number): void {
    this.thrIPending = false;
    if (this.txTiming === 'instant') {
      // THR empties again at once; dropping and re-raising the line gives the
      // edge-triggered PIC the fresh edge a real UART would give a little later.
      this.updateIrq();
      this.transmit(v);
      this.thrIPending = true;
      this.updateIrq();
      return;
    }
    if (this.tx.full || (!this.fifoEnabled && this.tx.count > 0)) {
      // Overwriting a full THR/FIFO loses the byte on a real chip too.
      this.updateIrq();
      return;
    }
    this.tx.push(v);
    if (!this.tsrBusy) this.startNextTx();
    this.updateIrq();
  }

  private startNextTx(): void {
    if (this.tx.count === 0) return;
    const v = this.tx.shift();
    this.tsrBusy = true;
    this.transmit(v);
    if (this.tx.count === 0) this.thrIPending = true;
    this.ctx!.scheduler.armAtNs(this.txTask!, this.now() + this.charTimeNs());
  }

  private txDone(): void {
    this.tsrBusy = false;
    this.startNextTx();
    this.updateIrq();
  }

  /** A byte leaves the shift register: to the host, or back to the receiver in loopback. */
  private transmit(v: number): void {
    this.txBytes++;
    if (this.mcr & UART_MCR_LOOP) {
      this.rxByte(v);
      return;
    }
    this.outByte[0] = v;
    this.ctx?.output(OUTPUT.SERIAL, this.index, this.outByte);
  }

  // ---- receive ----

  private receive(ev: InputEvent): void {
    const data = ev.data;
    if (!data) return;
    if (this.mcr & UART_MCR_LOOP) return; // the line is disconnected in loopback
    let n = data.length;
    if (this.wireLen + n > UART_WIRE_LIMIT) n = Math.max(0, UART_WIRE_LIMIT - this.wireLen);
    if (this.wireHead + this.wireLen + n > this.wire.length) {
      const size = Math.max(this.wire.length, (this.wireLen + n) * 2);
      const w = new Uint8Array(size);
      w.set(this.wire.subarray(this.wireHead, this.wireHead + this.wireLen));
      this.wire = w;
      this.wireHead = 0;
    }
    this.wire.set(data.subarray(0, n), this.wireHead + this.wireLen);
    const wasIdle = this.wireLen === 0;
    this.wireLen += n;
    if (wasIdle && n > 0) this.ctx!.scheduler.armAtNs(this.rxTask!, this.now() + this.charTimeNs());
  }

  private rxArrive(): void {
    if (this.wireLen === 0) return;
    const v = this.wire[this.wireHead++]!;
    this.wireLen--;
    if (this.wireLen === 0) this.wireHead = 0;
    this.rxByte(v);
    if (this.wireLen > 0) this.ctx!.scheduler.armAtNs(this.rxTask!, this.now() + this.charTimeNs());
    this.updateIrq();
  }

  /** A byte completes in the receive shift register. */
  private rxByte(v: number): void {
    this.rxBytes++;
    const cap = this.fifoEnabled ? UART_FIFO_SIZE : 1;
    if (this.rx.count >= cap) {
      this.lsrErrors |= UART_LSR_OE; // the shift register's byte is lost
      this.overruns++;
    } else {
      this.rx.push(v);
    }
    this.timeoutPending = false;
    this.restartTimeout();
    this.updateIrq();
  }

  private restartTimeout(): void {
    const ctx = this.ctx;
    if (!ctx || !this.timeoutTask) return;
    if (this.fifoEnabled && this.rx.count > 0) ctx.scheduler.armAtNs(this.timeoutTask, this.now() + 4 * this.charTimeNs());
    else ctx.scheduler.cancel(this.timeoutTask);
  }

  private charTimeout(): void {
    if (this.fifoEnabled && this.rx.count > 0) this.timeoutPending = true;
    this.updateIrq();
  }

  // ---- modem lines ----

  /** MSR status bits from the outside world or, in loopback, from MCR. */
  private externalLines(): number {
    const m = this.mcr;
    if (m & UART_MCR_LOOP) {
      return (m & UART_MCR_RTS ? UART_MSR_CTS : 0) | (m & UART_MCR_DTR ? UART_MSR_DSR : 0) | (m & UART_MCR_OUT1 ? UART_MSR_RI : 0) | (m & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
    }
    return UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
  }

  private updateModemLines(): void {
    const now = this.externalLines();
    const changed = now ^ this.msrLines;
    if (changed & UART_MSR_CTS) this.msrDeltas |= UART_MSR_DCTS;
    if (changed & UART_MSR_DSR) this.msrDeltas |= UART_MSR_DDSR;
    if (changed & UART_MSR_DCD) this.msrDeltas |= UART_MSR_DDCD;
    if (this.msrLines & UART_MSR_RI && (now & UART_MSR_RI) === 0) this.msrDeltas |= UART_MSR_TERI; // trailing edge
    this.msrLines = now;
  }

  /** Bytes in the receive FIFO (debugger). */
  rxFifoLevel(): number {
    return this.rx.count;
  }

  // ---- Device ----

  reset(): void {
    this.ier = 0;
    this.lcr = 0;
    this.mcr = 0;
    this.lsrErrors = 0;
    this.msrDeltas = 0;
    this.scr = 0;
    this.divisor = 12;
    this.fifoEnabled = false;
    this.triggerLevel = 1;
    this.thrIPending = false;
    this.timeoutPending = false;
    this.tsrBusy = false;
    this.txBytes = this.rxBytes = this.overruns = 0;
    this.rx.clear();
    this.tx.clear();
    this.wireHead = this.wireLen = 0;
    this.msrLines = this.externalLines();
    const ctx = this.ctx;
    if (ctx) {
      ctx.scheduler.cancel(this.txTask!);
      ctx.scheduler.cancel(this.rxTask!);
      ctx.scheduler.cancel(this.timeoutTask!);
    }
    this.updateIrq();
  }

  saveState(): StateRecord {
    return {
      ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsrErrors: this.lsrErrors, msrDeltas: this.msrDeltas,
      msrLines: this.msrLines, scr: this.scr, divisor: this.divisor, fifoEnabled: this.fifoEnabled,
      triggerLevel: this.triggerLevel, thrIPending: this.thrIPending, timeoutPending: this.timeoutPending,
      tsrBusy: this.tsrBusy, txBytes: this.txBytes, rxBytes: this.rxBytes, overruns: this.overruns,
      rx: this.rx.toBytes(), tx: this.tx.toBytes(), wire: this.wire.slice(this.wireHead, this.wireHead + this.wireLen),
      irqLevel: this.irqLevel,
    };
  }

  loadState(s: StateRecord): void {
    this.ier = num(s, 'ier'); this.lcr = num(s, 'lcr'); this.mcr = num(s, 'mcr'); this.lsrErrors = num(s, 'lsrErrors');
    this.msrDeltas = num(s, 'msrDeltas'); this.msrLines = num(s, 'msrLines'); this.scr = num(s, 'scr');
    this.divisor = num(s, 'divisor'); this.fifoEnabled = bool(s, 'fifoEnabled'); this.triggerLevel = num(s, 'triggerLevel');
    this.thrIPending = bool(s, 'thrIPending'); this.timeoutPending = bool(s, 'timeoutPending'); this.tsrBusy = bool(s, 'tsrBusy');
    this.txBytes = num(s, 'txBytes'); this.rxBytes = num(s, 'rxBytes'); this.overruns = num(s, 'overruns');
    this.rx.fromBytes(bytes(s, 'rx'));
    this.tx.fromBytes(bytes(s, 'tx'));
    const w = bytes(s, 'wire');
    this.wire = new Uint8Array(Math.max(64, w.length * 2));
    this.wire.set(w);
    this.wireHead = 0;
    this.wireLen = w.length;
    this.irqLevel = bool(s, 'irqLevel');
  }
}
