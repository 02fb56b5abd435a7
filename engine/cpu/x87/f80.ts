/**
 * Software 80-bit extended-precision arithmetic for the x87 (softfloat style).
 *
 * A finite operand is unpacked to an exact integer significand `m` (BigInt)
 * and a binary exponent `q`: value = (-1)^sign * m * 2^q. Every operation is
 * computed exactly (or with at least two extra bits plus a sticky bit) and
 * rounded once by `roundPack`, which implements the x87's precision control,
 * its four rounding modes, denormalisation, masked and unmasked overflow and
 * underflow (the 2^24576 exponent wrap) and the C1 "rounded up" indication.
 *
 * JS numbers never carry guest-visible values here; BigInt is used for the
 * significand arithmetic (correctness first: see the report on performance).
 */

export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_CHOP = 3;

/** Status-word exception bits. */
export const X87_SW_IE = 0x01;
export const X87_SW_DE = 0x02;
export const X87_SW_ZE = 0x04;
export const X87_SW_OE = 0x08;
export const X87_SW_UE = 0x10;
export const X87_SW_PE = 0x20;
export const X87_SW_SF = 0x40;
export const X87_SW_ES = 0x80;
export const X87_SW_C0 = 0x100;
export const X87_SW_C1 = 0x200;
export const X87_SW_C2 = 0x400;
export const X87_SW_C3 = 0x4000;
export const X87_SW_B = 0x8000;

/** Operand classes of an 80-bit register value. */
export const CLS_ZERO = 0;
export const CLS_NORMAL = 1;
export const CLS_DENORMAL = 2; // denormal or pseudo-denormal (E = 0, significand != 0)
export const CLS_INF = 3;
export const CLS_QNAN = 4;
export const CLS_SNAN = 5;
export const CLS_UNSUPPORTED = 6; // unnormal, pseudo-NaN, pseudo-infinity

export function classify(se: number, hi: number, lo: number): number {
  const e = se & 0x7fff;
  if (e === 0) return (hi | lo) === 0 ? CLS_ZERO : CLS_DENORMAL;
  if ((hi & 0x80000000) === 0) return CLS_UNSUPPORTED;
  if (e === 0x7fff) {
    if ((hi & 0x7fffffff) === 0 && lo === 0) return CLS_INF;
    return hi & 0x40000000 ? CLS_QNAN : CLS_SNAN;
  }
  return CLS_NORMAL;
}

export const EXT_BIAS = 16383;
export const WRAP = 24576;

const MASK32 = 0xffffffffn;

export function sig64(hi: number, lo: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

const B2_64 = 1n << 64n;
const B2_32 = 1n << 32n;
export function bitLength(m: bigint): number {
  if (m < 0n) m = -m;
  if (m < B2_32) return 32 - Math.clz32(Number(m));
  if (m < B2_64) { const h = Number(m >> 32n); return 64 - Math.clz32(h); }
  const h = m.toString(16);
  return (h.length - 1) * 4 + (32 - Math.clz32(parseInt(h[0]!, 16)));
}

export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLength(n) + 1) >> 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/**
 * The result of roundPack and the other producers: an 80-bit value
 * (se, hi, lo) for register/m80 targets or the packed bits (hi:lo) for m32/m64,
 * plus the exception flags raised and C1 (rounded up).
 */
export class RoundResult {
  se = 0;
  hi = 0;
  lo = 0;
  flags = 0;
  up = false;
  /** Set when an unmasked overflow/underflow means "no result" (memory targets). */
  noStore = false;
}

export const R = new RoundResult();

/** Destination formats. */
export const FMT_EXT = 0;
export const FMT_F64 = 1;
export const FMT_F32 = 2;

/**
 * The x87 detects tininess after rounding (to the precision, with an
 * unbounded exponent): (2 - 2^-63) * 2^-16383 under PC=53 rounds to 2^-16382
 * and raises PE without UE on the host (x87.test.ts keeps that case).
 */
const tininessBeforeRounding = false;

function fmtBias(fmt: number): number {
  return fmt === FMT_EXT ? 16383 : fmt === FMT_F64 ? 1023 : 127;
}
function fmtMaxE(fmt: number): number {
  return fmt === FMT_EXT ? 0x7ffe : fmt === FMT_F64 ? 0x7fe : 0xfe;
}

