/**
 * The debugger on the committed demo recording (recordings/demo.rwj), the way
 * the README's walkthrough drives it:
 *  - reverse-continue with a write watchpoint on rx_head reports exactly the
 *    writes a forward linear scan sees, over a window that crosses a
 *    checkpoint and contains the lossy `main_loop.reset_head`;
 *  - the walkthrough itself: from the `!! lost` message, a conditional
 *    breakpoint on `main_loop.reset_head` goes back to the store that forgot
 *    the byte, and a watchpoint from there to the `com1_isr` store of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openSession } from '../../../debugger/cli/debug-session.js';
import type { CliIo } from '../../../debugger/cli/io.js';
import type { Session } from '../../../debugger/timeline/session.js';
import { OutputLog, SessionController } from '../../../debugger/tui/session-controller.js';
import { REG, type Probe } from '../../../debugger/timeline/target.js';
import { repoRoot } from '../../util.js';

const DEMO = join(repoRoot, 'recordings', 'demo.rwj');
const skip = existsSync(DEMO) ? false : 'recordings/demo.rwj is missing';

const RX_HEAD = 0x20100;
/** The `main_loop.reset_head` that zeroed rx_head while a byte ('l') was pending. */
const LOSSY_RESET = 772_108_886;
/** com1_isr storing rx_head = 1 for that byte, inside the window (interrupting update_stats). */
const LOST_BYTE_STORE = 772_108_695;
/** The `!! lost 1 byte(s)` message (its "t"). */
const LOST_MESSAGE = 786_410_039;

async function openDemo(): Promise<Session> {
  const sink = { write: () => true };
  const io: CliIo = { stdout: sink, stderr: sink, stdin: Readable.from([]) as CliIo['stdin'], env: {}, cwd: repoRoot, signals: false };
  const { session } = await openSession({}, [DEMO], io);
  return session;
}

function readHead(s: Session): number {
  const b = s.target.readPhysical(RX_HEAD, 4);
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}

interface WindowScan {
  /** Forward, one instruction at a time with no probe (the CPU's fast paths): each change of the value. */
  changes: { icount: number; value: number }[];
  /** Forward with access tracking: every write, including those that store the value already there. */
  writes: { icount: number; value: number }[];
  /** Reverse-continue with a write watchpoint from `to` back past `from`, oldest first. */
  hits: { icount: number; value: number }[];
}

async function scanWindow(s: Session, from: number, to: number): Promise<WindowScan> {
  const t = s.target;
  s.seek(from);
  const changes: WindowScan['changes'] = [];
  let prev = readHead(s);
  while (t.icount < to) {
    const at = t.icount;
    t.run(at + 1, null);
    const v = readHead(s);
    if (v !== prev) changes.push({ icount: at, value: v });
    prev = v;
  }
  s.seek(from);
  const writes: WindowScan['writes'] = [];
  const probe: Probe = {
    code: new Set<number>(),
    onInsn: () => false,
    memory: true,
    onAccess: (_lin, phys, size, isWrite, value) => {
      if (isWrite && phys < RX_HEAD + 4 && phys + size > RX_HEAD) writes.push({ icount: t.icount, value });
      return false;
    },
    events: 0,
    onEvent: () => false,
  };
  t.run(to, probe);
  assert.equal(t.icount, to);
  s.seek(to);
  const point = s.addPoint({ type: 'watch', addr: RX_HEAD, length: 4, access: 'write' });
  const hits: WindowScan['hits'] = [];
  for (;;) {
    const st = await s.reverseContinue();
    if (st.kind !== 'watchpoint' || st.position.icount < from) break;
    assert.equal(st.position.sub, 0);
    hits.push({ icount: st.position.icount, value: st.watch!.value });
  }
  s.removePoint(point.id);
  hits.reverse();
  return { changes, writes, hits };
}

