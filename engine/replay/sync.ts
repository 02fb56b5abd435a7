/**
 * What a SYNC record says about the machine, computed identically when
 * recording and replaying:
 *
 *  - the canonical state hash (exactly Machine.stateHash(): the same function
 *    over the same component records and page digests);
 *  - a 4-byte hash per *field slot* ("component.field"; the slot list is fixed
 *    in the journal header), so a divergence names the fields that differ;
 *  - an 8-byte hash per RAM group (2^groupShift pages), so it names the RAM
 *    that differs;
 *  - a running hash of guest output (OutputHasher).
 *
 * SYNC records carry only the field and group hashes that changed since the
 * previous SYNC of the journal (deltas); the full tables are rebuilt from the
 * deltas only when a divergence has to be explained.
 */
import type { Machine } from '../machine.js';
import { PageDigests, ByteSink, encodeValue, type ComponentState, type StateValue } from '../state/snapshot.js';
import { Sha256 } from '../state/sha256.js';
import type { DirtyCursor, PhysMemory } from '../memory/phys-memory.js';
import { FIELD_ENTRY_BYTES, FIELD_HASH_BYTES, GROUP_ENTRY_BYTES, GROUP_HASH_BYTES, OUT_HASH_BYTES } from './journal.js';

/** The "other fields" slot of a component: its version and any field not in the slot list. */
const OTHER = '*';

/** Field slots for a machine: "name.*" then "name.field" for each field, components and fields sorted. */
export function fieldSlots(components: Record<string, ComponentState>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(components).sort()) {
    out.push(`${name}.${OTHER}`);
    for (const k of Object.keys(components[name]!.s).sort()) out.push(`${name}.${k}`);
  }
  return out;
}

/**
 * SHA-256, supplied by whoever runs the engine. The engine's own (JS) is the
 * default; the host may pass a native one (engine/host/native-hash.ts): the
 * digests are identical, only faster, and hashing RAM digests is most of the
 * cost of a SYNC.
 */
export interface Sha256Provider {
  /** SHA-256 of `data` into out[at..at+32). */
  digestInto(data: Uint8Array, out: Uint8Array, at: number): void;
  /** A streaming SHA-256. */
  create(): { update(data: Uint8Array): unknown; digest(): Uint8Array };
}

const jsSha = new Sha256();
export const jsSha256: Sha256Provider = {
  digestInto(data, out, at) {
    out.set(jsSha.reset().update(data).digest(), at);
  },
  create: () => new Sha256(),
};

/** PageDigests refreshed with a chosen SHA-256, reporting which pages it refreshed (for the RAM group hashes). */
class TrackedPageDigests extends PageDigests {
  private readonly tracker: DirtyCursor;
  private readonly mem: PhysMemory;
  private readonly sha256: Sha256Provider;
  lastDirty: Uint32Array = new Uint32Array(0);
  constructor(memory: PhysMemory, sha256: Sha256Provider) {
    super(memory);
    this.mem = memory;
    this.sha256 = sha256;
    this.tracker = memory.createDirtyCursor();
  }
  override refresh(): void {
    const dirty = this.tracker.collect();
    this.lastDirty = dirty;
    const mem = this.mem.mem;
    for (let i = 0; i < dirty.length; i++) {
      const off = dirty[i]! << 12;
      this.sha256.digestInto(mem.subarray(off, off + 4096), this.digests, dirty[i]! * 32);
    }
  }
}

const STATE_HASH_PREFIX = new TextEncoder().encode('rewind-state-1');

/**
 * The canonical state hash exactly as computeStateHash (state/snapshot.ts)
 * defines it, with a chosen SHA-256 (tests check it equals Machine.stateHash()).
 */
function stateHashWith(sha256: Sha256Provider, components: Record<string, ComponentState>, pages: PageDigests, sink: ByteSink): Uint8Array {
  const h = sha256.create();
  h.update(STATE_HASH_PREFIX);
  for (const name of Object.keys(components).sort()) {
    const c = components[name]!;
    sink.len = 0;
    encodeValue(sink, name);
    encodeValue(sink, c.v);
    encodeValue(sink, c.s);
    h.update(sink.buf.subarray(0, sink.len));
  }
  pages.refresh();
  h.update(pages.digests);
  return h.digest();
}

export interface SyncValues {
  stateHash: Uint8Array;
  /** FIELD_HASH_BYTES per slot. */
  fieldHashes: Uint8Array;
  /** GROUP_HASH_BYTES per RAM group. */
  groupHashes: Uint8Array;
}

export class SyncState {
  readonly slots: string[];
  readonly groupShift: number;
  readonly groupCount: number;
  private readonly slotIndex = new Map<string, number>();
  private readonly machine: Machine;
  private readonly digests: TrackedPageDigests;
  private readonly groupHashes: Uint8Array;
  private readonly fieldHashes: Uint8Array;
  private readonly sha = new Sha256();
  private readonly sink = new ByteSink();
  private readonly groupScratch = new Uint8Array(32);
  /** Hash of a group of all-zero pages. */
  readonly zeroGroupHash: Uint8Array;

