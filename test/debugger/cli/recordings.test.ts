/**
 * `rewind test` over the committed recordings (recordings/): every journal
 * replays exactly and meets its NAME.expect.json. Skips while there are none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../util.js';
import { runCli } from './cli-harness.js';

const dir = join(repoRoot, 'recordings');
const journals = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.rwj')) : [];

test('rewind test recordings/: every committed recording passes', { skip: journals.length ? false : 'no recordings committed yet' }, async () => {
  const r = await runCli(['test', dir]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^${journals.length} passed, 0 failed$`, 'm'));
});
