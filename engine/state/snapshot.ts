/**
 * The snapshot framework.
 *
 * Every stateful component implements Snapshotable: it saves its state as a
 * record of *named* fields (never positional arrays) tagged with a version, and
 * loads only its own record. The machine combines the records with RAM.
 *
 * The canonical serialisation (encodeCanonical) is the definition the state
 * hash is computed over: it is independent of key order and host, so equal
 * states have equal hashes on every machine. See ARCHITECTURE.md.
 */
import { RewindError, ERR } from '../errors.js';
import { Sha256, toHex } from './sha256.js';
import type { PhysMemory, DirtyCursor } from '../memory/phys-memory.js';
import { PAGE_SIZE, PAGE_SHIFT } from '../memory/phys-memory.js';

export type StateValue =
  | number
  | boolean
  | string
  | null
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int32Array
  | Float64Array
  | StateValue[]
  | { [key: string]: StateValue };
export type StateRecord = { [key: string]: StateValue };

export interface Snapshotable {
  /** Unique, stable name: the key of this component's record in a snapshot. */
  readonly stateName: string;
  /** Bumped whenever the meaning of the saved fields changes. */
  readonly stateVersion: number;
  saveState(): StateRecord;
  /** `version` is the stateVersion the record was saved with. */
  loadState(state: StateRecord, version: number): void;
}

export interface ComponentState {
  v: number;
  s: StateRecord;
}

// ---- canonical encoding ----

const TAG = { NULL: 0, FALSE: 1, TRUE: 2, NUMBER: 3, STRING: 4, U8: 5, U16: 6, U32: 7, I32: 8, F64: 9, ARRAY: 10, OBJECT: 11 } as const;

/** Growable byte sink used by the canonical encoder. */
export class ByteSink {
  buf = new Uint8Array(4096);
  len = 0;
  private readonly f64 = new Float64Array(1);
  private readonly f64b = new Uint8Array(this.f64.buffer);
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.len++] = v; b[this.len++] = v >>> 8; b[this.len++] = v >>> 16; b[this.len++] = v >>> 24;
  }
  f64le(v: number): void {
    // Canonical: one NaN, and -0 written as 0.
    this.f64[0] = Number.isNaN(v) ? NaN : v === 0 ? 0 : v;
    this.bytes(this.f64b); // little-endian on every host Node supports; asserted in tests
  }
  bytes(d: Uint8Array): void {
    this.ensure(d.length);
    this.buf.set(d, this.len);
    this.len += d.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const textEncoder = new TextEncoder();

export function encodeValue(out: ByteSink, v: StateValue): void {
  if (v === null) out.u8(TAG.NULL);
  else if (v === false) out.u8(TAG.FALSE);
  else if (v === true) out.u8(TAG.TRUE);
  else if (typeof v === 'number') {
    out.u8(TAG.NUMBER);
    out.f64le(v);
  } else if (typeof v === 'string') {
    const b = textEncoder.encode(v);
    out.u8(TAG.STRING);
    out.u32(b.length);
    out.bytes(b);
  } else if (v instanceof Uint8Array) {
    out.u8(TAG.U8);
    out.u32(v.length);
    out.bytes(v);
  } else if (v instanceof Uint16Array || v instanceof Uint32Array || v instanceof Int32Array || v instanceof Float64Array) {
    out.u8(v instanceof Uint16Array ? TAG.U16 : v instanceof Uint32Array ? TAG.U32 : v instanceof Int32Array ? TAG.I32 : TAG.F64);
    out.u32(v.length);
    if (v instanceof Float64Array) for (let i = 0; i < v.length; i++) out.f64le(v[i]!);
    else if (v instanceof Uint16Array) for (let i = 0; i < v.length; i++) { out.u8(v[i]!); out.u8(v[i]! >>> 8); }
    else for (let i = 0; i < v.length; i++) out.u32(v[i]!);
  } else if (Array.isArray(v)) {
    out.u8(TAG.ARRAY);
    out.u32(v.length);
    for (const x of v) encodeValue(out, x);
  } else if (typeof v === 'object') {
    const keys = Object.keys(v).sort();
    out.u8(TAG.OBJECT);
    out.u32(keys.length);
    for (const k of keys) {
      const kb = textEncoder.encode(k);
      out.u32(kb.length);
      out.bytes(kb);
      encodeValue(out, v[k]!);
    }
  } else {
    throw new RewindError(ERR.STATE, `cannot encode state value of type ${typeof v}`);
  }
}

export function encodeCanonical(v: StateValue): Uint8Array {
  const out = new ByteSink();
  encodeValue(out, v);
  return out.result();
}

/** Deep copy of a state value (snapshots must not alias live typed arrays). */
export function cloneState<T extends StateValue>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (ArrayBuffer.isView(v)) return (v as unknown as { slice(): T }).slice();
  if (Array.isArray(v)) return v.map((x) => cloneState(x)) as T;
  const o: StateRecord = {};
  for (const k of Object.keys(v)) o[k] = cloneState((v as StateRecord)[k]!);
  return o as T;
}

// ---- typed readers for loadState: fail clearly on a malformed record ----

