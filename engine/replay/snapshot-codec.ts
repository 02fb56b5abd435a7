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
import { MAX_RAM_BYTES, PAGE_SIZE } from '../memory/phys-memory.js';
import { MsgReader, MsgWriter, NEED_MORE, unpackValue, type MsgValue } from './msgpack.js';
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

/**
 * Everything in a snapshot but its RAM pages (component records, the replay
 * position) is small: a few KiB for the PCs rewind builds. This bounds it.
 */
export const SNAPSHOT_STATE_BYTES = 16 * 1024 * 1024;
/** Largest snapshot decoded at all (one Node buffer; 3.5 GiB of RAM does not fit anyway). */
export const MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024 * 1024 - 1;
/** Per-page cost in the encoding besides its 4096 bytes: [index, bin 4096] framing. */
const PAGE_ENTRY_OVERHEAD = 16;

/**
 * The most bytes a well-formed snapshot of a machine with `ramBytes` of RAM
 * can take: every page present, plus the machine state. Snapshots are
 * untrusted input, so the decoder refuses anything larger for the RAM it
 * declares (and the RAM it may declare is bounded by the machine's maximum).
 */
export function snapshotSizeLimit(ramBytes: number): number {
  return Math.min(MAX_SNAPSHOT_BYTES, (ramBytes / PAGE_SIZE) * (PAGE_SIZE + PAGE_ENTRY_OVERHEAD) + SNAPSHOT_STATE_BYTES);
}

/** The scalar fields a snapshot starts with (magic, format, icount, ramBytes), validated. */
export interface SnapshotPreamble {
  icount: number;
  ramBytes: number;
}

/**
 * Reads and validates the fields before `components` and `pages` from the
 * start of a snapshot, so limits can follow the declared RAM before the rest
 * is decoded. `bytes` may be just the first few hundred bytes of a file.
 * rewind writes magic, format, icount and ramBytes first; a snapshot that
 * does not is refused.
 */
export function readSnapshotPreamble(bytes: Uint8Array, what = 'snapshot'): SnapshotPreamble {
  const bad = (m: string): never => {
    throw new RewindError(ERR.SNAPSHOT, `${what}: ${m}`);
  };
  const r = new MsgReader(bytes, { maxBytes: 256, maxItems: 64, maxDepth: 1 }, what, ERR.SNAPSHOT);
  const fields: { [key: string]: MsgValue } = Object.create(null) as { [key: string]: MsgValue };
  try {
    const n = r.readMapHeader();
    for (let i = 0; i < n && fields['ramBytes'] === undefined; i++) {
      const k = r.read();
      if (typeof k !== 'string') bad('not a rewind snapshot (a map key is not a string)');
      if (k === 'components' || k === 'pages') break;
      const v = r.read();
      if (v !== null && typeof v === 'object') bad(`not a rewind snapshot (field ${JSON.stringify(String(k).slice(0, 40))} is not a scalar)`);
      fields[k as string] = v;
    }
  } catch (e) {
    if (e === NEED_MORE) bad(`truncated (${bytes.length} bytes)`);
    if (e instanceof RewindError && !/not a rewind snapshot/.test(e.message)) bad(`not a rewind snapshot (${e.message.replace(`${what}: `, '')})`);
    throw e;
  }
  if (fields['magic'] !== SNAPSHOT_MAGIC) bad('not a rewind snapshot (wrong magic)');
  if (fields['format'] !== SNAPSHOT_FORMAT) bad(`snapshot format ${String(fields['format'])} is not supported (this rewind reads ${SNAPSHOT_FORMAT})`);
  const icount = fields['icount'];
  const ramBytes = fields['ramBytes'];
  if (typeof icount !== 'number' || !Number.isSafeInteger(icount) || icount < 0) bad('icount is not a non-negative integer');
  if (ramBytes === undefined) bad('ramBytes does not come before the machine state and the pages');
  if (typeof ramBytes !== 'number' || !Number.isSafeInteger(ramBytes) || ramBytes <= 0 || ramBytes % PAGE_SIZE !== 0) bad('ramBytes is not a positive multiple of 4096');
  if ((ramBytes as number) > MAX_RAM_BYTES) bad(`ramBytes ${String(ramBytes)} is more than a machine can have (${MAX_RAM_BYTES >>> 20} MiB)`);
  return { icount: icount as number, ramBytes: ramBytes as number };
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
  // The limits follow the RAM the snapshot declares (itself bounded).
  const pre = readSnapshotPreamble(bytes, what);
  const limit = snapshotSizeLimit(pre.ramBytes);
  if (bytes.length > limit) bad(`${bytes.length} bytes is more than a snapshot of a machine with ${pre.ramBytes >>> 20} MiB of RAM can take (${limit} bytes)`);
  const ramPages = pre.ramBytes / PAGE_SIZE;
  // Pages are separate 4 KiB values, so no single value approaches the RAM size.
  const v = unpackValue(bytes, what, { maxBytes: SNAPSHOT_STATE_BYTES, maxItems: 1 << 20, maxDepth: 24 }, ERR.SNAPSHOT);
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
  if (ramBytes !== pre.ramBytes) bad('ramBytes is not what the snapshot starts with');
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
