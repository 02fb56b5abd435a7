/**
 * The 8042 keyboard controller (data 0x60, status/command 0x64) with a PS/2
 * MF2 keyboard behind it, after the IBM PC/AT and PS/2 technical references.
 *
 * Controller: status register (OBF, IBF, SYS, A2, INH, AUXB), the command
 * byte (IRQ1/IRQ12 enables, SYS, disable keyboard/aux, set-1 translation),
 * its 32-byte RAM (0x20-0x3F read, 0x60-0x7F write), self-test 0xAA -> 0x55,
 * interface tests 0xAB/0xA9, the output port (0xD0/0xD1: bit 0 = CPU reset
 * line, bit 1 = A20 gate), pulse output lines 0xF0-0xFF (0xFE resets the
 * CPU), 0xD2/0xD3 write to the keyboard/aux output buffer, 0xDD/0xDF A20.
 * The aux (mouse) port exists but nothing is plugged in: 0xA9 passes, 0xD3
 * loops back, and bytes sent to the mouse with 0xD4 time out (status
 * TIMEOUT|AUXB with 0xFE), which drivers take as "no mouse".
 *
 * Keyboard: reset 0xFF -> 0xFA 0xAA, set LEDs, scancode set 1/2/3
 * (0xF0; set 3 is reported but sends set-2 codes), identify (0xAB 0x83),
 * enable/disable scanning, set default, typematic rate (stored), echo,
 * resend. Host key input (INPUT.KEYBOARD) is set-1 scancode bytes; the
 * keyboard turns them into codes of its current set, and the controller
 * translates set 2 back to set 1 when the command byte asks for it (bit 6),
 * as the real pair does. The output buffer is refilled as soon as the guest
 * reads port 0x60; IRQ1/IRQ12 follow OBF (edge: dropped on read, raised on
 * refill).
 *
 * A20: the gate is the OR of the output port's bit 1 and port 0x92 bit 1
 * (fastA20, set by Port92).
 */
import type { Device, DeviceContext } from '../device.js';
import { INPUT, type InputEvent } from '../replay/boundary.js';
import type { StateRecord } from '../state/snapshot.js';
import { num, bool, bytes, intoTyped } from '../state/snapshot.js';

export const KBC_DATA = 0x60;
export const KBC_STATUS = 0x64;
export const KBC_IRQ_KBD = 1;
export const KBC_IRQ_AUX = 12;

export const KBC_STAT_OBF = 0x01;
export const KBC_STAT_IBF = 0x02;
export const KBC_STAT_SYS = 0x04;
export const KBC_STAT_A2 = 0x08;
export const KBC_STAT_INH = 0x10;
export const KBC_STAT_AUXB = 0x20;
export const KBC_STAT_TIMEOUT = 0x40;
export const KBC_STAT_PARITY = 0x80;

export const KBC_CCB_KBD_INT = 0x01;
export const KBC_CCB_AUX_INT = 0x02;
export const KBC_CCB_SYS = 0x04;
export const KBC_CCB_KBD_DISABLE = 0x10;
export const KBC_CCB_AUX_DISABLE = 0x20;
export const KBC_CCB_TRANSLATE = 0x40;

export const KBC_OUT_RESET = 0x01;
export const KBC_OUT_A20 = 0x02;

export const KBD_ACK = 0xfa;
export const KBD_RESEND = 0xfe;
export const KBD_BAT_OK = 0xaa;
export const KBD_ECHO = 0xee;

const QUEUE_SIZE = 16;

