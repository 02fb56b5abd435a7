/**
 * Arithmetic and logic: the eight ALU operations, INC/DEC/NEG/NOT, shifts
 * and rotates, MUL/IMUL/DIV/IDIV, BCD adjusts, bit tests and scans. Results
 * set the lazy-flag state of the CPU (see cpu.ts).
 */
import type { Cpu } from '../cpu.js';
import { FLAG, ARITH_FLAGS, EXC, R8 } from '../flags.js';

const CF = FLAG.CF;
const OF = FLAG.OF;
const AF = FLAG.AF;
const LOGIC_LAZY = FLAG.PF | FLAG.ZF | FLAG.SF;

export function maskOf(size: number): number {
  return size === 7 ? 0xff : size === 15 ? 0xffff : -1;
}

/** The eight ALU operations (ADD OR ADC SBB AND SUB XOR CMP) on values of `size` (7, 15 or 31 = top bit). */
export function alu(c: Cpu, op: number, a: number, b: number, size: number): number {
  let r: number;
  switch (op) {
    case 0: // add
      r = (a + b) | 0;
      c.lop1 = a;
      c.lop2 = b;
      c.laddres = r;
      break;
    case 1: // or
      r = a | b;
      c.flags &= ~(CF | OF | AF);
      c.flagsLazy = LOGIC_LAZY;
      c.lres = r;
      c.lsize = size;
      return r;
    case 2: { // adc
      const cf = c.getCF();
      r = (a + b + cf) | 0;
      c.lop1 = a;
      c.lop2 = b;
      c.laddres = r;
      break;
    }
    case 3: { // sbb
      const cf = c.getCF();
      r = (a - b - cf) | 0;
      c.lop1 = r;
      c.lop2 = b;
      c.laddres = a;
      break;
    }
    case 4: // and
      r = a & b;
      c.flags &= ~(CF | OF | AF);
      c.flagsLazy = LOGIC_LAZY;
      c.lres = r;
      c.lsize = size;
      return r;
    case 6: // xor
      r = a ^ b;
      c.flags &= ~(CF | OF | AF);
      c.flagsLazy = LOGIC_LAZY;
      c.lres = r;
      c.lsize = size;
      return r;
    default: // sub, cmp
      r = (a - b) | 0;
      c.lop1 = r;
      c.lop2 = b;
      c.laddres = a;
      break;
  }
  c.lres = r;
  c.lsize = size;
  c.flagsLazy = ARITH_FLAGS;
  return size === 7 ? r & 0xff : size === 15 ? r & 0xffff : r;
}

export function inc(c: Cpu, a: number, size: number): number {
  const cf = c.getCF();
  c.flags = (c.flags & ~CF) | cf;
  const r = (a + 1) | 0;
  c.lop1 = a;
  c.lop2 = 1;
  c.laddres = r;
  c.lres = r;
  c.lsize = size;
  c.flagsLazy = ARITH_FLAGS & ~CF;
  return size === 7 ? r & 0xff : size === 15 ? r & 0xffff : r;
}

export function dec(c: Cpu, a: number, size: number): number {
  const cf = c.getCF();
  c.flags = (c.flags & ~CF) | cf;
  const r = (a - 1) | 0;
  c.lop1 = r;
  c.lop2 = 1;
  c.laddres = a;
  c.lres = r;
  c.lsize = size;
  c.flagsLazy = ARITH_FLAGS & ~CF;
  return size === 7 ? r & 0xff : size === 15 ? r & 0xffff : r;
}

/** Sets SF/ZF/PF lazily from `r` and CF/OF/AF explicitly. */
export function setResultFlags(c: Cpu, r: number, size: number, cfofaf: number): void {
  c.flags = (c.flags & ~(CF | OF | AF)) | cfofaf;
  c.lres = r;
  c.lsize = size;
  c.flagsLazy = LOGIC_LAZY;
}

// ---------------------------------------------------------------------------
// Shifts and rotates (group 2). op = ModRM reg field. Count already read.
// ---------------------------------------------------------------------------

