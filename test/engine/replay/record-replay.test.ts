/**
 * Record -> replay on the toy machine: identical outputs, sync hashes and
 * final state; divergence caught in the right window and named; going live
 * from the middle of a replay and recording a branch that replays on its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INPUT, ScriptedBoundary } from '../../../engine/replay/boundary.js';
import { DivergenceError, formatReport } from '../../../engine/replay/divergence.js';
import { LiveBoundary } from '../../../engine/replay/live-boundary.js';
import { MemorySink, decodeJournal, REC } from '../../../engine/replay/journal.js';
import { startBranch, startRecording, startReplay } from '../../../engine/replay/session.js';
import { RewindError } from '../../../engine/errors.js';
import { STOP } from '../../../engine/device.js';
import { toHex } from '../../../engine/state/sha256.js';
import { BOOT_MS, recordToy, replayToy } from './toy-session.js';
import { createToyPc, toyMachineConfig } from './toy-pc.js';

function replayAll(journal: ReturnType<typeof recordToy>['journal']) {
  const { toy, replay } = replayToy(journal);
  let r;
  do r = replay.runner.run(1_000_000);
  while (!r.journalEnd && r.reason !== STOP.HALTED);
  return { toy, replay, r };
}

test('a recording replays exactly: outputs, every SYNC, END and the final state hash', () => {
  const rec = recordToy({ seed: 7, instructions: 600_000 });
  assert.ok(rec.journal.events.length > 20, `inputs were recorded (${rec.journal.events.length})`);
  assert.ok(rec.journal.syncs.length >= 30, 'syncs every 2^14 instructions');
  assert.equal(rec.journal.truncated, null);
  assert.ok(rec.toy.outputs.length > 50, 'the guest produced output');
  const { toy, replay, r } = replayAll(rec.journal);
  assert.equal(r.journalEnd, true);
  assert.equal(toy.m.icount, rec.toy.m.icount);
  assert.deepEqual(toy.outputs, rec.toy.outputs);
  assert.equal(toy.m.stateHash(), rec.finalHash);
  assert.equal(replay.boundary.syncsVerified, rec.journal.syncs.length);
  assert.equal(replay.boundary.endVerified, true);
  assert.equal(toHex(rec.journal.end!.stateHash), rec.finalHash, 'END carries Machine.stateHash()');
  // The replay ends at the journal's end even when asked for more.
  assert.equal(replay.runner.run(1000).journalEnd, true);
  assert.equal(toy.m.icount, rec.toy.m.icount);
});

test('a native page hasher gives the same SYNC hashes as the engine SHA-256', async () => {
  const { nativeSha256 } = await import('../../../engine/host/native-hash.js');
  const a = createToyPc(new ScriptedBoundary());
  const sinkA = new MemorySink();
  const recA = startRecording(a.m, sinkA, { bootWallMs: BOOT_MS, syncShift: 12, sha256: nativeSha256 });
  recA.runner.run(100_000);
  recA.runner.finishRecording();
  const j = decodeJournal(sinkA.bytes());
  const { toy, replay } = replayToy(j);
  while (!replay.runner.run(1e6).journalEnd);
  assert.equal(replay.boundary.syncsVerified, j.syncs.length);
  assert.equal(toy.m.stateHash(), a.m.stateHash());
});

test('SYNC state hashes are Machine.stateHash() at that icount', () => {
  const rec = recordToy({ seed: 3, instructions: 200_000 });
  const { toy, replay } = replayToy(rec.journal);
  for (const s of rec.journal.syncs.slice(0, 6)) {
    replay.runner.run(Infinity, s.icount);
    assert.equal(toy.m.icount, s.icount);
    assert.equal(toy.m.stateHash(), toHex(s.stateHash));
  }
});

test('host clock mode: host-clock readings are journaled and replayed; guest timers follow them', () => {
  const rec = recordToy({ seed: 11, instructions: 400_000, clockMode: 'host' });
  const clocks = rec.journal.events.filter((e) => e.kind === INPUT.HOST_CLOCK);
  assert.ok(clocks.length > 10);
  assert.equal(rec.journal.header.clockMode, 'host');
  const { toy } = replayAll(rec.journal);
  assert.equal(toy.m.stateHash(), rec.finalHash);
  assert.equal(toy.timer.ticks, rec.toy.timer.ticks);
  assert.deepEqual(toy.outputs, rec.toy.outputs);
});

test('inputs pushed between run() calls at a timer deadline replay in the same order as recorded', () => {
  // The record side stops exactly at the timer deadline; an input pushed then
  // must not be delivered after the timer task at that icount.
  const toy = createToyPc(new ScriptedBoundary());
  const sink = new MemorySink();
  const rec = startRecording(toy.m, sink, { bootWallMs: BOOT_MS, syncShift: 12, machineConfig: toyMachineConfig(toy.m) });
  for (let k = 1; k <= 20; k++) {
    rec.runner.run(Infinity, toy.timer.periodInstr * k);
    rec.boundary.push(INPUT.SERIAL, 0, new Uint8Array([k]));
  }
  rec.runner.finishRecording();
  const j = decodeJournal(sink.bytes());
  for (const e of j.events) assert.notEqual(e.icount % toy.timer.periodInstr, 0, 'stamped after the deadline, not at it');
  const { toy: t2 } = replayAll(j);
  assert.equal(t2.m.stateHash(), toy.m.stateHash());
});

test('a perturbed register is caught in the window containing it, naming the field', () => {
  const rec = recordToy({ seed: 5, instructions: 400_000, syncShift: 14 });
  const X = 123_457;
  const { toy, replay } = replayToy(rec.journal);
  toy.cpu.perturbAt = X;
  let err: unknown = null;
  try {
    for (;;) {
      const r = replay.runner.run(1_000_000);
      if (r.journalEnd) break;
    }
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DivergenceError, `expected a divergence, got ${String(err)}`);
  const rep = err.report;
  assert.ok(rep.sinceIcount < X && X <= rep.icount, `window ${rep.sinceIcount}..${rep.icount} contains ${X}`);
  assert.equal(rep.icount - rep.sinceIcount, 2 ** 14, 'the window is one sync interval');
  assert.ok(rep.fields.includes('cpu.acc'), `names cpu.acc: ${rep.fields.join(',')}`);
  assert.deepEqual(rep.components.includes('cpu'), true);
  assert.match(err.message, /^replay diverged from the recording between icount \d+ and \d+: .*cpu\.acc/);
  assert.ok(!err.message.includes('\n'), 'one line');
  assert.ok(formatReport(rep).includes('window: icount'));
  assert.equal(err.code, 'ERR_DIVERGENCE');
});

test('a perturbed RAM byte outside what the CPU touches is named as that RAM range only', () => {
  const rec = recordToy({ seed: 9, instructions: 200_000, syncShift: 13 });
  const { toy, replay } = replayToy(rec.journal);
  const X = 77_777;
  replay.runner.run(Infinity, X);
  toy.m.memory.write8(0x2a1234, 0x5a); // far outside the toy's working set
  let err: unknown = null;
  try {
    replay.runner.run(Infinity);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DivergenceError);
  const rep = err.report;
  assert.ok(rep.sinceIcount < X + 1 && X < rep.icount);
  assert.deepEqual(rep.fields, []);
  assert.equal(rep.ram.length, 1);
  const [a, b] = rep.ram[0]!;
  assert.ok(a <= 0x2a1234 && 0x2a1234 <= b && b - a < 0x10000, `range ${a.toString(16)}-${b.toString(16)}`);
  assert.equal(rep.output, false);
});

test('corrupted guest output is caught as an output difference', () => {
  const rec = recordToy({ seed: 4, instructions: 200_000, syncShift: 13 });
  const { toy, replay } = replayToy(rec.journal);
  toy.serial.corruptFrom = 100_000;
  assert.throws(
    () => {
      for (;;) if (replay.runner.run(1_000_000).journalEnd) break;
    },
    (e: unknown) => e instanceof DivergenceError && e.report.output && e.report.sinceIcount < 100_000 + 2 ** 13 && e.report.icount > 100_000,
  );
});

test('the nearest journal events are listed with the report', () => {
  const rec = recordToy({ seed: 21, instructions: 300_000, syncShift: 15, inputEvery: 3000 });
  const { toy, replay } = replayToy(rec.journal);
  toy.cpu.perturbAt = 150_000;
  try {
    replay.runner.run(Infinity);
    assert.fail('no divergence');
  } catch (e) {
    assert.ok(e instanceof DivergenceError);
    const near = e.report.nearEvents;
    assert.ok(near.length > 0);
    assert.ok(near.every((n) => n.icount <= e.report.icount));
    assert.ok(near.slice(1).every((n) => n.icount > e.report.sinceIcount));
  }
});

test('go live in the middle of a replay and record a branch; the branch replays from its embedded snapshot', () => {
  const rec = recordToy({ seed: 13, instructions: 300_000 });
  const { toy, replay } = replayToy(rec.journal);
  const X = 150_001;
  replay.runner.run(Infinity, X);
  const before = toy.m.stateHash();
  const sink = new MemorySink();
  const branch = startBranch(replay.runner, sink, 'ab'.repeat(32), { machineConfig: toyMachineConfig(toy.m) });
  assert.equal(toy.m.boundary, branch.boundary);
  for (let i = 0; i < 30; i++) {
    branch.runner.run(5000);
    branch.boundary.push(INPUT.SERIAL, 0, new Uint8Array([0x41 + i]));
  }
  branch.runner.finishRecording();
  const finalHash = toy.m.stateHash();
  const j = decodeJournal(sink.bytes());
  assert.equal(j.header.startIcount, X);
  assert.deepEqual(j.header.parent, { journal: 'ab'.repeat(32), icount: X });
  assert.equal(j.header.bootWallMs, rec.journal.header.bootWallMs, 'a branch keeps the boot time');
  assert.ok(j.events.every((e) => e.icount > X), 'live inputs come after the branch point');
  // Replay the branch on a fresh machine: it starts from the embedded snapshot.
  const t2 = createToyPc(new ScriptedBoundary());
  const r2 = startReplay(t2.m, j);
  assert.equal(t2.m.stateHash(), before);
  while (!r2.runner.run(1_000_000).journalEnd);
  assert.equal(t2.m.stateHash(), finalHash);
  assert.equal(r2.boundary.endVerified, true);
});

test('go live without recording: inputs are delivered from the next instruction', () => {
  const rec = recordToy({ seed: 2, instructions: 100_000 });
  const { toy, replay } = replayToy(rec.journal);
  replay.runner.run(Infinity, 50_000);
  const live = new LiveBoundary(BOOT_MS);
  replay.runner.goLive(live);
  const seen: number[] = [];
  const orig = toy.serial.rx;
  live.push(INPUT.SERIAL, 0, new Uint8Array([1, 2, 3]));
  assert.equal(live.nextInputIcount(), 50_001);
  replay.runner.run(10);
  seen.push(...toy.serial.rx.slice(orig.length));
  assert.equal(live.delivered, 1);
  assert.equal(toy.m.icount, 50_010);
});

test('replaying on a machine configured differently is refused with one clear line', () => {
  const rec = recordToy({ seed: 1, instructions: 20_000 });
  const other = createToyPc(new ScriptedBoundary(), { ramBytes: 8 * 1024 * 1024 });
  assert.throws(() => startReplay(other.m, rec.journal), (e: unknown) => e instanceof RewindError && /recorded with 4 MiB of RAM, this machine has 8 MiB/.test(e.message));
  const hostMode = createToyPc(new ScriptedBoundary(), { clockMode: 'host' });
  assert.throws(() => startReplay(hostMode.m, rec.journal), /virtual clock mode/);
});

test('a truncated journal replays up to its last whole record and says so', () => {
  const rec = recordToy({ seed: 8, instructions: 300_000 });
  const cut = rec.bytes.subarray(0, Math.floor(rec.bytes.length * 0.6));
  const j = decodeJournal(cut);
  assert.match(j.truncated!, /truncated/);
  assert.equal(j.end, null);
  const { toy, replay } = replayToy(j);
  let r;
  do r = replay.runner.run(1_000_000);
  while (!r.journalEnd);
  assert.equal(toy.m.icount, j.lastIcount);
  assert.ok(replay.boundary.syncsVerified === j.syncs.length);
  // Prefix property: the replayed state equals the recording's at that icount when one was sampled there.
  assert.equal(j.syncs[j.syncs.length - 1]!.icount <= j.lastIcount, true);
});

test('the journal kinds are those documented', () => {
  assert.equal(REC.SYNC, 16);
  assert.equal(REC.END, 17);
  assert.equal(INPUT.HOST_CLOCK, 1);
});
