/**
 * The x87 FPU of a P6-family processor, in software, bit-exact with hardware.
 *
 * State: eight 80-bit physical registers (regSE:regHi:regLo), TOP, the tag of
 * each register (only empty/non-empty is kept; FSTENV/FSAVE compute the full
 * tag from the contents, as a P6 does), control word, status word, and the
 * last-instruction pointers FIP/FCS/FOP/FDP/FDS.
 *
 * The CPU calls `exec` for every ESC opcode (D8..DF) after it has done the
 * CR0.EM/TS (#NM) check, the pending-exception check (`needsPendingCheck` +
 * `pendingException`, -> #MF or IRQ13) and computed the memory operand's
 * linear address. See the interface notes on `exec` and on EFLAGS below.
 *
 * Exceptions follow the SDM: invalid (IE, with SF and C1 for stack faults),
 * denormal operand (DE), divide by zero (ZE), overflow/underflow (OE/UE) and
 * precision (PE). Masked exceptions deliver the documented default result;
 * an unmasked IE/DE/ZE suppresses the result (and the pop); unmasked OE/UE on
 * a register destination deliver the result with its exponent wrapped by
 * 2^24576, and on a memory destination store nothing.
 */
import type { Snapshotable, StateRecord } from '../../state/snapshot.js';
import { num, intoTyped } from '../../state/snapshot.js';
import {
  R, X, classify, roundPack, exactAdd, exactMul, exactDiv, exactSqrt, sig64, bitLength,
  CLS_ZERO, CLS_NORMAL, CLS_DENORMAL, CLS_INF, CLS_QNAN, CLS_SNAN, CLS_UNSUPPORTED,
  FMT_EXT, FMT_F32, FMT_F64, RC_NEAREST, RC_DOWN, RC_UP,
  X87_SW_IE, X87_SW_DE, X87_SW_ZE, X87_SW_OE, X87_SW_UE, X87_SW_PE, X87_SW_SF, X87_SW_ES, X87_SW_C0, X87_SW_C1,
  X87_SW_C2, X87_SW_C3, X87_SW_B,
} from './f80.js';
import { Transcendental } from './transcendental.js';
import { FR, addFast, mulFast, divFast, sqrtFast, toF32Fast, toF64Fast } from './fast.js';

export interface X87Bus {
  read8(linAddr: number): number;
  read16(linAddr: number): number;
  read32(linAddr: number): number;
  write8(linAddr: number, v: number): void;
  write16(linAddr: number, v: number): void;
  write32(linAddr: number, v: number): void;
}

/** EFLAGS bits FCOMI/FUCOMI(P) write (ZF, PF, CF set from the compare; OF, SF, AF cleared). */
export const X87_EFLAGS_CF = 0x001;
export const X87_EFLAGS_PF = 0x004;
export const X87_EFLAGS_AF = 0x010;
export const X87_EFLAGS_ZF = 0x040;
export const X87_EFLAGS_SF = 0x080;
export const X87_EFLAGS_OF = 0x800;
export const X87_EFLAGS_MASK = 0x8d5;

const CW_INIT = 0x037f;
const SW_COND = X87_SW_C0 | X87_SW_C1 | X87_SW_C2 | X87_SW_C3;
const INDEF_SE = 0xffff;
const INDEF_HI = 0xc0000000;

/**
 * Size in bytes of the memory operand of an ESC instruction (0 for register
 * forms) and whether it is written. The CPU should check the whole range
 * (both ends, for page-crossing operands) before calling `exec` for a store,
 * so that a fault cannot leave a store half done: `exec` itself writes in
 * ascending address order after computing the complete result.
 */
export function x87MemOperand(opcode: number, modrm: number, opsize32: boolean): { size: number; write: boolean } {
  if (modrm >= 0xc0) return { size: 0, write: false };
  const reg = (modrm >> 3) & 7;
  const env = opsize32 ? 28 : 14;
  switch (opcode & 7) {
    case 0: return { size: 4, write: false };
    case 1: return [{ size: 4, write: false }, { size: 0, write: false }, { size: 4, write: true }, { size: 4, write: true },
      { size: env, write: false }, { size: 2, write: false }, { size: env, write: true }, { size: 2, write: true }][reg]!;
    case 2: return { size: 4, write: false };
    case 3: return [{ size: 4, write: false }, { size: 4, write: true }, { size: 4, write: true }, { size: 4, write: true },
      { size: 0, write: false }, { size: 10, write: false }, { size: 0, write: false }, { size: 10, write: true }][reg]!;
    case 4: return { size: 8, write: false };
    case 5: return [{ size: 8, write: false }, { size: 8, write: true }, { size: 8, write: true }, { size: 8, write: true },
      { size: env + 80, write: false }, { size: 0, write: false }, { size: env + 80, write: true }, { size: 2, write: true }][reg]!;
    case 6: return { size: 2, write: false };
    default: return [{ size: 2, write: false }, { size: 2, write: true }, { size: 2, write: true }, { size: 2, write: true },
      { size: 10, write: false }, { size: 8, write: false }, { size: 10, write: true }, { size: 8, write: true }][reg]!;
  }
}

/**
 * Whether an ESC encoding exists on a P6 (the CPU raises #UD otherwise).
 * FISTTP (SSE3) is absent; the undocumented aliases (FSTP1, FCOM2, FCOMP3,
 * FXCH4, FCOMP5, FFREEP, FXCH7, FSTP8, FSTP9) and the 8087/287 no-ops FENI,
 * FDISI and FSETPM exist. The holes of the SDM's x87 opcode map (Vol. 2,
 * A.5) are #UD: memory D9 /1, DB /1 /4 /6, DD /1 /5, DF /1; registers
 * D9 D1-D7 E2 E3 E6 E7 EF, DA E0-E8 EA-FF, DB E5-E7 F8-FF (E5 is the
 * 287XL's FRSTPM), DD F0-FF, DE D8 DA-DF, DF E1-E7 F8-FF.
 */
export function x87IsValid(opcode: number, modrm: number): boolean {
  const reg = (modrm >> 3) & 7;
  const op = opcode & 7;
  if (modrm < 0xc0) {
    if (op === 1) return reg !== 1;
    if (op === 3) return reg !== 1 && reg !== 4 && reg !== 6;
    if (op === 5) return reg !== 1 && reg !== 5;
    if (op === 7) return reg !== 1;
    return true;
  }
  switch (op) {
    case 1:
      if (reg === 2) return modrm === 0xd0;
      if (reg === 4) return modrm !== 0xe2 && modrm !== 0xe3 && modrm !== 0xe6 && modrm !== 0xe7;
      if (reg === 5) return modrm !== 0xef;
      return true;
    case 2: return reg < 4 || modrm === 0xe9;
    case 3: return reg < 4 || (reg === 4 && modrm <= 0xe4) || reg === 5 || reg === 6;
    case 5: return reg < 6;
    case 6: return reg !== 3 || modrm === 0xd9;
    case 7: return (reg !== 4 || modrm === 0xe0) && reg !== 7;
    default: return true;
  }
}

export class X87 implements Snapshotable {
  readonly stateName = 'x87';
  readonly stateVersion = 1;
  private readonly bus: X87Bus;

  /** Physical registers R0..R7. */
  readonly regLo: Uint32Array;
  readonly regHi: Uint32Array;
  readonly regSE: Uint16Array;
  /** 1 = empty, 0 = holds a value (per physical register). */
  readonly tagEmpty: Uint8Array;
  cw: number;
  /** Status word without the TOP field. */
  sw: number;
  top: number;
  fip: number;
  fcs: number;
  fop: number;
  fdp: number;
  fds: number;

  /** EFLAGS as the CPU had them before exec (read by FCMOVcc). */
  eflagsIn: number;
  /** After FCOMI/FCOMIP/FUCOMI/FUCOMIP: true, and eflagsOut holds the new ZF/PF/CF (OF/SF/AF zero). */
  eflagsWritten: boolean;
  eflagsOut: number;

  private readonly tr: Transcendental;
  // scratch operand b (memory or register)
  private bSE = 0;
  private bHi = 0;
  private bLo = 0;
  private bCls = 0;

  constructor(bus: X87Bus) {
    this.bus = bus;
    this.regLo = new Uint32Array(8);
    this.regHi = new Uint32Array(8);
    this.regSE = new Uint16Array(8);
    this.tagEmpty = new Uint8Array(8);
    this.cw = 0;
    this.sw = 0;
    this.top = 0;
    this.fip = 0;
    this.fcs = 0;
    this.fop = 0;
    this.fdp = 0;
    this.fds = 0;
    this.eflagsIn = 0;
    this.eflagsWritten = false;
    this.eflagsOut = 0;
    this.tr = new Transcendental();
    this.bSE = 0;
    this.bHi = 0;
    this.bLo = 0;
    this.bCls = 0;
    this.reset();
  }

  /** Power-on/RESET state (SDM table 9-1): CW 0040h, SW 0, all registers +0.0 tagged valid/zero. */
  reset(): void {
    this.fninit();
    this.cw = 0x0040;
    this.regLo.fill(0);
    this.regHi.fill(0);
    this.regSE.fill(0);
    this.tagEmpty.fill(0);
  }

  fninit(): void {
    this.cw = CW_INIT;
    this.sw = 0;
    this.top = 0;
    this.tagEmpty.fill(1);
    this.fip = 0;
    this.fcs = 0;
    this.fop = 0;
    this.fdp = 0;
    this.fds = 0;
  }

  // ---- accessors ----

  /** True when an unmasked exception is pending (SW.ES). */
  get pendingException(): boolean {
    return (this.sw & X87_SW_ES) !== 0;
  }

  /** Whether the instruction is a waiting one (checks for a pending exception before it executes). */
  needsPendingCheck(opcode: number, modrm: number): boolean {
    const op = opcode & 7;
    const reg = (modrm >> 3) & 7;
    if (modrm < 0xc0) {
      if (op === 1) return reg !== 6 && reg !== 7; // FNSTENV, FNSTCW
      if (op === 5) return reg !== 6 && reg !== 7; // FNSAVE, FNSTSW m16
      return true;
    }
    if (op === 3 && (modrm === 0xe2 || modrm === 0xe3)) return false; // FNCLEX, FNINIT
    if (op === 3 && (modrm === 0xe0 || modrm === 0xe1 || modrm === 0xe4)) return false; // FNENI, FNDISI, FNSETPM
    if (op === 7 && modrm === 0xe0) return false; // FNSTSW AX
    return true;
  }

