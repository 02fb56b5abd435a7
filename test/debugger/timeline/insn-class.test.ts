import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyInsn, INSN } from '../../../debugger/timeline/insn-class.js';

test('classifies calls, software interrupts, REP strings and returns with their lengths', () => {
  const cases: [number[], boolean, number, number][] = [
    // bytes, code32, kind, length
    [[0xe8, 1, 2, 3, 4], true, INSN.CALL, 5],
    [[0xe8, 1, 2], false, INSN.CALL, 3],
    [[0x66, 0xe8, 1, 2], true, INSN.CALL, 4],
    [[0xff, 0xd0], true, INSN.CALL, 2], // call eax
    [[0xff, 0x15, 0, 0, 0, 0], true, INSN.CALL, 6], // call [disp32]
    [[0xff, 0x14, 0x85, 0, 0, 0, 0], true, INSN.CALL, 7], // call [eax*4+disp32]
    [[0xff, 0x54, 0x24, 0x08], true, INSN.CALL, 4], // call [esp+8]
    [[0xff, 0x16, 0x34, 0x12], false, INSN.CALL, 4], // call [0x1234] (16-bit)
    [[0xff, 0x57, 0x02], false, INSN.CALL, 3], // call [bx+2]
    [[0xff, 0x1d, 0, 0, 0, 0], true, INSN.CALL, 6], // call far [disp32]
    [[0x9a, 0, 0, 0, 0, 8, 0], true, INSN.CALL, 7],
    [[0x2e, 0xff, 0xd3], true, INSN.CALL, 3],
    [[0xcd, 0x80], true, INSN.INT, 2],
    [[0xcc], true, INSN.INT, 1],
    [[0xce], true, INSN.INT, 1],
    [[0xf3, 0xab], true, INSN.REP, 2],
    [[0xf3, 0x66, 0xa5], true, INSN.REP, 3],
    [[0xf2, 0xae], true, INSN.REP, 2],
    [[0xf3, 0x6c], true, INSN.REP, 2],
    [[0xc3], true, INSN.RET, 1],
    [[0xc2, 8, 0], true, INSN.RET, 3],
    [[0xcb], true, INSN.RET, 1],
    [[0xcf], true, INSN.IRET, 1],
    [[0xab], true, INSN.OTHER, 0], // stosd without REP
    [[0xff, 0xc0], true, INSN.OTHER, 0], // inc eax
    [[0x90], true, INSN.OTHER, 0],
    [[], true, INSN.OTHER, 0],
    [[0xff], true, INSN.OTHER, 0],
  ];
  for (const [bytes, c32, kind, len] of cases) {
    const c = classifyInsn(bytes, c32);
    assert.equal(c.kind, kind, bytes.map((b) => b.toString(16)).join(' '));
    assert.equal(c.length, len, bytes.map((b) => b.toString(16)).join(' '));
  }
  assert.equal(classifyInsn([0xc2, 8, 0], true).retImm, 8);
  assert.equal(classifyInsn([0xff, 0x1d, 0, 0, 0, 0], true).far, true);
});
