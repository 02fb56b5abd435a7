/**
 * Handlers for the ordinary integer instructions. Every handler has the one
 * signature `(c: Cpu) => void`; it fetches its own ModRM/immediates (group
 * members receive the ModRM in c.modrm). Register and memory forms are
 * separate branches taken on `mod`; memory forms compute the effective
 * address once. Factories close over the ALU operation / size and are built
 * once, when the dispatch table is made.
 */
import type { Cpu } from '../cpu.js';
import { FLAG, EXC, R8, SEG } from '../flags.js';
import { alu, inc, dec, shift, shiftDouble, mulU32, imulS32, mulFlags, div, bsf, bsr, setResultFlags } from './alu.js';

export type H = (c: Cpu) => void;

const DF = FLAG.DF;

// ---------------------------------------------------------------------------
// ALU: 00-3D, group 1 (80-83), TEST
// ---------------------------------------------------------------------------

export function aluEbGb(op: number): H {
  return (c) => {
    const m = c.fetch8();
    const src = c.reg8[R8[(m >> 3) & 7]!]!;
    if (m >= 0xc0) {
      const d = R8[m & 7]!;
      const r = alu(c, op, c.reg8[d]!, src, 7);
      if (op !== 7) c.reg8[d] = r;
    } else {
      const off = c.ea(m);
      if (op === 7) alu(c, op, c.rd8(c.eaSeg, off), src, 7);
      else c.wrRmw8(alu(c, op, c.rmw8(c.eaSeg, off), src, 7));
    }
  };
}
export function aluEvGv(op: number, is32: boolean): H {
  if (is32)
    return (c) => {
      const m = c.fetch8();
      const src = c.reg32[(m >> 3) & 7]!;
      if (m >= 0xc0) {
        const r = alu(c, op, c.reg32[m & 7]!, src, 31);
        if (op !== 7) c.reg32[m & 7] = r;
      } else {
        const off = c.ea(m);
        if (op === 7) alu(c, op, c.rd32(c.eaSeg, off), src, 31);
        else c.wrRmw32(alu(c, op, c.rmw32(c.eaSeg, off), src, 31));
      }
    };
  return (c) => {
    const m = c.fetch8();
    const src = c.reg16[((m >> 3) & 7) << 1]!;
    if (m >= 0xc0) {
      const r = alu(c, op, c.reg16[(m & 7) << 1]!, src, 15);
      if (op !== 7) c.reg16[(m & 7) << 1] = r;
    } else {
      const off = c.ea(m);
      if (op === 7) alu(c, op, c.rd16(c.eaSeg, off), src, 15);
      else c.wrRmw16(alu(c, op, c.rmw16(c.eaSeg, off), src, 15));
    }
  };
}
export function aluGbEb(op: number): H {
  return (c) => {
    const m = c.fetch8();
    const d = R8[(m >> 3) & 7]!;
    let src: number;
    if (m >= 0xc0) src = c.reg8[R8[m & 7]!]!;
    else {
      const off = c.ea(m);
      src = c.rd8(c.eaSeg, off);
    }
    const r = alu(c, op, c.reg8[d]!, src, 7);
    if (op !== 7) c.reg8[d] = r;
  };
}
export function aluGvEv(op: number, is32: boolean): H {
  if (is32)
    return (c) => {
      const m = c.fetch8();
      const d = (m >> 3) & 7;
      let src: number;
      if (m >= 0xc0) src = c.reg32[m & 7]!;
      else {
        const off = c.ea(m);
        src = c.rd32(c.eaSeg, off);
      }
      const r = alu(c, op, c.reg32[d]!, src, 31);
      if (op !== 7) c.reg32[d] = r;
    };
  return (c) => {
    const m = c.fetch8();
    const d = ((m >> 3) & 7) << 1;
    let src: number;
    if (m >= 0xc0) src = c.reg16[(m & 7) << 1]!;
    else {
      const off = c.ea(m);
      src = c.rd16(c.eaSeg, off);
    }
    const r = alu(c, op, c.reg16[d]!, src, 15);
    if (op !== 7) c.reg16[d] = r;
  };
}
export function aluALIb(op: number): H {
  return (c) => {
    const r = alu(c, op, c.reg8[0]!, c.fetch8(), 7);
    if (op !== 7) c.reg8[0] = r;
  };
}
export function aluAXIv(op: number, is32: boolean): H {
  if (is32)
    return (c) => {
      const r = alu(c, op, c.reg32[0]!, c.fetch32(), 31);
      if (op !== 7) c.reg32[0] = r;
    };
  return (c) => {
    const r = alu(c, op, c.reg16[0]!, c.fetch16(), 15);
    if (op !== 7) c.reg16[0] = r;
  };
}
/** Group 1: 80 (Eb,Ib), 81 (Ev,Iz), 82 (=80), 83 (Ev,Ib sign-extended). op from c.modrm. */
export function grp1Eb(c: Cpu): void {
  const m = c.modrm;
  const op = (m >> 3) & 7;
  if (m >= 0xc0) {
    const d = R8[m & 7]!;
    const r = alu(c, op, c.reg8[d]!, c.fetch8(), 7);
    if (op !== 7) c.reg8[d] = r;
  } else {
    const off = c.ea(m);
    const imm = c.fetch8();
    if (op === 7) alu(c, op, c.rd8(c.eaSeg, off), imm, 7);
    else c.wrRmw8(alu(c, op, c.rmw8(c.eaSeg, off), imm, 7));
  }
}
export function grp1Ev(signExt8: boolean, is32: boolean): H {
  if (is32)
    return (c) => {
      const m = c.modrm;
      const op = (m >> 3) & 7;
      if (m >= 0xc0) {
        const imm = signExt8 ? (c.fetch8() << 24) >> 24 : c.fetch32();
        const r = alu(c, op, c.reg32[m & 7]!, imm, 31);
        if (op !== 7) c.reg32[m & 7] = r;
      } else {
        const off = c.ea(m);
        const imm = signExt8 ? (c.fetch8() << 24) >> 24 : c.fetch32();
        if (op === 7) alu(c, op, c.rd32(c.eaSeg, off), imm, 31);
        else c.wrRmw32(alu(c, op, c.rmw32(c.eaSeg, off), imm, 31));
      }
    };
  return (c) => {
    const m = c.modrm;
    const op = (m >> 3) & 7;
    if (m >= 0xc0) {
      const imm = signExt8 ? ((c.fetch8() << 24) >> 24) & 0xffff : c.fetch16();
      const r = alu(c, op, c.reg16[(m & 7) << 1]!, imm, 15);
      if (op !== 7) c.reg16[(m & 7) << 1] = r;
    } else {
      const off = c.ea(m);
      const imm = signExt8 ? ((c.fetch8() << 24) >> 24) & 0xffff : c.fetch16();
      if (op === 7) alu(c, op, c.rd16(c.eaSeg, off), imm, 15);
      else c.wrRmw16(alu(c, op, c.rmw16(c.eaSeg, off), imm, 15));
    }
  };
}
export function test_EbGb(c: Cpu): void {
  const m = c.fetch8();
  const src = c.reg8[R8[(m >> 3) & 7]!]!;
  let v: number;
  if (m >= 0xc0) v = c.reg8[R8[m & 7]!]!;
  else {
    const off = c.ea(m);
    v = c.rd8(c.eaSeg, off);
  }
  alu(c, 4, v, src, 7);
}
export function test_EvGv(is32: boolean): H {
  return (c) => {
    const m = c.fetch8();
    const src = is32 ? c.reg32[(m >> 3) & 7]! : c.reg16[((m >> 3) & 7) << 1]!;
    let v: number;
    if (m >= 0xc0) v = is32 ? c.reg32[m & 7]! : c.reg16[(m & 7) << 1]!;
    else {
      const off = c.ea(m);
      v = is32 ? c.rd32(c.eaSeg, off) : c.rd16(c.eaSeg, off);
    }
    alu(c, 4, v, src, is32 ? 31 : 15);
  };
}
export function test_ALIb(c: Cpu): void {
  alu(c, 4, c.reg8[0]!, c.fetch8(), 7);
}
export function test_AXIv(is32: boolean): H {
  return (c) => {
    if (is32) alu(c, 4, c.reg32[0]!, c.fetch32(), 31);
    else alu(c, 4, c.reg16[0]!, c.fetch16(), 15);
  };
}

