/**
 * The host side of time and of running live: reading the host clock, and the
 * loop that runs a machine against the real world.
 *
 * Host clock mode: guest time follows the host's. Every reading enters the
 * machine as a HOST_CLOCK input through the live boundary (so it is journaled
 * and replays identically): one at least every `sampleIntervalNs` of host
 * time while the guest runs, and one whenever the guest, halted, has run
 * ahead of the host and the loop has waited for the host to catch up.
 *
 * Waiting: the engine never waits. Machine.run credits idle instructions up
 * to the next deadline at once, but never past the slice end the loop gives
 * it, so a halted guest is at most one slice (default 100,000 instructions,
 * 1 ms of guest time) ahead of the host before the loop sees it, sleeps until
 * the host clock reaches the guest's time (or an input arrives), and delivers
 * a HOST_CLOCK sample. When the machine returns "halted" (nothing scheduled),
 * only an input can wake it: the loop sleeps until one arrives. All of this is
 * host-side; what the guest sees is only inputs at icounts, which replay.
 */
import { STOP } from '../device.js';
import { INPUT } from '../replay/boundary.js';
import type { LiveBoundary } from '../replay/live-boundary.js';
import type { Runner, RunnerResult } from '../replay/runner.js';
import type { JournalFile } from './journal-file.js';

/** Monotonic host time in ns since `start`, offset so it continues a guest's time. */
export class HostClock {
  private readonly t0: bigint;
  private readonly offsetNs: number;
  constructor(offsetNs = 0) {
    this.t0 = process.hrtime.bigint();
    this.offsetNs = Math.round(offsetNs);
  }
  nowNs(): number {
    return Number(process.hrtime.bigint() - this.t0) + this.offsetNs;
  }
}

/** Wall-clock time now, ms since the Unix epoch (taken once per boot). */
export function wallClockMs(): number {
  return Date.now();
}

/** What the loop needs from host time (tests pass a fake). */
export interface LoopTimers {
  nowMs(): number;
  /** Calls `cb` after `ms`; returns a cancel function. */
  setTimer(ms: number, cb: () => void): () => void;
  /** Lets pending I/O callbacks run, then resolves. */
  yieldToHost(): Promise<void>;
}

export const realTimers: LoopTimers = {
  nowMs: () => Date.now(),
  setTimer: (ms, cb) => {
    const t = setTimeout(cb, ms);
    return () => clearTimeout(t);
  },
  yieldToHost: () => new Promise<void>((resolve) => setImmediate(resolve)),
};

export interface LiveLoopOptions {
  /** Instructions per slice between host checks (default 100,000). */
  sliceInstructions?: number;
  /** Host clock mode: the clock to sample (null: virtual clock mode, no samples). */
  hostClock?: { nowNs(): number } | null;
  /** Host timers (default: the real ones). */
  timers?: LoopTimers;
  /** Host ns between HOST_CLOCK samples while running (default 1 ms). */
  sampleIntervalNs?: number;
  /** The journal being written, flushed on time (record mode). */
  journal?: JournalFile | null;
  /** Stop when the icount reaches this. */
  untilIcount?: number;
  /** Host ms between yields to the event loop (so stdin/UDP callbacks run). Default 10. */
  yieldMs?: number;
  /** Longest single sleep while waiting for host time, ms (default 50). */
  maxSleepMs?: number;
}

const DONE: ReadonlySet<string> = new Set([STOP.EXIT, STOP.RESET, STOP.TRIPLE_FAULT, STOP.ERROR, STOP.BREAKPOINT, STOP.REQUESTED]);

export class LiveLoop {
  private readonly runner: Runner;
  private readonly live: LiveBoundary;
  private readonly opts: Required<Omit<LiveLoopOptions, 'hostClock' | 'journal'>> & Pick<LiveLoopOptions, 'hostClock' | 'journal'>;
  private readonly timers: LoopTimers;
  private stopRequested = false;
  private wakeUp: (() => void) | null = null;
  private lastSampleNs = -Infinity;
  /** Host ms spent waiting (for the host clock or for input). */
  waitedMs = 0;

  constructor(runner: Runner, live: LiveBoundary, opts: LiveLoopOptions = {}) {
    this.runner = runner;
    this.live = live;
    this.timers = opts.timers ?? realTimers;
    this.opts = {
      sliceInstructions: opts.sliceInstructions ?? 100_000,
      hostClock: opts.hostClock ?? null,
      timers: opts.timers ?? realTimers,
      sampleIntervalNs: opts.sampleIntervalNs ?? 1_000_000,
      journal: opts.journal ?? null,
      untilIcount: opts.untilIcount ?? Infinity,
      yieldMs: opts.yieldMs ?? 10,
      maxSleepMs: opts.maxSleepMs ?? 50,
    };
  }

  /** Input sources call this after pushing, so a waiting loop runs again at once. */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    if (w) w();
  }

  /** Ends run() at the next slice boundary. */
  stop(): void {
    this.stopRequested = true;
    this.wake();
  }

  private sleep(ms: number | null): Promise<void> {
    const tm = this.timers;
    const t = tm.nowMs();
    return new Promise<void>((resolve) => {
      let cancel: (() => void) | null = null;
      this.wakeUp = () => {
        if (cancel) cancel();
        this.waitedMs += tm.nowMs() - t;
        resolve();
      };
      if (ms !== null) cancel = tm.setTimer(ms, () => this.wake());
    });
  }

  private sample(force: boolean): void {
    const clock = this.opts.hostClock;
    if (!clock) return;
    const ns = clock.nowNs();
    if (force || ns - this.lastSampleNs >= this.opts.sampleIntervalNs) {
      this.live.push(INPUT.HOST_CLOCK, 0, null, ns);
      this.lastSampleNs = ns;
    }
  }

  /** Runs until the guest stops (exit, reset request, error), stop() is called, or untilIcount. */
  async run(): Promise<RunnerResult> {
    const m = this.runner.machine;
    const o = this.opts;
    const tm = this.timers;
    let lastYield = tm.nowMs();
    this.sample(true);
    for (;;) {
      if (this.stopRequested) {
        this.stopRequested = false;
        return { reason: STOP.REQUESTED, detail: 'stopped by the host', exitCode: 0, journalEnd: false };
      }
      const r = this.runner.run(o.sliceInstructions, o.untilIcount);
      o.journal?.tick();
      if (DONE.has(r.reason) || (r.reason === STOP.UNTIL && m.icount >= o.untilIcount)) return r;
      if (r.reason === STOP.HALTED) {
        // Nothing scheduled: only an input can wake the guest.
        if (this.live.pendingInputs === 0) await this.sleep(null);
        this.sample(true);
        lastYield = tm.nowMs();
        continue;
      }
      const clock = o.hostClock;
      if (clock && m.cpu.halted) {
        const aheadNs = m.clock.nowNs(m.icount) - clock.nowNs();
        if (aheadNs > 0) {
          await this.sleep(Math.min(Math.ceil(aheadNs / 1e6), o.maxSleepMs));
          this.sample(true);
          lastYield = tm.nowMs();
          continue;
        }
      }
      this.sample(false);
      if (tm.nowMs() - lastYield >= o.yieldMs) {
        await tm.yieldToHost();
        lastYield = tm.nowMs();
      }
    }
  }
}
