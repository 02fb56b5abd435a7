/**
 * Self-checking CPU guests (fixtures/guests/src/rm-*.asm, pm-*.asm): each
 * boots from the reset vector, runs its checks, prints "PASS <name>" or one
 * "FAIL <check>: expected X got Y" line per failed check on port 0xE9, and
 * exits through port 0xF4 with 0 (pass), 1 (a check failed) or 2 (an
 * unexpected exception).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runGuest, guestImage, describeRun, GUEST_EXIT } from '../support/guest-runner.js';

/** [guest, what it checks, instruction budget] */
const GUESTS: [string, string, number][] = [
  ['rm-alu', 'real mode: ALU results and defined flags in 8/16/32 bits, shifts/rotates with count masking, SHLD/SHRD', 2_000_000],
  ['rm-muldiv', 'real mode: MUL/IMUL forms, DIV/IDIV, #DE through the IVT with the faulting IP, BCD adjust', 2_000_000],
  ['rm-string', 'real mode: string ops with every REP form, DF, overlap, a16/a32, DI wrap, REP single-stepped per iteration', 2_000_000],
  ['rm-stack', 'real mode: PUSH/POP/PUSHA/POPF masks, ENTER/LEAVE levels, far/near CALL/RET imm, INT/IRET, INT3/INTO/BOUND', 2_000_000],
  ['rm-misc', 'real mode: self-modifying code, CPUID, RDTSC, CMPXCHG(8B), XADD, BSWAP, BSF/BSR, BT*, SETcc/CMOVcc, LOOP/JCXZ', 2_000_000],
  ['rm-unreal', 'real-mode limits (#GP past 0xFFFF), back from protected mode, unreal mode (4 GiB limits kept), IVT after the round trip', 2_000_000],
  ['pm-exceptions', 'protected mode entry; every exception vector with its error code and saved EIP through an IDT; #DF', 2_000_000],
  ['pm-paging', 'paging: all PDE/PTE P/RW/US x CPL x R/W x WP combinations, CR2, A/D bits, split writes, 4 MiB and global pages', 5_000_000],
  ['pm-priv', 'privilege: gates with stack switch and parameter copy, conforming code, CPL/IOPL checks, LAR/LSL/VERR/VERW, SYSENTER/SYSEXIT', 2_000_000],
  ['pm-task', 'tasks: JMP/CALL/INT/exception task switches, busy bits, back links, LDT from TSS, #TS, I/O permission bitmap', 2_000_000],
  ['pm-v86', 'virtual-8086: IRET entry, INT n to ring 0 with the v86 frame, IOPL-sensitive instructions, I/O without bitmap', 2_000_000],
  ['pm-align', 'alignment check: #AC(0) at CPL 3 with CR0.AM and EFLAGS.AC for misaligned accesses, and only then', 2_000_000],
  ['pm-x87', 'x87 from a guest: FNINIT state, stores, rounding modes, FCOMI/FCMOV, stack overflow, #NM, #MF with CR0.NE=1, IRQ13 with NE=0', 2_000_000],
  ['pm-debug', 'debug: TF single-step, DR0-DR2 execute/write/read-write breakpoints with RF, DR7.GD', 2_000_000],
];

for (const [name, what, budget] of GUESTS) {
  test(`${name} — ${what}`, () => {
    const run = runGuest(guestImage(name), { maxInstructions: budget });
    assert.equal(run.exitCode, GUEST_EXIT.PASS, describeRun(name, run));
    assert.match(run.console, new RegExp(`^PASS ${name} \\(\\d+ checks\\)$`, 'm'), describeRun(name, run));
    assert.doesNotMatch(run.console, /^FAIL /m, describeRun(name, run));
  });
}

test('pm-triple — a triple fault resets the PC (RAM kept), the guest boots again from the reset vector', () => {
  const run = runGuest(guestImage('pm-triple'), { maxInstructions: 2_000_000 });
  assert.equal(run.exitCode, GUEST_EXIT.PASS, describeRun('pm-triple', run));
  assert.match(run.console, /^pm-triple: first boot, triple-faulting\npm-triple: rebooted after a triple fault\nPASS pm-triple /m, describeRun('pm-triple', run));
  assert.equal(run.machine.resets, 1, 'one reset');
});
