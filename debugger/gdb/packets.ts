/**
 * GDB remote serial protocol, layer 1: packet framing.
 *
 * Wire format: `$payload#cc` where cc is the modulo-256 sum of the payload
 * bytes as sent, in two lower-case hex digits. Inside a payload `}` escapes the
 * next byte (xor 0x20); `*` run-length encodes (`X*n` = X repeated n-29 more
 * times). Outside packets: `+`/`-` acknowledge, 0x03 is an out-of-band
 * interrupt (Ctrl-C), and anything else is garbage and skipped.
 *
 * Payloads are handled as latin1 strings (one char per byte), so binary
 * packets (X) survive unchanged.
 *
 * The decoder never throws on input: every problem becomes a `bad` event with
 * a reason, and the decoder resynchronises on the next `$`. Packets longer
 * than `maxPacketBytes` are dropped as oversized without buffering them.
 */

export const GDB_INTERRUPT = 0x03;
/** What we advertise in qSupported as PacketSize (hex in the reply). */
export const GDB_MAX_PACKET = 0x4000;

export type FrameEvent =
  | { type: 'packet'; data: string }
  | { type: 'ack' }
  | { type: 'nack' }
  | { type: 'interrupt' }
  | { type: 'bad'; reason: string; data: string };

const ST = { IDLE: 0, DATA: 1, CSUM1: 2, CSUM2: 3, DISCARD: 4 } as const;
type State = (typeof ST)[keyof typeof ST];

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Incremental decoder: feed it socket chunks, it emits frame events. */
export class PacketDecoder {
  readonly maxPacketBytes: number;
  /** Bytes skipped outside packets (garbage) since construction. */
  garbageBytes = 0;
  private state: State = ST.IDLE;
  private raw: number[] = [];
  private sum = 0;
  private csum = 0;

  constructor(maxPacketBytes = GDB_MAX_PACKET + 64) {
    this.maxPacketBytes = maxPacketBytes;
  }

  feed(chunk: Uint8Array, emit: (ev: FrameEvent) => void): void {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      switch (this.state) {
        case ST.IDLE:
          if (c === 0x24 /* $ */) this.begin();
          else if (c === 0x2b /* + */) emit({ type: 'ack' });
          else if (c === 0x2d /* - */) emit({ type: 'nack' });
          else if (c === GDB_INTERRUPT) emit({ type: 'interrupt' });
          else this.garbageBytes++;
          break;
        case ST.DATA:
          if (c === 0x23 /* # */) this.state = ST.CSUM1;
          else if (c === 0x24) {
            // A new packet starts inside this one: the old one is lost.
            emit({ type: 'bad', reason: 'packet interrupted by a new "$"', data: latin1(this.raw) });
            this.begin();
          } else if (this.raw.length >= this.maxPacketBytes) {
            emit({ type: 'bad', reason: `packet longer than ${this.maxPacketBytes} bytes`, data: latin1(this.raw.slice(0, 32)) });
            this.raw = [];
            this.state = ST.DISCARD;
          } else {
            this.raw.push(c);
            this.sum = (this.sum + c) & 0xff;
          }
          break;
        case ST.CSUM1: {
          const v = hexVal(c);
          this.csum = v << 4;
          if (v < 0) this.badChecksum(emit);
          else this.state = ST.CSUM2;
          break;
        }
        case ST.CSUM2: {
          const v = hexVal(c);
          if (v < 0) {
            this.badChecksum(emit);
            break;
          }
          this.csum |= v;
          const raw = this.raw;
          this.raw = [];
          this.state = ST.IDLE;
          if (this.csum !== this.sum) {
            emit({ type: 'bad', reason: `checksum mismatch (got ${hex2(this.csum)}, computed ${hex2(this.sum)})`, data: latin1(raw.slice(0, 32)) });
            break;
          }
          const decoded = unescapePayload(raw);
          if (typeof decoded !== 'string') emit({ type: 'bad', reason: decoded.error, data: latin1(raw.slice(0, 32)) });
          else emit({ type: 'packet', data: decoded });
          break;
        }
        case ST.DISCARD:
          // Skip to the end of the oversized packet (its checksum is two more bytes we just drop).
          if (c === 0x23) this.state = ST.IDLE;
          else if (c === 0x24) this.begin();
          break;
      }
    }
  }

  private begin(): void {
    this.state = ST.DATA;
    this.raw = [];
    this.sum = 0;
  }

  private badChecksum(emit: (ev: FrameEvent) => void): void {
    emit({ type: 'bad', reason: 'malformed checksum digits', data: latin1(this.raw.slice(0, 32)) });
    this.raw = [];
    this.state = ST.IDLE;
  }
}

