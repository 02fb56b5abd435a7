/**
 * The Runner drives a Machine for record, replay and live runs: it splits
 * Machine.run at sync points (every 2^syncShift instructions: SYNC records
 * written or verified) and checkpoint points (every checkpointInterval
 * instructions, when extending history), caps a replay at the end of its
 * journal, seeks (restore the nearest checkpoint, replay forward), and
 * detaches a replay from its journal to go live (optionally recording a
 * branch).
 *
 * Why sync points live here and not in a scheduler task: a task armed every
 * 2^N instructions would keep a halted machine from ever returning "halted"
 * (the host could not wait for input), and it would be guest-visible state.
 * Here they are host-side stops at fixed icounts, which record and replay
 * both reach: at a sync point the machine has delivered inputs and run the
 * tasks due there ("settled"), and nothing else has happened, whichever run()
 * call brought it there.
 */
import { RewindError, ERR, argError, checkInt } from '../errors.js';
import type { Machine, RunResult } from '../machine.js';
import { STOP } from '../device.js';
import { CheckpointStore, noCheckpoint, type Checkpoint } from '../state/checkpoints.js';
import { SyncState, type Sha256Provider } from './sync.js';
import { LiveBoundary } from './live-boundary.js';
import { RecordBoundary } from './record-boundary.js';
import { ReplayBoundary, type ReplayPosition, type ReplaySource } from './replay-boundary.js';
import { DEFAULT_GROUP_SHIFT, DEFAULT_SYNC_SHIFT, MAX_SYNC_SHIFT, MIN_SYNC_SHIFT, type EndRecord } from './journal.js';

export type RunnerBoundary = LiveBoundary | RecordBoundary | ReplayBoundary;

export interface RunnerOptions {
  /** SYNC every 2^syncShift instructions (replay: the journal header's). */
  syncShift?: number;
  /** RAM group size for SYNC records, log2 pages (replay: the journal header's). */
  groupShift?: number;
  /** Field slots (replay: the journal header's; record: derived from the machine). */
  slots?: string[];
  /** Take a checkpoint every this many instructions (0: none). */
  checkpointInterval?: number;
  /** Memory cap for checkpoints in bytes. */
  checkpointCapBytes?: number;
  /** SHA-256 for SYNC hashing (the host passes a native one, engine/host/native-hash.ts; default: the engine's JS SHA-256). */
  sha256?: Sha256Provider;
}

export interface RunnerResult extends RunResult {
  /** A replay reached the end of its journal. */
  journalEnd: boolean;
}

export const DEFAULT_CHECKPOINT_INTERVAL = 10_000_000;

export class Runner {
  readonly machine: Machine;
  readonly sync: SyncState;
  readonly syncShift: number;
  readonly syncInterval: number;
  readonly checkpointInterval: number;
  readonly checkpoints: CheckpointStore<ReplayPosition> | null;
  /** The icount of the last sync point handled (written, verified or passed). */
  private lastSyncIcount = -1;
  /** The icount at which the machine last settled (delivered inputs and ran due tasks). */
  private settledIcount = -1;
  syncsDone = 0;

  constructor(machine: Machine, boundary: RunnerBoundary, opts: RunnerOptions = {}) {
    this.machine = machine;
    this.syncShift = opts.syncShift ?? DEFAULT_SYNC_SHIFT;
    checkInt('sync interval exponent', this.syncShift, MIN_SYNC_SHIFT, MAX_SYNC_SHIFT);
    this.syncInterval = 2 ** this.syncShift;
    this.checkpointInterval = opts.checkpointInterval ?? 0;
    checkInt('checkpoint interval', this.checkpointInterval, 0, Number.MAX_SAFE_INTEGER);
    this.checkpoints = this.checkpointInterval > 0 ? new CheckpointStore<ReplayPosition>(machine, opts.checkpointCapBytes) : null;
    this.sync = new SyncState(machine, opts.groupShift ?? DEFAULT_GROUP_SHIFT, opts.slots, opts.sha256);
    machine.boundary = boundary;
  }

