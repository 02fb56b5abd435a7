import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr, type EvalContext } from '../../../debugger/timeline/expr.js';
import { REG, type RegId } from '../../../debugger/timeline/target.js';

const regs = new Uint32Array(26);
regs[REG.EAX] = 0x12345678;
regs[REG.ECX] = 0x10;
regs[REG.ESP] = 0x1000;
regs[REG.EFLAGS] = 0x246; // ZF PF IF
regs[REG.CS] = 0x08;
const mem = new Map<number, number>([[0x1004, 0x11], [0x1005, 0x22], [0x1006, 0x33], [0x1007, 0x44], [0x2000, 0x41]]);
const ctx: EvalContext = {
  reg: (id: RegId) => regs[id]!,
  readLinear: (a, size) => {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      if (a + i >= 0x3000) throw new Error('unmapped');
      v = (v << 8) | (mem.get(a + i) ?? 0);
    }
    return v >>> 0;
  },
  icount: () => 777,
};
const ev = (s: string, sym: Record<string, number> = {}): number => compileExpr(s, (n) => sym[n] ?? null).evaluate(ctx);

test('values, registers of every width, flags and memory', () => {
  const cases: [string, number][] = [
    ['0x10', 16], ['0b101', 5], ['0o17', 15], ['1_000', 1000], ["'A'", 65],
    ['eax', 0x12345678], ['ax', 0x5678], ['al', 0x78], ['ah', 0x56], ['EAX', 0x12345678],
    ['ecx == 0x10', 1], ['cx != 16', 0], ['zf', 1], ['cf', 0], ['if && pf', 1], ['eflags & 0x40', 0x40], ['cs', 8], ['icount', 777],
    ['[esp+4]', 0x44332211], ['dword [esp+4]', 0x44332211], ['word ptr [esp+4]', 0x2211], ['byte [esp + 6]', 0x33], ["byte [0x2000] == 'A'", 1],
    ['eax == 0x12345678 && [esp+4] != 0', 1], ['eax == 0 || ecx == 0x10', 1], ['!(ecx == 0x10)', 0],
    ['1 + 2 * 3', 7], ['(1 + 2) * 3', 9], ['10 / 3', 3], ['10 % 3', 1], ['1 << 4 | 1', 17], ['0x80000000 >> 31', 1],
    ['-1', 0xffffffff], ['~0', 0xffffffff], ['0 - 1 > 5', 1], ['3 < 5 == 1', 1], ['6 & 3 ^ 1', 3], ['2 <= 2 && 3 >= 4', 0],
  ];
  for (const [src, want] of cases) assert.equal(ev(src), want, src);
  assert.equal(ev('main + 4', { main: 0x1000 }), 0x1004);
});

test('compile errors name the problem and the column', () => {
  const bad: [string, RegExp][] = [
    ['', /empty expression/],
    ['eax ==', /expected a number.*end of expression at column 7/],
    ['[esp', /expected "\]".*column 5/],
    ['eax eax', /expected an operator or the end, found "eax" at column 5/],
    ['foo + 1', /unknown register or symbol "foo" at column 1/],
    ['0x1ffffffff', /does not fit in 32 bits/],
    ['12abc', /bad number/],
    ['eax # 1', /unexpected character "#" at column 5/],
    ['byte eax', /expected "\[" after "byte"/],
    ["'ab'", /character literal/],
    ['(1', /expected "\)"/],
  ];
  for (const [src, re] of bad) assert.throws(() => compileExpr(src), re, src);
});

test('evaluation errors: division by zero and unmapped memory', () => {
  assert.throws(() => ev('1 / 0'), /division by zero/);
  assert.throws(() => ev('1 % (ecx - 16)'), /division by zero/);
  assert.throws(() => ev('[0x2ffe]'), /unmapped/);
});
