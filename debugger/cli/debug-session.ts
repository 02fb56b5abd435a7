/**
 * Opening a time-travel Session for `rewind debug` and `rewind gdb`: on a
 * recording (replayed with checkpoints), or on a live run that records as it
 * goes (MachineTarget's live mode), with symbols when they can be found.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { resolve } from 'node:path';
import { argError } from '../../engine/errors.js';
import { INPUT } from '../../engine/replay/boundary.js';
import { MemorySink } from '../../engine/replay/journal.js';
import { recordHeader, startRecording, startReplay } from '../../engine/replay/session.js';
import type { Runner } from '../../engine/replay/runner.js';
import { JournalFile } from '../../engine/host/journal-file.js';
import { HostClock, wallClockMs } from '../../engine/host/host-clock.js';
import { nativeSha256 } from '../../engine/host/native-hash.js';
import type { Pc } from '../../engine/pc.js';
import { MachineTarget } from '../timeline/machine-target.js';
import { Session } from '../timeline/session.js';
import { SymbolTable } from '../timeline/symbols.js';
import { parseIntArg, type ParsedOpts } from './args.js';
import type { CliIo } from './io.js';
import { buildPc, guessSymbols, headerImages, headerMachine, setupFromOptions, type MachineSetup } from './machine-setup.js';
import { machineForJournal, openJournal } from './journal-open.js';

/** Checkpoint spacing for debugging (the session adds dense ones near the user). */
export const DEBUG_CHECKPOINT_INTERVAL = 2_000_000;

export interface OpenSession {
  session: Session;
  target: MachineTarget;
  pc: Pc;
  setup: MachineSetup;
  /** What is being debugged, for titles. */
  title: string;
  live: boolean;
  symbolsPath: string | null;
  /** Ends a live recording (END record at the frontier, journal closed) and stops host-clock sampling. */
  close(): Promise<void>;
}

/** True when `path` starts like a rewind journal (a MessagePack map holding the journal magic). */
export function looksLikeJournal(path: string): boolean {
  if (/\.rwj(\.partial)?$/.test(path)) return true;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const b = new Uint8Array(64);
    const n = readSync(fd, b, 0, 64, 0);
    const first = b[0]!;
    return n > 0 && ((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf) && Buffer.from(b.subarray(0, n)).includes('rewind-journal');
  } finally {
    closeSync(fd);
  }
}

export async function openSession(opts: ParsedOpts, positional: string[], io: CliIo): Promise<OpenSession> {
  const bootOpts = ['bios', 'kernel', 'flat', 'multiboot'].some((k) => opts[k] !== undefined);
  const isJournal = positional.length === 1 && !bootOpts && looksLikeJournal(resolve(io.cwd, positional[0]!));
  let runner: Runner;
  let pc: Pc;
  let setup: MachineSetup;
  let target: MachineTarget;
  let title: string;
  let session: Session | null = null;
  let close = async (): Promise<void> => {};
  if (isJournal) {
    const j = openJournal(positional[0]!, io.cwd);
    if (j.note) io.stderr.write(`rewind: note: ${j.note}\n`);
    ({ pc, setup } = machineForJournal(j, opts['image'] as string[] | undefined, io.cwd));
    const rp = startReplay(pc.machine, j.contents, { sha256: nativeSha256, checkpointInterval: DEBUG_CHECKPOINT_INTERVAL });
    runner = rp.runner;
    target = new MachineTarget(runner);
    title = positional[0]!;
  } else {
    if (opts['image'] !== undefined) throw argError('--image is for recordings; to debug a live run give the image as IMAGE or --bios');
    setup = setupFromOptions(opts, positional, io.cwd, 'virtual');
    const bootMs = wallClockMs();
    pc = buildPc(setup, bootMs);
    const out = opts['output'] as string | undefined;
    const outPath = out !== undefined ? resolve(io.cwd, out) : null;
    const recOpts = {
      bootWallMs: bootMs,
      syncShift: 20,
      machineConfig: headerMachine(setup, outPath),
      images: headerImages(setup, false),
      argv: ['rewind', 'debug', ...positional],
      sha256: nativeSha256,
      checkpointInterval: DEBUG_CHECKPOINT_INTERVAL,
    };
    const file = outPath ? new JournalFile(outPath, recordHeader(pc.machine, recOpts)) : null;
    const rec = startRecording(pc.machine, file ? file.encoder : new MemorySink(), recOpts);
    runner = rec.runner;
    target = new MachineTarget(runner, { record: rec.boundary, startIcount: pc.machine.icount, fields: rec.encoder.header.fields });
    title = `live: ${setup.images[0]?.name ?? 'PC'}`;
    // Host clock mode: readings enter the recording as the session runs.
    let timer: ReturnType<typeof setInterval> | null = null;
    if (pc.machine.config.clockMode === 'host') {
      const clock = new HostClock();
      // As the live loop samples (engine/host/host-clock.ts): only while the
      // guest is halted or has interrupts on, and at most 1 ms at a time.
      const cpu = pc.cpu;
      const mc = pc.machine;
      timer = setInterval(() => {
        if (!cpu.halted && (cpu.getEflags() & 0x200) === 0) return;
        const guestNs = mc.clock.nowNs(mc.icount);
        const hostNs = clock.nowNs();
        if (hostNs > guestNs) rec.boundary.push(INPUT.HOST_CLOCK, 0, null, Math.min(hostNs, Math.floor(guestNs + 1_000_000)));
      }, 1);
      timer.unref();
    }
    let closed = false;
    const m = pc.machine;
    close = async () => {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      if (!file) return;
      try {
        // The END goes at the frontier (going back and branches never change the
        // recording): return there, with the record boundary in place, and end it.
        const atFrontier = m.boundary === rec.boundary && !target.onBranch;
        if (!atFrontier) {
          const frontier = target.frontier;
          if (!session) throw new Error('no session');
          session.seek(frontier);
          if (m.icount !== frontier) throw new Error(`could not return to the frontier ${frontier}`);
          m.boundary = rec.boundary;
        }
        rec.runner.finishRecording();
        file.close();
      } catch (e) {
        file.abort();
        io.stderr.write(`rewind: the live recording was left partial (${(e as Error).message})\n`);
      }
    };
  }
  const symPath = (opts['symbols'] as string | undefined) ? resolve(io.cwd, opts['symbols'] as string) : guessSymbols(setup);
  const symbols = symPath ? SymbolTable.load(symPath) : null;
  session = new Session(target, { symbols });
  return { session, target, pc, setup, title, live: !isJournal, symbolsPath: symPath, close };
}

/**
 * `--at ICOUNT|end`: moves a freshly opened session to where the user asked
 * to start (shared by `rewind debug` and `rewind gdb`). No option: stays at
 * the start of history.
 */
export function seekToStart(s: OpenSession, opts: ParsedOpts): void {
  const at = opts['at'] as string | undefined;
  if (at === undefined) return;
  const t = s.target;
  const target = at === 'end' ? (t.historyEnd === Infinity ? null : t.historyEnd) : parseIntArg('at', at, 0, Number.MAX_SAFE_INTEGER);
  if (target === null) throw argError('--at end needs a recording (a live run has no end yet)');
  s.session.seek(target);
}
