/**
 * Unit tests of the x87 interface the CPU integrates against: state after
 * reset/FNINIT, pending exceptions, waiting vs non-waiting forms, FCOMI/FCMOV
 * EFLAGS, the pointer registers, environment layouts in every mode, memory
 * fault atomicity and snapshots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X87, x87IsValid, x87MemOperand, X87_EFLAGS_CF, X87_EFLAGS_ZF, X87_EFLAGS_PF } from '../../../../engine/cpu/x87/x87.js';
import type { X87Bus } from '../../../../engine/cpu/x87/x87.js';
import { cloneState, encodeCanonical } from '../../../../engine/state/snapshot.js';

class FlatBus implements X87Bus {
  readonly mem = new Uint8Array(0x10000);
  /** Any access at or above this address throws (a fake #PF). */
  faultAt = 0x10000;
  private chk(a: number, n: number): void {
    if (a + n > this.faultAt) throw new Error('#PF');
  }
  read8(a: number): number { this.chk(a, 1); return this.mem[a]!; }
  read16(a: number): number { this.chk(a, 2); return this.mem[a]! | (this.mem[a + 1]! << 8); }
  read32(a: number): number { this.chk(a, 4); return (this.read16(a) | (this.read16(a + 2) << 16)) >>> 0; }
  write8(a: number, v: number): void { this.chk(a, 1); this.mem[a] = v; }
  write16(a: number, v: number): void { this.chk(a, 2); this.mem[a] = v; this.mem[a + 1] = v >>> 8; }
  write32(a: number, v: number): void { this.chk(a, 4); this.write16(a, v); this.write16(a + 2, v >>> 16); }
  f64(a: number, v: number): void { new DataView(this.mem.buffer).setFloat64(a, v, true); }
  i16(a: number): number { return new DataView(this.mem.buffer).getInt16(a, true); }
}

function setup(): { bus: FlatBus; x: X87; run: (op: number, modrm: number, addr?: number) => void } {
  const bus = new FlatBus();
  const x = new X87(bus);
  x.fninit();
  let ip = 0x100;
  const run = (op: number, modrm: number, addr = 0): void => { x.exec(op, modrm, addr, true, true, 0x08, ip, 0x10, addr); ip += 2; };
  return { bus, x, run };
}
const st = (x: X87, i: number): [number, number, number] => { const o = new Uint32Array(3); x.readST(i, o); return [o[2]!, o[1]!, o[0]!]; };

test('RESET and FNINIT states', () => {
  const bus = new FlatBus();
  const x = new X87(bus);
  assert.equal(x.controlWord(), 0x0040);
  assert.equal(x.statusWord(), 0);
  assert.equal(x.tagWord(), 0x5555); // all registers +0.0
  x.fninit();
  assert.equal(x.controlWord(), 0x037f);
  assert.equal(x.tagWord(), 0xffff);
});

test('FLD1, FLD1, FADDP gives 2.0; FLDPI rounds with RC', () => {
  const { x, run, bus } = setup();
  run(0xd9, 0xe8); run(0xd9, 0xe8); run(0xde, 0xc1);
  assert.deepEqual(st(x, 0), [0x4000, 0x80000000, 0]);
  assert.equal(x.statusWord() >> 11 & 7, 7);
  run(0xd9, 0xeb); // nearest
  assert.deepEqual(st(x, 0), [0x4000, 0xc90fdaa2, 0x2168c235]);
  bus.write16(0x200, 0x077f); run(0xd9, 0x2d, 0x200); // RC = down
  run(0xd9, 0xeb);
  assert.deepEqual(st(x, 0), [0x4000, 0xc90fdaa2, 0x2168c234]);
  assert.equal(x.stAsNumber(0), Math.PI - 0); // display helper
});