  statusWord(): number {
    return (this.sw & ~0x3800) | (this.top << 11);
  }
  controlWord(): number {
    return this.cw;
  }
  /** The full tag word (00 valid, 01 zero, 10 special, 11 empty) per physical register. */
  tagWord(): number {
    let tw = 0;
    for (let p = 0; p < 8; p++) tw |= this.fullTag(p) << (p * 2);
    return tw;
  }
  private fullTag(p: number): number {
    if (this.tagEmpty[p]) return 3;
    const c = classify(this.regSE[p]!, this.regHi[p]!, this.regLo[p]!);
    return c === CLS_NORMAL ? 0 : c === CLS_ZERO ? 1 : 2;
  }
  /** ST(i) as 80 bits into out[0] = lo32, out[1] = hi32, out[2] = sign/exponent. */
  readST(i: number, out: Uint32Array): void {
    const p = (this.top + i) & 7;
    out[0] = this.regLo[p]!;
    out[1] = this.regHi[p]!;
    out[2] = this.regSE[p]!;
  }
  isEmpty(i: number): boolean {
    return this.tagEmpty[(this.top + i) & 7] === 1;
  }
  /** ST(i) as a JS number, for display only (never guest-visible). */
  stAsNumber(i: number): number {
    const p = (this.top + i) & 7;
    const se = this.regSE[p]!;
    const e = se & 0x7fff;
    const s = se & 0x8000 ? -1 : 1;
    const hi = this.regHi[p]!;
    const lo = this.regLo[p]!;
    if (e === 0x7fff) return (hi & 0x7fffffff) === 0 && lo === 0 ? s * Infinity : NaN;
    const m = hi * 4294967296 + lo;
    return s * m * Math.pow(2, (e === 0 ? 1 : e) - 16383 - 63);
  }
  /** Writes ST(i) (debugger); marks it non-empty. */
  writeST(i: number, lo: number, hi: number, se: number): void {
    this.setReg((this.top + i) & 7, se, hi, lo);
  }

  // ---- helpers ----

  private phys(i: number): number {
    return (this.top + i) & 7;
  }
  private setReg(p: number, se: number, hi: number, lo: number): void {
    this.regSE[p] = se;
    this.regHi[p] = hi >>> 0;
    this.regLo[p] = lo >>> 0;
    this.tagEmpty[p] = 0;
  }
  private setIndef(p: number): void {
    this.setReg(p, INDEF_SE, INDEF_HI, 0);
  }
  private pop(): void {
    this.tagEmpty[this.top] = 1;
    this.top = (this.top + 1) & 7;
  }
  private push(): number {
    this.top = (this.top - 1) & 7;
    return this.top;
  }
  private masked(flag: number): boolean {
    return (this.cw & flag) !== 0;
  }
  /** ORs exception flags into SW and recomputes ES/B. */
  private raise(flags: number): void {
    this.sw |= flags;
    if (this.sw & ~this.cw & 0x3f) this.sw |= X87_SW_ES | X87_SW_B;
  }
  private setC1(on: boolean): void {
    if (on) this.sw |= X87_SW_C1;
    else this.sw &= ~X87_SW_C1;
  }
  private get pc(): number {
    const pc = (this.cw >> 8) & 3;
    return pc === 0 ? 24 : pc === 2 ? 53 : 64;
  }
  private get rc(): number {
    return (this.cw >> 10) & 3;
  }
  /** Stack underflow: IE|SF with C1 = 0. Returns true when masked (caller writes the default). */
  private underflow(): boolean {
    this.setC1(false);
    this.raise(X87_SW_IE | X87_SW_SF);
    return this.masked(X87_SW_IE);
  }
  private overflow(): boolean {
    this.setC1(true);
    this.raise(X87_SW_IE | X87_SW_SF);
    return this.masked(X87_SW_IE);
  }

  /**
   * NaN result of a two-operand operation where one of the operands is a NaN
   * (x87 rules, SDM table 4-7): SNaNs are quieted; of two NaNs the one with
   * the larger significand wins; a QNaN beats an SNaN. Writes R.
   */
  private nanResult(aSE: number, aHi: number, aLo: number, aCls: number, bSE: number, bHi: number, bLo: number, bCls: number): void {
    const aNaN = aCls === CLS_QNAN || aCls === CLS_SNAN;
    const bNaN = bCls === CLS_QNAN || bCls === CLS_SNAN;
    let useA: boolean;
    if (aNaN && bNaN) {
      if (aCls === CLS_SNAN && bCls === CLS_QNAN) useA = false;
      else if (aCls === CLS_QNAN && bCls === CLS_SNAN) useA = true;
      else {
        const ah = aHi | 0x40000000, bh = bHi | 0x40000000;
        if (ah !== bh) useA = ah >>> 0 > bh >>> 0;
        else if (aLo !== bLo) useA = aLo >>> 0 > bLo >>> 0;
        else useA = aSE < bSE;
      }
    } else useA = aNaN;
    if (useA) { R.se = aSE; R.hi = (aHi | 0x40000000) >>> 0; R.lo = aLo; }
    else { R.se = bSE; R.hi = (bHi | 0x40000000) >>> 0; R.lo = bLo; }
  }

  private static isNaNCls(c: number): boolean {
    return c === CLS_QNAN || c === CLS_SNAN;
  }

  // ---- memory operand readers (into bSE/bHi/bLo/bCls) ----

  private loadF32(bits: number): void {
    const s = bits >>> 31;
    const e = (bits >>> 23) & 0xff;
    const f = bits & 0x7fffff;
    if (e === 0) {
      if (f === 0) { this.bSE = s << 15; this.bHi = 0; this.bLo = 0; this.bCls = CLS_ZERO; return; }
      const lz = Math.clz32(f) - 8; // leading zeros within 24 bits, f < 2^23 so lz >= 1
      const m = f << lz; // leading bit at 23
      this.bSE = (s << 15) | (16383 - 126 - lz);
      this.bHi = (m << 8) >>> 0; this.bLo = 0; this.bCls = CLS_DENORMAL;
      return;
    }
    if (e === 0xff) {
      this.bSE = (s << 15) | 0x7fff; this.bHi = (0x80000000 | (f << 8)) >>> 0; this.bLo = 0;
      this.bCls = f === 0 ? CLS_INF : f & 0x400000 ? CLS_QNAN : CLS_SNAN;
      return;
    }
    this.bSE = (s << 15) | (e - 127 + 16383); this.bHi = (0x80000000 | (f << 8)) >>> 0; this.bLo = 0; this.bCls = CLS_NORMAL;
  }
  private loadF64(lo: number, hi: number): void {
    const s = hi >>> 31;
    const e = (hi >>> 20) & 0x7ff;
    const fh = hi & 0xfffff;
    if (e === 0) {
      if ((fh | lo) === 0) { this.bSE = s << 15; this.bHi = 0; this.bLo = 0; this.bCls = CLS_ZERO; return; }
      // normalise the 52-bit fraction so that its leading bit lands at bit 63
      let h = fh, l = lo >>> 0, sh = 11;
      // value = f * 2^(-1074); move leading bit to position 52 first
      let exp = 1 - 1023;
      while ((h & 0x100000) === 0) { h = ((h << 1) | (l >>> 31)) & 0x1fffff; l = (l << 1) >>> 0; exp--; }
      this.bSE = (s << 15) | (exp + 16383);
      this.bHi = ((h << sh) | (l >>> (32 - sh))) >>> 0; this.bLo = (l << sh) >>> 0; this.bCls = CLS_DENORMAL;
      return;
    }
    const h = (fh | 0x100000) >>> 0;
    this.bHi = ((h << 11) | (lo >>> 21)) >>> 0;
    this.bLo = (lo << 11) >>> 0;
    if (e === 0x7ff) {
      this.bSE = (s << 15) | 0x7fff;
      this.bCls = (fh | lo) === 0 ? CLS_INF : fh & 0x80000 ? CLS_QNAN : CLS_SNAN;
      return;
    }
    this.bSE = (s << 15) | (e - 1023 + 16383); this.bCls = CLS_NORMAL;
  }
  /** Loads a two's-complement integer (lo, hi 32-bit halves) exactly. */
  private loadInt(lo: number, hi: number): void {
    let s = 0;
    let h = hi >>> 0, l = lo >>> 0;
    if (hi & 0x80000000) { s = 1; l = (~l + 1) >>> 0; h = (~h + (l === 0 ? 1 : 0)) >>> 0; }
    if ((h | l) === 0) { this.bSE = 0; this.bHi = 0; this.bLo = 0; this.bCls = CLS_ZERO; return; }
    let e = 16383 + 63;
    if (h === 0) { h = l; l = 0; e -= 32; }
    const lz = Math.clz32(h);
    if (lz) { h = ((h << lz) | (l >>> (32 - lz))) >>> 0; l = (l << lz) >>> 0; e -= lz; }
    this.bSE = (s << 15) | e; this.bHi = h; this.bLo = l; this.bCls = CLS_NORMAL;
  }
  private loadBcd(addr: number): void {
    let v = 0n;
    for (let i = 8; i >= 0; i--) {
      const b = this.bus.read8(addr + i);
      v = v * 100n + BigInt((b >> 4) * 10 + (b & 15));
    }
    const s = this.bus.read8(addr + 9) >> 7;
    if (v === 0n) { this.bSE = s << 15; this.bHi = 0; this.bLo = 0; this.bCls = CLS_ZERO; return; }
    const L = bitLength(v);
    const m = v << BigInt(64 - L);
    this.bSE = (s << 15) | (16383 + L - 1); this.bHi = Number(m >> 32n); this.bLo = Number(m & 0xffffffffn); this.bCls = CLS_NORMAL;
  }
  private loadMemOperand(kind: number, addr: number): void {
    switch (kind) {
      case 0: this.loadF32(this.bus.read32(addr) >>> 0); break; // m32real
      case 1: { const w = this.bus.read32(addr) | 0; this.loadInt(w, w >> 31); break; } // m32int
      case 2: { const lo = this.bus.read32(addr); const hi = this.bus.read32(addr + 4); this.loadF64(lo >>> 0, hi >>> 0); break; } // m64real
      default: { const w = (this.bus.read16(addr) << 16) >> 16; this.loadInt(w, w >> 31); break; } // m16int
    }
  }