export function num(s: StateRecord, key: string): number {
  const v = s[key];
  if (typeof v !== 'number') throw new RewindError(ERR.SNAPSHOT, `state field "${key}" is missing or not a number`);
  return v;
}
export function bool(s: StateRecord, key: string): boolean {
  const v = s[key];
  if (typeof v !== 'boolean') throw new RewindError(ERR.SNAPSHOT, `state field "${key}" is missing or not a boolean`);
  return v;
}
export function str(s: StateRecord, key: string): string {
  const v = s[key];
  if (typeof v !== 'string') throw new RewindError(ERR.SNAPSHOT, `state field "${key}" is missing or not a string`);
  return v;
}
export function bytes(s: StateRecord, key: string, length?: number): Uint8Array {
  const v = s[key];
  if (!(v instanceof Uint8Array) || (length !== undefined && v.length !== length)) {
    throw new RewindError(ERR.SNAPSHOT, `state field "${key}" is missing or not ${length ?? 'a'} byte(s)`);
  }
  return v;
}
export function rec(s: StateRecord, key: string): StateRecord {
  const v = s[key];
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new RewindError(ERR.SNAPSHOT, `state field "${key}" is missing or not a record`);
  }
  return v as StateRecord;
}
export function arr(s: StateRecord, key: string): StateValue[] {
  const v = s[key];
  if (!Array.isArray(v)) throw new RewindError(ERR.SNAPSHOT, `state field "${key}" is missing or not an array`);
  return v;
}
/** Copies a saved typed array into a live one of the same length and kind. */
export function intoTyped<T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(s: StateRecord, key: string, target: T): void {
  const v = s[key];
  if (!v || typeof v !== 'object' || !ArrayBuffer.isView(v) || v.constructor !== target.constructor || (v as T).length !== target.length) {
    throw new RewindError(ERR.SNAPSHOT, `state field "${key}" is missing or not a ${target.constructor.name}(${target.length})`);
  }
  target.set(v as T);
}

// ---- RAM page digests, kept incrementally ----

/**
 * Keeps a SHA-256 digest of every RAM page, recomputing only the pages written
 * since the last refresh (a DirtyCursor of its own). The state hash covers the
 * digests, so hashing a machine costs in proportion to what changed.
 */
export class PageDigests {
  private readonly memory: PhysMemory;
  private readonly cursor: DirtyCursor;
  readonly digests: Uint8Array;
  private readonly hasher = new Sha256();

  constructor(memory: PhysMemory) {
    this.memory = memory;
    this.cursor = memory.createDirtyCursor();
    this.digests = new Uint8Array(memory.ramPages * 32);
    const zero = new Sha256().update(new Uint8Array(PAGE_SIZE)).digest();
    for (let p = 0; p < memory.ramPages; p++) this.digests.set(zero, p * 32);
    // Pages never written are zero; refresh() picks up everything written so far.
  }

  refresh(): void {
    const dirty = this.cursor.collect();
    const mem = this.memory.mem;
    for (let i = 0; i < dirty.length; i++) {
      const p = dirty[i]!;
      const off = p << PAGE_SHIFT;
      this.digests.set(this.hasher.reset().update(mem.subarray(off, off + PAGE_SIZE)).digest(), p * 32);
    }
  }
}

/**
 * The canonical state hash: SHA-256 over "rewind-state-1", then each
 * component's (name, version, canonical record) in name order, then the
 * digest of every RAM page in page order.
 */
export function computeStateHash(components: Record<string, ComponentState>, pages: PageDigests | null): string {
  const h = new Sha256();
  h.update(textEncoder.encode('rewind-state-1'));
  const names = Object.keys(components).sort();
  const out = new ByteSink();
  for (const name of names) {
    const c = components[name]!;
    out.len = 0;
    encodeValue(out, name);
    encodeValue(out, c.v);
    encodeValue(out, c.s);
    h.update(out.buf.subarray(0, out.len));
  }
  if (pages) {
    pages.refresh();
    h.update(pages.digests);
  }
  return toHex(h.digest());
}

/** A set of Snapshotables saved and restored together. */
export class StateRegistry {
  private readonly items: Snapshotable[] = [];

  add(item: Snapshotable): void {
    if (this.items.some((i) => i.stateName === item.stateName)) {
      throw new RewindError(ERR.STATE, `two components are both named "${item.stateName}"`);
    }
    this.items.push(item);
  }

  get names(): string[] {
    return this.items.map((i) => i.stateName);
  }

  save(): Record<string, ComponentState> {
    const out: Record<string, ComponentState> = {};
    for (const i of this.items) out[i.stateName] = { v: i.stateVersion, s: cloneState(i.saveState()) };
    return out;
  }

  load(state: Record<string, ComponentState>): void {
    for (const i of this.items) {
      const c = state[i.stateName];
      if (!c) throw new RewindError(ERR.SNAPSHOT, `snapshot has no state for "${i.stateName}"`);
      if (c.v > i.stateVersion) {
        throw new RewindError(ERR.SNAPSHOT, `state of "${i.stateName}" is version ${c.v}, newer than this rewind understands (${i.stateVersion})`);
      }
      i.loadState(cloneState(c.s), c.v);
    }
  }
}
