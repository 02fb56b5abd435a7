/**
 * `rewind test [PATH...]`: replays every recording found and checks it
 * (check-recording.ts), in parallel worker threads, one line per recording
 * in the order given, then `N passed, M failed`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { argError, RewindError, ERR } from '../../../engine/errors.js';
import { parseArgs } from '../args.js';
import { TEST_OPTIONS } from '../commands.js';
import { ProgressLine, commas, type CliIo } from '../io.js';
import { checkRecording, type CheckResult } from '../check-recording.js';

export const JOURNAL_EXT = '.rwj';

function findJournals(paths: string[], cwd: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith(JOURNAL_EXT)) out.push(p);
    }
  };
  for (const p of paths) {
    const abs = resolve(cwd, p);
    if (!existsSync(abs)) throw new RewindError(ERR.ARGUMENT, `${p}: no such file or folder`);
    if (statSync(abs).isDirectory()) walk(abs);
    else out.push(abs);
  }
  return [...new Set(out)];
}

/** Runs checks in `jobs` worker threads; results in input order via `onResult(i, r)`. */
async function runPool(files: string[], cwd: string, jobs: number, onResult: (i: number, r: CheckResult) => void): Promise<void> {
  if (jobs <= 1) {
    for (let i = 0; i < files.length; i++) onResult(i, await checkRecording(files[i]!, cwd));
    return;
  }
  const url = new URL('../test-worker.js', import.meta.url);
  let next = 0;
  // One lane per job: a worker takes recordings until none are left. A worker
  // that dies (out of memory, a bug) fails its recording and is replaced.
  const lane = (): Promise<void> =>
    new Promise<void>((done) => {
      const w = new Worker(url);
      let current = -1;
      let finished = false;
      const feed = (): void => {
        if (next >= files.length) {
          finished = true;
          void w.terminate().then(() => done());
          return;
        }
        current = next++;
        w.postMessage({ path: files[current]!, cwd });
      };
      w.on('message', (r: CheckResult) => {
        onResult(current, r);
        feed();
      });
      w.on('error', (e) => {
        if (finished) return;
        finished = true;
        if (current >= 0) onResult(current, { path: files[current]!, ok: false, failure: `the checking worker died: ${e.message}`, icount: 0, syncs: 0, checked: [], ms: 0 });
        void w.terminate().then(() => lane().then(done));
      });
      feed();
    });
  await Promise.all(Array.from({ length: jobs }, () => lane()));
}

export async function testCommand(argv: string[], io: CliIo): Promise<number> {
  const { opts, positional } = parseArgs(argv, TEST_OPTIONS);
  const paths = positional.length ? positional : ['recordings'];
  if (positional.length === 0 && !existsSync(resolve(io.cwd, 'recordings'))) throw argError('no recordings/ folder here: give the files or folders to test');
  const files = findJournals(paths, io.cwd);
  if (files.length === 0) throw new RewindError(ERR.ARGUMENT, `no journals (*${JOURNAL_EXT}) found in ${paths.join(', ')}`);
  const jobs = Math.min((opts['jobs'] as number | undefined) ?? availableParallelism(), files.length);
  const progress = new ProgressLine(io);
  const results: (CheckResult | undefined)[] = new Array(files.length);
  let printed = 0;
  let done = 0;
  const show = (p: string): string => {
    const rel = relative(io.cwd, p);
    return rel.startsWith('..') ? p : rel;
  };
  await runPool(files, io.cwd, jobs, (i, r) => {
    results[i] = r;
    done++;
    progress.clear();
    while (printed < files.length && results[printed]) {
      const x = results[printed++]!;
      const detail = x.ok
        ? `${commas(x.icount)} instructions, ${x.syncs} syncs${x.checked.length ? `, ${x.checked.join(' ')}` : ''}, ${(x.ms / 1000).toFixed(1)} s`
        : x.failure!;
      io.stdout.write(`${x.ok ? 'PASS' : 'FAIL'}  ${show(x.path)}  ${detail}\n`);
      if (opts['verbose'] === true) {
        io.stdout.write(`      replay: ${x.syncs} SYNC checks${x.ok ? ', final state and output hash match' : ''}\n`);
        for (const c of x.checked) io.stdout.write(`      expect ${c}${x.ok ? ': ok' : ''}\n`);
      }
    }
    progress.update(`rewind test: ${done} of ${files.length} recordings checked (${jobs} at a time)`, true);
  });
  progress.clear();
  const passed = results.filter((r) => r?.ok).length;
  const failed = files.length - passed;
  io.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}
