/**
 * The CPU side of the x87: the #NM checks (CR0.EM/TS/MP), the pending
 * exception check (#MF with CR0.NE, else IRQ13), the memory operand's linear
 * address (segment limit/type checked for the operand's whole size), the
 * X87Bus over the CPU's paging-checked linear accessors, FNSTSW AX and the
 * EFLAGS exchange of FCMOVcc/FCOMI.
 */
import type { Cpu } from './cpu.js';
import { X87, x87IsValid, type X87Bus } from './x87/x87.js';
import { CR0, EXC, SEG, FLAG } from './flags.js';

/** Memory operand size of ESC opcode (0-7 = D8-DF) / reg, and whether it is a store. */
function memSize(op: number, reg: number, osz32: boolean): number {
  switch (op) {
    case 0: return 4;
    case 1: return reg === 4 || reg === 6 ? (osz32 ? 28 : 14) : reg === 5 || reg === 7 ? 2 : 4;
    case 2: return 4;
    case 3: return reg === 5 || reg === 7 ? 10 : 4;
    case 4: return 8;
    case 5: return reg === 4 || reg === 6 ? (osz32 ? 108 : 94) : reg === 7 ? 2 : 8;
    case 6: return 2;
    default: return reg === 4 || reg === 6 ? 10 : reg === 5 || reg === 7 ? 8 : 2;
  }
}
function isStore(op: number, reg: number): boolean {
  switch (op) {
    case 1: return reg === 2 || reg === 3 || reg === 6 || reg === 7;
    case 3: return reg === 1 || reg === 2 || reg === 3 || reg === 7;
    case 5: return reg === 1 || reg === 2 || reg === 3 || reg === 6 || reg === 7;
    case 7: return reg === 1 || reg === 2 || reg === 3 || reg === 6 || reg === 7;
    default: return false;
  }
}

export class X87Glue {
  private readonly cpu: Cpu;
  readonly fpu: X87;

  constructor(cpu: Cpu) {
    this.cpu = cpu;
    const c = cpu;
    const bus: X87Bus = {
      read8: (a) => c.readLin8(a | 0),
      read16: (a) => c.readLin16(a | 0),
      read32: (a) => c.readLin32(a | 0),
      write8: (a, v) => c.writeLin8(a | 0, v),
      write16: (a, v) => c.writeLin16(a | 0, v),
      write32: (a, v) => c.writeLin32(a | 0, v),
    };
    this.fpu = new X87(bus);
  }

  reset(): void {
    this.fpu.reset();
  }

  /** Pending unmasked exception: #MF (CR0.NE) or IRQ13 (the PC's FERR# wiring). */
  private checkPending(): void {
    if (!this.fpu.pendingException) return;
    const c = this.cpu;
    if (c.cr0 & CR0.NE) c.fault(EXC.MF, -1);
    c.machine.irq.raise(13);
  }

  fwait(): void {
    const c = this.cpu;
    if ((c.cr0 & (CR0.MP | CR0.TS)) === (CR0.MP | CR0.TS)) c.fault(EXC.NM, -1);
    this.checkPending();
  }

  esc(opcode: number): void {
    const c = this.cpu;
    const m = c.fetch8();
    // an encoding a P6 lacks (FISTTP, the opcode map's holes) is #UD, which the
    // SDM ranks before #NM among the faults of decoding (Vol. 3, table 6-2);
    // reported once per encoding (memory forms by their /reg)
    if (!x87IsValid(opcode, m)) c.undefinedOpcode(0x10000 | (opcode << 8) | (m >= 0xc0 ? m : m & 0x38));
    if (c.cr0 & (CR0.EM | CR0.TS)) c.fault(EXC.NM, -1);
    const op = opcode & 7;
    if (this.fpu.needsPendingCheck(opcode, m)) this.checkPending();
    let lin = 0;
    let off = 0;
    let seg: number = SEG.DS;
    if (m < 0xc0) {
      off = c.ea(m);
      seg = c.eaSeg;
      const reg = (m >> 3) & 7;
      const size = memSize(op, reg, c.osz !== 0);
      lin = isStore(op, reg) ? c.linW(seg, off, size) : c.linR(seg, off, size);
    }
    const fpu = this.fpu;
    fpu.eflagsIn = c.getEflags();
    // c.pmode is false in virtual-8086 mode: v86 uses the real-mode FSTENV/FSAVE
    // layout (20-bit linear FIP/FDP; SDM Vol. 1, 8.1.10)
    fpu.exec(opcode, m, lin, c.osz !== 0, c.pmode, c.segSel[SEG.CS]!, c.instrEip, c.segSel[seg]!, off);
    if (op === 7 && m === 0xe0) c.reg16[0] = fpu.statusWord();
    if (fpu.eflagsWritten) c.setArith(fpu.eflagsOut, FLAG.CF | FLAG.PF | FLAG.AF | FLAG.ZF | FLAG.SF | FLAG.OF);
  }
}
