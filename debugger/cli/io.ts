/**
 * Where a command's output goes and where its input comes from. The real
 * process streams in the `rewind` executable; in-memory streams in tests, so
 * `main(argv, io)` runs a whole command in-process and its output can be
 * asserted on.
 */
import type { Readable } from 'node:stream';

export interface OutStream {
  write(data: string | Uint8Array): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface InStream extends Readable {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  stdin: InStream;
  env: Record<string, string | undefined>;
  cwd: string;
  /** True when the process may install signal handlers (the real executable only). */
  signals: boolean;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), signals: true };
}

/**
 * A one-line progress indicator on stderr, redrawn in place at most every
 * `intervalMs`; silent unless stderr is a terminal (so piped output and logs
 * stay clean).
 */
export class ProgressLine {
  private readonly out: OutStream;
  readonly enabled: boolean;
  private last = 0;
  private shown = false;
  private readonly intervalMs: number;

  constructor(io: CliIo, enabled = true, intervalMs = 100) {
    this.out = io.stderr;
    this.enabled = enabled && io.stderr.isTTY === true && io.env['TERM'] !== 'dumb';
    this.intervalMs = intervalMs;
  }

  update(text: string | (() => string), force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    const t = typeof text === 'string' ? text : text();
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    this.out.write(`\r\x1b[2K${t.length > width ? t.slice(0, width) : t}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.out.write('\r\x1b[2K');
    this.shown = false;
  }
}

/** 1234567 -> "1,234,567". */
export function commas(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Guest time in ns as "1.234 s" / "12.345 ms" / "456 us". */
export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  return `${(ns / 1e3).toFixed(0)} us`;
}