// ---------------------------------------------------------------------------
// INC/DEC
// ---------------------------------------------------------------------------

export function incdecReg(isDec: boolean, is32: boolean, reg: number): H {
  if (is32) return isDec ? (c) => void (c.reg32[reg] = dec(c, c.reg32[reg]!, 31)) : (c) => void (c.reg32[reg] = inc(c, c.reg32[reg]!, 31));
  return isDec ? (c) => void (c.reg16[reg << 1] = dec(c, c.reg16[reg << 1]!, 15)) : (c) => void (c.reg16[reg << 1] = inc(c, c.reg16[reg << 1]!, 15));
}

// ---------------------------------------------------------------------------
// Group 3 (F6/F7): TEST, NOT, NEG, MUL, IMUL, DIV, IDIV
// ---------------------------------------------------------------------------

export function grp3Eb(c: Cpu): void {
  const m = c.modrm;
  const op = (m >> 3) & 7;
  let off = 0;
  const isReg = m >= 0xc0;
  if (!isReg) off = c.ea(m);
  if (op === 2 || op === 3) {
    const v = isReg ? c.reg8[R8[m & 7]!]! : c.rmw8(c.eaSeg, off);
    const r = op === 2 ? ~v & 0xff : alu(c, 5, 0, v, 7);
    if (isReg) c.reg8[R8[m & 7]!] = r;
    else c.wrRmw8(r);
    return;
  }
  const v = isReg ? c.reg8[R8[m & 7]!]! : c.rd8(c.eaSeg, off);
  switch (op) {
    case 0:
    case 1:
      alu(c, 4, v, c.fetch8(), 7);
      return;
    case 4: {
      const r = c.reg8[0]! * v;
      c.reg16[0] = r;
      mulFlags(c, r & 0xff, 7, r > 0xff);
      return;
    }
    case 5: {
      const r = ((c.reg8[0]! << 24) >> 24) * ((v << 24) >> 24);
      c.reg16[0] = r;
      mulFlags(c, r & 0xff, 7, r !== (r << 24) >> 24);
      return;
    }
    case 6:
      div(c, v, 7, false);
      return;
    default:
      div(c, v, 7, true);
  }
}

