/**
 * Snapshot files: a whole MachineSnapshot (snapshot-codec format), written
 * atomically (FILE.partial, then rename) and validated on load, so a long
 * recording can be resumed from the middle.
 */
import { openSync, writeSync, closeSync, fsyncSync, renameSync, readFileSync, readSync, statSync } from 'node:fs';
import { RewindError, ERR } from '../errors.js';
import type { MachineSnapshot } from '../machine.js';
import { MAX_SNAPSHOT_BYTES, decodeSnapshotWithReplay, encodeSnapshot, readSnapshotPreamble, snapshotSizeLimit, type SnapshotReplayInfo } from '../replay/snapshot-codec.js';

/** Largest snapshot file accepted at all; a file is also held to what the RAM it declares allows (snapshotSizeLimit). */
export const MAX_SNAPSHOT_FILE_BYTES = MAX_SNAPSHOT_BYTES;
/** Bytes read first to learn the declared RAM size (magic, format, icount, ramBytes). */
const PREAMBLE_BYTES = 256;

/** Writes `snap` (and, taken during a replay, where it is in the journal). Returns the bytes written. */
export function saveSnapshotFile(path: string, snap: MachineSnapshot, replay: SnapshotReplayInfo | null = null): number {
  const bytes = encodeSnapshot(snap, replay);
  const partial = `${path}.partial`;
  try {
    const fd = openSync(partial, 'w');
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(partial, path);
  } catch (e) {
    throw new RewindError(ERR.SNAPSHOT, `cannot write snapshot ${path}: ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
  return bytes.length;
}

export function loadSnapshotFile(path: string): MachineSnapshot {
  return loadSnapshotFileWithReplay(path).snapshot;
}

export function loadSnapshotFileWithReplay(path: string): { snapshot: MachineSnapshot; replay: SnapshotReplayInfo | null } {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new RewindError(ERR.SNAPSHOT, `cannot open snapshot ${path}: ${(e as { code?: string }).code ?? 'error'}`);
  }
  if (size > MAX_SNAPSHOT_FILE_BYTES) throw new RewindError(ERR.SNAPSHOT, `snapshot ${path} is ${size} bytes, larger than the limit`);
  // Before reading it all: is the file no larger than a snapshot of the RAM it declares can be?
  const head = new Uint8Array(Math.min(size, PREAMBLE_BYTES));
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const { ramBytes } = readSnapshotPreamble(head, path);
  const limit = snapshotSizeLimit(ramBytes);
  if (size > limit) throw new RewindError(ERR.SNAPSHOT, `snapshot ${path} is ${size} bytes, more than a snapshot of a machine with ${ramBytes >>> 20} MiB of RAM can take (${limit} bytes)`);
  return decodeSnapshotWithReplay(new Uint8Array(readFileSync(path)), path);
}
