/**
 * Control transfer: Jcc, JMP, CALL, RET (near and far, real and protected
 * mode, through call gates), LOOP/JCXZ, INT/INTO/INT3/IRET.
 */
import type { Cpu } from '../cpu.js';
import { FLAG, EXC, SEG, CR0 } from '../flags.js';
import { Cpu as CpuClass } from '../cpu.js';
import type { H } from './ops.js';

/** Near jump to `target` (already masked to the operand size). Outside the CS limit: #GP(0) at the jump. */
export function jumpNear(c: Cpu, target: number): void {
  if (target >>> 0 > c.csFetchHi) c.fault(EXC.GP, 0);
  c.eip = target;
}

export function jcc8(cc: number): H {
  return (c) => {
    const d = (c.fetch8() << 24) >> 24;
    if (c.cond(cc)) jumpNear(c, c.osz ? (c.eip + d) | 0 : (c.eip + d) & 0xffff);
  };
}
export function jccFull(cc: number, is32: boolean): H {
  return (c) => {
    const d = is32 ? c.fetch32() : c.fetch16();
    if (c.cond(cc)) jumpNear(c, is32 ? (c.eip + d) | 0 : (c.eip + d) & 0xffff);
  };
}
export function jmp8(c: Cpu): void {
  const d = (c.fetch8() << 24) >> 24;
  jumpNear(c, c.osz ? (c.eip + d) | 0 : (c.eip + d) & 0xffff);
}
export function jmpFull(is32: boolean): H {
  return (c) => {
    const d = is32 ? c.fetch32() : c.fetch16();
    jumpNear(c, is32 ? (c.eip + d) | 0 : (c.eip + d) & 0xffff);
  };
}
export function callFull(is32: boolean): H {
  return (c) => {
    const d = is32 ? c.fetch32() : c.fetch16();
    const target = is32 ? (c.eip + d) | 0 : (c.eip + d) & 0xffff;
    if (target >>> 0 > c.csFetchHi) c.fault(EXC.GP, 0);
    if (is32) c.push32(c.eip);
    else c.push16(c.eip & 0xffff);
    c.eip = target;
  };
}
export function retNear(withImm: boolean, is32: boolean): H {
  return (c) => {
    const imm = withImm ? c.fetch16() : 0;
    const t = is32 ? c.rd32(SEG.SS, c.spOff(0)) : c.rd16(SEG.SS, c.spOff(0));
    if (t >>> 0 > c.csFetchHi) c.fault(EXC.GP, 0);
    c.setSp(c.spOff((is32 ? 4 : 2) + imm));
    c.eip = t;
  };
}
/** LOOP (kind 0: LOOPNE, 1: LOOPE, 2: LOOP), 3: JCXZ */
export function loop(kind: number): H {
  return (c) => {
    const d = (c.fetch8() << 24) >> 24;
    let take: boolean;
    if (kind === 3) take = c.asz32 ? c.reg32[1] === 0 : c.reg16[2] === 0;
    else {
      let cx: number;
      if (c.asz32) cx = c.reg32[1] = (c.reg32[1]! - 1) | 0;
      else cx = c.reg16[2] = (c.reg16[2]! - 1) & 0xffff;
      take = cx !== 0 && (kind === 2 || (kind === 1 ? c.getZF() : !c.getZF()));
    }
    if (take) jumpNear(c, c.osz ? (c.eip + d) | 0 : (c.eip + d) & 0xffff);
  };
}

// ---------------------------------------------------------------------------
// Near indirect (group 5)
// ---------------------------------------------------------------------------

