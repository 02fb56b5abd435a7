/**
 * Guest output on the host: COM1 to the terminal, a file or nowhere; the
 * 0xE9 console to stdout; `--until-serial` matching; and the one-line
 * summary printed when a run ends.
 */
import { openSync, writeSync, closeSync } from 'node:fs';
import { resolve } from 'node:path';
import { RewindError, ERR, argError } from '../../engine/errors.js';
import { OUTPUT, type OutputKind } from '../../engine/replay/boundary.js';
import { STOP } from '../../engine/device.js';
import type { Machine } from '../../engine/machine.js';
import type { CliIo } from './io.js';
import { commas, formatNs } from './io.js';

export type SerialSpec = { kind: 'stdio' } | { kind: 'file'; path: string } | { kind: 'none' };

export function parseSerialSpec(s: string, cwd: string): SerialSpec {
  if (s === 'stdio' || s === 'none') return { kind: s };
  if (s.startsWith('file:') && s.length > 5) return { kind: 'file', path: resolve(cwd, s.slice(5)) };
  throw argError(`--serial must be stdio, file:PATH or none, got ${JSON.stringify(s)}`);
}

/** Collects guest output and writes it in batches (one write per slice, not per byte). */
export class OutputRouter {
  private readonly io: CliIo;
  private readonly serial: SerialSpec;
  private fd = -1;
  private out: number[] = [];
  private flushScheduled = false;
  private readonly until: string | null;
  private tail = '';
  /** Set when --until-serial matched. */
  matched = false;
  serialBytes = 0;
  /** Last byte written to stdout (-1: none), so a summary can start on a fresh line. */
  lastByte = -1;
  consoleBytes = 0;
  framesSent = 0;
  /** Every COM1 byte, kept when asked (tests, expectations). */
  readonly transcript: number[] | null;
  /** Extra consumer of NET_TX frames (the UDP backend in a live run). */
  onFrame: ((frame: Uint8Array) => void) | null = null;

  constructor(io: CliIo, serial: SerialSpec, untilSerial: string | null, keepTranscript = false) {
    this.io = io;
    this.serial = serial;
    this.until = untilSerial !== null && untilSerial.length > 0 ? untilSerial : null;
    this.transcript = keepTranscript ? [] : null;
    if (serial.kind === 'file') {
      try {
        this.fd = openSync(serial.path, 'w');
      } catch (e) {
        throw new RewindError(ERR.CONFIG, `cannot create serial output file ${serial.path}: ${(e as { code?: string }).code ?? (e as Error).message}`);
      }
    }
  }

  /** Installs itself as the machine's output listener. */
  attach(m: Machine): void {
    m.onOutput = (kind, target, data) => this.onOutput(m, kind, target, data);
  }

  private onOutput(m: Machine, kind: OutputKind, target: number, data: Uint8Array): void {
    if (kind === OUTPUT.SERIAL) {
      if (target !== 0) return;
      this.serialBytes += data.length;
      if (this.transcript) for (const b of data) this.transcript.push(b);
      if (this.serial.kind === 'stdio') this.push(data);
      else if (this.fd >= 0) writeSync(this.fd, data);
      if (this.until !== null && !this.matched) {
        let s = '';
        for (const b of data) s += String.fromCharCode(b);
        this.tail += s;
        if (this.tail.includes(this.until)) {
          this.matched = true;
          m.requestStop(STOP.REQUESTED, `serial output contains ${JSON.stringify(this.until)}`);
        }
        if (this.tail.length > this.until.length * 2 + 64) this.tail = this.tail.slice(-this.until.length);
      }
    } else if (kind === OUTPUT.DEBUGCON) {
      this.consoleBytes += data.length;
      this.push(data);
    } else if (kind === OUTPUT.NET_TX) {
      this.framesSent++;
      if (this.onFrame && target === 0) this.onFrame(data);
    }
  }

  private push(data: Uint8Array): void {
    for (const b of data) this.out.push(b);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0) return;
    this.lastByte = this.out[this.out.length - 1]!;
    const buf = Buffer.from(this.out);
    this.out = [];
    this.io.stdout.write(buf);
  }

  /** Ends the guest's last line on a terminal, so what follows starts at column 0. */
  endLine(): void {
    this.flush();
    if (this.lastByte >= 0 && this.lastByte !== 0x0a && this.io.stdout.isTTY) this.io.stdout.write('\n');
    this.lastByte = -1;
  }

  close(): void {
    this.endLine();
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  transcriptText(): string {
    return this.transcript ? String.fromCharCode(...this.transcript.slice(-1_000_000)) : '';
  }
}

export interface RunSummary {
  /** Why it stopped, in words. */
  why: string;
  icount: number;
  /** Instructions this process executed (a replay resumed from a snapshot starts later). */
  executed: number;
  guestNs: number;
  hostMs: number;
  postCode: number;
  extra?: string;
}

export function summaryLine(s: RunSummary): string {
  const mips = s.hostMs > 0 ? s.executed / (s.hostMs * 1000) : 0;
  const post = s.postCode >= 0 ? `0x${s.postCode.toString(16).padStart(2, '0')}` : 'none';
  return `rewind: ${s.why}; ${commas(s.icount)} instructions, ${formatNs(s.guestNs)} guest time, ${mips.toFixed(1)} MIPS, last POST code ${post}${s.extra ? `, ${s.extra}` : ''}\n`;
}

/** Words for a stop, and the process exit status it maps to. */
export function describeStop(reason: string, detail: string, exitCode: number, untilIcount: number, icount: number): { why: string; status: number } {
  switch (reason) {
    case STOP.EXIT:
      return { why: `guest exited with status ${exitCode} (${detail})`, status: exitCode & 0xff };
    case STOP.UNTIL:
    case STOP.BUDGET:
      if (detail === 'end of journal') return { why: 'end of the journal', status: 0 };
      return { why: icount >= untilIcount ? 'instruction limit reached' : 'stopped', status: 0 };
    case STOP.REQUESTED:
      return { why: detail || 'stopped', status: 0 };
    case STOP.HALTED:
      return { why: 'guest halted with nothing left to wake it', status: 0 };
    case STOP.TRIPLE_FAULT:
      return { why: `triple fault${detail ? ` (${detail})` : ''}`, status: 1 };
    case STOP.RESET:
      return { why: `guest reset${detail ? ` (${detail})` : ''}`, status: 0 };
    case STOP.ERROR:
      return { why: `emulation error: ${detail}`, status: 1 };
    default:
      return { why: `${reason}${detail ? ` (${detail})` : ''}`, status: 0 };
  }
}
