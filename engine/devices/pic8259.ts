/**
 * The 8259A programmable interrupt controller pair of the PC/AT: master at
 * 0x20/0x21 (IRQ 0-7), slave at 0xA0/0xA1 (IRQ 8-15) cascaded on the master's
 * IR2, plus the PIIX edge/level control registers (ELCR) at 0x4D0/0x4D1.
 *
 * Implemented after the Intel 8259A datasheet: ICW1-ICW4 (single/cascade,
 * LTIM, ICW4 with auto-EOI and special fully nested mode), OCW1 (mask), OCW2
 * (non-specific/specific EOI, rotate on EOI, rotate in auto-EOI, set
 * priority), OCW3 (read IRR/ISR, poll, special mask mode), spurious IRQ7 and
 * IRQ15 when a request disappears before the acknowledge, edge and level
 * triggering. The cascade (master IR2) follows the slave's INT as a level,
 * so a slave request that goes away before INTA withdraws the master's too.
 *
 * Inputs come from IrqLines (lines 0-15; ISA line 2 is wired to IR9 as on the
 * AT bus). Edge-triggered inputs latch IRR on a rising edge and keep it until
 * acknowledged (so a raise-then-lower pulse is one request); level-triggered
 * inputs follow the line. The master's INT drives the CPU's INTR through
 * ctx.setIntr; the CPU calls acknowledge() for the INTA cycle.
 */
import type { Device, DeviceContext } from '../device.js';
import type { InterruptAcknowledge } from '../cpu/cpu-core.js';
import type { StateRecord } from '../state/snapshot.js';
import { num, bool, rec } from '../state/snapshot.js';

export const PIC_MASTER_CMD = 0x20;
export const PIC_MASTER_DATA = 0x21;
export const PIC_SLAVE_CMD = 0xa0;
export const PIC_SLAVE_DATA = 0xa1;
export const PIC_ELCR_MASTER = 0x4d0;
export const PIC_ELCR_SLAVE = 0x4d1;

export const PIC_ICW1_IC4 = 0x01;
export const PIC_ICW1_SNGL = 0x02;
export const PIC_ICW1_LTIM = 0x08;
export const PIC_ICW1 = 0x10;
export const PIC_ICW4_AEOI = 0x02;
export const PIC_ICW4_SFNM = 0x10;
export const PIC_OCW3 = 0x08;
export const PIC_OCW3_RIS = 0x01;
export const PIC_OCW3_RR = 0x02;
export const PIC_OCW3_P = 0x04;
export const PIC_OCW3_SMM = 0x20;
export const PIC_OCW3_ESMM = 0x40;
/** OCW2 commands (bits 7:5). */
export const PIC_OCW2_ROTATE_AEOI_CLEAR = 0;
export const PIC_OCW2_EOI = 1;
export const PIC_OCW2_NOP = 2;
export const PIC_OCW2_SPECIFIC_EOI = 3;
export const PIC_OCW2_ROTATE_AEOI_SET = 4;
export const PIC_OCW2_ROTATE_EOI = 5;
export const PIC_OCW2_SET_PRIORITY = 6;
export const PIC_OCW2_ROTATE_SPECIFIC_EOI = 7;

/** One 8259A. */
export class PicChip {
  readonly isMaster: boolean;
  /** Inputs that may be switched to level mode in the ELCR (PIIX: not IRQ0-2, 8, 13). */
  readonly elcrMask: number;
  irr = 0;
  imr = 0;
  isr = 0;
  /** Input line levels as last seen (edge detection). */
  lines = 0;
  elcr = 0;
  /** Highest-priority input = priorityAdd (rotation). */
  priorityAdd = 0;
  vectorBase = 0;
  /** 0 = operational, 1 = expecting ICW2, 2 = ICW3, 3 = ICW4. */
  initStep = 0;
  icw4Needed = false;
  single = false;
  ltim = false;
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialFullyNested = false;
  specialMask = false;
  readIsr = false;
  poll = false;
  icw3 = 0;

