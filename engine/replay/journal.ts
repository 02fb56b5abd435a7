/**
 * The journal: what crossed the nondeterminism boundary during a run, stamped
 * with the icount at which it took effect, plus sync records that let replay
 * check it reproduces the run. Format spec: engine/replay/JOURNAL.md.
 *
 * A journal is a MessagePack stream: one header map, then records, each an
 * array `[kind, icountDelta, ...payload]`. icountDelta is relative to the
 * previous record (the first: to header.startIcount). Input kinds are the
 * INPUT numbers of boundary.ts; REC adds the non-input kinds.
 *
 * This file is pure (no host access): JournalEncoder writes into a JournalSink
 * (engine/host/journal-file.ts puts it in a file); JournalDecoder is a
 * streaming, validating reader for untrusted bytes.
 */
import { RewindError, ERR } from '../errors.js';
import { CLOCK_MODES, type ClockMode } from '../time/clock.js';
import { INPUT, INPUT_NAMES, type InputEvent, type InputKind } from './boundary.js';
import { MsgReader, MsgWriter, NEED_MORE, type MsgValue, type ReadLimits } from './msgpack.js';

export const JOURNAL_MAGIC = 'rewind-journal';
/** Bumped whenever the meaning of the header or of any record kind changes. */
export const JOURNAL_FORMAT = 1;

/** Record kinds that are not inputs (inputs use their INPUT number, 1..15 reserved). */
export const REC = {
  /** [16, d, stateHash bin32, outHash bin16, fieldDelta bin, groupDelta bin] */
  SYNC: 16,
  /** [17, d, stateHash bin32, outHash bin16] */
  END: 17,
} as const;

export const STATE_HASH_BYTES = 32;
export const OUT_HASH_BYTES = 16;
/** fieldDelta entries: u16 slot (LE) + 4 hash bytes. */
export const FIELD_ENTRY_BYTES = 6;
export const FIELD_HASH_BYTES = 4;
/** groupDelta entries: u32 group (LE) + 8 hash bytes. */
export const GROUP_ENTRY_BYTES = 12;
export const GROUP_HASH_BYTES = 8;

export const MIN_SYNC_SHIFT = 8;
export const MAX_SYNC_SHIFT = 40;
export const DEFAULT_SYNC_SHIFT = 24;
/** Pages per RAM group in sync records: 2^4 = 16 pages = 64 KiB. */
export const DEFAULT_GROUP_SHIFT = 4;

/** Largest payload of any input record (a jumbo frame is 9 KiB; serial chunks are small). */
export const MAX_INPUT_BYTES = 65536;

export interface JournalImage {
  name: string;
  sha256: Uint8Array;
  size: number;
  /** The image itself (with --bundle), compressed as `compression` says; else null. */
  data: Uint8Array | null;
  compression: 'none' | 'deflate-raw';
}

export interface JournalHeader {
  format: number;
  /** rewind version that wrote it. */
  rewind: string;
  /** Machine configuration as the CLI built it (ramBytes and nsPerInstr are required). */
  machine: { [key: string]: MsgValue };
  clockMode: ClockMode;
  images: JournalImage[];
  argv: string[];
  /** Wall-clock time at power-on, ms since the Unix epoch (the one pulled value). */
  bootWallMs: number;
  /** SYNC records are written at every multiple of 2^syncShift instructions. */
  syncShift: number;
  /** The icount the journal starts at (0 for a boot; the branch point for a branch). */
  startIcount: number;
  /** Field slots of SYNC fieldDelta: "component.field" in the order hashed. */
  fields: string[];
  /** Pages per RAM group in SYNC groupDelta, log2. */
  groupShift: number;
  ramPages: number;
  /** For a branch: the parent journal (SHA-256 of its header bytes, hex) and the icount it left it at. */
  parent: { journal: string; icount: number } | null;
  /** For a branch: the machine snapshot at startIcount (snapshot-codec encoding). */
  snapshot: Uint8Array | null;
}

export interface SyncRecord {
  icount: number;
  stateHash: Uint8Array;
  outHash: Uint8Array;
  fieldDelta: Uint8Array;
  groupDelta: Uint8Array;
  /** Number of input events before this record in the journal. */
  eventIndex: number;
  /** Record number (0 = the first record after the header). */
  recordNo: number;
}

