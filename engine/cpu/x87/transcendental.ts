/**
 * The x87's constants and transcendental instructions, computed in software
 * with BigInt fixed-point arithmetic (F = 128 fraction bits) and rounded once
 * to 64 bits under the rounding control (precision control does not apply).
 * Results are deterministic on every host (no Math.*).
 *
 * Argument reduction for FSIN/FCOS/FSINCOS/FPTAN uses pi to `REDUCTION_PI_BITS`
 * significant bits, modelling the hardware's finite internal pi (Intel
 * documents 66 bits); see the tests for the measured agreement with the host.
 */
import type { X87 } from './x87.js';
import {
  R, classify, roundPack, sig64, bitLength, isqrt,
  CLS_ZERO, CLS_DENORMAL, CLS_INF, CLS_QNAN, CLS_SNAN, CLS_UNSUPPORTED,
  FMT_EXT, X87_SW_IE, X87_SW_DE, X87_SW_ZE, X87_SW_UE, X87_SW_OE, X87_SW_PE,
} from './f80.js';

const F = 128;
const FB = BigInt(F);
const ONE = 1n << FB;

function atanhInv(n: bigint): bigint {
  // atanh(1/n) in fixed point
  let sum = 0n;
  let pow = ONE / n;
  const n2 = n * n;
  for (let k = 1n; pow !== 0n; k += 2n) { sum += pow / k; pow /= n2; }
  return sum;
}
function atanInv(n: bigint): bigint {
  let sum = 0n;
  let pow = ONE / n;
  const n2 = n * n;
  let sign = 1n;
  for (let k = 1n; pow !== 0n; k += 2n) { sum += sign * (pow / k); pow /= n2; sign = -sign; }
  return sum;
}

const LN2 = 2n * atanhInv(3n);
const LN10 = 3n * LN2 + 2n * atanhInv(9n);
const PI = 16n * atanInv(5n) - 4n * atanInv(239n);
const LOG2E = (ONE * ONE) / LN2;
const LOG2T = (LN10 * ONE) / LN2;
const LOG10_2 = (LN2 * ONE) / LN10;
const SQRT2 = isqrt(2n * ONE * ONE);

/** Significant bits of the pi used for argument reduction (0 = exact). */
export const REDUCTION_PI_BITS = 66;
function truncatePi(bits: number): bigint {
  if (bits === 0) return PI;
  const L = bitLength(PI);
  const sh = BigInt(L - bits);
  return (PI >> sh) << sh;
}
const PI_RED = truncatePi(REDUCTION_PI_BITS);
const HALF_PI_RED = PI_RED >> 1n;

// ---- series in absolute fixed point (u, results scaled by ONE) ----

function mulF(a: bigint, b: bigint): bigint {
  return (a * b) >> FB;
}
/** sin(r)/r with u = r^2 */
function sinSeries(u: bigint): bigint {
  let sum = ONE, term = ONE;
  for (let k = 1n; ; k++) {
    term = -mulF(term, u) / ((2n * k) * (2n * k + 1n));
    if (term === 0n) break;
    sum += term;
  }
  // when the argument is so small that the series collapses to 1, keep the
  // true value's direction (sin(r)/r < 1) so that directed rounding is right
  return sum === ONE ? ONE - 1n : sum;
}
function cosSeries(u: bigint): bigint {
  let sum = ONE, term = ONE;
  for (let k = 1n; ; k++) {
    term = -mulF(term, u) / ((2n * k - 1n) * (2n * k));
    if (term === 0n) break;
    sum += term;
  }
  return sum === ONE ? ONE - 1n : sum; // cos(r) < 1 (see sinSeries)
}
/** atan(t)/t (sign -1) or atanh(t)/t (sign +1) with u = t^2 */
function atanSeries(u: bigint, sign: bigint): bigint {
  let sum = ONE, pow = ONE;
  for (let k = 1n; ; k++) {
    pow = mulF(pow, u) * sign;
    const term = pow / (2n * k + 1n);
    if (term === 0n && pow === 0n) break;
    if (term === 0n) break;
    sum += term;
  }
  return sum === ONE ? ONE + sign : sum; // direction kept (see sinSeries)
}
/** expm1(y)/y */
function expm1Series(y: bigint): bigint {
  let sum = ONE, term = ONE;
  for (let k = 2n; ; k++) {
    term = mulF(term, y) / k;
    if (term === 0n) break;
    sum += term;
  }
  return sum === ONE ? (y < 0n ? ONE - 1n : ONE + 1n) : sum; // direction kept (see sinSeries)
}