test('reverse-continue on an rx_head watchpoint reports every write a forward linear scan sees', { skip }, async () => {
  const s = await openDemo();
  const t = s.target;

  // Around the loss: crosses the 2,000,000-instruction checkpoint at
  // 772,000,000 and holds the byte's store and the lossy reset.
  assert.ok(t.checkpointAtOrBefore(772_109_999) <= 772_000_000);
  const late = await scanWindow(s, 771_600_000, 772_110_000);
  for (const c of late.changes) assert.ok(late.writes.some((w) => w.icount === c.icount && w.value === c.value), `value change at ${c.icount} missing from the tracked writes`);
  assert.ok(late.changes.some((c) => c.icount === LOST_BYTE_STORE && c.value === 1), 'the lost byte is stored inside the window');
  assert.deepEqual(late.hits, late.writes);
  assert.ok(late.hits.length >= 6, `only ${late.hits.length} writes in the window`);
  assert.ok(late.hits.some((h) => h.icount === LOSSY_RESET && h.value === 0));

  // From power-on: the first write is main32's REP STOSD clearing the
  // variables (the string fast path), storing the 0 that is already there.
  const early = await scanWindow(s, 0, 200_000);
  assert.deepEqual(early.hits, early.writes);
  assert.ok(early.hits.length >= 2, `only ${early.hits.length} writes in the window`);
  s.seek(early.hits[0]!.icount);
  assert.deepEqual([...s.readMemory(s.linearPc(), 2)], [0xf3, 0xab], 'rep stosd');
  assert.equal(early.hits[0]!.value, 0);
});

test('the README walkthrough, typed as the TUI commands: from the loss back to the reset that forgot the byte, then to its store', { skip }, async () => {
  const s = await openDemo();
  const ctl = new SessionController(s, { title: 'demo.rwj', log: new OutputLog() });
  const never = new AbortController().signal;
  const cont = (dir: 1 | -1): Promise<string> => ctl.cont(dir, () => {}, never).then((st) => st.message);
  await ctl.command('catch serial lost');
  assert.match(await cont(1), /serial "lost".* at icount 786410039,/);
  assert.equal(s.position.icount, LOST_MESSAGE);

  // Step 2: a plain rx_head watchpoint steps back one write at a time: the
  // store of the line's last byte, then a harmless reset (the main loop
  // rewinds the empty ring after every timer tick and every byte).
  await ctl.command('delete all');
  await ctl.command('watch rx_head 4 w');
  assert.match(await cont(-1), /eip com1_isr\.store_head$/);
  assert.match(await cont(-1), /eip main_loop\.reset_head$/);
  assert.equal(readHead(s), 0, 'the reset just before the message zeroes an rx_head that is already 0: nothing lost there');
  // ... and the lossy one is 180 writes back from the message (counting it).
  let writes = 2;
  while (s.position.icount > LOSSY_RESET) {
    await cont(-1);
    writes++;
  }
  assert.equal(s.position.icount, LOSSY_RESET);
  assert.equal(writes, 180);

  // Step 3: the lossy reset directly: rx_head differs from what
  // main_loop.check compared (EAX = rx_tail as read there; update_stats preserves it).
  s.seek(LOST_MESSAGE);
  await ctl.command('delete all');
  await ctl.command('break main_loop.reset_head if [rx_head] != eax');
  assert.match(await cont(-1), /^breakpoint \d+ at 0xf95cf if \[rx_head\] != eax at icount 772108886, eip main_loop\.reset_head$/);
  assert.equal(s.position.icount, LOSSY_RESET);
  assert.equal(s.evaluate('[rx_head]'), 1);
  assert.equal(s.evaluate('[rx_tail]'), 0);
  assert.equal(s.reg(REG.EAX), 0);

  // Step 4: who stored that head: com1_isr, for the byte 'l', interrupting update_stats.
  await ctl.command('delete all');
  await ctl.command('watch rx_head 4 w');
  assert.match(await cont(-1), /at icount 772108695, eip com1_isr\.store_head$/);
  assert.equal(s.position.icount, LOST_BYTE_STORE);
  assert.equal(String.fromCharCode(s.reg(REG.EAX) & 0xff), 'l');
  // com1_isr pushed EAX, EBX, EDX on the interrupt frame: the return EIP is above them.
  assert.match(s.symbolize(s.evaluate('[esp+12]')), /^update_stats\b/);
});
