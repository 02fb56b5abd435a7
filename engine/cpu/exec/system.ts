/**
 * System instructions: descriptor tables, control/debug registers, task
 * switching, CPUID/RDTSC/MSRs, SYSENTER/SYSEXIT, HLT, and the P6 profile.
 */
import type { Cpu } from '../cpu.js';
import { Cpu as CpuClass } from '../cpu.js';
import { FLAG, EXC, SEG, R8, CR0, CR4 } from '../flags.js';
import { LOG } from '../../log.js';
import type { H } from './ops.js';
import { setResultFlags } from './alu.js';
import { MSR_P6 } from '../pmu.js';

/** CPUID leaf 1 EDX: FPU DE PSE TSC MSR CX8 SEP PGE CMOV. */
export const CPUID_FEATURES = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 11) | (1 << 13) | (1 << 15);
/** Family 6, model 3, stepping 3 (a Pentium II class part). */
export const CPUID_SIGNATURE = 0x0633;

export const MSR = { TSC: 0x10, BIOS_SIGN_ID: 0x8b, SYSENTER_CS: 0x174, SYSENTER_ESP: 0x175, SYSENTER_EIP: 0x176 } as const;

function needCpl0(c: Cpu): void {
  if (c.protectedMode && c.cpl !== 0) c.fault(EXC.GP, 0);
}

export function hlt(c: Cpu): void {
  needCpl0(c);
  c.halt();
}

export function cpuid(c: Cpu): void {
  const leaf = c.reg32[0]! >>> 0;
  const r = c.reg32;
  switch (leaf) {
    case 0:
      r[0] = 2;
      r[3] = 0x756e6547; // "Genu"
      r[2] = 0x49656e69; // "ineI"
      r[1] = 0x6c65746e; // "ntel"
      break;
    case 1:
      r[0] = CPUID_SIGNATURE;
      r[3] = 0;
      r[1] = 0;
      r[2] = CPUID_FEATURES;
      break;
    case 2:
      r[0] = 0x03020101;
      r[3] = 0;
      r[1] = 0;
      r[2] = 0x0c040843;
      break;
    default:
      // leaves above the maximum return the highest basic leaf's data (Intel behaviour)
      r[0] = 0x03020101;
      r[3] = 0;
      r[1] = 0;
      r[2] = 0x0c040843;
  }
}

export function rdtsc(c: Cpu): void {
  if (c.cr4 & CR4.TSD && c.protectedMode && c.cpl !== 0) c.fault(EXC.GP, 0);
  const t = c.readTsc();
  c.reg32[0] = t % 4294967296;
  c.reg32[2] = Math.floor(t / 4294967296);
}

const reportedMsr = new Set<number>();
function badMsr(c: Cpu, msr: number, what: string): never {
  if (!reportedMsr.has(msr)) {
    reportedMsr.add(msr);
    c.logger.log(LOG.INFO, 'cpu', `${what} of MSR 0x${(msr >>> 0).toString(16)} -> #GP (not on this P6 profile)`);
  }
  return c.fault(EXC.GP, 0);
}

export function rdmsr(c: Cpu): void {
  needCpl0(c);
  const msr = c.reg32[1]! >>> 0;
  let lo = 0;
  let hi = 0;
  switch (msr) {
    case MSR.TSC: {
      const t = c.readTsc();
      lo = t % 4294967296;
      hi = Math.floor(t / 4294967296);
      break;
    }
    case MSR.BIOS_SIGN_ID:
      // IA32_BIOS_SIGN_ID (SDM vol. 3A 10.11.7): CPUID leaf 1 latches the
      // microcode update revision into EDX; no update is loaded, so it reads 0.
      break;
    case MSR.SYSENTER_CS:
      lo = c.sysenterCs;
      break;
    case MSR.SYSENTER_ESP:
      lo = c.sysenterEsp;
      break;
    case MSR.SYSENTER_EIP:
      lo = c.sysenterEip;
      break;
    case MSR_P6.PERFEVTSEL0:
    case MSR_P6.PERFEVTSEL1:
      lo = c.pmu.evtSel[msr - MSR_P6.PERFEVTSEL0]!;
      break;
    case MSR_P6.PERFCTR0:
    case MSR_P6.PERFCTR1: {
      const v = c.pmu.readCounter(c, msr - MSR_P6.PERFCTR0);
      lo = v % 4294967296;
      hi = Math.floor(v / 4294967296);
      break;
    }
    default:
      badMsr(c, msr, 'RDMSR');
  }
  c.reg32[0] = lo;
  c.reg32[2] = hi;
}