export function shift(c: Cpu, op: number, a: number, count: number, size: number): number {
  count &= 0x1f;
  if (count === 0) return a;
  const bits = size + 1;
  const mask = maskOf(size);
  a &= mask;
  let r: number;
  let cf: number;
  let of: number;
  switch (op) {
    case 0: { // rol
      const n = count % bits;
      r = n === 0 ? a : ((a << n) | (a >>> (bits - n))) & mask;
      cf = r & 1;
      of = ((r >>> size) & 1) ^ cf;
      c.setArith(cf | (of ? OF : 0), CF | OF);
      return r;
    }
    case 1: { // ror
      const n = count % bits;
      r = n === 0 ? a : ((a >>> n) | (a << (bits - n))) & mask;
      cf = (r >>> size) & 1;
      of = cf ^ ((r >>> (size - 1)) & 1);
      c.setArith(cf | (of ? OF : 0), CF | OF);
      return r;
    }
    case 2: { // rcl
      const n = size === 31 ? count : count % (bits + 1);
      let cin = c.getCF();
      r = a;
      for (let i = 0; i < n; i++) {
        const out = (r >>> size) & 1;
        r = ((r << 1) | cin) & mask;
        cin = out;
      }
      cf = cin;
      of = ((r >>> size) & 1) ^ cf;
      c.setArith(cf | (of ? OF : 0), CF | OF);
      return r;
    }
    case 3: { // rcr
      const n = size === 31 ? count : count % (bits + 1);
      let cin = c.getCF();
      r = a;
      for (let i = 0; i < n; i++) {
        const out = r & 1;
        r = ((r >>> 1) | (cin << size)) & mask;
        cin = out;
      }
      cf = cin;
      of = ((r >>> size) ^ (r >>> (size - 1))) & 1;
      c.setArith(cf | (of ? OF : 0), CF | OF);
      return r;
    }
    case 4:
    case 6: // shl/sal
      if (count < 32) {
        r = (a << count) & mask;
        cf = count <= bits ? (size === 31 ? (a >>> (32 - count)) & 1 : ((a << count) >>> bits) & 1) : 0;
      } else {
        r = 0;
        cf = 0;
      }
      of = ((r >>> size) & 1) ^ cf;
      setResultFlags(c, r, size, cf | (of ? OF : 0));
      return r;
    case 5: // shr
      r = a >>> count;
      cf = (a >>> (count - 1)) & 1;
      of = (a >>> size) & 1;
      setResultFlags(c, r, size, cf | (of ? OF : 0));
      return r;
    default: { // sar
      const s = size === 7 ? (a << 24) >> 24 : size === 15 ? (a << 16) >> 16 : a | 0;
      r = (s >> count) & mask;
      cf = (s >> (count - 1)) & 1;
      setResultFlags(c, r, size, cf);
      return r;
    }
  }
}

/** SHLD/SHRD (16 or 32 bits). */
export function shiftDouble(c: Cpu, left: boolean, a: number, b: number, count: number, size: number): number {
  count &= 0x1f;
  if (count === 0) return a;
  const mask = maskOf(size);
  let r: number;
  let cf: number;
  if (size === 15) {
    // 16-bit: counts 17..31 are undefined by the SDM; P6 shifts through the 48-bit window a:b:a.
    const w = (a & 0xffff) * 4294967296 + (b & 0xffff) * 65536 + (a & 0xffff);
    if (left) {
      const sh = w * 2 ** count;
      r = Math.floor(sh / 4294967296) % 65536;
      cf = Math.floor(sh / 281474976710656) % 2;
    } else {
      r = Math.floor(w / 2 ** count) % 65536;
      cf = Math.floor(w / 2 ** (count - 1)) % 2;
    }
  } else if (left) {
    r = (a << count) | (b >>> (32 - count));
    cf = (a >>> (32 - count)) & 1;
  } else {
    r = (a >>> count) | (b << (32 - count));
    cf = (a >>> (count - 1)) & 1;
  }
  r &= mask;
  const of = ((r ^ a) >>> size) & 1;
  setResultFlags(c, r, size, cf | (of ? OF : 0));
  return r;
}

// ---------------------------------------------------------------------------
// Multiply and divide
// ---------------------------------------------------------------------------

