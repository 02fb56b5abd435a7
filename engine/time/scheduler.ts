/**
 * The scheduler in virtual time. Deadlines are absolute instruction counts
 * (icounts). Tasks are created once, at machine construction, and then armed
 * and cancelled without allocating. The nearest deadline is cached, so the run
 * loop reads it in O(1) and runs the CPU exactly until it.
 *
 * A task may instead be armed at a guest time in nanoseconds (armAtNs); its
 * icount deadline is derived through the GuestClock and re-derived whenever
 * the clock is re-based (host clock mode), so devices think in time while the
 * run loop thinks in instructions.
 */
import { RewindError, ERR, argError } from '../errors.js';
import type { Snapshotable, StateRecord } from '../state/snapshot.js';
import { num, rec } from '../state/snapshot.js';
import type { GuestClock } from './clock.js';

export type TaskCallback = (nowIcount: number) => void;

export class SchedTask {
  readonly name: string;
  readonly id: number;
  readonly callback: TaskCallback;
  dueIcount = Infinity;
  /** Guest-time deadline if armed with armAtNs, else NaN. */
  dueNs = NaN;
  constructor(name: string, id: number, callback: TaskCallback) {
    this.name = name;
    this.id = id;
    this.callback = callback;
  }
  get armed(): boolean {
    return this.dueIcount !== Infinity;
  }
}

export class Scheduler implements Snapshotable {
  readonly stateName = 'scheduler';
  readonly stateVersion = 1;
  private readonly tasks: SchedTask[] = [];
  private readonly byName = new Map<string, SchedTask>();
  /** The nearest deadline over all armed tasks (Infinity if none). */
  nextDueIcount = Infinity;
  /**
   * Called when the nearest deadline moves earlier (a task armed while the
   * CPU is running a slice): the machine uses it to end the slice in time.
   */
  onEarlierDeadline: (dueIcount: number) => void = () => {};
  readonly clock: GuestClock;

  constructor(clock: GuestClock) {
    this.clock = clock;
    clock.onRebase = () => this.rederiveNsDeadlines();
  }

  createTask(name: string, callback: TaskCallback): SchedTask {
    if (this.byName.has(name)) throw argError(`scheduler task "${name}" already exists`);
    const t = new SchedTask(name, this.tasks.length, callback);
    this.tasks.push(t);
    this.byName.set(name, t);
    return t;
  }

  /** Arms `task` to run when the icount reaches `dueIcount` (re-arming replaces the old deadline). */
  arm(task: SchedTask, dueIcount: number): void {
    if (!(dueIcount >= 0)) throw argError(`deadline for "${task.name}" must be a non-negative icount, got ${dueIcount}`);
    task.dueIcount = dueIcount;
    task.dueNs = NaN;
    this.recompute();
  }

  /** Arms `task` at guest time `dueNs`. */
  armAtNs(task: SchedTask, dueNs: number): void {
    if (!(dueNs >= 0)) throw argError(`deadline for "${task.name}" must be a non-negative time, got ${dueNs}`);
    task.dueNs = dueNs;
    task.dueIcount = this.clock.icountAtNs(dueNs);
    this.recompute();
  }

  cancel(task: SchedTask): void {
    if (task.dueIcount === Infinity) return;
    task.dueIcount = Infinity;
    task.dueNs = NaN;
    this.recompute();
  }

  private recompute(): void {
    let min = Infinity;
    const ts = this.tasks;
    for (let i = 0; i < ts.length; i++) if (ts[i]!.dueIcount < min) min = ts[i]!.dueIcount;
    const earlier = min < this.nextDueIcount;
    this.nextDueIcount = min;
    if (earlier) this.onEarlierDeadline(min);
  }

  private rederiveNsDeadlines(): void {
    const ts = this.tasks;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      if (t.dueNs === t.dueNs) t.dueIcount = this.clock.icountAtNs(t.dueNs);
    }
    this.recompute();
  }

  /**
   * Runs every task due at or before `nowIcount`, earliest deadline first (ties
   * by creation order). A callback may re-arm its own or other tasks; a task
   * re-armed to a deadline <= now runs again in this call.
   */
  runDue(nowIcount: number): void {
    let guard = 0;
    while (this.nextDueIcount <= nowIcount) {
      let best: SchedTask | null = null;
      const ts = this.tasks;
      for (let i = 0; i < ts.length; i++) {
        const t = ts[i]!;
        if (t.dueIcount <= nowIcount && (best === null || t.dueIcount < best.dueIcount)) best = t;
      }
      if (best === null) break;
      best.dueIcount = Infinity;
      best.dueNs = NaN;
      this.recompute();
      best.callback(nowIcount);
      if (++guard > 1_000_000) throw new RewindError(ERR.STATE, `scheduler task "${best.name}" keeps re-arming itself in the past`);
    }
  }

  taskNames(): string[] {
    return this.tasks.map((t) => t.name);
  }

  saveState(): StateRecord {
    const due: StateRecord = {};
    for (const t of this.tasks) {
      if (t.armed) due[t.name] = { icount: t.dueIcount, ns: Number.isNaN(t.dueNs) ? -1 : t.dueNs };
    }
    return { due };
  }

  loadState(s: StateRecord): void {
    const due = rec(s, 'due');
    for (const t of this.tasks) {
      t.dueIcount = Infinity;
      t.dueNs = NaN;
    }
    for (const name of Object.keys(due)) {
      const t = this.byName.get(name);
      if (!t) throw new RewindError(ERR.SNAPSHOT, `snapshot arms unknown scheduler task "${name}"`);
      const d = rec(due, name);
      t.dueIcount = num(d, 'icount');
      const ns = num(d, 'ns');
      t.dueNs = ns < 0 ? NaN : ns;
    }
    this.recompute();
  }
}