export function wrmsr(c: Cpu): void {
  needCpl0(c);
  const msr = c.reg32[1]! >>> 0;
  const lo = c.reg32[0]! >>> 0;
  const hi = c.reg32[2]! >>> 0;
  switch (msr) {
    case MSR.TSC: {
      // P6: writing the TSC sets the low 32 bits and clears the high ones
      const now = c.readTsc() - c.tscOffset;
      c.tscOffset = lo - now;
      void hi;
      break;
    }
    case MSR.BIOS_SIGN_ID:
      // software clears it before CPUID to read the update revision: accepted, nothing to keep
      break;
    case MSR.SYSENTER_CS:
      c.sysenterCs = lo & 0xffff;
      break;
    case MSR.SYSENTER_ESP:
      c.sysenterEsp = lo | 0;
      break;
    case MSR.SYSENTER_EIP:
      c.sysenterEip = lo | 0;
      break;
    case MSR_P6.PERFEVTSEL0:
    case MSR_P6.PERFEVTSEL1:
      if (!c.pmu.writeEvtSel(c, msr - MSR_P6.PERFEVTSEL0, lo, hi)) c.fault(EXC.GP, 0);
      break;
    case MSR_P6.PERFCTR0:
    case MSR_P6.PERFCTR1:
      c.pmu.writeCounter(c, msr - MSR_P6.PERFCTR0, lo);
      break;
    default:
      badMsr(c, msr, 'WRMSR');
  }
}

/**
 * RDPMC: PerfCtr0/1 (ECX = 0/1, else #GP), 40 bits in EDX[7:0]:EAX. At CPL > 0
 * (v86 included) only with CR4.PCE.
 */
export function rdpmc(c: Cpu): void {
  if (c.protectedMode && c.cpl !== 0 && !(c.cr4 & CR4.PCE)) c.fault(EXC.GP, 0);
  const k = c.reg32[1]! >>> 0;
  if (k > 1) c.fault(EXC.GP, 0);
  const v = c.pmu.readCounter(c, k);
  c.reg32[0] = v % 4294967296;
  c.reg32[2] = Math.floor(v / 4294967296);
}

export function sysenter(c: Cpu): void {
  if (!c.protectedMode) c.fault(EXC.GP, 0);
  const cs = c.sysenterCs & 0xfffc;
  if (cs === 0) c.fault(EXC.GP, 0);
  c.flags &= ~(FLAG.VM | FLAG.IF | FLAG.RF);
  c.setSegCache(SEG.CS, cs, 0, -1, 0xc09b);
  c.setCpl(0);
  c.modeChanged();
  c.setSegCache(SEG.SS, (cs + 8) & 0xfffc, 0, -1, 0xc093);
  c.reg32[4] = c.sysenterEsp;
  c.eip = c.sysenterEip;
  c.eventsPending = true;
}

export function sysexit(c: Cpu): void {
  const cs = c.sysenterCs & 0xfffc;
  if (!c.protectedMode || c.cpl !== 0 || cs === 0) c.fault(EXC.GP, 0);
  c.setSegCache(SEG.CS, (cs + 16) | 3, 0, -1, 0xc0fb);
  c.setCpl(3);
  c.setSegCache(SEG.SS, (cs + 24) | 3, 0, -1, 0xc0f3);
  c.reg32[4] = c.reg32[1]!;
  c.eip = c.reg32[2]!;
}

// ---------------------------------------------------------------------------
// Control and debug registers
// ---------------------------------------------------------------------------

export function movCr(toCr: boolean): H {
  return (c) => {
    const m = c.fetch8();
    if (c.v86 || (c.protectedMode && c.cpl !== 0)) c.fault(EXC.GP, 0);
    const n = (m >> 3) & 7;
    const r = m & 7;
    if (toCr) {
      const v = c.reg32[r]!;
      switch (n) {
        case 0:
          c.writeCr0(v);
          break;
        case 2:
          c.cr2 = v;
          break;
        case 3:
          c.writeCr3(v);
          break;
        case 4:
          c.writeCr4(v);
          break;
        default:
          c.undefinedOpcode(0x0f22);
      }
    } else {
      let v: number;
      switch (n) {
        case 0: v = c.cr0; break;
        case 2: v = c.cr2; break;
        case 3: v = c.cr3; break;
        case 4: v = c.cr4; break;
        default: return c.undefinedOpcode(0x0f20);
      }
      c.reg32[r] = v;
    }
  };
}