export function grp3Ev(is32: boolean): H {
  return (c) => {
    const m = c.modrm;
    const op = (m >> 3) & 7;
    let off = 0;
    const isReg = m >= 0xc0;
    const size = is32 ? 31 : 15;
    if (!isReg) off = c.ea(m);
    if (op === 2 || op === 3) {
      const v = isReg ? (is32 ? c.reg32[m & 7]! : c.reg16[(m & 7) << 1]!) : is32 ? c.rmw32(c.eaSeg, off) : c.rmw16(c.eaSeg, off);
      const r = op === 2 ? (is32 ? ~v : ~v & 0xffff) : alu(c, 5, 0, v, size);
      if (isReg) {
        if (is32) c.reg32[m & 7] = r;
        else c.reg16[(m & 7) << 1] = r;
      } else if (is32) c.wrRmw32(r);
      else c.wrRmw16(r);
      return;
    }
    const v = isReg ? (is32 ? c.reg32[m & 7]! : c.reg16[(m & 7) << 1]!) : is32 ? c.rd32(c.eaSeg, off) : c.rd16(c.eaSeg, off);
    switch (op) {
      case 0:
      case 1:
        alu(c, 4, v, is32 ? c.fetch32() : c.fetch16(), size);
        return;
      case 4:
        if (is32) {
          const lo = mulU32(c, c.reg32[0]!, v);
          c.reg32[0] = lo;
          c.reg32[2] = c.mulHi;
          mulFlags(c, lo, 31, c.mulHi !== 0);
        } else {
          const r = c.reg16[0]! * v;
          c.reg16[0] = r;
          c.reg16[4] = r >>> 16;
          mulFlags(c, r & 0xffff, 15, r > 0xffff);
        }
        return;
      case 5:
        if (is32) {
          const lo = imulS32(c, c.reg32[0]!, v);
          c.reg32[0] = lo;
          c.reg32[2] = c.mulHi;
          mulFlags(c, lo, 31, c.mulHi !== lo >> 31);
        } else {
          const r = ((c.reg16[0]! << 16) >> 16) * ((v << 16) >> 16);
          c.reg16[0] = r;
          c.reg16[4] = r >> 16;
          mulFlags(c, r & 0xffff, 15, r !== (r << 16) >> 16);
        }
        return;
      case 6:
        div(c, v, size, false);
        return;
      default:
        div(c, v, size, true);
    }
  };
}

/** IMUL Gv, Ev [, imm]: immKind 0 = none (0F AF), 1 = Ib sign-extended (6B), 2 = Iz (69). */
export function imulGvEv(immKind: number, is32: boolean): H {
  return (c) => {
    const m = c.fetch8();
    let v: number;
    if (m >= 0xc0) v = is32 ? c.reg32[m & 7]! : c.reg16[(m & 7) << 1]!;
    else {
      const off = c.ea(m);
      v = is32 ? c.rd32(c.eaSeg, off) : c.rd16(c.eaSeg, off);
    }
    const d = (m >> 3) & 7;
    let b: number;
    if (immKind === 0) b = is32 ? c.reg32[d]! : c.reg16[d << 1]!;
    else if (immKind === 1) b = (c.fetch8() << 24) >> 24;
    else b = is32 ? c.fetch32() : c.fetch16();
    if (is32) {
      const lo = imulS32(c, v, b);
      c.reg32[d] = lo;
      mulFlags(c, lo, 31, c.mulHi !== lo >> 31);
    } else {
      const r = ((v << 16) >> 16) * ((b << 16) >> 16);
      c.reg16[d << 1] = r;
      mulFlags(c, r & 0xffff, 15, r !== (r << 16) >> 16);
    }
  };
}

// ---------------------------------------------------------------------------
// Group 2: shifts/rotates. kind: 0 = by 1, 1 = by CL, 2 = by Ib
// ---------------------------------------------------------------------------

export function grp2Eb(kind: number): H {
  return (c) => {
    const m = c.modrm;
    const op = (m >> 3) & 7;
    if (m >= 0xc0) {
      const count = kind === 0 ? 1 : kind === 1 ? c.reg8[4]! : c.fetch8();
      const d = R8[m & 7]!;
      c.reg8[d] = shift(c, op, c.reg8[d]!, count, 7);
    } else {
      const off = c.ea(m);
      const count = kind === 0 ? 1 : kind === 1 ? c.reg8[4]! : c.fetch8();
      const v = c.rmw8(c.eaSeg, off);
      c.wrRmw8(shift(c, op, v, count, 7));
    }
  };
}
export function grp2Ev(kind: number, is32: boolean): H {
  return (c) => {
    const m = c.modrm;
    const op = (m >> 3) & 7;
    const size = is32 ? 31 : 15;
    if (m >= 0xc0) {
      const count = kind === 0 ? 1 : kind === 1 ? c.reg8[4]! : c.fetch8();
      if (is32) c.reg32[m & 7] = shift(c, op, c.reg32[m & 7]!, count, size);
      else c.reg16[(m & 7) << 1] = shift(c, op, c.reg16[(m & 7) << 1]!, count, size);
    } else {
      const off = c.ea(m);
      const count = kind === 0 ? 1 : kind === 1 ? c.reg8[4]! : c.fetch8();
      if (is32) c.wrRmw32(shift(c, op, c.rmw32(c.eaSeg, off), count, size));
      else c.wrRmw16(shift(c, op, c.rmw16(c.eaSeg, off), count, size));
    }
  };
}
/** SHLD/SHRD Ev,Gv,Ib|CL */
export function shxd(left: boolean, byCl: boolean, is32: boolean): H {
  return (c) => {
    const m = c.fetch8();
    const size = is32 ? 31 : 15;
    const src = is32 ? c.reg32[(m >> 3) & 7]! : c.reg16[((m >> 3) & 7) << 1]!;
    if (m >= 0xc0) {
      const count = byCl ? c.reg8[4]! : c.fetch8();
      if (is32) c.reg32[m & 7] = shiftDouble(c, left, c.reg32[m & 7]!, src, count, size);
      else c.reg16[(m & 7) << 1] = shiftDouble(c, left, c.reg16[(m & 7) << 1]!, src, count, size);
    } else {
      const off = c.ea(m);
      const count = byCl ? c.reg8[4]! : c.fetch8();
      if (is32) c.wrRmw32(shiftDouble(c, left, c.rmw32(c.eaSeg, off), src, count, size));
      else c.wrRmw16(shiftDouble(c, left, c.rmw16(c.eaSeg, off), src, count, size));
    }
  };
}

// ---------------------------------------------------------------------------
// Group 4/5 (FE/FF): INC/DEC Eb/Ev; CALL/JMP near/far indirect; PUSH Ev
// ---------------------------------------------------------------------------