function readEv(c: Cpu, is32: boolean): number {
  const m = c.modrm;
  if (m >= 0xc0) return is32 ? c.reg32[m & 7]! : c.reg16[(m & 7) << 1]!;
  const off = c.ea(m);
  return is32 ? c.rd32(c.eaSeg, off) : c.rd16(c.eaSeg, off);
}
export function callEv(is32: boolean): H {
  return (c) => {
    const t = readEv(c, is32);
    if (t >>> 0 > c.csFetchHi) c.fault(EXC.GP, 0);
    if (is32) c.push32(c.eip);
    else c.push16(c.eip & 0xffff);
    c.eip = t;
  };
}
export function jmpEv(is32: boolean): H {
  return (c) => jumpNear(c, readEv(c, is32));
}
/** Reads a far pointer m16:16/m16:32 at ModRM memory operand: sets c.farSel, returns the offset. */
function readFarPtr(c: Cpu, is32: boolean, op: number): number {
  const m = c.modrm;
  if (m >= 0xc0) c.undefinedOpcode(op);
  const off = c.ea(m);
  const o = is32 ? c.rd32(c.eaSeg, off) : c.rd16(c.eaSeg, off);
  c.farSel = c.rd16(c.eaSeg, c.asz32 ? (off + (is32 ? 4 : 2)) | 0 : (off + (is32 ? 4 : 2)) & 0xffff);
  return o;
}
export function callEp(is32: boolean): H {
  return (c) => {
    const o = readFarPtr(c, is32, 0xff);
    farCall(c, c.farSel, o, is32);
  };
}
export function jmpEp(is32: boolean): H {
  return (c) => {
    const o = readFarPtr(c, is32, 0xff);
    farJump(c, c.farSel, o, is32);
  };
}
export function callAp(is32: boolean): H {
  return (c) => {
    const o = is32 ? c.fetch32() : c.fetch16();
    const sel = c.fetch16();
    farCall(c, sel, o, is32);
  };
}
export function jmpAp(is32: boolean): H {
  return (c) => {
    const o = is32 ? c.fetch32() : c.fetch16();
    const sel = c.fetch16();
    farJump(c, sel, o, is32);
  };
}
/** LDS/LES/LSS/LFS/LGS */
export function loadFar(seg: number, is32: boolean, op: number): H {
  return (c) => {
    c.modrm = c.fetch8();
    const o = readFarPtr(c, is32, op);
    c.loadSegment(seg, c.farSel);
    const d = (c.modrm >> 3) & 7;
    if (is32) c.reg32[d] = o;
    else c.reg16[d << 1] = o;
    if (seg === SEG.SS) {
      c.inhibitUntil = c.icount + 2;
      c.eventsPending = true;
    }
  };
}

// ---------------------------------------------------------------------------
// Far transfers
// ---------------------------------------------------------------------------

export function farJump(c: Cpu, sel: number, off: number, is32: boolean): void {
  if (!c.pmode) {
    if (!is32) off &= 0xffff;
    if (off >>> 0 > c.segLimit[SEG.CS]! >>> 0 && !c.v86) c.fault(EXC.GP, 0);
    c.loadSegment(SEG.CS, sel);
    c.eip = off;
    return;
  }
  const idx = sel & 0xfffc;
  if (idx === 0) c.fault(EXC.GP, 0);
  if (!c.readDescriptor(sel)) c.fault(EXC.GP, idx);
  const hi = c.descHi;
  const lo = c.descLo;
  const dpl = (hi >>> 13) & 3;
  if (hi & 0x1000) {
    if (!(hi & 0x800)) c.fault(EXC.GP, idx);
    if (hi & 0x400) {
      if (dpl > c.cpl) c.fault(EXC.GP, idx);
    } else if ((sel & 3) > c.cpl || dpl !== c.cpl) c.fault(EXC.GP, idx);
    if (!(hi & 0x8000)) c.fault(EXC.NP, idx);
    const limit = CpuClass.descLimit(lo, hi);
    if (!is32) off &= 0xffff;
    if (off >>> 0 > limit >>> 0) c.fault(EXC.GP, 0);
    c.setAccessed(sel);
    c.loadDescriptorCache(SEG.CS, idx | c.cpl);
    c.eip = off;
    return;
  }
  const type = (hi >>> 8) & 0xf;
  if (type === 0x4 || type === 0xc) {
    // call gate
    if (dpl < c.cpl || dpl < (sel & 3)) c.fault(EXC.GP, idx);
    if (!(hi & 0x8000)) c.fault(EXC.NP, idx);
    const tsel = lo >>> 16;
    const toff = type === 0xc ? (hi & 0xffff0000) | (lo & 0xffff) : lo & 0xffff;
    const tidx = tsel & 0xfffc;
    if (tidx === 0) c.fault(EXC.GP, 0);
    if (!c.readDescriptor(tsel)) c.fault(EXC.GP, tidx);
    const chi = c.descHi;
    const cdpl = (chi >>> 13) & 3;
    if ((chi & 0x1800) !== 0x1800) c.fault(EXC.GP, tidx);
    if (chi & 0x400 ? cdpl > c.cpl : cdpl !== c.cpl) c.fault(EXC.GP, tidx);
    if (!(chi & 0x8000)) c.fault(EXC.NP, tidx);
    if (toff >>> 0 > CpuClass.descLimit(c.descLo, chi) >>> 0) c.fault(EXC.GP, 0);
    c.setAccessed(tsel);
    c.loadDescriptorCache(SEG.CS, tidx | c.cpl);
    c.eip = toff;
    return;
  }
  if (type === 0x5 || type === 0x1 || type === 0x9) {
    if (dpl < c.cpl || dpl < (sel & 3)) c.fault(EXC.GP, idx);
    if (!(hi & 0x8000)) c.fault(EXC.NP, idx);
    if (type === 0x5) c.taskSwitch(lo >>> 16, 0, c.eip, -1);
    else c.taskSwitch(sel, 0, c.eip, -1);
    return;
  }
  c.fault(EXC.GP, idx);
}

