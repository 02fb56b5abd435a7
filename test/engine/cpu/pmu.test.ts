/**
 * The P6 performance counters: PerfEvtSel0/1 and PerfCtr0/1 through
 * RDMSR/WRMSR and RDPMC, exact INST_RETIRED and CPU_CLK_UNHALTED counts, the
 * USR/OS filter, HLT, CR4.PCE, reserved bits, and the CPU snapshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asm, hasNasm, iretToRing3, protectedMode, runToHlt, setGate, type TestMachine } from './helpers.js';
import { EXC } from '../../../engine/cpu/flags.js';
import { computeStateHash } from '../../../engine/state/snapshot.js';

const skip = hasNasm() ? false : 'nasm is not installed';
const OUT = 0x17000;
const NS_PER_INSTR = 10; // the default virtual clock

/** Ring 0 code with #GP and #UD handlers that store the vector at OUT+0x40 and halt (DS is null after an IRET to ring 3). */
function machine(src: string): TestMachine {
  const t = protectedMode(asm(src, 32, 0x10000));
  for (const vec of [EXC.GP, EXC.UD]) {
    const h = 0x18000 + vec * 0x20;
    t.m.memory.writeBytes(h, asm(`mov cx, 0x10\nmov ds, cx\nmov dword [${OUT + 0x40}], ${vec}\nhlt`, 32, h));
    setGate(t, vec, h);
  }
  t.m.memory.write32(OUT + 0x40, -1);
  return t;
}
const out = (t: TestMachine, i: number): number => t.m.memory.read32(OUT + i * 4) >>> 0;
const fault = (t: TestMachine): number => t.m.memory.read32(OUT + 0x40);

test('PerfEvtSel and PerfCtr read back; counter writes sign-extend bit 31 into bits 39:32', { skip }, () => {
  const t = machine(`
    mov ecx, 0x186
    mov eax, 0x11f0079      ; CMASK 1, INT, PC, E, OS, USR, event 0x79 (EN clear)
    xor edx, edx
    wrmsr
    mov ecx, 0x187
    mov eax, 0x4100c0       ; EN (kept, ignored in PerfEvtSel1), USR, INST_RETIRED
    wrmsr
    mov ecx, 0xc1
    mov eax, 0x80000001
    mov edx, 0x55           ; ignored
    wrmsr
    mov ecx, 0xc2
    mov eax, 0x7fffffff
    wrmsr
    mov ecx, 0x186
    rdmsr
    mov [${OUT}], eax
    mov [${OUT + 4}], edx
    mov ecx, 0x187
    rdmsr
    mov [${OUT + 8}], eax
    mov ecx, 0xc1
    rdmsr
    mov [${OUT + 12}], eax
    mov [${OUT + 16}], edx
    xor ecx, ecx
    rdpmc
    mov [${OUT + 20}], edx
    mov ecx, 0xc2
    rdmsr
    mov [${OUT + 24}], eax
    mov [${OUT + 28}], edx
    hlt
  `);
  runToHlt(t);
  assert.equal(fault(t), -1);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => out(t, i)), [0x11f0079, 0, 0x4100c0, 0x80000001, 0xff, 0xff, 0x7fffffff, 0]);
});

for (const [what, msr, eax, edx] of [
  ['bit 21 of PerfEvtSel0', 0x186, 0x200000, 0],
  ['bit 21 of PerfEvtSel1', 0x187, 0x2000c0, 0],
  ['the high half of PerfEvtSel0', 0x186, 0xc0, 1],
] as const) {
  test(`WRMSR with ${what} set raises #GP and changes nothing`, { skip }, () => {
    const t = machine(`
      mov ecx, ${msr}
      mov eax, ${eax}
      mov edx, ${edx}
      wrmsr
      hlt
    `);
    runToHlt(t);
    assert.equal(fault(t), EXC.GP);
    assert.deepEqual(Array.from(t.cpu.pmu.evtSel), [0, 0]);
  });
}