export function grp4Eb(c: Cpu): void {
  const m = c.modrm;
  const op = (m >> 3) & 7;
  if (op > 1) c.undefinedOpcode(0xfe);
  if (m >= 0xc0) {
    const d = R8[m & 7]!;
    c.reg8[d] = op ? dec(c, c.reg8[d]!, 7) : inc(c, c.reg8[d]!, 7);
  } else {
    const off = c.ea(m);
    const v = c.rmw8(c.eaSeg, off);
    c.wrRmw8(op ? dec(c, v, 7) : inc(c, v, 7));
  }
}

// ---------------------------------------------------------------------------
// Data movement
// ---------------------------------------------------------------------------

export function mov_EbGb(c: Cpu): void {
  const m = c.fetch8();
  const v = c.reg8[R8[(m >> 3) & 7]!]!;
  if (m >= 0xc0) c.reg8[R8[m & 7]!] = v;
  else {
    const off = c.ea(m);
    c.wr8(c.eaSeg, off, v);
  }
}
export function mov_EvGv_32(c: Cpu): void {
  const m = c.fetch8();
  const v = c.reg32[(m >> 3) & 7]!;
  if (m >= 0xc0) c.reg32[m & 7] = v;
  else {
    const off = c.ea(m);
    c.wr32(c.eaSeg, off, v);
  }
}
export function mov_EvGv_16(c: Cpu): void {
  const m = c.fetch8();
  const v = c.reg16[((m >> 3) & 7) << 1]!;
  if (m >= 0xc0) c.reg16[(m & 7) << 1] = v;
  else {
    const off = c.ea(m);
    c.wr16(c.eaSeg, off, v);
  }
}
export function mov_GbEb(c: Cpu): void {
  const m = c.fetch8();
  if (m >= 0xc0) c.reg8[R8[(m >> 3) & 7]!] = c.reg8[R8[m & 7]!]!;
  else {
    const off = c.ea(m);
    c.reg8[R8[(m >> 3) & 7]!] = c.rd8(c.eaSeg, off);
  }
}
export function mov_GvEv_32(c: Cpu): void {
  const m = c.fetch8();
  if (m >= 0xc0) c.reg32[(m >> 3) & 7] = c.reg32[m & 7]!;
  else {
    const off = c.ea(m);
    c.reg32[(m >> 3) & 7] = c.rd32(c.eaSeg, off);
  }
}
export function mov_GvEv_16(c: Cpu): void {
  const m = c.fetch8();
  if (m >= 0xc0) c.reg16[((m >> 3) & 7) << 1] = c.reg16[(m & 7) << 1]!;
  else {
    const off = c.ea(m);
    c.reg16[((m >> 3) & 7) << 1] = c.rd16(c.eaSeg, off);
  }
}
export function mov_EwSw(c: Cpu): void {
  const m = c.fetch8();
  const s = (m >> 3) & 7;
  if (s > 5) c.undefinedOpcode(0x8c);
  const v = c.segSel[s]!;
  if (m >= 0xc0) {
    if (c.osz) c.reg32[m & 7] = v;
    else c.reg16[(m & 7) << 1] = v;
  } else {
    const off = c.ea(m);
    c.wr16(c.eaSeg, off, v);
  }
}
export function mov_SwEw(c: Cpu): void {
  const m = c.fetch8();
  const s = (m >> 3) & 7;
  if (s > 5 || s === SEG.CS) c.undefinedOpcode(0x8e);
  let v: number;
  if (m >= 0xc0) v = c.reg16[(m & 7) << 1]!;
  else {
    const off = c.ea(m);
    v = c.rd16(c.eaSeg, off);
  }
  c.loadSegment(s, v);
  if (s === SEG.SS) {
    c.inhibitUntil = c.icount + 2;
    c.dbShadowUntil = c.icount + 2;
    c.eventsPending = true;
  }
}
export function lea(is32: boolean): H {
  return (c) => {
    const m = c.fetch8();
    if (m >= 0xc0) c.undefinedOpcode(0x8d);
    const off = c.ea(m);
    if (is32) c.reg32[(m >> 3) & 7] = off;
    else c.reg16[((m >> 3) & 7) << 1] = off;
  };
}
export function mov_EbIb(c: Cpu): void {
  const m = c.modrm;
  if (m >= 0xc0) c.reg8[R8[m & 7]!] = c.fetch8();
  else {
    const off = c.ea(m);
    c.wr8(c.eaSeg, off, c.fetch8());
  }
}
export function mov_EvIv(is32: boolean): H {
  return (c) => {
    const m = c.modrm;
    if (m >= 0xc0) {
      if (is32) c.reg32[m & 7] = c.fetch32();
      else c.reg16[(m & 7) << 1] = c.fetch16();
    } else {
      const off = c.ea(m);
      if (is32) c.wr32(c.eaSeg, off, c.fetch32());
      else c.wr16(c.eaSeg, off, c.fetch16());
    }
  };
}
export function movRegImm8(reg: number): H {
  const o = R8[reg]!;
  return (c) => void (c.reg8[o] = c.fetch8());
}
export function movRegImm(reg: number, is32: boolean): H {
  if (is32) return (c) => void (c.reg32[reg] = c.fetch32());
  return (c) => void (c.reg16[reg << 1] = c.fetch16());
}
/** A0-A3: MOV AL/eAX <-> moffs */
export function movMoffs(toMem: boolean, byte: boolean, is32: boolean): H {
  return (c) => {
    const off = c.asz32 ? c.fetch32() : c.fetch16();
    const seg = c.dataSeg();
    if (toMem) {
      if (byte) c.wr8(seg, off, c.reg8[0]!);
      else if (is32) c.wr32(seg, off, c.reg32[0]!);
      else c.wr16(seg, off, c.reg16[0]!);
    } else if (byte) c.reg8[0] = c.rd8(seg, off);
    else if (is32) c.reg32[0] = c.rd32(seg, off);
    else c.reg16[0] = c.rd16(seg, off);
  };
}
export function xchg_EbGb(c: Cpu): void {
  const m = c.fetch8();
  const g = R8[(m >> 3) & 7]!;
  if (m >= 0xc0) {
    const e = R8[m & 7]!;
    const t = c.reg8[e]!;
    c.reg8[e] = c.reg8[g]!;
    c.reg8[g] = t;
  } else {
    const off = c.ea(m);
    const t = c.rmw8(c.eaSeg, off);
    c.wrRmw8(c.reg8[g]!);
    c.reg8[g] = t;
  }
}
export function xchg_EvGv(is32: boolean): H {
  return (c) => {
    const m = c.fetch8();
    const g = (m >> 3) & 7;
    if (m >= 0xc0) {
      const e = m & 7;
      if (is32) {
        const t = c.reg32[e]!;
        c.reg32[e] = c.reg32[g]!;
        c.reg32[g] = t;
      } else {
        const t = c.reg16[e << 1]!;
        c.reg16[e << 1] = c.reg16[g << 1]!;
        c.reg16[g << 1] = t;
      }
    } else {
      const off = c.ea(m);
      if (is32) {
        const t = c.rmw32(c.eaSeg, off);
        c.wrRmw32(c.reg32[g]!);
        c.reg32[g] = t;
      } else {
        const t = c.rmw16(c.eaSeg, off);
        c.wrRmw16(c.reg16[g << 1]!);
        c.reg16[g << 1] = t;
      }
    }
  };
}
export function xchgAx(reg: number, is32: boolean): H {
  if (is32)
    return (c) => {
      const t = c.reg32[0]!;
      c.reg32[0] = c.reg32[reg]!;
      c.reg32[reg] = t;
    };
  return (c) => {
    const t = c.reg16[0]!;
    c.reg16[0] = c.reg16[reg << 1]!;
    c.reg16[reg << 1] = t;
  };
}
export function nop(_c: Cpu): void {}
export function cbw(is32: boolean): H {
  if (is32) return (c) => void (c.reg32[0] = (c.reg32[0]! << 16) >> 16);
  return (c) => void (c.reg16[0] = (c.reg8[0]! << 24) >> 24);
}
export function cwd(is32: boolean): H {
  if (is32) return (c) => void (c.reg32[2] = c.reg32[0]! >> 31);
  return (c) => void (c.reg16[4] = (c.reg16[0]! << 16) >> 31);
}
export function sahf(c: Cpu): void {
  c.setArith(c.reg8[1]!, 0xd5);
}
export function lahf(c: Cpu): void {
  c.reg8[1] = (c.getEflags() & 0xd5) | 2;
}
export function salc(c: Cpu): void {
  c.reg8[0] = c.getCF() ? 0xff : 0;
}
export function xlat(c: Cpu): void {
  const off = c.asz32 ? (c.reg32[3]! + c.reg8[0]!) | 0 : (c.reg16[6]! + c.reg8[0]!) & 0xffff;
  c.reg8[0] = c.rd8(c.dataSeg(), off);
}
export function movzx(srcByte: boolean, is32: boolean, signed: boolean): H {
  return (c) => {
    const m = c.fetch8();
    let v: number;
    if (m >= 0xc0) v = srcByte ? c.reg8[R8[m & 7]!]! : c.reg16[(m & 7) << 1]!;
    else {
      const off = c.ea(m);
      v = srcByte ? c.rd8(c.eaSeg, off) : c.rd16(c.eaSeg, off);
    }
    if (signed) v = srcByte ? (v << 24) >> 24 : (v << 16) >> 16;
    const d = (m >> 3) & 7;
    if (is32) c.reg32[d] = v;
    else c.reg16[d << 1] = v;
  };
}
export function bswap(reg: number): H {
  return (c) => {
    if (!c.osz) {
      // BSWAP r16 is undefined: P6-class parts leave bits 31:16 alone and clear bits 15:0
      c.reg16[reg << 1] = 0;
      return;
    }
    const v = c.reg32[reg]!;
    c.reg32[reg] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
  };
}
export function setcc(cc: number): H {
  return (c) => {
    const m = c.fetch8();
    const v = c.cond(cc) ? 1 : 0;
    if (m >= 0xc0) c.reg8[R8[m & 7]!] = v;
    else {
      const off = c.ea(m);
      c.wr8(c.eaSeg, off, v);
    }
  };
}
export function cmovcc(cc: number, is32: boolean): H {
  return (c) => {
    const m = c.fetch8();
    let v: number;
    if (m >= 0xc0) v = is32 ? c.reg32[m & 7]! : c.reg16[(m & 7) << 1]!;
    else {
      const off = c.ea(m);
      v = is32 ? c.rd32(c.eaSeg, off) : c.rd16(c.eaSeg, off);
    }
    if (c.cond(cc)) {
      if (is32) c.reg32[(m >> 3) & 7] = v;
      else c.reg16[((m >> 3) & 7) << 1] = v;
    }
  };
}

