/**
 * Exact conversions between guest time (ns) and the tick counts of device
 * clocks (the PIT's 1.193182 MHz, the RTC's 32.768 kHz). Guest time can grow
 * past 2^53 / f, so the products are split at whole seconds: every step stays
 * an exact integer, and the results are the same on every host.
 */

export const NS_PER_SEC = 1_000_000_000;

/** The number of whole ticks of an `hz` clock (ticking at ns = 0, 1e9/hz, ...) elapsed at `ns`. */
export function ticksAtNs(ns: number, hz: number): number {
  const t = Math.floor(ns);
  const sec = Math.floor(t / NS_PER_SEC);
  const rem = t - sec * NS_PER_SEC;
  return sec * hz + Math.floor((rem * hz) / NS_PER_SEC);
}

/** The first guest time (integer ns) at which ticksAtNs(ns, hz) >= tick. */
export function nsAtTick(tick: number, hz: number): number {
  const sec = Math.floor(tick / hz);
  const rem = tick - sec * hz;
  return sec * NS_PER_SEC + Math.ceil((rem * NS_PER_SEC) / hz);
}