export interface EndRecord {
  icount: number;
  stateHash: Uint8Array;
  outHash: Uint8Array;
}

/** Where journal bytes go (a file on the host; a buffer in tests). */
export interface JournalSink {
  write(bytes: Uint8Array): void;
}

/** A sink that keeps everything in memory. */
export class MemorySink implements JournalSink {
  private chunks: Uint8Array[] = [];
  length = 0;
  write(bytes: Uint8Array): void {
    this.chunks.push(bytes.slice());
    this.length += bytes.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    this.chunks = [out];
    return out;
  }
}

function headerToMsg(h: JournalHeader): MsgValue {
  return {
    magic: JOURNAL_MAGIC,
    format: h.format,
    rewind: h.rewind,
    machine: h.machine,
    clockMode: h.clockMode,
    images: h.images.map((i) => ({ name: i.name, sha256: i.sha256, size: i.size, data: i.data, compression: i.compression })),
    argv: h.argv,
    bootWallMs: h.bootWallMs,
    syncShift: h.syncShift,
    startIcount: h.startIcount,
    fields: h.fields,
    groupShift: h.groupShift,
    ramPages: h.ramPages,
    parent: h.parent,
    snapshot: h.snapshot,
  };
}

/**
 * Writes a journal: the header at construction, then records. Bytes are
 * handed to the sink when `flushBytes` have accumulated and on flush().
 */
export class JournalEncoder {
  readonly header: JournalHeader;
  private readonly sink: JournalSink;
  private readonly w = new MsgWriter(64 * 1024);
  private readonly flushBytes: number;
  private lastIcount: number;
  private lastClockNs = 0;
  records = 0;
  inputEvents = 0;
  /** Bytes of input records (for the bytes-per-event figure). */
  inputBytes = 0;
  bytesWritten = 0;
  private ended = false;
  /** SHA-256 of the header bytes is what a branch names its parent by; kept here for the host. */
  readonly headerBytes: Uint8Array;

  constructor(sink: JournalSink, header: JournalHeader, flushBytes = 64 * 1024) {
    validateHeader(header, 'journal header');
    this.header = header;
    this.sink = sink;
    this.flushBytes = flushBytes;
    this.lastIcount = header.startIcount;
    this.w.value(headerToMsg(header));
    this.headerBytes = this.w.bytes().slice();
    this.flush();
  }

  private delta(icount: number): number {
    const d = icount - this.lastIcount;
    if (!(d >= 0) || !Number.isSafeInteger(icount)) throw new RewindError(ERR.STATE, `journal records must be in icount order (${icount} after ${this.lastIcount})`);
    if (this.ended) throw new RewindError(ERR.STATE, 'journal already ended');
    this.lastIcount = icount;
    return d;
  }

  input(ev: InputEvent): void {
    const w = this.w;
    const start = w.len;
    const d = this.delta(ev.icount);
    if (ev.kind === INPUT.HOST_CLOCK) {
      if (!Number.isSafeInteger(ev.value) || ev.value < 0) throw new RewindError(ERR.STATE, `host-clock input must be whole non-negative ns, got ${ev.value}`);
      w.value([ev.kind, d, ev.value - this.lastClockNs]);
      this.lastClockNs = ev.value;
    } else {
      const data = ev.data;
      if (!data || data.length === 0 || data.length > MAX_INPUT_BYTES) throw new RewindError(ERR.STATE, `${INPUT_NAMES[ev.kind]} input of ${data?.length ?? 0} bytes cannot be journaled`);
      w.value(ev.target === 0 ? [ev.kind, d, data] : [ev.kind, d, data, ev.target]);
    }
    this.records++;
    this.inputEvents++;
    this.inputBytes += w.len - start;
    this.maybeFlush();
  }

  sync(icount: number, stateHash: Uint8Array, outHash: Uint8Array, fieldDelta: Uint8Array, groupDelta: Uint8Array): void {
    const w = this.w;
    const d = this.delta(icount);
    w.value([REC.SYNC, d, stateHash, outHash, fieldDelta, groupDelta]);
    this.records++;
    this.maybeFlush();
  }

