/**
 * Record -> replay of a whole PC (real CPU, PIC, PIT, UART, RTC) running the
 * demo guest (interrupt-driven serial line echo with a 100 Hz PIT uptime) in
 * host clock mode through the live loop: typed lines and host-clock readings
 * are journaled, and the replay reproduces the serial transcript, every SYNC
 * and the final state; seeks land on the straight-replay state; a flipped
 * UART register is named. Skips while a piece of the PC is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INPUT, OUTPUT, ScriptedBoundary } from '../../../engine/replay/boundary.js';
import { MemorySink, decodeJournal, type JournalContents } from '../../../engine/replay/journal.js';
import { startRecording, startReplay } from '../../../engine/replay/session.js';
import { DivergenceError } from '../../../engine/replay/divergence.js';
import { LiveLoop } from '../../../engine/host/host-clock.js';
import { SteppingHost } from '../../support/fake-host.js';
import { STOP } from '../../../engine/device.js';
import type { Machine } from '../../../engine/machine.js';
import { repoRoot } from '../../util.js';
import { loadMiniPc } from './mini-pc.js';
import { BOOT_MS, prng } from './toy-session.js';

const pc = await loadMiniPc();
const skip = pc.create ? false : `PC pieces missing: ${pc.missing}`;
const image = pc.create ? new Uint8Array(readFileSync(join(repoRoot, 'fixtures', 'guests', 'demo.rom'))) : new Uint8Array(0);


function build(): { m: Machine; text: () => string } {
  const m = pc.create!(image, new ScriptedBoundary([], BOOT_MS), { ramBytes: 16 * 1024 * 1024, clockMode: 'host' });
  let text = '';
  m.onOutput = (kind, _t, d) => {
    if (kind === OUTPUT.SERIAL) text += String.fromCharCode(...d);
  };
  return { m, text: () => text };
}

let recorded: { journal: JournalContents; text: string; hash: string; icount: number } | null = null;

async function recordDemo() {
  if (recorded) return recorded;
  const g = build();
  const sink = new MemorySink();
  const rec = startRecording(g.m, sink, { bootWallMs: BOOT_MS, syncShift: 16, machineConfig: { guest: 'demo' } });
  const host = new SteppingHost(300_000);
  // Bounded, so a guest that never exits fails the test instead of hanging it.
  const loop = new LiveLoop(rec.runner, rec.boundary, { hostClock: host, timers: host, sliceInstructions: 20_000, untilIcount: 100_000_000 });
  // Typed one character at a time, each once the guest echoed the previous one and
  // went idle (HLT). A byte can still be lost to the demo's deliberate race (the
  // UART's character-timeout interrupt can land in the window), so after a while
  // without an echo the next character is typed anyway.
  const chars = [...['hello', 'time travel', 'a much longer line typed at the console 0123456789', 'quit'].join('\r')].concat('\r');
  let seen = 0;
  let stalls = 0;
  const poll = (): void => {
    const len = g.text().length;
    if (g.m.cpu.halted && g.text().includes('> ') && chars.length && (len > seen || ++stalls > 20)) {
      seen = len;
      stalls = 0;
      rec.boundary.push(INPUT.SERIAL, 0, new TextEncoder().encode(chars.shift()!));
      loop.wake();
    }
    if (chars.length) setImmediate(poll);
  };
  setImmediate(poll);
  const r = await loop.run();
  // Normally the guest exits on "quit"; if the race ate a byte of it, the bound ends the run.
  assert.ok(r.reason === STOP.EXIT || r.reason === STOP.UNTIL, `${r.reason} ${r.detail}`);
  rec.runner.finishRecording();
  recorded = { journal: decodeJournal(sink.bytes()), text: g.text(), hash: g.m.stateHash(), icount: g.m.icount };
  return recorded;
}

test('the demo PC records live (typed lines, host clock) and replays exactly', { skip }, async () => {
  const rec = await recordDemo();
  assert.match(rec.text, /echo: hello/);
  assert.match(rec.text, /echo: a much/);
  const kinds = new Set(rec.journal.events.map((e) => e.kind));
  assert.ok(kinds.has(INPUT.SERIAL) && kinds.has(INPUT.HOST_CLOCK));
  const g = build();
  const rp = startReplay(g.m, rec.journal);
  let r;
  do r = rp.runner.run(1_000_000);
  while (!r.journalEnd && r.reason === STOP.BUDGET);
  assert.equal(g.m.icount, rec.icount);
  assert.equal(g.text(), rec.text);
  assert.equal(g.m.stateHash(), rec.hash);
  assert.equal(rp.boundary.syncsVerified, rec.journal.syncs.length);
  assert.ok(rec.journal.syncs.length > 10);
  assert.equal(rp.boundary.endVerified, true);
});

test('seeks in the demo recording equal a straight replay', { skip }, async () => {
  const rec = await recordDemo();
  const rnd = prng(17);
  const ts = Array.from({ length: 10 }, () => Math.floor(rnd() * rec.icount)).sort((a, b) => a - b);
  const s = build();
  const straight = startReplay(s.m, rec.journal);
  const want = ts.map((t) => {
    straight.runner.run(Infinity, t);
    return s.m.stateHash();
  });
  const g = build();
  const rp = startReplay(g.m, rec.journal, { checkpointInterval: 200_000 });
  rp.runner.run(Infinity, rec.icount);
  for (let i = ts.length - 1; i >= 0; i--) {
    rp.runner.seek(ts[i]!);
    assert.equal(g.m.stateHash(), want[i], `seek(${ts[i]})`);
  }
});

test('a UART register changed during replay is reported as a uart field in its window', { skip }, async () => {
  const rec = await recordDemo();
  const g = build();
  const rp = startReplay(g.m, rec.journal);
  const X = Math.floor(rec.icount / 3);
  rp.runner.run(Infinity, X);
  const uart = g.m.devices.find((d) => /uart/i.test(d.stateName))!;
  const st = uart.saveState();
  const key = 'scr' in st ? 'scr' : Object.keys(st).find((k) => typeof st[k] === 'number')!;
  uart.loadState({ ...st, [key]: ((st[key] as number) ^ 0x5a) & 0xff }, uart.stateVersion);
  try {
    rp.runner.run(Infinity);
    assert.fail('not detected');
  } catch (e) {
    assert.ok(e instanceof DivergenceError, String(e));
    assert.ok(e.report.sinceIcount < X && X <= e.report.icount);
    assert.ok(e.report.fields.includes(`${uart.stateName}.${key}`), `${e.report.fields.join(',')} names ${uart.stateName}.${key}`);
  }
});
