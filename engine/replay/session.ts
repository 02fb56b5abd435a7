/**
 * Starting record, replay and branch runs: the glue the CLI and the debugger
 * call. Host specifics (files, clocks, images) stay in engine/host; these
 * functions take a JournalSink and already-read journal contents.
 */
import { RewindError, ERR } from '../errors.js';
import type { Machine } from '../machine.js';
import type { MsgValue } from './msgpack.js';
import { DEFAULT_GROUP_SHIFT, DEFAULT_SYNC_SHIFT, JOURNAL_FORMAT, JournalEncoder, type JournalContents, type JournalHeader, type JournalImage, type JournalSink } from './journal.js';
import { RecordBoundary } from './record-boundary.js';
import { ReplayBoundary } from './replay-boundary.js';
import { Runner, type RunnerOptions } from './runner.js';
import { fieldSlots } from './sync.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotReplayInfo } from './snapshot-codec.js';
import type { MachineSnapshot } from '../machine.js';

export const REWIND_VERSION = '0.1.0';

export interface RecordOptions extends Omit<RunnerOptions, 'slots'> {
  /** Machine configuration for the header (ramBytes and nsPerInstr are added from the machine). */
  machineConfig?: { [key: string]: MsgValue };
  images?: JournalImage[];
  argv?: string[];
  /** Wall-clock time at power-on (host: Date.now() at boot). */
  bootWallMs: number;
  /** For a branch: the parent journal id and the icount it leaves it at; the header then embeds a snapshot. */
  parent?: { journal: string; icount: number } | null;
  /** Encoder buffer size (bytes handed to the sink at once). */
  flushBytes?: number;
}

/** The header for a recording of `machine` starting now. */
export function recordHeader(machine: Machine, opts: RecordOptions): JournalHeader {
  const parent = opts.parent ?? null;
  return {
    format: JOURNAL_FORMAT,
    rewind: REWIND_VERSION,
    machine: { ...(opts.machineConfig ?? {}), ramBytes: machine.config.ramBytes, nsPerInstr: machine.config.nsPerInstr },
    clockMode: machine.config.clockMode,
    images: opts.images ?? [],
    argv: opts.argv ?? [],
    bootWallMs: opts.bootWallMs,
    syncShift: opts.syncShift ?? DEFAULT_SYNC_SHIFT,
    startIcount: machine.icount,
    fields: fieldSlots(machine.registry.save()),
    groupShift: opts.groupShift ?? DEFAULT_GROUP_SHIFT,
    ramPages: machine.memory.ramPages,
    parent,
    snapshot: parent ? encodeSnapshot(machine.snapshot()) : null,
  };
}

export interface Recording {
  runner: Runner;
  boundary: RecordBoundary;
  encoder: JournalEncoder;
}

/** Starts recording `machine` (freshly built, or restored for a branch) into `sink`. */
export function startRecording(machine: Machine, sink: JournalSink | JournalEncoder, opts: RecordOptions): Recording {
  const encoder = sink instanceof JournalEncoder ? sink : new JournalEncoder(sink, recordHeader(machine, opts), opts.flushBytes);
  const h = encoder.header;
  const boundary = new RecordBoundary(opts.bootWallMs, encoder, machine.icount - 1);
  const runner = new Runner(machine, boundary, { ...opts, syncShift: h.syncShift, groupShift: h.groupShift, slots: h.fields });
  return { runner, boundary, encoder };
}

/**
 * Branch: detaches a replay (or any run) at the current icount and records
 * from here into `sink`, the header naming the parent and embedding a
 * snapshot of this point.
 */
export function startBranch(runner: Runner, sink: JournalSink, parentId: string, opts: Omit<RecordOptions, 'bootWallMs'> = {}): Recording {
  const m = runner.machine;
  // The machine booted once: a branch keeps its boot time.
  const bootWallMs = runner.boundary.wallClockAtBoot();
  const header = recordHeader(m, { ...opts, bootWallMs, syncShift: runner.syncShift, groupShift: runner.sync.groupShift, parent: { journal: parentId, icount: m.icount } });
  const encoder = new JournalEncoder(sink, header, opts.flushBytes);
  const boundary = new RecordBoundary(bootWallMs, encoder);
  runner.goLive(boundary);
  return { runner, boundary, encoder };
}