  // ---- exec ----

  /**
   * Executes one ESC instruction.
   *
   * `linAddr` is the memory operand's linear address (0 for register forms);
   * `cs:ip` the instruction's selector/offset (recorded in FCS:FIP, offset of
   * the first prefix... as the CPU defines the instruction start), `ds:dataOff`
   * the memory operand's segment selector and offset (FDS:FDP).
   * Control instructions (FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW, FNSTENV,
   * FLDENV, FNSAVE, FRSTOR) leave FIP/FCS/FOP/FDP/FDS unchanged.
   *
   * FNSTSW AX (DF E0) does nothing here: the CPU writes AX = statusWord().
   * FCMOVcc reads `eflagsIn`; FCOMI/FUCOMI(P) set `eflagsWritten` and
   * `eflagsOut` (see the field docs).
   */
  exec(opcode: number, modrm: number, linAddr: number, opsize32: boolean, protectedMode: boolean, cs: number, ip: number, ds: number, dataOff: number): void {
    this.eflagsWritten = false;
    const op = opcode & 7;
    const reg = (modrm >> 3) & 7;
    if (modrm < 0xc0) {
      // control instructions with memory operands do not update the pointers
      const isControl = (op === 1 && reg >= 4) || (op === 5 && (reg === 4 || reg === 6 || reg === 7));
      if (isControl) { this.execControlMem(op, reg, linAddr, opsize32, protectedMode); return; }
      this.execMem(op, reg, linAddr);
      this.fip = ip >>> 0; this.fcs = cs & 0xffff; this.fop = ((op << 8) | modrm) & 0x7ff;
      this.fdp = dataOff >>> 0; this.fds = ds & 0xffff;
      return;
    }
    if (op === 3 && (modrm === 0xe2 || modrm === 0xe3 || modrm === 0xe0 || modrm === 0xe1 || modrm === 0xe4)) {
      if (modrm === 0xe2) this.sw &= ~(0xff | X87_SW_B);
      else if (modrm === 0xe3) this.fninit();
      return;
    }
    if (op === 7 && modrm === 0xe0) return; // FNSTSW AX: the CPU reads statusWord()
    this.execReg(op, reg, modrm & 7, modrm);
    this.fip = ip >>> 0; this.fcs = cs & 0xffff; this.fop = ((op << 8) | modrm) & 0x7ff;
  }

  private execMem(op: number, reg: number, addr: number): void {
    switch (op) {
      case 0: case 2: case 4: case 6: {
        // arithmetic with m32real (D8), m32int (DA), m64real (DC), m16int (DE)
        const kind = op === 0 ? 0 : op === 2 ? 1 : op === 4 ? 2 : 3;
        this.loadMemOperand(kind, addr);
        if (reg === 2 || reg === 3) { this.compare(this.bSE, this.bHi, this.bLo, this.bCls, false, false); if (reg === 3) this.popIfNotAborted(); return; }
        this.arith(reg, 0, this.bSE, this.bHi, this.bLo, this.bCls, this.phys(0), false);
        return;
      }
      case 1:
        if (reg === 0) { this.loadF32(this.bus.read32(addr) >>> 0); this.fldConverted(); return; }
        if (reg === 2 || reg === 3) { this.fstReal(FMT_F32, addr, reg === 3); return; }
        return;
      case 3:
        if (reg === 0) { const w = this.bus.read32(addr) | 0; this.loadInt(w, w >> 31); this.fldConverted(); return; }
        if (reg === 2 || reg === 3) { this.fistStore(32, addr, reg === 3); return; }
        if (reg === 5) {
          const lo = this.bus.read32(addr) >>> 0; const hi = this.bus.read32(addr + 4) >>> 0; const se = this.bus.read16(addr + 8) & 0xffff;
          this.fldRaw(se, hi, lo);
          return;
        }
        if (reg === 7) { this.fstp80(addr); return; }
        return;
      case 5:
        if (reg === 0) { const lo = this.bus.read32(addr) >>> 0; const hi = this.bus.read32(addr + 4) >>> 0; this.loadF64(lo, hi); this.fldConverted(); return; }
        if (reg === 2 || reg === 3) { this.fstReal(FMT_F64, addr, reg === 3); return; }
        return;
      default:
        if (reg === 0) { const w = (this.bus.read16(addr) << 16) >> 16; this.loadInt(w, w >> 31); this.fldConverted(); return; }
        if (reg === 2 || reg === 3) { this.fistStore(16, addr, reg === 3); return; }
        if (reg === 4) { this.loadBcd(addr); this.fldConverted(); return; }
        if (reg === 5) { const lo = this.bus.read32(addr) >>> 0; const hi = this.bus.read32(addr + 4) >>> 0; this.loadInt(lo, hi); this.fldConverted(); return; }
        if (reg === 6) { this.fbstp(addr); return; }
        if (reg === 7) { this.fistStore(64, addr, true); return; }
    }
  }

  private aborted = false;
  private popIfNotAborted(): void {
    if (!this.aborted) this.pop();
  }

  private execReg(op: number, reg: number, i: number, modrm: number): void {
    this.aborted = false;
    switch (op) {
      case 0: { // D8: ST0 <- ST0 op ST(i)
        if (reg === 2 || reg === 3) { this.compareReg(i, 0, false); if (reg === 3) this.popIfNotAborted(); return; }
        this.arithReg(reg, i, this.phys(0), false);
        return;
      }
      case 4: // DC: ST(i) <- ST0 op ST(i) ; reg 2/3 = FCOM2/FCOMP3
        if (reg === 2 || reg === 3) { this.compareReg(i, 0, false); if (reg === 3) this.popIfNotAborted(); return; }
        this.arithReg(reg, i, this.phys(i), false);
        return;
      case 6: // DE: ...P forms; D9 = FCOMPP; reg 2 = FCOMP5
        if (reg === 2) { this.compareReg(i, 0, false); this.popIfNotAborted(); return; }
        if (reg === 3) { this.compareReg(1, 0, false); if (!this.aborted) { this.pop(); this.pop(); } return; }
        this.arithReg(reg, i, this.phys(i), true);
        return;
      case 1: this.execD9(reg, i, modrm); return;
      case 2:
        if (reg < 4) { this.fcmov(reg, false, i); return; }
        // DA E9: FUCOMPP
        this.compareReg(1, 1, false); if (!this.aborted) { this.pop(); this.pop(); }
        return;
      case 3:
        if (reg < 4) { this.fcmov(reg, true, i); return; }
        if (reg === 5) { this.compareReg(i, 1, true); return; } // FUCOMI
        if (reg === 6) { this.compareReg(i, 0, true); return; } // FCOMI
        return;
      case 5:
        switch (reg) {
          case 0: this.tagEmpty[this.phys(i)] = 1; return; // FFREE
          case 1: this.fxch(i); return; // FXCH4
          case 2: this.fstReg(i, false); return;
          case 3: this.fstReg(i, true); return;
          case 4: this.compareReg(i, 1, false); return; // FUCOM
          case 5: this.compareReg(i, 1, false); this.popIfNotAborted(); return; // FUCOMP
          default: return;
        }
      default: // DF
        switch (reg) {
          case 0: this.tagEmpty[this.phys(i)] = 1; this.pop(); return; // FFREEP
          case 1: this.fxch(i); return; // FXCH7
          case 2: case 3: this.fstReg(i, true); return; // FSTP8, FSTP9
          case 5: this.compareReg(i, 1, true); this.popIfNotAborted(); return; // FUCOMIP
          case 6: this.compareReg(i, 0, true); this.popIfNotAborted(); return; // FCOMIP
          default: return;
        }
    }
  }

  private execD9(reg: number, i: number, modrm: number): void {
    switch (reg) {
      case 0: this.fldST(i); return;
      case 1: this.fxch(i); return;
      case 2: return; // FNOP
      case 3: // FSTP1 (reserved alias): with ST0 empty the host just pops, without #IS (measured)
        if (this.tagEmpty[this.phys(0)]) { this.pop(); return; }
        this.fstReg(i, true); return;
      default: break;
    }
    switch (modrm) {
      case 0xe0: this.fchsAbs(true); return;
      case 0xe1: this.fchsAbs(false); return;
      case 0xe4: this.ftst(); return;
      case 0xe5: this.fxam(); return;
      case 0xe8: case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed: case 0xee: this.fldConst(modrm - 0xe8); return;
      case 0xf0: this.tr.f2xm1(this); return;
      case 0xf1: this.tr.fyl2x(this, false); return;
      case 0xf2: this.tr.fsincos(this, 3); return;
      case 0xf3: this.tr.fpatan(this); return;
      case 0xf4: this.fxtract(); return;
      case 0xf5: this.fprem(true); return;
      case 0xf6: this.top = (this.top - 1) & 7; this.setC1(false); return;
      case 0xf7: this.top = (this.top + 1) & 7; this.setC1(false); return;
      case 0xf8: this.fprem(false); return;
      case 0xf9: this.tr.fyl2x(this, true); return;
      case 0xfa: this.fsqrt(); return;
      case 0xfb: this.tr.fsincos(this, 2); return;
      case 0xfc: this.frndint(); return;
      case 0xfd: this.fscale(); return;
      case 0xfe: this.tr.fsincos(this, 0); return;
      case 0xff: this.tr.fsincos(this, 1); return;
      default: return;
    }
  }

  // ---- loads ----

  /** FLD of a converted memory operand (bSE/bHi/bLo/bCls, classes from the source format). */
  private fldConverted(): void {
    const p = (this.top - 1) & 7;
    if (!this.tagEmpty[p]) {
      if (this.overflow()) { this.push(); this.setIndef(this.top); }
      return;
    }
    this.setC1(false);
    let flags = 0;
    if (this.bCls === CLS_SNAN) flags |= X87_SW_IE;
    else if (this.bCls === CLS_DENORMAL) flags |= X87_SW_DE;
    if (flags) {
      this.raise(flags);
      // an unmasked #IA suppresses the load; an unmasked #D does not (measured)
      if (flags === X87_SW_IE && !this.masked(flags)) return;
    }
    let hi = this.bHi;
    if (this.bCls === CLS_SNAN) hi = (hi | 0x40000000) >>> 0;
    this.push();
    this.setReg(this.top, this.bSE, hi, this.bLo);
  }
  private fldRaw(se: number, hi: number, lo: number): void {
    const p = (this.top - 1) & 7;
    if (!this.tagEmpty[p]) {
      if (this.overflow()) { this.push(); this.setIndef(this.top); }
      return;
    }
    this.setC1(false);
    this.push();
    this.setReg(this.top, se, hi, lo);
  }
  private fldST(i: number): void {
    const src = this.phys(i);
    if (this.tagEmpty[src]) {
      if (!this.underflow()) return;
      this.push(); this.setIndef(this.top);
      return;
    }
    this.fldRaw(this.regSE[src]!, this.regHi[src]!, this.regLo[src]!);
  }
  private fldConst(k: number): void {
    const p = (this.top - 1) & 7;
    if (!this.tagEmpty[p]) {
      if (this.overflow()) { this.push(); this.setIndef(this.top); }
      return;
    }
    this.setC1(false);
    this.tr.constant(k, this.rc);
    this.push();
    this.setReg(this.top, R.se, R.hi, R.lo);
  }