/** A value m * 2^q with m > 0 (BigInt), the currency of this module. */
let vm = 0n;
let vq = 0;
/** Sets (vm, vq) to the fixed-point value f (may be negative: returns sign). */
function fromFixed(f: bigint): number {
  if (f < 0n) { vm = -f; vq = -F; return 1; }
  vm = f; vq = -F; return 0;
}
/** Converts m*2^q to fixed point (truncating). */
function toFixed(m: bigint, q: number): bigint {
  const s = q + F;
  return s >= 0 ? m << BigInt(s) : m >> BigInt(-s);
}
/** Renormalises (m, q) to about `bits` significant bits (truncating: callers treat results as inexact). */
function trim(m: bigint, q: number, bits = F): void {
  const L = bitLength(m);
  if (L > bits) { vm = m >> BigInt(L - bits); vq = q + (L - bits); }
  else { vm = m; vq = q; }
}

/** atan(t) for t = m*2^q >= 0 -> (vm, vq). */
function atanPos(m: bigint, q: number): void {
  // t > 1: pi/2 - atan(1/t)
  const L = bitLength(m);
  const big = q + L - 1 >= 0 && !(q + L - 1 === 0 && m === 1n << BigInt(L - 1)); // t > 1 (t == 1 handled below)
  if (q + L - 1 === 0 && m === 1n << BigInt(L - 1)) { vm = PI >> 2n; vq = -F; return; } // atan(1) = pi/4
  if (big) {
    // 1/t in fixed point
    const inv = (ONE << BigInt(Math.max(0, -q))) / (m << BigInt(Math.max(0, q))); // approximately ONE / t
    const a = atanFixedSmall(inv);
    fromFixed((PI >> 1n) - a);
    return;
  }
  // t <= 1: if t is small, keep relative precision
  if (q + L - 1 < -8) {
    trim(m, q, F);
    const tm = vm, tq = vq;
    const tf = toFixed(tm, tq);
    const u = mulF(tf, tf);
    const s = atanSeries(u, -1n);
    trim(tm * s, tq - F);
    return;
  }
  fromFixed(atanFixedSmall(toFixed(m, q)));
}
/** atan of a fixed-point t in [0, 1] (absolute precision), via two halvings. */
function atanFixedSmall(t: bigint): bigint {
  // atan(t) = 2 atan(t / (1 + sqrt(1 + t^2)))
  let x = t;
  let mul = 1n;
  for (let i = 0; i < 3; i++) {
    const s = isqrt((ONE * ONE) + x * x); // sqrt(1 + x^2) * ONE
    x = (x * ONE) / (ONE + s);
    mul *= 2n;
  }
  const u = mulF(x, x);
  return mul * mulF(x, atanSeries(u, -1n));
}

