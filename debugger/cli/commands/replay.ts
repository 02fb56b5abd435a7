/**
 * `rewind replay`: reproduce a recording with no host input, checking it as
 * it goes; or leave it at an instruction count and continue live
 * (`--go-live-at`, optionally recording the branch with `-o`).
 */
import { resolve } from 'node:path';
import { argError } from '../../../engine/errors.js';
import { STOP } from '../../../engine/device.js';
import { DivergenceError, formatReport } from '../../../engine/replay/divergence.js';
import { LiveBoundary } from '../../../engine/replay/live-boundary.js';
import { RecordBoundary } from '../../../engine/replay/record-boundary.js';
import { recordHeader, startReplay, startReplayFrom, type Replay } from '../../../engine/replay/session.js';
import { toHex } from '../../../engine/state/sha256.js';
import { JournalFile, journalId } from '../../../engine/host/journal-file.js';
import { loadSnapshotFileWithReplay } from '../../../engine/host/snapshot-file.js';
import { nativeSha256 } from '../../../engine/host/native-hash.js';
import { PcapWriter } from '../../../engine/host/pcap.js';
import { parseArgs } from '../args.js';
import { ProgressLine, commas, type CliIo } from '../io.js';
import { REPLAY_OPTIONS, expandShort } from '../options.js';
import { OutputRouter, parseSerialSpec, summaryLine, describeStop } from '../output.js';
import { checkIcountInJournal, journalEnd, machineForJournal, openJournal, replayLoop } from '../journal-open.js';
import { runLive } from '../live-run.js';
import { withSignals } from '../../../engine/host/terminal.js';
import { headerImages, headerMachine, type MachineSetup } from '../machine-setup.js';
import type { Pc } from '../../../engine/pc.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function replay(argv: string[], io: CliIo): Promise<number> {
  const { opts, positional } = parseArgs(expandShort(argv), REPLAY_OPTIONS);
  if (positional.length !== 1) throw argError(positional.length === 0 ? 'replay needs a journal FILE' : `unexpected argument ${JSON.stringify(positional[1])}`);
  const goLiveAt = opts['go-live-at'] as number | undefined;
  const until = opts['until'] as number | undefined;
  if (opts['output'] !== undefined && goLiveAt === undefined) throw argError('-o/--output needs --go-live-at (a replay itself writes nothing)');
  for (const k of ['nic', 'max-instructions']) if (opts[k] !== undefined && goLiveAt === undefined) throw argError(`--${k} needs --go-live-at`);
  if (until !== undefined && goLiveAt !== undefined) throw argError('give --until or --go-live-at, not both');
  const quiet = opts['quiet'] === true;
  const serial = parseSerialSpec(opts['serial'] as string, io.cwd);

  const j = openJournal(positional[0]!, io.cwd);
  const c = j.contents;
  const h = c.header;
  if (j.note && !quiet) io.stderr.write(`rewind: note: ${j.note}\n`);
  if (until !== undefined) checkIcountInJournal('--until', until, c);
  if (goLiveAt !== undefined) checkIcountInJournal('--go-live-at', goLiveAt, c);
  const { pc, setup } = machineForJournal(j, opts['image'] as string[] | undefined, io.cwd);
  const m = pc.machine;
  const id = journalId(c);
  let rp: Replay;
  if (opts['from'] !== undefined) {
    const snap = loadSnapshotFileWithReplay(resolve(io.cwd, opts['from'] as string));
    rp = startReplayFrom(m, c, id, snap, { sha256: nativeSha256 });
    const target = goLiveAt ?? until;
    if (target !== undefined && target < m.icount) throw argError(`the snapshot is at icount ${m.icount}, after ${target}`);
  } else {
    rp = startReplay(m, c, { sha256: nativeSha256 });
  }
  const startIcount = m.icount;
  const end = journalEnd(c);
  const stopAt = goLiveAt ?? until ?? end;
  const router = new OutputRouter(io, goLiveAt !== undefined ? { kind: 'none' } : serial, (opts['until-serial'] as string | undefined) ?? null);
  if (goLiveAt === undefined) router.attach(m);
  let pcap: PcapWriter | null = null;
  if (opts['pcap'] !== undefined && goLiveAt === undefined) {
    if (!pc.nic) throw argError('--pcap: the recorded PC has no network card');
    const p = PcapWriter.create(resolve(io.cwd, opts['pcap'] as string), { baseNs: h.bootWallMs * 1e6 });
    pcap = p;
    pc.nic.tap = (_dir, frame, ns) => p.write(ns, frame);
  }
  // Progress on a terminal, unless the guest's output is being printed on it.
  const progress = new ProgressLine(io, !quiet && !(serial.kind === 'stdio' && io.stdout.isTTY === true && goLiveAt === undefined));
  const t0 = Date.now();
  const g0 = m.clock.nowNs(m.icount);
  let r;
  let interrupted: string | null = null;
  try {
    r = await withSignals(io.signals, (sig) => (interrupted = `interrupted by ${sig}`), () => replayLoop(rp.runner, stopAt, async () => {
      router.flush();
      progress.update(() => `replaying ${j.path}: icount ${commas(m.icount)} of ${commas(end)} (${((100 * (m.icount - startIcount)) / Math.max(1, end - startIcount)).toFixed(0)}%)`);
      if (opts['realtime'] === true) {
        const ahead = (m.clock.nowNs(m.icount) - g0) / 1e6 - (Date.now() - t0);
        if (ahead > 1) await sleep(Math.min(ahead, 200));
      } else {
        await new Promise<void>((res) => setImmediate(res));
      }
    }, opts['realtime'] === true ? 200_000 : 4_000_000, () => interrupted));
  } catch (e) {
    progress.clear();
    router.close();
    pcap?.close();
    if (e instanceof DivergenceError) {
      const lines = formatReport(e.report).split('\n');
      io.stderr.write(`rewind: ${lines[0]}\n${lines.slice(1).join('\n')}\n`);
      return 1;
    }
    throw e;
  }
  progress.clear();
  router.close();
  pcap?.close();
  const hostMs = Math.max(1, Date.now() - t0);
  const b = rp.boundary;

  if (goLiveAt !== undefined) {
    if (m.icount !== goLiveAt) {
      io.stderr.write(`rewind: the replay stopped at icount ${m.icount} (${r.reason}${r.detail ? `: ${r.detail}` : ''}) before reaching --go-live-at ${goLiveAt}\n`);
      return 1;
    }
    return goLive(io, opts, pc, rp, id, argv, setup, h.images.some((i) => i.data !== null));
  }

  const d = describeStop(r.reason, r.detail, r.exitCode, stopAt, m.icount);
  let verdict: string;
  if (b.endVerified) verdict = `reproduced the recording: ${b.syncsVerified} SYNC checks and the final state ${toHex(c.end!.stateHash).slice(0, 16)}... match`;
  else if (r.reason === STOP.REQUESTED && router.matched) verdict = `stopped on --until-serial, ${b.syncsVerified} SYNC checks passed`;
  else if (interrupted !== null) verdict = `replay stopped early, ${b.syncsVerified} SYNC checks passed`;
  else if (until !== undefined) verdict = `stopped at --until ${until}, ${b.syncsVerified} SYNC checks passed`;
  else if (c.end !== null) {
    // The guest stopped (or the replay ended) short of the END record: this build does not reproduce the recording.
    io.stderr.write(`rewind: the replay stopped at icount ${m.icount} (${r.reason}${r.detail ? `: ${r.detail}` : ''}) before the END record at icount ${c.end.icount}: this build does not reproduce the recording (${b.syncsVerified} SYNC checks passed)\n`);
    return 1;
  } else verdict = `end of a partial journal (no END record), ${b.syncsVerified} SYNC checks passed`;
  if (!quiet) {
    io.stderr.write(
      summaryLine({
        why: `${verdict}; ${d.why}`,
        icount: m.icount,
        executed: m.icount - startIcount,
        guestNs: m.clock.nowNs(m.icount),
        hostMs,
        postCode: pc.debug.lastPostCode,
        ...(pcap ? { extra: `${pcap.frames} frames to ${opts['pcap'] as string}` } : {}),
      }),
    );
  }
  return interrupted !== null ? 130 : 0;
}

