/**
 * `rewind gdb` and `rewind debug` wired to the session: real gdb (batch mode)
 * against `rewind gdb` on a recording and on a live run, breaking on a
 * symbol and stepping backwards; the Ink TUI opened by `rewind debug` in a
 * real terminal (tmux), stepping forward and back, quitting with the
 * terminal restored. Skip when gdb / tmux are not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { repoRoot } from '../../util.js';
import { REWIND_BIN, GUESTS, runCli, tempDir } from './cli-harness.js';
import { GdbTestClient } from '../gdb/client.js';
import { encodePacket, hexText } from '../../../debugger/gdb/packets.js';
import { readJournalFile } from '../../../engine/host/journal-file.js';
import { journalEnd } from '../../../debugger/cli/journal-open.js';

const hasGdb = spawnSync('gdb', ['--version']).status === 0;
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

/** Starts `rewind gdb ARGS --port 0`, resolves with the port it listens on. */
function startStub(args: string[]): { port: Promise<number>; exit: Promise<{ code: number | null; stderr: string }>; kill: () => void } {
  const child = spawn(process.execPath, [REWIND_BIN, 'gdb', ...args, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let gotPort: (p: number) => void = () => {};
  const port = new Promise<number>((res) => (gotPort = res));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr);
    if (m) gotPort(Number(m[1]));
  });
  const exit = new Promise<{ code: number | null; stderr: string }>((res) => child.on('exit', (code) => res({ code, stderr })));
  void exit.then((e) => gotPort(-1 * (e.code ?? 1)));
  return { port, exit, kill: () => void child.kill() };
}

function gdbBatch(port: number, cmds: string[]): string {
  const args = ['-nx', '-batch', '-ex', 'set pagination off', '-ex', `target remote :${port}`, ...cmds.flatMap((c) => ['-ex', c])];
  const r = spawnSync('gdb', args, { encoding: 'utf8', timeout: 120_000 });
  return r.stdout + r.stderr;
}

test('rewind gdb on a recording: gdb breaks on a symbol, reverse-steps, and kills the stub', { skip: hasGdb ? false : 'gdb is not installed' }, async (t) => {
  const dir = tempDir(t);
  const j = join(dir, 'g.rwj');
  const rec = await runCli(['record', '-o', j, join(GUESTS, 'demo.rom'), '--clock', 'virtual'], { stdin: 'hey\rquit\r' });
  assert.equal(rec.code, 0, rec.stderr);
  const stub = startStub([j]);
  const port = await stub.port;
  assert.ok(port > 0, 'listening');
  const out = gdbBatch(port, [
    `symbol-file ${join(GUESTS, 'demo.elf')}`,
    'break handle_char.eol',
    'continue',
    'print/x $eip',
    'reverse-stepi',
    'print/x $eip',
    'kill',
  ]);
  assert.match(out, /Breakpoint 1, 0x[0-9a-f]+ in handle_char\.eol|Breakpoint 1, 0x[0-9a-f]+ in handle_char\[eol\]/, out);
  const eips = [...out.matchAll(/\$\d+ = (0x[0-9a-f]+)/g)].map((m) => m[1]);
  assert.equal(eips.length, 2, out);
  assert.notEqual(eips[0], eips[1], 'reverse-stepi moved back');
  const e = await stub.exit;
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stderr, /gdb killed the target/);
});

test('the README demo walkthrough in gdb: a conditional breakpoint back to the lossy reset, a watchpoint back to the store', { skip: !hasGdb ? 'gdb is not installed' : !existsSync(join(repoRoot, 'recordings', 'demo.rwj')) ? 'no demo recording' : false }, async (t) => {
  const stub = startStub([join(repoRoot, 'recordings', 'demo.rwj'), '--at', '786410039']);
  t.after(stub.kill);
  const port = await stub.port;
  assert.ok(port > 0, 'listening');
  const out = gdbBatch(port, [
    `symbol-file ${join(GUESTS, 'demo.elf')}`,
    'break *0xf95cf if *(int *)0x20100 != $eax',
    'reverse-continue',
    'monitor icount',
    'print *(int *)0x20100',
    'delete',
    'watch *(int *)0x20100',
    'reverse-continue',
    'monitor where',
    'kill',
  ]);
  assert.match(out, /Breakpoint 1, 0x000f95cf in main_loop\.reset_head/, out);
  assert.match(out, /^icount 772108886$/m, out);
  assert.match(out, /^\$1 = 1$/m, out);
  assert.match(out, /^icount 772108695 eip com1_isr\.store_head$/m, out);
  assert.equal((await stub.exit).code, 0);
});

