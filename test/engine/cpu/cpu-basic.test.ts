/**
 * Instruction families, exact icount, self-modifying code, interrupts and
 * snapshots, on small nasm snippets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asm, hasNasm, realMode, protectedMode, runToHlt, setGate, makeMachine } from './helpers.js';
import { FLAG, SEG, EXC } from '../../../engine/cpu/flags.js';
import { STEP } from '../../../engine/cpu/cpu.js';
import { computeStateHash } from '../../../engine/state/snapshot.js';

const skip = hasNasm() ? false : 'nasm is not installed';

test('reset state follows SDM 9.1.1', () => {
  const { cpu } = makeMachine(2);
  assert.equal(cpu.eip, 0xfff0);
  assert.equal(cpu.segSel[SEG.CS], 0xf000);
  assert.equal(cpu.segBase[SEG.CS]! >>> 0, 0xffff0000);
  assert.equal(cpu.reg32[2], 0x0633);
  assert.equal(cpu.getEflags(), 2);
  assert.equal(cpu.cr0 >>> 0, 0x60000010);
  assert.equal(cpu.dr[7], 0x400);
});

test('ALU, flags, MUL/DIV, shifts in 32-bit mode', { skip }, () => {
  const t = protectedMode(asm(`
    mov eax, 0x7fffffff
    add eax, 1            ; OF SF set
    pushfd
    pop ebx
    mov ecx, 0x12345678
    mov edx, 0
    mov eax, 0x9abcdef0
    mov esi, 0x10000
    div esi               ; edx:eax / 0x10000
    mov edi, eax
    mov eax, -3
    imul eax, eax, 7      ; -21
    mov ebp, eax
    mov eax, 0x80000001
    rol eax, 1            ; 3, CF=1
    setc dl
    shld ecx, eax, 4
    bsr esi, ecx
    bswap ecx
    hlt
  `));
  runToHlt(t);
  const r = t.cpu.reg32;
  assert.equal(r[3]! & (FLAG.OF | FLAG.SF | FLAG.ZF | FLAG.CF), FLAG.OF | FLAG.SF);
  assert.equal(r[7], 0x9abc);
  assert.equal(r[5], -21);
  assert.equal(r[0], 3);
  assert.equal(t.cpu.reg8[8], 1);
  assert.equal(r[1], 0x80674523 | 0); // (0x12345678 << 4 | 0) = 0x23456780 -> bswap
  assert.equal(r[6], 29);
});

test('string ops: REP MOVSB counts one instruction per iteration and is resumable', { skip }, () => {
  const code = asm(`
    mov esi, 0x20000
    mov edi, 0x30000
    mov ecx, 100
    cld
    rep movsb
    hlt
  `);
  const t = protectedMode(code);
  for (let i = 0; i < 100; i++) t.m.memory.write8(0x20000 + i, i + 1);
  // stop in the middle of the REP: exactly 4 + 37 instructions
  t.cpu.run(t.cpu.icount + 41);
  assert.equal(t.cpu.icount, 41);
  assert.equal(t.cpu.reg32[1], 63);
  assert.equal(t.cpu.eip, 0x10000 + code.length - 3);
  const n = runToHlt(t);
  assert.equal(n, 63 + 1);
  assert.equal(t.cpu.reg32[1], 0);
  for (let i = 0; i < 100; i++) assert.equal(t.m.memory.read8(0x30000 + i), i + 1);
});

test('REP with ECX=0 retires once; a faulting instruction does not retire', { skip }, () => {
  const t = protectedMode(asm(`
    xor ecx, ecx
    rep stosb
    ud2
  `));
  setGate(t, EXC.UD, 0x10100);
  t.m.memory.write8(0x10100, 0xf4);
  runToHlt(t);
  // xor, rep stosb, (ud2 faults: not counted), hlt
  assert.equal(t.cpu.icount, 3);
  assert.equal(t.cpu.lastException, EXC.UD);
});

test('self-modifying code is seen on the next execution', { skip }, () => {
  const t = protectedMode(asm(`
    mov ecx, 3
  again:
    mov byte [patch + 1], cl   ; patch the immediate of the next instruction
  patch:
    mov al, 0
    add bl, al
    loop again
    hlt
  `, 32, 0x10000));
  runToHlt(t);
  assert.equal(t.cpu.reg8[12], 3 + 2 + 1);
});

test('real mode: INT/IRET through the IVT, PUSHF/POPF, far call/ret', { skip }, () => {
  const code = asm(`
    mov word [0x80*4], handler
    mov word [0x80*4+2], 0
    stc
    int 0x80
    pushf
    pop dx
    call 0:far_fn
    hlt
  handler:
    mov ax, 0x1234
    iret
  far_fn:
    mov bx, 0x5678
    retf
  `, 16, 0x1000);
  const t = realMode(code);
  runToHlt(t);
  assert.equal(t.cpu.reg16[0], 0x1234);
  assert.equal(t.cpu.reg16[6], 0x5678);
  assert.equal(t.cpu.reg16[4]! & 1, 1, 'CF restored by IRET');
  assert.equal(t.cpu.reg32[4], 0x8000);
});

test('#DE pushes the faulting IP in real mode', { skip }, () => {
  const t = realMode(asm(`
    mov word [0], handler
    mov word [2], 0
    xor bl, bl
  faulting:
    div bl
    hlt
  handler:
    mov bp, sp
    mov si, [bp]
    hlt
  `, 16, 0x1000));
  runToHlt(t);
  const faultIp = t.cpu.reg16[12]!;
  assert.equal(t.m.memory.read8(faultIp), 0xf6);
});

test('external interrupt: INTR + IF delivers the acknowledged vector and wakes HLT', { skip }, () => {
  const t = protectedMode(asm(`
    sti
    hlt
    mov ebx, 1
    hlt
  handler:
    mov eax, 0x42
    iretd
  `, 32, 0x10000));
  const handler = 0x10000 + 1 + 1 + 5 + 1;
  setGate(t, 0x20, handler);
  t.cpu.intAck = { acknowledge: () => 0x20 };
  runToHlt(t);
  assert.equal(t.cpu.halted, true);
  t.cpu.intr = true;
  t.cpu.run(t.cpu.icount + 2); // handler's mov + iretd
  t.cpu.intr = false;
  runToHlt(t);
  assert.equal(t.cpu.reg32[0], 0x42);
  assert.equal(t.cpu.reg32[3], 1);
});

test('STI shadow: the instruction after STI runs before a pending interrupt', { skip }, () => {
  const t = protectedMode(asm(`
    sti
    mov ecx, 7
    mov ecx, 8
    hlt
  handler:
    mov edx, ecx
    iretd
  `, 32, 0x10000));
  setGate(t, 0x30, 0x10000 + 1 + 5 + 5 + 1);
  t.cpu.intAck = { acknowledge: () => 0x30 };
  t.cpu.intr = true;
  t.cpu.run(t.cpu.icount + 3); // sti, mov ecx 7, (interrupt) mov edx,ecx
  t.cpu.intr = false;
  assert.equal(t.cpu.reg32[2], 7);
});

test('step() executes one instruction or delivers one event', { skip }, () => {
  const t = protectedMode(asm('nop\nnop\nhlt'));
  assert.equal(t.cpu.step(), STEP.INSTRUCTION);
  assert.equal(t.cpu.icount, 1);
  assert.equal(t.cpu.eip, 0x10001);
});

test('snapshot round-trip mid-run gives identical states', { skip }, () => {
  const code = asm(`
    mov ecx, 1000
  l: add eax, ecx
    rol eax, 3
    imul ebx, eax, 5
    push eax
    pop edx
    loop l
    hlt
  `);
  const a = protectedMode(code);
  a.cpu.run(500);
  const mid = a.m.snapshot();
  runToHlt(a);
  const h1 = a.m.stateHash();
  const b = protectedMode(code);
  b.m.restore(mid);
  assert.equal(b.cpu.icount, 500);
  runToHlt(b);
  assert.equal(b.m.stateHash(), h1);
  // save -> load -> save is the identity on the cpu record
  const s1 = b.cpu.saveState();
  b.cpu.loadState(s1);
  assert.equal(computeStateHash({ cpu: { v: 1, s: b.cpu.saveState() } }, null), computeStateHash({ cpu: { v: 1, s: s1 } }, null));
});

test('LOCK on a register destination or a non-lockable instruction is #UD', { skip }, () => {
  const t = protectedMode(asm(`
    lock add eax, ebx
  `));
  setGate(t, EXC.UD, 0x10100);
  t.m.memory.write8(0x10100, 0xf4);
  runToHlt(t);
  assert.equal(t.cpu.lastException, EXC.UD);
  const u = protectedMode(asm(`
    lock add [0x20000], eax
    lock cmpxchg8b [0x20010]
    hlt
  `));
  runToHlt(u);
  assert.equal(u.cpu.lastException, -1);
});

test('an instruction longer than 15 bytes raises #GP(0)', () => {
  const bytes = new Uint8Array([0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90, 0xf4]);
  const t = protectedMode(bytes);
  setGate(t, EXC.GP, 0x10100);
  t.m.memory.write8(0x10100, 0xf4);
  runToHlt(t);
  assert.equal(t.cpu.lastException, EXC.GP);
  const ok = protectedMode(new Uint8Array([0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90, 0xf4]));
  runToHlt(ok);
  assert.equal(ok.cpu.lastException, -1);
});

test('CPUID reports the P6 profile; RDTSC follows guest time', { skip }, () => {
  const t = protectedMode(asm(`
    xor eax, eax
    cpuid
    mov esi, ebx
    mov eax, 1
    cpuid
    mov edi, edx
    rdtsc
    hlt
  `));
  runToHlt(t);
  assert.equal(t.cpu.reg32[6], 0x756e6547);
  const feat = t.cpu.reg32[7]!;
  for (const bit of [0, 3, 4, 5, 8, 11, 13, 15]) assert.ok(feat & (1 << bit), `feature bit ${bit}`);
  assert.equal(t.cpu.reg32[0], Math.floor(t.m.clock.nowNs(6)));
});

test('unimplemented/invalid opcodes raise #UD and are reported once', { skip }, () => {
  const t = protectedMode(asm(`
    db 0x0f, 0x0f
    db 0x0f, 0x0f
    hlt
  `));
  setGate(t, EXC.UD, 0x10100);
  t.m.memory.writeBytes(0x10100, new Uint8Array([0x83, 0x04, 0x24, 0x02, 0xcf])); // add dword [esp], 2; iretd
  runToHlt(t);
  assert.equal(t.log.lines.filter((l) => l.includes('#UD')).length, 1);
});

test('an interrupt between REP iterations resumes the string instruction exactly', { skip }, () => {
  const code = asm(`
    mov esi, 0x20000
    mov edi, 0x30000
    mov ecx, 50
    cld
    rep movsb
    hlt
  handler:
    inc ebx
    iretd
  `, 32, 0x10000);
  const t = protectedMode(code);
  for (let i = 0; i < 50; i++) t.m.memory.write8(0x20000 + i, 0x80 + i);
  setGate(t, 0x40, 0x10000 + code.length - 2);
  t.cpu.intAck = { acknowledge: () => 0x40 };
  t.cpu.flags |= FLAG.IF;
  t.cpu.run(t.cpu.icount + 4 + 20); // 20 iterations
  assert.equal(t.cpu.reg32[1], 30);
  t.cpu.intr = true;
  t.cpu.run(t.cpu.icount + 2); // handler: inc, iretd
  t.cpu.intr = false;
  assert.equal(t.cpu.reg32[3], 1);
  assert.equal(t.cpu.eip, 0x10000 + 5 + 5 + 5 + 1, 'back on the REP MOVSB');
  const n = runToHlt(t);
  assert.equal(n, 30 + 1);
  for (let i = 0; i < 50; i++) assert.equal(t.m.memory.read8(0x30000 + i), 0x80 + i);
  assert.equal(t.cpu.icount, 4 + 50 + 2 + 1);
});

test('a stop requested by a device during an instruction ends run() at the next boundary', { skip }, () => {
  const t = protectedMode(asm(`
    mov al, 1
    out 0xf4, al
    inc ebx
    inc ebx
    jmp $
  `));
  t.m.ports.register(0xf4, 1, 'test-exit', { write8: () => t.m.requestStop('exit', 'test', 0) });
  const r = t.m.run(1000);
  assert.equal(r.reason, 'exit');
  assert.equal(t.cpu.icount, 2);
  assert.equal(t.cpu.reg32[3], 0);
});

test('REP MOVS/STOS bulk path matches the per-iteration path (pages, overlap, stops mid-way)', { skip }, () => {
  const code = asm(`
    cld
    mov esi, 0x20ffd        ; crosses a page boundary
    mov edi, 0x40003
    mov ecx, 3000
    rep movsb
    mov esi, 0x50000        ; overlapping forward copy replicates a pattern
    mov edi, 0x50003
    mov ecx, 500
    rep movsb
    mov edi, 0x60002
    mov eax, 0x11223344
    mov ecx, 1500
    rep stosd
    mov edi, 0x70001
    mov ax, 0xabcd
    mov ecx, 999
    rep stosw
    hlt
  `);
  const setup = (): ReturnType<typeof protectedMode> => {
    const t = protectedMode(code);
    for (let i = 0; i < 0x2000; i++) t.m.memory.write8(0x20000 + i, (i * 7) & 0xff);
    t.m.memory.writeBytes(0x50000, new Uint8Array([1, 2, 3]));
    return t;
  };
  const fast = setup();
  // stop at awkward points to exercise resumption
  for (const n of [7, 1000, 1, 2500, 333]) fast.cpu.run(fast.cpu.icount + n);
  runToHlt(fast, 10_000_000);
  const slow = setup();
  slow.cpu.debugHooks = { breakpoint: () => false, access: () => {} };
  runToHlt(slow, 10_000_000);
  slow.cpu.debugHooks = null;
  assert.equal(fast.cpu.icount, slow.cpu.icount);
  assert.equal(fast.m.stateHash(), slow.m.stateHash());
  assert.equal(fast.m.memory.read8(0x50000 + 400), [1, 2, 3][400 % 3]);
});
