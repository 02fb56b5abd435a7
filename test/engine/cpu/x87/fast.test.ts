/**
 * The limb-based fast paths (fast.ts) against the exact BigInt path (f80.ts)
 * on random normal operands in every precision and rounding mode: whenever
 * the fast path produces a result it must be the exact path's, bit for bit,
 * with the same flags and C1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FR, addFast, mulFast, divFast, sqrtFast, toF64Fast, toF32Fast } from '../../../../engine/cpu/x87/fast.js';
import { R, X, roundPack, exactAdd, exactMul, exactDiv, exactSqrt, sig64, FMT_EXT, FMT_F64, FMT_F32 } from '../../../../engine/cpu/x87/f80.js';

let seed = 0x2545f491;
function rnd32(): number {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return seed >>> 0;
}
function operand(): [number, number, number] {
  const e = [0x3fff + (rnd32() % 40) - 20, 1 + (rnd32() % 0x7ffd), 0x3fff, 0x7ffe - (rnd32() % 70), 1 + (rnd32() % 70)][rnd32() % 5]!;
  let hi = (rnd32() | 0x80000000) >>> 0;
  let lo = rnd32();
  const shape = rnd32() % 4;
  if (shape === 0) lo = 0;
  if (shape === 1) { hi = 0x80000000; lo = rnd32() % 4; }
  if (shape === 2) lo = (lo & 0xfffff800) >>> 0;
  return [(rnd32() & 0x8000) | e, hi, lo];
}
const q = (se: number): number => (se & 0x7fff) - 16383 - 63;

test('fast add/sub/mul/div agree with the exact path', () => {
  let fastHits = 0;
  for (let i = 0; i < 60000; i++) {
    const [as, ah, al] = operand();
    let [bs, bh, bl] = operand();
    if (rnd32() % 3 === 0) { bs = (bs & 0x8000) | ((as & 0x7fff) + (rnd32() % 5) - 2); bh = ah ^ (1 << (rnd32() % 31)); bl = (al ^ (rnd32() % 8)) >>> 0; bh = (bh | 0x80000000) >>> 0; }
    if ((bs & 0x7fff) < 1 || (bs & 0x7fff) > 0x7ffe) continue;
    const p = [24, 53, 64][rnd32() % 3]!;
    const rc = rnd32() % 4;
    const op = rnd32() % 3;
    let ok: boolean;
    if (op === 0) ok = addFast(as, ah, al, bs, bh, bl, p, rc);
    else if (op === 1) ok = mulFast(as, ah, al, bs, bh, bl, p, rc);
    else ok = divFast(as, ah, al, bs, bh, bl, p, rc);
    if (!ok) continue;
    fastHits++;
    const ma = sig64(ah, al), mb = sig64(bh, bl);
    if (op === 0) exactAdd(as >>> 15, ma, q(as), bs >>> 15, mb, q(bs), rc);
    else if (op === 1) exactMul(as >>> 15, ma, q(as), bs >>> 15, mb, q(bs));
    else exactDiv(as >>> 15, ma, q(as), bs >>> 15, mb, q(bs));
    roundPack(X.sign, X.m, X.q, X.sticky, FMT_EXT, p, rc, true, true, true);
    const ctx = `op ${op} p ${p} rc ${rc} a ${as.toString(16)}:${ah.toString(16)}:${al.toString(16)} b ${bs.toString(16)}:${bh.toString(16)}:${bl.toString(16)}`;
    assert.deepEqual([FR.se, FR.hi, FR.lo, FR.flags, FR.up], [R.se, R.hi >>> 0, R.lo >>> 0, R.flags, R.up], ctx);
  }
  assert.ok(fastHits > 40000, `fast path taken only ${fastHits} times`);
});

test('fast stores to m64/m32 agree with the exact path', () => {
  for (let i = 0; i < 30000; i++) {
    const se = (rnd32() & 0x8000) | (0x3fff + (rnd32() % 2200) - 1100);
    const hi = (rnd32() | 0x80000000) >>> 0, lo = rnd32();
    const rc = rnd32() % 4;
    const f32 = (rnd32() & 1) === 1;
    const ok = f32 ? toF32Fast(se, hi, lo, rc) : toF64Fast(se, hi, lo, rc);
    if (!ok) continue;
    roundPack(se >>> 15, sig64(hi, lo), q(se), false, f32 ? FMT_F32 : FMT_F64, f32 ? 24 : 53, rc, true, true, false);
    assert.deepEqual([FR.hi, FR.lo, FR.flags, FR.up], [R.hi >>> 0, R.lo >>> 0, R.flags, R.up]);
  }
});

test('fast square root agrees with the exact path', () => {
  let hits = 0;
  for (let i = 0; i < 20000; i++) {
    const [se0, hi, lo] = operand();
    const se = se0 & 0x7fff;
    const p = [24, 53, 64][rnd32() % 3]!;
    const rc = rnd32() % 4;
    if (!sqrtFast(se, hi, lo, p, rc)) continue;
    hits++;
    exactSqrt(sig64(hi, lo), q(se));
    roundPack(0, X.m, X.q, X.sticky, FMT_EXT, p, rc, true, true, true);
    assert.deepEqual([FR.se, FR.hi, FR.lo, FR.flags, FR.up], [R.se, R.hi >>> 0, R.lo >>> 0, R.flags, R.up], `sqrt ${se.toString(16)}:${hi.toString(16)}:${lo.toString(16)} p ${p} rc ${rc}`);
  }
  assert.ok(hits > 15000);
});
