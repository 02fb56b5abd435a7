/**
 * Allocation-free fast paths for the common x87 cases: both operands normal
 * and the result's exponent in the normal range. The significand is kept as
 * 32-bit limbs (hi, lo, ext) plus a sticky flag; anything else (denormals,
 * tiny or huge results, zero results) returns false and the caller takes the
 * exact BigInt path in f80.ts. fast.test.ts checks both paths agree.
 */
import { RC_NEAREST, RC_DOWN, RC_UP, X87_SW_PE } from './f80.js';

/** Result of a fast operation. */
export const FR = { se: 0, hi: 0, lo: 0, flags: 0, up: false };

const TWO32 = 4294967296;

/**
 * Rounds the normalised significand (hi has bit 31 set) hi:lo:ext + sticky
 * with biased exponent E to p bits (24/53/64) under rc. Returns false when
 * the result leaves the normal range (the caller falls back).
 */
function roundLimbs(sign: number, E: number, hi: number, lo: number, ext: number, sticky: boolean, p: number, rc: number): boolean {
  if (E < 1) return false;
  let half: boolean, rest: boolean, odd: boolean;
  if (p === 64) {
    half = (ext & 0x80000000) !== 0;
    rest = (ext & 0x7fffffff) !== 0 || sticky;
    odd = (lo & 1) !== 0;
  } else if (p === 53) {
    half = (lo & 0x400) !== 0;
    rest = (lo & 0x3ff) !== 0 || ext !== 0 || sticky;
    odd = (lo & 0x800) !== 0;
    lo = (lo & 0xfffff800) >>> 0;
  } else {
    half = (hi & 0x80) !== 0;
    rest = (hi & 0x7f) !== 0 || lo !== 0 || ext !== 0 || sticky;
    odd = (hi & 0x100) !== 0;
    hi = (hi & 0xffffff00) >>> 0;
    lo = 0;
  }
  const inexact = half || rest;
  let inc = false;
  if (inexact) {
    if (rc === RC_NEAREST) inc = half && (rest || odd);
    else if (rc === RC_DOWN) inc = sign === 1;
    else if (rc === RC_UP) inc = sign === 0;
  }
  if (inc) {
    const unit = p === 64 ? 1 : p === 53 ? 0x800 : 0;
    if (p === 24) {
      hi = hi + 0x100;
      if (hi >= TWO32) { hi = 0x80000000; E++; }
    } else {
      lo = lo + unit;
      if (lo >= TWO32) { lo -= TWO32; hi = hi + 1; if (hi >= TWO32) { hi = 0x80000000; E++; } }
    }
  }
  if (E > 0x7ffe) return false;
  FR.se = (sign << 15) | E;
  FR.hi = hi >>> 0;
  FR.lo = lo >>> 0;
  FR.flags = inexact ? X87_SW_PE : 0;
  FR.up = inc;
  return true;
}

/** (-1)^xs x + (-1)^ys y for normal operands. */
export function addFast(xSE: number, xHi: number, xLo: number, ySE: number, yHi: number, yLo: number, p: number, rc: number): boolean {
  let ae = xSE & 0x7fff, be = ySE & 0x7fff;
  let as = xSE >>> 15, bs = ySE >>> 15;
  let ah = xHi, al = xLo, bh = yHi, bl = yLo;
  // order by magnitude: a >= b
  if (be > ae || (be === ae && (bh > ah || (bh === ah && bl > al)))) {
    let t = ae; ae = be; be = t;
    t = as; as = bs; bs = t;
    t = ah; ah = bh; bh = t;
    t = al; al = bl; bl = t;
  }
  const d = ae - be;
  // align b: (bh, bl, bx) + sticky
  let bx = 0;
  let sticky = false;
  if (d >= 96) { sticky = true; bh = 0; bl = 0; }
  else if (d > 0) {
    if (d >= 64) { sticky = bl !== 0 || (d > 64 && (bh & ((1 << (d - 64)) - 1)) !== 0); bx = d === 64 ? bh : bh >>> (d - 64); bh = 0; bl = 0; }
    else if (d >= 32) {
      const s = d - 32;
      if (s === 0) { bx = bl; bl = bh; bh = 0; }
      else { sticky = (bl & ((1 << s) - 1)) !== 0; bx = ((bl >>> s) | (bh << (32 - s))) >>> 0; bl = bh >>> s; bh = 0; }
    } else {
      bx = (bl << (32 - d)) >>> 0; bl = ((bl >>> d) | (bh << (32 - d))) >>> 0; bh = bh >>> d;
    }
  }
  let E = ae;
  let rh: number, rl: number, rx: number;
  if (as === bs) {
    rx = bx; // a has no ext bits
    rl = al + bl; let c = rl >= TWO32 ? 1 : 0; if (c) rl -= TWO32;
    rh = ah + bh + c;
    if (rh >= TWO32) {
      rh -= TWO32;
      // shift right 1, bring the carry in
      sticky = sticky || (rx & 1) !== 0;
      rx = ((rx >>> 1) | ((rl & 1) << 31)) >>> 0;
      rl = ((rl >>> 1) | ((rh & 1) << 31)) >>> 0;
      rh = ((rh >>> 1) | 0x80000000) >>> 0;
      E++;
    }
  } else {
    // a - b - (sticky ? epsilon : 0): the sticky bit borrows from ext
    let x = 0 - bx - (sticky ? 1 : 0); let br = 0;
    if (x < 0) { x += TWO32; br = 1; }
    let l = al - bl - br; br = 0;
    if (l < 0) { l += TWO32; br = 1; }
    const h = ah - bh - br;
    rh = h; rl = l; rx = x;
    if ((rh | rl | rx) === 0 && !sticky) return false; // exact zero: slow path handles the sign
    // normalise left
    while (rh === 0) {
      rh = rl; rl = rx; rx = 0; E -= 32;
      if (E < -100) return false;
    }
    const lz = Math.clz32(rh);
    if (lz) {
      rh = ((rh << lz) | (rl >>> (32 - lz))) >>> 0;
      rl = ((rl << lz) | (rx >>> (32 - lz))) >>> 0;
      rx = (rx << lz) >>> 0;
      E -= lz;
    }
  }
  return roundLimbs(as, E, rh, rl, rx, sticky, p, rc);
}