export function farCall(c: Cpu, sel: number, off: number, is32: boolean): void {
  if (!c.pmode) {
    if (!is32) off &= 0xffff;
    const n = is32 ? 4 : 2;
    const sp1 = c.spOff(-n);
    const sp2 = c.spOff(-2 * n);
    c.linW(SEG.SS, sp2, 2 * n);
    if (off >>> 0 > c.segLimit[SEG.CS]! >>> 0 && !c.v86) c.fault(EXC.GP, 0);
    if (is32) {
      c.wr32(SEG.SS, sp1, c.segSel[SEG.CS]!);
      c.wr32(SEG.SS, sp2, c.eip);
    } else {
      c.wr16(SEG.SS, sp1, c.segSel[SEG.CS]!);
      c.wr16(SEG.SS, sp2, c.eip);
    }
    c.loadSegment(SEG.CS, sel);
    c.setSp(sp2);
    c.eip = off;
    return;
  }
  const idx = sel & 0xfffc;
  if (idx === 0) c.fault(EXC.GP, 0);
  if (!c.readDescriptor(sel)) c.fault(EXC.GP, idx);
  const hi = c.descHi;
  const lo = c.descLo;
  const dpl = (hi >>> 13) & 3;
  if (hi & 0x1000) {
    if (!(hi & 0x800)) c.fault(EXC.GP, idx);
    if (hi & 0x400) {
      if (dpl > c.cpl) c.fault(EXC.GP, idx);
    } else if ((sel & 3) > c.cpl || dpl !== c.cpl) c.fault(EXC.GP, idx);
    if (!(hi & 0x8000)) c.fault(EXC.NP, idx);
    if (!is32) off &= 0xffff;
    const n = is32 ? 4 : 2;
    const sp2 = c.spOff(-2 * n);
    c.linW(SEG.SS, sp2, 2 * n);
    if (off >>> 0 > CpuClass.descLimit(lo, hi) >>> 0) c.fault(EXC.GP, 0);
    if (is32) {
      c.wr32(SEG.SS, c.spOff(-4), c.segSel[SEG.CS]!);
      c.wr32(SEG.SS, sp2, c.eip);
    } else {
      c.wr16(SEG.SS, c.spOff(-2), c.segSel[SEG.CS]!);
      c.wr16(SEG.SS, sp2, c.eip);
    }
    c.descLo = lo;
    c.descHi = hi;
    c.setAccessed(sel);
    c.loadDescriptorCache(SEG.CS, idx | c.cpl);
    c.setSp(sp2);
    c.eip = off;
    return;
  }
  const type = (hi >>> 8) & 0xf;
  if (type === 0x4 || type === 0xc) {
    callGate(c, sel, lo, hi);
    return;
  }
  if (type === 0x5 || type === 0x1 || type === 0x9) {
    if (dpl < c.cpl || dpl < (sel & 3)) c.fault(EXC.GP, idx);
    if (!(hi & 0x8000)) c.fault(EXC.NP, idx);
    if (type === 0x5) c.taskSwitch(lo >>> 16, 1, c.eip, -1);
    else c.taskSwitch(sel, 1, c.eip, -1);
    return;
  }
  c.fault(EXC.GP, idx);
}

