/**
 * The session on the real engine: guests of fixtures/guests recorded, then
 * replayed with checkpoints through MachineTarget. Skips, saying why, while
 * the CPU is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScriptedBoundary } from '../../../engine/replay/boundary.js';
import { MemorySink, decodeJournal, type JournalContents } from '../../../engine/replay/journal.js';
import { startRecording, startReplay } from '../../../engine/replay/session.js';
import { STOP } from '../../../engine/device.js';
import { MachineTarget } from '../../../debugger/timeline/machine-target.js';
import { Session, comparePos, type Position } from '../../../debugger/timeline/session.js';
import { EV, EV_DELIVERY, REG, type Probe, type TargetEvent } from '../../../debugger/timeline/target.js';
import { loadGuestEngine, guestImage, type GuestEngine } from '../../support/guest-runner.js';

const load = await loadGuestEngine();
const skip = load.engine ? false : `real CPU not available: ${load.missing}`;
const BOOT_MS = 1767225600000;

function record(engine: GuestEngine, name: string, max: number): JournalContents {
  const m = engine.create(guestImage(name), new ScriptedBoundary([], BOOT_MS), { ramBytes: 16 * 1024 * 1024 });
  const sink = new MemorySink();
  const rec = startRecording(m, sink, { bootWallMs: BOOT_MS, syncShift: 14, machineConfig: { guest: name } });
  let r;
  do r = rec.runner.run(1_000_000, max);
  while (r.reason === STOP.BUDGET);
  rec.runner.finishRecording();
  return decodeJournal(sink.bytes());
}

function target(engine: GuestEngine, name: string, j: JournalContents, checkpointInterval = 20_000): MachineTarget {
  const m = engine.create(guestImage(name), new ScriptedBoundary([], BOOT_MS), { ramBytes: 16 * 1024 * 1024 });
  const rp = startReplay(m, j, { checkpointInterval });
  const t = new MachineTarget(rp.runner);
  // Replay once to the end so checkpoints cover the whole history.
  t.run(t.historyEnd, null);
  return t;
}

function probe(partial: Partial<Probe>): Probe {
  return { code: new Set(), onInsn: () => false, memory: false, onAccess: () => false, events: 0, onEvent: () => false, ...partial };
}

const cache = new Map<string, JournalContents>();
function journal(engine: GuestEngine, name: string): JournalContents {
  let j = cache.get(name);
  if (!j) cache.set(name, (j = record(engine, name, 3_000_000)));
  return j;
}

test('pm-exceptions: exceptions are seen as deliveries with sub-positions, and reverse-step walks every position back', { skip }, async () => {
  const engine = load.engine!;
  const t = target(engine, 'pm-exceptions', journal(engine, 'pm-exceptions'));
  assert.ok(t.historyEnd > 1000, `history ${t.historyEnd}`);
  // Find exception deliveries in a straight replay.
  t.seek(t.historyStart);
  const exc: { pos: Position; vector: number }[] = [];
  t.run(t.historyEnd, probe({ events: EV.EXCEPTION | EV.SOFT_INT, onEvent: (ev: TargetEvent) => (ev.kind === 'interrupt' && ev.source === 'exception' && exc.push({ pos: { icount: t.icount, sub: t.sub }, vector: ev.vector }), false) }));
  assert.ok(exc.length >= 10, `exceptions delivered: ${exc.length}`);
  assert.ok(exc.every((e) => e.pos.sub >= 1), 'each delivery moves to a sub-position');
  assert.ok(exc.some((e) => e.vector === 6) && exc.some((e) => e.vector === 13), 'vectors #UD and #GP among them');
  // Every position in a window around the 5th exception, from a straight replay.
  const end = exc[4]!.pos.icount + 40;
  const start = end - 120;
  t.seek(start);
  const positions: { pos: Position; hash: string }[] = [];
  const note = (): void => {
    const pos = { icount: t.icount, sub: t.sub };
    const last = positions[positions.length - 1];
    if (!last || comparePos(last.pos, pos) !== 0) positions.push({ pos, hash: '' });
  };
  t.run(end, probe({ code: null, onInsn: () => (note(), false), events: EV_DELIVERY, onEvent: () => (t.sub === 1 && positions[positions.length - 1]?.pos.icount !== t.icount && positions.push({ pos: { icount: t.icount, sub: 0 }, hash: '' }), note(), false) }));
  note();
  assert.ok(positions.some((p) => p.pos.sub > 0));
  const s = new Session(t, { yieldFn: () => Promise.resolve() });
  s.seek(end);
  for (let i = positions.length - 2; i >= 0; i--) {
    const r = await s.reverseStep();
    assert.equal(r.kind, 'step');
    assert.deepEqual(s.position, positions[i]!.pos, `reverse step to ${JSON.stringify(positions[i]!.pos)}`);
  }
  // And forward again.
  for (let i = 1; i < positions.length; i++) {
    await s.step();
    assert.deepEqual(s.position, positions[i]!.pos, `forward step to ${JSON.stringify(positions[i]!.pos)}`);
  }
});

test('pm-exceptions: seek equals a straight replay; reverse-continue finds the last exception; lastWrite finds the last writer', { skip }, async () => {
  const engine = load.engine!;
  const t = target(engine, 'pm-exceptions', journal(engine, 'pm-exceptions'), 50_000);
  const s = new Session(t, { yieldFn: () => Promise.resolve() });
  const straight = target(engine, 'pm-exceptions', journal(engine, 'pm-exceptions'), 0 || 1_000_000);
  let seed = 11;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const ts = Array.from({ length: 6 }, () => Math.floor(rnd() * t.historyEnd)).sort((a, b) => a - b);
  const want: string[] = [];
  straight.seek(0);
  for (const x of ts) {
    straight.run(x, null);
    want.push(straight.stateHash());
  }
  for (let i = ts.length - 1; i >= 0; i--) {
    s.seek(ts[i]!);
    assert.equal(t.stateHash(), want[i], `seek(${ts[i]})`);
  }
  // Exceptions and writes, from a straight scan.
  const exc: Position[] = [];
  const writes: { pos: Position; lin: number; size: number }[] = [];
  straight.seek(0);
  straight.run(straight.historyEnd, probe({
    events: EV.EXCEPTION,
    onEvent: () => (exc.push({ icount: straight.icount, sub: straight.sub }), false),
    memory: true,
    onAccess: (lin, _p, size, w) => (w && writes.push({ pos: { icount: straight.icount, sub: straight.sub }, lin, size }), false),
  }));
  const at = Math.floor(t.historyEnd * 0.8);
  const lastExc = exc.filter((p) => p.icount < at).pop()!;
  s.seek(at);
  s.addPoint({ type: 'event', event: { on: 'exception' } });
  const r = await s.reverseContinue();
  assert.equal(r.kind, 'event');
  assert.deepEqual(s.position, lastExc);
  // The last write to some stack address before `at`.
  const w = writes.filter((x) => x.pos.icount < at).pop()!;
  s.seek(at);
  const lw = await s.lastWrite(w.lin, 1);
  assert.equal(lw.kind, 'watchpoint');
  assert.match(lw.message, /last write to 0x[0-9a-f]+ \(\d bytes at 0x[0-9a-f]+ = 0x[0-9a-f]+\)/);
  const expected = writes.filter((x) => x.pos.icount < at && x.lin <= w.lin && w.lin < x.lin + x.size).pop()!;
  assert.deepEqual(s.position, expected.pos);
  assert.equal(t.readReg(REG.EIP) >= 0, true);
});

test('a write in the past makes a branch that never reaches the recording', { skip }, async () => {
  const engine = load.engine!;
  const t = target(engine, 'pm-exceptions', journal(engine, 'pm-exceptions'));
  const s = new Session(t, { yieldFn: () => Promise.resolve() });
  const mid = Math.floor(t.historyEnd / 2);
  s.seek(mid);
  const h = t.stateHash();
  s.writeRegister(REG.EAX, 0x12345678);
  assert.equal(t.onBranch, true);
  await s.step();
  await s.step();
  s.seek(mid);
  assert.equal(t.onBranch, false);
  assert.equal(t.stateHash(), h);
  s.seek(t.historyEnd);
  s.seek(mid);
  assert.equal(t.stateHash(), h, 'replaying past the branch point still verifies every SYNC');
});

test('a live session records as it runs: reverse at any time, forward past the frontier, and the journal still replays exactly', { skip }, async () => {
  const engine = load.engine!;
  const m = engine.create(guestImage('pm-exceptions'), new ScriptedBoundary([], BOOT_MS), { ramBytes: 16 * 1024 * 1024 });
  const sink = new MemorySink();
  const rec = startRecording(m, sink, { bootWallMs: BOOT_MS, syncShift: 12, machineConfig: { guest: 'pm-exceptions' }, checkpointInterval: 4_000 });
  const t = new MachineTarget(rec.runner, { record: rec.boundary, startIcount: 0, fields: rec.encoder.header.fields });
  const s = new Session(t, { yieldFn: () => Promise.resolve() });
  assert.equal(t.historyEnd, Infinity);
  await s.runTo(10_000);
  const h10 = t.stateHash();
  await s.reverseStep();
  assert.equal(s.position.icount, 9_999);
  s.addPoint({ type: 'event', event: { on: 'exception' } });
  const back = await s.reverseContinue();
  assert.ok(back.kind === 'event' || back.kind === 'history-begin');
  const exPos = s.position;
  assert.ok(comparePos(exPos, { icount: 10_000, sub: 0 }) < 0);
  s.listPoints().forEach((p) => s.removePoint(p.id));
  // Forward again through the frontier and beyond: the recording goes on.
  await s.runTo(15_000);
  assert.equal(t.frontier, 15_000);
  assert.deepEqual(s.historyRange(), { start: 0, end: 15_000, live: true });
  s.seek(10_000);
  assert.equal(t.stateHash(), h10);
  // A write in the past is a branch; the recording is untouched.
  s.writeRegister(REG.EBX, 0xdead);
  await s.step();
  s.seek(15_000);
  let r;
  do r = await s.continue();
  while (r.kind !== 'exit' && r.kind !== 'halted' && r.kind !== 'error');
  assert.equal(r.kind, 'exit', r.message);
  const finalHash = t.stateHash();
  const end = t.icount;
  rec.runner.finishRecording();
  const j = decodeJournal(sink.bytes());
  const m2 = engine.create(guestImage('pm-exceptions'), new ScriptedBoundary([], BOOT_MS), { ramBytes: 16 * 1024 * 1024 });
  const rp = startReplay(m2, j);
  while (!rp.runner.run(1_000_000).journalEnd);
  assert.equal(m2.icount, end);
  assert.equal(m2.stateHash(), finalHash, 'the journal of a debugged live session replays exactly');
});

test('dev-pit: timer interrupts, HLT and idle spans; reverse-step walks back across them exactly', { skip }, async () => {
  const engine = load.engine!;
  if (!engine.fullPc) return;
  const j = record(engine, 'dev-pit', 6_000_000);
  const t = target(engine, 'dev-pit', j, 100_000);
  t.seek(t.historyStart);
  const ints: Position[] = [];
  const hlts: Position[] = [];
  t.run(t.historyEnd, probe({ events: EV.INTERRUPT | EV.HLT, onEvent: (ev) => ((ev.kind === 'hlt' ? hlts : ints).push({ icount: t.icount, sub: t.sub }), false) }));
  assert.ok(ints.length >= 2, `external interrupts: ${ints.length}`);
  assert.ok(hlts.length >= 1, `HLTs: ${hlts.length}`);
  // A window that contains a HLT and the interrupt that wakes it.
  const hlt = hlts[0]!;
  const wake = ints.find((p) => p.icount > hlt.icount)!;
  const s = new Session(t, { yieldFn: () => Promise.resolve() });
  s.seek(hlt.icount);
  await s.step();
  assert.equal(t.halted, true);
  assert.ok(s.position.icount > hlt.icount + 1, 'step over HLT skips the idle span');
  assert.deepEqual(s.position, { icount: wake.icount, sub: 0 });
  await s.step();
  assert.deepEqual(s.position, wake, 'then the handler entry');
  await s.reverseStep();
  assert.deepEqual(s.position, { icount: wake.icount, sub: 0 });
  await s.reverseStep();
  assert.deepEqual(s.position, hlt, 'back over the idle span to the HLT');
  // reverse-continue from well after to an external interrupt event
  const p = s.addPoint({ type: 'event', event: { on: 'interrupt' } });
  s.seek(t.historyEnd);
  const r = await s.reverseContinue();
  assert.equal(r.point, p);
  assert.deepEqual(s.position, ints[ints.length - 1]);
});

test('probes switch the CPU between TLB fills and access reporting correctly, in any order', { skip }, () => {
  const engine = load.engine!;
  const t = target(engine, 'pm-exceptions', journal(engine, 'pm-exceptions'));
  const count = (): number => {
    let n = 0;
    t.seek(t.historyStart);
    t.run(t.historyEnd, probe({ memory: true, onAccess: () => (n++, false) }));
    return n;
  };
  const want = count();
  assert.ok(want > 1000, `accesses: ${want}`);
  // A breakpoint probe (TLB kept), a plain run, then a memory probe again.
  t.seek(t.historyStart);
  t.run(t.historyEnd, probe({ code: new Set([0x12345]) }));
  assert.equal(count(), want, 'after a breakpoint probe');
  t.seek(t.historyStart);
  t.run(t.historyEnd, null);
  assert.equal(count(), want, 'after a plain run');
  t.seek(t.historyStart);
  t.run(t.historyEnd, probe({ code: null }));
  assert.equal(count(), want, 'after an every-instruction probe');
});