/** Set-2 make code of each set-1 make code (0 = none). Extended (E0) keys use the same mapping. */
const SET1_TO_SET2 = new Uint8Array(128);
/** The 8042's set-2 -> set-1 translation. */
const SET2_TO_SET1 = new Uint8Array(256);
(() => {
  const pairs: [number, number][] = [
    [0x01, 0x76], [0x02, 0x16], [0x03, 0x1e], [0x04, 0x26], [0x05, 0x25], [0x06, 0x2e], [0x07, 0x36], [0x08, 0x3d],
    [0x09, 0x3e], [0x0a, 0x46], [0x0b, 0x45], [0x0c, 0x4e], [0x0d, 0x55], [0x0e, 0x66], [0x0f, 0x0d], [0x10, 0x15],
    [0x11, 0x1d], [0x12, 0x24], [0x13, 0x2d], [0x14, 0x2c], [0x15, 0x35], [0x16, 0x3c], [0x17, 0x43], [0x18, 0x44],
    [0x19, 0x4d], [0x1a, 0x54], [0x1b, 0x5b], [0x1c, 0x5a], [0x1d, 0x14], [0x1e, 0x1c], [0x1f, 0x1b], [0x20, 0x23],
    [0x21, 0x2b], [0x22, 0x34], [0x23, 0x33], [0x24, 0x3b], [0x25, 0x42], [0x26, 0x4b], [0x27, 0x4c], [0x28, 0x52],
    [0x29, 0x0e], [0x2a, 0x12], [0x2b, 0x5d], [0x2c, 0x1a], [0x2d, 0x22], [0x2e, 0x21], [0x2f, 0x2a], [0x30, 0x32],
    [0x31, 0x31], [0x32, 0x3a], [0x33, 0x41], [0x34, 0x49], [0x35, 0x4a], [0x36, 0x59], [0x37, 0x7c], [0x38, 0x11],
    [0x39, 0x29], [0x3a, 0x58], [0x3b, 0x05], [0x3c, 0x06], [0x3d, 0x04], [0x3e, 0x0c], [0x3f, 0x03], [0x40, 0x0b],
    [0x41, 0x83], [0x42, 0x0a], [0x43, 0x01], [0x44, 0x09], [0x45, 0x77], [0x46, 0x7e], [0x47, 0x6c], [0x48, 0x75],
    [0x49, 0x7d], [0x4a, 0x7b], [0x4b, 0x6b], [0x4c, 0x73], [0x4d, 0x74], [0x4e, 0x79], [0x4f, 0x69], [0x50, 0x72],
    [0x51, 0x7a], [0x52, 0x70], [0x53, 0x71], [0x54, 0x84], [0x56, 0x61], [0x57, 0x78], [0x58, 0x07],
  ];
  for (let i = 0; i < 256; i++) SET2_TO_SET1[i] = i;
  for (const [s1, s2] of pairs) {
    SET1_TO_SET2[s1] = s2;
    SET2_TO_SET1[s2] = s1;
  }
  SET2_TO_SET1[0] = 0xff;
})();

/** A small byte queue (the keyboard's buffer). */
class Queue {
  readonly buf = new Uint8Array(QUEUE_SIZE);
  count = 0;
  push(v: number): boolean {
    if (this.count >= QUEUE_SIZE) return false;
    this.buf[this.count++] = v;
    return true;
  }
  shift(): number {
    const v = this.buf[0]!;
    this.buf.copyWithin(0, 1, this.count);
    this.count--;
    return v;
  }
  clear(): void {
    this.count = 0;
  }
}

export class I8042 implements Device {
  readonly stateName = 'i8042';
  readonly stateVersion = 1;
  /** Controller RAM; byte 0 is the command byte. */
  readonly ram = new Uint8Array(32);
  status = 0;
  outPort = 0;
  /** The byte in the output buffer (valid while status.OBF). */
  outBuf = 0;
  /** Controller command waiting for its data byte (0 = none). */
  pendingCmd = 0;
  /** Port 0x92's A20 bit (Port92 keeps it here so the gate is one OR). */
  fastA20 = false;
  /** Keyboard side. */
  kbdScanning = true;
  kbdSet = 2;
  kbdLeds = 0;
  kbdTypematic = 0;
  /** Keyboard command waiting for its parameter byte (0 = none). */
  kbdPendingCmd = 0;
  kbdLastSent = 0;
  /** Translation state: a set-2 break prefix (0xF0) has been seen. */
  xlatBreak = false;
  keysDropped = 0;
  private readonly kbdQueue = new Queue();
  /** Bytes the controller itself answers with (command results), ahead of keyboard data. */
  private readonly ctlQueue = new Queue();
  /** For each ctlQueue byte: 1 if it is aux data. */
  private readonly ctlAux = new Queue();
  private ctx: DeviceContext | null = null;
  private irqSource = 0;
  private irq1 = false;
  private irq12 = false;

  constructor() {
    this.powerOn();
  }

  private powerOn(): void {
    this.ram.fill(0);
    this.ram[0] = KBC_CCB_KBD_INT | KBC_CCB_SYS | KBC_CCB_TRANSLATE;
    this.status = KBC_STAT_INH | KBC_STAT_SYS;
    this.outPort = 0xcf; // reset line high, A20 enabled, buffers as after POST
    this.outBuf = 0;
    this.pendingCmd = 0;
    this.fastA20 = false;
    this.kbdReset();
    this.kbdLastSent = 0;
    this.xlatBreak = false;
    this.keysDropped = 0;
    this.kbdQueue.clear();
    this.ctlQueue.clear();
    this.ctlAux.clear();
  }

