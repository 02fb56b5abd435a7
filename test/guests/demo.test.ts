/**
 * The demo guest (fixtures/guests/src/demo.asm): a line-echo service on COM1
 * whose main loop races with its receive interrupt. Typed slowly it echoes
 * faithfully; a byte whose interrupt lands between the main loop's emptiness
 * check and its rewinding of rx_head is lost. The test shows both, the second
 * by delivering a byte exactly inside that window (found by stepping to the
 * symbol main_loop.drained from demo.sym).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGuest, guestImage, describeRun, guestsDir, guestPc } from '../support/guest-runner.js';
import { INPUT, OUTPUT, ScriptedBoundary, type InputEvent } from '../../engine/replay/boundary.js';


const symbols = new Map<string, number>();
for (const line of readFileSync(join(guestsDir, 'demo.sym'), 'utf8').split('\n')) {
  const [addr, , name] = line.split(' ');
  if (addr && name) symbols.set(name, parseInt(addr, 16));
}
function sym(name: string): number {
  const a = symbols.get(name);
  if (a === undefined) throw new Error(`demo.sym has no symbol ${name}`);
  return a;
}

function serialInput(icount: number, text: string): InputEvent {
  return { kind: INPUT.SERIAL, icount, target: 0, data: new Uint8Array([...text].map((c) => c.charCodeAt(0))), value: 0 };
}

/** One byte per event, `gap` instructions apart, from `start`. */
function typed(start: number, gap: number, text: string): InputEvent[] {
  return [...text].map((c, i) => serialInput(start + i * gap, c));
}

test('demo.sym names the race window', () => {
  assert.ok(sym('main_loop.check') < sym('main_loop.drained'));
  assert.ok(sym('main_loop.drained') < sym('main_loop.reset_head'));
  assert.equal(sym('rx_head'), 0x20100);
});

test('demo: typed slowly, every line is echoed and nothing is lost', () => {
  const inputs = [...typed(1_000_000, 200_000, 'hello world\r'), ...typed(5_000_000, 200_000, 'quit\r')];
  const run = runGuest(guestImage('demo'), { maxInstructions: 20_000_000, inputs });
  assert.equal(run.exitCode, 0, describeRun('demo', run));
  assert.match(run.serial, /rewind demo: a line-echo service/);
  assert.match(run.serial, /> hello world\r\necho: hello world {2}\(11 chars, t=\d+\.\d{3}s\)\r\n/);
  assert.doesNotMatch(run.serial, /lost/);
  assert.match(run.serial, /bye\r\n$/);
});

test('demo: a byte arriving between main_loop.check and main_loop.reset_head is lost', () => {
  // Deliver 'a' and step: note when its interrupt is taken (the UART
  // receives at line rate, so a byte enters the FIFO one character time after
  // its input event, when the line is idle), then run on to a timer tick and
  // step until the woken main loop finds the ring empty: the window opens.
  const first = 1_000_000;
  const probe = guestPc(guestImage('demo'), new ScriptedBoundary([serialInput(first, 'a')])).machine;
  probe.run(first, first);
  const isr = sym('com1_isr');
  const isrEnd = sym('com1_isr.done');
  const drained = sym('main_loop.drained');
  const eip = () => (probe.cpu as unknown as { eip: number }).eip;
  let isrIcount = -1;
  for (let i = 0; i < 100_000 && isrIcount < 0; i++) {
    probe.run(1);
    // (a step that takes an interrupt also runs the handler's first instruction)
    if (eip() >= isr && eip() <= isrEnd) isrIcount = probe.icount - 1;
  }
  assert.ok(isrIcount > first, "the receive interrupt for 'a' was never taken");
  const lineDelay = isrIcount - first;
  const later = isrIcount + 50_000; // past 'a', in the middle of a timer period
  probe.run(later - probe.icount);
  let windowIcount = -1;
  for (let i = 0; i < 300_000 && windowIcount < 0; i++) {
    probe.run(1);
    if (eip() === drained) windowIcount = probe.icount;
  }
  assert.ok(windowIcount > later, 'the main loop never reached main_loop.drained after a timer tick');
  // The same run, plus 'b' timed so that its interrupt comes 3 instructions into the window.
  const bAt = windowIcount + 3 - lineDelay;
  const inputs = [serialInput(first, 'a'), serialInput(bAt, 'b'), ...typed(windowIcount + 1_000_000, 200_000, 'c\rquit\r')];
  const run = runGuest(guestImage('demo'), { maxInstructions: 30_000_000, inputs });
  assert.match(run.serial, /echo: ac {2}\(2 chars/, describeRun('demo', run)); // the 'b' vanished
  assert.match(run.serial, /!! lost 1 byte\(s\): received 4, consumed 3\r\n/);
  assert.equal(run.exitCode, 1, 'exit status = bytes lost');
});

test('demo: the same inputs give the same run whatever the budget is split into', () => {
  const inputs = () => [...typed(1_000_000, 150_007, 'split me\r'), ...typed(4_000_000, 99_991, 'quit\r')];
  const whole = runGuest(guestImage('demo'), { maxInstructions: 20_000_000, inputs: inputs() });
  const m = guestPc(guestImage('demo'), new ScriptedBoundary(inputs())).machine;
  let serial = '';
  m.onOutput = (kind, target, data) => {
    if (kind === OUTPUT.SERIAL && target === 0) for (const b of data) serial += String.fromCharCode(b);
  };
  let r = m.run(77_777);
  for (let i = 0; i < 1000 && r.reason === 'budget'; i++) r = m.run(77_777);
  assert.equal(r.reason, 'exit');
  assert.equal(serial, whole.serial);
  assert.equal(m.icount, whole.icount);
  assert.equal(m.stateHash(), whole.machine.stateHash());
});
