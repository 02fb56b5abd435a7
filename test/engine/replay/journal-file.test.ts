/**
 * Journal and snapshot files on the host: FILE.partial until a clean close,
 * a recording killed with SIGKILL replays up to its last whole record, bundled
 * images, snapshot files round-trip and reject corruption.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RewindError } from '../../../engine/errors.js';
import { INPUT, ScriptedBoundary } from '../../../engine/replay/boundary.js';
import { JournalFile, readJournalFile, imageEntry, bundledImage, checkImage, journalId } from '../../../engine/host/journal-file.js';
import { saveSnapshotFile, loadSnapshotFile, loadSnapshotFileWithReplay } from '../../../engine/host/snapshot-file.js';
import { recordHeader, startRecording, startReplayFrom, replayInfo } from '../../../engine/replay/session.js';
import { STOP } from '../../../engine/device.js';
import { createToyPc, toyMachineConfig } from './toy-pc.js';
import { BOOT_MS, replayToy, recordToy } from './toy-session.js';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'rewind-replay-'));

test('a journal is FILE.partial until closed cleanly, then FILE; it reads back and replays', () => {
  const path = join(tmp, 'clean.rwj');
  const toy = createToyPc(new ScriptedBoundary());
  const opts = { bootWallMs: BOOT_MS, syncShift: 13, machineConfig: toyMachineConfig(toy.m) };
  const file = new JournalFile(path, recordHeader(toy.m, opts));
  const rec = startRecording(toy.m, file.encoder, opts);
  for (let i = 0; i < 40; i++) {
    rec.runner.run(5000);
    rec.boundary.push(INPUT.SERIAL, 0, new Uint8Array([i]));
  }
  assert.ok(existsSync(`${path}.partial`) && !existsSync(path));
  assert.throws(() => file.close(), /without an END record/);
  rec.runner.finishRecording();
  file.close();
  assert.ok(existsSync(path) && !existsSync(`${path}.partial`));
  const j = readJournalFile(path);
  assert.equal(j.truncated, null);
  assert.equal(j.bytes, statSync(path).size);
  assert.equal(journalId(j).length, 64);
  const { toy: t2, replay } = replayToy(j);
  while (!replay.runner.run(1e6).journalEnd);
  assert.equal(t2.m.stateHash(), toy.m.stateHash());
  assert.throws(() => readJournalFile(join(tmp, 'missing.rwj')), (e: unknown) => e instanceof RewindError && /cannot open journal .*ENOENT/.test(e.message));
});

test('a recording killed with SIGKILL leaves a partial journal that replays to its last whole record', async () => {
  const path = join(tmp, 'killed.rwj');
  const child = spawn(process.execPath, [join(here, 'record-child.js'), path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let flushed = 0;
  let lines = 0;
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = /^flushed (\d+)$/.exec(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (m) {
          flushed = Number(m[1]);
          if (++lines === 20) {
            child.kill('SIGKILL');
            resolve();
          }
        }
      }
    });
    child.on('exit', (code, sig) => {
      if (lines < 20) reject(new Error(`child exited early: ${code} ${sig}`));
    });
  });
  await new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.on('exit', () => resolve())));
  assert.equal(child.signalCode, 'SIGKILL');
  assert.ok(!existsSync(path), 'never renamed');
  const partial = `${path}.partial`;
  assert.ok(statSync(partial).size >= flushed, 'everything reported flushed is in the file');
  assert.throws(() => readJournalFile(path), /partial journal .* exists/);
  const j = readJournalFile(partial);
  assert.ok(j.truncated !== null && /no END record|truncated/.test(j.truncated));
  assert.ok(j.syncs.length > 5 && j.events.length > 5);
  const { replay } = replayToy(j);
  let r;
  do r = replay.runner.run(1e6);
  while (!r.journalEnd && r.reason !== STOP.HALTED);
  assert.equal(r.journalEnd, true);
  assert.equal(replay.boundary.syncsVerified, j.syncs.length, 'every SYNC in the partial journal verifies');
});

test('bundled images come back bit for bit; a different image is refused', () => {
  const img = new Uint8Array(100_000).map((_, i) => (i * 31) & 0xff);
  const e = imageEntry('bios.bin', img, true);
  assert.ok(e.data!.length < img.length / 4, 'compressed');
  assert.deepEqual(bundledImage(e), img);
  const plain = imageEntry('bios.bin', img, false);
  assert.equal(plain.data, null);
  assert.throws(() => bundledImage(plain), /not bundled/);
  const other = img.slice();
  other[5] ^= 1;
  assert.throws(() => checkImage(plain, other), /image bios.bin does not match the recording/);
  assert.throws(() => bundledImage({ ...e, data: new Uint8Array([1, 2, 3]) }), /corrupt/);
  // A bundle that inflates beyond its recorded size is refused, not allocated.
  assert.throws(() => bundledImage({ ...e, size: 10 }), RewindError);
});

test('snapshot files round-trip a machine mid-run and reject corrupt files', () => {
  const toy = createToyPc(new ScriptedBoundary());
  toy.m.run(123_456);
  toy.serial.rx.push(1, 2, 3);
  const path = join(tmp, 'a.rwsnap');
  saveSnapshotFile(path, toy.m.snapshot());
  const h = toy.m.stateHash();
  toy.m.run(50_000);
  const h2 = toy.m.stateHash();
  const t2 = createToyPc(new ScriptedBoundary());
  t2.m.restore(loadSnapshotFile(path));
  assert.equal(t2.m.stateHash(), h);
  t2.m.run(50_000);
  assert.equal(t2.m.stateHash(), h2, 'resumed run continues identically');
  const bytes = readFileSync(path);
  writeFileSync(join(tmp, 'cut.rwsnap'), bytes.subarray(0, bytes.length - 100));
  assert.throws(() => loadSnapshotFile(join(tmp, 'cut.rwsnap')), (e: unknown) => e instanceof RewindError && /truncated/.test(e.message));
  writeFileSync(join(tmp, 'junk.rwsnap'), 'hello');
  assert.throws(() => loadSnapshotFile(join(tmp, 'junk.rwsnap')), RewindError);
  assert.throws(() => loadSnapshotFile(join(tmp, 'none.rwsnap')), /cannot open snapshot/);
  for (let i = 0; i < 300; i++) {
    const b = Buffer.from(bytes);
    b[Math.floor((i * 7919) % Math.min(b.length, 4000))] ^= 0x41;
    writeFileSync(join(tmp, 'bad.rwsnap'), b);
    try {
      loadSnapshotFile(join(tmp, 'bad.rwsnap'));
    } catch (e) {
      assert.ok(e instanceof RewindError, String(e));
    }
  }
});

test('a snapshot taken in the middle of a replay resumes it, still verifying every later SYNC and END', () => {
  const rec = recordToy({ seed: 61, instructions: 400_000, syncShift: 13 });
  const id = journalId(rec.journal);
  const { toy, replay } = replayToy(rec.journal);
  replay.runner.run(Infinity, 201_234);
  const path = join(tmp, 'mid.rwsnap');
  saveSnapshotFile(path, toy.m.snapshot(), replayInfo(replay, id));
  const verifiedBefore = replay.boundary.syncsVerified;
  const t2 = createToyPc(new ScriptedBoundary());
  const r2 = startReplayFrom(t2.m, rec.journal, id, loadSnapshotFileWithReplay(path));
  assert.equal(t2.m.icount, 201_234);
  assert.equal(t2.m.stateHash(), toy.m.stateHash());
  while (!r2.runner.run(1e6).journalEnd);
  assert.equal(r2.boundary.endVerified, true);
  assert.equal(r2.boundary.syncsVerified, rec.journal.syncs.length - verifiedBefore);
  assert.equal(t2.m.stateHash(), rec.finalHash);
  const t3 = createToyPc(new ScriptedBoundary());
  assert.throws(() => startReplayFrom(t3.m, rec.journal, 'ff'.repeat(32), loadSnapshotFileWithReplay(path)), /different journal/);
  saveSnapshotFile(path, toy.m.snapshot());
  assert.throws(() => startReplayFrom(t3.m, rec.journal, id, loadSnapshotFileWithReplay(path)), /no journal position/);
});