  private kbdReset(): void {
    this.kbdScanning = true;
    this.kbdSet = 2;
    this.kbdLeds = 0;
    this.kbdTypematic = 0x2b;
    this.kbdPendingCmd = 0;
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.irqSource = ctx.irq.allocSource('i8042');
    ctx.ports.register(KBC_DATA, 1, 'i8042', { read8: () => this.readData(), write8: (_p, v) => this.writeData(v) });
    ctx.ports.register(KBC_STATUS, 1, 'i8042', { read8: () => this.status, write8: (_p, v) => this.writeCommand(v) });
    ctx.registerInput(INPUT.KEYBOARD, 0, (ev) => this.keyInput(ev));
  }

  get commandByte(): number {
    return this.ram[0]!;
  }

  // ---- output buffer ----

  /** A controller response (command result) for the guest. */
  private respond(v: number, aux = false): void {
    this.ctlQueue.push(v);
    this.ctlAux.push(aux ? 1 : 0);
    this.refill();
  }

  /** A byte from the keyboard, in its current scancode set. */
  private kbdSend(v: number): void {
    this.kbdLastSent = v;
    if (!this.kbdQueue.push(v)) this.keysDropped++;
    this.refill();
  }

  /** Moves the next byte into the output buffer if it is free. */
  private refill(): void {
    if (this.status & KBC_STAT_OBF) return;
    if (this.ctlQueue.count > 0) {
      const aux = this.ctlAux.shift() === 1;
      this.outBuf = this.ctlQueue.shift();
      this.status = (this.status & ~KBC_STAT_AUXB) | KBC_STAT_OBF | (aux ? KBC_STAT_AUXB : 0);
    } else if (this.kbdQueue.count > 0 && (this.ram[0]! & KBC_CCB_KBD_DISABLE) === 0) {
      let v = this.kbdQueue.shift();
      if (this.ram[0]! & KBC_CCB_TRANSLATE) {
        if (v === 0xf0) {
          this.xlatBreak = true;
          this.refill();
          return;
        }
        v = SET2_TO_SET1[v]!;
        if (this.xlatBreak) {
          v |= 0x80;
          this.xlatBreak = false;
        }
      }
      this.outBuf = v;
      this.status = (this.status & ~(KBC_STAT_AUXB | KBC_STAT_TIMEOUT)) | KBC_STAT_OBF;
    }
    this.updateIrq();
  }

  private updateIrq(): void {
    const full = (this.status & KBC_STAT_OBF) !== 0;
    const aux = (this.status & KBC_STAT_AUXB) !== 0;
    const i1 = full && !aux && (this.ram[0]! & KBC_CCB_KBD_INT) !== 0;
    const i12 = full && aux && (this.ram[0]! & KBC_CCB_AUX_INT) !== 0;
    const ctx = this.ctx;
    if (i1 !== this.irq1) {
      this.irq1 = i1;
      ctx?.irq.set(KBC_IRQ_KBD, i1, this.irqSource);
    }
    if (i12 !== this.irq12) {
      this.irq12 = i12;
      ctx?.irq.set(KBC_IRQ_AUX, i12, this.irqSource);
    }
  }

  readData(): number {
    const v = this.outBuf;
    if (this.status & KBC_STAT_OBF) {
      this.status &= ~(KBC_STAT_OBF | KBC_STAT_AUXB | KBC_STAT_TIMEOUT);
      this.updateIrq();
      this.refill();
    }
    return v;
  }

  // ---- controller commands ----

  private applyOutPort(v: number): void {
    this.outPort = v | KBC_OUT_RESET;
    this.applyA20();
    if ((v & KBC_OUT_RESET) === 0) this.ctx?.requestReset('keyboard controller output port reset line');
  }

  /** Drives the A20 gate: output port bit 1 OR port 0x92 bit 1. */
  applyA20(): void {
    this.ctx?.setA20((this.outPort & KBC_OUT_A20) !== 0 || this.fastA20);
  }