/** Leaves the journal here and continues live, recording a branch if -o was given. */
async function goLive(io: CliIo, opts: Record<string, unknown>, pc: Pc, rp: Replay, parentId: string, argv: string[], setup: MachineSetup, bundle: boolean): Promise<number> {
  const m = pc.machine;
  const runner = rp.runner;
  const bootMs = runner.boundary.wallClockAtBoot();
  const out = opts['output'] as string | undefined;
  let file: JournalFile | null = null;
  let live: LiveBoundary;
  if (out !== undefined) {
    const outPath = resolve(io.cwd, out);
    const header = recordHeader(m, {
      bootWallMs: bootMs,
      syncShift: runner.syncShift,
      groupShift: runner.sync.groupShift,
      parent: { journal: parentId, icount: m.icount },
      machineConfig: headerMachine(setup, outPath),
      images: headerImages(setup, bundle),
      argv: ['rewind', 'replay', ...argv],
    });
    file = new JournalFile(outPath, header);
    live = new RecordBoundary(bootMs, file.encoder);
  } else {
    live = new LiveBoundary(bootMs);
  }
  let closed = false;
  try {
    runner.goLive(live);
    const r = await runLive({
      io, pc, runner, live,
      serial: parseSerialSpec(opts['serial'] as string, io.cwd),
      nic: opts['nic'] as string | undefined,
      pcap: opts['pcap'] as string | undefined,
      maxInstructions: opts['max-instructions'] as number | undefined,
      untilSerial: opts['until-serial'] as string | undefined,
      quiet: opts['quiet'] === true,
      journal: file,
    });
    if (file) {
      runner.finishRecording();
      file.close();
      closed = true;
    }
    const max = opts['max-instructions'] as number | undefined;
    const d = describeStop(r.result.reason, r.result.detail, r.result.exitCode, max !== undefined ? r.startIcount + max : Infinity, m.icount);
    if (opts['quiet'] !== true) {
      io.stderr.write(
        summaryLine({
          why: `live from icount ${r.startIcount}: ${d.why}`,
          icount: m.icount,
          executed: m.icount - r.startIcount,
          guestNs: m.clock.nowNs(m.icount),
          hostMs: Math.max(1, r.hostMs - r.waitedMs),
          postCode: pc.debug.lastPostCode,
          ...(file ? { extra: `branch journal ${out!}` } : {}),
        }),
      );
    }
    return d.status;
  } finally {
    if (file && !closed) file.abort();
  }
}
