/**
 * `npm test` after type-check and build: runs every built *.test.js under
 * dist/test with node's test runner inside c8, prints the coverage report, and
 * fails below the thresholds (85% of lines for engine/).
 *
 * Usage: node dist/test/run-tests.js [filter...]   (filters match file paths)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './util.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = repoRoot;
const filters = process.argv.slice(2);

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'bench') walk(p, out);
    } else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = walk(here, [])
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const c8 = join(root, 'node_modules', 'c8', 'bin', 'c8.js');
const run = spawnSync(
  process.execPath,
  [
    c8,
    '--reporter=text-summary',
    '--reporter=text',
    '--all',
    '--include=dist/engine/**',
    '--include=dist/debugger/**',
    process.execPath,
    '--test',
    '--test-reporter=spec',
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
if (run.status !== 0) process.exit(run.status ?? 1);

const check = spawnSync(process.execPath, [c8, 'check-coverage', '--lines', '85', '--include=dist/engine/**'], { cwd: root, stdio: 'inherit' });
process.exit(check.status ?? 1);
