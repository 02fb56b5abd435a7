/**
 * The live loop (engine/host/host-clock.ts) with fake host timers: in host
 * clock mode it samples the host clock into the journal and waits while a
 * halted guest is ahead of the host; a guest halted with nothing scheduled
 * waits for input (stdin here) and wakes when it arrives. Either way the
 * recording replays exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { INPUT, ScriptedBoundary } from '../../../engine/replay/boundary.js';
import { MemorySink, decodeJournal } from '../../../engine/replay/journal.js';
import { startRecording } from '../../../engine/replay/session.js';
import { LiveLoop, type LoopTimers } from '../../../engine/host/host-clock.js';
import { attachSerialInput, attachFrameInput } from '../../../engine/host/live-input.js';
import { LiveBoundary } from '../../../engine/replay/live-boundary.js';
import { STOP } from '../../../engine/device.js';
import { createToyPc, toyMachineConfig } from './toy-pc.js';
import { BOOT_MS, replayToy } from './toy-session.js';

/** Host time that moves 400 us per clock reading (about as fast as the guest) and jumps when the loop sleeps. */
class FakeHost implements LoopTimers {
  ns = 0;
  sleeps = 0;
  nowMs(): number {
    return Math.floor(this.ns / 1e6);
  }
  nowNs(): number {
    this.ns += 400_000;
    return this.ns;
  }
  setTimer(ms: number, cb: () => void): () => void {
    const h = setImmediate(() => {
      this.ns += ms * 1e6;
      this.sleeps++;
      cb();
    });
    return () => clearImmediate(h);
  }
  yieldToHost(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
}

test('host clock mode: samples are journaled, the loop waits while a halted guest is ahead, and the run replays', async () => {
  const toy = createToyPc(new ScriptedBoundary(), { clockMode: 'host' });
  const sink = new MemorySink();
  const rec = startRecording(toy.m, sink, { bootWallMs: BOOT_MS, syncShift: 16, machineConfig: toyMachineConfig(toy.m) });
  const host = new FakeHost();
  const loop = new LiveLoop(rec.runner, rec.boundary, { hostClock: host, timers: host, untilIcount: 3_000_000, sliceInstructions: 50_000 });
  const r = await loop.run();
  assert.equal(r.reason, STOP.UNTIL);
  assert.equal(toy.m.icount, 3_000_000);
  rec.runner.finishRecording();
  const j = decodeJournal(sink.bytes());
  const samples = j.events.filter((e) => e.kind === INPUT.HOST_CLOCK);
  // Samples behind guest time are not taken (they would change nothing): the
  // toy outruns this host while busy, so samples come after the loop waited.
  assert.ok(samples.length >= 3, `host clock samples: ${samples.length}`);
  assert.ok(samples.every((s, i) => i === 0 || s.value >= samples[i - 1]!.value), 'monotonic');
  // Each moves guest time forward, by at most the loop's 1 ms step.
  let baseIcount = 0;
  let baseNs = 0;
  for (const s of samples) {
    const before = baseNs + (s.icount - baseIcount) * toy.m.clock.nsPerInstr;
    assert.ok(s.value > before && s.value - before <= 1_000_000, `sample at icount ${s.icount} moves guest time from ${before} to ${s.value}`);
    baseIcount = s.icount;
    baseNs = s.value;
  }
  assert.ok(host.sleeps > 0 && loop.waitedMs > 0, 'waited for the host while the guest was halted and ahead');
  assert.ok(toy.cpu.wakeups > 0, 'the guest halted and was woken by its timer');
  const { toy: t2, replay } = replayToy(j);
  while (!replay.runner.run(1e6).journalEnd);
  assert.equal(t2.m.stateHash(), toy.m.stateHash());
  assert.equal(replay.boundary.endVerified, true);
});

test('virtual clock mode: a guest halted with nothing scheduled waits for stdin input, which wakes it', async () => {
  const toy = createToyPc(new ScriptedBoundary());
  toy.timer.enabled = false;
  toy.timer.reset();
  const sink = new MemorySink();
  const rec = startRecording(toy.m, sink, { bootWallMs: BOOT_MS, syncShift: 16, machineConfig: toyMachineConfig(toy.m) });
  const host = new FakeHost();
  const loop = new LiveLoop(rec.runner, rec.boundary, { timers: host });
  const stdin = new PassThrough();
  attachSerialInput(rec.boundary, loop, stdin);
  let typed = 0;
  const poll = (): void => {
    if (toy.cpu.halted && rec.boundary.pendingInputs === 0) {
      if (typed === 5) {
        loop.stop();
        return;
      }
      stdin.write(Buffer.from([0x61 + typed++]));
    }
    setImmediate(poll);
  };
  setImmediate(poll);
  const r = await loop.run();
  assert.equal(r.reason, STOP.REQUESTED);
  assert.equal(typed, 5);
  rec.runner.finishRecording();
  const j = decodeJournal(sink.bytes());
  const serial = j.events.filter((e) => e.kind === INPUT.SERIAL);
  assert.deepEqual(serial.map((e) => e.data![0]), [0x61, 0x62, 0x63, 0x64, 0x65]);
  assert.equal(toy.cpu.wakeups, 5, 'each input woke the halted guest');
  const { toy: t2, replay } = replayToy(j);
  t2.timer.enabled = false;
  t2.timer.reset();
  while (!replay.runner.run(1e6).journalEnd);
  assert.equal(t2.m.stateHash(), toy.m.stateHash());
});

test('frames from a network backend are queued for the NIC and wake the loop; oversized ones are dropped with a reason', () => {
  const live = new LiveBoundary(BOOT_MS);
  let cb: ((f: Uint8Array) => void) | null = null;
  let wakes = 0;
  const drops: string[] = [];
  attachFrameInput(live, { wake: () => wakes++ }, { onFrame: (f) => void (cb = f) }, 1, (why) => drops.push(why));
  cb!(new Uint8Array(60));
  cb!(new Uint8Array(70_000));
  assert.equal(live.pendingInputs, 1);
  assert.equal(wakes, 1);
  assert.match(drops[0]!, /larger than 65536/);
  const got: number[] = [];
  live.deliverDue(0, { deliverInput: (ev) => got.push(ev.kind, ev.target, ev.icount, ev.data!.length) });
  assert.deepEqual(got, [INPUT.NET_RX, 1, 0, 60]);
  // A long serial paste is split into journal-sized inputs rather than refused.
  live.push(INPUT.SERIAL, 0, new Uint8Array(150_000));
  assert.equal(live.pendingInputs, 3);
  assert.throws(() => live.push(INPUT.HOST_CLOCK, 0, null, 1.5), /whole non-negative ns/);
  assert.throws(() => live.push(INPUT.SERIAL, 300, new Uint8Array(1)), /target/);
});
