/**
 * The speed the status bar shows: instructions of history covered per second
 * by the controller's runs (continue and reverse-continue, including the
 * instructions a halted guest skips), measured from their progress reports.
 * The value of the last run long enough to measure stays until the next one.
 */

/** Runs shorter than this (host ms) are not measured: the rate would be noise. */
export const SPEED_MIN_MS = 20;

export class SpeedMeter {
  private readonly now: () => number;
  private startMs = 0;
  private done = 0;
  private last: number | null = null;

  /** `now`: host milliseconds (performance.now in the CLI; tests inject a clock). */
  constructor(now: () => number) {
    this.now = now;
  }

  /** A run starts. */
  begin(): void {
    this.startMs = this.now();
    this.done = 0;
  }

  /** Progress of the current run: instructions covered since begin(). */
  update(done: number): void {
    if (done > this.done) this.done = done;
    this.sample();
  }

  /** The run ended, having covered at least `done` instructions. */
  end(done = 0): void {
    this.update(done);
  }

  /** Instructions per second, or null before any measurable run. */
  ips(): number | null {
    return this.last;
  }

  private sample(): void {
    const ms = this.now() - this.startMs;
    if (ms >= SPEED_MIN_MS && this.done > 0) this.last = (this.done * 1000) / ms;
  }
}
