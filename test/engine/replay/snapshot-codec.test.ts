/**
 * Snapshot decoding limits follow the RAM a snapshot declares: a Linux-size
 * snapshot (128 MiB, every page present) loads, through the codec and as a
 * file; machine state beyond what the declared RAM allows, absurd RAM sizes
 * and a preamble in the wrong order are refused (snapshots are untrusted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RewindError } from '../../../engine/errors.js';
import type { MachineSnapshot } from '../../../engine/machine.js';
import { MsgWriter } from '../../../engine/replay/msgpack.js';
import { decodeSnapshot, encodeSnapshot, readSnapshotPreamble, snapshotSizeLimit, SNAPSHOT_STATE_BYTES } from '../../../engine/replay/snapshot-codec.js';
import { loadSnapshotFile } from '../../../engine/host/snapshot-file.js';
import { MAX_RAM_BYTES } from '../../../engine/memory/phys-memory.js';

const MiB = 1024 * 1024;

function synthetic(ramBytes: number, pageCount: number, state: Record<string, unknown> = {}): MachineSnapshot {
  const pages = new Map<number, Uint8Array>();
  for (let p = 0; p < pageCount; p++) {
    const page = new Uint8Array(4096);
    page[0] = p & 0xff;
    page[1] = (p >>> 8) & 0xff;
    page[4095] = 0x5a;
    pages.set(p, page);
  }
  return { format: 1, icount: 123_456_789, ramBytes, components: { cpu: { v: 1, s: { eip: 0xc1000000, ...state } as never } }, pages };
}

const isSnapErr = (re: RegExp) => (e: unknown) => e instanceof RewindError && re.test(e.message);

test('a Linux-size snapshot (128 MiB of RAM, every page present) decodes, from bytes and from a file', (t) => {
  const ram = 128 * MiB;
  const snap = synthetic(ram, ram / 4096);
  const bytes = encodeSnapshot(snap);
  assert.ok(bytes.length > 128 * MiB, `${bytes.length} bytes`);
  assert.ok(bytes.length <= snapshotSizeLimit(ram));
  const back = decodeSnapshot(bytes);
  assert.equal(back.ramBytes, ram);
  assert.equal(back.icount, 123_456_789);
  assert.equal(back.pages.size, ram / 4096);
  for (const p of [0, 1, 12345, ram / 4096 - 1]) assert.deepEqual(back.pages.get(p), snap.pages.get(p), `page ${p}`);
  const dir = mkdtempSync(join(tmpdir(), 'rewind-snap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'linux-size.rwsnap');
  writeFileSync(path, bytes); // what saveSnapshotFile writes (encoding 128 MiB twice would only cost time)
  const fromFile = loadSnapshotFile(path);
  assert.equal(fromFile.pages.size, ram / 4096);
  assert.deepEqual(fromFile.pages.get(32767), snap.pages.get(32767));
});

test('the size limit scales with the declared RAM: the same machine state fits a larger machine only', (t) => {
  // 36 MiB of component state: more than a 16 MiB machine's snapshot can take (its RAM + SNAPSHOT_STATE_BYTES),
  // less than a 64 MiB machine's.
  const state = { a: new Uint8Array(9 * MiB).fill(1), b: new Uint8Array(9 * MiB).fill(2), c: new Uint8Array(9 * MiB).fill(3), d: new Uint8Array(9 * MiB).fill(4) };
  const small = encodeSnapshot(synthetic(16 * MiB, 4, state));
  assert.ok(small.length > snapshotSizeLimit(16 * MiB));
  assert.throws(() => decodeSnapshot(small, 'small.rwsnap'), isSnapErr(/^small\.rwsnap: \d+ bytes is more than a snapshot of a machine with 16 MiB of RAM can take \(\d+ bytes\)$/));
  const large = decodeSnapshot(encodeSnapshot(synthetic(64 * MiB, 4, state)));
  assert.equal((large.components['cpu']!.s as unknown as { d: Uint8Array }).d.length, 9 * MiB);
  // A file is refused from its first bytes, before it is read whole.
  const dir = mkdtempSync(join(tmpdir(), 'rewind-snap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'small.rwsnap');
  writeFileSync(path, small);
  assert.throws(() => loadSnapshotFile(path), isSnapErr(new RegExp(`is ${statSync(path).size} bytes, more than a snapshot of a machine with 16 MiB of RAM can take`)));
  // One state value larger than all machine state may be is refused whatever the RAM.
  assert.throws(() => decodeSnapshot(encodeSnapshot(synthetic(1024 * MiB, 1, { big: new Uint8Array(SNAPSHOT_STATE_BYTES + 1) }))), isSnapErr(/exceeds the limit/));
});

test('the declared RAM is bounded and must come before the machine state and pages', () => {
  const enc = (doc: Record<string, unknown>): Uint8Array => {
    const w = new MsgWriter(1024);
    w.value(doc as never);
    return w.bytes().slice();
  };
  const base = { magic: 'rewind-snapshot', format: 1, icount: 5 };
  assert.deepEqual(readSnapshotPreamble(enc({ ...base, ramBytes: 16 * MiB, components: {}, pages: [] })), { icount: 5, ramBytes: 16 * MiB });
  assert.throws(() => decodeSnapshot(enc({ ...base, ramBytes: MAX_RAM_BYTES + 4096, components: {}, pages: [] })), isSnapErr(/more than a machine can have/));
  assert.throws(() => decodeSnapshot(enc({ ...base, ramBytes: 2 ** 40, components: {}, pages: [] })), isSnapErr(/more than a machine can have/));
  assert.throws(() => decodeSnapshot(enc({ ...base, components: {}, pages: [], ramBytes: 16 * MiB })), isSnapErr(/ramBytes does not come before/));
  assert.throws(() => decodeSnapshot(enc({ ...base, ramBytes: 4095, components: {}, pages: [] })), isSnapErr(/positive multiple of 4096/));
  assert.throws(() => decodeSnapshot(enc({ ...base, format: 2, ramBytes: 16 * MiB })), isSnapErr(/format 2 is not supported/));
  assert.throws(() => decodeSnapshot(Uint8Array.of(0x93, 1, 2, 3)), isSnapErr(/not a rewind snapshot/));
  assert.throws(() => readSnapshotPreamble(enc({ ...base, ramBytes: 16 * MiB }).subarray(0, 20)), isSnapErr(/truncated/));
  // A page beyond the declared RAM is still refused.
  assert.throws(() => decodeSnapshot(enc({ ...base, ramBytes: 4096, components: {}, pages: [[1, new Uint8Array(4096)]] })), isSnapErr(/outside RAM/));
});