// ---------------------------------------------------------------------------
// Bit test family
// ---------------------------------------------------------------------------

/** op: 0 BT, 1 BTS, 2 BTR, 3 BTC. byImm: count from Ib (group 8, c.modrm set) else from Gv. */
export function bitTest(op: number, byImm: boolean, is32: boolean): H {
  return (c) => {
    const m = byImm ? c.modrm : c.fetch8();
    const bits = is32 ? 32 : 16;
    if (m >= 0xc0) {
      const bit = (byImm ? c.fetch8() : is32 ? c.reg32[(m >> 3) & 7]! : c.reg16[((m >> 3) & 7) << 1]!) & (bits - 1);
      const v = is32 ? c.reg32[m & 7]! : c.reg16[(m & 7) << 1]!;
      setBtFlags(c, (v >>> bit) & 1);
      if (op === 0) return;
      const r = op === 1 ? v | (1 << bit) : op === 2 ? v & ~(1 << bit) : v ^ (1 << bit);
      if (is32) c.reg32[m & 7] = r;
      else c.reg16[(m & 7) << 1] = r;
      return;
    }
    let off = c.ea(m);
    let bit: number;
    if (byImm) bit = c.fetch8() & (bits - 1);
    else {
      // register bit offset addresses memory beyond the operand (signed)
      const b = is32 ? c.reg32[(m >> 3) & 7]! : (c.reg16[((m >> 3) & 7) << 1]! << 16) >> 16;
      const disp = is32 ? (b >> 5) * 4 : (b >> 4) * 2;
      off = c.asz32 ? (off + disp) | 0 : (off + disp) & 0xffff;
      bit = b & (bits - 1);
    }
    if (op === 0) {
      const v = is32 ? c.rd32(c.eaSeg, off) : c.rd16(c.eaSeg, off);
      setBtFlags(c, (v >>> bit) & 1);
      return;
    }
    const v = is32 ? c.rmw32(c.eaSeg, off) : c.rmw16(c.eaSeg, off);
    setBtFlags(c, (v >>> bit) & 1);
    const r = op === 1 ? v | (1 << bit) : op === 2 ? v & ~(1 << bit) : v ^ (1 << bit);
    if (is32) c.wrRmw32(r);
    else c.wrRmw16(r);
  };
}
function setBtFlags(c: Cpu, bit: number): void {
  // CF = the bit; OF, SF, AF, PF undefined (left as they are, like P6 for SF/ZF); ZF unchanged.
  c.setArith(bit, FLAG.CF);
}
export function bitScan(reverse: boolean, is32: boolean): H {
  return (c) => {
    const m = c.fetch8();
    let v: number;
    if (m >= 0xc0) v = is32 ? c.reg32[m & 7]! : c.reg16[(m & 7) << 1]!;
    else {
      const off = c.ea(m);
      v = is32 ? c.rd32(c.eaSeg, off) : c.rd16(c.eaSeg, off);
    }
    const d = (m >> 3) & 7;
    const old = is32 ? c.reg32[d]! : c.reg16[d << 1]!;
    const r = reverse ? bsr(c, v, is32 ? 31 : 15, old) : bsf(c, v, is32 ? 31 : 15, old);
    if (is32) c.reg32[d] = r;
    else c.reg16[d << 1] = r;
  };
}