  private readonly sha256: Sha256Provider;

  constructor(machine: Machine, groupShift: number, slots?: string[], sha256: Sha256Provider = jsSha256) {
    this.sha256 = sha256;
    this.machine = machine;
    this.groupShift = groupShift;
    this.slots = slots ?? fieldSlots(machine.registry.save());
    this.slots.forEach((s, i) => this.slotIndex.set(s, i));
    this.digests = new TrackedPageDigests(machine.memory, sha256);
    const pages = machine.memory.ramPages;
    this.groupCount = Math.ceil(pages / 2 ** groupShift);
    this.groupHashes = new Uint8Array(this.groupCount * GROUP_HASH_BYTES);
    this.fieldHashes = new Uint8Array(this.slots.length * FIELD_HASH_BYTES);
    // Before the first refresh every digest is that of a zero page.
    this.zeroGroupHash = new Uint8Array(GROUP_HASH_BYTES);
    for (let g = 0; g < this.groupCount; g++) this.hashGroup(g);
    this.zeroGroupHash.set(this.groupHashes.subarray(0, GROUP_HASH_BYTES));
  }

  private hashGroup(g: number): void {
    const per = 2 ** this.groupShift;
    const first = g * per;
    const last = Math.min(first + per, this.machine.memory.ramPages);
    this.sha256.digestInto(this.digests.digests.subarray(first * 32, last * 32), this.groupScratch, 0);
    this.groupHashes.set(this.groupScratch.subarray(0, GROUP_HASH_BYTES), g * GROUP_HASH_BYTES);
  }

  private hashValue(v: StateValue, out: Uint8Array, at: number): void {
    this.sink.len = 0;
    encodeValue(this.sink, v);
    const d = this.sha.reset().update(this.sink.buf.subarray(0, this.sink.len)).digest();
    out.set(d.subarray(0, FIELD_HASH_BYTES), at);
  }

  /** Computes the sync values of the machine now. The returned arrays are live tables: copy to keep. */
  compute(): SyncValues {
    const comps = this.machine.registry.save();
    const stateHash = stateHashWith(this.sha256, comps, this.digests, this.sink);
    const dirty = this.digests.lastDirty;
    let lastGroup = -1;
    for (let i = 0; i < dirty.length; i++) {
      const g = dirty[i]! >>> this.groupShift;
      if (g !== lastGroup) this.hashGroup(g);
      lastGroup = g;
    }
    // Field slots: absent fields hash as null; fields not in the list go into "name.*".
    const absent = new Uint8Array(FIELD_HASH_BYTES);
    this.hashValue(null, absent, 0);
    for (let i = 0; i < this.slots.length; i++) this.fieldHashes.set(absent, i * FIELD_HASH_BYTES);
    for (const name of Object.keys(comps)) {
      const c = comps[name]!;
      const other: { [k: string]: StateValue } = { version: c.v };
      for (const k of Object.keys(c.s)) {
        const slot = this.slotIndex.get(`${name}.${k}`);
        if (slot === undefined) other[k] = c.s[k]!;
        else this.hashValue(c.s[k]!, this.fieldHashes, slot * FIELD_HASH_BYTES);
      }
      const slot = this.slotIndex.get(`${name}.${OTHER}`);
      if (slot !== undefined) this.hashValue(other, this.fieldHashes, slot * FIELD_HASH_BYTES);
    }
    return { stateHash, fieldHashes: this.fieldHashes, groupHashes: this.groupHashes };
  }

  /** Physical address range of RAM group g. */
  groupRange(g: number): [number, number] {
    const start = g * 2 ** (this.groupShift + 12);
    return [start, Math.min(start + 2 ** (this.groupShift + 12), this.machine.memory.ramBytes) - 1];
  }
}

/** Tables of field and group hashes as of some SYNC, kept by applying deltas. */
export class SyncTables {
  readonly fieldHashes: Uint8Array;
  readonly groupHashes: Uint8Array;

  constructor(slotCount: number, groupCount: number, zeroGroupHash: Uint8Array) {
    this.fieldHashes = new Uint8Array(slotCount * FIELD_HASH_BYTES);
    this.groupHashes = new Uint8Array(groupCount * GROUP_HASH_BYTES);
    for (let g = 0; g < groupCount; g++) this.groupHashes.set(zeroGroupHash, g * GROUP_HASH_BYTES);
  }

