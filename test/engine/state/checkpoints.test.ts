/**
 * Checkpoints and seek: for random t, the state after seek(t) equals a
 * straight replay stopped at t (forwards, backwards, repeatedly), with
 * checkpoints thinned under a memory cap; restores rewrite only pages that
 * differ; checkpoints taken while recording serve a replay of the recording.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointStore } from '../../../engine/state/checkpoints.js';
import { ScriptedBoundary } from '../../../engine/replay/boundary.js';
import { ReplayBoundary } from '../../../engine/replay/replay-boundary.js';
import { recordingSource } from '../../../engine/replay/runner.js';
import { recordToy, replayToy, prng } from '../replay/toy-session.js';
import { createToyPc } from '../replay/toy-pc.js';

function straightHashes(journal: ReturnType<typeof recordToy>['journal'], ts: number[]): Map<number, string> {
  const { toy, replay } = replayToy(journal);
  const out = new Map<number, string>();
  for (const t of [...ts].sort((a, b) => a - b)) {
    replay.runner.run(Infinity, t);
    assert.equal(toy.m.icount, t);
    out.set(t, toy.m.stateHash());
  }
  return out;
}

test('property: stateHash after seek(t) equals a straight replay stopped at t, for random t in any order', () => {
  const rec = recordToy({ seed: 41, instructions: 1_000_000, syncShift: 14 });
  const end = rec.journal.end!.icount;
  const rnd = prng(5);
  const ts = Array.from({ length: 40 }, () => Math.floor(rnd() * end));
  ts.push(0, end, 100_000, 100_001, 99_999);
  const want = straightHashes(rec.journal, ts);
  const { toy, replay } = replayToy(rec.journal, 100_000);
  // Run to the end once so checkpoints cover the journal, then seek around at random.
  while (!replay.runner.run(1_000_000).journalEnd);
  assert.ok(replay.runner.checkpoints!.count >= 10);
  for (const t of ts) {
    replay.runner.seek(t);
    assert.equal(toy.m.icount, t);
    assert.equal(toy.m.stateHash(), want.get(t), `seek(${t})`);
  }
  assert.ok(replay.runner.checkpoints!.getStats().restores >= 30, 'seeks restored checkpoints');
  // Seek forward into unexplored history too (fresh replay, seeking past the newest checkpoint).
  const fresh = replayToy(rec.journal, 100_000);
  for (const t of [350_000, 120_000, 900_000, 5]) {
    fresh.replay.runner.seek(t);
    assert.equal(fresh.toy.m.stateHash(), want.get(t) ?? straightHashes(rec.journal, [t]).get(t));
  }
});

test('seek after continuing past the end of the checkpoints and the outputs still verify', () => {
  const rec = recordToy({ seed: 43, instructions: 500_000, syncShift: 13 });
  const { toy, replay } = replayToy(rec.journal, 50_000);
  replay.runner.run(Infinity, 300_000);
  replay.runner.seek(60_000);
  // Replaying forward from a restored checkpoint verifies every sync again, output hashes included.
  const before = replay.boundary.syncsVerified;
  while (!replay.runner.run(1_000_000).journalEnd);
  assert.ok(replay.boundary.syncsVerified > before);
  assert.equal(replay.boundary.endVerified, true);
  assert.equal(toy.m.stateHash(), rec.finalHash);
});

test('memory stays under the cap: old checkpoints are thinned, spacing grows with age, seeks stay exact', () => {
  const rec = recordToy({ seed: 47, instructions: 2_000_000, syncShift: 16 });
  const cap = 3 * 1024 * 1024;
  const { toy, replay } = replayToy(rec.journal, 20_000, cap);
  const store = replay.runner.checkpoints!;
  while (!replay.runner.run(1_000_000).journalEnd) assert.ok(store.bytes <= cap, `${store.bytes} <= ${cap}`);
  const st = store.getStats();
  assert.ok(st.thinned > 10, `thinned ${st.thinned}`);
  assert.ok(st.bytes <= cap);
  const cps = store.list();
  assert.equal(cps[0]!.icount, 0, 'the base is kept');
  assert.equal(cps[cps.length - 1]!.icount, Math.floor(rec.journal.end!.icount / 20_000) * 20_000, 'the newest is kept');
  // Older gaps are wider than recent ones.
  const gaps = cps.slice(1).map((c, i) => c.icount - cps[i]!.icount);
  const half = Math.floor(gaps.length / 2);
  const avg = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  assert.ok(avg(gaps.slice(0, half)) > avg(gaps.slice(half)), `older gaps ${avg(gaps.slice(0, half))} > newer ${avg(gaps.slice(half))}`);
  const rnd = prng(9);
  const ts = Array.from({ length: 12 }, () => Math.floor(rnd() * rec.journal.end!.icount));
  const want = straightHashes(rec.journal, ts);
  for (const t of ts) {
    replay.runner.seek(t);
    assert.equal(toy.m.stateHash(), want.get(t));
  }
});

test('checkpoints inserted in the middle of history keep every seek exact, and memory counts shared pages once', () => {
  const rec = recordToy({ seed: 59, instructions: 800_000, syncShift: 14 });
  const end = rec.journal.end!.icount;
  const rnd = prng(21);
  const { toy, replay } = replayToy(rec.journal, 200_000);
  while (!replay.runner.run(1_000_000).journalEnd);
  const store = replay.runner.checkpoints!;
  const before = store.count;
  // Densify: seek to random points and take checkpoints there (inserted between existing ones).
  for (let i = 0; i < 15; i++) {
    replay.runner.seek(Math.floor(rnd() * end));
    const cp = replay.runner.takeCheckpoint()!;
    assert.equal(cp.icount, toy.m.icount);
  }
  assert.ok(store.count > before + 10);
  const icounts = store.list().map((c) => c.icount);
  assert.deepEqual(icounts, [...icounts].sort((a, b) => a - b), 'kept in icount order');
  const ts = Array.from({ length: 25 }, () => Math.floor(rnd() * end));
  const want = straightHashes(rec.journal, ts);
  for (const t of ts) {
    replay.runner.seek(t);
    assert.equal(toy.m.stateHash(), want.get(t), `seek(${t})`);
  }
  // Memory: each page copy once. Recount from the checkpoints themselves.
  const copies = new Set<Uint8Array>();
  let entries = 0;
  let zeroEntries = 0;
  for (const c of store.list()) {
    for (const d of c.pages.values()) {
      entries++;
      if (d.every((b) => b === 0)) zeroEntries++;
      else copies.add(d);
    }
  }
  const statesBytes = store.list().reduce((n, c) => n + c.bytes - c.pages.size * 48, 0);
  assert.equal(store.bytes, copies.size * 4096 + entries * 48 + statesBytes);
  assert.ok(zeroEntries >= 0);
});

test('restore rewrites only pages that differ', () => {
  const toy = createToyPc(new ScriptedBoundary());
  const store = new CheckpointStore<number>(toy.m);
  toy.m.run(10_000);
  const a = store.take(1)!;
  const hA = toy.m.stateHash();
  assert.ok(a.pages.size >= 2, 'base holds the non-zero pages');
  toy.m.run(10_000);
  const b = store.take(2)!;
  const hB = toy.m.stateHash();
  assert.ok(b.pages.size <= 64 + 2, `delta holds only pages written since (${b.pages.size})`);
  toy.m.memory.write8(0x300000, 1); // one more page after b
  store.restore(a);
  assert.equal(toy.m.stateHash(), hA);
  const st = store.getStats();
  assert.ok(st.pagesRestored <= b.pages.size + 1, `rewrote ${st.pagesRestored} pages`);
  assert.equal(toy.m.memory.read8(0x300000), 0);
  store.restore(b);
  assert.equal(toy.m.stateHash(), hB);
  // take() at an icount that has a checkpoint returns it.
  store.restore(a);
  assert.equal(store.take(3), a);
  assert.equal(store.nearestAtOrBefore(15_000), a);
  assert.equal(store.nearestAtOrBefore(25_000), b);
  assert.equal(store.nearestAtOrBefore(-1), null);
  store.truncateAfter(10_000);
  assert.equal(store.count, 1);
});

test('checkpoints taken while recording let a replay of the live recording seek back', () => {
  const rec = recordToy({ seed: 53, instructions: 400_000, checkpointInterval: 50_000 });
  const m = rec.toy.m;
  const store = rec.rec.runner.checkpoints!;
  assert.ok(store.count >= 8);
  // Switch the recording machine to replaying its own recording, and seek.
  const source = recordingSource(rec.rec.boundary, 0, rec.journal.header.fields, m.icount);
  const rb = new ReplayBoundary(source);
  m.boundary = rb;
  const want = straightHashes(rec.journal, [123_456, 7, 399_000]);
  const runner = rec.rec.runner;
  for (const t of [123_456, 7, 399_000]) {
    const cp = store.nearestAtOrBefore(t)!;
    runner.restoreCheckpoint(cp);
    runner.run(Infinity, t);
    assert.equal(m.stateHash(), want.get(t));
  }
});