// ---------------------------------------------------------------------------
// XADD, CMPXCHG, CMPXCHG8B
// ---------------------------------------------------------------------------

export function xadd(byte: boolean, is32: boolean): H {
  return (c) => {
    const m = c.fetch8();
    const size = byte ? 7 : is32 ? 31 : 15;
    const g = (m >> 3) & 7;
    const src = byte ? c.reg8[R8[g]!]! : is32 ? c.reg32[g]! : c.reg16[g << 1]!;
    if (m >= 0xc0) {
      const e = m & 7;
      const dst = byte ? c.reg8[R8[e]!]! : is32 ? c.reg32[e]! : c.reg16[e << 1]!;
      const r = alu(c, 0, dst, src, size);
      if (byte) {
        c.reg8[R8[g]!] = dst;
        c.reg8[R8[e]!] = r;
      } else if (is32) {
        c.reg32[g] = dst;
        c.reg32[e] = r;
      } else {
        c.reg16[g << 1] = dst;
        c.reg16[e << 1] = r;
      }
      return;
    }
    const off = c.ea(m);
    const dst = byte ? c.rmw8(c.eaSeg, off) : is32 ? c.rmw32(c.eaSeg, off) : c.rmw16(c.eaSeg, off);
    const r = alu(c, 0, dst, src, size);
    if (byte) {
      c.wrRmw8(r);
      c.reg8[R8[g]!] = dst;
    } else if (is32) {
      c.wrRmw32(r);
      c.reg32[g] = dst;
    } else {
      c.wrRmw16(r);
      c.reg16[g << 1] = dst;
    }
  };
}
export function cmpxchg(byte: boolean, is32: boolean): H {
  return (c) => {
    const m = c.fetch8();
    const size = byte ? 7 : is32 ? 31 : 15;
    const g = (m >> 3) & 7;
    const src = byte ? c.reg8[R8[g]!]! : is32 ? c.reg32[g]! : c.reg16[g << 1]!;
    const acc = byte ? c.reg8[0]! : is32 ? c.reg32[0]! : c.reg16[0]!;
    if (m >= 0xc0) {
      const e = m & 7;
      const dst = byte ? c.reg8[R8[e]!]! : is32 ? c.reg32[e]! : c.reg16[e << 1]!;
      alu(c, 7, acc, dst, size);
      const eq = dst === acc;
      if (eq) {
        if (byte) c.reg8[R8[e]!] = src;
        else if (is32) c.reg32[e] = src;
        else c.reg16[e << 1] = src;
      } else if (byte) c.reg8[0] = dst;
      else if (is32) c.reg32[0] = dst;
      else c.reg16[0] = dst;
      return;
    }
    const off = c.ea(m);
    const dst = byte ? c.rmw8(c.eaSeg, off) : is32 ? c.rmw32(c.eaSeg, off) : c.rmw16(c.eaSeg, off);
    alu(c, 7, acc, dst, size);
    // the processor always writes the destination (the old value when unequal)
    const w = dst === acc ? src : dst;
    if (byte) c.wrRmw8(w);
    else if (is32) c.wrRmw32(w);
    else c.wrRmw16(w);
    if (dst !== acc) {
      if (byte) c.reg8[0] = dst;
      else if (is32) c.reg32[0] = dst;
      else c.reg16[0] = dst;
    }
  };
}
export function cmpxchg8b(c: Cpu): void {
  const m = c.modrm;
  if (m >= 0xc0) c.undefinedOpcode(0x0fc7);
  const off = c.ea(m);
  const seg = c.eaSeg;
  const lin = c.linW(seg, off, 8);
  if (c.acActive && (lin & 7) !== 0) c.fault(EXC.AC, 0);
  c.probeWrite(lin, 8);
  const lo = c.rd32(seg, off);
  const hi = c.rd32(seg, (off + 4) | 0);
  c.getEflags();
  if (lo === c.reg32[0] && hi === c.reg32[2]) {
    c.wr32(seg, off, c.reg32[3]!);
    c.wr32(seg, (off + 4) | 0, c.reg32[1]!);
    c.flags |= FLAG.ZF;
  } else {
    c.wr32(seg, off, lo);
    c.wr32(seg, (off + 4) | 0, hi);
    c.reg32[0] = lo;
    c.reg32[2] = hi;
    c.flags &= ~FLAG.ZF;
  }
}