  end(icount: number, stateHash: Uint8Array, outHash: Uint8Array): void {
    const w = this.w;
    const d = this.delta(icount);
    w.value([REC.END, d, stateHash, outHash]);
    this.records++;
    this.ended = true;
    this.flush();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  private maybeFlush(): void {
    if (this.w.len >= this.flushBytes) this.flush();
  }

  /** Hands everything buffered to the sink (whole records only). */
  flush(): void {
    if (this.w.len === 0) return;
    this.sink.write(this.w.bytes());
    this.bytesWritten += this.w.len;
    this.w.clear();
  }

  /** Bytes buffered and not yet handed to the sink. */
  get pendingBytes(): number {
    return this.w.len;
  }
}

// ---- reading ----

export interface JournalContents {
  header: JournalHeader;
  /** The header's bytes (its SHA-256 identifies the journal to branches). */
  headerBytes: Uint8Array;
  events: InputEvent[];
  syncs: SyncRecord[];
  end: EndRecord | null;
  /** Null for a cleanly closed journal; else why it stops early (truncated, no END). */
  truncated: string | null;
  /** The icount of the last whole record (END's icount for a complete journal). */
  lastIcount: number;
  records: number;
  bytes: number;
}

export interface DecoderLimits {
  /** Largest header (bundled images count). */
  maxHeaderBytes: number;
  /** Largest single record. */
  maxRecordBytes: number;
  /** Most records (inputs + syncs) accepted. */
  maxRecords: number;
}

export const DEFAULT_DECODER_LIMITS: DecoderLimits = {
  maxHeaderBytes: 1024 * 1024 * 1024,
  maxRecordBytes: 4 * 1024 * 1024,
  maxRecords: 50_000_000,
};

const HEADER_LIMITS: ReadLimits = { maxBytes: 1024 * 1024 * 1024, maxItems: 1 << 16, maxDepth: 8 };
const RECORD_LIMITS: ReadLimits = { maxBytes: 4 * 1024 * 1024, maxItems: 8, maxDepth: 2 };

/**
 * Streaming journal reader: push() chunks as they arrive, then finish().
 * Memory: the decoded records plus at most one incomplete record.
 */
export class JournalDecoder {
  private readonly limits: DecoderLimits;
  /** Unread bytes are buf[bufStart..bufEnd); pendingBase is the stream offset of buf[bufStart]. */
  private buf = new Uint8Array(64 * 1024);
  private bufStart = 0;
  private bufEnd = 0;
  private pendingBase = 0;
  private readonly reader: MsgReader;
  header: JournalHeader | null = null;
  headerBytes: Uint8Array = new Uint8Array(0);
  readonly events: InputEvent[] = [];
  readonly syncs: SyncRecord[] = [];
  end: EndRecord | null = null;
  private records = 0;
  private icount = 0;
  private clockNs = 0;
  private total = 0;

  constructor(limits: DecoderLimits = DEFAULT_DECODER_LIMITS) {
    this.limits = limits;
    this.reader = new MsgReader(this.buf, HEADER_LIMITS, 'journal');
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    const live = this.bufEnd - this.bufStart;
    if (this.bufEnd + chunk.length > this.buf.length) {
      // Compact, growing geometrically so a large header arriving in small chunks costs O(n).
      let size = this.buf.length;
      while (size < live + chunk.length) size *= 2;
      const b = size === this.buf.length ? this.buf : new Uint8Array(size);
      if (b === this.buf) b.copyWithin(0, this.bufStart, this.bufEnd);
      else b.set(this.buf.subarray(this.bufStart, this.bufEnd));
      this.buf = b;
      this.bufStart = 0;
      this.bufEnd = live;
    }
    this.buf.set(chunk, this.bufEnd);
    this.bufEnd += chunk.length;
    this.drain();
  }

  private fail(message: string, at: number): never {
    throw new RewindError(ERR.JOURNAL, `journal: ${message} (record ${this.records}, byte ${at})`);
  }