test('INST_RETIRED and CPU_CLK_UNHALTED count exactly from the enabling WRMSR', { skip }, () => {
  const t = machine(`
    mov ecx, 0x187
    mov eax, 0x030079       ; PerfCtr1: CPU_CLK_UNHALTED, OS+USR
    xor edx, edx
    wrmsr
    mov ecx, 0x186
    mov eax, 0x4300c0       ; PerfCtr0: INST_RETIRED, OS+USR, EN (both counters)
    wrmsr                   ; 1: retires with counting on
    mov ecx, 100            ; 2
  l: loop l                 ; 102
    xor ecx, ecx            ; 103
    rdpmc                   ; reads 103: the instructions before it
    mov [${OUT}], eax
    mov [${OUT + 4}], edx
    mov ecx, 1
    rdpmc
    mov [${OUT + 8}], eax
    mov [${OUT + 12}], edx
    mov ecx, 0x186
    xor eax, eax
    xor edx, edx
    wrmsr                   ; counting stops before this one retires
    nop
    nop
    xor ecx, ecx
    rdpmc
    mov [${OUT + 16}], eax
    hlt
  `);
  runToHlt(t);
  assert.equal(fault(t), -1);
  assert.equal(out(t, 0), 103);
  assert.equal(out(t, 1), 0);
  // rdpmc #2 sits 4 instructions after rdpmc #1: 107 instructions of 10 ns at 1 GHz
  assert.equal(out(t, 2), 107 * NS_PER_INSTR);
  // the second RDPMC and five more instructions to the disabling WRMSR, which is not counted
  assert.equal(out(t, 4), 107 + 6);
});

test('the USR and OS filters split the count at the CPL each instruction retires at', { skip }, () => {
  const t = machine(`
    mov ax, 0x28
    ltr ax
    mov ecx, 0x187
    mov eax, 0x0100c0       ; PerfCtr1: INST_RETIRED, USR only
    xor edx, edx
    wrmsr
    mov ecx, 0x186
    mov eax, 0x4200c0       ; PerfCtr0: INST_RETIRED, OS only; EN
    wrmsr                   ; OS 1
    ${iretToRing3(0x202)}   ; its 5 pushes: OS 2..6; the IRETD retires at CPL 3: USR 1
  user:
    mov ecx, 50             ; USR 2
  l: loop l                 ; USR 52
    int 0x80                ; retires at CPL 0: OS 7
  `);
  t.m.memory.write32(0x3004, 0x70000);
  t.m.memory.write32(0x3008, 0x10);
  const h = 0x18800;
  t.m.memory.writeBytes(h, asm(`
    mov cx, 0x10            ; OS 8, 9: DS was nulled by the IRET to ring 3
    mov ds, cx
    mov ecx, 0xc1           ; OS 10 (rdmsr reads before it retires)
    rdmsr
    mov [${OUT}], eax
    mov ecx, 0xc2
    rdmsr
    mov [${OUT + 4}], eax
    hlt
  `, 32, h));
  setGate(t, 0x80, h, 0xe, 3);
  runToHlt(t);
  assert.equal(fault(t), -1);
  assert.equal(out(t, 0), 10, 'OS');
  assert.equal(out(t, 1), 52, 'USR');
});

