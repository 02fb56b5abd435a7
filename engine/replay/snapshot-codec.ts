/**
 * MachineSnapshot <-> bytes (MessagePack), versioned and validated on load:
 * used by snapshot files (engine/host/snapshot-file.ts) and by branch
 * journals (embedded in the header).
 *
 *   { magic: "rewind-snapshot", format: 1, icount, ramBytes,
 *     components: { name: { v: version, s: record } },
 *     pages: [[pageIndex, bin 4096], ...],   (non-zero RAM pages, ascending)
 *     replay: nil | { journal: hex id, eventIndex, syncIndex, lastGoodSync,
 *                     outChain: bin 32, outPending: bin } }
 *
 * `replay` is present when the snapshot was taken during a replay: where in
 * which journal, so a replay can resume from the snapshot and still verify
 * the journal's SYNC records (output hash included).
 * Typed arrays in component records use the ext types of msgpack.ts.
 */
import { RewindError, ERR } from '../errors.js';
import type { MachineSnapshot } from '../machine.js';
import type { ComponentState, StateRecord } from '../state/snapshot.js';
import { PAGE_SIZE } from '../memory/phys-memory.js';
import { MsgWriter, unpackValue, type MsgValue } from './msgpack.js';
import type { ReplayPosition } from './replay-boundary.js';

/** Where a snapshot sits in a journal (journal = hex SHA-256 of the journal's header bytes). */
export interface SnapshotReplayInfo {
  journal: string;
  position: ReplayPosition;
}

export const SNAPSHOT_MAGIC = 'rewind-snapshot';
export const SNAPSHOT_FORMAT = 1;

export function encodeSnapshot(snap: MachineSnapshot, replay: SnapshotReplayInfo | null = null): Uint8Array {
  const idx = [...snap.pages.keys()].sort((a, b) => a - b);
  const doc: { [key: string]: MsgValue } = {
    magic: SNAPSHOT_MAGIC,
    format: SNAPSHOT_FORMAT,
    icount: snap.icount,
    ramBytes: snap.ramBytes,
    components: snap.components as unknown as MsgValue,
    pages: idx.map((p) => [p, snap.pages.get(p)!]),
  };
  if (replay) {
    const p = replay.position;
    doc['replay'] = { journal: replay.journal, eventIndex: p.eventIndex, syncIndex: p.syncIndex, lastGoodSync: p.lastGoodSync, outChain: p.output.chain, outPending: p.output.pending };
  }
  const w = new MsgWriter(1 << 20);
  w.value(doc);
  return w.bytes().slice();
}

function isMap(v: MsgValue | undefined): v is { [key: string]: MsgValue } {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Decodes and validates a snapshot. `what` names the source in messages (a file name). */
export function decodeSnapshot(bytes: Uint8Array, what = 'snapshot'): MachineSnapshot {
  return decodeSnapshotWithReplay(bytes, what).snapshot;
}

/** Decodes a snapshot and, if it has one, its place in a journal. */
export function decodeSnapshotWithReplay(bytes: Uint8Array, what = 'snapshot'): { snapshot: MachineSnapshot; replay: SnapshotReplayInfo | null } {
  const bad = (m: string): never => {
    throw new RewindError(ERR.SNAPSHOT, `${what}: ${m}`);
  };
  const v = unpackValue(bytes, what, { maxBytes: 64 * 1024 * 1024, maxItems: 1 << 20, maxDepth: 24 }, ERR.SNAPSHOT);
  if (!isMap(v)) bad('not a rewind snapshot (not a map)');
  const m = v as { [key: string]: MsgValue };
  if (m['magic'] !== SNAPSHOT_MAGIC) bad('not a rewind snapshot (wrong magic)');
  if (m['format'] !== SNAPSHOT_FORMAT) bad(`snapshot format ${String(m['format'])} is not supported (this rewind reads ${SNAPSHOT_FORMAT})`);
  const icount = m['icount'];
  const ramBytes = m['ramBytes'];
  if (typeof icount !== 'number' || !Number.isSafeInteger(icount) || icount < 0) bad('icount is not a non-negative integer');
  if (typeof ramBytes !== 'number' || !Number.isSafeInteger(ramBytes) || ramBytes <= 0 || ramBytes % PAGE_SIZE !== 0) bad('ramBytes is not a positive multiple of 4096');
  const compsV = m['components'];
  if (!isMap(compsV)) bad('components is not a map');
  const components: Record<string, ComponentState> = {};
  for (const name of Object.keys(compsV as object)) {
    const c = (compsV as { [key: string]: MsgValue })[name];
    if (!isMap(c) || typeof c['v'] !== 'number' || !Number.isInteger(c['v']) || !isMap(c['s'])) bad(`component "${name.slice(0, 40)}" is not { v: version, s: record }`);
    const cc = c as { [key: string]: MsgValue };
    components[name] = { v: cc['v'] as number, s: cc['s'] as unknown as StateRecord };
  }
  const pagesV = m['pages'];
  if (!Array.isArray(pagesV)) bad('pages is not an array');
  const pages = new Map<number, Uint8Array>();
  const ramPages = (ramBytes as number) / PAGE_SIZE;
  for (const e of pagesV as MsgValue[]) {
    if (!Array.isArray(e) || e.length !== 2) bad('a page entry is not [index, bytes]');
    const [p, d] = e as MsgValue[];
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= ramPages) bad(`page index ${String(p)} is outside RAM`);
    if (!(d instanceof Uint8Array) || d.length !== PAGE_SIZE) bad(`page ${String(p)} is not ${PAGE_SIZE} bytes`);
    if (pages.has(p as number)) bad(`page ${String(p)} appears twice`);
    pages.set(p as number, d as Uint8Array);
  }
  let replay: SnapshotReplayInfo | null = null;
  const rv = m['replay'] ?? null;
  if (rv !== null) {
    if (!isMap(rv)) bad('replay is not a map');
    const r = rv as { [key: string]: MsgValue };
    const int = (k: string): number => {
      const x = r[k];
      if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < -1) bad(`replay.${k} is not an integer`);
      return x as number;
    };
    const chain = r['outChain'], pending = r['outPending'];
    if (typeof r['journal'] !== 'string') bad('replay.journal is not a string');
    if (!(chain instanceof Uint8Array) || chain.length !== 32 || !(pending instanceof Uint8Array)) bad('replay output hash state is malformed');
    replay = {
      journal: r['journal'] as string,
      position: { eventIndex: int('eventIndex'), syncIndex: int('syncIndex'), lastGoodSync: int('lastGoodSync'), output: { chain: chain as Uint8Array, pending: pending as Uint8Array } },
    };
  }
  return { snapshot: { format: 1, icount: icount as number, ramBytes: ramBytes as number, components, pages }, replay };
}