// 32x32 -> 64 multiply into mh:ml
let mh = 0, ml = 0;
function mul32(a: number, b: number): void {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const mid = al * bh + ah * bl; // < 2^33
  const midLo = mid % 65536;
  const t = al * bl + midLo * 65536; // < 2^33
  ml = t >>> 0;
  mh = ah * bh + (mid - midLo) / 65536 + (t - ml) / TWO32;
}

export function mulFast(xSE: number, xHi: number, xLo: number, ySE: number, yHi: number, yLo: number, p: number, rc: number): boolean {
  const sign = (xSE ^ ySE) >>> 15;
  let E = (xSE & 0x7fff) + (ySE & 0x7fff) - 16383 + 1;
  // 128-bit product r3:r2:r1:r0
  mul32(xLo, yLo); const r0 = ml; let r1 = mh;
  mul32(xHi, yLo); r1 += ml; let r2 = mh;
  mul32(xLo, yHi); r1 += ml; r2 += mh;
  mul32(xHi, yHi); r2 += ml; let r3 = mh;
  // propagate carries (each limb < 2^34 here)
  let c = Math.floor(r1 / TWO32); r1 -= c * TWO32; r2 += c;
  c = Math.floor(r2 / TWO32); r2 -= c * TWO32; r3 += c;
  let hi = r3, lo = r2, ext = r1;
  let sticky = r0 !== 0;
  if (hi < 0x80000000) {
    hi = ((hi << 1) | (lo >>> 31)) >>> 0;
    lo = ((lo << 1) | (ext >>> 31)) >>> 0;
    ext = ((ext << 1) | (r0 >>> 31)) >>> 0;
    sticky = (r0 & 0x7fffffff) !== 0;
    E--;
  }
  return roundLimbs(sign, E, hi, lo, ext, sticky, p, rc);
}

/** x / y for normal operands: restoring division producing 66 quotient bits and a sticky remainder. */
export function divFast(xSE: number, xHi: number, xLo: number, ySE: number, yHi: number, yLo: number, p: number, rc: number): boolean {
  const sign = (xSE ^ ySE) >>> 15;
  let E = (xSE & 0x7fff) - (ySE & 0x7fff) + 16383;
  // remainder r (65 bits: rt:rh:rl), divisor d (dh:dl)
  let rt = 0, rh = xHi, rl = xLo;
  const dh = yHi, dl = yLo;
  if (rh < dh || (rh === dh && rl < dl)) {
    // x < y: pre-shift so the first quotient bit is 1
    rt = rh >>> 31; rh = ((rh << 1) | (rl >>> 31)) >>> 0; rl = (rl << 1) >>> 0;
    E--;
  }
  // 66 quotient bits: 64 into qh:ql, then the guard and round bits into qx's top
  let qh = 0, ql = 0, qx = 0;
  for (let i = 0; i < 66; i++) {
    let bit = 0;
    if (rt || rh > dh || (rh === dh && rl >= dl)) {
      let l = rl - dl, br = 0;
      if (l < 0) { l += TWO32; br = 1; }
      rh = rh - dh - br;
      if (rh < 0) rh += TWO32;
      rl = l; rt = 0;
      bit = 1;
    }
    if (i < 64) { qh = ((qh << 1) | (ql >>> 31)) >>> 0; ql = ((ql << 1) | bit) >>> 0; }
    else if (bit) qx |= i === 64 ? 0x80000000 : 0x40000000;
    rt = rh >>> 31; rh = ((rh << 1) | (rl >>> 31)) >>> 0; rl = (rl << 1) >>> 0;
  }
  qx >>>= 0;
  return roundLimbs(sign, E, qh, ql, qx, (rt | rh | rl) !== 0, p, rc);
}