test('stack overflow: masked pushes the indefinite; unmasked sets ES/B and leaves the stack', () => {
  const { x, run, bus } = setup();
  for (let i = 0; i < 8; i++) run(0xd9, 0xe8);
  run(0xd9, 0xe8);
  assert.equal(x.statusWord() & 0x2c1, 0x241); // IE SF C1
  assert.deepEqual(st(x, 0), [0xffff, 0xc0000000, 0]);
  assert.equal(x.pendingException, false);
  bus.write16(0x200, 0x0370); run(0xd9, 0x2d, 0x200); // unmask everything: IE already set -> ES
  assert.equal(x.pendingException, true);
  assert.equal(x.statusWord() & 0x8080, 0x8080);
  run(0xdb, 0xe2); // FNCLEX
  assert.equal(x.pendingException, false);
  const before = st(x, 0);
  run(0xd9, 0xee); // FLDZ into a full stack, IE unmasked
  assert.deepEqual(st(x, 0), before);
  assert.equal(x.pendingException, true);
});

test('waiting and non-waiting forms', () => {
  const x = new X87(new FlatBus());
  assert.equal(x.needsPendingCheck(0xd8, 0xc1), true);
  assert.equal(x.needsPendingCheck(0xdb, 0xe3), false); // FNINIT
  assert.equal(x.needsPendingCheck(0xdb, 0xe2), false); // FNCLEX
  assert.equal(x.needsPendingCheck(0xdf, 0xe0), false); // FNSTSW AX
  assert.equal(x.needsPendingCheck(0xdd, 0x38), false); // FNSTSW m16
  assert.equal(x.needsPendingCheck(0xd9, 0x38), false); // FNSTCW
  assert.equal(x.needsPendingCheck(0xd9, 0x30), false); // FNSTENV
  assert.equal(x.needsPendingCheck(0xdd, 0x30), false); // FNSAVE
  assert.equal(x.needsPendingCheck(0xd9, 0x28), true); // FLDCW
  assert.equal(x.needsPendingCheck(0xdd, 0x20), true); // FRSTOR
});

test('encodings that exist on a P6 and memory operand sizes', () => {
  assert.equal(x87IsValid(0xdb, 0x08), false); // FISTTP m32 (SSE3)
  assert.equal(x87IsValid(0xdd, 0x08), false);
  assert.equal(x87IsValid(0xdf, 0x08), false);
  assert.equal(x87IsValid(0xd9, 0xd1), false);
  assert.equal(x87IsValid(0xd9, 0xd0), true); // FNOP
  assert.equal(x87IsValid(0xd9, 0xd8), true); // FSTP1
  assert.equal(x87IsValid(0xdb, 0xe4), true); // FNSETPM
  assert.equal(x87IsValid(0xdb, 0xe5), false);
  assert.equal(x87IsValid(0xde, 0xd9), true); // FCOMPP
  assert.equal(x87IsValid(0xde, 0xd8), false);
  assert.equal(x87IsValid(0xdf, 0xe0), true);
  assert.equal(x87IsValid(0xdf, 0xe1), false);
  assert.equal(x87IsValid(0xda, 0xe9), true);
  assert.equal(x87IsValid(0xda, 0xe8), false);
  assert.deepEqual(x87MemOperand(0xdd, 0x30, true), { size: 108, write: true });
  assert.deepEqual(x87MemOperand(0xdd, 0x30, false), { size: 94, write: true });
  assert.deepEqual(x87MemOperand(0xd9, 0x20, false), { size: 14, write: false });
  assert.deepEqual(x87MemOperand(0xdb, 0x38, true), { size: 10, write: true });
  assert.deepEqual(x87MemOperand(0xdf, 0x30, true), { size: 10, write: true });
  assert.deepEqual(x87MemOperand(0xde, 0x00, true), { size: 2, write: false });
  assert.deepEqual(x87MemOperand(0xd8, 0xc0, true), { size: 0, write: false });
});