  private drain(): void {
    const r = this.reader;
    const pending = this.buf.subarray(this.bufStart, this.bufEnd);
    r.reset(pending, this.pendingBase);
    for (;;) {
      const start = r.pos;
      if (start >= r.end) break;
      if (this.header === null) {
        r.limits = { ...HEADER_LIMITS, maxBytes: this.limits.maxHeaderBytes };
        let v: MsgValue;
        try {
          v = r.read();
        } catch (e) {
          if (e === NEED_MORE) {
            if (r.end - start > this.limits.maxHeaderBytes + 1024) this.fail(`header larger than ${this.limits.maxHeaderBytes} bytes`, this.pendingBase + start);
            break;
          }
          throw e;
        }
        this.header = parseHeader(v, this.pendingBase + start);
        this.headerBytes = pending.slice(start, r.pos);
        this.icount = this.header.startIcount;
        continue;
      }
      if (this.end !== null) this.fail('data after the END record', this.pendingBase + start);
      r.limits = { ...RECORD_LIMITS, maxBytes: this.limits.maxRecordBytes };
      let v: MsgValue;
      try {
        v = r.read();
      } catch (e) {
        if (e === NEED_MORE) {
          if (r.end - start > this.limits.maxRecordBytes + 64) this.fail(`record larger than ${this.limits.maxRecordBytes} bytes`, this.pendingBase + start);
          break;
        }
        throw e;
      }
      this.record(v, this.pendingBase + start);
    }
    // Keep only the incomplete tail.
    this.bufStart += r.pos;
    this.pendingBase += r.pos;
  }

  private record(v: MsgValue, at: number): void {
    if (!Array.isArray(v) || v.length < 2) this.fail('record is not an array [kind, icountDelta, ...]', at);
    if (this.records >= this.limits.maxRecords) this.fail(`more than ${this.limits.maxRecords} records`, at);
    const kind = v[0];
    const d = v[1];
    if (typeof kind !== 'number' || !Number.isInteger(kind)) this.fail('record kind is not an integer', at);
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) this.fail('icount delta is not a non-negative integer', at);
    const icount = this.icount + d;
    if (!Number.isSafeInteger(icount)) this.fail('icount overflows 2^53', at);
    const h = this.header!;
    const bin = (i: number, what: string, len = -1): Uint8Array => {
      const x = v[i];
      if (!(x instanceof Uint8Array)) this.fail(`${what} is not binary`, at);
      if (len >= 0 && x.length !== len) this.fail(`${what} is ${x.length} bytes, expected ${len}`, at);
      return x;
    };
    switch (kind) {
      case INPUT.HOST_CLOCK: {
        if (v.length !== 3) this.fail(`host-clock record has ${v.length} fields, expected 3`, at);
        const dn = v[2];
        if (typeof dn !== 'number' || !Number.isSafeInteger(dn)) this.fail('host-clock delta is not an integer', at);
        const ns = this.clockNs + dn;
        if (!(ns >= 0) || !Number.isSafeInteger(ns)) this.fail('host-clock value out of range', at);
        this.clockNs = ns;
        this.events.push({ kind: INPUT.HOST_CLOCK, icount, target: 0, data: null, value: ns });
        break;
      }
      case INPUT.SERIAL:
      case INPUT.KEYBOARD:
      case INPUT.NET_RX:
      case INPUT.ENTROPY: {
        if (v.length !== 3 && v.length !== 4) this.fail(`${INPUT_NAMES[kind]} record has ${v.length} fields, expected 3 or 4`, at);
        const data = bin(2, `${INPUT_NAMES[kind]} payload`);
        if (data.length === 0 || data.length > MAX_INPUT_BYTES) this.fail(`${INPUT_NAMES[kind]} payload of ${data.length} bytes`, at);
        let target = 0;
        if (v.length === 4) {
          const t = v[3];
          if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 255) this.fail('input target is not an integer in [1, 255]', at);
          target = t;
        }
        this.events.push({ kind: kind as InputKind, icount, target, data, value: 0 });
        break;
      }
      case REC.SYNC: {
        if (v.length !== 6) this.fail(`SYNC record has ${v.length} fields, expected 6`, at);
        if (icount % 2 ** h.syncShift !== 0) this.fail(`SYNC at icount ${icount} is not a multiple of 2^${h.syncShift}`, at);
        const fieldDelta = bin(4, 'SYNC field hashes');
        const groupDelta = bin(5, 'SYNC RAM group hashes');
        if (fieldDelta.length % FIELD_ENTRY_BYTES !== 0) this.fail('SYNC field hashes are not whole entries', at);
        if (groupDelta.length % GROUP_ENTRY_BYTES !== 0) this.fail('SYNC RAM group hashes are not whole entries', at);
        for (let o = 0; o < fieldDelta.length; o += FIELD_ENTRY_BYTES) {
          if ((fieldDelta[o]! | (fieldDelta[o + 1]! << 8)) >= h.fields.length) this.fail('SYNC names a field slot the header does not have', at);
        }
        const groups = Math.ceil(h.ramPages / 2 ** h.groupShift);
        const gv = new DataView(groupDelta.buffer, groupDelta.byteOffset, groupDelta.byteLength);
        for (let o = 0; o < groupDelta.length; o += GROUP_ENTRY_BYTES) {
          if (gv.getUint32(o, true) >= groups) this.fail('SYNC names a RAM group beyond the machine RAM', at);
        }
        this.syncs.push({
          icount,
          stateHash: bin(2, 'SYNC state hash', STATE_HASH_BYTES),
          outHash: bin(3, 'SYNC output hash', OUT_HASH_BYTES),
          fieldDelta,
          groupDelta,
          eventIndex: this.events.length,
          recordNo: this.records,
        });
        break;
      }
      case REC.END:
        if (v.length !== 4) this.fail(`END record has ${v.length} fields, expected 4`, at);
        this.end = { icount, stateHash: bin(2, 'END state hash', STATE_HASH_BYTES), outHash: bin(3, 'END output hash', OUT_HASH_BYTES) };
        break;
      default:
        this.fail(`unknown record kind ${kind}`, at);
    }
    this.icount = icount;
    this.records++;
  }

  /** Ends the stream: returns what was read, noting truncation. Throws if there is no header. */
  finish(): JournalContents {
    if (this.header === null) {
      if (this.total === 0) throw new RewindError(ERR.JOURNAL, 'journal is empty');
      throw new RewindError(ERR.JOURNAL, `journal header is truncated (${this.total} bytes)`);
    }
    let truncated: string | null = null;
    const rest = this.bufEnd - this.bufStart;
    if (rest > 0) {
      truncated = `journal is truncated: ${rest} bytes of an incomplete record at byte ${this.pendingBase} after ${this.records} whole records (last at icount ${this.icount})`;
    } else if (this.end === null) {
      truncated = `journal has no END record (not closed cleanly); readable up to icount ${this.icount} after ${this.records} records`;
    }
    return {
      header: this.header,
      headerBytes: this.headerBytes,
      events: this.events,
      syncs: this.syncs,
      end: this.end,
      truncated,
      lastIcount: this.icount,
      records: this.records,
      bytes: this.total,
    };
  }
}

