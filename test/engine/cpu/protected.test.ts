/**
 * Protected mode and paging: #PF error codes and CR2, accessed/dirty bits,
 * WP and U/S, 4 MiB and global pages, INVLPG, page-crossing stores, ring
 * transitions through the TSS and IRET, SYSENTER/SYSEXIT, segment checks,
 * double and triple faults, debug registers and single-step, x87 wiring.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asm, hasNasm, iretToRing3, protectedMode, runToHlt, setGate, descriptor, GDT, type TestMachine } from './helpers.js';
import { EXC, SEG, FLAG } from '../../../engine/cpu/flags.js';

const skip = hasNasm() ? false : 'nasm is not installed';
const PD = 0x100000;
const PT = 0x101000;

/** Identity-maps the first 4 MiB with 4 KiB pages (flags per page via `flags(page)`). */
function setupPaging(t: TestMachine, flags: (page: number) => number = () => 7): void {
  const mem = t.m.memory;
  mem.write32(PD, PT | 7);
  for (let p = 0; p < 1024; p++) mem.write32(PT + p * 4, (p << 12) | flags(p));
}

/** A handler at 0x18000 that reloads DS, stores the error code at 0x17000, CR2 at 0x17004, then HLTs. */
const PF_HANDLER = 0x18000;
function installPfHandler(t: TestMachine, vec: number = EXC.PF): void {
  t.m.memory.writeBytes(PF_HANDLER, asm(`
    mov cx, 0x10           ; DS may be null after a return to ring 3
    mov ds, cx
    pop eax
    mov [0x17000], eax
    mov eax, cr2
    mov [0x17004], eax
    hlt
  `, 32, PF_HANDLER));
  setGate(t, vec, PF_HANDLER);
}

test('paging: #PF error codes, CR2, A/D bits and WP', { skip }, () => {
  // page 0x40 not present; page 0x41 read-only
  const t = protectedMode(asm(`
    mov eax, ${PD}
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000     ; PG | WP
    mov cr0, eax
    mov ebx, [0x42000]     ; read: sets A only
    mov [0x43000], ebx     ; write: sets A and D
    mov [0x41000], ebx     ; write to read-only page with WP -> #PF(P|W)
    hlt
  `));
  setupPaging(t, (p) => (p === 0x40 ? 0 : p === 0x41 ? 5 : 7));
  installPfHandler(t);
  runToHlt(t);
  const mem = t.m.memory;
  assert.equal(mem.read32(0x17000), 0x3, 'error code P|W (supervisor)');
  assert.equal(mem.read32(0x17004), 0x41000, 'CR2');
  assert.equal(mem.read32(PT + 0x42 * 4) & 0x60, 0x20, 'read sets A only');
  assert.equal(mem.read32(PT + 0x43 * 4) & 0x60, 0x60, 'write sets A and D');
  assert.equal(mem.read32(PD) & 0x20, 0x20, 'PDE accessed');
});

test('paging: not-present page gives error code 0 / 2 and CR2', { skip }, () => {
  const t = protectedMode(asm(`
    mov eax, ${PD}
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov dword [0x40010], 1
    hlt
  `));
  setupPaging(t, (p) => (p === 0x40 ? 0 : 7));
  installPfHandler(t);
  runToHlt(t);
  assert.equal(t.m.memory.read32(0x17000), 0x2);
  assert.equal(t.m.memory.read32(0x17004), 0x40010);
});

test('paging: a page-crossing store faults before writing any byte', { skip }, () => {
  const t = protectedMode(asm(`
    mov eax, ${PD}
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov dword [0x3fffe], 0x11223344
    hlt
  `));
  setupPaging(t, (p) => (p === 0x40 ? 0 : 7));
  installPfHandler(t);
  t.m.memory.write32(0x3fffc, 0xaaaaaaaa);
  runToHlt(t);
  assert.equal(t.m.memory.read32(0x17004), 0x40000);
  assert.equal(t.m.memory.read32(0x3fffc) >>> 0, 0xaaaaaaaa, 'no byte of the store was written');
});

