/**
 * Opening a recording for replay, info, snapshot, test and the debugger: the
 * journal (FILE, or FILE.partial when only that exists), the PC rebuilt from
 * its header, and the replay loop with progress.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { RewindError, ERR } from '../../engine/errors.js';
import { STOP } from '../../engine/device.js';
import type { JournalContents } from '../../engine/replay/journal.js';
import type { Runner, RunnerResult } from '../../engine/replay/runner.js';
import { readJournalFile } from '../../engine/host/journal-file.js';
import type { Pc } from '../../engine/pc.js';
import { buildPc, parseImageOverrides, setupFromHeader, type MachineSetup } from './machine-setup.js';

export interface OpenedJournal {
  path: string;
  contents: JournalContents;
  /** A note for the user when the journal is partial or truncated (null when closed cleanly). */
  note: string | null;
}

export function openJournal(file: string, cwd: string): OpenedJournal {
  let path = resolve(cwd, file);
  if (!existsSync(path) && existsSync(`${path}.partial`)) path = `${path}.partial`;
  const contents = readJournalFile(path);
  return { path, contents, note: contents.truncated };
}

export interface ReplayMachine {
  setup: MachineSetup;
  pc: Pc;
}

/** Rebuilds the PC a journal was recorded on (not yet replaying). */
export function machineForJournal(j: OpenedJournal, images: string[] | undefined, cwd: string): ReplayMachine {
  const h = j.contents.header;
  const setup = setupFromHeader(h, j.path.replace(/\.partial$/, ''), parseImageOverrides(images, cwd));
  const pc = buildPc(setup, h.bootWallMs);
  return { setup, pc };
}

/** The last instruction count a journal reaches (END's, or its last whole record's). */
export function journalEnd(c: JournalContents): number {
  return c.end ? c.end.icount : c.lastIcount;
}

/**
 * Replays to `until` (or the end of the journal) in chunks, calling
 * `between` after each (progress, output flushing, pacing; it may wait).
 * Returns the last result: journalEnd, UNTIL, or a guest stop.
 */
export async function replayLoop(runner: Runner, until: number, between: () => Promise<void> | void, chunk = 4_000_000, stopped: () => string | null = () => null): Promise<RunnerResult> {
  for (;;) {
    const r = runner.run(chunk, until);
    await between();
    const why = stopped();
    if (why !== null && !r.journalEnd) return { reason: STOP.REQUESTED, detail: why, exitCode: 0, journalEnd: false };
    if (r.journalEnd) return r;
    if (r.reason === STOP.BUDGET) continue;
    if (r.reason === STOP.UNTIL && runner.machine.icount < until) continue;
    return r;
  }
}

export function checkIcountInJournal(what: string, icount: number, c: JournalContents): void {
  const end = journalEnd(c);
  if (icount < c.header.startIcount || icount > end) throw new RewindError(ERR.ARGUMENT, `${what} ${icount} is outside the journal (icount ${c.header.startIcount} to ${end})`);
}