/** ln(m * 2^q) for positive m*2^q -> fixed point (absolute, F bits) plus relative form in (vm, vq). */
function lnPos(m: bigint, q: number): void {
  // m*2^q = 2^e * y with y in [sqrt(1/2), sqrt(2))
  const L = bitLength(m);
  let e = q + L - 1; // value in [2^e, 2^(e+1))
  // y = m / 2^(L-1) in [1, 2); if y >= sqrt2 -> y/2, e+1
  const yF = (m << FB) >> BigInt(L - 1); // y in fixed point
  let num: bigint, den: bigint;
  if (yF >= SQRT2) { e += 1; num = yF - 2n * ONE; den = yF + 2n * ONE; } // y/2: (y/2 - 1)/(y/2 + 1) = (y-2)/(y+2)
  else { num = yF - ONE; den = yF + ONE; }
  // t = num/den, small |t| <= 0.172; relative form
  let tm: bigint, tq: number, ts = 0;
  if (num < 0n) { ts = 1; num = -num; }
  if (num === 0n) { tm = 0n; tq = 0; }
  else {
    const sh = F + bitLength(den) - bitLength(num) + 2;
    tm = (num << BigInt(sh)) / den; tq = -sh;
  }
  let lnRelM = 0n, lnRelQ = 0;
  if (tm !== 0n) {
    trim(tm, tq); tm = vm; tq = vq;
    const tf = toFixed(tm, tq);
    const s = atanSeries(mulF(tf, tf), 1n);
    lnRelM = tm * s * 2n; lnRelQ = tq - F;
  }
  // total = e*ln2 + (+-) lnRel
  if (e === 0) {
    if (lnRelM === 0n) { vm = 0n; vq = 0; lnSign = 0; return; }
    trim(lnRelM, lnRelQ); lnSign = ts; return;
  }
  const total = BigInt(e) * LN2 + (ts ? -toFixed(lnRelM, lnRelQ) : toFixed(lnRelM, lnRelQ));
  lnSign = fromFixed(total);
}
export let lnSign = 0;

/** ln(1 + x) for x = (-1)^s m 2^q with |x| small, relative precision -> (vm, vq), lnSign. */
function ln1p(s: number, m: bigint, q: number): void {
  // t = x / (2 + x)
  const xf = toFixed(m, q + 8) ; // x * 2^8 in fixed F (more precision)
  const den = (2n * ONE << 8n) + (s ? -xf : xf);
  // relative t: m * 2^q / den*2^-(F+8)
  const sh = F + bitLength(den) - bitLength(m) + 2;
  const tm = ((m << BigInt(sh)) * (1n << BigInt(F + 8))) / (den << 0n);
  let tq = q - sh - 0;
  // tm/2^(F+8)... careful: t = m*2^q / (den * 2^-(F+8)) = m * 2^(q+F+8) / den
  // computed tm = m*2^(sh+F+8)/den, so t = tm * 2^(q - sh)
  tq = q - sh;
  trim(tm, tq);
  const tmm = vm, tqq = vq;
  const tf = toFixed(tmm, tqq);
  const ser = atanSeries(mulF(tf, tf), 1n);
  trim(tmm * ser * 2n, tqq - F);
  lnSign = s;
}

export class Transcendental {
  /** FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (k = modrm - 0xE8) into R. */
  constant(k: number, rc: number): void {
    let f: bigint;
    switch (k) {
      case 0: R.se = 0x3fff; R.hi = 0x80000000; R.lo = 0; return;
      case 1: f = LOG2T; break;
      case 2: f = LOG2E; break;
      case 3: f = PI; break;
      case 4: f = LOG10_2; break;
      case 5: f = LN2; break;
      default: R.se = 0; R.hi = 0; R.lo = 0; return;
    }
    roundPack(0, f, -F, true, FMT_EXT, 64, rc, true, true, true);
  }

