/**
 * Logging without touching the host: the engine reports through a Logger that
 * the host layer supplies. Rate limiting is by count, not by time, so the log
 * of a replay is identical to the log of its recording.
 */
export const LOG = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 } as const;
export type LogLevel = (typeof LOG)[keyof typeof LOG];

export interface Logger {
  log(level: LogLevel, source: string, message: string): void;
}

export const nullLogger: Logger = { log() {} };

/** Collects log lines in memory: tests and the TUI's message panel use it. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  log(level: LogLevel, source: string, message: string): void {
    this.lines.push(`${['debug', 'info', 'warn', 'error'][level]} ${source}: ${message}`);
  }
}

/**
 * Count-based limiter: the first `burst` messages for a key are passed, then
 * one in every `every`, each annotated with how many were suppressed.
 */
export class RateLimitedLog {
  private readonly counts = new Map<string, number>();
  private readonly logger: Logger;
  private readonly burst: number;
  private readonly every: number;
  constructor(logger: Logger, burst = 10, every = 1000) {
    this.logger = logger;
    this.burst = burst;
    this.every = every;
  }
  log(level: LogLevel, source: string, key: string, message: string): void {
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    if (n <= this.burst) {
      this.logger.log(level, source, n === this.burst ? `${message} (further messages like this are rate-limited)` : message);
    } else if ((n - this.burst) % this.every === 0) {
      this.logger.log(level, source, `${message} (${this.every - 1} similar suppressed, ${n} in all)`);
    }
  }
}