function callGate(c: Cpu, sel: number, lo: number, hi: number): void {
  const idx = sel & 0xfffc;
  const dpl = (hi >>> 13) & 3;
  if (dpl < c.cpl || dpl < (sel & 3)) c.fault(EXC.GP, idx);
  if (!(hi & 0x8000)) c.fault(EXC.NP, idx);
  const gate32 = (hi & 0x800) !== 0;
  const tsel = lo >>> 16;
  const toff = gate32 ? (hi & 0xffff0000) | (lo & 0xffff) : lo & 0xffff;
  const params = hi & 0x1f;
  const tidx = tsel & 0xfffc;
  if (tidx === 0) c.fault(EXC.GP, 0);
  if (!c.readDescriptor(tsel)) c.fault(EXC.GP, tidx);
  const clo = c.descLo;
  const chi = c.descHi;
  const cdpl = (chi >>> 13) & 3;
  if ((chi & 0x1800) !== 0x1800 || cdpl > c.cpl) c.fault(EXC.GP, tidx);
  if (!(chi & 0x8000)) c.fault(EXC.NP, tidx);
  const n = gate32 ? 4 : 2;
  if (!(chi & 0x400) && cdpl < c.cpl) {
    // more privileged: switch stacks, copy parameters
    const { ss, esp } = c.tssStack(cdpl, 0);
    const sidx = ss & 0xfffc;
    if (sidx === 0) c.fault(EXC.TS, 0);
    if (!c.readDescriptor(ss)) c.fault(EXC.TS, sidx);
    const slo = c.descLo;
    const shi = c.descHi;
    if ((ss & 3) !== cdpl || ((shi >>> 13) & 3) !== cdpl || (shi & 0x1a00) !== 0x1200) c.fault(EXC.TS, sidx);
    if (!(shi & 0x8000)) c.fault(EXC.SS, sidx);
    const ssBase = CpuClass.descBase(slo, shi);
    const ss32 = (shi & 0x400000) !== 0;
    const mask = ss32 ? -1 : 0xffff;
    let sp = esp;
    const write = (v: number): void => {
      sp = (sp - n) & mask;
      c.writeLinSlow((ssBase + sp) | 0, n, v, false);
    };
    const oldSs = c.segSel[SEG.SS]!;
    const oldEsp = c.reg32[4]!;
    write(oldSs);
    write(c.stack32 ? oldEsp : oldEsp & 0xffff);
    for (let i = params - 1; i >= 0; i--) {
      const v = n === 4 ? c.rd32(SEG.SS, c.spOff(i * 4)) : c.rd16(SEG.SS, c.spOff(i * 2));
      write(v);
    }
    write(c.segSel[SEG.CS]!);
    write(c.eip);
    c.descLo = clo;
    c.descHi = chi;
    c.setAccessed(tsel);
    c.loadDescriptorCache(SEG.CS, tidx | cdpl);
    c.setCpl(cdpl);
    c.descLo = slo;
    c.descHi = shi;
    c.setAccessed(ss);
    c.loadDescriptorCache(SEG.SS, ss);
    if (ss32) c.reg32[4] = sp;
    else c.reg16[8] = sp;
    c.eip = toff;
    return;
  }
  const sp2 = c.spOff(-2 * n);
  c.linW(SEG.SS, sp2, 2 * n);
  if (n === 4) {
    c.wr32(SEG.SS, c.spOff(-4), c.segSel[SEG.CS]!);
    c.wr32(SEG.SS, sp2, c.eip);
  } else {
    c.wr16(SEG.SS, c.spOff(-2), c.segSel[SEG.CS]!);
    c.wr16(SEG.SS, sp2, c.eip);
  }
  c.descLo = clo;
  c.descHi = chi;
  c.setAccessed(tsel);
  c.loadDescriptorCache(SEG.CS, tidx | c.cpl);
  c.setSp(sp2);
  c.eip = toff;
}

export function retFar(withImm: boolean, is32: boolean): H {
  return (c) => {
    const imm = withImm ? c.fetch16() : 0;
    const n = is32 ? 4 : 2;
    const off = is32 ? c.rd32(SEG.SS, c.spOff(0)) : c.rd16(SEG.SS, c.spOff(0));
    const sel = c.rd16(SEG.SS, c.spOff(n));
    if (!c.pmode) {
      if (off >>> 0 > c.segLimit[SEG.CS]! >>> 0 && !c.v86) c.fault(EXC.GP, 0);
      c.loadSegment(SEG.CS, sel);
      c.eip = off;
      c.setSp(c.spOff(2 * n + imm));
      return;
    }
    const idx = sel & 0xfffc;
    const rpl = sel & 3;
    if (idx === 0) c.fault(EXC.GP, 0);
    if (!c.readDescriptor(sel)) c.fault(EXC.GP, idx);
    const lo = c.descLo;
    const hi = c.descHi;
    const dpl = (hi >>> 13) & 3;
    if ((hi & 0x1800) !== 0x1800 || rpl < c.cpl) c.fault(EXC.GP, idx);
    if (hi & 0x400 ? dpl > rpl : dpl !== rpl) c.fault(EXC.GP, idx);
    if (!(hi & 0x8000)) c.fault(EXC.NP, idx);
    if (rpl === c.cpl) {
      if (off >>> 0 > CpuClass.descLimit(lo, hi) >>> 0) c.fault(EXC.GP, 0);
      c.setAccessed(sel);
      c.loadDescriptorCache(SEG.CS, sel);
      c.eip = off;
      c.setSp(c.spOff(2 * n + imm));
      return;
    }
    // return to outer privilege
    const newEsp = is32 ? c.rd32(SEG.SS, c.spOff(2 * n + imm)) : c.rd16(SEG.SS, c.spOff(2 * n + imm));
    const newSs = c.rd16(SEG.SS, c.spOff(3 * n + imm));
    returnOuter(c, sel, lo, hi, off, newSs, newEsp, imm, is32);
  };
}