  /** kind 0 FSIN, 1 FCOS, 2 FSINCOS, 3 FPTAN */
  fsincos(x: X87, kind: number): void {
    const p0 = x.tos;
    const pushes = kind >= 2;
    x.setC2Flag(false);
    if (x.tagEmpty[p0]) {
      if (x.stackUnderflow()) { x.writeIndef(p0); if (pushes) { x.doPush(); x.writeIndef(x.tos); } }
      return;
    }
    if (pushes && !x.tagEmpty[(p0 - 1) & 7]) {
      if (x.stackOverflow()) { x.writeIndef(p0); x.doPush(); x.writeIndef(x.tos); }
      return;
    }
    x.setC1Flag(false);
    const se = x.regSE[p0]!, hi = x.regHi[p0]!, lo = x.regLo[p0]!;
    const c = classify(se, hi, lo);
    x.setC2Flag(false);
    if (c === CLS_UNSUPPORTED || c === CLS_INF) {
      x.raiseFlags(X87_SW_IE);
      if (!x.isMasked(X87_SW_IE)) return;
      x.writeIndef(p0);
      if (pushes) { x.doPush(); x.writeIndef(x.tos); }
      return;
    }
    if (c === CLS_QNAN || c === CLS_SNAN) {
      if (c === CLS_SNAN) { x.raiseFlags(X87_SW_IE); if (!x.isMasked(X87_SW_IE)) return; }
      const qh = (hi | 0x40000000) >>> 0;
      x.writePhys(p0, se, qh, lo);
      if (pushes) { x.doPush(); x.writePhys(x.tos, se, qh, lo); }
      return;
    }
    const e = se & 0x7fff;
    if (e - 16383 >= 63) { x.setC2Flag(true); return; }
    if (c === CLS_DENORMAL) { x.raiseFlags(X87_SW_DE); if (!x.isMasked(X87_SW_DE)) return; }
    const sign = se >>> 15;
    const rc = x.rcBits();
    const um = x.isMasked(X87_SW_UE), om = x.isMasked(X87_SW_OE);
    if (c === CLS_ZERO) {
      // sin(+-0) = +-0, cos(0) = 1, tan(+-0) = +-0
      if (kind === 1) x.writePhys(p0, 0x3fff, 0x80000000, 0);
      else if (kind === 2) { x.writePhys(p0, se, 0, 0); x.doPush(); x.writePhys(x.tos, 0x3fff, 0x80000000, 0); }
      else if (kind === 3) { x.doPush(); x.writePhys(x.tos, 0x3fff, 0x80000000, 0); }
      return;
    }
    const m = sig64(hi, lo);
    const q = (e === 0 ? 1 : e) - 16383 - 63;
    // reduce |x| = k * pi/2 + r
    let k = 0n;
    let rm: bigint, rq: number, rs = 0;
    if (q + bitLength(m) - 1 < -1) { rm = m; rq = q; } // |x| < 1/2 < pi/4
    else {
      const xf = toFixed(m, q);
      k = (xf + (HALF_PI_RED >> 1n)) / HALF_PI_RED;
      const r = xf - k * HALF_PI_RED;
      rs = fromFixed(r); rm = vm; rq = vq;
      if (rm === 0n) { rm = 1n; rq = -F - 40; }
    }
    const q4 = Number(k & 3n);
    const rf = toFixed(rm, rq);
    const u = mulF(rf, rf);
    const sinM = rm * sinSeries(u), sinQ = rq - F; // sin(|r|) relative; sign rs
    const cosF = cosSeries(u);
    // sin(x) for |x|: quadrant
    let sS: number, sM: bigint, sQ: number, cS: number, cM: bigint, cQ: number;
    switch (q4) {
      case 0: sS = rs; sM = sinM; sQ = sinQ; cS = 0; cM = cosF; cQ = -F; break;
      case 1: sS = 0; sM = cosF; sQ = -F; cS = rs ^ 1; cM = sinM; cQ = sinQ; break;
      case 2: sS = rs ^ 1; sM = sinM; sQ = sinQ; cS = 1; cM = cosF; cQ = -F; break;
      default: sS = 1; sM = cosF; sQ = -F; cS = rs; cM = sinM; cQ = sinQ; break;
    }
    sS ^= sign; // sin is odd, cos even
    let flags = 0;
    const put = (p: number, s: number, mm: bigint, qq: number): void => {
      roundPack(s, mm, qq, true, FMT_EXT, 64, rc, um, om, true);
      flags |= R.flags;
      x.writePhys(p, R.se, R.hi, R.lo);
      x.setC1Flag(R.up);
    };
    if (kind === 0) put(p0, sS, sM, sQ);
    else if (kind === 1) put(p0, cS, cM, cQ);
    else if (kind === 2) {
      put(p0, sS, sM, sQ);
      const up1 = R.up;
      x.doPush();
      put(x.tos, cS, cM, cQ);
      x.setC1Flag(up1); // C1 reports the sine's rounding (measured)
    } else {
      // tan = sin / cos
      const sh = Math.max(0, 200 + bitLength(cM) - bitLength(sM));
      const num = sM << BigInt(sh);
      const quo = num / cM;
      // an exact quotient only happens when both series collapsed (tiny r): tan(r) > r
      const exactQ = quo * cM === num;
      put(p0, sS ^ cS, exactQ ? (quo << 1n) + (q4 & 1 ? -1n : 1n) : quo, sQ - cQ - sh - (exactQ ? 1 : 0));
      x.doPush(); x.writePhys(x.tos, 0x3fff, 0x80000000, 0);
    }
    x.raiseFlags(flags);
  }

