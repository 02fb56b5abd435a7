/**
 * Journal files on the host: writing (incrementally, to FILE.partial, renamed
 * to FILE on a clean close; flushed to the OS at least every flushIntervalMs
 * so a SIGKILL loses at most that much), reading (streamed in chunks through
 * the validating JournalDecoder), and guest images in headers (SHA-256, and
 * with --bundle the image itself, deflate-compressed).
 */
import { openSync, writeSync, closeSync, fsyncSync, renameSync, readSync, fstatSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { RewindError, ERR } from '../errors.js';
import { JournalDecoder, JournalEncoder, type DecoderLimits, type JournalContents, type JournalHeader, type JournalImage, type JournalSink } from '../replay/journal.js';

export const DEFAULT_FLUSH_INTERVAL_MS = 250;

function ioError(what: string, path: string, e: unknown): RewindError {
  const code = (e as { code?: string }).code;
  return new RewindError(ERR.JOURNAL, `cannot ${what} ${path}: ${code ?? (e as Error).message}`);
}

class FileSink implements JournalSink {
  readonly fd: number;
  bytes = 0;
  constructor(fd: number) {
    this.fd = fd;
  }
  write(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    this.bytes += data.length;
  }
}

export interface JournalFileOptions {
  flushIntervalMs?: number;
  /** Encoder buffer size: records are handed to the OS when this much accumulates. */
  flushBytes?: number;
}

/** A journal being written: `encoder` takes records; tick() flushes on time; close() finishes. */
export class JournalFile {
  readonly path: string;
  readonly partialPath: string;
  readonly encoder: JournalEncoder;
  private readonly sink: FileSink;
  private readonly flushIntervalMs: number;
  private lastFlushMs: number;
  private closed = false;

  constructor(path: string, header: JournalHeader, opts: JournalFileOptions = {}) {
    this.path = path;
    this.partialPath = `${path}.partial`;
    this.flushIntervalMs = opts.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    let fd: number;
    try {
      fd = openSync(this.partialPath, 'w');
    } catch (e) {
      throw ioError('create', this.partialPath, e);
    }
    this.sink = new FileSink(fd);
    this.encoder = new JournalEncoder(this.sink, header, opts.flushBytes ?? 64 * 1024);
    this.lastFlushMs = Date.now();
  }

  /** Call often (the live loop does): hands buffered records to the OS once the interval has passed. */
  tick(): void {
    const now = Date.now();
    if (now - this.lastFlushMs >= this.flushIntervalMs) {
      this.encoder.flush();
      this.lastFlushMs = now;
    }
  }

  get bytesWritten(): number {
    return this.sink.bytes;
  }

  /** Flushes, syncs and renames FILE.partial to FILE. The END record must have been written. */
  close(): void {
    if (this.closed) return;
    if (!this.encoder.isEnded) throw new RewindError(ERR.STATE, 'journal closed without an END record (use abort() to keep it partial)');
    this.encoder.flush();
    try {
      fsyncSync(this.sink.fd);
      closeSync(this.sink.fd);
      this.closed = true;
      renameSync(this.partialPath, this.path);
    } catch (e) {
      throw ioError('finish', this.path, e);
    }
  }

  /** Flushes what there is and closes, leaving FILE.partial (readable up to its last record). */
  abort(): void {
    if (this.closed) return;
    this.encoder.flush();
    closeSync(this.sink.fd);
    this.closed = true;
  }
}

/** Reads and validates a journal file (FILE or FILE.partial), streaming it through the decoder. */
export function readJournalFile(path: string, limits?: DecoderLimits): JournalContents {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const hint = !existsSync(path) && existsSync(`${path}.partial`) ? ` (a partial journal ${path}.partial exists: the recording was not closed cleanly)` : '';
    throw new RewindError(ERR.JOURNAL, `cannot open journal ${path}: ${(e as { code?: string }).code ?? 'error'}${hint}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new RewindError(ERR.JOURNAL, `${path} is not a file`);
    const dec = new JournalDecoder(limits);
    const chunk = new Uint8Array(1 << 20);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n <= 0) break;
      dec.push(chunk.subarray(0, n));
    }
    return dec.finish();
  } catch (e) {
    if (e instanceof RewindError) throw new RewindError(e.code, `${path}: ${e.message}`);
    throw ioError('read', path, e);
  } finally {
    closeSync(fd);
  }
}

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** SHA-256 of a journal's header bytes, hex: how a branch journal names its parent. */
export function journalId(contents: { headerBytes: Uint8Array }): string {
  return createHash('sha256').update(contents.headerBytes).digest('hex');
}

/** A header entry for a guest image; with `bundle` the image travels in the journal, compressed. */
export function imageEntry(name: string, bytes: Uint8Array, bundle: boolean): JournalImage {
  return {
    name,
    sha256: sha256(bytes),
    size: bytes.length,
    data: bundle ? new Uint8Array(deflateRawSync(bytes, { level: 9 })) : null,
    compression: bundle ? 'deflate-raw' : 'none',
  };
}

/** The image bundled in a journal, decompressed (bounded by its recorded size) and checked. */
export function bundledImage(entry: JournalImage): Uint8Array {
  if (!entry.data) throw new RewindError(ERR.IMAGE, `image ${entry.name} is not bundled in the journal (record with --bundle, or give the image)`);
  let out: Uint8Array;
  try {
    out = entry.compression === 'deflate-raw' ? new Uint8Array(inflateRawSync(entry.data, { maxOutputLength: Math.max(entry.size, 1) })) : entry.data;
  } catch {
    throw new RewindError(ERR.JOURNAL, `bundled image ${entry.name} is corrupt`);
  }
  checkImage(entry, out);
  return out;
}

/** Throws unless `bytes` is the image the journal was recorded with. */
export function checkImage(entry: JournalImage, bytes: Uint8Array): void {
  const got = sha256(bytes);
  if (bytes.length !== entry.size || !got.every((b, i) => b === entry.sha256[i])) {
    throw new RewindError(ERR.IMAGE, `image ${entry.name} does not match the recording (SHA-256 ${Buffer.from(got).toString('hex').slice(0, 16)}..., recorded ${Buffer.from(entry.sha256).toString('hex').slice(0, 16)}...)`);
  }
}
