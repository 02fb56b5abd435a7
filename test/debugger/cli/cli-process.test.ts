/**
 * The built `rewind` executable as a child process: exit statuses, one-line
 * errors without stack traces, real pipes for serial input, and a recording
 * ended by SIGTERM that is still closed cleanly and replays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REWIND_BIN, GUESTS, tempDir } from './cli-harness.js';

function rewind(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [REWIND_BIN, ...args], { input: input ?? '', encoding: 'latin1', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the executable: help, a passing guest exits 0, a guest status passes through, errors are one line', (t) => {
  const h = rewind(['--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /Commands:\n {2}run /);
  const ok = rewind(['run', join(GUESTS, 'pm-exceptions.rom'), '--clock', 'virtual']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /PASS pm-exceptions/);
  assert.match(ok.stderr, /^rewind: guest exited with status 0 /);
  const dir = tempDir(t);
  const bin = join(dir, 'exit7.bin');
  writeFileSync(bin, Uint8Array.of(0xb0, 0x07, 0xe6, 0xf4, 0xf4)); // mov al,7; out 0xf4,al; hlt
  assert.equal(rewind(['run', '--flat', `${bin}@0x7c00`, '--quiet']).status, 7);
  const bad = rewind(['run', join(dir, 'nope.rom')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^rewind: cannot read BIOS image .*nope\.rom: ENOENT\n$/);
  const usage = rewind(['replay', '--until', 'soon', 'x.rwj']);
  assert.equal(usage.status, 2);
  assert.equal(usage.stderr, 'rewind: --until needs an integer, got "soon"\n');
});

test('record with serial input on a pipe, replay in another process: the same output and final state', { timeout: 120_000 }, (t) => {
  const dir = tempDir(t);
  const j = join(dir, 'p.rwj');
  // Host clock: when the bytes land is up to the host, so the demo's race may
  // eat one (its exit status is the number lost); the replay reproduces either way.
  const rec = rewind(['record', '-o', j, join(GUESTS, 'demo.rom'), '--max-instructions', '50M'], 'abc\rquit\r');
  const lost = /!! lost (\d+) byte/.exec(rec.stdout);
  if (/bye/.test(rec.stdout)) assert.equal(rec.status, lost ? Number(lost[1]) : 0, rec.stderr);
  assert.match(rec.stdout, /echo: /);
  const rp = rewind(['replay', j]);
  assert.equal(rp.status, 0, rp.stderr);
  assert.equal(rp.stdout, rec.stdout);
  assert.match(rp.stderr, /reproduced the recording/);
});

test('SIGTERM during a recording: the journal is still closed cleanly and replays', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const j = join(dir, 'term.rwj');
  const child = spawn(process.execPath, [REWIND_BIN, 'record', '-o', j, join(GUESTS, 'demo.rom')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString('latin1')));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  await new Promise<void>((res) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.includes('> ')) res();
    });
  });
  // Type a line and wait until the guest has echoed something of it, so the
  // journal holds an input (whatever the demo's race does with the bytes).
  const before = out.length;
  child.stdin.write('one\r');
  await new Promise<void>((res) => {
    const check = (): void => {
      if (out.length > before) res();
      else child.stdout.once('data', check);
    };
    check();
  });
  child.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 0, err);
  assert.match(err, /interrupted by SIGTERM/);
  assert.ok(existsSync(j) && !existsSync(`${j}.partial`), 'renamed from .partial on a clean close');
  const rp = rewind(['replay', j]);
  assert.equal(rp.status, 0, rp.stderr);
  assert.equal(rp.stdout, out);
});

test('SIGKILL during a recording leaves FILE.partial, which info describes and replay replays to its last record', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const j = join(dir, 'killed.rwj');
  const child = spawn(process.execPath, [REWIND_BIN, 'record', '-o', j, join(GUESTS, 'demo.rom'), '--clock', 'virtual'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  let out = '';
  await new Promise<void>((res) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.includes('> ')) res();
    });
  });
  child.kill('SIGKILL');
  await exited;
  assert.ok(!existsSync(j) && existsSync(`${j}.partial`));
  const info = rewind(['info', j]);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /^journal +.*killed\.rwj\.partial$/m);
  assert.match(info.stdout, /^status +journal (has no END record|is truncated)/m);
  const rp = rewind(['replay', j, '--serial', 'none']);
  assert.equal(rp.status, 0, rp.stderr);
  assert.match(rp.stderr, /^rewind: note: journal (has no END record|is truncated)/);
  const test1 = rewind(['test', `${j}.partial`]);
  assert.equal(test1.status, 1);
  assert.match(test1.stdout, /^FAIL {2}.*killed\.rwj\.partial {2}the journal is not complete: /m);
});
