/**
 * Where the live loop takes host-clock samples (engine/host/host-clock.ts),
 * on the real PC. A sample re-bases guest time forward; a guest timing
 * something with interrupts off must not see such a jump. The guest below
 * does what Linux's pit_calibrate_tsc() does: with interrupts off it starts
 * PIT channel 2 for 10 ms (mode 0, gate via port 0x61), reads the TSC, polls
 * OUT2 and reads the TSC again. A jump between the PIT write and the first
 * TSC read shortens the measured span; that is how Linux booted in host clock
 * mode measured the 1 GHz TSC as 97 MHz and its clock ran 10x fast.
 *
 * The host here is fake and fast: its clock moves 5 ms per reading, far
 * ahead of the guest. With interrupts off no sample is taken and the guest
 * measures the full span; once it enables them, samples flow and guest time
 * chases the host 1 ms per sample. The recording replays to the same state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPc } from '../../../engine/pc.js';
import { INPUT, OUTPUT, ScriptedBoundary } from '../../../engine/replay/boundary.js';
import { MemorySink, decodeJournal } from '../../../engine/replay/journal.js';
import { startRecording, startReplay } from '../../../engine/replay/session.js';
import { LiveLoop } from '../../../engine/host/host-clock.js';
import { SteppingHost } from '../../support/fake-host.js';
import { STOP } from '../../../engine/device.js';
import { asm, hasNasm } from '../cpu/helpers.js';

const skip = hasNasm() ? false : 'nasm not installed';
const BOOT_MS = 1767225600000;
const LOAD = 0x100000;
/** 10 ms of PIT ticks, as Linux's CAL_LATCH. */
const LATCH = 11932;
const SPAN_NS = Math.round((LATCH * 1e9) / 1193182);
/** Instructions between the PIT write and the first RDTSC (several live-loop slices). */
const PAD = 5000;

// Reports the TSC delta (4 bytes, little-endian) on port 0xE9, then 'S',
// enables interrupts (the PIC masked) and spins, then exits.
const SRC = `
  cli
  mov al, 0xff
  out 0x21, al
  out 0xa1, al
  in al, 0x61
  and al, 0xfd
  or al, 1
  out 0x61, al
  mov al, 0xb0
  out 0x43, al
  mov al, ${LATCH & 0xff}
  out 0x42, al
  mov al, ${LATCH >> 8}
  out 0x42, al
  times ${PAD} nop
  rdtsc
  mov esi, eax
.poll:
  in al, 0x61
  test al, 0x20
  jz .poll
  rdtsc
  sub eax, esi
  mov ecx, 4
.out:
  out 0xe9, al
  shr eax, 8
  loop .out
  mov al, 'S'
  out 0xe9, al
  sti
  mov ecx, 200000
.spin:
  loop .spin
  cli
  mov al, 0
  out 0xf4, al
`;


function build(image: Uint8Array): { pc: ReturnType<typeof createPc>; out: number[]; markIcount: () => number } {
  const pc = createPc({ ramBytes: 4 << 20, nic: false, clockMode: 'host' }, { boundary: new ScriptedBoundary([], BOOT_MS) }, { kind: 'flat', image, loadAddr: LOAD, entry: { mode: 'protected32' } });
  const out: number[] = [];
  let mark = -1;
  pc.machine.onOutput = (kind, _t, d) => {
    if (kind !== OUTPUT.DEBUGCON) return;
    for (const b of d) {
      out.push(b);
      if (b === 0x53 && out.length === 5) mark = pc.machine.icount;
    }
  };
  return { pc, out, markIcount: () => mark };
}

test('host clock samples wait while interrupts are off: a PIT-calibrated TSC span is exact, and time catches up after STI', { skip }, async () => {
  const image = asm(SRC, 32, LOAD);
  const g = build(image);
  const m = g.pc.machine;
  const sink = new MemorySink();
  const rec = startRecording(m, sink, { bootWallMs: BOOT_MS, syncShift: 16, machineConfig: { guest: 'tsc-calibration' } });
  const host = new SteppingHost(5_000_000); // a host clock far faster than the guest
  const loop = new LiveLoop(rec.runner, rec.boundary, { hostClock: host, timers: host, sliceInstructions: 1000, untilIcount: 10_000_000 });
  const r = await loop.run();
  assert.equal(r.reason, STOP.EXIT, `${r.reason} ${r.detail}`);
  assert.equal(g.out.length, 5, 'four bytes of TSC delta and the mark');
  const delta = g.out[0]! | (g.out[1]! << 8) | (g.out[2]! << 16) | (g.out[3]! << 24);
  // The TSC counts guest ns: the span is the PIT's 10 ms minus the padding run at the nominal 10 ns per instruction.
  const expected = SPAN_NS - PAD * m.clock.nsPerInstr;
  assert.ok(Math.abs(delta - expected) < 2_000, `TSC delta ${delta} ns, expected ~${expected} (a host-clock jump inside the window shortens it)`);
  assert.ok(loop.deferredSamples > 0, 'samples were held back while interrupts were off');
  rec.runner.finishRecording();
  const j = decodeJournal(sink.bytes());
  const samples = j.events.filter((e) => e.kind === INPUT.HOST_CLOCK);
  assert.ok(samples.length > 0, 'samples once interrupts were on');
  const mark = g.markIcount();
  assert.ok(mark > 0);
  for (const s of samples) assert.ok(s.icount > mark, `host clock sample at icount ${s.icount}, before STI at ~${mark}`);
  // After STI guest time chases the racing host, 1 ms per sample (a longer
  // jump would pass several PIT periods and lose ticks), a sample every
  // catch-up slice.
  let baseIcount = 0;
  let baseNs = 0;
  for (const s of samples) {
    const before = baseNs + (s.icount - baseIcount) * m.clock.nsPerInstr;
    // Computed where the loop looked; delivered there or one instruction later (LiveBoundary's strict "next").
    const step = s.value - before;
    assert.ok(step <= 1_000_000 && step >= 1_000_000 - m.clock.nsPerInstr, `sample at icount ${s.icount}: a step of ${step} ns, not 1 ms`);
    baseIcount = s.icount;
    baseNs = s.value;
  }
  assert.equal(loop.slewedSamples, samples.length);
  assert.ok(samples.length >= 15, `${samples.length} samples in the 200,000 instructions after STI (catch-up slices of 10,000)`);

  const g2 = build(image);
  const rp = startReplay(g2.pc.machine, j);
  while (!rp.runner.run(1_000_000).journalEnd);
  assert.deepEqual(g2.out, g.out);
  assert.equal(g2.pc.machine.stateHash(), m.stateHash());
  assert.equal(rp.boundary.endVerified, true);
});
