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
 * Where samples are taken, and how far one moves guest time: a re-base
 * makes guest time jump forward, which a guest sees the way it sees a virtual
 * CPU descheduled by its hypervisor. Two things in Linux (and in any guest
 * that times itself against a timer it counts) break on such jumps, and both
 * were seen booting Debian's kernel in host clock mode:
 *  - Timing with interrupts off. Linux calibrates the TSC by programming the
 *    PIT, reading the TSC and polling the PIT, interrupts off; a jump between
 *    the PIT write and the first TSC read made it measure the 1 GHz TSC as
 *    97 MHz, and its clock then ran 10x fast. So a sample is taken only while
 *    the guest is halted or has interrupts enabled (`interruptsEnabled`);
 *    while they are off, guest time runs at the nominal instruction rate.
 *  - Counting ticks. A jump longer than a timer period passes several PIT
 *    edges, which raise one interrupt (as on hardware: the PIC latches one),
 *    so the guest loses ticks; Linux's jiffies-based `pit` clocksource, the
 *    TSC's watchdog on this machine, then fell behind the TSC and the kernel
 *    marked the TSC unstable. So one sample moves guest time by at most
 *    `maxStepNs` (default 1 ms: shorter than the tick of a HZ=1000 kernel);
 *    a guest further behind than that catches up over several samples, taken
 *    every `catchUpSliceInstructions` rather than once a slice. A halted
 *    guest catches up mostly by itself: the machine credits idle
 *    instructions up to its next timer deadline, tick after tick, and the
 *    loop gives it long slices for that.
 * Samples are delivered at the start of the next slice, at the icount where
 * the loop looked or one instruction later (LiveBoundary's strict "next"),
 * so the guest is in the state the loop saw, give or take that instruction.
 * All of this is a host decision; replay just replays the journaled inputs.
 *
 * Waiting: the engine never waits. Machine.run credits idle instructions up
 * to the next deadline at once, but never past the slice end the loop gives
 * it, so a halted guest is at most one slice (default 100,000 instructions,
 * 1 ms of guest time; ten slices while catching up) ahead of the host before
 * the loop sees it, sleeps until the host clock reaches the guest's time (or
 * an input arrives), and delivers a HOST_CLOCK sample. When the machine returns "halted" (nothing scheduled),
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
  /** Most guest time one sample may add (default 1 ms; see above). */
  maxStepNs?: number;
  /** Slice length while guest time is more than maxStepNs behind the host (default 10,000). */
  catchUpSliceInstructions?: number;
  /** The journal being written, flushed on time (record mode). */
  journal?: JournalFile | null;
  /** Stop when the icount reaches this. */
  untilIcount?: number;
  /**
   * Whether the guest has interrupts enabled (EFLAGS.IF) now, between slices.
   * Host clock samples are taken only then or while the CPU is halted (see
   * above). Default: EFLAGS.IF of the machine's CPU when it has getEflags()
   * (the IA-32 Cpu does), else always.
   */
  interruptsEnabled?: () => boolean;
  /** Host ms between yields to the event loop (so stdin/UDP callbacks run). Default 10. */
  yieldMs?: number;
  /** Longest single sleep while waiting for host time, ms (default 50). */
  maxSleepMs?: number;
}

const EFLAGS_IF = 0x200;
/** A halted guest behind the host runs this many slices' worth of (mostly idle) instructions at once. */
const IDLE_CATCH_UP_SLICES = 10;

function cpuInterruptsEnabled(cpu: object): () => boolean {
  const c = cpu as { getEflags?: () => number };
  const get = c.getEflags;
  if (typeof get !== 'function') return () => true;
  return () => (get.call(c) & EFLAGS_IF) !== 0;
}

const DONE: ReadonlySet<string> = new Set([STOP.EXIT, STOP.RESET, STOP.TRIPLE_FAULT, STOP.ERROR, STOP.BREAKPOINT, STOP.REQUESTED]);

export class LiveLoop {
  private readonly runner: Runner;
  private readonly live: LiveBoundary;
  private readonly opts: Required<Omit<LiveLoopOptions, 'hostClock' | 'journal'>> & Pick<LiveLoopOptions, 'hostClock' | 'journal'>;
  /** Host clock samples skipped because the guest had interrupts off. */
  deferredSamples = 0;
  /** Samples cut to maxStepNs (the guest was further behind the host). */
  slewedSamples = 0;
  /** Guest time is behind the host by more than the last sample could add. */
  private behind = false;
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
      maxStepNs: opts.maxStepNs ?? 1_000_000,
      catchUpSliceInstructions: opts.catchUpSliceInstructions ?? 10_000,
      journal: opts.journal ?? null,
      untilIcount: opts.untilIcount ?? Infinity,
      interruptsEnabled: opts.interruptsEnabled ?? cpuInterruptsEnabled(runner.machine.cpu),
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
    const m = this.runner.machine;
    if (!m.cpu.halted && !this.opts.interruptsEnabled()) {
      this.deferredSamples++;
      return;
    }
    const hostNs = clock.nowNs();
    if (!force && !this.behind && hostNs - this.lastSampleNs < this.opts.sampleIntervalNs) return;
    this.lastSampleNs = hostNs;
    const guestNs = m.clock.nowNs(m.icount);
    // Guest time never runs backwards: a reading behind it would change nothing.
    if (hostNs <= guestNs) {
      this.behind = false;
      return;
    }
    let ns = hostNs;
    this.behind = ns - guestNs > this.opts.maxStepNs;
    if (this.behind) {
      ns = Math.floor(guestNs + this.opts.maxStepNs);
      this.slewedSamples++;
    }
    this.live.push(INPUT.HOST_CLOCK, 0, null, ns);
  }

  /**
   * Instructions for the next slice. Behind the host and running: short
   * slices, so 1 ms samples come often. Behind and halted: long ones, in
   * which the machine credits idle instructions from one timer deadline to
   * the next, delivering every tick, so an idle guest catches up at the
   * speed of its tick handler rather than 1 ms per loop turn.
   */
  private sliceBudget(): number {
    const o = this.opts;
    if (!this.behind) return o.sliceInstructions;
    return this.runner.machine.cpu.halted ? o.sliceInstructions * IDLE_CATCH_UP_SLICES : o.catchUpSliceInstructions;
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
      const r = this.runner.run(this.sliceBudget(), o.untilIcount);
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
