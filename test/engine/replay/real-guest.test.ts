/**
 * Record -> replay over the real CPU and the guest programs of
 * fixtures/guests (through test/support/guest-runner.ts: engine/pc.ts when it
 * exists, else Machine + Cpu + debug ports): identical console output, SYNCs
 * and final state; seek on a real guest; a register flipped in replay is
 * caught in its window and named. Skips, saying why, while the CPU is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScriptedBoundary, OUTPUT } from '../../../engine/replay/boundary.js';
import { MemorySink, decodeJournal, type JournalContents } from '../../../engine/replay/journal.js';
import { startRecording, startReplay } from '../../../engine/replay/session.js';
import { DivergenceError } from '../../../engine/replay/divergence.js';
import { STOP } from '../../../engine/device.js';
import type { Machine } from '../../../engine/machine.js';
import { loadGuestEngine, guestImage, type GuestEngine } from '../../support/guest-runner.js';
import { BOOT_MS, prng } from './toy-session.js';

const load = await loadGuestEngine();
const skip = load.engine ? false : `real CPU not available: ${load.missing}`;

function build(engine: GuestEngine, name: string): { m: Machine; console: () => string } {
  const m = engine.create(guestImage(name), new ScriptedBoundary([], BOOT_MS), { ramBytes: 16 * 1024 * 1024 });
  let text = '';
  m.onOutput = (kind, _t, data) => {
    if (kind === OUTPUT.DEBUGCON) text += String.fromCharCode(...data);
  };
  return { m, console: () => text };
}

function record(engine: GuestEngine, name: string, max: number, syncShift: number): { journal: JournalContents; hash: string; text: string; icount: number } {
  const g = build(engine, name);
  const sink = new MemorySink();
  const rec = startRecording(g.m, sink, { bootWallMs: BOOT_MS, syncShift, machineConfig: { guest: name } });
  let r;
  do r = rec.runner.run(1_000_000, max);
  while (r.reason === STOP.BUDGET);
  rec.runner.finishRecording();
  return { journal: decodeJournal(sink.bytes()), hash: g.m.stateHash(), text: g.console(), icount: g.m.icount };
}

function replay(engine: GuestEngine, name: string, j: JournalContents, checkpointInterval = 0) {
  const g = build(engine, name);
  const rp = startReplay(g.m, j, { checkpointInterval });
  return { ...g, ...rp };
}

test('a real guest (pm-paging) records and replays exactly', { skip }, () => {
  const engine = load.engine!;
  const rec = record(engine, 'pm-paging', 5_000_000, 10);
  assert.match(rec.text, /PASS pm-paging/);
  assert.ok(rec.journal.syncs.length >= 10);
  const rp = replay(engine, 'pm-paging', rec.journal);
  while (!rp.runner.run(1_000_000).journalEnd);
  assert.equal(rp.m.icount, rec.icount);
  assert.equal(rp.console(), rec.text);
  assert.equal(rp.m.stateHash(), rec.hash);
  assert.equal(rp.boundary.syncsVerified, rec.journal.syncs.length);
  assert.equal(rp.boundary.endVerified, true);
});

test('seek on a real guest equals a straight replay', { skip }, () => {
  const engine = load.engine!;
  const rec = record(engine, 'bench-alu', 3_000_000, 16);
  const rnd = prng(3);
  const ts = Array.from({ length: 8 }, () => Math.floor(rnd() * rec.icount)).sort((a, b) => a - b);
  const straight = replay(engine, 'bench-alu', rec.journal);
  const want: string[] = [];
  for (const t of ts) {
    straight.runner.run(Infinity, t);
    want.push(straight.m.stateHash());
  }
  const rp = replay(engine, 'bench-alu', rec.journal, 250_000);
  while (!rp.runner.run(1_000_000).journalEnd);
  for (let i = ts.length - 1; i >= 0; i--) {
    rp.runner.seek(ts[i]!);
    assert.equal(rp.m.stateHash(), want[i], `seek(${ts[i]})`);
  }
});

test('a register flipped during replay of a real guest is caught in its window, naming cpu.regs', { skip }, () => {
  const engine = load.engine!;
  const rec = record(engine, 'bench-alu', 2_000_000, 14);
  const rp = replay(engine, 'bench-alu', rec.journal);
  const X = 700_001;
  rp.runner.run(Infinity, X);
  const cpu = rp.m.cpu;
  const s = cpu.saveState();
  const regs = (s['regs'] as Int32Array).slice();
  regs[6] ^= 0x10000; // ESI, bit 16
  cpu.loadState({ ...s, regs }, cpu.stateVersion);
  try {
    while (!rp.runner.run(1_000_000).journalEnd);
    assert.fail('the perturbation was not detected');
  } catch (e) {
    assert.ok(e instanceof DivergenceError, String(e));
    assert.ok(e.report.sinceIcount < X && X <= e.report.icount, `window ${e.report.sinceIcount}..${e.report.icount}`);
    assert.ok(e.report.fields.includes('cpu.regs'), e.report.fields.join(','));
  }
});
