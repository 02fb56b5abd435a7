/**
 * A small, strict MessagePack writer and reader for journals and snapshot
 * files.
 *
 * Writing is msgpackr's (packValue, MsgWriter). Why not msgpackr's decoder: journals are untrusted input. This reader knows
 * the byte offset of everything it decodes (error messages name it), checks
 * every length against the bytes actually present and against caller limits
 * *before* allocating, bounds nesting depth, never produces anything but
 * plain values (no extension hooks, no prototype keys), and tells a truncated
 * value (NEED_MORE, so a streaming reader can wait for more bytes or report a
 * truncated journal) apart from a malformed one (RewindError).
 *
 * Value model: null, boolean, number (integers up to 2^53 exactly; other
 * numbers as float64), string (UTF-8), Uint8Array (bin), arrays, string-keyed
 * maps (plain objects), and typed arrays as ext types (EXT_*), little-endian.
 */
import { Packr, addExtension } from 'msgpackr';
import { RewindError, ERR, type ErrorCode } from '../errors.js';

/** Extension type numbers for typed arrays (payload: the elements, little-endian). */
export const EXT_U16 = 1;
export const EXT_U32 = 2;
export const EXT_I32 = 3;
export const EXT_F64 = 4;

export type MsgValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int32Array
  | Float64Array
  | MsgValue[]
  | { [key: string]: MsgValue };

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The writer: msgpackr encodes every value (one Packr, maps as plain maps,
 * typed arrays through the EXT_* extensions below); MsgWriter only gathers
 * the encoded values into one growable buffer so a journal is flushed in
 * whole records.
 */
const packr = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true });

function typedExt(Class: typeof Uint16Array | typeof Uint32Array | typeof Int32Array | typeof Float64Array, type: number): void {
  addExtension({
    Class,
    type,
    pack(a: Uint16Array | Uint32Array | Int32Array | Float64Array): Uint8Array {
      const out = new Uint8Array(a.byteLength);
      const dv = new DataView(out.buffer);
      for (let i = 0; i < a.length; i++) {
        if (type === EXT_U16) dv.setUint16(i * 2, a[i]!, true);
        else if (type === EXT_U32) dv.setUint32(i * 4, a[i]!, true);
        else if (type === EXT_I32) dv.setInt32(i * 4, a[i]!, true);
        else dv.setFloat64(i * 8, a[i]!, true);
      }
      return out;
    },
    unpack(b: Uint8Array) {
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const size = type === EXT_U16 ? 2 : type === EXT_F64 ? 8 : 4;
      const a = new Class(b.byteLength / size);
      for (let i = 0; i < a.length; i++) {
        a[i] = type === EXT_U16 ? dv.getUint16(i * 2, true) : type === EXT_U32 ? dv.getUint32(i * 4, true) : type === EXT_I32 ? dv.getInt32(i * 4, true) : dv.getFloat64(i * 8, true);
      }
      return a;
    },
  });
}
typedExt(Uint16Array, EXT_U16);
typedExt(Uint32Array, EXT_U32);
typedExt(Int32Array, EXT_I32);
typedExt(Float64Array, EXT_F64);

/** Drops undefined map entries (they are absent, not nil, in our format). */
function normalize(v: MsgValue | undefined): MsgValue | null {
  if (v === undefined) return null;
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v)) return v.map((x) => normalize(x));
  const o: { [key: string]: MsgValue } = {};
  for (const k of Object.keys(v)) if (v[k] !== undefined) o[k] = normalize(v[k]);
  return o;
}

