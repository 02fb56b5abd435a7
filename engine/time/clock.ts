/**
 * Guest time. The guest's clock is a function of the instruction count:
 *
 *   nowNs(icount) = baseNs + (icount - baseIcount) * nsPerInstr
 *
 * In `virtual` clock mode the base never moves: time follows the icount alone,
 * so a run is deterministic without a journal. In `host` clock mode the machine
 * periodically takes a host-clock reading through the nondeterminism boundary
 * and re-bases (rebase): guest time then tracks the host's, and because every
 * reading is an input stamped with its icount, replay re-bases identically.
 * Guest time never runs backwards.
 */
import { argError } from '../errors.js';
import type { Snapshotable, StateRecord } from '../state/snapshot.js';
import { num } from '../state/snapshot.js';

export const CLOCK_MODES = ['virtual', 'host'] as const;
export type ClockMode = (typeof CLOCK_MODES)[number];

/** Nominal speed of the virtual CPU: 100 million instructions per guest second. */
export const DEFAULT_NS_PER_INSTR = 10;

export class GuestClock implements Snapshotable {
  readonly stateName = 'clock';
  readonly stateVersion = 1;
  readonly mode: ClockMode;
  baseIcount = 0;
  baseNs = 0;
  nsPerInstr: number;
  /** Set by the scheduler: re-derives time-based deadlines after a re-base. */
  onRebase: () => void = () => {};

  constructor(mode: ClockMode = 'virtual', nsPerInstr = DEFAULT_NS_PER_INSTR) {
    if (!CLOCK_MODES.includes(mode)) throw argError(`clock mode must be one of ${CLOCK_MODES.join(', ')}, got ${String(mode)}`);
    if (!(nsPerInstr > 0 && nsPerInstr <= 1e6)) throw argError(`nsPerInstr must be in (0, 1e6], got ${nsPerInstr}`);
    this.mode = mode;
    this.nsPerInstr = nsPerInstr;
  }

  nowNs(icount: number): number {
    return this.baseNs + (icount - this.baseIcount) * this.nsPerInstr;
  }

  /** The first icount at which guest time is >= ns. */
  icountAtNs(ns: number): number {
    const d = Math.ceil((ns - this.baseNs) / this.nsPerInstr);
    return this.baseIcount + (d > 0 ? d : 0);
  }

  /** Re-bases guest time to `hostNs` at `icount` (never backwards). */
  rebase(icount: number, hostNs: number): void {
    const now = this.nowNs(icount);
    this.baseIcount = icount;
    this.baseNs = hostNs > now ? hostNs : now;
    this.onRebase();
  }

  saveState(): StateRecord {
    return { baseIcount: this.baseIcount, baseNs: this.baseNs, nsPerInstr: this.nsPerInstr };
  }

  loadState(s: StateRecord): void {
    this.baseIcount = num(s, 'baseIcount');
    this.baseNs = num(s, 'baseNs');
    this.nsPerInstr = num(s, 'nsPerInstr');
    this.onRebase();
  }
}