  f2xm1(x: X87): void {
    const p0 = x.tos;
    if (x.tagEmpty[p0]) { if (x.stackUnderflow()) x.writeIndef(p0); return; }
    x.setC1Flag(false);
    const se = x.regSE[p0]!, hi = x.regHi[p0]!, lo = x.regLo[p0]!;
    const c = classify(se, hi, lo);
    if (c === CLS_UNSUPPORTED) { x.raiseFlags(X87_SW_IE); if (x.isMasked(X87_SW_IE)) x.writeIndef(p0); return; }
    if (c === CLS_QNAN || c === CLS_SNAN) {
      if (c === CLS_SNAN) { x.raiseFlags(X87_SW_IE); if (!x.isMasked(X87_SW_IE)) return; }
      x.writePhys(p0, se, (hi | 0x40000000) >>> 0, lo); return;
    }
    const sign = se >>> 15;
    if (c === CLS_ZERO) return;
    if (c === CLS_INF) { if (sign) x.writePhys(p0, 0xbfff, 0x80000000, 0); return; }
    if (c === CLS_DENORMAL) { x.raiseFlags(X87_SW_DE); if (!x.isMasked(X87_SW_DE)) return; }
    const e = se & 0x7fff;
    const m = sig64(hi, lo);
    const q = (e === 0 ? 1 : e) - 16383 - 63;
    const rc = x.rcBits();
    // exact cases: x = +-1
    if (e === 0x3fff && hi === 0x80000000 && lo === 0) {
      if (sign) x.writePhys(p0, 0xbffe, 0x80000000, 0); else x.writePhys(p0, 0x3fff, 0x80000000, 0);
      x.raiseFlags(X87_SW_PE); // reported although exact (measured)
      return;
    }
    // |x| > 1 is outside the domain: the host leaves ST0 unchanged and reports inexact (measured)
    if (e >= 0x3fff) { x.raiseFlags(X87_SW_PE); return; }
    // y = x ln2 (relative), expm1(y) = y * E(y)
    trim(m * LN2, q - F);
    const ym = vm, yq = vq;
    const yf = (sign ? -1n : 1n) * toFixed(ym, yq);
    const ser = expm1Series(yf);
    roundPack(sign, ym * ser, yq - F, true, FMT_EXT, 64, rc, x.isMasked(X87_SW_UE), x.isMasked(X87_SW_OE), true);
    x.writePhys(p0, R.se, R.hi, R.lo);
    x.setC1Flag(R.up);
    x.raiseFlags(R.flags);
  }