  /** Applies a SYNC's deltas. */
  apply(fieldDelta: Uint8Array, groupDelta: Uint8Array): void {
    for (let o = 0; o < fieldDelta.length; o += FIELD_ENTRY_BYTES) {
      const slot = fieldDelta[o]! | (fieldDelta[o + 1]! << 8);
      this.fieldHashes.set(fieldDelta.subarray(o + 2, o + FIELD_ENTRY_BYTES), slot * FIELD_HASH_BYTES);
    }
    for (let o = 0; o < groupDelta.length; o += GROUP_ENTRY_BYTES) {
      const g = (groupDelta[o]! | (groupDelta[o + 1]! << 8) | (groupDelta[o + 2]! << 16) | (groupDelta[o + 3]! << 24)) >>> 0;
      this.groupHashes.set(groupDelta.subarray(o + 4, o + GROUP_ENTRY_BYTES), g * GROUP_HASH_BYTES);
    }
  }

  /** The deltas that turn these tables into `v`'s, and applies them. */
  diffAndUpdate(v: SyncValues): { fieldDelta: Uint8Array; groupDelta: Uint8Array } {
    const fd: number[] = [];
    const fh = this.fieldHashes;
    for (let s = 0, o = 0; o < fh.length; s++, o += FIELD_HASH_BYTES) {
      if (fh[o] !== v.fieldHashes[o] || fh[o + 1] !== v.fieldHashes[o + 1] || fh[o + 2] !== v.fieldHashes[o + 2] || fh[o + 3] !== v.fieldHashes[o + 3]) fd.push(s);
    }
    const gd: number[] = [];
    const gh = this.groupHashes;
    for (let g = 0, o = 0; o < gh.length; g++, o += GROUP_HASH_BYTES) {
      for (let k = 0; k < GROUP_HASH_BYTES; k++) {
        if (gh[o + k] !== v.groupHashes[o + k]) {
          gd.push(g);
          break;
        }
      }
    }
    const fieldDelta = new Uint8Array(fd.length * FIELD_ENTRY_BYTES);
    fd.forEach((s, i) => {
      fieldDelta[i * FIELD_ENTRY_BYTES] = s & 0xff;
      fieldDelta[i * FIELD_ENTRY_BYTES + 1] = s >>> 8;
      fieldDelta.set(v.fieldHashes.subarray(s * FIELD_HASH_BYTES, (s + 1) * FIELD_HASH_BYTES), i * FIELD_ENTRY_BYTES + 2);
    });
    const groupDelta = new Uint8Array(gd.length * GROUP_ENTRY_BYTES);
    const dv = new DataView(groupDelta.buffer);
    gd.forEach((g, i) => {
      dv.setUint32(i * GROUP_ENTRY_BYTES, g, true);
      groupDelta.set(v.groupHashes.subarray(g * GROUP_HASH_BYTES, (g + 1) * GROUP_HASH_BYTES), i * GROUP_ENTRY_BYTES + 4);
    });
    this.apply(fieldDelta, groupDelta);
    return { fieldDelta, groupDelta };
  }
}

/** Saved OutputHasher state (checkpoints keep it so replay from a checkpoint verifies output). */
export interface OutputHashState {
  chain: Uint8Array;
  pending: Uint8Array;
}

const OUTPUT_FOLD_BYTES = 64 * 1024;

/**
 * A running hash of guest output: each output appends
 * `kind u8, target u8, icount u32 lo, u32 hi, length u32, data` (LE) to a
 * buffer, which is folded into the chain, chain = SHA-256(chain || buffer),
 * whenever it reaches 64 KiB. digest() = the first 16 bytes of
 * SHA-256(chain || buffer): a function of the output sequence alone, whenever
 * it is asked for.
 */
export class OutputHasher {
  private chain: Uint8Array = new Uint8Array(32);
  private readonly buf = new ByteSink();
  private readonly sha = new Sha256();
  outputs = 0;

  note(kind: number, target: number, icount: number, data: Uint8Array): void {
    const b = this.buf;
    b.u8(kind);
    b.u8(target);
    b.u32(icount >>> 0);
    b.u32(Math.floor(icount / 0x100000000));
    b.u32(data.length);
    b.bytes(data);
    this.outputs++;
    if (b.len >= OUTPUT_FOLD_BYTES) {
      this.chain = this.sha.reset().update(this.chain).update(this.buf.buf.subarray(0, this.buf.len)).digest();
      this.buf.len = 0;
    }
  }

  digest(): Uint8Array {
    return this.sha.reset().update(this.chain).update(this.buf.buf.subarray(0, this.buf.len)).digest().subarray(0, OUT_HASH_BYTES);
  }

  save(): OutputHashState {
    return { chain: this.chain.slice(), pending: this.buf.buf.slice(0, this.buf.len) };
  }

  load(s: OutputHashState): void {
    this.chain = s.chain.slice();
    this.buf.len = 0;
    this.buf.bytes(s.pending);
  }

  reset(): void {
    this.chain = new Uint8Array(32);
    this.buf.len = 0;
  }
}