/** Writes an infinity or the largest finite value of the format with precision p. */
function packOverflowValue(sign: number, inf: boolean, fmt: number, p: number): void {
  if (fmt === FMT_EXT) {
    if (inf) { R.se = (sign << 15) | 0x7fff; R.hi = 0x80000000; R.lo = 0; }
    else {
      const m = ((1n << BigInt(p)) - 1n) << BigInt(64 - p);
      R.se = (sign << 15) | 0x7ffe; R.hi = Number(m >> 32n); R.lo = Number(m & MASK32);
    }
  } else if (fmt === FMT_F64) {
    R.hi = ((sign << 31) | (inf ? 0x7ff00000 : 0x7fefffff)) >>> 0; R.lo = inf ? 0 : 0xffffffff;
  } else {
    R.hi = 0; R.lo = ((sign << 31) | (inf ? 0x7f800000 : 0x7f7fffff)) >>> 0;
  }
}

function packFinite(sign: number, kept: bigint, lsbExp: number, fmt: number, wrap: number): void {
  // kept * 2^lsbExp, kept < 2^p, already rounded.
  const bias = fmtBias(fmt);
  if (kept === 0n) {
    if (fmt === FMT_EXT) { R.se = sign << 15; R.hi = 0; R.lo = 0; }
    else if (fmt === FMT_F64) { R.hi = (sign << 31) >>> 0; R.lo = 0; }
    else { R.hi = 0; R.lo = (sign << 31) >>> 0; }
    return;
  }
  const L = bitLength(kept);
  const top = lsbExp + L - 1; // unbiased exponent of the leading bit
  let E = top + bias + wrap;
  const mbits = fmt === FMT_EXT ? 63 : fmt === FMT_F64 ? 52 : 23;
  let field: bigint;
  if (E >= 1) {
    field = kept << BigInt(mbits - (L - 1)); // leading bit at position mbits
  } else {
    // denormal: value = field * 2^(1 - bias - mbits)
    field = kept << BigInt(lsbExp + wrap - (1 - bias - mbits));
    E = 0;
  }
  if (fmt === FMT_EXT) {
    R.se = (sign << 15) | E; R.hi = Number(field >> 32n); R.lo = Number(field & MASK32);
  } else if (fmt === FMT_F64) {
    const f = field & ((1n << 52n) - 1n);
    R.hi = ((sign << 31) | (E << 20) | Number(f >> 32n)) >>> 0; R.lo = Number(f & MASK32);
  } else {
    const f = Number(field) & 0x7fffff;
    R.hi = 0; R.lo = ((sign << 31) | (E << 23) | f) >>> 0;
  }
}

/** Rounds kept/rest to the rounding mode; returns the increment (0 or 1). */
function roundIncrement(sign: number, kept: bigint, rem: bigint, half: bigint, sticky: boolean, rc: number): number {
  if (rem === 0n && !sticky) return 0;
  switch (rc) {
    case RC_NEAREST:
      if (rem > half || (rem === half && (sticky || (kept & 1n) === 1n))) return 1;
      return 0;
    case RC_DOWN: return sign ? 1 : 0;
    case RC_UP: return sign ? 0 : 1;
    default: return 0;
  }
}

/**
 * Rounds (-1)^sign * (m + sticky) * 2^q into fmt with precision p (bits) under
 * rounding control rc. umask/omask: underflow/overflow exceptions masked.
 * For register targets (wrapOk) unmasked overflow/underflow deliver the
 * result with its exponent wrapped by 24576; for memory targets R.noStore is
 * set instead. m must carry at least two bits below the rounding position
 * whenever sticky is true.
 */
