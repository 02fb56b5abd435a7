/**
 * The CPU against hardware-captured 80286 real-mode vectors
 * (../shared/conformance/80286-real): at least 99.5% of every opcode file,
 * with the masks and skips documented in masks.ts and run.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '../util.js';
import { ConformanceRunner, conformanceFiles } from './run.js';

const dir = sharedDir ? join(sharedDir, 'conformance', '80286-real') : null;

test('80286 real-mode vectors: >= 99.5% per opcode file', { skip: dir && existsSync(dir) ? false : 'needs ../shared/conformance/80286-real' }, () => {
  const runner = new ConformanceRunner();
  const files = conformanceFiles(dir!);
  assert.ok(files.length >= 300, `expected the full set of opcode files, found ${files.length}`);
  const bad: string[] = [];
  let passed = 0;
  let failed = 0;
  for (const f of files) {
    const r = runner.runFile(f);
    passed += r.passed;
    failed += r.failed;
    const total = r.passed + r.failed;
    assert.ok(total >= 50, `${r.file}: only ${total} vectors ran (${r.skipped} skipped)`);
    if (r.passed / total < 0.995) bad.push(`${r.file}: ${r.passed}/${total}; first failure ${r.firstFailure}`);
  }
  assert.deepEqual(bad, [], bad.join('\n'));
  assert.ok(passed / (passed + failed) >= 0.999, `total ${passed} passed, ${failed} failed`);
});
