/**
 * Snapshot files: a whole MachineSnapshot (snapshot-codec format), written
 * atomically (FILE.partial, then rename) and validated on load, so a long
 * recording can be resumed from the middle.
 */
import { openSync, writeSync, closeSync, fsyncSync, renameSync, readFileSync, statSync } from 'node:fs';
import { RewindError, ERR } from '../errors.js';
import type { MachineSnapshot } from '../machine.js';
import { decodeSnapshot, encodeSnapshot } from '../replay/snapshot-codec.js';

/** Largest snapshot file accepted (RAM max 3.5 GiB is not loadable through one buffer anyway). */
export const MAX_SNAPSHOT_FILE_BYTES = 2 * 1024 * 1024 * 1024 - 1;

export function saveSnapshotFile(path: string, snap: MachineSnapshot): number {
  const bytes = encodeSnapshot(snap);
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
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new RewindError(ERR.SNAPSHOT, `cannot open snapshot ${path}: ${(e as { code?: string }).code ?? 'error'}`);
  }
  if (size > MAX_SNAPSHOT_FILE_BYTES) throw new RewindError(ERR.SNAPSHOT, `snapshot ${path} is ${size} bytes, larger than the limit`);
  return decodeSnapshot(new Uint8Array(readFileSync(path)), path);
}