// ---------------------------------------------------------------------------
// Stack
// ---------------------------------------------------------------------------

export function pushReg(reg: number, is32: boolean): H {
  if (is32)
    return (c) => {
      const sp = c.spOff(-4);
      c.wr32(SEG.SS, sp, c.reg32[reg]!);
      c.setSp(sp);
    };
  return (c) => {
    const sp = c.spOff(-2);
    c.wr16(SEG.SS, sp, c.reg16[reg << 1]!);
    c.setSp(sp);
  };
}
export function popReg(reg: number, is32: boolean): H {
  if (is32)
    return (c) => {
      const v = c.rd32(SEG.SS, c.spOff(0));
      c.setSp(c.spOff(4));
      c.reg32[reg] = v;
    };
  return (c) => {
    const v = c.rd16(SEG.SS, c.spOff(0));
    c.setSp(c.spOff(2));
    c.reg16[reg << 1] = v;
  };
}
export function pushSeg(seg: number, is32: boolean): H {
  if (is32)
    return (c) => {
      // a 32-bit push of a segment register writes only the low 16 bits (P6)
      const sp = c.spOff(-4);
      c.wr16(SEG.SS, sp, c.segSel[seg]!);
      c.setSp(sp);
    };
  return (c) => c.push16(c.segSel[seg]!);
}
export function popSeg(seg: number, is32: boolean): H {
  return (c) => {
    const v = c.rd16(SEG.SS, c.spOff(0));
    c.loadSegment(seg, v);
    c.setSp(c.spOff(is32 ? 4 : 2));
    if (seg === SEG.SS) {
      c.inhibitUntil = c.icount + 2;
      c.dbShadowUntil = c.icount + 2;
      c.eventsPending = true;
    }
  };
}
export function pushImm(byte: boolean, is32: boolean): H {
  return (c) => {
    const v = byte ? (c.fetch8() << 24) >> 24 : is32 ? c.fetch32() : c.fetch16();
    if (is32) c.push32(v);
    else c.push16(v & 0xffff);
  };
}
export function push_Ev(is32: boolean): H {
  return (c) => {
    const m = c.modrm;
    let v: number;
    if (m >= 0xc0) v = is32 ? c.reg32[m & 7]! : c.reg16[(m & 7) << 1]!;
    else {
      const off = c.ea(m);
      v = is32 ? c.rd32(c.eaSeg, off) : c.rd16(c.eaSeg, off);
    }
    if (is32) c.push32(v);
    else c.push16(v);
  };
}
export function pop_Ev(is32: boolean): H {
  return (c) => {
    const m = c.modrm;
    if ((m & 0x38) !== 0) c.undefinedOpcode(0x8f);
    const n = is32 ? 4 : 2;
    const v = is32 ? c.rd32(SEG.SS, c.spOff(0)) : c.rd16(SEG.SS, c.spOff(0));
    if (m >= 0xc0) {
      c.setSp(c.spOff(n));
      if (is32) c.reg32[m & 7] = v;
      else c.reg16[(m & 7) << 1] = v;
      return;
    }
    // the address is computed with the incremented ESP (SDM: POP with ESP base)
    const oldSp = c.reg32[4]!;
    c.setSp(c.spOff(n));
    try {
      const off = c.ea(m);
      if (is32) c.wr32(c.eaSeg, off, v);
      else c.wr16(c.eaSeg, off, v);
    } catch (e) {
      c.reg32[4] = oldSp;
      throw e;
    }
  };
}
export function pusha(is32: boolean): H {
  return (c) => {
    const n = is32 ? 4 : 2;
    const first = c.spOff(-8 * n);
    const sp = c.reg32[4]!;
    for (let i = 0; i < 8; i++) {
      const v = i === 4 ? (is32 ? sp : sp & 0xffff) : is32 ? c.reg32[i]! : c.reg16[i << 1]!;
      const at = c.spOff(-(i + 1) * n);
      if (is32) c.wr32(SEG.SS, at, v);
      else c.wr16(SEG.SS, at, v);
    }
    c.setSp(first);
  };
}
export function popa(is32: boolean): H {
  return (c) => {
    const n = is32 ? 4 : 2;
    const vals = c.scratch8;
    for (let i = 0; i < 8; i++) vals[7 - i] = is32 ? c.rd32(SEG.SS, c.spOff(i * n)) : c.rd16(SEG.SS, c.spOff(i * n));
    for (let i = 0; i < 8; i++) {
      if (i === 4) continue;
      if (is32) c.reg32[i] = vals[i]!;
      else c.reg16[i << 1] = vals[i]!;
    }
    c.setSp(c.spOff(8 * n));
  };
}
export function pushf(is32: boolean): H {
  return (c) => {
    const f = c.getEflags();
    if (c.v86 && c.iopl < 3) c.fault(EXC.GP, 0);
    if (is32) c.push32(f & 0x00fcffff); // VM and RF read as 0
    else c.push16(f & 0xffff);
  };
}
export function popf(is32: boolean): H {
  return (c) => {
    if (c.v86 && c.iopl < 3) c.fault(EXC.GP, 0);
    const v = is32 ? c.rd32(SEG.SS, c.spOff(0)) : c.rd16(SEG.SS, c.spOff(0));
    c.setSp(c.spOff(is32 ? 4 : 2));
    let mask = FLAG.CF | FLAG.PF | FLAG.AF | FLAG.ZF | FLAG.SF | FLAG.TF | FLAG.DF | FLAG.OF | FLAG.NT;
    if (is32) mask |= FLAG.AC | FLAG.ID;
    const pm = c.protectedMode;
    if (!pm || c.cpl === 0) mask |= FLAG.IOPL;
    if (!pm || c.cpl <= c.iopl) mask |= FLAG.IF;
    if (c.v86) mask = (mask | FLAG.IF) & ~FLAG.IOPL;
    c.setFlagsMasked(v, mask);
  };
}
export function enter(is32: boolean): H {
  return (c) => {
    const size = c.fetch16();
    const level = c.fetch8() & 0x1f;
    const n = is32 ? 4 : 2;
    const s32 = c.stack32;
    let sp = c.spOff(0);
    const mask = s32 ? -1 : 0xffff;
    const bp = s32 ? c.reg32[5]! : c.reg16[10]!;
    // write the frame, then commit
    sp = (sp - n) & mask;
    if (is32) c.wr32(SEG.SS, sp, c.reg32[5]!);
    else c.wr16(SEG.SS, sp, c.reg16[10]!);
    const frame = sp;
    let b = bp;
    for (let i = 1; i < level; i++) {
      b = (b - n) & mask;
      const v = is32 ? c.rd32(SEG.SS, b) : c.rd16(SEG.SS, b);
      sp = (sp - n) & mask;
      if (is32) c.wr32(SEG.SS, sp, v);
      else c.wr16(SEG.SS, sp, v);
    }
    if (level > 0) {
      sp = (sp - n) & mask;
      if (is32) c.wr32(SEG.SS, sp, frame);
      else c.wr16(SEG.SS, sp, frame);
    }
    const newSp = (sp - size) & mask;
    // the final stack pointer must be valid for a push (P6 checks the limit)
    // the final stack pointer must be writable (limit and paging), as on hardware
    c.probeWrite(c.linW(SEG.SS, newSp, n), n);
    if (is32) c.reg32[5] = frame;
    else c.reg16[10] = frame;
    c.setSp(newSp);
  };
}
export function leave(is32: boolean): H {
  return (c) => {
    const bp = c.stack32 ? c.reg32[5]! : c.reg16[10]!;
    const v = is32 ? c.rd32(SEG.SS, bp) : c.rd16(SEG.SS, bp);
    c.setSp(c.stack32 ? (bp + (is32 ? 4 : 2)) | 0 : (bp + (is32 ? 4 : 2)) & 0xffff);
    if (is32) c.reg32[5] = v;
    else c.reg16[10] = v;
  };
}

