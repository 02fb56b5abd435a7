import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'rewind') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the rewind repository above ${start}`);
    dir = up;
  }
}

/** The repository root, wherever the tests were built to (dist/ or .build/NAME/). */
export const repoRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

/** ../shared beside the repository, or null when absent (tests then skip with a message). */
export const sharedDir: string | null = (() => {
  const p = join(repoRoot, '..', 'shared');
  return existsSync(p) ? p : null;
})();
