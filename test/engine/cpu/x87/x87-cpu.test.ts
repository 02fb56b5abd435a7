/**
 * The x87 through the CPU: encodings a P6 lacks raise #UD (before #NM, reported
 * once per encoding), the undocumented aliases a P6 has execute, and
 * FNSTENV/FNSAVE in virtual-8086 mode use the real-mode layout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asm, hasNasm, protectedMode, runToHlt, setGate, type TestMachine } from '../helpers.js';
import { EXC } from '../../../../engine/cpu/flags.js';
import { x87IsValid } from '../../../../engine/cpu/x87/x87.js';

const skip = hasNasm() ? false : 'nasm is not installed';
const HANDLER = 0x18000;
const REPORT = 0x17000;
const DATA = 0x20000;

/** Ring-0 flat machine running `pre`, then `bytes`, then HLT; #UD and #NM handlers store [vector, faulting EIP] at REPORT. */
function run(pre: Uint8Array, bytes: number[]): { t: TestMachine; at: number } {
  const code = new Uint8Array(pre.length + bytes.length + 1);
  code.set(pre);
  code.set(bytes, pre.length);
  code[code.length - 1] = 0xf4;
  const t = protectedMode(code);
  for (const vec of [EXC.UD, EXC.NM]) {
    const h = HANDLER + vec * 0x20;
    t.m.memory.writeBytes(h, handler(vec));
    setGate(t, vec, h);
  }
  t.m.memory.writeBytes(DATA, new Uint8Array(128).fill(0xaa));
  t.m.memory.write32(REPORT, 0xffffffff);
  runToHlt(t);
  return { t, at: 0x10000 + pre.length };
}
const handlers = new Map<number, Uint8Array>();
function handler(vec: number): Uint8Array {
  let h = handlers.get(vec);
  if (!h) {
    h = asm(`mov dword [${REPORT}], ${vec}\nmov eax, [esp]\nmov [${REPORT + 4}], eax\nhlt`, 32, HANDLER + vec * 0x20);
    handlers.set(vec, h);
  }
  return h;
}

test('every ESC encoding a P6 lacks raises #UD before touching memory or the FPU, reported once', { skip }, () => {
  const pre = asm(`fninit\nfld1\nmov eax, ${DATA}`);
  let n = 0;
  for (let op = 0xd8; op <= 0xdf; op++) {
    for (let m = 0; m < 256; m++) {
      // memory forms once per /reg ([eax]), register forms each
      if (m < 0xc0 && (m & 0xc7) !== 0) continue;
      if (x87IsValid(op, m)) continue;
      n++;
      const { t, at } = run(pre, [op, m]);
      const what = `${op.toString(16)} ${m.toString(16)}`;
      assert.equal(t.m.memory.read32(REPORT), EXC.UD, what);
      assert.equal(t.m.memory.read32(REPORT + 4), at, `${what}: the fault points at the instruction`);
      assert.equal(t.cpu.x87.fpu.top, 7, `${what}: stack unchanged`);
      assert.equal(t.cpu.x87.fpu.stAsNumber(0), 1);
      assert.equal(t.m.memory.read32(DATA) >>> 0, 0xaaaaaaaa, `${what}: no store`);
      assert.equal(t.log.lines.filter((l) => l.includes('#UD') && l.includes(`bytes ${op.toString(16)} ${m.toString(16).padStart(2, '0')}`)).length, 1, what);
    }
  }
  // FISTTP m16/m32/m64 (SSE3), D9/1, DB/4, DB/6, DD/5 and the 92 register holes
  assert.equal(n, 7 + 92);
});