function latin1(bytes: number[]): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function hex2(v: number): string {
  return (v & 0xff).toString(16).padStart(2, '0');
}

/** Undoes `}` escaping and `*` run-length encoding. */
export function unescapePayload(raw: ArrayLike<number>): string | { error: string } {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === 0x7d /* } */) {
      if (i + 1 >= raw.length) return { error: 'escape character "}" at the end of a packet' };
      out += String.fromCharCode(raw[++i]! ^ 0x20);
    } else if (c === 0x2a /* * */) {
      if (out.length === 0) return { error: 'run-length marker "*" with nothing to repeat' };
      if (i + 1 >= raw.length) return { error: 'run-length marker "*" at the end of a packet' };
      const n = raw[++i]! - 29;
      if (n < 0 || n > 97) return { error: `bad run-length count byte 0x${hex2(n + 29)}` };
      out += out[out.length - 1]!.repeat(n);
    } else out += String.fromCharCode(c);
  }
  return out;
}

/** Escapes `$ # } *` (and 0x03 is left alone: only an issue outside packets). */
export function escapePayload(data: string): string {
  let out = '';
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === 0x24 || c === 0x23 || c === 0x7d || c === 0x2a) out += '}' + String.fromCharCode(c ^ 0x20);
    else out += data[i];
  }
  return out;
}

/**
 * Run-length encodes an already escaped payload (stub -> gdb only). A run is
 * encoded as `X*n` with n = count + 29, avoiding the count bytes `#` and `$`
 * (6 and 7 repeats) and never encoding a repeated escape sequence.
 */
export function runLengthEncode(escaped: string): string {
  let out = '';
  let i = 0;
  while (i < escaped.length) {
    const ch = escaped[i]!;
    if (ch === '}') {
      out += escaped.slice(i, i + 2);
      i += 2;
      continue;
    }
    let j = i + 1;
    while (j < escaped.length && escaped[j] === ch && j - i - 1 < 97) j++;
    let repeats = j - i - 1; // extra copies after the first
    out += ch;
    if (repeats >= 3) {
      if (repeats === 6 || repeats === 7) repeats = 5; // '#' and '$' are not allowed as counts
      out += '*' + String.fromCharCode(repeats + 29);
      i += repeats + 1;
    } else i++;
  }
  return out;
}

export function checksum(s: string): number {
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum = (sum + s.charCodeAt(i)) & 0xff;
  return sum;
}

/** Frames a reply payload: escape, optionally run-length encode, checksum. */
export function encodePacket(payload: string, rle = true): Buffer {
  let body = escapePayload(payload);
  if (rle) body = runLengthEncode(body);
  return Buffer.from(`$${body}#${hex2(checksum(body))}`, 'latin1');
}

// ---- hex helpers shared by the request and server layers ----

export function toHexBytes(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += hex2(b[i]!);
  return s;
}

/** Parses an even-length hex string to bytes; null if malformed. */
export function fromHexBytes(s: string): Uint8Array | null {
  if (s.length % 2 !== 0) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexVal(s.charCodeAt(2 * i));
    const lo = hexVal(s.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return null;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Little-endian 32-bit value as 8 hex digits (gdb's register byte order on x86). */
export function hexLe32(v: number): string {
  return hex2(v) + hex2(v >>> 8) + hex2(v >>> 16) + hex2(v >>> 24);
}

export function hexText(text: string): string {
  return toHexBytes(Buffer.from(text, 'utf8'));
}