test('paging: 4 MiB pages with PSE, global pages survive a CR3 reload, INVLPG drops them', { skip }, () => {
  const t = protectedMode(asm(`
    mov eax, cr4
    or eax, 0x90            ; PSE | PGE
    mov cr4, eax
    mov eax, ${PD}
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov esi, [0x400010]     ; via the 4 MiB page (-> phys 0x10 + 0)
    mov dword [${PD + 4}], 0 ; unmap it in memory...
    mov ecx, cr3
    mov cr3, ecx            ; ...a CR3 reload keeps the global entry
    mov edi, [0x400010]
    invlpg [0x400010]
    mov edx, [0x400010]     ; now #PF
    hlt
  `));
  const mem = t.m.memory;
  mem.write32(PD, 0x000000 | 0x183); // 4 MiB page 0, global, RW, present
  mem.write32(PD + 4, 0x000000 | 0x183); // 0x400000 -> phys 0, global
  mem.write32(0x10, 0xdeadbeef);
  installPfHandler(t);
  runToHlt(t);
  assert.equal(t.cpu.reg32[6]! >>> 0, 0xdeadbeef);
  assert.equal(t.cpu.reg32[7]! >>> 0, 0xdeadbeef);
  assert.equal(mem.read32(0x17004), 0x400010);
  assert.equal(mem.read32(0x17000), 0);
});

/** Builds a TSS at 0x3000 with ESP0 and SS0 = 0x10. */
function tss(t: TestMachine, esp0: number): void {
  t.m.memory.write32(0x3004, esp0);
  t.m.memory.write32(0x3008, 0x10);
}

test('ring 3 via IRET, back to ring 0 through an interrupt gate using TSS.ESP0', { skip }, () => {
  const t = protectedMode(asm(`
    mov ax, 0x28
    ltr ax
    ${iretToRing3(0x202)}  ; IF set
  user:
    mov eax, 5
    int 0x80
    hlt
  `, 32, 0x10000));
  tss(t, 0x70000);
  const h = 0x18000;
  t.m.memory.writeBytes(h, asm(`
    mov ebx, [esp+4]       ; CS
    mov ecx, [esp+12]      ; ESP
    mov edx, [esp+16]      ; SS
    mov esi, esp
    mov di, ds
    hlt
  `, 32, h));
  setGate(t, 0x80, h, 0xe, 3);
  runToHlt(t);
  assert.equal(t.cpu.cpl, 0);
  assert.equal(t.cpu.reg32[3], 0x1b);
  assert.equal(t.cpu.reg32[1], 0x80000);
  assert.equal(t.cpu.reg32[2], 0x23);
  assert.equal(t.cpu.reg32[6], 0x70000 - 20);
});

test('ring 3: privileged instruction -> #GP(0); INT to a DPL0 gate -> #GP(vector*8+2)', { skip }, () => {
  const t = protectedMode(asm(`
    mov ax, 0x28
    ltr ax
    ${iretToRing3()}
  user:
    int 0x81
    hlt
  `, 32, 0x10000));
  tss(t, 0x70000);
  installPfHandler(t, EXC.GP);
  setGate(t, 0x81, 0x10000, 0xe, 0);
  runToHlt(t);
  assert.equal(t.m.memory.read32(0x17000), 0x81 * 8 + 2);
});

test('SYSENTER/SYSEXIT use the MSRs and flat selectors', { skip }, () => {
  const t = protectedMode(asm(`
    mov ecx, 0x174
    mov eax, 0x08
    xor edx, edx
    wrmsr
    mov ecx, 0x175
    mov eax, 0x60000
    wrmsr
    mov ecx, 0x176
    mov eax, kernel
    wrmsr
    mov ecx, 0x50000       ; user ESP for SYSEXIT
    mov edx, user          ; user EIP
    sysexit
  user:
    mov ebx, cs
    sysenter
  kernel:
    mov esi, esp
    mov edi, cs
    hlt
  `, 32, 0x10000));
  runToHlt(t);
  assert.equal(t.cpu.reg32[3], 0x1b);
  assert.equal(t.cpu.reg32[6], 0x60000);
  assert.equal(t.cpu.reg32[7], 0x08);
  assert.equal(t.cpu.cpl, 0);
});