export function movDr(toDr: boolean): H {
  return (c) => {
    const m = c.fetch8();
    if (c.v86 || (c.protectedMode && c.cpl !== 0)) c.fault(EXC.GP, 0);
    let n = (m >> 3) & 7;
    const r = m & 7;
    if (n === 4 || n === 5) {
      if (c.cr4 & CR4.DE) c.undefinedOpcode(0x0f21);
      n += 2;
    }
    if (c.dr[7]! & 0x2000) {
      // general detect
      c.dr[6] = c.dr[6]! | 0x2000;
      c.dr[7] = c.dr[7]! & ~0x2000;
      c.fault(EXC.DB, -1);
    }
    if (toDr) {
      let v = c.reg32[r]!;
      if (n === 6) v = (v & 0xe00f) | (0xffff0ff0 | 0);
      else if (n === 7) v = (v & ~0xd800) | 0x400;
      c.dr[n] = v;
      if (n === 7 || n < 4) c.updateDebugState();
    } else c.reg32[r] = c.dr[n]!;
  };
}

export function clts(c: Cpu): void {
  needCpl0(c);
  c.cr0 &= ~CR0.TS;
}
export function invd(c: Cpu): void {
  needCpl0(c);
}
export function invlpg(c: Cpu): void {
  const m = c.modrm;
  if (m >= 0xc0) c.undefinedOpcode(0x0f01);
  const off = c.ea(m);
  needCpl0(c);
  c.invlpg((c.segBase[c.eaSeg]! + off) | 0);
}
export function ud2(c: Cpu): void {
  c.fault(EXC.UD, -1);
}

// ---------------------------------------------------------------------------
// Group 7 (0F 01): SGDT SIDT LGDT LIDT SMSW LMSW INVLPG
// ---------------------------------------------------------------------------

export function grp7(c: Cpu): void {
  const m = c.modrm;
  const op = (m >> 3) & 7;
  switch (op) {
    case 0:
    case 1: {
      if (m >= 0xc0) c.undefinedOpcode(0x0f01);
      const off = c.ea(m);
      const seg = c.eaSeg;
      const base = op === 0 ? c.gdtrBase : c.idtrBase;
      const limit = op === 0 ? c.gdtrLimit : c.idtrLimit;
      c.linW(seg, off, 6);
      c.wr16(seg, off, limit);
      // 16-bit operand size stores 24 bits of base and 0 (P6: the high byte is written as 0)
      c.wr32(seg, c.asz32 ? (off + 2) | 0 : (off + 2) & 0xffff, c.osz ? base : base & 0xffffff);
      return;
    }
    case 2:
    case 3: {
      if (m >= 0xc0) c.undefinedOpcode(0x0f01);
      const off = c.ea(m);
      needCpl0(c);
      if (c.v86) c.fault(EXC.GP, 0);
      const limit = c.rd16(c.eaSeg, off);
      let base = c.rd32(c.eaSeg, c.asz32 ? (off + 2) | 0 : (off + 2) & 0xffff);
      if (!c.osz) base &= 0xffffff;
      if (op === 2) {
        c.gdtrBase = base;
        c.gdtrLimit = limit;
      } else {
        c.idtrBase = base;
        c.idtrLimit = limit;
      }
      return;
    }
    case 4: {
      const v = c.cr0 & 0xffff;
      if (m >= 0xc0) {
        if (c.osz) c.reg32[m & 7] = c.cr0;
        else c.reg16[(m & 7) << 1] = v;
      } else {
        const off = c.ea(m);
        c.wr16(c.eaSeg, off, v);
      }
      return;
    }
    case 6: {
      let v: number;
      if (m >= 0xc0) v = c.reg16[(m & 7) << 1]!;
      else {
        const off = c.ea(m);
        v = c.rd16(c.eaSeg, off);
      }
      needCpl0(c);
      if (c.v86) c.fault(EXC.GP, 0);
      // LMSW cannot clear PE
      const pe = (c.cr0 | v) & CR0.PE;
      c.writeCr0((c.cr0 & ~0xf) | (v & 0xe) | pe);
      return;
    }
    case 7:
      invlpg(c);
      return;
    default:
      c.undefinedOpcode(0x0f01);
  }
}

// ---------------------------------------------------------------------------
// Group 6 (0F 00): SLDT STR LLDT LTR VERR VERW
// ---------------------------------------------------------------------------