  /** FYL2X (p1 = false) and FYL2XP1 (p1 = true): ST1 <- ST1 * log2(ST0 [+ 1]), pop. */
  fyl2x(x: X87, p1: boolean): void {
    const p0 = x.tos, pp1 = (x.tos + 1) & 7;
    if (x.tagEmpty[p0] || x.tagEmpty[pp1]) { if (x.stackUnderflow()) { x.writeIndef(pp1); x.doPop(); } return; }
    x.setC1Flag(false);
    const aSE = x.regSE[p0]!, aHi = x.regHi[p0]!, aLo = x.regLo[p0]!; // x
    const bSE = x.regSE[pp1]!, bHi = x.regHi[pp1]!, bLo = x.regLo[pp1]!; // y
    const ac = classify(aSE, aHi, aLo), bc = classify(bSE, bHi, bLo);
    const invalid = (): void => { x.raiseFlags(X87_SW_IE); if (x.isMasked(X87_SW_IE)) { x.writeIndef(pp1); x.doPop(); } };
    if (ac === CLS_UNSUPPORTED || bc === CLS_UNSUPPORTED) { invalid(); return; }
    if (ac === CLS_QNAN || ac === CLS_SNAN || bc === CLS_QNAN || bc === CLS_SNAN) {
      if (ac === CLS_SNAN || bc === CLS_SNAN) { x.raiseFlags(X87_SW_IE); if (!x.isMasked(X87_SW_IE)) return; }
      x.nan2(aSE, aHi, aLo, ac, bSE, bHi, bLo, bc);
      x.writePhys(pp1, R.se, R.hi, R.lo); x.doPop(); return;
    }
    const as = aSE >>> 15, bs = bSE >>> 15;
    const ae = (aSE & 0x7fff) || 1;
    const am = sig64(aHi, aLo), aq = ae - 16383 - 63;
    const isOne = (aSE & 0x7fff) === 0x3fff && aHi === 0x80000000 && aLo === 0;
    // sign of log: lsgn (1 = negative), lzero (log == 0), linf (log infinite)
    let lsgn = 0, lzero = false, linf = false;
    if (!p1) {
      if (as && ac !== CLS_ZERO) { invalid(); return; }
      if (ac === CLS_ZERO) { linf = true; lsgn = 1; }
      else if (ac === CLS_INF) { linf = true; lsgn = 0; }
      else if (isOne) lzero = true;
      else lsgn = ae < 0x3fff ? 1 : 0;
    } else {
      if (ac === CLS_INF) { if (as) { invalid(); return; } linf = true; }
      else if (ac === CLS_ZERO) { lzero = true; lsgn = as; }
      else if (as && (aSE & 0x7fff) >= 0x3fff) {
        // x <= -1 is outside the domain; the host returns x itself, reporting only inexact (measured)
        if (bc === CLS_INF || bc === CLS_ZERO) { x.writePhys(pp1, (bSE ^ 0x8000) & 0xffff, bHi, bLo); x.doPop(); return; }
        if (bc === CLS_DENORMAL) { x.raiseFlags(X87_SW_DE); if (!x.isMasked(X87_SW_DE)) return; }
        x.writePhys(pp1, aSE, aHi, aLo); x.raiseFlags(X87_SW_PE); x.doPop(); return;
      }
      else lsgn = as;
    }
    const bInf = bc === CLS_INF, bZero = bc === CLS_ZERO;
    if ((linf && bZero) || (lzero && bInf)) { invalid(); return; }
    const rs = lsgn ^ bs;
    const logZero = !p1 && ac === CLS_ZERO;
    if (!logZero && (ac === CLS_DENORMAL || bc === CLS_DENORMAL)) { x.raiseFlags(X87_SW_DE); if (!x.isMasked(X87_SW_DE)) return; }
    if (linf || bInf) {
      if (logZero && !bInf) { x.raiseFlags(X87_SW_ZE); if (!x.isMasked(X87_SW_ZE)) return; }
      x.writePhys(pp1, (rs << 15) | 0x7fff, 0x80000000, 0); x.doPop(); return;
    }
    if (lzero || bZero) { x.writePhys(pp1, rs << 15, 0, 0); x.doPop(); return; }
    const be = (bSE & 0x7fff) || 1;
    const bm = sig64(bHi, bLo), bq = be - 16383 - 63;
    const rc = x.rcBits();
    let exact = false;
    if (!p1) {
      // exact powers of two: log2 = integer
      const L = bitLength(am);
      if (am === 1n << BigInt(L - 1)) {
        const k = aq + L - 1;
        roundPack(rs, bm * BigInt(Math.abs(k)), bq, false, FMT_EXT, 64, rc, x.isMasked(X87_SW_UE), x.isMasked(X87_SW_OE), true);
        R.flags |= X87_SW_PE; // the host reports inexact even for exact results
        exact = true;
      } else {
        lnPos(am, aq);
      }
    } else if (aq + bitLength(am) - 1 >= -2) {
      // |x| >= 1/4: ln(1 + x) directly from the exact sum
      const qm = Math.min(aq, 0);
      const sum = (1n << BigInt(-qm)) + (as ? -(am << BigInt(aq - qm)) : am << BigInt(aq - qm));
      lnPos(sum, qm);
    } else {
      ln1p(as, am, aq);
    }
    if (!exact) {
      // log2 = ln / ln2 ; times y
      const lm = vm, lq = vq;
      const l2m = (lm << FB) / LN2; // ln / ln2 relative: lm * 2^lq / (LN2 * 2^-F)
      roundPack(rs, l2m * bm, lq + bq, true, FMT_EXT, 64, rc, x.isMasked(X87_SW_UE), x.isMasked(X87_SW_OE), true);
    }
    x.writePhys(pp1, R.se, R.hi, R.lo);
    x.setC1Flag(R.up);
    x.raiseFlags(R.flags);
    x.doPop();
  }