test('HLT: the idle instructions and halted clocks are not counted; HLT itself is', { skip }, () => {
  const t = machine(`
    mov ecx, 0x187
    mov eax, 0x030079
    xor edx, edx
    wrmsr
    mov ecx, 0x186
    mov eax, 0x4300c0
    wrmsr                   ; 1
    sti                     ; 2
    hlt                     ; 3, then the interrupt handler's 2
    xor ecx, ecx            ; 6
    rdpmc
    mov [${OUT}], eax
    mov ecx, 1
    rdpmc
    mov [${OUT + 4}], eax
    hlt
  `);
  const h = 0x18400;
  t.m.memory.writeBytes(h, asm(`mov dword [${OUT + 8}], 1\niretd`, 32, h));
  setGate(t, 0x20, h);
  t.cpu.intAck = { acknowledge: () => { t.cpu.intr = false; return 0x20; } };
  runToHlt(t);
  assert.equal(t.cpu.halted, true);
  t.cpu.icount += 5000; // what the machine credits while the CPU is halted
  t.cpu.intr = true;
  runToHlt(t);
  assert.equal(out(t, 2), 1, 'the interrupt handler ran');
  assert.equal(out(t, 0), 6);
  // the clocks of the 9 instructions from the enabling WRMSR to the second RDPMC
  assert.equal(out(t, 1), 9 * NS_PER_INSTR);
});

test('RDPMC: CPL 3 needs CR4.PCE; ECX > 1 is #GP', { skip }, () => {
  for (const [pce, ecx, want] of [[false, 0, EXC.GP], [true, 0, -1], [true, 2, EXC.GP]] as const) {
    const t = machine(`
      mov ax, 0x28
      ltr ax
      mov eax, cr4
      or eax, ${pce ? 0x100 : 0}
      mov cr4, eax
      ${iretToRing3()}
    user:
      mov ecx, ${ecx}
      rdpmc
      int 0x80
    `);
    t.m.memory.write32(0x3004, 0x70000);
    t.m.memory.write32(0x3008, 0x10);
    t.m.memory.writeBytes(0x18800, asm('hlt', 32, 0x18800));
    setGate(t, 0x80, 0x18800, 0xe, 3);
    runToHlt(t);
    assert.equal(fault(t), want, `PCE ${pce}, ECX ${ecx}`);
  }
});

test('counter state is in the CPU snapshot: restore and rerun give the same counts and state hash', { skip }, () => {
  const t = machine(`
    mov ecx, 0x186
    mov eax, 0x4300c0
    xor edx, edx
    wrmsr
    mov ecx, 1000
  l: loop l
    xor ecx, ecx
    rdpmc
    mov [${OUT}], eax
    hlt
  `);
  // reset state: no PMU fields (records saved before the PMU existed load as reset)
  assert.equal(t.cpu.saveState()['pmu'], undefined);
  t.cpu.run(t.cpu.icount + 500);
  const snap = t.m.snapshot();
  const pmu = snap.components['cpu']!.s['pmu'] as Record<string, unknown>;
  assert.deepEqual(Object.keys(pmu).sort(), ['asleep', 'baseCycles', 'baseIcount', 'ctr', 'evtSel']);
  assert.equal(pmu['baseIcount'], snap.icount, 'materialised at the snapshot');
  runToHlt(t);
  const first = out(t, 0);
  const h1 = t.m.stateHash();
  t.m.restore(snap);
  runToHlt(t);
  assert.equal(out(t, 0), first);
  assert.equal(first, 1 + 1 + 1000 + 1);
  assert.equal(t.m.stateHash(), h1);
  // the hash does not depend on when the counters were last brought up to date
  const a = computeStateHash(t.m.registry.save(), null);
  t.cpu.pmu.sync(t.cpu);
  assert.equal(computeStateHash(t.m.registry.save(), null), a);
});

test('an unmodelled event counts nothing and is reported once', { skip }, () => {
  const t = machine(`
    mov ecx, 0x186
    mov eax, 0x4300c4       ; BR_INST_RETIRED
    xor edx, edx
    wrmsr
    wrmsr
    mov ecx, 0x187
    mov eax, 0x0300c4
    wrmsr
    mov ecx, 0xc1
    rdmsr
    mov [${OUT}], eax
    hlt
  `);
  runToHlt(t);
  assert.equal(out(t, 0), 0);
  assert.equal(t.log.lines.filter((l) => l.includes('PMU: event 0xc4')).length, 1, t.log.lines.join('\n'));
});