/** Completes a return to an outer privilege level (RETF/IRET): loads SS:ESP, CS, nulls inaccessible data segments. */
function returnOuter(c: Cpu, sel: number, lo: number, hi: number, off: number, newSs: number, newEsp: number, imm: number, is32: boolean): void {
  const rpl = sel & 3;
  const sidx = newSs & 0xfffc;
  if (sidx === 0) c.fault(EXC.GP, 0);
  if (!c.readDescriptor(newSs)) c.fault(EXC.GP, sidx);
  const slo = c.descLo;
  const shi = c.descHi;
  if ((newSs & 3) !== rpl || ((shi >>> 13) & 3) !== rpl || (shi & 0x1a00) !== 0x1200) c.fault(EXC.GP, sidx);
  if (!(shi & 0x8000)) c.fault(EXC.SS, sidx);
  if (off >>> 0 > CpuClass.descLimit(lo, hi) >>> 0) c.fault(EXC.GP, 0);
  c.descLo = lo;
  c.descHi = hi;
  c.setAccessed(sel);
  c.loadDescriptorCache(SEG.CS, sel);
  c.setCpl(rpl);
  c.descLo = slo;
  c.descHi = shi;
  c.setAccessed(newSs);
  c.loadDescriptorCache(SEG.SS, newSs);
  if (c.stack32) c.reg32[4] = (newEsp + imm) | 0;
  else c.reg16[8] = newEsp + imm;
  void is32;
  c.eip = off;
  for (const s of [SEG.ES, SEG.DS, SEG.FS, SEG.GS]) {
    const a = c.segAttr[s]!;
    const dpl = (a >>> 5) & 3;
    const dataOrNc = (a & 0x18) !== 0x18 || (a & 0x4) === 0;
    if ((a & 0x80) !== 0 && dataOrNc && dpl < rpl) c.setSegCache(s, 0, 0, 0, 0);
  }
}

// ---------------------------------------------------------------------------
// INT, INTO, INT3, IRET
// ---------------------------------------------------------------------------

export function int_Ib(c: Cpu): void {
  const v = c.fetch8();
  if (c.v86 && c.iopl < 3) c.fault(EXC.GP, 0);
  c.softwareInterrupt(v, true);
}
export function int3(c: Cpu): void {
  c.softwareInterrupt(EXC.BP, true);
}
export function into(c: Cpu): void {
  if (c.getOF()) c.softwareInterrupt(EXC.OF, true);
}
export function int1(c: Cpu): void {
  c.softwareInterrupt(EXC.DB, false);
}

