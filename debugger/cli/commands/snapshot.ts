/**
 * `rewind snapshot save FILE --at ICOUNT -o SNAP` and `rewind snapshot info SNAP`.
 * A snapshot taken here carries its journal position, so
 * `rewind replay FILE --from SNAP` resumes the replay (SYNC and output checks
 * intact) and `--go-live-at` can branch from there without replaying the start.
 */
import { resolve } from 'node:path';
import { statSync } from 'node:fs';
import { argError } from '../../../engine/errors.js';
import { startReplay, replayInfo } from '../../../engine/replay/session.js';
import { journalId } from '../../../engine/host/journal-file.js';
import { nativeSha256 } from '../../../engine/host/native-hash.js';
import { loadSnapshotFileWithReplay, saveSnapshotFile } from '../../../engine/host/snapshot-file.js';
import { parseArgs } from '../args.js';
import { SNAPSHOT_OPTIONS } from '../commands.js';
import { ProgressLine, commas, type CliIo } from '../io.js';
import { expandShort } from '../options.js';
import { checkIcountInJournal, journalEnd, machineForJournal, openJournal, replayLoop } from '../journal-open.js';

export async function snapshot(argv: string[], io: CliIo): Promise<number> {
  const { opts, positional } = parseArgs(expandShort(argv), SNAPSHOT_OPTIONS);
  const [sub, file, ...more] = positional;
  if (sub !== 'save' && sub !== 'info') throw argError(sub === undefined ? 'snapshot needs a subcommand: save or info' : `unknown snapshot subcommand ${JSON.stringify(sub)} (save or info)`);
  if (file === undefined) throw argError(sub === 'save' ? 'snapshot save needs a journal FILE' : 'snapshot info needs a SNAPSHOT file');
  if (more.length) throw argError(`unexpected argument ${JSON.stringify(more[0])}`);
  if (sub === 'info') {
    const path = resolve(io.cwd, file);
    const { snapshot: s, replay } = loadSnapshotFileWithReplay(path);
    const lines = [
      `snapshot     ${path} (${commas(statSync(path).size)} bytes)`,
      `icount       ${commas(s.icount)}`,
      `RAM          ${s.ramBytes / 1048576} MiB, ${commas(s.pages.size)} non-zero pages stored`,
      `components   ${Object.keys(s.components).sort().join(', ')}`,
      `replay       ${replay ? `journal ${replay.journal.slice(0, 16)}..., input #${replay.position.eventIndex}, sync #${replay.position.syncIndex}` : 'none (not taken during a replay)'}`,
    ];
    io.stdout.write(lines.join('\n') + '\n');
    return 0;
  }
  const at = opts['at'] as number | undefined;
  const out = opts['output'] as string | undefined;
  if (at === undefined) throw argError('snapshot save needs --at ICOUNT');
  if (out === undefined) throw argError('snapshot save needs -o SNAPSHOT');
  const j = openJournal(file, io.cwd);
  checkIcountInJournal('--at', at, j.contents);
  const { pc } = machineForJournal(j, opts['image'] as string[] | undefined, io.cwd);
  const m = pc.machine;
  const rp = startReplay(m, j.contents, { sha256: nativeSha256 });
  const progress = new ProgressLine(io, opts['quiet'] !== true);
  const end = journalEnd(j.contents);
  await replayLoop(rp.runner, at, () => progress.update(() => `replaying to icount ${commas(at)}: ${commas(m.icount)} (${((100 * m.icount) / Math.max(1, at)).toFixed(0)}%)`));
  progress.clear();
  if (m.icount !== at) {
    io.stderr.write(`rewind: the replay stopped at icount ${m.icount}, before ${at} (the guest stopped there)\n`);
    return 1;
  }
  const bytes = saveSnapshotFile(resolve(io.cwd, out), m.snapshot(), replayInfo(rp, journalId(j.contents)));
  if (opts['quiet'] !== true) io.stderr.write(`rewind: snapshot at icount ${commas(at)} of ${commas(end)} written to ${out} (${commas(bytes)} bytes)\n`);
  return 0;
}