test('FISTTP: #UD is reported once per encoding however often it runs; #UD outranks #NM (CR0.EM)', { skip }, () => {
  const code = asm(`
    mov eax, ${DATA}
    mov ecx, 3
  again:
    fisttp dword [eax]
    loop again
    fisttp qword [eax]
    mov ebx, cr0
    or ebx, 4
    mov cr0, ebx
    db 0xdf, 0x08         ; FISTTP m16 with CR0.EM: #UD, not #NM
    hlt
  `);
  const u = protectedMode(code);
  const count = 0x17100;
  // #UD: count, skip the 2-byte instruction, return
  u.m.memory.writeBytes(HANDLER, asm(`inc dword [${count}]\nadd dword [esp], 2\niretd`, 32, HANDLER));
  setGate(u, EXC.UD, HANDLER);
  u.m.memory.writeBytes(HANDLER + 0x40, asm(`mov dword [${REPORT}], 7\nhlt`, 32, HANDLER + 0x40));
  setGate(u, EXC.NM, HANDLER + 0x40);
  u.m.memory.write32(DATA, 0x12345678);
  runToHlt(u);
  assert.equal(u.m.memory.read32(count), 5, 'three FISTTP m32, one m64, one m16: all #UD');
  assert.notEqual(u.m.memory.read32(REPORT), 7, 'no #NM');
  assert.equal(u.m.memory.read32(DATA), 0x12345678);
  assert.equal(u.log.lines.filter((l) => l.includes('#UD')).length, 3, u.log.lines.join('\n'));
  // a valid ESC with CR0.EM is #NM
  const v = run(asm('mov ebx, cr0\nor ebx, 4\nmov cr0, ebx'), [0xd9, 0xe8]);
  assert.equal(v.t.m.memory.read32(REPORT), EXC.NM);
});

test('the undocumented aliases a P6 has execute as their documented twins', { skip }, () => {
  // three values on the stack: ST0 = 3, ST1 = 2, ST2 = 1
  const pre = asm(`fninit\nfld1\nfld1\nfadd st0, st0\nfld1\nfadd st0, st1`);
  const stack = (t: TestMachine): (number | null)[] => [0, 1, 2, 3].map((i) => (t.cpu.x87.fpu.isEmpty(i) ? null : t.cpu.x87.fpu.stAsNumber(i)));
  const sw = (t: TestMachine): number => t.cpu.x87.fpu.statusWord();
  const cases: [string, number[], number[]][] = [
    ['FXCH4 (DD C8+i)', [0xdd, 0xca], [0xd9, 0xca]],
    ['FXCH7 (DF C8+i)', [0xdf, 0xc9], [0xd9, 0xc9]],
    ['FSTP1 (D9 D8+i)', [0xd9, 0xda], [0xdd, 0xda]],
    ['FSTP8 (DF D0+i)', [0xdf, 0xd2], [0xdd, 0xda]],
    ['FSTP9 (DF D8+i)', [0xdf, 0xd9], [0xdd, 0xd9]],
    ['FCOM2 (DC D0+i)', [0xdc, 0xd1], [0xd8, 0xd1]],
    ['FCOMP3 (DC D8+i)', [0xdc, 0xda], [0xd8, 0xda]],
    ['FCOMP5 (DE D0+i)', [0xde, 0xd2], [0xd8, 0xda]],
    ['FENI/FDISI/FSETPM are no-ops (DB E0/E1/E4)', [0xdb, 0xe0, 0xdb, 0xe1, 0xdb, 0xe4], [0xd9, 0xd0, 0xd9, 0xd0, 0xd9, 0xd0]],
  ];
  for (const [what, alias, twin] of cases) {
    const a = run(pre, alias).t;
    const b = run(pre, twin).t;
    assert.equal(a.m.memory.read32(REPORT), -1, `${what}: no exception`);
    assert.deepEqual(stack(a), stack(b), what);
    assert.equal(sw(a), sw(b), what);
    assert.equal(a.cpu.x87.fpu.tagWord(), b.cpu.x87.fpu.tagWord(), what);
  }
  // FFREEP ST(1): frees ST1, then pops
  const f = run(pre, [0xdf, 0xc1]).t;
  assert.deepEqual(stack(f), [null, 1, null, null]);
  assert.equal(f.cpu.x87.fpu.top, 6);
});