test('x87IsValid matches the SDM opcode map (A.5) plus the P6 aliases, for all 8 x 256 ModRMs', () => {
  // the holes, written out from the opcode map: memory forms by ESC/reg, register forms by ModRM
  const memHoles: Record<number, number[]> = { 0xd9: [1], 0xdb: [1, 4, 6], 0xdd: [1, 5], 0xdf: [1] };
  const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  const regHoles: Record<number, number[]> = {
    0xd9: [...range(0xd1, 0xd7), 0xe2, 0xe3, 0xe6, 0xe7, 0xef],
    0xda: [...range(0xe0, 0xe8), ...range(0xea, 0xff)],
    0xdb: [...range(0xe5, 0xe7), ...range(0xf8, 0xff)],
    0xdd: range(0xf0, 0xff),
    0xde: [0xd8, ...range(0xda, 0xdf)],
    0xdf: [...range(0xe1, 0xe7), ...range(0xf8, 0xff)],
  };
  const wrong: string[] = [];
  for (let op = 0xd8; op <= 0xdf; op++) {
    for (let m = 0; m < 256; m++) {
      const want = m < 0xc0 ? !(memHoles[op] ?? []).includes((m >> 3) & 7) : !(regHoles[op] ?? []).includes(m);
      if (x87IsValid(op, m) !== want) wrong.push(`${op.toString(16)} ${m.toString(16)}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('FCOMI/FUCOMIP report through eflagsOut; FCMOVcc reads eflagsIn', () => {
  const { x, run } = setup();
  run(0xd9, 0xe8); run(0xd9, 0xee); // ST0 = 0, ST1 = 1
  run(0xdb, 0xf1); // FCOMI ST0, ST1: 0 < 1
  assert.equal(x.eflagsWritten, true);
  assert.equal(x.eflagsOut, X87_EFLAGS_CF);
  run(0xd8, 0xc0); // any other instruction clears eflagsWritten
  assert.equal(x.eflagsWritten, false);
  x.eflagsIn = X87_EFLAGS_ZF;
  run(0xda, 0xc9); // FCMOVE ST0, ST1
  assert.deepEqual(st(x, 0), [0x3fff, 0x80000000, 0]);
  run(0xdf, 0xe9); // FUCOMIP ST0, ST1: equal, pops
  assert.equal(x.eflagsOut, X87_EFLAGS_ZF);
  assert.equal(x.statusWord() >> 11 & 7, 7);
  run(0xd9, 0xe8); run(0xd8, 0xf0 | 0); // 1/1
  x.writeST(0, 0, 0xc0000000, 0x7fff); // QNaN
  run(0xdb, 0xe9); // FUCOMI with QNaN: unordered, no exception
  assert.equal(x.eflagsOut, X87_EFLAGS_ZF | X87_EFLAGS_PF | X87_EFLAGS_CF);
  assert.equal(x.statusWord() & 1, 0);
});

test('pointer registers: updated by data instructions, not by control instructions', () => {
  const { x, bus } = setup();
  bus.f64(0x300, 2.5);
  x.exec(0xdd, 0x05, 0x300, true, true, 0x1b, 0x4000, 0x23, 0x300); // FLD m64
  assert.deepEqual([x.fip, x.fcs, x.fop, x.fdp, x.fds], [0x4000, 0x1b, 0x505, 0x300, 0x23]);
  x.exec(0xd9, 0xe1, 0, true, true, 0x1b, 0x4010, 0x2b, 0x999); // FABS: FIP/FOP only
  assert.deepEqual([x.fip, x.fop, x.fdp, x.fds], [0x4010, 0x1e1, 0x300, 0x23]);
  x.exec(0xd9, 0x3d, 0x310, true, true, 0x1b, 0x4020, 0x2b, 0x310); // FNSTCW: control
  x.exec(0xdb, 0xe2, 0, true, true, 0x1b, 0x4030, 0x2b, 0); // FNCLEX
  assert.deepEqual([x.fip, x.fop, x.fdp], [0x4010, 0x1e1, 0x300]);
  x.exec(0xdf, 0xe0, 0, true, true, 0x1b, 0x4040, 0x2b, 0); // FNSTSW AX: the CPU reads statusWord()
  assert.equal(x.fip, 0x4010);
  assert.equal(x.statusWord(), 0x3800);
});

test('FNSTENV/FLDENV layouts in real mode (16- and 32-bit) and protected mode', () => {
  const { x, bus } = setup();
  bus.f64(0x300, 1.5);
  // real mode: FIP = CS*16 + IP, FDP = DS*16 + offset
  x.exec(0xdd, 0x06, 0x300, false, false, 0x1234, 0x5678, 0x2000, 0x0300);
  x.exec(0xd9, 0x36, 0x400, false, false, 0, 0, 0, 0); // FNSTENV 16-bit real
  const w = (a: number): number => bus.mem[a]! | (bus.mem[a + 1]! << 8);
  assert.equal(w(0x400), 0x037f);
  assert.equal(w(0x402), 0x3800);
  assert.equal(w(0x404), 0x3fff); // ST0 valid in R7, rest empty
  assert.equal(w(0x406), (0x12340 + 0x5678) & 0xffff);
  assert.equal(w(0x408), (((0x12340 + 0x5678) >>> 16) << 12) | 0x506);
  assert.equal(w(0x40a), 0x0300);
  assert.equal(w(0x40c), 0x2 << 12);
  assert.equal(x.controlWord() & 0x3f, 0x3f); // FNSTENV masks all exceptions
  x.exec(0xd9, 0x36, 0x500, true, false, 0, 0, 0, 0); // 32-bit real
  const d = (a: number): number => (w(a) | (w(a + 2) << 16)) >>> 0;
  assert.equal(d(0x50c) & 0xffff, (0x12340 + 0x5678) & 0xffff);
  assert.equal(d(0x510), (0x1 << 12) | 0x506);
  assert.equal(d(0x514) & 0xffff, 0x0300);
  assert.equal(d(0x518), 0x2 << 12);
  // FLDENV of the 16-bit real image restores the linear pointers and the control word
  x.fninit();
  x.exec(0xd9, 0x26, 0x400, false, false, 0, 0, 0, 0);
  assert.equal(x.controlWord(), 0x037f);
  assert.equal(x.fip, 0x12340 + 0x5678);
  assert.equal(x.fop, 0x506);
  assert.equal(x.fdp, 0x20300);
  assert.equal(x.isEmpty(0), false);
  // protected mode 16-bit
  x.exec(0xd9, 0x36, 0x600, false, true, 0, 0, 0, 0);
  assert.equal(w(0x608), 0);
});

test('FSAVE/FRSTOR round-trip every format', () => {
  for (const o32 of [false, true]) for (const pm of [false, true]) {
    const { x, run, bus } = setup();
    run(0xd9, 0xeb); run(0xd9, 0xe8); run(0xd9, 0xea); run(0xd8, 0xc9); run(0xd9, 0xf7);
    if (!o32) x.fop = 0; // the 16-bit protected-mode format has no FOP
    const before = encodeCanonical(x.saveState());
    const words = [x.tagWord(), x.statusWord(), x.controlWord()];
    x.exec(0xdd, 0x36, 0x1000, o32, pm, 0, 0, 0, 0); // FNSAVE
    assert.equal(x.tagWord(), 0xffff); // FNSAVE reinitialises
    x.exec(0xdd, 0x26, 0x1000, o32, pm, 0, 0, 0, 0); // FRSTOR
    if (pm) assert.deepEqual(encodeCanonical(x.saveState()), before, `o32=${o32} pm=${pm}`);
    else {
      assert.deepEqual(st(x, 1), [0x4000, 0xc90fdaa2, 0x2168c235]);
      assert.deepEqual([x.tagWord(), x.statusWord(), x.controlWord()], words);
      assert.equal(x.fip, 0x08 * 16 + 0x108); // CS:IP linearised in the real-mode image
    }
    void bus;
  }
});

test('memory faults leave the FPU unchanged', () => {
  const { x, run, bus } = setup();
  run(0xd9, 0xe8);
  const before = encodeCanonical(x.saveState());
  bus.faultAt = 0x1000 + 100; // the FRSTOR image's last register faults
  assert.throws(() => x.exec(0xdd, 0x26, 0x1000, true, true, 0, 0, 0, 0));
  assert.deepEqual(encodeCanonical(x.saveState()), before);
  bus.faultAt = 0x2004; // FLD m64 whose high half faults
  assert.throws(() => x.exec(0xdd, 0x06, 0x2000, true, true, 0, 0, 0, 0));
  assert.deepEqual(encodeCanonical(x.saveState()), before);
  bus.faultAt = 0x2000; // FSTP m80 faulting on its first write: no pop
  assert.throws(() => x.exec(0xdb, 0x3e, 0x2000, true, true, 0, 0, 0, 0));
  assert.deepEqual(encodeCanonical(x.saveState()), before);
});

test('FIST rounds under RC and stores the integer indefinite when out of range', () => {
  const { x, bus } = setup();
  bus.f64(0x300, -2.5);
  x.exec(0xdd, 0x06, 0x300, true, true, 0, 0, 0, 0);
  x.exec(0xdf, 0x16, 0x310, true, true, 0, 0, 0, 0); // FIST m16, nearest-even
  assert.equal(bus.i16(0x310), -2);
  assert.equal(x.statusWord() & 0x220, 0x20); // PE, not rounded up
  bus.f64(0x300, 40000);
  x.exec(0xdd, 0x06, 0x300, true, true, 0, 0, 0, 0);
  x.exec(0xdf, 0x16, 0x310, true, true, 0, 0, 0, 0);
  assert.equal(bus.i16(0x310), -32768);
  assert.equal(x.statusWord() & 1, 1);
});

test('unmasked overflow on a register delivers the exponent-wrapped result', () => {
  const { x, run, bus } = setup();
  bus.write16(0x200, 0x0377); run(0xd9, 0x2d, 0x200); // OE unmasked
  x.writeST(0, 0, 0x80000000, 0x7ffe); // ST0 = 2^16383 (after a push)
  run(0xd9, 0xc0); // FLD ST0
  run(0xd8, 0xc9); // FMUL ST0, ST1 -> 2^32766 wraps to 2^(32766-24576)
  assert.deepEqual(st(x, 0), [0x3fff + 32766 - 24576, 0x80000000, 0]);
  assert.equal(x.statusWord() & 0x88, 0x88);
});

test('state save -> load -> save round-trips mid-operation', () => {
  const { x, run, bus } = setup();
  run(0xd9, 0xeb); run(0xd9, 0xe8); run(0xd8, 0xf1); run(0xd9, 0xf7);
  bus.write16(0x200, 0x0360); run(0xd9, 0x2d, 0x200); // pending PE
  x.exec(0xdd, 0x05, 0x300, true, true, 0x1b, 0x77, 0x23, 0x300);
  const s1 = cloneState(x.saveState());
  const y = new X87(new FlatBus());
  y.loadState(cloneState(s1), x.stateVersion);
  assert.deepEqual(encodeCanonical(y.saveState()), encodeCanonical(s1));
  assert.equal(y.pendingException, x.pendingException);
  assert.equal(y.tagWord(), x.tagWord());
  // and the restored FPU continues identically
  x.exec(0xd9, 0xfe, 0, true, true, 0, 0, 0, 0);
  y.exec(0xd9, 0xfe, 0, true, true, 0, 0, 0, 0);
  assert.deepEqual(encodeCanonical(y.saveState()), encodeCanonical(x.saveState()));
  assert.throws(() => y.loadState({ cw: 1 }, 1), /regLo/);
});

test('tininess is detected after rounding (host measurement)', () => {
  const { x, run, bus } = setup();
  bus.write16(0x200, 0x027f); run(0xd9, 0x2d, 0x200); // PC = 53
  x.writeST(0, 0, 0, 0); // placeholder so the next writes address ST0/ST1 after pushes
  run(0xd9, 0xee); run(0xd9, 0xee);
  x.writeST(1, 0xffffffff, 0xffffffff, 0x3fff); // 2 - 2^-63
  x.writeST(0, 0, 0x40000000, 0x0000); // 2^-16383 (denormal)
  run(0xde, 0xc9); // FMULP
  assert.deepEqual(st(x, 0), [0x0001, 0x80000000, 0]);
  assert.equal(x.statusWord() & 0x3f, 0x22); // DE | PE, no UE
});