export function iret(is32: boolean): H {
  return (c) => {
    const n = is32 ? 4 : 2;
    if (!(c.cr0 & CR0.PE)) {
      const off = is32 ? c.rd32(SEG.SS, c.spOff(0)) : c.rd16(SEG.SS, c.spOff(0));
      const cs = c.rd16(SEG.SS, c.spOff(n));
      const fl = is32 ? c.rd32(SEG.SS, c.spOff(2 * n)) : c.rd16(SEG.SS, c.spOff(2 * n));
      if (off >>> 0 > c.segLimit[SEG.CS]! >>> 0) c.fault(EXC.GP, 0);
      c.loadSegment(SEG.CS, cs);
      c.eip = off;
      c.setSp(c.spOff(3 * n));
      const mask = is32 ? 0x257fd5 : 0x7fd5;
      c.setFlagsMasked(fl, mask);
      c.nmiBlocked = false;
      return;
    }
    if (c.v86) {
      if (c.iopl < 3) c.fault(EXC.GP, 0);
      const off = is32 ? c.rd32(SEG.SS, c.spOff(0)) : c.rd16(SEG.SS, c.spOff(0));
      const cs = c.rd16(SEG.SS, c.spOff(n));
      const fl = is32 ? c.rd32(SEG.SS, c.spOff(2 * n)) : c.rd16(SEG.SS, c.spOff(2 * n));
      if (off >>> 0 > 0xffff) c.fault(EXC.GP, 0);
      c.loadSegment(SEG.CS, cs);
      c.eip = off;
      c.setSp(c.spOff(3 * n));
      c.setFlagsMasked(fl, is32 ? 0x244fd5 & ~FLAG.IOPL : 0x4fd5 & ~FLAG.IOPL);
      c.nmiBlocked = false;
      return;
    }
    c.nmiBlocked = false;
    if (c.flags & FLAG.NT) {
      c.iretTask();
      return;
    }
    const off = is32 ? c.rd32(SEG.SS, c.spOff(0)) : c.rd16(SEG.SS, c.spOff(0));
    const sel = c.rd16(SEG.SS, c.spOff(n));
    const fl = is32 ? c.rd32(SEG.SS, c.spOff(2 * n)) : c.rd16(SEG.SS, c.spOff(2 * n));
    if (is32 && fl & FLAG.VM && c.cpl === 0) {
      iretToV86(c, off, sel, fl);
      return;
    }
    const idx = sel & 0xfffc;
    const rpl = sel & 3;
    if (idx === 0) c.fault(EXC.GP, 0);
    if (!c.readDescriptor(sel)) c.fault(EXC.GP, idx);
    const lo = c.descLo;
    const hi = c.descHi;
    const dpl = (hi >>> 13) & 3;
    if ((hi & 0x1800) !== 0x1800 || rpl < c.cpl) c.fault(EXC.GP, idx);
    if (hi & 0x400 ? dpl > rpl : dpl !== rpl) c.fault(EXC.GP, idx);
    if (!(hi & 0x8000)) c.fault(EXC.NP, idx);
    const oldCpl = c.cpl;
    let mask = FLAG.CF | FLAG.PF | FLAG.AF | FLAG.ZF | FLAG.SF | FLAG.TF | FLAG.DF | FLAG.OF | FLAG.NT;
    if (is32) mask |= FLAG.RF | FLAG.AC | FLAG.ID;
    if (oldCpl === 0) mask |= FLAG.IOPL | (is32 ? FLAG.VIF | FLAG.VIP : 0);
    if (oldCpl <= c.iopl) mask |= FLAG.IF;
    if (rpl === oldCpl) {
      if (off >>> 0 > CpuClass.descLimit(lo, hi) >>> 0) c.fault(EXC.GP, 0);
      c.setAccessed(sel);
      c.loadDescriptorCache(SEG.CS, sel);
      c.eip = off;
      c.setSp(c.spOff(3 * n));
      c.setFlagsMasked(fl, mask);
      return;
    }
    const newEsp = is32 ? c.rd32(SEG.SS, c.spOff(3 * n)) : c.rd16(SEG.SS, c.spOff(3 * n));
    const newSs = c.rd16(SEG.SS, c.spOff(4 * n));
    returnOuter(c, sel, lo, hi, off, newSs, newEsp, 0, is32);
    // flags use the privilege of the IRET itself
    const f = c.getEflags();
    c.setEflags((f & ~mask) | (fl & mask));
  };
}

function iretToV86(c: Cpu, off: number, sel: number, fl: number): void {
  const esp = c.rd32(SEG.SS, c.spOff(12));
  const ss = c.rd16(SEG.SS, c.spOff(16));
  const es = c.rd16(SEG.SS, c.spOff(20));
  const ds = c.rd16(SEG.SS, c.spOff(24));
  const fs = c.rd16(SEG.SS, c.spOff(28));
  const gs = c.rd16(SEG.SS, c.spOff(32));
  c.setEflags(fl);
  c.setCpl(3);
  c.modeChanged();
  c.loadSegment(SEG.CS, sel);
  c.loadSegment(SEG.SS, ss);
  c.loadSegment(SEG.ES, es);
  c.loadSegment(SEG.DS, ds);
  c.loadSegment(SEG.FS, fs);
  c.loadSegment(SEG.GS, gs);
  c.reg32[4] = esp;
  c.eip = off & 0xffff;
}