  get boundary(): RunnerBoundary {
    return this.machine.boundary as RunnerBoundary;
  }

  /** The journal position to store with a checkpoint (null in a plain live run: nothing to replay from). */
  private position(): ReplayPosition | null {
    const b = this.boundary;
    if (b instanceof ReplayBoundary) return b.position();
    if (b instanceof RecordBoundary) {
      const last = b.syncs[b.syncs.length - 1];
      return { eventIndex: b.events.length, syncIndex: b.syncs.length, lastGoodSync: last ? last.icount : -1, output: b.output.save() };
    }
    return null;
  }

  /** Makes sure the machine has delivered inputs and run tasks due at the current icount. */
  private settle(): RunResult | null {
    const now = this.machine.icount;
    if (this.settledIcount === now) return null;
    const r = this.machine.run(Infinity, now);
    if (r.reason !== STOP.UNTIL) return r;
    this.settledIcount = now;
    return null;
  }

  /** Sync and checkpoint work due at the current icount. Returns a non-null result if the machine stopped. */
  private atPoint(): RunResult | null {
    const now = this.machine.icount;
    const b = this.boundary;
    if (now % this.syncInterval === 0 && now > this.lastSyncIcount) {
      const r = this.settle();
      if (r) return r;
      this.lastSyncIcount = now;
      if (b instanceof RecordBoundary || b instanceof ReplayBoundary) {
        b.atSync(now, this.sync);
        this.syncsDone++;
      }
    }
    const store = this.checkpoints;
    if (store && (store.count === 0 || now % this.checkpointInterval === 0)) {
      const newest = store.newest();
      if (newest === null || now > newest.icount) {
        const r = this.settle();
        if (r) return r;
        const pos = this.position();
        if (pos) store.take(pos);
      }
    }
    return null;
  }

  /**
   * Runs at most `budget` instructions or until `untilIcount`, handling sync
   * and checkpoint points on the way. A replay stops at the end of its
   * journal (journalEnd). Throws DivergenceError when a replay diverges.
   */
  run(budget: number, untilIcount = Infinity): RunnerResult {
    if (!(budget >= 0)) throw argError(`instruction budget must be >= 0, got ${budget}`);
    const m = this.machine;
    let end = Math.min(m.icount + budget, untilIcount);
    const b0 = this.boundary;
    const journalEnd = b0 instanceof ReplayBoundary ? b0.endIcount : Infinity;
    if (journalEnd < end) end = journalEnd;
    for (;;) {
      const stopped = this.atPoint();
      if (stopped) return this.result(stopped);
      const now = m.icount;
      const b = this.boundary;
      if (b instanceof ReplayBoundary && now === journalEnd) {
        const r = this.settle();
        if (r) return this.result(r);
        b.atEnd(now, this.sync);
      }
      if (now >= end) {
        const r = this.settle();
        if (r) return this.result(r);
        if (now === journalEnd) return { reason: STOP.UNTIL, detail: 'end of journal', exitCode: 0, journalEnd: true };
        return { reason: now >= untilIcount ? STOP.UNTIL : STOP.BUDGET, detail: '', exitCode: 0, journalEnd: false };
      }
      let target = end;
      const nextSync = (Math.floor(now / this.syncInterval) + 1) * this.syncInterval;
      if (nextSync < target) target = nextSync;
      if (this.checkpointInterval > 0) {
        const nextCp = (Math.floor(now / this.checkpointInterval) + 1) * this.checkpointInterval;
        if (nextCp < target) target = nextCp;
      }
      const r = m.run(Infinity, target);
      if (r.reason !== STOP.UNTIL) {
        if (b instanceof ReplayBoundary && m.icount === journalEnd) b.atEnd(m.icount, this.sync);
        return this.result(r);
      }
      this.settledIcount = m.icount;
    }
  }

  private result(r: RunResult): RunnerResult {
    const b = this.boundary;
    return { ...r, journalEnd: b instanceof ReplayBoundary && this.machine.icount >= b.endIcount };
  }