  writeCommand(cmd: number): void {
    this.status |= KBC_STAT_A2;
    this.pendingCmd = 0;
    if (cmd >= 0x20 && cmd <= 0x3f) {
      this.respond(this.ram[cmd & 0x1f]!);
      return;
    }
    if (cmd >= 0x60 && cmd <= 0x7f) {
      this.pendingCmd = cmd;
      return;
    }
    if (cmd >= 0xf0) {
      // Pulse output port lines whose bit is 0; bit 0 is the CPU reset line.
      if ((cmd & 1) === 0) this.ctx?.requestReset(`keyboard controller command 0x${cmd.toString(16)}`);
      return;
    }
    switch (cmd) {
      case 0xa4: // password installed?
        this.respond(0xf1);
        break;
      case 0xa7:
        this.ram[0] = this.ram[0]! | KBC_CCB_AUX_DISABLE;
        break;
      case 0xa8:
        this.ram[0] = this.ram[0]! & ~KBC_CCB_AUX_DISABLE;
        break;
      case 0xa9: // aux interface test: lines OK (nothing plugged in)
        this.respond(0x00);
        break;
      case 0xaa: // self test
        this.status |= KBC_STAT_SYS;
        this.respond(0x55);
        break;
      case 0xab: // keyboard interface test
        this.respond(0x00);
        break;
      case 0xad:
        this.ram[0] = this.ram[0]! | KBC_CCB_KBD_DISABLE;
        break;
      case 0xae:
        this.ram[0] = this.ram[0]! & ~KBC_CCB_KBD_DISABLE;
        this.refill();
        break;
      case 0xc0: // input port: keyboard not inhibited, 512 KiB+ board
        this.respond(0x80);
        break;
      case 0xd0:
        this.respond(this.outPort);
        break;
      case 0xd1:
      case 0xd2:
      case 0xd3:
      case 0xd4:
        this.pendingCmd = cmd;
        break;
      case 0xdd:
        this.outPort &= ~KBC_OUT_A20;
        this.applyA20();
        break;
      case 0xdf:
        this.outPort |= KBC_OUT_A20;
        this.applyA20();
        break;
      case 0xe0: // test inputs
        this.respond(0x00);
        break;
      default:
        break; // unknown commands are ignored, as by the real firmware
    }
  }

