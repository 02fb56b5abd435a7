/**
 * The host-CPU oracle vectors themselves (fixtures/oracle/int): the file is
 * complete and was recorded natively, and its results agree with the
 * architecture where the answer is easy to compute independently (so a broken
 * harness -- registers swapped, memory diffs lost -- cannot pass unnoticed).
 * Also the shared table of SDM-undefined flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from '../../util.js';
import { loadOracleVectors, oraclePattern } from '../../support/oracle-vectors.js';
import { undefinedFlags, undefinedDest, undefinedDestBits, FLAG_AF, FLAG_CF, FLAG_OF, FLAGS_STATUS } from '../../support/undefined-flags.js';

const file = loadOracleVectors(join(repoRoot, 'fixtures', 'oracle', 'int', 'vectors.json.gz'));

test('the vector file covers the integer instruction set and names the CPU it was recorded on', () => {
  assert.match(file.host.cpu, /\S+ .*family \d+ model \d+/);
  assert.ok(file.cases.length >= 30000, `${file.cases.length} cases`);
  const count = new Map<string, number>();
  for (const c of file.cases) count.set(c.m, (count.get(c.m) ?? 0) + 1);
  const want = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'test', 'inc', 'dec', 'not', 'neg', 'mul', 'imul', 'div', 'idiv',
    'rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar', 'shld', 'shrd', 'bt', 'bts', 'btr', 'btc', 'bsf', 'bsr', 'bswap', 'xadd', 'cmpxchg',
    'cmpxchg8b', 'xchg', 'mov', 'movzx', 'movsx', 'lea', 'setcc', 'cmovcc', 'jcc', 'lahf', 'sahf', 'cbw', 'cwde', 'cwd', 'cdq', 'daa', 'das',
    'aaa', 'aas', 'aam', 'aad', 'movs', 'cmps', 'stos', 'lods', 'scas', 'xlat', 'push', 'pop', 'pusha', 'popa', 'pushf', 'popf', 'enter',
    'leave', 'jmp', 'call', 'ret', 'retf', 'loop', 'jcxz', 'into', 'bound'];
  for (const m of want) assert.ok((count.get(m) ?? 0) >= 8, `${m}: ${count.get(m) ?? 0} cases`);
  // the faulting cases are there too
  const vectors = new Set(file.cases.filter((c) => c.exc !== null).map((c) => `${c.m}:${c.exc![0]}`));
  for (const v of ['div:0', 'idiv:0', 'aam:0', 'into:4', 'bound:5', 'priv:13', 'ud2:6', 'lock-ud:6']) assert.ok(vectors.has(v), v);
});

test('recorded ALU results agree with the architecture (harness plumbing check)', () => {
  let checked = 0;
  for (const c of file.cases) {
    // 32-bit "op r/m32, r32" register forms: 01 09 11 19 21 29 31 39 with mod = 3 (in the 32-bit code segment)
    if (c.ctx.m16 || c.ctx.g !== undefined || c.exc !== null || c.code.length !== 2 || (c.code[0]! & 0xc7) !== 0x01 || (c.code[1]! & 0xc0) !== 0xc0) continue;
    const op = c.code[0]! >> 3, rm = c.code[1]! & 7, reg = (c.code[1]! >> 3) & 7;
    const a = c.regsIn[rm]!, b = c.regsIn[reg]!, cf = c.eflagsIn & 1;
    const r = [a + b, a | b, a + b + cf, a - b - cf, a & b, a - b, a ^ b, a][op]! >>> 0;
    assert.equal(c.regsOut[rm], r, `case ${c.index}`);
    assert.equal(c.eipOut, file.insnAddr + 2);
    assert.equal(!!(c.eflagsOut & 0x40), (op === 7 ? (a - b) >>> 0 : r) === 0, `ZF, case ${c.index}`);
    checked++;
  }
  assert.ok(checked > 1000, `${checked} checked`);
});

test('recorded memory effects agree with the architecture (PUSH imm32, MOV m32 loads)', () => {
  let pushes = 0, loads = 0;
  for (const c of file.cases) {
    if (c.ctx.m16 || c.ctx.g !== undefined) continue;
    if (c.m === 'push' && c.exc === null && c.code.length === 5 && c.code[0] === 0x68) {
      const esp = (c.regsIn[4]! - 4) >>> 0;
      assert.equal(c.regsOut[4], esp);
      for (let i = 0; i < 4; i++) {
        const want = c.code[1 + i]!;
        const before = oraclePattern(esp + i);
        assert.equal(c.diffs.get(esp + i) ?? before, want, `case ${c.index} byte ${i}`);
      }
      pushes++;
    }
    if (c.m === 'mov' && c.code[0] === 0xa1) {
      const addr = c.code[1]! | (c.code[2]! << 8) | (c.code[3]! << 16) | (c.code[4]! << 24);
      const p = c.patches.find((x) => x.linAddr === addr)!;
      assert.equal(c.regsOut[0], (p.bytes[0]! | (p.bytes[1]! << 8) | (p.bytes[2]! << 16) | (p.bytes[3]! << 24)) >>> 0);
      loads++;
    }
  }
  assert.ok(pushes >= 10 && loads >= 8, `${pushes} pushes, ${loads} loads`);
});

test('undefined-flag rules follow the SDM conditions on the masked count and the source', () => {
  assert.equal(undefinedFlags('add'), 0);
  assert.equal(undefinedFlags('and'), FLAG_AF);
  assert.equal(undefinedFlags('div'), FLAGS_STATUS);
  assert.equal(undefinedFlags('shl', { count: 0, opSize: 8 }), 0);
  assert.equal(undefinedFlags('shl', { count: 32, opSize: 8 }), 0, 'count 32 masks to 0');
  assert.equal(undefinedFlags('shl', { count: 1, opSize: 8 }), FLAG_AF);
  assert.equal(undefinedFlags('shl', { count: 2, opSize: 8 }), FLAG_AF | FLAG_OF);
  assert.equal(undefinedFlags('shr', { count: 8, opSize: 8 }), FLAG_AF | FLAG_OF | FLAG_CF);
  assert.equal(undefinedFlags('sar', { count: 8, opSize: 8 }), FLAG_AF | FLAG_OF);
  assert.equal(undefinedFlags('rcl', { count: 1, opSize: 16 }), 0);
  assert.equal(undefinedFlags('rcl', { count: 9, opSize: 16 }), FLAG_OF);
  assert.equal(undefinedFlags('shld', { count: 16, opSize: 16 }), FLAG_AF | FLAG_OF);
  assert.equal(undefinedFlags('shld', { count: 17, opSize: 16 }), FLAGS_STATUS);
  assert.equal(undefinedDest('shld', { count: 17, opSize: 16 }), true);
  assert.equal(undefinedDest('shld', { count: 16, opSize: 16 }), false);
  assert.equal(undefinedDest('bsf', { srcZero: true }), true);
  assert.equal(undefinedDest('bsf', { srcZero: false }), false);
  assert.equal(undefinedDestBits('bswap', { opSize: 16 }), 0xffff);
  assert.equal(undefinedDestBits('bswap', { opSize: 32 }), 0);
  assert.equal(undefinedDestBits('lar', { opSize: 32 }), 0x000f0000);
  assert.equal(undefinedDestBits('bsr', { opSize: 16, srcZero: true }), 0xffff);
});