  /**
   * Moves a replay to exactly `icount`: restores the nearest checkpoint at or
   * before it (unless running forward from here is no longer) and replays
   * forward. The state afterwards equals that of a straight replay stopped at
   * `icount`.
   */
  seek(icount: number): RunnerResult {
    const b = this.boundary;
    if (!(b instanceof ReplayBoundary)) throw new RewindError(ERR.STATE, 'seek needs a replay (switch a live session to replaying its recording first)');
    checkInt('seek target icount', icount, 0, Number.MAX_SAFE_INTEGER);
    if (icount > b.endIcount) throw argError(`icount ${icount} is past the end of the journal (${b.endIcount})`);
    const store = this.checkpoints;
    const m = this.machine;
    const cp = store ? store.nearestAtOrBefore(icount) : null;
    const runForward = m.icount <= icount && (cp === null || cp.icount <= m.icount);
    if (!runForward) {
      if (!cp) throw noCheckpoint(icount);
      this.restoreCheckpoint(cp);
    }
    return this.run(Infinity, icount);
  }

  /**
   * Takes a checkpoint here (also in the middle of history: the debugger keeps
   * checkpoints dense near where the user is). Null in a plain live run.
   */
  takeCheckpoint(): Checkpoint<ReplayPosition> | null {
    if (!this.checkpoints) throw new RewindError(ERR.STATE, 'this runner keeps no checkpoints');
    const r = this.settle();
    if (r) throw new RewindError(ERR.STATE, `cannot take a checkpoint: the machine stopped (${r.reason}) while settling`);
    const pos = this.position();
    return pos ? this.checkpoints.take(pos) : null;
  }

  /** Restores a checkpoint and repositions the replay boundary to match (for the debugger). */
  restoreCheckpoint(cp: Checkpoint<ReplayPosition>): void {
    const b = this.boundary;
    if (!(b instanceof ReplayBoundary)) throw new RewindError(ERR.STATE, 'checkpoints can only be restored into a replay');
    if (!this.checkpoints) throw new RewindError(ERR.STATE, 'this runner keeps no checkpoints');
    this.checkpoints.restore(cp);
    b.reposition(cp.position);
    this.settledIcount = cp.icount;
    // The sync point at the checkpoint's icount, if any, was handled before the checkpoint was taken.
    this.lastSyncIcount = cp.icount % this.syncInterval === 0 ? cp.icount : Math.floor(cp.icount / this.syncInterval) * this.syncInterval;
  }

  /**
   * Detaches from the journal and continues with `live` (a LiveBoundary, or a
   * RecordBoundary writing a branch journal whose header names this point).
   * Inputs pushed to it are delivered from the next instruction on.
   * Checkpoints are dropped and a new base is taken here when recording.
   */
  goLive(live: LiveBoundary): void {
    const r = this.settle();
    if (r) throw new RewindError(ERR.STATE, `cannot go live: the machine stopped (${r.reason}) while settling`);
    live.lastDeliverIcount = this.machine.icount;
    this.machine.boundary = live;
    this.lastSyncIcount = this.machine.icount % this.syncInterval === 0 ? this.machine.icount : this.lastSyncIcount;
    if (this.checkpoints) {
      this.checkpoints.clear();
      const pos = this.position();
      if (pos) this.checkpoints.take(pos);
    }
  }

  /** Ends a recording: writes the END record. */
  finishRecording(): EndRecord {
    const b = this.boundary;
    if (!(b instanceof RecordBoundary)) throw new RewindError(ERR.STATE, 'not recording');
    return b.finish(this.machine.icount, this.sync);
  }
}

/**
 * A replay source over what a RecordBoundary has recorded so far, so a live
 * session can seek back into its own recording. `lastIcount` follows the
 * machine (read when a ReplayBoundary is created over it).
 */
export function recordingSource(rec: RecordBoundary, startIcount: number, fields: string[], lastIcount: number): ReplaySource {
  return { events: rec.events, syncs: rec.syncs, end: rec.end, startIcount, lastIcount, fields, bootWallMs: rec.wallClockAtBoot() };
}
