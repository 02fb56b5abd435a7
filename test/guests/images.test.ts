/**
 * The committed guest images are exactly what their sources build to:
 * fixtures/guests/build.sh into a temporary directory, then byte-compare.
 * Skips (with a message) when nasm or binutils are not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestsDir } from '../support/guest-runner.js';

function have(cmd: string, arg: string): boolean {
  const r = spawnSync(cmd, [arg], { stdio: 'ignore' });
  return r.status === 0;
}
const missing = !have('nasm', '-v') ? 'nasm is not installed' : !have('ld', '--version') ? 'ld (binutils) is not installed' : null;

const sources = readdirSync(join(guestsDir, 'src'))
  .filter((f) => f.endsWith('.asm'))
  .map((f) => f.slice(0, -4))
  .sort();

test('every guest source has a committed 64 KiB ROM image', () => {
  assert.ok(sources.length >= 2, 'no guest sources found');
  for (const name of sources) {
    const rom = join(guestsDir, `${name}.rom`);
    assert.ok(existsSync(rom), `${name}.rom is not committed (run fixtures/guests/build.sh)`);
    assert.equal(readFileSync(rom).length, 65536, `${name}.rom is not 64 KiB`);
  }
});

test('committed guest images are exactly what build.sh makes from the sources', { skip: missing ?? false }, () => {
  const out = mkdtempSync(join(tmpdir(), 'rewind-guests-'));
  try {
    const r = spawnSync('sh', [join(guestsDir, 'build.sh'), out], { encoding: 'utf8' });
    assert.equal(r.status, 0, `build.sh failed:\n${r.stderr}`);
    const built = readdirSync(out).sort();
    for (const name of sources) assert.ok(built.includes(`${name}.rom`), `build.sh did not produce ${name}.rom`);
    for (const f of built) {
      const committed = join(guestsDir, f);
      assert.ok(existsSync(committed), `${f} is built but not committed`);
      assert.ok(readFileSync(committed).equals(readFileSync(join(out, f))), `${f} differs from what its source builds to: rebuild with fixtures/guests/build.sh and commit`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