function readEw(c: Cpu): number {
  const m = c.modrm;
  if (m >= 0xc0) return c.reg16[(m & 7) << 1]!;
  const off = c.ea(m);
  return c.rd16(c.eaSeg, off);
}
function writeEwStore(c: Cpu, v: number): void {
  const m = c.modrm;
  if (m >= 0xc0) {
    if (c.osz) c.reg32[m & 7] = v;
    else c.reg16[(m & 7) << 1] = v;
  } else {
    const off = c.ea(m);
    c.wr16(c.eaSeg, off, v);
  }
}

export function grp6(c: Cpu): void {
  if (!c.pmode) c.undefinedOpcode(0x0f00);
  const op = (c.modrm >> 3) & 7;
  switch (op) {
    case 0:
      writeEwStore(c, c.ldtr);
      return;
    case 1:
      writeEwStore(c, c.tr);
      return;
    case 2: {
      const sel = readEw(c);
      needCpl0(c);
      if ((sel & 0xfffc) === 0) {
        c.ldtr = sel;
        c.ldtrBase = 0;
        c.ldtrLimit = 0;
        return;
      }
      if (sel & 4) c.fault(EXC.GP, sel & 0xfffc);
      if (!c.readDescriptor(sel)) c.fault(EXC.GP, sel & 0xfffc);
      if ((c.descHi & 0x1f00) !== 0x0200) c.fault(EXC.GP, sel & 0xfffc);
      if (!(c.descHi & 0x8000)) c.fault(EXC.NP, sel & 0xfffc);
      c.ldtr = sel;
      c.ldtrBase = CpuClass.descBase(c.descLo, c.descHi);
      c.ldtrLimit = CpuClass.descLimit(c.descLo, c.descHi);
      return;
    }
    case 3: {
      const sel = readEw(c);
      needCpl0(c);
      if ((sel & 0xfffc) === 0 || sel & 4) c.fault(EXC.GP, sel & 0xfffc);
      if (!c.readDescriptor(sel)) c.fault(EXC.GP, sel & 0xfffc);
      const type = (c.descHi >>> 8) & 0x1f;
      if (type !== 0x01 && type !== 0x09) c.fault(EXC.GP, sel & 0xfffc);
      if (!(c.descHi & 0x8000)) c.fault(EXC.NP, sel & 0xfffc);
      // mark busy
      c.descHi |= 0x200;
      c.sysWrite8((c.descAddr(sel) + 5) | 0, (c.descHi >>> 8) & 0xff);
      c.tr = sel;
      c.trBase = CpuClass.descBase(c.descLo, c.descHi);
      c.trLimit = CpuClass.descLimit(c.descLo, c.descHi);
      c.trAttr = (c.descHi >>> 8) & 0xf0ff;
      return;
    }
    case 4:
    case 5: {
      const sel = readEw(c);
      let ok = false;
      if ((sel & 0xfffc) !== 0 && c.readDescriptor(sel) && c.descHi & 0x1000) {
        const hi = c.descHi;
        const dpl = (hi >>> 13) & 3;
        const code = (hi & 0x800) !== 0;
        const conforming = code && (hi & 0x400) !== 0;
        const privOk = conforming || (dpl >= c.cpl && dpl >= (sel & 3));
        if (op === 4) ok = privOk && (!code || (hi & 0x200) !== 0);
        else ok = privOk && !code && (hi & 0x200) !== 0;
      }
      c.getEflags();
      if (ok) c.flags |= FLAG.ZF;
      else c.flags &= ~FLAG.ZF;
      return;
    }
    default:
      c.undefinedOpcode(0x0f00);
  }
}

/** LAR / LSL */
export function larLsl(isLsl: boolean, is32: boolean): H {
  return (c) => {
    if (!c.pmode) c.undefinedOpcode(isLsl ? 0x0f03 : 0x0f02);
    c.modrm = c.fetch8();
    const sel = readEw(c);
    let ok = false;
    if ((sel & 0xfffc) !== 0 && c.readDescriptor(sel)) {
      const hi = c.descHi;
      const dpl = (hi >>> 13) & 3;
      const type = (hi >>> 8) & 0x1f;
      const conformingCode = (type & 0x1c) === 0x1c;
      const sysOk = isLsl ? [1, 2, 3, 9, 11].includes(type) : [1, 2, 3, 4, 5, 9, 11, 12].includes(type);
      const valid = type & 0x10 ? true : sysOk;
      if (valid && (conformingCode || (dpl >= c.cpl && dpl >= (sel & 3)))) ok = true;
    }
    c.getEflags();
    if (!ok) {
      c.flags &= ~FLAG.ZF;
      return;
    }
    c.flags |= FLAG.ZF;
    const d = (c.modrm >> 3) & 7;
    const v = isLsl ? CpuClass.descLimit(c.descLo, c.descHi) : c.descHi & 0x00f0ff00;
    if (is32) c.reg32[d] = v;
    else c.reg16[d << 1] = v;
  };
}

