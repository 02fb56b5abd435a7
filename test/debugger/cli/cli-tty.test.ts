/**
 * The interactive console in a real terminal (tmux): `rewind run --serial
 * stdio` on the demo guest (a line echo), keys typed into the pane reach the
 * guest, Ctrl-C goes to the guest instead of killing rewind, Ctrl-A x quits,
 * and afterwards the terminal is back in cooked mode with echo. Skips when
 * tmux is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REWIND_BIN, GUESTS } from './cli-harness.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const SOCKET = `rewind-cli-test-${process.pid}`;

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const pane = (): string => tmux('capture-pane', '-p', '-t', 'cli', '-S', '-50');

/** Polls the pane until `re` matches (bounded; no fixed sleeps). */
async function waitFor(re: RegExp, what: string, ms = 30_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const text = pane();
    if (re.test(text)) return text;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; the pane shows:\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('interactive console: typing reaches the guest, Ctrl-C goes to the guest, Ctrl-A x quits and restores the terminal', { skip: hasTmux ? false : 'tmux is not installed' }, async (t) => {
  const script = [
    `${JSON.stringify(process.execPath)} ${JSON.stringify(REWIND_BIN)} run ${JSON.stringify(join(GUESTS, 'demo.rom'))}`,
    'echo "EXIT=$?"',
    'stty -a | tr " ;" "\\n\\n" | grep -E "^-?(icanon|echo)$" | tr "\\n" " "',
    'echo',
    'echo DONE',
  ].join('; ');
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'cli', '-x', '100', '-y', '40', 'sh', '-c', `${script}; exec cat`);
  t.after(() => spawnSync('tmux', ['-L', SOCKET, 'kill-server']));
  await waitFor(/Ctrl-A x quits/, 'the console help line');
  await waitFor(/^>/m, 'the demo prompt');
  // The demo has a real race that can drop a byte typed at the wrong moment
  // ("!! lost"): wait for each echo line, and check its text when nothing was lost.
  tmux('send-keys', '-t', 'cli', '-l', 'hello rewind');
  tmux('send-keys', '-t', 'cli', 'Enter');
  const first = await waitFor(/echo: .*\(\d+ chars/, 'the echo of a typed line');
  if (!/!! lost/.test(first)) assert.match(first, /echo: hello rewind {2}\(12 chars/);
  // Ctrl-C is a byte for the guest: rewind keeps running and the next line still echoes.
  tmux('send-keys', '-t', 'cli', 'C-c');
  tmux('send-keys', '-t', 'cli', '-l', 'still here');
  tmux('send-keys', '-t', 'cli', 'Enter');
  await waitFor(/echo: [^\n]*\(\d+ chars[^]*echo: [^\n]*\(\d+ chars/, 'an echo after Ctrl-C');
  tmux('send-keys', '-t', 'cli', 'C-a');
  tmux('send-keys', '-t', 'cli', 'x');
  const end = await waitFor(/DONE/, 'rewind to quit');
  assert.match(end, /rewind: quit from the console \(Ctrl-A x\)/);
  assert.match(end, /EXIT=0/);
  assert.match(end, /^icanon echo$/m, 'canonical mode and echo restored');
  // The guest got the Ctrl-C byte: the echoed line counts it (10 visible characters + 1).
  if (!/!! lost/.test(end)) assert.match(end, /echo: .*still here {2}\(11 chars/);
});