test('segment load checks: null SS, non-present, wrong type give the right error codes', { skip }, () => {
  const t = protectedMode(asm(`
    mov ax, 0x38
    mov ds, ax            ; not present -> #NP(0x38)
    hlt
  `));
  const [lo, hi] = descriptor(0, 0xfffff, 0x12, 0xc); // data, not present
  t.m.memory.write32(GDT + 0x38, lo);
  t.m.memory.write32(GDT + 0x3c, hi);
  installPfHandler(t, EXC.NP);
  runToHlt(t);
  assert.equal(t.m.memory.read32(0x17000), 0x38);
  const u = protectedMode(asm(`
    xor ax, ax
    mov ss, ax            ; null SS -> #GP(0)
    hlt
  `));
  installPfHandler(u, EXC.GP);
  runToHlt(u);
  assert.equal(u.cpu.lastException, EXC.GP);
  assert.equal(u.m.memory.read32(0x17000), 0);
});

test('double fault when #GP delivery faults; triple fault requests a reset', { skip }, () => {
  const t = protectedMode(asm(`
    mov ax, 0x99
    mov ds, ax             ; #GP(0x98): beyond GDT limit
    hlt
  `));
  // #GP gate not present -> #NP while delivering #GP -> #DF
  installPfHandler(t, EXC.DF);
  runToHlt(t);
  assert.equal(t.cpu.lastException, EXC.DF);
  assert.equal(t.m.memory.read32(0x17000), 0);
  const u = protectedMode(asm('mov ax, 0x99\nmov ds, ax\nhlt'));
  const r = u.m.run(1000);
  assert.equal(u.m.resets, 1, `reason ${r.reason}`);
  assert.ok(u.log.lines.some((l) => l.includes('triple fault')));
});

test('TF single-step traps after each instruction; DR0 instruction breakpoint faults', { skip }, () => {
  const t = protectedMode(asm(`
    pushfd
    or dword [esp], 0x100
    popfd
    nop
    nop
    hlt
  `));
  const h = 0x18000;
  t.m.memory.writeBytes(h, asm('inc dword [0x17000]\niretd', 32, h));
  setGate(t, EXC.DB, h);
  runToHlt(t);
  // traps after: nop, nop, hlt? (popfd sets TF: first trap after the instruction following popfd)
  assert.ok(t.m.memory.read32(0x17000) >= 2, `traps ${t.m.memory.read32(0x17000)}`);
  const u = protectedMode(asm(`
    mov eax, target
    mov dr0, eax
    mov eax, 0x1
    mov dr7, eax
    nop
  target:
    nop
    hlt
  `, 32, 0x10000));
  installPfHandler(u, EXC.DB);
  runToHlt(u);
  assert.equal(u.cpu.lastException, EXC.DB);
  assert.equal(u.cpu.dr[6]! & 1, 1);
});

test('call gate to the same privilege; far JMP/CALL/RETF', { skip }, () => {
  const t = protectedMode(asm(`
    call 0x40:0            ; call gate -> fn
    mov ebx, 0x99
    hlt
  fn:
    mov eax, 0x77
    retf
  `, 32, 0x10000));
  const fn = 0x10000 + 7 + 5 + 1;
  const mem = t.m.memory;
  mem.write32(GDT + 0x40, (0x08 << 16) | (fn & 0xffff));
  mem.write32(GDT + 0x44, (fn & 0xffff0000) | 0x8c00);
  runToHlt(t);
  assert.equal(t.cpu.reg32[0], 0x77);
  assert.equal(t.cpu.reg32[3], 0x99);
});

test('x87 is wired: FLD/FADD/FSTP through the CPU bus, FNSTSW AX, #NM with CR0.TS', { skip }, () => {
  const t = protectedMode(asm(`
    fninit
    fld dword [a]
    fadd dword [b]
    fstp dword [c]
    fnstsw ax
    mov ebx, cr0
    or ebx, 8
    mov cr0, ebx
    fld1
    hlt
  a: dd 1.5
  b: dd 2.25
  c: dd 0
  `, 32, 0x10000));
  installPfHandler(t, EXC.NM);
  runToHlt(t);
  const c = t.m.memory.read32(0x10000 + 0x30);
  void c;
  assert.equal(t.cpu.lastException, EXC.NM);
  const f = new Float32Array(new Uint32Array([t.m.memory.read32(findLabel(t))]).buffer)[0];
  assert.equal(f, 3.75);
});

