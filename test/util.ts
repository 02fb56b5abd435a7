import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

/** The repository root (tests run from dist/test/...). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** ../shared beside the repository, or null when absent (tests then skip with a message). */
export const sharedDir: string | null = (() => {
  const p = join(repoRoot, '..', 'shared');
  return existsSync(p) ? p : null;
})();