test('rewind gdb --at end / --at N: the stub starts where it was asked to, not at icount 0', async (t) => {
  const dir = tempDir(t);
  const j = join(dir, 'g.rwj');
  const rec = await runCli(['record', '-o', j, join(GUESTS, 'demo.rom'), '--clock', 'virtual'], { stdin: 'hey\rquit\r' });
  assert.equal(rec.code, 0, rec.stderr);
  const end = journalEnd(readJournalFile(j));
  assert.ok(end > 100_000);
  for (const [at, want] of [['end', end], ['100000', 100_000]] as const) {
    const stub = startStub([j, '--at', at]);
    t.after(stub.kill); // a failed assertion must not leave the stub running
    const port = await stub.port;
    assert.ok(port > 0, 'listening');
    const c = await GdbTestClient.open(port);
    assert.equal(await c.req('qRcmd,' + hexText('icount')), 'OK');
    assert.equal(c.console, `icount ${want}\n`);
    // The first stop reply gdb reads describes that position too.
    assert.match(await c.req('?'), /^T05/);
    const eip = (await c.req('p8')).match(/../g)!.reverse().join('');
    assert.notEqual(parseInt(eip, 16), 0xfff0, 'not at the reset vector');
    c.raw(encodePacket('k', false));
    await c.waitClosed();
    const e = await stub.exit;
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stderr, new RegExp(`stopped at icount ${want}\\b`));
  }
});

test('rewind gdb on a live run: the guest runs to its exit under gdb, and gdb can go back', { skip: hasGdb ? false : 'gdb is not installed' }, async () => {
  const stub = startStub([join(GUESTS, 'rm-alu.rom'), '--clock', 'virtual']);
  const port = await stub.port;
  assert.ok(port > 0, 'listening');
  const out = gdbBatch(port, ['stepi 5', 'print $pc', 'reverse-stepi', 'reverse-stepi', 'print $pc', 'continue', 'kill']);
  const pcs = [...out.matchAll(/\$\d+ = .*?(0x[0-9a-f]+)/g)].map((m) => m[1]);
  assert.equal(pcs.length, 2, out);
  assert.notEqual(pcs[0], pcs[1]);
  const e = await stub.exit;
  assert.equal(e.code, 0, e.stderr);
});