  writeData(v: number): void {
    this.status &= ~KBC_STAT_A2;
    const cmd = this.pendingCmd;
    this.pendingCmd = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
      this.ram[cmd & 0x1f] = v;
      if (cmd === 0x60) {
        this.status = (this.status & ~KBC_STAT_SYS) | (v & KBC_CCB_SYS);
        this.xlatBreak = false;
        this.refill();
        this.updateIrq();
      }
      return;
    }
    switch (cmd) {
      case 0xd1:
        this.applyOutPort(v);
        return;
      case 0xd2:
        this.respond(v);
        return;
      case 0xd3:
        this.respond(v, true);
        return;
      case 0xd4:
        // Nothing on the aux port: the transmission times out.
        this.status |= KBC_STAT_TIMEOUT;
        this.respond(KBD_RESEND, true);
        this.status |= KBC_STAT_TIMEOUT;
        return;
      default:
        break;
    }
    // Data for the keyboard. Writing to it re-enables the interface.
    this.ram[0] = this.ram[0]! & ~KBC_CCB_KBD_DISABLE;
    this.keyboardCommand(v);
  }

  // ---- the keyboard ----

  private keyboardCommand(v: number): void {
    const pending = this.kbdPendingCmd;
    if (pending !== 0) {
      this.kbdPendingCmd = 0;
      if (pending === 0xed) {
        this.kbdLeds = v & 7;
        this.kbdSend(KBD_ACK);
        return;
      }
      if (pending === 0xf3) {
        this.kbdTypematic = v & 0x7f;
        this.kbdSend(KBD_ACK);
        return;
      }
      if (pending === 0xf0) {
        this.kbdSend(KBD_ACK);
        if (v === 0) this.kbdSend(this.kbdSet);
        else if (v >= 1 && v <= 3) this.kbdSet = v;
        return;
      }
      // A command byte where a parameter was expected: treat it as a command.
    }
    switch (v) {
      case 0xed:
      case 0xf3:
      case 0xf0:
        this.kbdPendingCmd = v;
        this.kbdSend(KBD_ACK);
        break;
      case 0xee:
        this.kbdSend(KBD_ECHO);
        break;
      case 0xf2:
        this.kbdSend(KBD_ACK);
        this.kbdSend(0xab);
        this.kbdSend(0x83);
        break;
      case 0xf4:
        this.kbdQueue.clear();
        this.kbdScanning = true;
        this.kbdSend(KBD_ACK);
        break;
      case 0xf5:
        this.kbdScanning = false;
        this.kbdQueue.clear();
        this.kbdSend(KBD_ACK);
        break;
      case 0xf6:
        this.kbdTypematic = 0x2b;
        this.kbdLeds = 0;
        this.kbdSet = 2;
        this.kbdSend(KBD_ACK);
        break;
      case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
        this.kbdSend(KBD_ACK); // set-3 key types: accepted and ignored
        break;
      case 0xfe:
        this.kbdSend(this.kbdLastSent);
        break;
      case 0xff:
        this.kbdQueue.clear();
        this.kbdReset();
        this.kbdSend(KBD_ACK);
        this.kbdSend(KBD_BAT_OK);
        break;
      default:
        this.kbdSend(KBD_RESEND);
        break;
    }
  }

  /** Host key input: set-1 bytes, converted to the keyboard's current set. */
  private keyInput(ev: InputEvent): void {
    const d = ev.data;
    if (!d || !this.kbdScanning) {
      if (d) this.keysDropped += d.length;
      return;
    }
    for (let i = 0; i < d.length; i++) {
      const b = d[i]!;
      if (this.kbdSet === 1 || b === 0xe0 || b === 0xe1) {
        this.kbdSend(b);
        continue;
      }
      const make = SET1_TO_SET2[b & 0x7f]!;
      if (make === 0) continue; // no such key
      if (b & 0x80) this.kbdSend(0xf0);
      this.kbdSend(make);
    }
  }

  // ---- Device ----

  reset(): void {
    this.powerOn();
    this.irq1 = this.irq12 = false;
    const ctx = this.ctx;
    if (ctx) {
      ctx.irq.set(KBC_IRQ_KBD, false, this.irqSource);
      ctx.irq.set(KBC_IRQ_AUX, false, this.irqSource);
    }
  }

  saveState(): StateRecord {
    return {
      ram: this.ram.slice(), status: this.status, outPort: this.outPort, outBuf: this.outBuf, pendingCmd: this.pendingCmd,
      kbdScanning: this.kbdScanning, kbdSet: this.kbdSet, kbdLeds: this.kbdLeds, kbdTypematic: this.kbdTypematic,
      kbdPendingCmd: this.kbdPendingCmd, kbdLastSent: this.kbdLastSent, xlatBreak: this.xlatBreak, keysDropped: this.keysDropped,
      kbdQueue: this.kbdQueue.buf.slice(0, this.kbdQueue.count), ctlQueue: this.ctlQueue.buf.slice(0, this.ctlQueue.count),
      ctlAux: this.ctlAux.buf.slice(0, this.ctlAux.count), irq1: this.irq1, irq12: this.irq12,
    };
  }

  loadState(s: StateRecord): void {
    intoTyped(s, 'ram', this.ram);
    this.status = num(s, 'status'); this.outPort = num(s, 'outPort'); this.outBuf = num(s, 'outBuf');
    this.pendingCmd = num(s, 'pendingCmd'); this.kbdScanning = bool(s, 'kbdScanning'); this.kbdSet = num(s, 'kbdSet');
    this.kbdLeds = num(s, 'kbdLeds'); this.kbdTypematic = num(s, 'kbdTypematic'); this.kbdPendingCmd = num(s, 'kbdPendingCmd');
    this.kbdLastSent = num(s, 'kbdLastSent'); this.xlatBreak = bool(s, 'xlatBreak'); this.keysDropped = num(s, 'keysDropped');
    for (const [key, q] of [['kbdQueue', this.kbdQueue], ['ctlQueue', this.ctlQueue], ['ctlAux', this.ctlAux]] as const) {
      const b = bytes(s, key);
      q.clear();
      for (let i = 0; i < b.length && i < QUEUE_SIZE; i++) q.push(b[i]!);
    }
    this.irq1 = bool(s, 'irq1');
    this.irq12 = bool(s, 'irq12');
  }
}

/**
 * System control port A (0x92, "fast A20"): bit 1 gates A20 (ORed with the
 * keyboard controller's gate), writing bit 0 = 1 resets the CPU.
 */
export class Port92 implements Device {
  readonly stateName = 'port92';
  readonly stateVersion = 1;
  readonly kbc: I8042;
  value = 0;
  private ctx: DeviceContext | null = null;

  constructor(kbc: I8042) {
    this.kbc = kbc;
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    ctx.ports.register(0x92, 1, 'port92', {
      read8: () => this.value,
      write8: (_p, v) => this.write(v),
    });
  }

  write(v: number): void {
    const old = this.value;
    this.value = v & 0x02; // bit 0 reads back 0 once the reset is under way
    this.kbc.fastA20 = (v & 0x02) !== 0;
    this.kbc.applyA20();
    if (v & 0x01 && (old & 0x01) === 0) this.ctx?.requestReset('port 0x92 fast reset');
  }

  reset(): void {
    this.value = 0;
    this.kbc.fastA20 = false;
  }

  saveState(): StateRecord {
    return { value: this.value };
  }

  loadState(s: StateRecord): void {
    this.value = num(s, 'value');
    this.kbc.fastA20 = (this.value & 0x02) !== 0;
  }
}
