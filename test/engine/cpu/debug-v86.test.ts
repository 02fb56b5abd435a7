/**
 * Debugger hooks (breakpoints, access callbacks, last read/write address),
 * linearToPhysical, and virtual-8086 mode entry/exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asm, hasNasm, protectedMode, runToHlt, setGate } from './helpers.js';
import { FLAG, SEG } from '../../../engine/cpu/flags.js';

const skip = hasNasm() ? false : 'nasm is not installed';

test('debug hooks: breakpoint stops before the instruction; accesses are reported with addresses', { skip }, () => {
  const code = asm(`
    mov eax, [0x20000]
    mov [0x20010], eax
  brk:
    inc eax
    hlt
  `, 32, 0x10000);
  const t = protectedMode(code);
  t.m.memory.write32(0x20000, 41);
  const accesses: string[] = [];
  const bpAt = 0x10000 + 5 + 5;
  t.cpu.debugHooks = {
    breakpoint: (lin) => lin === bpAt,
    access: (lin, phys, size, w, v) => accesses.push(`${w ? 'W' : 'R'} ${lin.toString(16)} ${phys.toString(16)} ${size} ${v}`),
  };
  t.cpu.run(t.cpu.icount + 100);
  assert.equal(t.cpu.eip, bpAt);
  assert.equal(t.cpu.icount, 2);
  assert.deepEqual(accesses, ['R 20000 20000 4 41', 'W 20010 20010 4 41']);
  assert.equal(t.cpu.lastReadLin, 0x20000);
  assert.equal(t.cpu.lastWriteLin, 0x20010);
  t.cpu.debugHooks = null;
  t.cpu.stopRequested = false;
  runToHlt(t);
  assert.equal(t.cpu.reg32[0], 42);
  assert.equal(t.cpu.noTlbFill, false, 'fast path restored after the hooks are removed');
});

test('linearToPhysical has no side effects and reports unmapped pages', { skip }, () => {
  const t = protectedMode(asm('hlt'));
  const mem = t.m.memory;
  mem.write32(0x100000, 0x101000 | 7);
  mem.write32(0x101000 + 4 * 5, 0x7000 | 1); // 0x5000 -> 0x7000 read-only
  t.cpu.writeCr3(0x100000);
  t.cpu.writeCr0(t.cpu.cr0 | 0x80010000);
  assert.equal(t.cpu.linearToPhysical(0x5123, false), 0x7123);
  assert.equal(t.cpu.linearToPhysical(0x5123, true), -1);
  assert.equal(t.cpu.linearToPhysical(0x6000, false), -1);
  assert.equal(mem.read32(0x101000 + 4 * 5) & 0x20, 0, 'no accessed bit set');
});

test('virtual-8086: IRET into v86, INT n with IOPL 3 goes to ring 0 with the v86 frame', { skip }, () => {
  const t = protectedMode(asm(`
    mov ax, 0x28
    ltr ax
    push dword 0        ; GS
    push dword 0        ; FS
    push dword 0x0100   ; DS
    push dword 0x0200   ; ES
    push dword 0x0300   ; SS
    push dword 0x0ffe   ; ESP
    push dword 0x23202  ; EFLAGS: VM, IOPL 3, IF
    push dword 0x2000   ; CS
    push dword 0x0000   ; EIP
    iretd
  `, 32, 0x10000));
  t.m.memory.write32(0x3004, 0x70000);
  t.m.memory.write32(0x3008, 0x10);
  // v86 code at 2000:0000 = linear 0x20000
  t.m.memory.writeBytes(0x20000, asm(`
    mov ax, 0x1234
    mov [0x10], ax      ; DS=0x100 -> linear 0x1010
    int 0x80
  `, 16, 0));
  const h = 0x18000;
  t.m.memory.writeBytes(h, asm('mov esi, esp\nhlt', 32, h));
  setGate(t, 0x80, h, 0xe, 3);
  runToHlt(t);
  const mem = t.m.memory;
  assert.equal(mem.read16(0x1010), 0x1234);
  assert.equal(t.cpu.reg32[6], 0x70000 - 36);
  const f = (i: number): number => mem.read32(0x70000 - 36 + i * 4);
  assert.equal(f(0), 0x8, 'EIP after INT 0x80');
  assert.equal(f(1), 0x2000, 'CS');
  assert.ok(f(2) & FLAG.VM, 'EFLAGS.VM');
  assert.equal(f(3), 0x0ffe);
  assert.equal(f(4), 0x0300);
  assert.equal(f(5), 0x0200);
  assert.equal(f(6), 0x0100);
  assert.equal(t.cpu.segSel[SEG.DS], 0, 'data segments nulled');
  assert.equal(t.cpu.v86, false);
});