  constructor(isMaster: boolean) {
    this.isMaster = isMaster;
    this.elcrMask = isMaster ? 0xf8 : 0xde;
  }

  powerOn(): void {
    this.irr = this.imr = this.isr = this.lines = this.elcr = 0;
    this.initReset();
    this.initStep = 0;
    this.vectorBase = this.isMaster ? 0x08 : 0x70; // BIOS defaults; software always initialises
  }

  /** What ICW1 resets (datasheet: IMR cleared, IR7 lowest, SMM off, read IRR, ICW4 functions off). */
  initReset(): void {
    this.imr = 0;
    this.isr = 0;
    this.irr &= this.levelMask() & this.lines; // edge sense circuit reset
    this.priorityAdd = 0;
    this.specialMask = false;
    this.readIsr = false;
    this.poll = false;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
  }

  levelMask(): number {
    return this.ltim ? 0xff : this.elcr;
  }

  /** Drives input `n` (0-7) to `level`. */
  setInput(n: number, level: boolean): void {
    const bit = 1 << n;
    if (level) {
      if (this.levelMask() & bit || (this.lines & bit) === 0) this.irr |= bit;
      this.lines |= bit;
    } else {
      this.lines &= ~bit;
      if (this.levelMask() & bit) this.irr &= ~bit;
    }
  }

  /** The priority (0 = highest) of the highest-priority bit in `mask`, or 8. */
  priorityOf(mask: number): number {
    if ((mask & 0xff) === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.priorityAdd) & 7))) === 0) p++;
    return p;
  }

  /** The input this chip would present now, or -1. */
  pending(): number {
    const req = this.irr & ~this.imr;
    const p = this.priorityOf(req);
    if (p === 8) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    if (this.specialFullyNested && this.isMaster) inService &= ~(1 << 2);
    return p < this.priorityOf(inService) ? (p + this.priorityAdd) & 7 : -1;
  }

  /** The INTA cycle for input `n`: IRR -> ISR (or auto-EOI). */
  ack(n: number): void {
    const bit = 1 << n;
    if ((this.levelMask() & bit) === 0) this.irr &= ~bit;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityAdd = (n + 1) & 7;
    } else {
      this.isr |= bit;
    }
  }

  writeCommand(v: number): void {
    if (v & PIC_ICW1) {
      this.icw4Needed = (v & PIC_ICW1_IC4) !== 0;
      this.single = (v & PIC_ICW1_SNGL) !== 0;
      this.ltim = (v & PIC_ICW1_LTIM) !== 0;
      this.initReset();
      this.initStep = 1;
    } else if (v & PIC_OCW3) {
      if (v & PIC_OCW3_P) this.poll = true;
      if (v & PIC_OCW3_RR) this.readIsr = (v & PIC_OCW3_RIS) !== 0;
      if (v & PIC_OCW3_ESMM) this.specialMask = (v & PIC_OCW3_SMM) !== 0;
    } else {
      const cmd = v >>> 5;
      switch (cmd) {
        case PIC_OCW2_ROTATE_AEOI_CLEAR:
        case PIC_OCW2_ROTATE_AEOI_SET:
          this.rotateOnAutoEoi = cmd === PIC_OCW2_ROTATE_AEOI_SET;
          break;
        case PIC_OCW2_EOI:
        case PIC_OCW2_ROTATE_EOI: {
          const p = this.priorityOf(this.isr);
          if (p !== 8) {
            const n = (p + this.priorityAdd) & 7;
            this.isr &= ~(1 << n);
            if (cmd === PIC_OCW2_ROTATE_EOI) this.priorityAdd = (n + 1) & 7;
          }
          break;
        }
        case PIC_OCW2_SPECIFIC_EOI:
          this.isr &= ~(1 << (v & 7));
          break;
        case PIC_OCW2_ROTATE_SPECIFIC_EOI:
          this.isr &= ~(1 << (v & 7));
          this.priorityAdd = ((v & 7) + 1) & 7;
          break;
        case PIC_OCW2_SET_PRIORITY:
          this.priorityAdd = ((v & 7) + 1) & 7;
          break;
        default:
          break;
      }
    }
  }

  writeData(v: number): void {
    switch (this.initStep) {
      case 0:
        this.imr = v;
        break;
      case 1:
        this.vectorBase = v & 0xf8;
        this.initStep = this.single ? (this.icw4Needed ? 3 : 0) : 2;
        break;
      case 2:
        this.icw3 = v;
        this.initStep = this.icw4Needed ? 3 : 0;
        break;
      default:
        this.autoEoi = (v & PIC_ICW4_AEOI) !== 0;
        this.specialFullyNested = (v & PIC_ICW4_SFNM) !== 0;
        this.initStep = 0;
        break;
    }
  }

  save(): StateRecord {
    return {
      irr: this.irr, imr: this.imr, isr: this.isr, lines: this.lines, elcr: this.elcr,
      priorityAdd: this.priorityAdd, vectorBase: this.vectorBase, initStep: this.initStep,
      icw4Needed: this.icw4Needed, single: this.single, ltim: this.ltim, autoEoi: this.autoEoi,
      rotateOnAutoEoi: this.rotateOnAutoEoi, specialFullyNested: this.specialFullyNested,
      specialMask: this.specialMask, readIsr: this.readIsr, poll: this.poll, icw3: this.icw3,
    };
  }

  load(s: StateRecord): void {
    this.irr = num(s, 'irr'); this.imr = num(s, 'imr'); this.isr = num(s, 'isr');
    this.lines = num(s, 'lines'); this.elcr = num(s, 'elcr'); this.priorityAdd = num(s, 'priorityAdd');
    this.vectorBase = num(s, 'vectorBase'); this.initStep = num(s, 'initStep');
    this.icw4Needed = bool(s, 'icw4Needed'); this.single = bool(s, 'single'); this.ltim = bool(s, 'ltim');
    this.autoEoi = bool(s, 'autoEoi'); this.rotateOnAutoEoi = bool(s, 'rotateOnAutoEoi');
    this.specialFullyNested = bool(s, 'specialFullyNested'); this.specialMask = bool(s, 'specialMask');
    this.readIsr = bool(s, 'readIsr'); this.poll = bool(s, 'poll'); this.icw3 = num(s, 'icw3');
  }
}