test('rewind debug in a real terminal: the TUI opens on a recording, steps both ways, quits and restores the terminal', { skip: hasTmux ? false : 'tmux is not installed' }, async (t) => {
  const dir = tempDir(t);
  const j = join(dir, 'tui.rwj');
  const rec = await runCli(['record', '-o', j, join(GUESTS, 'demo.rom'), '--clock', 'virtual'], { stdin: 'tui\rquit\r' });
  assert.equal(rec.code, 0, rec.stderr);
  const SOCKET = `rewind-cli-debug-${process.pid}`;
  const tmux = (...a: string[]): string => {
    const r = spawnSync('tmux', ['-L', SOCKET, ...a], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${a.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const script = `${JSON.stringify(process.execPath)} ${JSON.stringify(REWIND_BIN)} debug ${JSON.stringify(j)}; echo "EXIT=$?"; stty -a | tr " ;" "\\n\\n" | grep -E "^-?(icanon|echo)$" | tr "\\n" " "; echo; echo DONE`;
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'dbg', '-x', '120', '-y', '40', 'sh', '-c', `${script}; exec cat`);
  t.after(() => spawnSync('tmux', ['-L', SOCKET, 'kill-server']));
  const waitFor = async (re: RegExp, what: string): Promise<string> => {
    const t0 = Date.now();
    for (;;) {
      const text = tmux('capture-pane', '-p', '-t', 'dbg');
      if (re.test(text)) return text;
      if (Date.now() - t0 > 30_000) throw new Error(`timed out waiting for ${what}:\n${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitFor(/icount 0 \/ [\d,]+/, 'the TUI at icount 0');
  tmux('send-keys', '-t', 'dbg', 's');
  await waitFor(/icount 1 \/ /, 'one step forward');
  tmux('send-keys', '-t', 'dbg', 's');
  await waitFor(/icount 2 \/ /, 'two steps forward');
  tmux('send-keys', '-t', 'dbg', 'S');
  await waitFor(/icount 1 \/ /, 'one step back');
  tmux('send-keys', '-t', 'dbg', 'q');
  const end = await waitFor(/DONE/, 'the TUI to quit');
  assert.match(end, /EXIT=0/);
  assert.match(end, /^icanon echo$/m, 'terminal restored');
});

test('rewind debug on a live run with -o: run to the exit, step back, quit; the journal ends at the frontier and replays', { skip: hasTmux ? false : 'tmux is not installed' }, async (t) => {
  const dir = tempDir(t);
  const j = join(dir, 'live.rwj');
  const SOCKET = `rewind-cli-live-${process.pid}`;
  const tmux = (...a: string[]): string => {
    const r = spawnSync('tmux', ['-L', SOCKET, ...a], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${a.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const script = `${JSON.stringify(process.execPath)} ${JSON.stringify(REWIND_BIN)} debug ${JSON.stringify(join(GUESTS, 'rm-alu.rom'))} -o ${JSON.stringify(j)}; echo "EXIT=$?"; echo DONE`;
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'live', '-x', '120', '-y', '40', 'sh', '-c', `${script}; exec cat`);
  t.after(() => spawnSync('tmux', ['-L', SOCKET, 'kill-server']));
  const waitFor = async (re: RegExp, what: string): Promise<string> => {
    const t0 = Date.now();
    for (;;) {
      const text = tmux('capture-pane', '-p', '-t', 'live');
      if (re.test(text)) return text;
      if (Date.now() - t0 > 30_000) throw new Error(`timed out waiting for ${what}:\n${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitFor(/live: rm-alu\.rom · icount 0 /, 'the live TUI');
  tmux('send-keys', '-t', 'live', 'c');
  const atExit = await waitFor(/guest exit/, 'the guest exit');
  const end = Number(/icount ([\d,]+) \/ /.exec(atExit)![1]!.replace(/,/g, ''));
  tmux('send-keys', '-t', 'live', 'S');
  // The end shown is still the frontier, not where we are.
  await waitFor(new RegExp(`icount ${(end - 1).toLocaleString('en-US')} / ${end.toLocaleString('en-US')} `), 'a step back');
  tmux('send-keys', '-t', 'live', 'q');
  const done = await waitFor(/DONE/, 'quit');
  assert.match(done, /EXIT=0/);
  const rp = await runCli(['replay', j]);
  assert.equal(rp.code, 0, rp.stderr);
  assert.match(rp.stderr, new RegExp(`reproduced the recording: .*; ${end.toLocaleString('en-US')} instructions`));
  assert.match(rp.stdout, /PASS rm-alu/);
});

test('rewind demo (npm start) opens the committed demo recording in the TUI', { skip: !hasTmux ? 'tmux is not installed' : !existsSync(join(repoRoot, 'recordings', 'demo.rwj')) ? 'no demo recording' : false }, async (t) => {
  const SOCKET = `rewind-cli-demo-${process.pid}`;
  const tmux = (...a: string[]): string => {
    const r = spawnSync('tmux', ['-L', SOCKET, ...a], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${a.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const script = `cd ${JSON.stringify(repoRoot)} && ${JSON.stringify(process.execPath)} ${JSON.stringify(REWIND_BIN)} demo; echo "EXIT=$?"; echo DONE`;
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'demo', '-x', '120', '-y', '40', 'sh', '-c', `${script}; exec cat`);
  t.after(() => spawnSync('tmux', ['-L', SOCKET, 'kill-server']));
  const t0 = Date.now();
  let text = '';
  while (!/rewind · recordings\/demo\.rwj · icount 0 \/ [\d,]+/.test(text)) {
    if (Date.now() - t0 > 60_000) throw new Error(`the demo did not open:\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
    text = tmux('capture-pane', '-p', '-t', 'demo');
  }
  // Continue to the end of the recording: the status bar shows the speed of that run.
  tmux('send-keys', '-t', 'demo', 'c');
  while (!/icount 817,943,582 \/ 817,943,582 · .* · \d+\.\d MIPS/.test(text)) {
    if (Date.now() - t0 > 120_000) throw new Error(`the demo did not run to its end, showing its speed:\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
    text = tmux('capture-pane', '-p', '-t', 'demo');
  }
  tmux('send-keys', '-t', 'demo', 'q');
  while (!/DONE/.test(text)) {
    if (Date.now() - t0 > 60_000) throw new Error(`the demo did not quit:\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
    text = tmux('capture-pane', '-p', '-t', 'demo');
  }
  assert.match(text, /EXIT=0/);
});