  // ---- stores ----

  private fstReg(i: number, popAfter: boolean): void {
    const s = this.phys(0);
    if (this.tagEmpty[s]) {
      if (!this.underflow()) return;
      this.setIndef(this.phys(i));
    } else {
      this.setC1(false);
      this.setReg(this.phys(i), this.regSE[s]!, this.regHi[s]!, this.regLo[s]!);
    }
    if (popAfter) this.pop();
  }
  private fstp80(addr: number): void {
    const s = this.phys(0);
    let se: number, hi: number, lo: number;
    if (this.tagEmpty[s]) {
      this.setC1(false);
      if (!this.masked(X87_SW_IE)) { this.raise(X87_SW_IE | X87_SW_SF); return; }
      se = INDEF_SE; hi = INDEF_HI; lo = 0;
    } else { se = this.regSE[s]!; hi = this.regHi[s]!; lo = this.regLo[s]!; }
    this.bus.write32(addr, lo);
    this.bus.write32(addr + 4, hi);
    this.bus.write16(addr + 8, se);
    if (this.tagEmpty[s]) this.raise(X87_SW_IE | X87_SW_SF); else this.setC1(false);
    this.pop();
  }

  /** Converts ST0 to m32/m64 real in R (R.lo for f32, R.hi:R.lo for f64); returns flags or -1 for no store. */
  private convertST0ToReal(fmt: number): number {
    const s = this.phys(0);
    const se = this.regSE[s]!, hi = this.regHi[s]!, lo = this.regLo[s]!;
    const c = classify(se, hi, lo);
    const sign = se >>> 15;
    const f32 = fmt === FMT_F32;
    R.up = false;
    R.noStore = false;
    switch (c) {
      case CLS_ZERO:
        if (f32) R.lo = (sign << 31) >>> 0; else { R.hi = (sign << 31) >>> 0; R.lo = 0; }
        return 0;
      case CLS_INF:
        if (f32) R.lo = ((sign << 31) | 0x7f800000) >>> 0; else { R.hi = ((sign << 31) | 0x7ff00000) >>> 0; R.lo = 0; }
        return 0;
      case CLS_QNAN: case CLS_SNAN:
        if (f32) R.lo = ((sign << 31) | 0x7fc00000 | ((hi >>> 8) & 0x7fffff)) >>> 0;
        else { R.hi = ((sign << 31) | 0x7ff80000 | ((hi >>> 11) & 0xfffff)) >>> 0; R.lo = ((hi << 21) | (lo >>> 11)) >>> 0; }
        return c === CLS_SNAN ? X87_SW_IE : 0;
      case CLS_UNSUPPORTED:
        if (f32) R.lo = 0xffc00000; else { R.hi = 0xfff80000; R.lo = 0; }
        return X87_SW_IE;
      default: {
        const e = se & 0x7fff;
        if (c === CLS_NORMAL && (f32 ? toF32Fast(se, hi, lo, this.rc) : toF64Fast(se, hi, lo, this.rc))) {
          R.hi = FR.hi; R.lo = FR.lo; R.up = FR.up;
          return FR.flags;
        }
        roundPack(sign, sig64(hi, lo), (e === 0 ? 1 : e) - 16383 - 63, false, fmt, f32 ? 24 : 53, this.rc,
          this.masked(X87_SW_UE), this.masked(X87_SW_OE), false);
        return R.flags; // no #D on stores (measured)
      }
    }
  }

  private fstReal(fmt: number, addr: number, popAfter: boolean): void {
    const s = this.phys(0);
    if (this.tagEmpty[s]) {
      this.setC1(false);
      this.raise(X87_SW_IE | X87_SW_SF);
      if (!this.masked(X87_SW_IE)) return;
      if (fmt === FMT_F32) this.bus.write32(addr, 0xffc00000);
      else { this.bus.write32(addr, 0); this.bus.write32(addr + 4, 0xfff80000); }
      if (popAfter) this.pop();
      return;
    }
    const flags = this.convertST0ToReal(fmt);
    const noStore = R.noStore || (flags & (X87_SW_IE | X87_SW_DE) & ~this.cw) !== 0;
    if (!noStore) {
      if (fmt === FMT_F32) this.bus.write32(addr, R.lo);
      else { this.bus.write32(addr, R.lo); this.bus.write32(addr + 4, R.hi); }
    }
    this.setC1(R.up && !noStore);
    this.raise(flags);
    if (popAfter && !noStore) this.pop();
  }

  /** Rounds ST0 to an integer magnitude under RC: returns [sign, magnitude] via fields. */
  private intSign = 0;
  private intMag = 0n;
  private intInexact = false;
  private intUp = false;
  private roundToInt(se: number, hi: number, lo: number, rc: number): void {
    const sign = se >>> 15;
    const e = se & 0x7fff;
    const m = sig64(hi, lo);
    const q = (e === 0 ? 1 : e) - 16383 - 63;
    this.intSign = sign;
    if (q >= 0) { this.intMag = m << BigInt(q); this.intInexact = false; this.intUp = false; return; }
    const sh = -q;
    let kept: bigint, rem: bigint, half: bigint;
    if (sh > 66) { kept = 0n; rem = m === 0n ? 0n : 1n; half = 2n; }
    else { kept = m >> BigInt(sh); rem = m & ((1n << BigInt(sh)) - 1n); half = 1n << BigInt(sh - 1); }
    this.intInexact = rem !== 0n;
    let inc = false;
    if (rem !== 0n) {
      if (rc === RC_NEAREST) inc = rem > half || (rem === half && (kept & 1n) === 1n);
      else if (rc === RC_DOWN) inc = sign === 1;
      else if (rc === RC_UP) inc = sign === 0;
    }
    this.intMag = inc ? kept + 1n : kept;
    this.intUp = inc;
  }

  /** Integer magnitude (limbs) of ST0 rounded under RC, for FIST: returns false when >= 2^64. */
  private iHi = 0;
  private iLo = 0;
  private roundToIntLimbs(se: number, hi: number, lo: number, rc: number): boolean {
    const E = se & 0x7fff;
    const e = (E === 0 ? 1 : E) - 16383;
    const sign = se >>> 15;
    let kh = 0, kl = 0, half = false, rest = false;
    if (e >= 64) return false;
    if (e === 63) { kh = hi; kl = lo; }
    else if (e < 0) {
      half = e === -1 && (hi & 0x80000000) !== 0;
      rest = e === -1 ? ((hi & 0x7fffffff) | lo) !== 0 : (hi | lo) !== 0;
    } else {
      const s = 63 - e; // 1..63
      if (s < 32) {
        kh = hi >>> s; kl = ((lo >>> s) | (hi << (32 - s))) >>> 0;
        half = ((lo >>> (s - 1)) & 1) !== 0; rest = s > 1 && (lo & ((1 << (s - 1)) - 1)) !== 0;
      } else if (s === 32) {
        kl = hi; half = (lo & 0x80000000) !== 0; rest = (lo & 0x7fffffff) !== 0;
      } else {
        const t = s - 32;
        kl = hi >>> t; half = ((hi >>> (t - 1)) & 1) !== 0; rest = lo !== 0 || (t > 1 && (hi & ((1 << (t - 1)) - 1)) !== 0);
      }
    }
    const inexact = half || rest;
    let inc = false;
    if (inexact) {
      if (rc === RC_NEAREST) inc = half && (rest || (kl & 1) === 1);
      else if (rc === RC_DOWN) inc = sign === 1;
      else if (rc === RC_UP) inc = sign === 0;
    }
    if (inc) { kl = kl + 1; if (kl > 0xffffffff) { kl = 0; kh = kh + 1; } }
    this.iHi = kh >>> 0; this.iLo = kl >>> 0; this.intSign = sign; this.intInexact = inexact; this.intUp = inc;
    return true;
  }

  private fistStore(bits: number, addr: number, popAfter: boolean): void {
    const s = this.phys(0);
    let lo = 0, hi = 0;
    let flags = 0;
    let up = false;
    if (this.tagEmpty[s]) {
      flags = X87_SW_IE | X87_SW_SF;
      hi = bits === 64 ? 0x80000000 : 0; lo = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
    } else {
      const se = this.regSE[s]!, rh = this.regHi[s]!, rl = this.regLo[s]!;
      const c = classify(se, rh, rl);
      let invalid = c === CLS_INF || c === CLS_QNAN || c === CLS_SNAN || c === CLS_UNSUPPORTED;
      if (!invalid) {
        if (!this.roundToIntLimbs(se, rh, rl, this.rc)) invalid = true;
        else {
          const mh = this.iHi, ml = this.iLo, neg = this.intSign === 1;
          // range: [-2^(bits-1), 2^(bits-1) - 1]
          if (bits === 64) invalid = neg ? mh > 0x80000000 || (mh === 0x80000000 && ml !== 0) : mh >= 0x80000000;
          else if (mh !== 0) invalid = true;
          else { const lim = bits === 32 ? 0x80000000 : 0x8000; invalid = neg ? ml > lim : ml >= lim; }
          if (!invalid) {
            if (neg && (mh | ml) !== 0) { lo = (~ml + 1) >>> 0; hi = (~mh + (lo === 0 ? 1 : 0)) >>> 0; }
            else { lo = ml; hi = mh; }
            if (this.intInexact) flags |= X87_SW_PE;
            up = this.intUp;
          }
        }
      }
      if (invalid) {
        flags = X87_SW_IE;
        hi = bits === 64 ? 0x80000000 : 0; lo = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
        up = false;
      }
    }
    const noStore = (flags & X87_SW_IE & ~this.cw) !== 0;
    if (!noStore) {
      if (bits === 16) this.bus.write16(addr, lo & 0xffff);
      else { this.bus.write32(addr, lo); if (bits === 64) this.bus.write32(addr + 4, hi); }
    }
    this.setC1(up && !noStore && (flags & X87_SW_SF) === 0);
    this.raise(flags);
    if (popAfter && !noStore) this.pop();
  }