export class Pic8259 implements Device, InterruptAcknowledge {
  readonly stateName = 'pic';
  readonly stateVersion = 1;
  readonly master = new PicChip(true);
  readonly slave = new PicChip(false);
  private ctx: DeviceContext | null = null;
  /** The level currently driven on the CPU's INTR pin. */
  intrLevel = false;
  /** Interrupts acknowledged, and how many of them were spurious (summary / debugger). */
  acknowledged = 0;
  spurious = 0;

  constructor() {
    this.master.powerOn();
    this.slave.powerOn();
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    ctx.ports.register(PIC_MASTER_CMD, 2, 'pic', {
      read8: (port) => this.readPort(this.master, port & 1),
      write8: (port, v) => this.writePort(this.master, port & 1, v),
    });
    ctx.ports.register(PIC_SLAVE_CMD, 2, 'pic', {
      read8: (port) => this.readPort(this.slave, port & 1),
      write8: (port, v) => this.writePort(this.slave, port & 1, v),
    });
    ctx.ports.register(PIC_ELCR_MASTER, 2, 'pic', {
      read8: (port) => (port === PIC_ELCR_MASTER ? this.master.elcr : this.slave.elcr),
      write8: (port, v) => this.writeElcr(port === PIC_ELCR_MASTER ? this.master : this.slave, v),
    });
    ctx.irq.onChange = (line, level) => this.setIrq(line, level);
    this.resyncLines();
  }