// ---------------------------------------------------------------------------
// Flags instructions
// ---------------------------------------------------------------------------

export function clc(c: Cpu): void {
  c.setArith(0, FLAG.CF);
}
export function stc(c: Cpu): void {
  c.setArith(FLAG.CF, FLAG.CF);
}
export function cmc(c: Cpu): void {
  c.setArith(c.getCF() ^ 1, FLAG.CF);
}
export function cld(c: Cpu): void {
  c.flags &= ~DF;
}
export function std(c: Cpu): void {
  c.flags |= DF;
}
export function cli(c: Cpu): void {
  if (c.protectedMode && c.cpl > c.iopl) c.fault(EXC.GP, 0);
  c.flags &= ~FLAG.IF;
}
export function sti(c: Cpu): void {
  if (c.protectedMode && c.cpl > c.iopl) c.fault(EXC.GP, 0);
  if (!(c.flags & FLAG.IF)) {
    c.flags |= FLAG.IF;
    c.inhibitUntil = c.icount + 2;
  }
  c.eventsPending = true;
}

// ---------------------------------------------------------------------------
// Misc
// ---------------------------------------------------------------------------

export function bound(is32: boolean): H {
  return (c) => {
    const m = c.fetch8();
    if (m >= 0xc0) c.undefinedOpcode(0x62);
    const off = c.ea(m);
    const d = (m >> 3) & 7;
    if (is32) {
      const lo = c.rd32(c.eaSeg, off);
      const hi = c.rd32(c.eaSeg, c.asz32 ? (off + 4) | 0 : (off + 4) & 0xffff);
      const v = c.reg32[d]!;
      if (v < lo || v > hi) c.fault(EXC.BR, -1);
    } else {
      const lo = (c.rd16(c.eaSeg, off) << 16) >> 16;
      const hi = (c.rd16(c.eaSeg, c.asz32 ? (off + 2) | 0 : (off + 2) & 0xffff) << 16) >> 16;
      const v = (c.reg16[d << 1]! << 16) >> 16;
      if (v < lo || v > hi) c.fault(EXC.BR, -1);
    }
  };
}
export function setFlagsFromResult(c: Cpu, r: number, size: number): void {
  setResultFlags(c, r, size, 0);
}
