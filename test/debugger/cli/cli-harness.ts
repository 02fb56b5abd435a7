/**
 * Runs the rewind CLI in-process with captured output, and finds the built
 * executable for child-process tests (tests may be built to dist/ or
 * .build/NAME/: the executable is found relative to this file).
 */
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../debugger/cli/main.js';
import type { CliIo } from '../../../debugger/cli/io.js';
import { repoRoot } from '../../util.js';

export const REWIND_BIN = fileURLToPath(new URL('../../../debugger/cli/rewind.js', import.meta.url));
export const GUESTS = join(repoRoot, 'fixtures', 'guests');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(argv: string[], opts: { stdin?: string | Uint8Array; cwd?: string } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const stdin = Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]);
  const io: CliIo = {
    stdout: { write: (d: string | Uint8Array) => ((stdout += typeof d === 'string' ? d : Buffer.from(d).toString('latin1')), true) },
    stderr: { write: (d: string | Uint8Array) => ((stderr += typeof d === 'string' ? d : Buffer.from(d).toString('latin1')), true) },
    stdin: stdin as CliIo['stdin'],
    env: {},
    cwd: opts.cwd ?? repoRoot,
    signals: false,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

export function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'rewind-cli-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