/** Decodes a whole journal held in memory. */
export function decodeJournal(bytes: Uint8Array, limits?: DecoderLimits): JournalContents {
  const d = new JournalDecoder(limits);
  d.push(bytes);
  return d.finish();
}

// ---- header validation ----

function isMap(v: MsgValue | undefined): v is { [key: string]: MsgValue } {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function parseHeader(v: MsgValue, at: number): JournalHeader {
  const bad = (m: string): never => {
    throw new RewindError(ERR.JOURNAL, `journal header: ${m} (byte ${at})`);
  };
  if (!isMap(v)) bad('not a map (is this a rewind journal?)');
  const m = v as { [key: string]: MsgValue };
  if (m['magic'] !== JOURNAL_MAGIC) bad('wrong magic (not a rewind journal)');
  const format = m['format'];
  if (typeof format !== 'number') bad('format version missing');
  if (format !== JOURNAL_FORMAT) bad(`format version ${String(format)} is not supported (this rewind reads version ${JOURNAL_FORMAT})`);
  const int = (k: string, min: number, max: number): number => {
    const x = m[k];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) bad(`field "${k}" is not an integer in [${min}, ${max}]`);
    return x as number;
  };
  const str = (k: string): string => {
    const x = m[k];
    if (typeof x !== 'string') bad(`field "${k}" is not a string`);
    return x as string;
  };
  const machine = m['machine'];
  if (!isMap(machine)) bad('field "machine" is not a map');
  const clockMode = str('clockMode');
  if (!(CLOCK_MODES as readonly string[]).includes(clockMode)) bad(`unknown clock mode "${clockMode.slice(0, 20)}"`);
  const imagesV = m['images'];
  if (!Array.isArray(imagesV)) bad('field "images" is not an array');
  const images: JournalImage[] = (imagesV as MsgValue[]).map((iv, i) => {
    if (!isMap(iv)) bad(`image ${i} is not a map`);
    const im = iv as { [key: string]: MsgValue };
    const name = im['name'], sha = im['sha256'], size = im['size'], data = im['data'] ?? null, comp = im['compression'] ?? 'none';
    if (typeof name !== 'string') bad(`image ${i} has no name`);
    if (!(sha instanceof Uint8Array) || sha.length !== 32) bad(`image ${i} has no 32-byte sha256`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) bad(`image ${i} has no size`);
    if (data !== null && !(data instanceof Uint8Array)) bad(`image ${i} data is not binary`);
    if (comp !== 'none' && comp !== 'deflate-raw') bad(`image ${i} has unknown compression`);
    return { name: name as string, sha256: sha as Uint8Array, size: size as number, data: data as Uint8Array | null, compression: comp as 'none' | 'deflate-raw' };
  });
  const argvV = m['argv'];
  if (!Array.isArray(argvV) || !argvV.every((a) => typeof a === 'string')) bad('field "argv" is not an array of strings');
  const bootWallMs = m['bootWallMs'];
  if (typeof bootWallMs !== 'number' || !Number.isFinite(bootWallMs)) bad('field "bootWallMs" is not a number');
  const fieldsV = m['fields'];
  if (!Array.isArray(fieldsV) || fieldsV.length > 65535 || !fieldsV.every((a) => typeof a === 'string')) bad('field "fields" is not an array of strings');
  const parentV = m['parent'] ?? null;
  let parent: JournalHeader['parent'] = null;
  if (parentV !== null) {
    if (!isMap(parentV)) bad('field "parent" is not a map');
    const p = parentV as { [key: string]: MsgValue };
    if (typeof p['journal'] !== 'string' || typeof p['icount'] !== 'number' || !Number.isSafeInteger(p['icount'])) bad('field "parent" lacks journal/icount');
    parent = { journal: p['journal'] as string, icount: p['icount'] as number };
  }
  const snapshot = m['snapshot'] ?? null;
  if (snapshot !== null && !(snapshot instanceof Uint8Array)) bad('field "snapshot" is not binary');
  const ramBytes = (machine as { [key: string]: MsgValue })['ramBytes'];
  const nsPerInstr = (machine as { [key: string]: MsgValue })['nsPerInstr'];
  if (typeof ramBytes !== 'number' || !Number.isInteger(ramBytes)) bad('machine.ramBytes is not an integer');
  if (typeof nsPerInstr !== 'number' || !(nsPerInstr > 0)) bad('machine.nsPerInstr is not a positive number');
  const h: JournalHeader = {
    format: format as number,
    rewind: str('rewind'),
    machine: machine as { [key: string]: MsgValue },
    clockMode: clockMode as ClockMode,
    images,
    argv: argvV as string[],
    bootWallMs: bootWallMs as number,
    syncShift: int('syncShift', MIN_SYNC_SHIFT, MAX_SYNC_SHIFT),
    startIcount: int('startIcount', 0, Number.MAX_SAFE_INTEGER),
    fields: fieldsV as string[],
    groupShift: int('groupShift', 0, 16),
    ramPages: int('ramPages', 1, 1 << 20),
    parent,
    snapshot: snapshot as Uint8Array | null,
  };
  return h;
}

/** Checks a header before writing it (programming errors surface early, as RewindError). */
export function validateHeader(h: JournalHeader, what: string): void {
  const w = new MsgWriter();
  w.value(headerToMsg(h));
  try {
    parseHeader(new MsgReader(w.bytes(), HEADER_LIMITS, what).read(), 0);
  } catch (e) {
    if (e instanceof RewindError) throw new RewindError(ERR.ARGUMENT, `${what}: ${e.message}`);
    throw e;
  }
}