/** Encodes one value with msgpackr. */
export function packValue(v: MsgValue | undefined): Uint8Array {
  const b = packr.pack(normalize(v));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export class MsgWriter {
  buf: Uint8Array;
  len = 0;

  constructor(initialBytes = 1024) {
    this.buf = new Uint8Array(initialBytes);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  /** Drops everything written (the buffer is kept). */
  clear(): void {
    this.len = 0;
  }

  /** The bytes written so far (a view: copy before the next write if kept). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Appends one MessagePack value, encoded by msgpackr. */
  value(v: MsgValue | undefined): void {
    const b = packValue(v);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}


/** Thrown (this one preallocated object) when a value runs past the bytes available. */
export const NEED_MORE: { readonly needMore: true } = Object.freeze({ needMore: true as const });

export interface ReadLimits {
  /** Largest string, bin or ext payload in bytes. */
  maxBytes: number;
  /** Largest array or map element count. */
  maxItems: number;
  /** Deepest nesting of arrays and maps. */
  maxDepth: number;
}

export const DEFAULT_LIMITS: ReadLimits = { maxBytes: 64 * 1024 * 1024, maxItems: 1 << 20, maxDepth: 32 };

/**
 * Reads values from `buf[pos..end)`. Errors are RewindError(ERR.JOURNAL)
 * naming `what` and the absolute byte offset (`base + pos`); running out of
 * bytes throws NEED_MORE and leaves `pos` where the value started.
 */
export class MsgReader {
  buf: Uint8Array;
  pos: number;
  end: number;
  /** Absolute offset of buf[0] in the whole stream (for messages). */
  base: number;
  limits: ReadLimits;
  what: string;
  /** Error code of the RewindErrors thrown (ERR.JOURNAL or ERR.SNAPSHOT). */
  code: ErrorCode;
  private view: DataView;

  constructor(buf: Uint8Array, limits: ReadLimits = DEFAULT_LIMITS, what = 'journal', code: ErrorCode = ERR.JOURNAL) {
    this.code = code;
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length;
    this.base = 0;
    this.limits = limits;
    this.what = what;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  reset(buf: Uint8Array, base: number): void {
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length;
    this.base = base;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(message: string, at = this.pos): never {
    throw new RewindError(this.code, `${this.what}: ${message} at byte ${this.base + at}`);
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw NEED_MORE;
  }

  /** Reads one whole value; on NEED_MORE `pos` is restored to where it started. */
  read(): MsgValue {
    const start = this.pos;
    try {
      return this.value(0);
    } catch (e) {
      if (e === NEED_MORE) this.pos = start;
      throw e;
    }
  }

  /** Reads an array header and returns its length (checked against maxItems). */
  readArrayHeader(): number {
    return this.header(0x90, 0xdc, 'an array', 'items');
  }

  /** Reads a map header and returns its entry count (checked against maxItems). */
  readMapHeader(): number {
    return this.header(0x80, 0xde, 'a map', 'entries');
  }

  /** An array or map header: fix types fix..fix+15, then 16- and 32-bit counts at t16 and t16 + 1. */
  private header(fix: number, t16: number, what: string, unit: string): number {
    const start = this.pos;
    this.need(1);
    const t = this.buf[this.pos++]!;
    let n: number;
    if (t >= fix && t <= fix + 0x0f) n = t & 0x0f;
    else if (t === t16) { this.need(2); n = this.view.getUint16(this.pos); this.pos += 2; }
    else if (t === t16 + 1) { this.need(4); n = this.view.getUint32(this.pos); this.pos += 4; }
    else this.fail(`expected ${what}, found type byte 0x${t.toString(16)}`, start);
    if (n > this.limits.maxItems) this.fail(`${what.slice(what.indexOf(' ') + 1)} of ${n} ${unit} exceeds the limit of ${this.limits.maxItems}`, start);
    return n;
  }

  private value(depth: number): MsgValue {
    const at = this.pos;
    this.need(1);
    const t = this.buf[this.pos++]!;
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 0x100;
    if (t >= 0xa0 && t <= 0xbf) return this.text(t & 0x1f, at);
    if (t >= 0x90 && t <= 0x9f) return this.array(t & 0x0f, depth, at);
    if (t >= 0x80 && t <= 0x8f) return this.map(t & 0x0f, depth, at);
    const v = this.view;
    switch (t) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: { this.need(1); const n = this.buf[this.pos++]!; return this.binary(n, at); }
      case 0xc5: { this.need(2); const n = v.getUint16(this.pos); this.pos += 2; return this.binary(n, at); }
      case 0xc6: { this.need(4); const n = v.getUint32(this.pos); this.pos += 4; return this.binary(n, at); }
      case 0xc7: { this.need(1); const n = this.buf[this.pos++]!; return this.extension(n, at); }
      case 0xc8: { this.need(2); const n = v.getUint16(this.pos); this.pos += 2; return this.extension(n, at); }
      case 0xc9: { this.need(4); const n = v.getUint32(this.pos); this.pos += 4; return this.extension(n, at); }
      case 0xca: { this.need(4); const x = v.getFloat32(this.pos); this.pos += 4; return x; }
      case 0xcb: { this.need(8); const x = v.getFloat64(this.pos); this.pos += 8; return x; }
      case 0xcc: { this.need(1); return this.buf[this.pos++]!; }
      case 0xcd: { this.need(2); const x = v.getUint16(this.pos); this.pos += 2; return x; }
      case 0xce: { this.need(4); const x = v.getUint32(this.pos); this.pos += 4; return x; }
      case 0xcf: {
        this.need(8);
        const hi = v.getUint32(this.pos), lo = v.getUint32(this.pos + 4);
        this.pos += 8;
        if (hi >= 0x200000) this.fail('integer larger than 2^53', at);
        return hi * 0x100000000 + lo;
      }
      case 0xd0: { this.need(1); const x = v.getInt8(this.pos); this.pos += 1; return x; }
      case 0xd1: { this.need(2); const x = v.getInt16(this.pos); this.pos += 2; return x; }
      case 0xd2: { this.need(4); const x = v.getInt32(this.pos); this.pos += 4; return x; }
      case 0xd3: {
        this.need(8);
        const hi = v.getInt32(this.pos), lo = v.getUint32(this.pos + 4);
        this.pos += 8;
        if (hi >= 0x200000 || hi < -0x200000) this.fail('integer outside +-2^53', at);
        return hi * 0x100000000 + lo;
      }
      case 0xd4: return this.extension(1, at);
      case 0xd5: return this.extension(2, at);
      case 0xd6: return this.extension(4, at);
      case 0xd7: return this.extension(8, at);
      case 0xd8: return this.extension(16, at);
      case 0xd9: { this.need(1); const n = this.buf[this.pos++]!; return this.text(n, at); }
      case 0xda: { this.need(2); const n = v.getUint16(this.pos); this.pos += 2; return this.text(n, at); }
      case 0xdb: { this.need(4); const n = v.getUint32(this.pos); this.pos += 4; return this.text(n, at); }
      case 0xdc: { this.need(2); const n = v.getUint16(this.pos); this.pos += 2; return this.array(n, depth, at); }
      case 0xdd: { this.need(4); const n = v.getUint32(this.pos); this.pos += 4; return this.array(n, depth, at); }
      case 0xde: { this.need(2); const n = v.getUint16(this.pos); this.pos += 2; return this.map(n, depth, at); }
      case 0xdf: { this.need(4); const n = v.getUint32(this.pos); this.pos += 4; return this.map(n, depth, at); }
      default:
        return this.fail(`invalid MessagePack type byte 0x${t.toString(16)}`, at);
    }
  }

  private checkBytes(n: number, at: number): void {
    if (n > this.limits.maxBytes) this.fail(`a ${n}-byte value exceeds the limit of ${this.limits.maxBytes}`, at);
    this.need(n);
  }

  private text(n: number, at: number): string {
    this.checkBytes(n, at);
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return textDecoder.decode(s);
    } catch {
      return this.fail('string is not valid UTF-8', at);
    }
  }

  private binary(n: number, at: number): Uint8Array {
    this.checkBytes(n, at);
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  private extension(n: number, at: number): MsgValue {
    this.checkBytes(n + 1, at);
    const type = this.view.getInt8(this.pos++);
    const size = type === EXT_U16 ? 2 : type === EXT_U32 || type === EXT_I32 ? 4 : type === EXT_F64 ? 8 : 0;
    if (size === 0) this.fail(`unknown extension type ${type}`, at);
    if (n % size !== 0) this.fail(`extension ${type} payload of ${n} bytes is not a whole number of elements`, at);
    const count = n / size;
    const dv = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    if (type === EXT_U16) { const a = new Uint16Array(count); for (let i = 0; i < count; i++) a[i] = dv.getUint16(i * 2, true); return a; }
    if (type === EXT_U32) { const a = new Uint32Array(count); for (let i = 0; i < count; i++) a[i] = dv.getUint32(i * 4, true); return a; }
    if (type === EXT_I32) { const a = new Int32Array(count); for (let i = 0; i < count; i++) a[i] = dv.getInt32(i * 4, true); return a; }
    const a = new Float64Array(count);
    for (let i = 0; i < count; i++) a[i] = dv.getFloat64(i * 8, true);
    return a;
  }

  private array(n: number, depth: number, at: number): MsgValue[] {
    if (depth >= this.limits.maxDepth) this.fail(`nesting deeper than ${this.limits.maxDepth}`, at);
    if (n > this.limits.maxItems) this.fail(`array of ${n} items exceeds the limit of ${this.limits.maxItems}`, at);
    // Every element takes at least one byte: a count beyond the bytes present is truncated (or a lie).
    if (n > this.end - this.pos) throw NEED_MORE;
    const out: MsgValue[] = new Array<MsgValue>(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  private map(n: number, depth: number, at: number): { [key: string]: MsgValue } {
    if (depth >= this.limits.maxDepth) this.fail(`nesting deeper than ${this.limits.maxDepth}`, at);
    if (n > this.limits.maxItems) this.fail(`map of ${n} entries exceeds the limit of ${this.limits.maxItems}`, at);
    if (2 * n > this.end - this.pos) throw NEED_MORE;
    const out: { [key: string]: MsgValue } = Object.create(null) as { [key: string]: MsgValue };
    for (let i = 0; i < n; i++) {
      const kAt = this.pos;
      const k = this.value(depth + 1);
      if (typeof k !== 'string') this.fail('map key is not a string', kAt);
      if (k in out) this.fail(`duplicate map key ${JSON.stringify(k.slice(0, 40))}`, kAt);
      out[k] = this.value(depth + 1);
    }
    return out;
  }
}

/** Decodes exactly one value filling `bytes`; errors name `what`. */
export function unpackValue(bytes: Uint8Array, what: string, limits: ReadLimits = DEFAULT_LIMITS, code: ErrorCode = ERR.JOURNAL): MsgValue {
  const r = new MsgReader(bytes, limits, what, code);
  let v: MsgValue;
  try {
    v = r.read();
  } catch (e) {
    if (e === NEED_MORE) throw new RewindError(code, `${what}: truncated (${bytes.length} bytes)`);
    throw e;
  }
  if (r.pos !== bytes.length) r.fail(`${bytes.length - r.pos} unexpected trailing bytes`);
  return v;
}