/** Unsigned 32x32 -> 64: returns low 32 bits, high in c.mulHi. */
export function mulU32(c: Cpu, a: number, b: number): number {
  a >>>= 0;
  b >>>= 0;
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const ll = aLo * bLo;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const hh = aHi * bHi;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  c.mulHi = (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) | 0;
  return Math.imul(a, b);
}

export function imulS32(c: Cpu, a: number, b: number): number {
  const lo = mulU32(c, a, b);
  let hi = c.mulHi;
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  c.mulHi = hi;
  return lo;
}

/** Flags after MUL/IMUL: CF=OF=overflow; SF/ZF/PF from the low result (undefined by the SDM), AF=0. */
export function mulFlags(c: Cpu, lo: number, size: number, overflow: boolean): void {
  setResultFlags(c, lo, size, overflow ? CF | OF : 0);
}

/** 64/32 unsigned division of hi:lo by d (d != 0). Sets c.divQ, c.divR; returns false on quotient overflow. */
export function divU64(c: Cpu, hi: number, lo: number, d: number): boolean {
  hi >>>= 0;
  lo >>>= 0;
  d >>>= 0;
  if (hi >= d) return false;
  if (hi < 0x200000) {
    const n = hi * 4294967296 + lo;
    const q = Math.floor(n / d);
    c.divQ = q | 0;
    c.divR = (n - q * d) | 0;
    return true;
  }
  let r = hi;
  let q = 0;
  for (let i = 31; i >= 0; i--) {
    const top = r >= 0x80000000;
    r = ((r * 2) + ((lo >>> i) & 1)) % 4294967296;
    if (top || r >= d) {
      r = (r - d + 4294967296) % 4294967296;
      q |= 1 << i;
    }
  }
  c.divQ = q | 0;
  c.divR = r | 0;
  return true;
}

export function div(c: Cpu, src: number, size: number, signed: boolean): void {
  const r = c.reg32;
  if (size === 7) {
    const ax = c.reg16[0]!;
    if (!signed) {
      src &= 0xff;
      if (src === 0) c.fault(EXC.DE, -1);
      const q = Math.floor(ax / src);
      if (q > 0xff) c.fault(EXC.DE, -1);
      c.reg8[0] = q;
      c.reg8[1] = ax % src;
    } else {
      const s = (src << 24) >> 24;
      if (s === 0) c.fault(EXC.DE, -1);
      const n = (ax << 16) >> 16;
      const q = Math.trunc(n / s);
      if (q > 127 || q < -128) c.fault(EXC.DE, -1);
      c.reg8[0] = q;
      c.reg8[1] = n % s;
    }
  } else if (size === 15) {
    const n0 = (c.reg16[4]! * 65536 + c.reg16[0]!) >>> 0;
    if (!signed) {
      src &= 0xffff;
      if (src === 0) c.fault(EXC.DE, -1);
      const q = Math.floor(n0 / src);
      if (q > 0xffff) c.fault(EXC.DE, -1);
      c.reg16[0] = q;
      c.reg16[4] = n0 % src;
    } else {
      const s = (src << 16) >> 16;
      if (s === 0) c.fault(EXC.DE, -1);
      const n = n0 | 0;
      const q = Math.trunc(n / s);
      if (q > 32767 || q < -32768) c.fault(EXC.DE, -1);
      c.reg16[0] = q;
      c.reg16[4] = n % s;
    }
  } else {
    if (src === 0) c.fault(EXC.DE, -1);
    if (!signed) {
      if (!divU64(c, r[2]!, r[0]!, src)) c.fault(EXC.DE, -1);
      r[0] = c.divQ;
      r[2] = c.divR;
    } else {
      let hi = r[2]!;
      let lo = r[0]!;
      const negN = hi < 0;
      if (negN) {
        // negate 64-bit
        lo = (~lo + 1) | 0;
        hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
      }
      const negD = src < 0;
      const d = negD ? -src >>> 0 : src >>> 0;
      if (!divU64(c, hi, lo, d)) c.fault(EXC.DE, -1);
      const qu = c.divQ >>> 0;
      const negQ = negN !== negD;
      if (negQ ? qu > 0x80000000 : qu > 0x7fffffff) c.fault(EXC.DE, -1);
      r[0] = negQ ? -qu | 0 : qu | 0;
      r[2] = negN ? -(c.divR >>> 0) | 0 : c.divR;
    }
  }
}