function findLabel(t: TestMachine): number {
  // c: is the last dword of the program image (see the source above)
  let end = 0x10000;
  while (t.m.memory.read32(end) !== 0x3fc00000) end++;
  return end + 8;
}

test('EFLAGS: POPF at CPL 3 cannot change IOPL or IF', { skip }, () => {
  const t = protectedMode(asm(`
    mov ax, 0x28
    ltr ax
    ${iretToRing3()}
  user:
    push dword 0x3202
    popfd
    pushfd
    pop eax
    int 0x80
  `, 32, 0x10000));
  tss(t, 0x70000);
  t.m.memory.write8(0x18000, 0xf4);
  setGate(t, 0x80, 0x18000, 0xe, 3);
  runToHlt(t);
  assert.equal(t.cpu.reg32[0]! & (FLAG.IOPL | FLAG.IF), 0);
  void SEG;
});

test('I/O breakpoint (CR4.DE, DR7 R/W=10) traps after the OUT', { skip }, () => {
  const t = protectedMode(asm(`
    mov eax, cr4
    or eax, 8
    mov cr4, eax
    mov eax, 0x80
    mov dr1, eax
    mov eax, 0x00200004     ; L1, R/W1 = 10b, LEN1 = 1 byte
    mov dr7, eax
    out 0x80, al
    mov ebx, 1
    hlt
  `, 32, 0x10000));
  t.m.memory.writeBytes(0x18000, asm('mov esi, [esp]\nhlt', 32, 0x18000));
  setGate(t, EXC.DB, 0x18000);
  runToHlt(t);
  assert.equal(t.cpu.lastException, EXC.DB);
  assert.equal(t.cpu.dr[6]! & 2, 2);
  assert.equal(t.cpu.reg32[3], 0, 'trap taken before the next instruction');
  assert.equal(t.m.memory.read8(t.cpu.reg32[6]!), 0xbb, 'saved EIP is the instruction after OUT');
});

test('segment limits: a flat 4 GiB segment faults only where an access would wrap past 0xFFFFFFFF', () => {
  const cases: [string, number[], boolean][] = [
    ['dword read at FFFFFFFD', [0xa1, 0xfd, 0xff, 0xff, 0xff], true],
    ['dword read at FFFFFFFC', [0xa1, 0xfc, 0xff, 0xff, 0xff], false],
    ['word read at FFFFFFFF', [0x66, 0xa1, 0xff, 0xff, 0xff, 0xff], true],
    ['word read at FFFFFFFE', [0x66, 0xa1, 0xfe, 0xff, 0xff, 0xff], false],
    ['byte read at FFFFFFFF', [0xa0, 0xff, 0xff, 0xff, 0xff], false],
    ['dword write at FFFFFFFE', [0x89, 0x05, 0xfe, 0xff, 0xff, 0xff], true],
    ['dword add to FFFFFFFD', [0x01, 0x05, 0xfd, 0xff, 0xff, 0xff], true],
    ['dword read through a 1 MiB segment at 0FFFFD', [0x26, 0xa1, 0xfd, 0xff, 0x0f, 0x00], true],
    ['dword read through a 1 MiB segment at 0FFFFC', [0x26, 0xa1, 0xfc, 0xff, 0x0f, 0x00], false],
  ];
  for (const [what, insn, faults] of cases) {
    const t = protectedMode(new Uint8Array([...insn, 0xf4]));
    t.m.memory.write32(GDT + 6 * 8, descriptor(0, 0xfffff, 0x92, 0x4)[0]); // byte-granular 1 MiB data segment
    t.m.memory.write32(GDT + 6 * 8 + 4, descriptor(0, 0xfffff, 0x92, 0x4)[1]);
    t.cpu.loadSegment(SEG.ES, 0x30);
    setGate(t, EXC.GP, 0x10800);
    t.m.memory.writeBytes(0x10800, new Uint8Array([0xf4]));
    runToHlt(t, 100);
    assert.equal(t.cpu.lastException === EXC.GP, faults, what);
    assert.equal(t.cpu.eip, faults ? 0x10801 : 0x10000 + insn.length + 1, what);
  }
});