export function arpl(c: Cpu): void {
  if (!c.pmode) c.undefinedOpcode(0x63);
  const m = c.fetch8();
  const src = c.reg16[((m >> 3) & 7) << 1]!;
  let dst: number;
  let off = 0;
  if (m >= 0xc0) dst = c.reg16[(m & 7) << 1]!;
  else {
    off = c.ea(m);
    dst = c.rmw16(c.eaSeg, off);
  }
  c.getEflags();
  if ((dst & 3) < (src & 3)) {
    const r = (dst & ~3) | (src & 3);
    if (m >= 0xc0) c.reg16[(m & 7) << 1] = r;
    else c.wrRmw16(r);
    c.flags |= FLAG.ZF;
  } else {
    if (m < 0xc0) c.wrRmw16(dst);
    c.flags &= ~FLAG.ZF;
  }
}

// ---------------------------------------------------------------------------
// Task switch (32-bit and 16-bit TSS)
// ---------------------------------------------------------------------------

/** how: 0 JMP, 1 CALL, 2 INT/exception (like CALL), 3 IRET. */
export function taskSwitch(c: Cpu, sel: number, how: number, retEip: number, err: number): void {
  const idx = sel & 0xfffc;
  if (sel & 4) c.fault(EXC.GP, idx);
  if (!c.readDescriptor(sel)) c.fault(EXC.GP, idx);
  const nlo = c.descLo;
  const nhi = c.descHi;
  const ntype = (nhi >>> 8) & 0x1f;
  const busy = (ntype & 2) !== 0;
  if (ntype !== 0x01 && ntype !== 0x03 && ntype !== 0x09 && ntype !== 0x0b) c.fault(EXC.GP, idx);
  if (how === 3 ? !busy : busy) c.fault(EXC.GP, idx);
  if (!(nhi & 0x8000)) c.fault(EXC.NP, idx);
  const nbase = CpuClass.descBase(nlo, nhi);
  const nlimit = CpuClass.descLimit(nlo, nhi) >>> 0;
  const n32 = (ntype & 8) !== 0;
  if (nlimit < (n32 ? 0x67 : 0x2b)) c.fault(EXC.TS, idx);
  // save the current state into the old TSS
  const obase = c.trBase;
  const o32 = (c.trAttr & 8) !== 0;
  let flags = c.getEflags();
  if (how === 3) flags &= ~FLAG.NT;
  const r = c.reg32;
  if (o32) {
    c.sysWrite32((obase + 0x20) | 0, retEip);
    c.sysWrite32((obase + 0x24) | 0, flags);
    for (let i = 0; i < 8; i++) c.sysWrite32((obase + 0x28 + i * 4) | 0, r[i]!);
    for (let s = 0; s < 6; s++) c.sysWrite16((obase + 0x48 + s * 4) | 0, c.segSel[s]!);
  } else {
    c.sysWrite16((obase + 0x0e) | 0, retEip);
    c.sysWrite16((obase + 0x10) | 0, flags);
    for (let i = 0; i < 8; i++) c.sysWrite16((obase + 0x12 + i * 2) | 0, r[i]!);
    for (let s = 0; s < 4; s++) c.sysWrite16((obase + 0x22 + s * 2) | 0, c.segSel[s]!);
  }
  // old task: clear busy for JMP/IRET
  if (how === 0 || how === 3) {
    const a = (c.gdtrBase + (c.tr & 0xfff8) + 5) | 0;
    c.sysWrite8(a, c.sysRead8(a) & ~2);
  }
  // read the new state
  let neip: number, nflags: number, ncr3 = 0, nldt: number;
  const nregs = c.scratch8;
  const nsegs = [0, 0, 0, 0, 0, 0];
  if (n32) {
    ncr3 = c.sysRead32((nbase + 0x1c) | 0);
    neip = c.sysRead32((nbase + 0x20) | 0);
    nflags = c.sysRead32((nbase + 0x24) | 0);
    for (let i = 0; i < 8; i++) nregs[i] = c.sysRead32((nbase + 0x28 + i * 4) | 0);
    for (let s = 0; s < 6; s++) nsegs[s] = c.sysRead16((nbase + 0x48 + s * 4) | 0);
    nldt = c.sysRead16((nbase + 0x60) | 0);
    const t = c.sysRead16((nbase + 0x64) | 0);
    if (t & 1) c.pendingDbTrap |= 0x8000;
  } else {
    neip = c.sysRead16((nbase + 0x0e) | 0);
    nflags = c.sysRead16((nbase + 0x10) | 0);
    for (let i = 0; i < 8; i++) nregs[i] = c.sysRead16((nbase + 0x12 + i * 2) | 0) | 0xffff0000;
    for (let s = 0; s < 4; s++) nsegs[s] = c.sysRead16((nbase + 0x22 + s * 2) | 0);
    nldt = c.sysRead16((nbase + 0x2a) | 0);
  }
  // back link and NT
  if (how === 1 || how === 2) {
    c.sysWrite16(nbase, c.tr);
    nflags |= FLAG.NT;
  }
  if (how !== 3) {
    const a = (c.gdtrBase + idx + 5) | 0;
    c.sysWrite8(a, c.sysRead8(a) | 2);
  }
  c.tr = sel;
  c.trBase = nbase;
  c.trLimit = nlimit;
  c.trAttr = ((nhi >>> 8) & 0xf0ff) | 0x200;
  c.cr0 |= CR0.TS;
  if (n32 && c.cr0 & CR0.PG) c.writeCr3(ncr3);
  // registers
  for (let i = 0; i < 8; i++) {
    if (n32) r[i] = nregs[i]!;
    else c.reg16[i << 1] = nregs[i]!;
  }
  c.eip = neip;
  c.setEflags(n32 ? nflags : (c.flags & 0xffff0000) | (nflags & 0xffff));
  // LDT
  if ((nldt & 0xfffc) === 0) {
    c.ldtr = nldt;
    c.ldtrBase = c.ldtrLimit = 0;
  } else {
    if (nldt & 4 || !c.readDescriptor(nldt) || (c.descHi & 0x1f00) !== 0x0200) c.fault(EXC.TS, nldt & 0xfffc);
    c.ldtr = nldt;
    c.ldtrBase = CpuClass.descBase(c.descLo, c.descHi);
    c.ldtrLimit = CpuClass.descLimit(c.descLo, c.descHi);
  }
  // segments
  if (c.flags & FLAG.VM) {
    c.setCpl(3);
    c.modeChanged();
    for (let s = 0; s < 6; s++) c.setSegCache(s, nsegs[s]!, nsegs[s]! << 4, 0xffff, 0xf3);
  } else {
    const cpl = nsegs[SEG.CS]! & 3;
    c.setCpl(cpl);
    c.modeChanged();
    for (let s = 0; s < 6; s++) {
      const v = nsegs[s]!;
      if (s === SEG.CS) {
        if ((v & 0xfffc) === 0 || !c.readDescriptor(v) || (c.descHi & 0x1800) !== 0x1800) c.fault(EXC.TS, v & 0xfffc);
        if (!(c.descHi & 0x8000)) c.fault(EXC.NP, v & 0xfffc);
        c.loadDescriptorCache(SEG.CS, v);
      } else if (s === SEG.SS) {
        if ((v & 0xfffc) === 0 || !c.readDescriptor(v)) c.fault(EXC.TS, v & 0xfffc);
        c.loadDescriptorCache(SEG.SS, v);
      } else if ((v & 0xfffc) === 0) c.setSegCache(s, v, 0, 0, 0);
      else {
        if (!c.readDescriptor(v)) c.fault(EXC.TS, v & 0xfffc);
        c.loadDescriptorCache(s, v);
      }
    }
  }
  if (err >= 0) {
    if (n32) c.push32(err);
    else c.push16(err);
  }
  if (c.eip >>> 0 > c.segLimit[SEG.CS]! >>> 0) c.fault(EXC.GP, 0);
  c.eventsPending = true;
}

export function iretTask(c: Cpu): void {
  const link = c.sysRead16(c.trBase);
  taskSwitch(c, link, 3, c.eip, -1);
}

// ---------------------------------------------------------------------------
// Misc
// ---------------------------------------------------------------------------

export function salcLike(c: Cpu): void {
  setResultFlags(c, 0, 7, 0);
  void R8;
}
