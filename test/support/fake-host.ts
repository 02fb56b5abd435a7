/**
 * Host timers for driving the live loop (engine/host/host-clock.ts) in tests
 * and benchmarks without real time: the clock advances `stepNs` per reading,
 * and a timer "sleeps" by moving it forward at once.
 */
import type { LoopTimers } from '../../engine/host/host-clock.js';

export class SteppingHost implements LoopTimers {
  ns = 0;
  readonly stepNs: number;
  constructor(stepNs: number) {
    this.stepNs = stepNs;
  }
  nowMs(): number {
    return Math.floor(this.ns / 1e6);
  }
  nowNs(): number {
    this.ns += this.stepNs;
    return this.ns;
  }
  setTimer(ms: number, cb: () => void): () => void {
    const h = setImmediate(() => {
      this.ns += ms * 1e6;
      cb();
    });
    return () => clearImmediate(h);
  }
  yieldToHost(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
}
