/**
 * A writer of classic libpcap capture files (the format tcpdump and Wireshark
 * read): a 24-byte global header (magic 0xA1B2C3D4 written little-endian,
 * version 2.4, snaplen, LINKTYPE_ETHERNET), then per frame a 16-byte record
 * header (seconds, microseconds, captured length, original length) and the
 * frame bytes.
 *
 * Timestamps are guest time, not host time: the caller passes the guest's
 * nanoseconds (DeviceContext.nowNs / the PcNet tap) at which the frame was
 * sent or delivered, and the writer adds a fixed `baseNs` given at creation.
 * A replay therefore writes a byte-identical pcap to its recording's. With
 * baseNs = 0 a virtual-clock capture begins at 1970-01-01T00:00:00Z; passing
 * the boundary's wallClockAtBoot() (in ns) dates it at the recorded boot time,
 * which a replay reads from the journal header, so it stays reproducible.
 *
 * Frames are Ethernet frames without FCS, as the NIC exchanges them with the
 * host. Writes are synchronous so that records stay in call order and a crash
 * leaves every frame written so far readable.
 */
import { openSync, writeSync, closeSync } from 'node:fs';
import { RewindError, ERR, argError } from '../errors.js';

export const PCAP_MAGIC = 0xa1b2c3d4;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_DEFAULT_SNAPLEN = 65535;
export const PCAP_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** The 24-byte global header. */
export function pcapGlobalHeader(snaplen = PCAP_DEFAULT_SNAPLEN): Uint8Array {
  const b = new Uint8Array(PCAP_HEADER_LEN);
  const v = new DataView(b.buffer);
  v.setUint32(0, PCAP_MAGIC, true);
  v.setUint16(4, PCAP_VERSION_MAJOR, true);
  v.setUint16(6, PCAP_VERSION_MINOR, true);
  v.setInt32(8, 0, true); // thiszone: UTC
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, snaplen, true);
  v.setUint32(20, LINKTYPE_ETHERNET, true);
  return b;
}

/** One record: header plus the captured bytes (at most snaplen of them). */
export function pcapRecord(guestNs: number, frame: Uint8Array, snaplen = PCAP_DEFAULT_SNAPLEN): Uint8Array {
  if (!(guestNs >= 0) || !Number.isFinite(guestNs)) throw argError(`pcap timestamp must be a finite non-negative ns value, got ${guestNs}`);
  const capLen = Math.min(frame.length, snaplen);
  const b = new Uint8Array(PCAP_RECORD_HEADER_LEN + capLen);
  const v = new DataView(b.buffer);
  const us = Math.floor(guestNs / 1000);
  const sec = Math.floor(us / 1_000_000);
  if (sec > 0xffffffff) throw argError(`pcap timestamp ${guestNs} ns is past the format's 32-bit seconds`);
  v.setUint32(0, sec, true);
  v.setUint32(4, us - sec * 1_000_000, true);
  v.setUint32(8, capLen, true);
  v.setUint32(12, frame.length, true);
  b.set(frame.subarray(0, capLen), PCAP_RECORD_HEADER_LEN);
  return b;
}

export interface PcapOptions {
  /** Bytes kept of each frame (default 65535). */
  snaplen?: number;
  /** Added to every guest timestamp, in ns since the Unix epoch (default 0). */
  baseNs?: number;
}

export class PcapWriter {
  private fd: number;
  readonly path: string;
  readonly snaplen: number;
  readonly baseNs: number;
  frames = 0;

  private constructor(fd: number, path: string, snaplen: number, baseNs: number) {
    this.fd = fd;
    this.path = path;
    this.snaplen = snaplen;
    this.baseNs = baseNs;
  }

  /** Creates (or truncates) `path` and writes the global header. */
  static create(path: string, opts: PcapOptions = {}): PcapWriter {
    const snaplen = opts.snaplen ?? PCAP_DEFAULT_SNAPLEN;
    const baseNs = opts.baseNs ?? 0;
    if (typeof path !== 'string' || path.length === 0) throw argError('--pcap needs a file path');
    if (!Number.isInteger(snaplen) || snaplen < 64 || snaplen > 262144) throw argError(`pcap snaplen must be in [64, 262144], got ${snaplen}`);
    if (!(baseNs >= 0) || !Number.isFinite(baseNs)) throw argError(`pcap base time must be a finite non-negative ns value, got ${baseNs}`);
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (e) {
      throw new RewindError(ERR.CONFIG, `cannot create pcap file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const w = new PcapWriter(fd, path, snaplen, baseNs);
    w.put(pcapGlobalHeader(snaplen));
    return w;
  }

  /** Appends one frame seen at guest time `guestNs`. Ignored after close(). */
  write(guestNs: number, frame: Uint8Array): void {
    if (this.fd < 0) return;
    this.put(pcapRecord(this.baseNs + guestNs, frame, this.snaplen));
    this.frames++;
  }

  private put(b: Uint8Array): void {
    try {
      let off = 0;
      while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    } catch (e) {
      throw new RewindError(ERR.CONFIG, `cannot write pcap file ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