  /** FPATAN: ST1 <- atan2(ST1, ST0), pop. */
  fpatan(x: X87): void {
    const p0 = x.tos, pp1 = (x.tos + 1) & 7;
    if (x.tagEmpty[p0] || x.tagEmpty[pp1]) { if (x.stackUnderflow()) { x.writeIndef(pp1); x.doPop(); } return; }
    x.setC1Flag(false);
    const aSE = x.regSE[p0]!, aHi = x.regHi[p0]!, aLo = x.regLo[p0]!; // x
    const bSE = x.regSE[pp1]!, bHi = x.regHi[pp1]!, bLo = x.regLo[pp1]!; // y
    const ac = classify(aSE, aHi, aLo), bc = classify(bSE, bHi, bLo);
    if (ac === CLS_UNSUPPORTED || bc === CLS_UNSUPPORTED) { x.raiseFlags(X87_SW_IE); if (x.isMasked(X87_SW_IE)) { x.writeIndef(pp1); x.doPop(); } return; }
    if (ac === CLS_QNAN || ac === CLS_SNAN || bc === CLS_QNAN || bc === CLS_SNAN) {
      if (ac === CLS_SNAN || bc === CLS_SNAN) { x.raiseFlags(X87_SW_IE); if (!x.isMasked(X87_SW_IE)) return; }
      x.nan2(aSE, aHi, aLo, ac, bSE, bHi, bLo, bc);
      x.writePhys(pp1, R.se, R.hi, R.lo); x.doPop(); return;
    }
    if (ac === CLS_DENORMAL || bc === CLS_DENORMAL) { x.raiseFlags(X87_SW_DE); if (!x.isMasked(X87_SW_DE)) return; }
    const xs = aSE >>> 15, ys = bSE >>> 15;
    const rc = x.rcBits();
    const um = x.isMasked(X87_SW_UE), om = x.isMasked(X87_SW_OE);
    const put = (s: number, m: bigint, q: number, sticky: boolean): void => {
      roundPack(s, m, q, sticky, FMT_EXT, 64, rc, um, om, true);
      x.writePhys(pp1, R.se, R.hi, R.lo); x.setC1Flag(R.up); x.raiseFlags(R.flags); x.doPop();
    };
    const xInf = ac === CLS_INF, yInf = bc === CLS_INF, xZero = ac === CLS_ZERO, yZero = bc === CLS_ZERO;
    if (yZero) {
      if (xs) put(ys, PI, -F, true); else { x.writePhys(pp1, ys << 15, 0, 0); x.doPop(); }
      return;
    }
    if (yInf) {
      if (xInf) put(ys, xs ? 3n * PI : PI, -F - 2, true);
      else put(ys, PI, -F - 1, true);
      return;
    }
    if (xZero) { put(ys, PI, -F - 1, true); return; }
    if (xInf) { if (xs) put(ys, PI, -F, true); else { x.writePhys(pp1, ys << 15, 0, 0); x.doPop(); } return; }
    // finite nonzero: t = |y| / |x|
    const ae = (aSE & 0x7fff) || 1, be = (bSE & 0x7fff) || 1;
    const am = sig64(aHi, aLo), bm = sig64(bHi, bLo);
    const sh = F + 8 + bitLength(am) - bitLength(bm);
    const tm = (bm << BigInt(sh)) / am;
    const tq = (be - 16383 - 63) - (ae - 16383 - 63) - sh;
    atanPos(tm, tq);
    if (!xs) { put(ys, vm, vq, true); return; }
    // pi - atan(t)
    fromFixed(PI - toFixed(vm, vq));
    put(ys, vm, vq, true);
  }
}
