/**
 * `rewind run` and `rewind record`: boot a PC and run it live. Record is run
 * plus a journal: the same machine, the same host I/O, with everything that
 * crosses the nondeterminism boundary written to FILE (FILE.partial until it
 * is closed cleanly, also on Ctrl-A x, SIGINT, SIGTERM and guest exit).
 */
import { resolve } from 'node:path';
import { argError } from '../../../engine/errors.js';
import { LiveBoundary } from '../../../engine/replay/live-boundary.js';
import { Runner } from '../../../engine/replay/runner.js';
import { MAX_SYNC_SHIFT } from '../../../engine/replay/journal.js';
import { recordHeader, startRecording } from '../../../engine/replay/session.js';
import { JournalFile } from '../../../engine/host/journal-file.js';
import { wallClockMs } from '../../../engine/host/host-clock.js';
import { nativeSha256 } from '../../../engine/host/native-hash.js';
import { SymbolTable } from '../../timeline/symbols.js';
import { parseArgs } from '../args.js';
import type { CliIo } from '../io.js';
import { MACHINE_OPTIONS, IO_OPTIONS, RECORD_OPTIONS, expandShort } from '../options.js';
import { buildPc, guessSymbols, headerImages, headerMachine, setupFromOptions } from '../machine-setup.js';
import { parseSerialSpec, summaryLine, describeStop } from '../output.js';
import { runLive, type LiveRunResult } from '../live-run.js';
import { expectPath, parseExpectations, writeExpectations, describeExpectations, type Expectations } from '../expect.js';
import type { Pc } from '../../../engine/pc.js';

function summarize(io: CliIo, pc: Pc, r: LiveRunResult, quiet: boolean, max: number | undefined, extra?: string): number {
  const m = pc.machine;
  const d = describeStop(r.result.reason, r.result.detail, r.result.exitCode, max !== undefined ? r.startIcount + max : Infinity, m.icount);
  if (!quiet) {
    io.stderr.write(
      summaryLine({
        why: d.why,
        icount: m.icount,
        executed: m.icount - r.startIcount,
        guestNs: m.clock.nowNs(m.icount),
        hostMs: Math.max(1, r.hostMs - r.waitedMs),
        postCode: pc.debug.lastPostCode,
        ...(extra ? { extra } : {}),
      }),
    );
  }
  return d.status;
}

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { opts, positional } = parseArgs(argv, [...MACHINE_OPTIONS, ...IO_OPTIONS]);
  const setup = setupFromOptions(opts, positional, io.cwd, 'host');
  const serial = parseSerialSpec(opts['serial'] as string, io.cwd);
  const bootMs = wallClockMs();
  const pc = buildPc(setup, bootMs);
  const live = new LiveBoundary(bootMs, pc.machine.icount - 1);
  const runner = new Runner(pc.machine, live, { syncShift: MAX_SYNC_SHIFT });
  const r = await runLive({
    io, pc, runner, live, serial,
    nic: opts['nic'] as string | undefined,
    pcap: opts['pcap'] as string | undefined,
    maxInstructions: opts['max-instructions'] as number | undefined,
    untilSerial: opts['until-serial'] as string | undefined,
    quiet: opts['quiet'] === true,
  });
  return summarize(io, pc, r, opts['quiet'] === true, opts['max-instructions'] as number | undefined);
}

export async function record(argv: string[], io: CliIo): Promise<number> {
  const { opts, positional } = parseArgs(expandShort(argv), [...MACHINE_OPTIONS, ...IO_OPTIONS, ...RECORD_OPTIONS]);
  const out = opts['output'] as string | undefined;
  if (out === undefined) throw argError('record needs -o FILE (the journal to write)');
  const outPath = resolve(io.cwd, out);
  const setup = setupFromOptions(opts, positional, io.cwd, 'host');
  const serial = parseSerialSpec(opts['serial'] as string, io.cwd);
  // Expectations are parsed before anything runs, so a typo costs nothing.
  let expectations: Expectations | null = null;
  const expectItems = (opts['expect'] as string[] | undefined) ?? [];
  if (expectItems.length > 0) {
    const symPath = (opts['symbols'] as string | undefined) ?? guessSymbols(setup);
    const symbols = expectItems.some((s) => s.startsWith('reaches:')) && symPath ? SymbolTable.load(resolve(io.cwd, symPath)) : null;
    expectations = parseExpectations(expectItems, symbols);
  }
  const syncShift = opts['sync-exp'] as number;
  const bootMs = wallClockMs();
  const pc = buildPc(setup, bootMs);
  const recOpts = {
    bootWallMs: bootMs,
    syncShift,
    machineConfig: headerMachine(setup, outPath),
    images: headerImages(setup, opts['bundle'] === true),
    argv: ['rewind', 'record', ...argv],
    sha256: nativeSha256,
  };
  const file = new JournalFile(outPath, recordHeader(pc.machine, recOpts));
  let closed = false;
  try {
    const rec = startRecording(pc.machine, file.encoder, recOpts);
    const r = await runLive({
      io, pc, runner: rec.runner, live: rec.boundary, serial,
      nic: opts['nic'] as string | undefined,
      pcap: opts['pcap'] as string | undefined,
      maxInstructions: opts['max-instructions'] as number | undefined,
      untilSerial: opts['until-serial'] as string | undefined,
      quiet: opts['quiet'] === true,
      journal: file,
      keepTranscript: expectations !== null,
    });
    rec.runner.finishRecording();
    file.close();
    closed = true;
    let extra = `journal ${out} (${rec.boundary.events.length} inputs, ${file.bytesWritten} bytes)`;
    if (expectations) {
      const ep = expectPath(outPath);
      writeExpectations(ep, expectations);
      extra += `, expectations ${describeExpectations(expectations).join(' ')}`;
      // Say at once if the recorded run does not meet what was asked of it.
      const transcript = r.router.transcriptText();
      for (const s of expectations.serialContains ?? []) {
        if (!transcript.includes(s)) io.stderr.write(`rewind: warning: this run's serial output does not contain ${JSON.stringify(s)}; \`rewind test\` will fail\n`);
      }
      if (expectations.exit !== undefined && (r.result.reason !== 'exit' || r.result.exitCode !== expectations.exit)) {
        io.stderr.write(`rewind: warning: this run did not exit with status ${expectations.exit}; \`rewind test\` will fail\n`);
      }
    }
    return summarize(io, pc, r, opts['quiet'] === true, opts['max-instructions'] as number | undefined, extra);
  } finally {
    if (!closed) file.abort();
  }
}