// ---------------------------------------------------------------------------
// BCD
// ---------------------------------------------------------------------------

export function daa(c: Cpu): void {
  const f = c.getEflags();
  const oldAl = c.reg8[0]!;
  const oldCf = f & CF;
  let al = oldAl;
  let cf = 0;
  let af = 0;
  if ((al & 0xf) > 9 || f & AF) {
    al += 6;
    cf = oldCf | (al > 0xff ? 1 : 0);
    af = AF;
  }
  if (oldAl > 0x99 || oldCf) {
    al += 0x60;
    cf = 1;
  }
  al &= 0xff;
  c.reg8[0] = al;
  const of = (~oldAl & al & 0x80) !== 0 ? OF : 0; // undefined; P6 sets OF like an ADD of the adjustment
  setResultFlags(c, al, 7, cf | af | of);
}

export function das(c: Cpu): void {
  const f = c.getEflags();
  const oldAl = c.reg8[0]!;
  const oldCf = f & CF;
  let al = oldAl;
  let cf = 0;
  let af = 0;
  if ((al & 0xf) > 9 || f & AF) {
    cf = oldCf | (al < 6 ? 1 : 0);
    al = (al - 6) & 0xff;
    af = AF;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al - 0x60) & 0xff;
    cf = 1;
  }
  c.reg8[0] = al;
  const of = (oldAl & ~al & 0x80) !== 0 ? OF : 0;
  setResultFlags(c, al, 7, cf | af | of);
}

export function aaa(c: Cpu): void {
  const f = c.getEflags();
  if ((c.reg8[0]! & 0xf) > 9 || f & AF) {
    c.reg16[0] = (c.reg16[0]! + 0x106) & 0xffff;
    c.reg8[0] = c.reg8[0]! & 0xf;
    setResultFlags(c, c.reg8[0]!, 7, CF | AF);
  } else {
    c.reg8[0] = c.reg8[0]! & 0xf;
    setResultFlags(c, c.reg8[0]!, 7, 0);
  }
}

export function aas(c: Cpu): void {
  const f = c.getEflags();
  if ((c.reg8[0]! & 0xf) > 9 || f & AF) {
    c.reg16[0] = (c.reg16[0]! - 6) & 0xffff;
    c.reg8[1] = (c.reg8[1]! - 1) & 0xff;
    c.reg8[0] = c.reg8[0]! & 0xf;
    setResultFlags(c, c.reg8[0]!, 7, CF | AF);
  } else {
    c.reg8[0] = c.reg8[0]! & 0xf;
    setResultFlags(c, c.reg8[0]!, 7, 0);
  }
}

export function aam(c: Cpu, base: number): void {
  if (base === 0) c.fault(EXC.DE, -1);
  const al = c.reg8[0]!;
  c.reg8[1] = Math.floor(al / base);
  c.reg8[0] = al % base;
  setResultFlags(c, c.reg8[0]!, 7, 0);
}

export function aad(c: Cpu, base: number): void {
  const al = c.reg8[0]!;
  const ah = c.reg8[1]!;
  const prod = (ah * base) & 0xff;
  const r = alu(c, 0, al, prod, 7); // flags as an 8-bit ADD (SF, ZF, PF defined; the others match P6)
  c.reg16[0] = r & 0xff;
}

// ---------------------------------------------------------------------------
// Bit scan
// ---------------------------------------------------------------------------

export function bsf(c: Cpu, v: number, size: number, old: number): number {
  v &= maskOf(size);
  if (v === 0) {
    c.getEflags();
    c.flags |= FLAG.ZF;
    return old;
  }
  const r = 31 - Math.clz32(v & -v);
  setResultFlags(c, 1, 31, 0);
  return r;
}

export function bsr(c: Cpu, v: number, size: number, old: number): number {
  v &= maskOf(size);
  if (v === 0) {
    c.getEflags();
    c.flags |= FLAG.ZF;
    return old;
  }
  const r = 31 - Math.clz32(v);
  setResultFlags(c, 1, 31, 0);
  return r;
}

/** 8-bit register operand helper used by several modules. */
export function r8(c: Cpu, reg: number): number {
  return c.reg8[R8[reg]!]!;
}