  private fbstp(addr: number): void {
    const s = this.phys(0);
    let flags = 0;
    let digits = 0n;
    let sign = 0;
    let invalid = false;
    let up = false;
    if (this.tagEmpty[s]) { flags = X87_SW_IE | X87_SW_SF; invalid = true; }
    else {
      const se = this.regSE[s]!, rh = this.regHi[s]!, rl = this.regLo[s]!;
      const c = classify(se, rh, rl);
      if (c === CLS_INF || c === CLS_QNAN || c === CLS_SNAN || c === CLS_UNSUPPORTED) { invalid = true; flags = X87_SW_IE; }
      else {
        this.roundToInt(se, rh, rl, this.rc);
        if (this.intMag >= 1000000000000000000n) { invalid = true; flags = (flags & X87_SW_DE) | X87_SW_IE; }
        else { digits = this.intMag; sign = this.intSign; if (this.intInexact) flags |= X87_SW_PE; up = this.intUp; }
      }
    }
    const noStore = (flags & (X87_SW_IE | X87_SW_DE) & ~this.cw) !== 0;
    if (!noStore) {
      if (invalid) {
        this.bus.write32(addr, 0); this.bus.write32(addr + 4, 0xc0000000); this.bus.write16(addr + 8, 0xffff);
      } else {
        // 18 packed digits, low digit first
        let v = digits;
        const b = [0, 0, 0, 0, 0, 0, 0, 0, 0];
        for (let i = 0; i < 9; i++) { const d = Number(v % 100n); v /= 100n; b[i] = ((d / 10) | 0) << 4 | (d % 10); }
        this.bus.write32(addr, b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24));
        this.bus.write32(addr + 4, b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24));
        this.bus.write16(addr + 8, b[8]! | (sign << 15));
      }
    }
    this.setC1(up && !noStore && !invalid);
    this.raise(flags);
    if (!noStore) this.pop();
  }

  // ---- arithmetic ----

  private arithReg(reg: number, i: number, dest: number, popAfter: boolean): void {
    const pi = this.phys(i);
    if (this.tagEmpty[pi] || this.tagEmpty[this.phys(0)]) {
      if (this.underflow()) { this.setIndef(dest); if (popAfter) this.pop(); }
      return;
    }
    const se = this.regSE[pi]!, hi = this.regHi[pi]!, lo = this.regLo[pi]!;
    this.arith(reg, 0, se, hi, lo, classify(se, hi, lo), dest, popAfter);
  }

  /**
   * x = ST(a), y = (ySE, yHi, yLo, yCls). reg selects the operation with the
   * x87's operand order: 0 add, 1 mul, 4 x-y, 5 y-x, 6 x/y, 7 y/x.
   */
  private arith(reg: number, a: number, ySE: number, yHi: number, yLo: number, yCls: number, dest: number, popAfter: boolean): void {
    const pa = this.phys(a);
    if (this.tagEmpty[pa]) {
      if (this.underflow()) { this.setIndef(dest); if (popAfter) this.pop(); }
      return;
    }
    const xSE = this.regSE[pa]!, xHi = this.regHi[pa]!, xLo = this.regLo[pa]!;
    const xCls = classify(xSE, xHi, xLo);
    this.setC1(false);
    // operand order of the operation: first f, second g
    const rev = reg === 5 || reg === 7;
    const fSE = rev ? ySE : xSE, fHi = rev ? yHi : xHi, fLo = rev ? yLo : xLo, fCls = rev ? yCls : xCls;
    const gSE = rev ? xSE : ySE, gHi = rev ? xHi : yHi, gLo = rev ? xLo : yLo, gCls = rev ? xCls : yCls;
    if (xCls === CLS_UNSUPPORTED || yCls === CLS_UNSUPPORTED) { this.invalidResult(dest, popAfter); return; }
    if (X87.isNaNCls(xCls) || X87.isNaNCls(yCls)) {
      const inv = xCls === CLS_SNAN || yCls === CLS_SNAN;
      if (inv) { this.raise(X87_SW_IE); if (!this.masked(X87_SW_IE)) return; }
      this.nanResult(xSE, xHi, xLo, xCls, ySE, yHi, yLo, yCls);
      this.setReg(dest, R.se, R.hi, R.lo);
      if (popAfter) this.pop();
      return;
    }
    let flags = 0;
    if (xCls === CLS_DENORMAL || yCls === CLS_DENORMAL) {
      flags = X87_SW_DE;
    }
    const fs = fSE >>> 15, gs = gSE >>> 15;
    const op = reg === 0 ? 0 : reg === 1 ? 1 : reg === 4 || reg === 5 ? 2 : 3;
    // special operands
    const fInf = fCls === CLS_INF, gInf = gCls === CLS_INF, fZero = fCls === CLS_ZERO, gZero = gCls === CLS_ZERO;
    let rs = 0;
    let special = 0; // 0 none, 1 inf, 2 zero, 3 invalid, 4 copy f, 5 copy g (possibly negated)
    let gNeg = false;
    switch (op) {
      case 0: case 2: {
        const gsEff = op === 2 ? gs ^ 1 : gs;
        if (fInf && gInf) { if (fs !== gsEff) special = 3; else { special = 1; rs = fs; } }
        else if (fInf) { special = 1; rs = fs; }
        else if (gInf) { special = 1; rs = gsEff; }
        else if (fZero && gZero) { special = 2; rs = fs === gsEff ? fs : this.rc === RC_DOWN ? 1 : 0; }
        else if (fZero) { special = 5; gNeg = op === 2; }
        else if (gZero) special = 4;
        break;
      }
      case 1:
        rs = fs ^ gs;
        if ((fInf && gZero) || (fZero && gInf)) special = 3;
        else if (fInf || gInf) special = 1;
        else if (fZero || gZero) special = 2;
        break;
      default:
        rs = fs ^ gs;
        if ((fInf && gInf) || (fZero && gZero)) special = 3;
        else if (fInf) special = 1;
        else if (gInf) special = 2;
        else if (gZero) { special = 1; flags = X87_SW_ZE; }
        else if (fZero) special = 2;
        break;
    }
    if (special === 3) { this.invalidResult(dest, popAfter); return; }
    if (flags) {
      this.raise(flags);
      if (flags & ~this.cw & (X87_SW_DE | X87_SW_ZE)) return;
    }
    if (special === 1) { this.setReg(dest, (rs << 15) | 0x7fff, 0x80000000, 0); if (popAfter) this.pop(); return; }
    if (special === 2) { this.setReg(dest, rs << 15, 0, 0); if (popAfter) this.pop(); return; }
    const pc = this.pc, rc = this.rc;
    if (special === 0 && fCls === CLS_NORMAL && gCls === CLS_NORMAL) {
      let ok: boolean;
      switch (op) {
        case 0: ok = addFast(fSE, fHi, fLo, gSE, gHi, gLo, pc, rc); break;
        case 2: ok = addFast(fSE, fHi, fLo, gSE ^ 0x8000, gHi, gLo, pc, rc); break;
        case 1: ok = mulFast(fSE, fHi, fLo, gSE, gHi, gLo, pc, rc); break;
        default: ok = divFast(fSE, fHi, fLo, gSE, gHi, gLo, pc, rc); break;
      }
      if (ok) {
        this.setReg(dest, FR.se, FR.hi, FR.lo);
        this.setC1(FR.up);
        if (FR.flags) this.raise(FR.flags);
        if (popAfter) this.pop();
        return;
      }
    }
    const fE = fSE & 0x7fff, gE = gSE & 0x7fff;
    const fm = sig64(fHi, fLo), gm = sig64(gHi, gLo);
    const fq = (fE === 0 ? 1 : fE) - 16383 - 63, gq = (gE === 0 ? 1 : gE) - 16383 - 63;
    if (special === 4) { roundPack(fs, fm, fq, false, FMT_EXT, pc, rc, this.masked(X87_SW_UE), this.masked(X87_SW_OE), true); }
    else if (special === 5) { roundPack(gNeg ? gs ^ 1 : gs, gm, gq, false, FMT_EXT, pc, rc, this.masked(X87_SW_UE), this.masked(X87_SW_OE), true); }
    else {
      switch (op) {
        case 0: exactAdd(fs, fm, fq, gs, gm, gq, rc); break;
        case 2: exactAdd(fs, fm, fq, gs ^ 1, gm, gq, rc); break;
        case 1: exactMul(fs, fm, fq, gs, gm, gq); break;
        default: exactDiv(fs, fm, fq, gs, gm, gq); break;
      }
      roundPack(X.sign, X.m, X.q, X.sticky, FMT_EXT, pc, rc, this.masked(X87_SW_UE), this.masked(X87_SW_OE), true);
    }
    this.setReg(dest, R.se, R.hi, R.lo);
    this.setC1(R.up);
    this.raise(R.flags);
    if (popAfter) this.pop();
  }

  private invalidResult(dest: number, popAfter: boolean): void {
    this.raise(X87_SW_IE);
    if (!this.masked(X87_SW_IE)) return;
    this.setIndef(dest);
    if (popAfter) this.pop();
  }

  // ---- compares ----

  private compareReg(i: number, kind: number, toEflags: boolean): void {
    const pi = this.phys(i);
    if (this.tagEmpty[pi]) {
      this.setCompareResult(7, toEflags);
      this.aborted = !this.underflow();
      return;
    }
    const se = this.regSE[pi]!, hi = this.regHi[pi]!, lo = this.regLo[pi]!;
    this.compare(se, hi, lo, classify(se, hi, lo), kind === 1, toEflags);
  }

  /** result: 0 greater, 1 less, 2 equal, 7 unordered. */
  private setCompareResult(res: number, toEflags: boolean): void {
    if (toEflags) {
      this.eflagsWritten = true;
      this.eflagsOut = res === 0 ? 0 : res === 1 ? X87_EFLAGS_CF : res === 2 ? X87_EFLAGS_ZF : X87_EFLAGS_ZF | X87_EFLAGS_PF | X87_EFLAGS_CF;
      return;
    }
    this.sw &= ~(X87_SW_C0 | X87_SW_C2 | X87_SW_C3);
    if (res === 1) this.sw |= X87_SW_C0;
    else if (res === 2) this.sw |= X87_SW_C3;
    else if (res === 7) this.sw |= X87_SW_C0 | X87_SW_C2 | X87_SW_C3;
  }

  /**
   * Compares ST0 with y. unorderedOk: FUCOM family (only SNaN is invalid).
   * The condition codes (or EFLAGS) are written even when the exception is
   * unmasked; an unmasked exception only suppresses the pop (this.aborted).
   */
  private compare(ySE: number, yHi: number, yLo: number, yCls: number, unorderedOk: boolean, toEflags: boolean): void {
    this.aborted = false;
    const pa = this.phys(0);
    if (this.tagEmpty[pa]) {
      this.setCompareResult(7, toEflags);
      this.aborted = !this.underflow();
      return;
    }
    const xSE = this.regSE[pa]!, xHi = this.regHi[pa]!, xLo = this.regLo[pa]!;
    const xCls = classify(xSE, xHi, xLo);
    this.setC1(false);
    if (xCls === CLS_UNSUPPORTED || yCls === CLS_UNSUPPORTED || X87.isNaNCls(xCls) || X87.isNaNCls(yCls)) {
      const inv = xCls === CLS_UNSUPPORTED || yCls === CLS_UNSUPPORTED || xCls === CLS_SNAN || yCls === CLS_SNAN || !unorderedOk;
      this.setCompareResult(7, toEflags);
      if (inv) { this.raise(X87_SW_IE); if (!this.masked(X87_SW_IE)) this.aborted = true; }
      return;
    }
    this.setCompareResult(X87.compareValues(xSE, xHi, xLo, xCls, ySE, yHi, yLo, yCls), toEflags);
    if (xCls === CLS_DENORMAL || yCls === CLS_DENORMAL) {
      this.raise(X87_SW_DE);
      if (!this.masked(X87_SW_DE)) this.aborted = true;
    }
  }

  /** Orders two non-NaN supported values: 0 x > y, 1 x < y, 2 equal. */
  static compareValues(xSE: number, xHi: number, xLo: number, xCls: number, ySE: number, yHi: number, yLo: number, yCls: number): number {
    const xz = xCls === CLS_ZERO, yz = yCls === CLS_ZERO;
    if (xz && yz) return 2;
    const xs = xSE >>> 15, ys = ySE >>> 15;
    if (xz) return ys ? 0 : 1;
    if (yz) return xs ? 1 : 0;
    if (xs !== ys) return xs ? 1 : 0;
    // same sign: compare magnitudes (pseudo-denormals have exponent 1)
    let xe = xSE & 0x7fff, ye = ySE & 0x7fff;
    if (xe === 0) xe = 1;
    if (ye === 0) ye = 1;
    let mag: number;
    if (xe === ye && (xHi & yHi & 0x80000000) !== 0) {
      // same exponent, both normalised: compare the significands as limbs
      if (xHi !== yHi) mag = xHi >>> 0 > yHi >>> 0 ? 1 : -1;
      else mag = xLo === yLo ? 0 : xLo >>> 0 > yLo >>> 0 ? 1 : -1;
      if (mag === 0) return 2;
      return (mag > 0) !== (xs === 1) ? 0 : 1;
    }
    // normalised comparison via exponent of the leading bit
    const xl = xe - (xHi ? Math.clz32(xHi) : 32 + Math.clz32(xLo));
    const yl = ye - (yHi ? Math.clz32(yHi) : 32 + Math.clz32(yLo));
    if (xl !== yl) mag = xl > yl ? 1 : -1;
    else {
      const xm = sig64(xHi, xLo) << BigInt(xe - xl), ym = sig64(yHi, yLo) << BigInt(ye - yl);
      mag = xm === ym ? 0 : xm > ym ? 1 : -1;
    }
    if (mag === 0) return 2;
    return (mag > 0) !== (xs === 1) ? 0 : 1;
  }

  private fcmov(reg: number, negate: boolean, i: number): void {
    const f = this.eflagsIn;
    let cond: boolean;
    switch (reg) {
      case 0: cond = (f & X87_EFLAGS_CF) !== 0; break;
      case 1: cond = (f & X87_EFLAGS_ZF) !== 0; break;
      case 2: cond = (f & (X87_EFLAGS_CF | X87_EFLAGS_ZF)) !== 0; break;
      default: cond = (f & X87_EFLAGS_PF) !== 0; break;
    }
    if (negate) cond = !cond;
    const pi = this.phys(i), p0 = this.phys(0);
    if (this.tagEmpty[pi] || this.tagEmpty[p0]) {
      if (this.underflow()) this.setIndef(p0);
      return;
    }
    this.setC1(false);
    if (cond) this.setReg(p0, this.regSE[pi]!, this.regHi[pi]!, this.regLo[pi]!);
  }

  private fxch(i: number): void {
    const p0 = this.phys(0), pi = this.phys(i);
    if (this.tagEmpty[p0] || this.tagEmpty[pi]) {
      if (!this.underflow()) return;
      if (this.tagEmpty[p0]) this.setIndef(p0);
      if (this.tagEmpty[pi]) this.setIndef(pi);
    } else this.setC1(false);
    const se = this.regSE[p0]!, hi = this.regHi[p0]!, lo = this.regLo[p0]!;
    this.setReg(p0, this.regSE[pi]!, this.regHi[pi]!, this.regLo[pi]!);
    this.setReg(pi, se, hi, lo);
  }

  // ---- one-operand ----

  /** Common prologue of ST0 -> ST0 operations. Returns the class, or -1 when finished. */
  private unaryPrologue(): number {
    const p = this.phys(0);
    if (this.tagEmpty[p]) {
      if (this.underflow()) this.setIndef(p);
      return -1;
    }
    this.setC1(false);
    const se = this.regSE[p]!, hi = this.regHi[p]!, lo = this.regLo[p]!;
    const c = classify(se, hi, lo);
    if (c === CLS_UNSUPPORTED) { this.invalidResult(p, false); return -1; }
    if (c === CLS_SNAN) { this.raise(X87_SW_IE); if (this.masked(X87_SW_IE)) this.regHi[p] = (hi | 0x40000000) >>> 0; return -1; }
    if (c === CLS_QNAN) return -1;
    return c;
  }

  private fchsAbs(chs: boolean): void {
    const p = this.phys(0);
    if (this.tagEmpty[p]) { if (this.underflow()) this.setIndef(p); return; }
    this.setC1(false);
    this.regSE[p] = chs ? this.regSE[p]! ^ 0x8000 : this.regSE[p]! & 0x7fff;
  }

  private ftst(): void {
    const p = this.phys(0);
    if (this.tagEmpty[p]) { this.setCompareResult(7, false); this.underflow(); return; }
    this.compare(0, 0, 0, CLS_ZERO, false, false);
  }

  private fxam(): void {
    const p = this.phys(0);
    const se = this.regSE[p]!;
    this.sw &= ~SW_COND;
    if (se & 0x8000) this.sw |= X87_SW_C1;
    if (this.tagEmpty[p]) { this.sw |= X87_SW_C3 | X87_SW_C0; return; }
    switch (classify(se, this.regHi[p]!, this.regLo[p]!)) {
      case CLS_UNSUPPORTED: break;
      case CLS_QNAN: case CLS_SNAN: this.sw |= X87_SW_C0; break;
      case CLS_NORMAL: this.sw |= X87_SW_C2; break;
      case CLS_INF: this.sw |= X87_SW_C2 | X87_SW_C0; break;
      case CLS_ZERO: this.sw |= X87_SW_C3; break;
      default: this.sw |= X87_SW_C3 | X87_SW_C2; break;
    }
  }

  private fsqrt(): void {
    const c = this.unaryPrologue();
    if (c < 0) return;
    const p = this.phys(0);
    const se = this.regSE[p]!;
    const sign = se >>> 15;
    if (c === CLS_ZERO) return;
    if (sign) { this.invalidResult(p, false); return; }
    if (c === CLS_INF) return;
    if (c === CLS_DENORMAL) { this.raise(X87_SW_DE); if (!this.masked(X87_SW_DE)) return; }
    if (c === CLS_NORMAL && sqrtFast(se, this.regHi[p]!, this.regLo[p]!, this.pc, this.rc)) {
      this.setReg(p, FR.se, FR.hi, FR.lo);
      this.setC1(FR.up);
      if (FR.flags) this.raise(FR.flags);
      return;
    }
    const e = se & 0x7fff;
    exactSqrt(sig64(this.regHi[p]!, this.regLo[p]!), (e === 0 ? 1 : e) - 16383 - 63);
    roundPack(0, X.m, X.q, X.sticky, FMT_EXT, this.pc, this.rc, this.masked(X87_SW_UE), this.masked(X87_SW_OE), true);
    this.setReg(p, R.se, R.hi, R.lo);
    this.setC1(R.up);
    this.raise(R.flags);
  }

  private frndint(): void {
    const c = this.unaryPrologue();
    if (c < 0 || c === CLS_ZERO || c === CLS_INF) return;
    const p = this.phys(0);
    if (c === CLS_DENORMAL) { this.raise(X87_SW_DE); if (!this.masked(X87_SW_DE)) return; }
    const se = this.regSE[p]!;
    if (c === CLS_NORMAL && (se & 0x7fff) - 16383 < 63) {
      // limb path: round to an integer magnitude (< 2^63 + 1), then renormalise
      this.roundToIntLimbs(se, this.regHi[p]!, this.regLo[p]!, this.rc);
      let h = this.iHi, l = this.iLo;
      if ((h | l) === 0) this.setReg(p, se & 0x8000, 0, 0);
      else {
        let e = 16383 + 63;
        if (h === 0) { h = l; l = 0; e -= 32; }
        const lz = Math.clz32(h);
        if (lz) { h = ((h << lz) | (l >>> (32 - lz))) >>> 0; l = (l << lz) >>> 0; e -= lz; }
        this.setReg(p, (se & 0x8000) | e, h, l);
      }
      this.setC1(this.intUp);
      if (this.intInexact) this.raise(X87_SW_PE);
      return;
    }
    this.roundToInt(se, this.regHi[p]!, this.regLo[p]!, this.rc);
    if (!this.intInexact) {
      // already an integer (exponents >= 63) or exact: value unchanged except normalising denormals
      if ((se & 0x7fff) - 16383 >= 63) return;
    }
    roundPack(this.intSign, this.intMag, 0, false, FMT_EXT, 64, this.rc, true, true, true);
    this.setReg(p, R.se, R.hi, R.lo);
    this.setC1(this.intUp);
    if (this.intInexact) this.raise(X87_SW_PE);
  }

  private fscale(): void {
    const p0 = this.phys(0), p1 = this.phys(1);
    if (this.tagEmpty[p0] || this.tagEmpty[p1]) { if (this.underflow()) this.setIndef(p0); return; }
    this.setC1(false);
    const xSE = this.regSE[p0]!, xHi = this.regHi[p0]!, xLo = this.regLo[p0]!;
    const ySE = this.regSE[p1]!, yHi = this.regHi[p1]!, yLo = this.regLo[p1]!;
    const xc = classify(xSE, xHi, xLo), yc = classify(ySE, yHi, yLo);
    if (xc === CLS_UNSUPPORTED || yc === CLS_UNSUPPORTED) { this.invalidResult(p0, false); return; }
    if (X87.isNaNCls(xc) || X87.isNaNCls(yc)) {
      if (xc === CLS_SNAN || yc === CLS_SNAN) { this.raise(X87_SW_IE); if (!this.masked(X87_SW_IE)) return; }
      this.nanResult(xSE, xHi, xLo, xc, ySE, yHi, yLo, yc);
      this.setReg(p0, R.se, R.hi, R.lo);
      return;
    }
    const ys = ySE >>> 15;
    if (yc === CLS_INF) {
      if (xc === CLS_ZERO && !ys) { this.invalidResult(p0, false); return; }
      if (xc === CLS_INF && ys) { this.invalidResult(p0, false); return; }
      if (xc === CLS_DENORMAL) { this.raise(X87_SW_DE); if (!this.masked(X87_SW_DE)) return; }
      if (xc === CLS_ZERO || xc === CLS_INF) return;
      if (ys) this.setReg(p0, xSE & 0x8000, 0, 0);
      else this.setReg(p0, (xSE & 0x8000) | 0x7fff, 0x80000000, 0);
      return;
    }
    if (xc === CLS_DENORMAL || yc === CLS_DENORMAL) { this.raise(X87_SW_DE); if (!this.masked(X87_SW_DE)) return; }
    if (xc === CLS_ZERO || xc === CLS_INF) return;
    // n = trunc(ST1), clamped (anything beyond +-2^17 over/underflows the same way)
    let n = 0;
    if (yc !== CLS_ZERO) {
      const ye = (ySE & 0x7fff) === 0 ? 1 : ySE & 0x7fff;
      const ex = ye - 16383;
      if (ex >= 17) n = 0x40000;
      else if (ex >= 0) n = Number(sig64(yHi, yLo) >> BigInt(63 - ex));
      if (ys) n = -n;
    }
    const xe = xSE & 0x7fff;
    roundPack(xSE >>> 15, sig64(xHi, xLo), (xe === 0 ? 1 : xe) - 16383 - 63 + n, false, FMT_EXT, 64, this.rc, this.masked(X87_SW_UE), this.masked(X87_SW_OE), true);
    this.setReg(p0, R.se, R.hi, R.lo);
    this.setC1(R.up);
    this.raise(R.flags);
  }

  private fxtract(): void {
    const p0 = this.phys(0);
    if (this.tagEmpty[p0]) { if (this.underflow()) { this.setIndef(p0); this.push(); this.setIndef(this.top); } return; }
    if (!this.tagEmpty[(this.top - 1) & 7]) {
      if (this.overflow()) { this.setIndef(p0); this.push(); this.setIndef(this.top); }
      return;
    }
    this.setC1(false);
    const se = this.regSE[p0]!, hi = this.regHi[p0]!, lo = this.regLo[p0]!;
    const c = classify(se, hi, lo);
    if (c === CLS_UNSUPPORTED) { this.raise(X87_SW_IE); if (this.masked(X87_SW_IE)) { this.setIndef(p0); this.push(); this.setIndef(this.top); } return; }
    if (c === CLS_QNAN || c === CLS_SNAN) {
      if (c === CLS_SNAN) { this.raise(X87_SW_IE); if (!this.masked(X87_SW_IE)) return; }
      const qh = (hi | 0x40000000) >>> 0;
      this.setReg(p0, se, qh, lo); this.push(); this.setReg(this.top, se, qh, lo);
      return;
    }
    if (c === CLS_ZERO) {
      this.raise(X87_SW_ZE);
      if (!this.masked(X87_SW_ZE)) return;
      this.setReg(p0, 0xffff, 0x80000000, 0); this.push(); this.setReg(this.top, se, 0, 0);
      return;
    }
    if (c === CLS_INF) { this.setReg(p0, 0x7fff, 0x80000000, 0); this.push(); this.setReg(this.top, se, hi, lo); return; }
    if (c === CLS_DENORMAL) { this.raise(X87_SW_DE); if (!this.masked(X87_SW_DE)) return; }
    let e = se & 0x7fff;
    if (e === 0) e = 1;
    let m = sig64(hi, lo);
    const L = bitLength(m);
    m <<= BigInt(64 - L);
    const exponent = e - 16383 - (64 - L);
    // exponent as an exact extended value
    this.loadInt(exponent, exponent < 0 ? -1 : 0);
    this.setReg(p0, this.bSE, this.bHi, this.bLo);
    this.push();
    this.setReg(this.top, (se & 0x8000) | 16383, Number(m >> 32n), Number(m & 0xffffffffn));
  }

  private fprem(ieee: boolean): void {
    const p0 = this.phys(0), p1 = this.phys(1);
    if (this.tagEmpty[p0] || this.tagEmpty[p1]) { this.sw &= ~X87_SW_C2; if (this.underflow()) this.setIndef(p0); return; }
    this.setC1(false);
    const xSE = this.regSE[p0]!, xHi = this.regHi[p0]!, xLo = this.regLo[p0]!;
    const ySE = this.regSE[p1]!, yHi = this.regHi[p1]!, yLo = this.regLo[p1]!;
    const xc = classify(xSE, xHi, xLo), yc = classify(ySE, yHi, yLo);
    if (xc === CLS_UNSUPPORTED || yc === CLS_UNSUPPORTED) { this.sw &= ~X87_SW_C2; this.invalidResult(p0, false); return; }
    if (X87.isNaNCls(xc) || X87.isNaNCls(yc)) {
      this.sw &= ~X87_SW_C2;
      if (xc === CLS_SNAN || yc === CLS_SNAN) { this.raise(X87_SW_IE); if (!this.masked(X87_SW_IE)) return; }
      this.nanResult(xSE, xHi, xLo, xc, ySE, yHi, yLo, yc);
      this.setReg(p0, R.se, R.hi, R.lo);
      return;
    }
    if (xc === CLS_INF || yc === CLS_ZERO) { this.sw &= ~X87_SW_C2; this.invalidResult(p0, false); return; }
    if (xc === CLS_DENORMAL || yc === CLS_DENORMAL) { this.raise(X87_SW_DE); if (!this.masked(X87_SW_DE)) { this.sw &= ~X87_SW_C2; return; } }
    this.sw &= ~(X87_SW_C0 | X87_SW_C1 | X87_SW_C2 | X87_SW_C3);
    if (xc === CLS_ZERO) return;
    if (yc === CLS_INF) {
      // the result is ST0; a pseudo-denormal comes back with exponent 1 (measured)
      if ((xSE & 0x7fff) === 0 && xHi & 0x80000000) this.regSE[p0] = xSE | 1;
      return;
    }
    const xe0 = (xSE & 0x7fff) || 1, ye0 = (ySE & 0x7fff) || 1;
    let xm = sig64(xHi, xLo), ym = sig64(yHi, yLo);
    let xq = xe0 - 16383 - 63, yq = ye0 - 16383 - 63;
    // normalise
    const xl = bitLength(xm), yl = bitLength(ym);
    xm <<= BigInt(64 - xl); xq -= 64 - xl; ym <<= BigInt(64 - yl); yq -= 64 - yl;
    const d = xq - yq; // difference of the normalised exponents
    const xs = xSE >>> 15;
    if (d < 0) {
      // |x| < |y|: quotient 0 (FPREM1 may round to 1 if |x| > |y|/2)
      if (ieee && d === -1 && xm > ym) {
        // |x| > |y|/2: the quotient rounds to 1, remainder x - sign(x)|y|
        exactAdd(xs, xm, xq, xs ^ 1, ym, yq, RC_NEAREST);
        roundPack(X.sign, X.m, X.q, false, FMT_EXT, 64, RC_NEAREST, true, true, true);
        this.setReg(p0, R.se, R.hi, R.lo);
        this.sw |= X87_SW_C1;
      } else {
        // result is x itself (normalised if denormal); UE if tiny and unmasked
        roundPack(xs, xm, xq, false, FMT_EXT, 64, RC_NEAREST, this.masked(X87_SW_UE), true, true);
        this.setReg(p0, R.se, R.hi, R.lo);
        this.raise(R.flags & X87_SW_UE);
      }
      return;
    }
    let rem: bigint;
    let qbits: bigint;
    if (d >= 64) {
      // partial remainder: reduce the exponent difference by N = 32 + (D - 32) mod 32
      // (the host's choice, measured), leaving C2 = 1 for the caller's loop
      const n = d - (32 + ((d - 32) & 31));
      // reduce by y * 2^n, integer quotient truncated
      const num = xm << BigInt(d - n);
      qbits = num / ym;
      rem = num - qbits * ym;
      // remainder value = rem * 2^(yq + n)
      roundPack(xs, rem, yq + n, false, FMT_EXT, 64, RC_NEAREST, true, true, true);
      this.setReg(p0, R.se, R.hi, R.lo);
      this.sw |= X87_SW_C2;
      return;
    }
    const num = xm << BigInt(d);
    qbits = num / ym;
    rem = num - qbits * ym;
    let rsign = xs;
    if (ieee) {
      const twice = rem * 2n;
      if (twice > ym || (twice === ym && (qbits & 1n) === 1n)) { qbits += 1n; rem = ym - rem; rsign ^= 1; }
    }
    if (rem === 0n) this.setReg(p0, xs << 15, 0, 0);
    else {
      roundPack(rsign, rem, yq, false, FMT_EXT, 64, RC_NEAREST, this.masked(X87_SW_UE), true, true);
      this.setReg(p0, R.se, R.hi, R.lo);
      this.raise(R.flags & X87_SW_UE);
    }
    const qn = Number(qbits & 7n);
    if (qn & 1) this.sw |= X87_SW_C1;
    if (qn & 2) this.sw |= X87_SW_C3;
    if (qn & 4) this.sw |= X87_SW_C0;
  }

  // ---- control instructions with memory operands ----

  private execControlMem(op: number, reg: number, addr: number, o32: boolean, pm: boolean): void {
    if (op === 1) {
      switch (reg) {
        case 4: this.fldenv(addr, o32, pm); return;
        case 5: this.cw = (this.bus.read16(addr) & 0x1f3f) | 0x40; this.updateES(); return;
        case 6: this.fstenv(addr, o32, pm); this.cw |= 0x3f; return;
        default: this.bus.write16(addr, this.cw); return;
      }
    }
    switch (reg) {
      case 4: this.frstor(addr, o32, pm); return;
      case 6: this.fsave(addr, o32, pm); return;
      default: this.bus.write16(addr, this.statusWord()); return;
    }
  }

  private updateES(): void {
    if (this.sw & ~this.cw & 0x3f) this.sw |= X87_SW_ES | X87_SW_B;
    else this.sw &= ~(X87_SW_ES | X87_SW_B);
  }

  private fstenv(addr: number, o32: boolean, pm: boolean): void {
    const b = this.bus;
    const tw = this.tagWord();
    if (o32) {
      b.write32(addr, 0xffff0000 | this.cw);
      b.write32(addr + 4, 0xffff0000 | this.statusWord());
      b.write32(addr + 8, 0xffff0000 | tw);
      if (pm) {
        b.write32(addr + 12, this.fip);
        b.write32(addr + 16, (this.fop << 16) | this.fcs);
        b.write32(addr + 20, this.fdp);
        b.write32(addr + 24, 0xffff0000 | this.fds);
      } else {
        const fip = (this.fip + (this.fcs << 4)) >>> 0, fdp = (this.fdp + (this.fds << 4)) >>> 0;
        b.write32(addr + 12, 0xffff0000 | (fip & 0xffff));
        b.write32(addr + 16, ((fip >>> 16) << 12 | this.fop) >>> 0);
        b.write32(addr + 20, 0xffff0000 | (fdp & 0xffff));
        b.write32(addr + 24, ((fdp >>> 16) << 12) >>> 0);
      }
    } else {
      b.write16(addr, this.cw);
      b.write16(addr + 2, this.statusWord());
      b.write16(addr + 4, tw);
      if (pm) {
        b.write16(addr + 6, this.fip & 0xffff);
        b.write16(addr + 8, this.fcs);
        b.write16(addr + 10, this.fdp & 0xffff);
        b.write16(addr + 12, this.fds);
      } else {
        const fip = (this.fip + (this.fcs << 4)) >>> 0, fdp = (this.fdp + (this.fds << 4)) >>> 0;
        b.write16(addr + 6, fip & 0xffff);
        b.write16(addr + 8, (((fip >>> 16) & 0xf) << 12) | this.fop);
        b.write16(addr + 10, fdp & 0xffff);
        b.write16(addr + 12, ((fdp >>> 16) & 0xf) << 12);
      }
    }
  }

  /** Reads an environment into locals then commits (a fault leaves the state unchanged). */
  private envCw = 0;
  private envSw = 0;
  private envTw = 0;
  private envFip = 0;
  private envFcs = 0;
  private envFop = 0;
  private envFdp = 0;
  private envFds = 0;
  private readEnv(addr: number, o32: boolean, pm: boolean): void {
    const b = this.bus;
    if (o32) {
      this.envCw = (b.read16(addr) & 0x1f3f) | 0x40;
      this.envSw = b.read16(addr + 4) & 0xffff;
      this.envTw = b.read16(addr + 8) & 0xffff;
      if (pm) {
        this.envFip = b.read32(addr + 12) >>> 0;
        const w = b.read32(addr + 16) >>> 0;
        this.envFcs = w & 0xffff; this.envFop = (w >>> 16) & 0x7ff;
        this.envFdp = b.read32(addr + 20) >>> 0;
        this.envFds = b.read16(addr + 24) & 0xffff;
      } else {
        const ipLo = b.read16(addr + 12) & 0xffff, w = b.read32(addr + 16) >>> 0;
        const dpLo = b.read16(addr + 20) & 0xffff, w2 = b.read32(addr + 24) >>> 0;
        this.envFip = (ipLo | ((w >>> 12) << 16)) >>> 0; this.envFop = w & 0x7ff; this.envFcs = 0;
        this.envFdp = (dpLo | ((w2 >>> 12) << 16)) >>> 0; this.envFds = 0;
      }
    } else {
      this.envCw = (b.read16(addr) & 0x1f3f) | 0x40;
      this.envSw = b.read16(addr + 2) & 0xffff;
      this.envTw = b.read16(addr + 4) & 0xffff;
      if (pm) {
        this.envFip = b.read16(addr + 6) & 0xffff; this.envFcs = b.read16(addr + 8) & 0xffff; this.envFop = 0; // no FOP in this format
        this.envFdp = b.read16(addr + 10) & 0xffff; this.envFds = b.read16(addr + 12) & 0xffff;
      } else {
        const w = b.read16(addr + 8) & 0xffff;
        this.envFip = (b.read16(addr + 6) & 0xffff) | ((w >>> 12) << 16); this.envFop = w & 0x7ff; this.envFcs = 0;
        this.envFdp = (b.read16(addr + 10) & 0xffff) | (((b.read16(addr + 12) & 0xffff) >>> 12) << 16); this.envFds = 0;
      }
    }
  }
  private commitEnv(): void {
    this.cw = this.envCw;
    this.sw = this.envSw & ~0x3800;
    this.top = (this.envSw >> 11) & 7;
    for (let p = 0; p < 8; p++) this.tagEmpty[p] = ((this.envTw >> (p * 2)) & 3) === 3 ? 1 : 0;
    this.fip = this.envFip; this.fcs = this.envFcs; this.fop = this.envFop; this.fdp = this.envFdp; this.fds = this.envFds;
    this.updateES();
  }
  private fldenv(addr: number, o32: boolean, pm: boolean): void {
    this.readEnv(addr, o32, pm);
    this.commitEnv();
  }
  private readonly rstLo = new Uint32Array(8);
  private readonly rstHi = new Uint32Array(8);
  private readonly rstSE = new Uint16Array(8);
  private frstor(addr: number, o32: boolean, pm: boolean): void {
    this.readEnv(addr, o32, pm);
    const base = addr + (o32 ? 28 : 14);
    for (let i = 0; i < 8; i++) {
      const a = base + i * 10;
      this.rstLo[i] = this.bus.read32(a) >>> 0; this.rstHi[i] = this.bus.read32(a + 4) >>> 0; this.rstSE[i] = this.bus.read16(a + 8) & 0xffff;
    }
    this.commitEnv();
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7;
      this.regLo[p] = this.rstLo[i]!; this.regHi[p] = this.rstHi[i]!; this.regSE[p] = this.rstSE[i]!;
    }
  }
  private fsave(addr: number, o32: boolean, pm: boolean): void {
    // registers first into the image's tail, then the environment; all writes precede the reinitialisation
    const base = addr + (o32 ? 28 : 14);
    this.fstenv(addr, o32, pm);
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7;
      const a = base + i * 10;
      this.bus.write32(a, this.regLo[p]!); this.bus.write32(a + 4, this.regHi[p]!); this.bus.write16(a + 8, this.regSE[p]!);
    }
    this.fninit();
  }

  // ---- transcendental support (used by transcendental.ts) ----

  /** @internal */ get tos(): number { return this.top; }
  /** @internal */ rcBits(): number { return this.rc; }
  /** @internal */ isMasked(flag: number): boolean { return this.masked(flag); }
  /** @internal */ raiseFlags(flags: number): void { this.raise(flags); }
  /** @internal */ setC1Flag(on: boolean): void { this.setC1(on); }
  /** @internal */ setC2Flag(on: boolean): void { if (on) this.sw |= X87_SW_C2; else this.sw &= ~X87_SW_C2; }
  /** @internal */ writePhys(p: number, se: number, hi: number, lo: number): void { this.setReg(p, se, hi, lo); }
  /** @internal */ writeIndef(p: number): void { this.setIndef(p); }
  /** @internal */ doPush(): number { return this.push(); }
  /** @internal */ doPop(): void { this.pop(); }
  /** @internal */ stackUnderflow(): boolean { return this.underflow(); }
  /** @internal */ stackOverflow(): boolean { return this.overflow(); }
  /** @internal */ nan2(aSE: number, aHi: number, aLo: number, aCls: number, bSE: number, bHi: number, bLo: number, bCls: number): void { this.nanResult(aSE, aHi, aLo, aCls, bSE, bHi, bLo, bCls); }

  // ---- snapshot ----

  saveState(): StateRecord {
    return {
      regLo: this.regLo.slice(), regHi: this.regHi.slice(), regSE: this.regSE.slice(), tagEmpty: this.tagEmpty.slice(),
      cw: this.cw, sw: this.sw, top: this.top, fip: this.fip, fcs: this.fcs, fop: this.fop, fdp: this.fdp, fds: this.fds,
    };
  }
  loadState(s: StateRecord, _version: number): void {
    intoTyped(s, 'regLo', this.regLo);
    intoTyped(s, 'regHi', this.regHi);
    intoTyped(s, 'regSE', this.regSE);
    intoTyped(s, 'tagEmpty', this.tagEmpty);
    this.cw = num(s, 'cw') & 0xffff;
    this.sw = num(s, 'sw') & 0xffff;
    this.top = num(s, 'top') & 7;
    this.fip = num(s, 'fip') >>> 0;
    this.fcs = num(s, 'fcs') & 0xffff;
    this.fop = num(s, 'fop') & 0x7ff;
    this.fdp = num(s, 'fdp') >>> 0;
    this.fds = num(s, 'fds') & 0xffff;
  }
}