export function roundPack(sign: number, m: bigint, q: number, sticky: boolean, fmt: number, p: number, rc: number, umask: boolean, omask: boolean, wrapOk: boolean): void {
  R.flags = 0; R.up = false; R.noStore = false;
  if (m === 0n && !sticky) { packFinite(sign, 0n, 0, fmt, 0); return; }
  const bias = fmtBias(fmt);
  const maxE = fmtMaxE(fmt);
  const emin = 1 - bias;
  const n = bitLength(m);
  const topUnb = q + n - 1;
  // tininess
  let tiny: boolean;
  {
    const lsbU = topUnb - (p - 1);
    const sh = lsbU - q;
    let kept: bigint; let inc = 0;
    if (sh > 0) {
      kept = m >> BigInt(sh);
      const rem = m & ((1n << BigInt(sh)) - 1n);
      inc = roundIncrement(sign, kept, rem, 1n << BigInt(sh - 1), sticky, rc);
      kept += BigInt(inc);
    } else kept = m << BigInt(-sh);
    const topAfter = lsbU + bitLength(kept) - 1;
    tiny = tininessBeforeRounding ? topUnb < emin : topAfter < emin;
  }
  let wrap = 0;
  let lsbExp: number;
  if (tiny && !umask) {
    if (!wrapOk) { R.flags |= X87_SW_UE; R.noStore = true; return; }
    if (topUnb + bias + WRAP < 1) {
      // beyond the wrap range (FSCALE): a signed zero
      R.flags = X87_SW_UE | X87_SW_PE;
      packFinite(sign, 0n, 0, fmt, 0);
      return;
    }
    wrap = WRAP;
    lsbExp = topUnb - (p - 1);
  } else {
    lsbExp = Math.max(topUnb, emin) - (p - 1);
  }
  const sh = lsbExp - q;
  let kept: bigint;
  let inexact = false;
  if (sh > 0) {
    const bsh = BigInt(sh);
    kept = m >> bsh;
    const rem = m & ((1n << bsh) - 1n);
    inexact = rem !== 0n || sticky;
    const inc = roundIncrement(sign, kept, rem, 1n << (bsh - 1n), sticky, rc);
    if (inc) { kept += 1n; R.up = true; }
    if (kept >> BigInt(p) !== 0n) { kept >>= 1n; lsbExp += 1; }
  } else {
    kept = m << BigInt(-sh);
    inexact = sticky;
  }
  if (inexact) R.flags |= X87_SW_PE;
  if (tiny && (inexact || !umask)) R.flags |= X87_SW_UE;
  const top = lsbExp + bitLength(kept) - 1;
  if (kept !== 0n && top + bias > maxE) {
    R.flags |= X87_SW_OE;
    if (!omask) {
      if (!wrapOk) { R.noStore = true; R.flags &= ~X87_SW_PE; R.up = false; return; }
      if (top + bias - WRAP <= maxE) { packFinite(sign, kept, lsbExp, fmt, -WRAP); return; }
      // beyond the wrap range (FSCALE): infinity
      R.flags |= X87_SW_PE; R.up = true;
      packOverflowValue(sign, true, fmt, p);
      return;
    }
    R.flags |= X87_SW_PE;
    const toInf = rc === RC_NEAREST || (rc === RC_UP && !sign) || (rc === RC_DOWN && sign === 1);
    R.up = toInf;
    packOverflowValue(sign, toInf, fmt, p);
    return;
  }
  packFinite(sign, kept, lsbExp, fmt, wrap);
}

// ---- exact operations on unpacked finite nonzero operands ----

/** Scratch result of an exact operation: (-1)^sign * (m + sticky) * 2^q, or exact zero. */
export class Exact {
  sign = 0;
  m = 0n;
  q = 0;
  sticky = false;
}
export const X = new Exact();

export function exactAdd(sa: number, ma: bigint, qa: number, sb: number, mb: bigint, qb: number, rc: number): void {
  const ta = qa + bitLength(ma);
  const tb = qb + bitLength(mb);
  if (ta - tb > 140) { qb = Math.min(qa, ta - 70) - 2; mb = 1n; }
  else if (tb - ta > 140) { qa = Math.min(qb, tb - 70) - 2; ma = 1n; }
  const qm = Math.min(qa, qb);
  const va = ma << BigInt(qa - qm);
  const vb = mb << BigInt(qb - qm);
  let s = (sa ? -va : va) + (sb ? -vb : vb);
  X.sticky = false; X.q = qm;
  if (s === 0n) { X.sign = rc === RC_DOWN ? 1 : 0; X.m = 0n; return; }
  if (s < 0n) { X.sign = 1; s = -s; } else X.sign = 0;
  X.m = s;
}

export function exactMul(sa: number, ma: bigint, qa: number, sb: number, mb: bigint, qb: number): void {
  X.sign = sa ^ sb; X.m = ma * mb; X.q = qa + qb; X.sticky = false;
}

export function exactDiv(sa: number, ma: bigint, qa: number, sb: number, mb: bigint, qb: number): void {
  const k = Math.max(0, 70 + bitLength(mb) - bitLength(ma));
  const num = ma << BigInt(k);
  const quo = num / mb;
  X.sign = sa ^ sb; X.m = quo; X.q = qa - k - qb; X.sticky = quo * mb !== num;
}

export function exactSqrt(ma: bigint, qa: number): void {
  let s = Math.max(0, 140 - bitLength(ma));
  if ((qa - s) & 1) s++;
  const v = ma << BigInt(s);
  const r = isqrt(v);
  X.sign = 0; X.m = r; X.q = (qa - s) / 2; X.sticky = r * r !== v;
}