test('virtual-8086: FNSTENV and FNSAVE store the real-mode layout with 20-bit linear pointers', { skip }, () => {
  const t = protectedMode(asm(`
    mov ax, 0x28
    ltr ax
    push dword 0        ; GS
    push dword 0        ; FS
    push dword 0x3000   ; DS
    push dword 0x3000   ; ES
    push dword 0x0300   ; SS
    push dword 0x0ffe   ; ESP
    push dword 0x23202  ; EFLAGS: VM, IOPL 3, IF
    push dword 0x2000   ; CS
    push dword 0x0010   ; EIP
    iretd
  `, 32, 0x10000));
  t.m.memory.write32(0x3004, 0x70000);
  t.m.memory.write32(0x3008, 0x10);
  // v86 code at 2000:0010 = linear 0x20010; data at 3000:xxxx = linear 0x3xxxx
  const head = asm('fninit', 16, 0x10);
  t.m.memory.writeBytes(0x20010, asm(`
    fninit
    fld qword [0x40]        ; FCS:FIP = 2000:0012, FOP = DD 06, FDS:FDP = 3000:0040
    fnstenv [0x80]          ; 14-byte real-mode environment
    o32 fnstenv [0xa0]      ; 28-byte real-mode environment
    fnsave [0x100]          ; 94-byte real-mode image, then FNINIT
    int 0x80
  `, 16, 0x10));
  const fldIp = 0x10 + head.length;
  t.m.memory.write32(0x30040, 0);
  t.m.memory.write32(0x30044, 0x3ff80000); // 1.5
  t.m.memory.writeBytes(0x30080, new Uint8Array(0x200).fill(0xcc));
  t.m.memory.writeBytes(0x18000, asm('hlt', 32, 0x18000));
  setGate(t, 0x80, 0x18000, 0xe, 3);
  runToHlt(t);
  assert.equal(t.cpu.v86, false, 'back in ring 0 through INT 0x80');
  assert.equal(t.cpu.reg32[4], 0x70000 - 36, 'the v86 interrupt frame');
  const bytes = (a: number, n: number): number[] => Array.from({ length: n }, (_, i) => t.m.memory.read8(a + i));
  const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => (v >>> (8 * i)) & 0xff);
  const fipLin = 0x20000 + fldIp;
  const fdpLin = 0x30040;
  const fop = 0x506;
  // SDM Vol. 1 figure 8-9: real-mode 16-bit format
  const env16 = [
    ...le(0x037f, 2), ...le(0x3800, 2), ...le(0x3fff, 2),
    ...le(fipLin & 0xffff, 2), ...le(((fipLin >>> 16) << 12) | fop, 2),
    ...le(fdpLin & 0xffff, 2), ...le((fdpLin >>> 16) << 12, 2),
  ];
  assert.deepEqual(bytes(0x30080, 14), env16);
  assert.deepEqual(bytes(0x3008e, 2), [0xcc, 0xcc], 'nothing past 14 bytes');
  // figure 8-10: real-mode 32-bit format (reserved halves as the P6 writes them: ones)
  const env32 = [
    ...le(0xffff037f, 4), ...le(0xffff3800, 4), ...le(0xffff3fff, 4),
    ...le(0xffff0000 | (fipLin & 0xffff), 4), ...le((((fipLin >>> 16) << 12) | fop) >>> 0, 4),
    ...le(0xffff0000 | (fdpLin & 0xffff), 4), ...le(((fdpLin >>> 16) << 12) >>> 0, 4),
  ];
  assert.deepEqual(bytes(0x300a0, 28), env32);
  // FNSAVE: the 16-bit environment, then ST0 = 1.5 and ST1..ST7 (+0.0 since RESET)
  const st0 = [0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0x3f];
  assert.deepEqual(bytes(0x30100, 94), [...env16, ...st0, ...new Array(70).fill(0)]);
  assert.deepEqual(bytes(0x3015e, 2), [0xcc, 0xcc], 'nothing past 94 bytes');
  assert.equal(t.cpu.x87.fpu.controlWord(), 0x037f, 'FNSAVE reinitialised the FPU');
  assert.equal(t.cpu.x87.fpu.tagWord(), 0xffff);
});