/** Rounds a normal extended value to binary64 when the result is a normal double: R-style output in FR.hi:FR.lo. */
export function toF64Fast(se: number, hi: number, lo: number, rc: number): boolean {
  const e = se & 0x7fff;
  const E = e - 16383 + 1023;
  if (E < 1 || E > 0x7fe) return false;
  const sign = se >>> 15;
  if (!roundLimbs(sign, e, hi, lo, 0, false, 53, rc)) return false;
  const E2 = (FR.se & 0x7fff) - 16383 + 1023;
  if (E2 > 0x7fe) return false;
  const h = FR.hi, l = FR.lo;
  FR.hi = ((sign << 31) | (E2 << 20) | ((h >>> 11) & 0xfffff)) >>> 0;
  FR.lo = ((h << 21) | (l >>> 11)) >>> 0;
  return true;
}

/** Rounds a normal extended value to binary32 when the result is a normal float: result in FR.lo. */
export function toF32Fast(se: number, hi: number, lo: number, rc: number): boolean {
  const e = se & 0x7fff;
  const E = e - 16383 + 127;
  if (E < 1 || E > 0xfe) return false;
  const sign = se >>> 15;
  if (!roundLimbs(sign, e, hi, lo, 0, false, 24, rc)) return false;
  const E2 = (FR.se & 0x7fff) - 16383 + 127;
  if (E2 > 0xfe) return false;
  FR.lo = ((sign << 31) | (E2 << 23) | ((FR.hi >>> 8) & 0x7fffff)) >>> 0;
  FR.hi = 0;
  return true;
}

/**
 * sqrt of a positive normal operand: digit-by-digit square root of the
 * significand scaled to 134 bits, giving a 67-bit root (64 bits, a guard
 * bit, two more) and a sticky remainder.
 */
export function sqrtFast(se: number, hi: number, lo: number, p: number, rc: number): boolean {
  const k = (se & 0x7fff) - 16383;
  const s = (k & 1) === 0 ? 69 : 70;
  // remainder r2:r1:r0 and root q2:q1:q0, both < 2^70
  let r2 = 0, r1 = 0, r0 = 0, q2 = 0, q1 = 0, q0 = 0;
  for (let j = 0; j < 67; j++) {
    const pos = 133 - 2 * j - s; // bit index in m of the pair's high bit
    let pair = 0;
    if (pos >= 0 && pos <= 63) pair = (pos < 32 ? (lo >>> pos) : (hi >>> (pos - 32))) & 1;
    pair <<= 1;
    const pl = pos - 1;
    if (pl >= 0 && pl <= 63) pair |= (pl < 32 ? (lo >>> pl) : (hi >>> (pl - 32))) & 1;
    // rem = rem << 2 | pair
    r2 = ((r2 << 2) | (r1 >>> 30)) >>> 0; r1 = ((r1 << 2) | (r0 >>> 30)) >>> 0; r0 = ((r0 << 2) | pair) >>> 0;
    // trial = root << 2 | 1
    const t2 = ((q2 << 2) | (q1 >>> 30)) >>> 0, t1 = ((q1 << 2) | (q0 >>> 30)) >>> 0, t0 = ((q0 << 2) | 1) >>> 0;
    const ge = r2 > t2 || (r2 === t2 && (r1 > t1 || (r1 === t1 && r0 >= t0)));
    q2 = ((q2 << 1) | (q1 >>> 31)) >>> 0; q1 = ((q1 << 1) | (q0 >>> 31)) >>> 0; q0 = ((q0 << 1) | (ge ? 1 : 0)) >>> 0;
    if (ge) {
      let x0 = r0 - t0, b = 0;
      if (x0 < 0) { x0 += TWO32; b = 1; }
      let x1 = r1 - t1 - b; b = 0;
      if (x1 < 0) { x1 += TWO32; b = 1; }
      r2 = (r2 - t2 - b) >>> 0; r1 = x1; r0 = x0;
    }
  }
  // root has 67 bits: q2 holds bits 66..64
  const h = ((q2 << 29) | (q1 >>> 3)) >>> 0;
  const l = ((q1 << 29) | (q0 >>> 3)) >>> 0;
  const x = (q0 << 29) >>> 0;
  return roundLimbs(0, (k >> 1) + 16383, h, l, x, (r2 | r1 | r0) !== 0, p, rc);
}