  /** An IRQ line (0-15) changed level. */
  setIrq(line: number, level: boolean): void {
    if (line === 2) line = 9; // the AT bus's IRQ2 pin is the slave's IR1
    if (line < 8) this.master.setInput(line, level);
    else this.slave.setInput(line - 8, level);
    this.update();
  }

  private resyncLines(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    for (let line = 0; line < 16; line++) if (ctx.irq.level(line)) this.setIrq(line, true);
    this.update();
  }

  private writeElcr(chip: PicChip, v: number): void {
    chip.elcr = v & chip.elcrMask;
    // A line switched to level mode requests exactly while it is high.
    const lvl = chip.levelMask();
    chip.irr = (chip.irr & ~lvl) | (chip.lines & lvl);
    this.update();
  }

  /** Propagates the slave's INT to master IR2 and the master's INT to the CPU. */
  update(): void {
    // The cascade input is a level: IRR2 is the slave's INT output, whatever the master's trigger mode.
    const m = this.master;
    if (this.slave.pending() >= 0) {
      m.irr |= 4;
      m.lines |= 4;
    } else {
      m.irr &= ~4;
      m.lines &= ~4;
    }
    const level = this.master.pending() >= 0;
    if (level !== this.intrLevel) {
      this.intrLevel = level;
      this.ctx?.setIntr(level);
    }
  }

  /** The INTA cycle: returns the vector and moves the request into service. */
  acknowledge(): number {
    this.acknowledged++;
    const m = this.master;
    const irq = m.pending();
    let vector: number;
    if (irq < 0) {
      this.spurious++;
      vector = m.vectorBase | 7;
    } else {
      m.ack(irq);
      if (irq === 2 && !m.single) {
        const s = this.slave;
        const sirq = s.pending();
        if (sirq < 0) {
          this.spurious++;
          vector = s.vectorBase | 7;
        } else {
          s.ack(sirq);
          vector = s.vectorBase | sirq;
        }
      } else {
        vector = m.vectorBase | irq;
      }
    }
    this.update();
    return vector;
  }

  private pollRead(chip: PicChip): number {
    chip.poll = false;
    const irq = chip.pending();
    if (irq < 0) return 0;
    chip.ack(irq);
    if (chip.isMaster && irq === 2) {
      // Polling the master for a cascaded request acknowledges the slave too.
      const sirq = this.slave.pending();
      if (sirq >= 0) this.slave.ack(sirq);
    }
    this.update();
    return 0x80 | irq;
  }

  private readPort(chip: PicChip, a0: number): number {
    if (chip.poll) return this.pollRead(chip);
    if (a0 === 0) return chip.readIsr ? chip.isr : chip.irr;
    return chip.imr;
  }

  private writePort(chip: PicChip, a0: number, v: number): void {
    if (a0 === 0) chip.writeCommand(v);
    else chip.writeData(v);
    this.update();
  }

  /** IRQ number (0-15) that would be delivered now, or -1 (debugger). */
  pendingIrq(): number {
    const irq = this.master.pending();
    if (irq !== 2) return irq;
    const s = this.slave.pending();
    return s < 0 ? -1 : 8 + s;
  }

  reset(): void {
    this.master.powerOn();
    this.slave.powerOn();
    this.acknowledged = 0;
    this.spurious = 0;
    this.intrLevel = false;
    this.ctx?.setIntr(false);
    this.resyncLines();
  }

  saveState(): StateRecord {
    return { master: this.master.save(), slave: this.slave.save(), intrLevel: this.intrLevel, acknowledged: this.acknowledged, spurious: this.spurious };
  }

  loadState(s: StateRecord): void {
    this.master.load(rec(s, 'master'));
    this.slave.load(rec(s, 'slave'));
    this.intrLevel = bool(s, 'intrLevel');
    this.acknowledged = num(s, 'acknowledged');
    this.spurious = num(s, 'spurious');
    this.ctx?.setIntr(this.intrLevel);
  }
}