export interface Replay {
  runner: Runner;
  boundary: ReplayBoundary;
}

/** Throws unless `machine` is configured as the journal's was. */
export function checkMachine(machine: Machine, h: JournalHeader): void {
  const mc = h.machine;
  if (mc['ramBytes'] !== machine.config.ramBytes) {
    throw new RewindError(ERR.CONFIG, `journal was recorded with ${Number(mc['ramBytes']) / 1048576} MiB of RAM, this machine has ${machine.config.ramBytes / 1048576} MiB`);
  }
  if (mc['nsPerInstr'] !== machine.config.nsPerInstr) throw new RewindError(ERR.CONFIG, `journal was recorded with nsPerInstr ${String(mc['nsPerInstr'])}, this machine has ${machine.config.nsPerInstr}`);
  if (h.clockMode !== machine.config.clockMode) throw new RewindError(ERR.CONFIG, `journal was recorded in ${h.clockMode} clock mode, this machine is in ${machine.config.clockMode} mode`);
}

/**
 * Replays `journal` on `machine` (built from the header's configuration and
 * images, not yet run). For a branch journal the embedded snapshot is
 * restored first.
 */
export function startReplay(machine: Machine, journal: JournalContents, opts: Omit<RunnerOptions, 'slots' | 'syncShift' | 'groupShift'> = {}): Replay {
  const h = journal.header;
  checkMachine(machine, h);
  if (h.snapshot) {
    const snap = decodeSnapshot(h.snapshot, 'snapshot embedded in the journal');
    if (snap.icount !== h.startIcount) throw new RewindError(ERR.JOURNAL, `journal snapshot is at icount ${snap.icount}, the journal starts at ${h.startIcount}`);
    machine.restore(snap);
  } else if (machine.icount !== h.startIcount) {
    throw new RewindError(ERR.JOURNAL, `journal starts at icount ${h.startIcount} but has no snapshot and the machine is at ${machine.icount}`);
  }
  const boundary = new ReplayBoundary({
    events: journal.events,
    syncs: journal.syncs,
    end: journal.end,
    startIcount: h.startIcount,
    lastIcount: journal.lastIcount,
    fields: h.fields,
    bootWallMs: h.bootWallMs,
  });
  const runner = new Runner(machine, boundary, { ...opts, syncShift: h.syncShift, groupShift: h.groupShift, slots: h.fields });
  return { runner, boundary };
}

/**
 * Resumes a replay from a snapshot taken in the middle of it (a snapshot file
 * with its replay position): the machine is restored and the journal
 * continues from there, SYNC and output checks included. `journalId` is the
 * journal's id (engine/host/journal-file.ts journalId) to check the snapshot
 * belongs to it.
 */
export function startReplayFrom(
  machine: Machine,
  journal: JournalContents,
  journalId: string,
  from: { snapshot: MachineSnapshot; replay: SnapshotReplayInfo | null },
  opts: Omit<RunnerOptions, 'slots' | 'syncShift' | 'groupShift'> = {},
): Replay {
  if (!from.replay) throw new RewindError(ERR.SNAPSHOT, 'snapshot was not taken during a replay: it has no journal position to resume from');
  if (from.replay.journal !== journalId) throw new RewindError(ERR.SNAPSHOT, 'snapshot was taken during a replay of a different journal');
  const pos = from.replay.position;
  if (pos.eventIndex > journal.events.length || pos.syncIndex > journal.syncs.length) throw new RewindError(ERR.SNAPSHOT, 'snapshot position lies beyond the end of this journal');
  checkMachine(machine, journal.header);
  machine.restore(from.snapshot);
  const r = startReplay(machine, { ...journal, header: { ...journal.header, snapshot: null, startIcount: machine.icount } }, opts);
  r.boundary.reposition(pos);
  return r;
}

/** What to store with a snapshot taken during a replay (see startReplayFrom). */
export function replayInfo(replay: Replay, journalId: string): SnapshotReplayInfo {
  return { journal: journalId, position: replay.boundary.position() };
}
