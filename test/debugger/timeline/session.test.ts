import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session, comparePos, type Position } from '../../../debugger/timeline/session.js';
import { REG, EV, EV_DELIVERY, type Probe } from '../../../debugger/timeline/target.js';
import { buildToyProgram, COUNTER, FUNC_OUT, TICKS, FILL } from './toy-program.js';
import { RewindError } from '../../../engine/errors.js';

const syncYield = (): Promise<void> => Promise.resolve();

function newSession(opts: Parameters<typeof buildToyProgram>[0] = {}) {
  const prog = buildToyProgram(opts);
  const s = new Session(prog.machine, { yieldFn: syncYield, chunk: 64, denseInterval: 128 });
  return { prog, m: prog.machine, s };
}

/** Every position of a straight run from 0 to `end`, in order, with the state hash at each. */
function allPositions(end: number): { pos: Position; hash: string; eip: number }[] {
  const { m } = newSession();
  const out: { pos: Position; hash: string; eip: number }[] = [];
  const note = (): void => {
    const pos = { icount: m.icount, sub: m.sub };
    const last = out[out.length - 1];
    if (!last || comparePos(last.pos, pos) !== 0) out.push({ pos, hash: m.stateHash(), eip: m.readReg(REG.EIP) });
  };
  const probe: Probe = {
    code: null,
    onInsn: () => (note(), false),
    memory: false,
    onAccess: () => false,
    events: EV_DELIVERY,
    onEvent: () => {
      // (icount, 0) exists before the first delivery too: its state is the straight run's.
      if (m.sub === 1 && out[out.length - 1]?.pos.icount !== m.icount) out.push({ pos: { icount: m.icount, sub: 0 }, hash: '', eip: -1 });
      note();
      return false;
    },
  };
  m.run(end, probe);
  note();
  for (const p of out) if (p.hash === '') p.hash = straightHash(p.pos.icount);
  return out;
}

function straightHash(t: number): string {
  const { m } = newSession();
  m.run(t, null);
  return m.stateHash();
}

function exitIcount(): number {
  const { m } = newSession();
  const r = m.run(1e6, null);
  assert.equal(r.reason, 'exit');
  return m.icount;
}

test('seek(t) gives the same state as a straight run stopped at t, for random t', () => {
  const end = exitIcount();
  const { s, m } = newSession();
  let seed = 12345;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % (end + 1));
  for (let i = 0; i < 40; i++) {
    const t = rnd();
    s.seek(t);
    assert.equal(m.icount, t);
    assert.equal(m.stateHash(), straightHash(t), `state at ${t}`);
  }
});

test('seekAsync reaches the same state as seek, in slices with progress, and a cancel returns to where it was', async () => {
  const end = exitIcount();
  const { s, m } = newSession();
  let seed = 777;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % (end + 1));
  for (let i = 0; i < 20; i++) {
    const t = rnd();
    const progress: number[] = [];
    const r = await s.seekAsync(t, { onProgress: (p) => progress.push(p.icount) });
    assert.equal(r.kind, 'until');
    assert.deepEqual(s.position, { icount: t, sub: 0 });
    assert.equal(m.stateHash(), straightHash(t), `state at ${t}`);
    assert.ok(progress.every((v, k) => k === 0 || v > progress[k - 1]!), 'progress moves forward');
    if (progress.length > 0) assert.equal(progress[progress.length - 1], t);
  }
  // From a handler entry (sub > 0) back to the same icount's instruction boundary.
  await s.seekAsync(0);
  await s.step();
  assert.ok(end > 100 + 4 * 64, `exit at ${end}`);
  s.seek(100);
  const hash = m.stateHash();
  const ctl = new AbortController();
  let calls = 0;
  const r = await s.seekAsync(end, {
    signal: ctl.signal,
    onProgress: () => {
      if (++calls === 3) ctl.abort();
    },
  });
  assert.equal(r.kind, 'cancelled');
  assert.equal(calls, 3, 'slices of 64 instructions, cancelled after the third');
  assert.deepEqual(s.position, { icount: 100, sub: 0 });
  assert.equal(m.stateHash(), hash);
  await assert.rejects(s.seekAsync(-1), /non-negative integer/);
  const replay = newSession({ historyEnd: 150 }).s;
  await assert.rejects(replay.seekAsync(151), /after the end of history/);
  assert.equal((await replay.seekAsync(150)).position.icount, 150);
});

test('reverse-step lands on the exact previous position, across interrupts and exceptions', async () => {
  const end = exitIcount() - 1;
  const positions = allPositions(end);
  assert.ok(positions.some((p) => p.pos.sub > 0), 'the run has handler entries (sub-positions)');
  const { s, m, prog } = newSession();
  s.seek(end);
  const seen = new Set<number>();
  for (let i = positions.length - 2; i >= 0; i--) {
    const r = await s.reverseStep();
    assert.equal(r.kind, 'step');
    assert.deepEqual(s.position, positions[i]!.pos, `reverse step #${positions.length - 1 - i}`);
    assert.equal(m.stateHash(), positions[i]!.hash);
    seen.add(s.linearPc());
  }
  for (const l of ['ud', 'timer', 'soft', 'rep', 'hlt']) assert.ok(seen.has(prog.at(l)), `walked back through ${l}`);
  assert.equal((await s.reverseStep()).kind, 'history-begin');
  // And forward again over the same positions.
  for (let i = 1; i < positions.length; i++) {
    const r = await s.step();
    assert.deepEqual(s.position, positions[i]!.pos, `forward step to #${i}`);
    assert.equal(m.stateHash(), positions[i]!.hash);
    assert.equal(r.direction, 'forward');
  }
});

test('reverse-step at the start of history reports history-begin', async () => {
  const { s } = newSession();
  const r = await s.reverseStep();
  assert.equal(r.kind, 'history-begin');
  assert.deepEqual(s.position, { icount: 0, sub: 0 });
});

test('breakpoints: continue forward, then reverse-continue back to the previous hit', async () => {
  const { s, prog, m } = newSession();
  const bp = s.addPoint({ type: 'break', addr: prog.at('leaf') });
  const r1 = await s.continue();
  assert.equal(r1.kind, 'breakpoint');
  assert.equal(r1.point, bp);
  assert.equal(s.linearPc(), prog.at('leaf'));
  const first = s.position;
  const r2 = await s.continue();
  assert.equal(r2.kind, 'breakpoint');
  assert.equal(s.linearPc(), prog.at('leaf'));
  assert.equal(m.readReg(REG.ECX), 1);
  const r3 = await s.reverseContinue();
  assert.equal(r3.kind, 'breakpoint');
  assert.equal(r3.direction, 'reverse');
  assert.deepEqual(s.position, first);
  assert.equal(m.readReg(REG.ECX), 0);
  assert.equal(bp.hits, 3);
  const r4 = await s.reverseContinue();
  assert.equal(r4.kind, 'history-begin');
});

test('conditional breakpoints, ignore counts, enable/disable and physical addresses', async () => {
  const { s, prog, m } = newSession();
  const bp = s.addPoint({ type: 'break', addr: prog.at('store'), condition: 'ecx == 7 && [esp] == 0 || ecx == 9' });
  await s.continue();
  assert.equal(m.readReg(REG.ECX), 7);
  await s.continue();
  assert.equal(m.readReg(REG.ECX), 9);
  s.enablePoint(bp.id, false);
  const ph = s.addPoint({ type: 'break', addr: prog.at('leaf'), space: 'physical', ignoreCount: 2 });
  await s.continue();
  assert.equal(s.linearPc(), prog.at('leaf'));
  assert.equal(m.readReg(REG.ECX), 11, 'two hits (ecx 9, 10) ignored');
  assert.equal(ph.hits, 1);
  const back = await s.reverseContinue();
  assert.equal(back.point, ph);
  assert.equal(m.readReg(REG.ECX), 10, 'reverse scans do not consume ignore counts');
  assert.throws(() => s.addPoint({ type: 'break', addr: 0x1000, condition: 'eax == ' }), RewindError);
});

test('write watchpoints fire forward after the write and in reverse before it', async () => {
  const { s, prog, m } = newSession();
  const w = s.addPoint({ type: 'watch', addr: COUNTER, length: 4, access: 'write' });
  const r = await s.continue();
  assert.equal(r.kind, 'watchpoint');
  assert.equal(r.watch!.addr, COUNTER);
  assert.equal(r.watch!.access, 'write');
  assert.equal(r.watch!.value, 1, 'the value written');
  assert.equal(r.watch!.accessAddr, COUNTER);
  assert.equal(s.linearPc(), prog.at('store') + 6, 'forward: stops after the storing instruction');
  assert.equal(s.readMemory(COUNTER, 1)[0], 1);
  await s.continue();
  assert.equal(s.readMemory(COUNTER, 1)[0], 2);
  const back = await s.reverseContinue();
  assert.equal(back.point, w);
  assert.equal(s.linearPc(), prog.at('store'), 'reverse: stops on the instruction that wrote');
  assert.equal(s.readMemory(COUNTER, 1)[0], 1, 'in the state before it ran');
  assert.equal(m.readReg(REG.ECX), 2);
});

test('read watchpoints on a range and access watchpoints on physical addresses', async () => {
  const { s, prog } = newSession();
  s.addPoint({ type: 'watch', addr: COUNTER + 2, length: 1, access: 'read' });
  const r = await s.continue();
  assert.equal(r.watch!.access, 'read');
  assert.equal(r.watch!.addr, COUNTER + 2);
  assert.equal(s.linearPc(), prog.at('func_store') - 3, 'after mov ebx,[COUNTER]');
  const { s: s2, prog: p2 } = newSession();
  s2.addPoint({ type: 'watch', addr: FUNC_OUT, length: 4, access: 'access', space: 'physical' });
  await s2.continue();
  assert.equal(s2.linearPc(), p2.at('call_leaf'));
});

test('event points: interrupts, exceptions, I/O, serial text, HLT and mode switches, both directions', async () => {
  const { s, prog, m } = newSession();
  const timer = s.addPoint({ type: 'event', event: { on: 'interrupt', vector: 0x20 } });
  const r1 = await s.continue();
  assert.equal(r1.kind, 'event');
  assert.equal(r1.event?.kind, 'interrupt');
  assert.equal(s.linearPc(), prog.at('timer'), 'stops at the handler entry');
  assert.equal(s.position.sub, 1);
  const firstTimer = s.position;
  await s.continue();
  const r2 = await s.reverseContinue();
  assert.equal(r2.point, timer);
  assert.deepEqual(s.position, firstTimer, 'reverse stops at the same handler entry');
  s.removePoint(timer.id);

  const ex = s.addPoint({ type: 'event', event: { on: 'exception', vector: 6 } });
  await s.continue();
  assert.equal(s.linearPc(), prog.at('ud'));
  s.removePoint(ex.id);
  const soft = s.addPoint({ type: 'event', event: { on: 'interrupt', vector: 0x30 } });
  const back = await s.reverseContinue();
  assert.equal(back.point, soft);
  assert.equal(s.linearPc(), prog.at('int30'), 'reverse: the INT instruction itself');
  s.removePoint(soft.id);

  const serial = s.addPoint({ type: 'event', event: { on: 'serial', match: 'Hi' } });
  const ser = await s.continue();
  assert.equal(ser.kind, 'event');
  assert.equal(s.linearPc(), prog.at('out2') + 2);
  s.removePoint(serial.id);
  const io = s.addPoint({ type: 'event', event: { on: 'io', port: 0xe9, dir: 'out' } });
  const rio = await s.reverseContinue();
  assert.equal(rio.point, io);
  assert.equal(s.linearPc(), prog.at('out2'));
  s.removePoint(io.id);

  const mode = s.addPoint({ type: 'event', event: { on: 'mode', to: 'paging' } });
  const hlt = s.addPoint({ type: 'event', event: { on: 'hlt' } });
  const rm = await s.continue();
  assert.equal(rm.point, mode);
  const rh = await s.continue();
  assert.equal(rh.point, hlt);
  assert.equal(m.halted, true);
  const rhb = await s.reverseContinue();
  assert.equal(rhb.point, hlt, 'reverse: the HLT instruction itself');
  assert.equal(s.linearPc(), prog.at('hlt'));
  const rb = await s.reverseContinue();
  assert.equal(rb.point, mode);
  assert.equal(s.linearPc(), prog.at('movcr0'));
});

test('next steps over CALL, INT n, REP and interrupts; finish returns to the caller', async () => {
  const { s, prog, m } = newSession();
  await s.runTo(1);
  await s.runTo(2);
  assert.equal(s.linearPc(), prog.at('loop'));
  const esp = m.readReg(REG.ESP);
  await s.next();
  assert.equal(s.linearPc(), prog.at('after_call'));
  assert.equal(m.readReg(REG.ESP), esp);
  // Reverse-step from after the call lands on func's RET; then into the next iteration's call and finish.
  await s.reverseStep();
  assert.equal(s.linearPc(), prog.at('func_ret'));
  await s.step();
  await s.step();
  await s.step();
  await s.step();
  await s.step();
  assert.equal(s.linearPc(), prog.at('loop'));
  await s.step();
  assert.equal(s.linearPc(), prog.at('func'));
  await s.step();
  await s.step();
  const f = await s.finish();
  assert.equal(f.kind, 'finished');
  assert.equal(s.linearPc(), prog.at('after_call'));
  assert.equal(m.readReg(REG.ESP), esp);
  // reverse-next from after the call goes back to the CALL.
  const rn = await s.reverseNext();
  assert.equal(rn.kind, 'step');
  assert.equal(s.linearPc(), prog.at('loop'));
  assert.equal(m.readReg(REG.ESP), esp);
  // reverse-finish from inside leaf goes back to call leaf.
  const bp = s.addPoint({ type: 'break', addr: prog.at('leaf_ret') });
  await s.continue();
  s.removePoint(bp.id);
  const rf = await s.reverseFinish();
  assert.equal(rf.kind, 'finished');
  assert.equal(s.linearPc(), prog.at('call_leaf'));
  const rf2 = await s.reverseFinish();
  assert.equal(rf2.kind, 'finished');
  assert.equal(s.linearPc(), prog.at('loop'), 'then to call func');

  // INT n and REP.
  const b2 = s.addPoint({ type: 'break', addr: prog.at('int30') });
  await s.continue();
  s.removePoint(b2.id);
  await s.next();
  assert.equal(s.linearPc(), prog.at('ud2'));
  const b3 = s.addPoint({ type: 'break', addr: prog.at('rep') });
  await s.continue();
  s.removePoint(b3.id);
  const before = s.position;
  await s.next();
  assert.equal(s.linearPc(), prog.at('after_rep'));
  assert.equal(s.position.icount - before.icount >= 8, true, 'one retired instruction per iteration');
  assert.deepEqual([...s.readMemory(FILL, 4)], [0x41, 0x41, 0x41, 0x41]);
  await s.reverseNext();
  assert.deepEqual(s.position, before, 'reverse-next over REP goes back to its first iteration');
});

test('next over a plain instruction skips an interrupt handler taken meanwhile', async () => {
  const { s, m } = newSession();
  // Find a position where the timer is delivered before the next instruction.
  const tp = s.addPoint({ type: 'event', event: { on: 'interrupt', vector: 0x20 } });
  await s.continue();
  s.removePoint(tp.id);
  await s.reverseStep(); // the interrupted instruction, before delivery
  assert.equal(s.position.sub, 0);
  const eip = s.linearPc();
  const ticks = s.readMemory(TICKS, 4)[0]!;
  await s.next();
  assert.notEqual(s.linearPc(), eip);
  assert.equal(s.readMemory(TICKS, 4)[0], ticks + 1, 'the handler ran');
  assert.equal(m.sub, 0);
});

test('lastWrite finds the last writer, and the one before when repeated', async () => {
  const { s, prog, m } = newSession();
  await s.runTo(300);
  const r = await s.lastWrite(COUNTER, 4);
  assert.equal(r.kind, 'watchpoint');
  assert.equal(s.linearPc(), prog.at('store'));
  const ecx = m.readReg(REG.ECX);
  await s.lastWrite(COUNTER, 4);
  assert.equal(s.linearPc(), prog.at('store'));
  assert.equal(m.readReg(REG.ECX), ecx - 1);
});

test('writes in the past make a branch; reverse returns to the recording unchanged', async () => {
  const { s, m } = newSession({ historyEnd: 400 });
  await s.runTo(200);
  const h200 = m.stateHash();
  s.seek(100);
  const h100 = m.stateHash();
  s.writeRegister('eax', 0xdeadbeef);
  s.writeMemory(COUNTER, Uint8Array.of(9, 9, 9, 9));
  assert.equal(s.onBranch, true);
  assert.equal(s.reg(REG.EAX), 0xdeadbeef);
  await s.step();
  const r = await s.reverseStep();
  assert.equal(r.leftBranch, true);
  assert.equal(s.onBranch, false);
  assert.equal(s.position.icount <= 101, true);
  s.seek(100);
  assert.equal(m.stateHash(), h100, 'the recording is unchanged');
  s.seek(200);
  assert.equal(m.stateHash(), h200);
});

test('replay history ends: forward commands stop with history-end', async () => {
  const { s } = newSession({ historyEnd: 150 });
  assert.deepEqual(s.historyRange(), { start: 0, end: 150, live: false });
  const r = await s.continue();
  assert.equal(r.kind, 'history-end');
  assert.equal(s.position.icount, 150);
  const r2 = await s.step();
  assert.equal(r2.kind, 'history-end');
  assert.throws(() => s.seek(151), /after the end of history/);
});

test('reverse-continue reports progress and a cancel leaves the session where it was', async () => {
  const { s, m } = newSession();
  await s.runTo(700);
  const hash = m.stateHash();
  const progress: number[] = [];
  s.addPoint({ type: 'break', addr: 0xfff0 }); // never hit
  const r = await s.reverseContinue({ onProgress: (p) => progress.push(p.done) });
  assert.equal(r.kind, 'history-begin');
  assert.ok(progress.length >= 2, 'progress reported');
  assert.ok(progress.every((v, i) => i === 0 || v >= progress[i - 1]!), 'progress is monotonic');
  await s.runTo(700);
  const ctl = new AbortController();
  let calls = 0;
  const r2 = await s.reverseContinue({
    signal: ctl.signal,
    onProgress: () => {
      if (++calls === 2) ctl.abort();
    },
  });
  assert.equal(r2.kind, 'cancelled');
  assert.equal(s.position.icount, 700);
  assert.equal(m.stateHash(), hash);
});

test('a session refuses a second command while one runs', async () => {
  const { s } = newSession();
  let inner: unknown = null;
  const s2 = new Session(s.target, {
    yieldFn: async () => {
      if (inner === null) inner = await s2.step().catch((e: unknown) => e);
    },
    chunk: 16,
  });
  await s2.continue();
  assert.ok(inner instanceof RewindError);
});

test('evaluate, registers, symbolize without symbols, and argument errors', () => {
  const { s } = newSession();
  assert.equal(s.evaluate('eip'), 0x1000);
  assert.equal(s.evaluate('byte [eip]'), 0xfb);
  assert.equal(s.evaluate('(esp - 4) & 0xfff'), 0xffc);
  assert.equal(s.registers()['esp'], 0x1f000);
  assert.equal(s.symbolize(0x1234), '0x1234');
  assert.throws(() => s.addPoint({ type: 'watch', addr: 0, length: 0, access: 'write' }), /length/);
  assert.throws(() => s.addPoint({ type: 'event', event: { on: 'io', port: 0x10000 } }), /port/);
  assert.throws(() => s.seek(-1), /icount/);
  assert.throws(() => s.enablePoint(99, true), /no breakpoint/);
  assert.throws(() => s.writeRegister('xyz', 1), /unknown register/);
  assert.throws(() => s.readMemory(0xfffff000, 4), /not mapped/);
  assert.equal(EV.HLT, 128);
});

test('HLT: step skips the idle span, next waits for the handler to return, reverse-next goes back to the HLT', async () => {
  const { s, prog, m } = newSession();
  const b = s.addPoint({ type: 'break', addr: prog.at('hlt') });
  await s.continue();
  s.removePoint(b.id);
  const atHlt = s.position;
  await s.step();
  assert.equal(m.halted, true);
  assert.ok(s.position.icount > atHlt.icount + 1, 'idle instructions skipped');
  await s.step();
  assert.equal(s.linearPc(), prog.at('timer'), 'then the waking interrupt');
  await s.reverseStep();
  await s.reverseStep();
  assert.deepEqual(s.position, atHlt);
  await s.next();
  assert.equal(s.linearPc(), prog.at('exit'));
  assert.equal(m.halted, false);
  await s.reverseNext();
  assert.deepEqual(s.position, atHlt);
});

test('collectEvents lists events with their positions and leaves the session where it was', async () => {
  const { s, m, prog } = newSession();
  const end = exitIcount() - 1;
  s.seek(end);
  s.seek(300);
  const h = m.stateHash();
  const evs = await s.collectEvents(0, end, EV.SERIAL_OUT | EV.INTERRUPT | EV.EXCEPTION | EV.SOFT_INT);
  assert.deepEqual(s.position, { icount: 300, sub: 0 });
  assert.equal(m.stateHash(), h);
  const serial = evs.filter((e) => e.event.kind === 'serial').map((e) => Buffer.from((e.event as { data: Uint8Array }).data).toString('latin1')).join('');
  assert.equal(serial, 'Hi');
  assert.ok(evs.some((e) => e.event.kind === 'interrupt' && e.event.vector === 0x20 && e.position.sub === 1));
  assert.ok(evs.some((e) => e.event.kind === 'interrupt' && e.event.vector === 6));
  assert.ok(evs.some((e) => e.event.kind === 'interrupt' && e.event.vector === 0x30));
  for (let i = 1; i < evs.length; i++) assert.ok(comparePos(evs[i - 1]!.position, evs[i]!.position) <= 0, 'in order');
  // Positions are exact: going to a serial event's position shows the OUT instruction.
  const ser = evs.find((e) => e.event.kind === 'serial')!;
  s.seek(ser.position.icount);
  assert.equal(s.linearPc(), prog.at('out1'));
  assert.equal((await s.collectEvents(0, end, EV.SERIAL_OUT, { limit: 1 })).length, 1);
});

test('reverse: a serial text match that spans a checkpoint window boundary is found', async () => {
  const { s, m, prog } = newSession();
  const end = exitIcount() - 1;
  const b = s.addPoint({ type: 'break', addr: prog.at('out1') });
  await s.continue();
  s.removePoint(b.id);
  const out1 = s.position.icount;
  // A checkpoint between the 'H' and the 'i'.
  s.seek(out1 + 1);
  m.takeCheckpoint();
  assert.equal(m.checkpointAtOrBefore(out1 + 2), out1 + 1);
  s.seek(end);
  const p = s.addPoint({ type: 'event', event: { on: 'serial', match: 'Hi' } });
  const r = await s.reverseContinue();
  assert.equal(r.point, p);
  assert.equal(s.linearPc(), prog.at('out2'), 'stops before the OUT that completed the text');
  const r2 = await s.reverseContinue();
  assert.equal(r2.kind, 'history-begin');
});

test('repeated reverse-continue answers from the window cache, with the same stops as fresh scans', async () => {
  const end = exitIcount() - 1;
  const run = async (fresh: boolean): Promise<{ stops: Position[]; executed: number }> => {
    const prog = buildToyProgram();
    const m = prog.machine;
    const opts = { yieldFn: syncYield, chunk: 64, denseInterval: 128 };
    let s = new Session(m, opts);
    s.seek(end);
    const stops: Position[] = [];
    const before = m.executed;
    for (;;) {
      if (fresh) {
        const pos = s.position;
        s = new Session(m, opts);
        assert.deepEqual(s.position, pos);
      }
      if (s.listPoints().length === 0) s.addPoint({ type: 'break', addr: prog.at('leaf') });
      const r = await s.reverseContinue();
      if (r.kind === 'history-begin') break;
      stops.push(r.position);
    }
    return { stops, executed: m.executed - before };
  };
  const cached = await run(false);
  const fresh = await run(true);
  assert.equal(cached.stops.length, 50);
  assert.deepEqual(cached.stops, fresh.stops);
  assert.ok(cached.executed < fresh.executed * 0.7, `cached ${cached.executed} vs fresh ${fresh.executed} instructions replayed`);
});

test('conditional watchpoints are judged at instruction boundaries: after the access forward, before it in reverse', async () => {
  const { s, m, prog } = newSession();
  const w = s.addPoint({ type: 'watch', addr: COUNTER, length: 4, access: 'write', condition: 'dword [0x8000] == 5' });
  const r = await s.continue();
  assert.equal(r.point, w);
  assert.equal(s.readMemory(COUNTER, 1)[0], 5, 'forward: the write that made it 5, state after it');
  assert.equal(s.linearPc(), prog.at('store') + 6);
  assert.equal(m.readReg(REG.ECX), 5);
  const end = exitIcount() - 1;
  s.seek(end);
  const b = await s.reverseContinue();
  assert.equal(b.point, w);
  assert.equal(s.linearPc(), prog.at('store'), 'reverse: on the writing instruction');
  assert.equal(s.readMemory(COUNTER, 1)[0], 5, 'whose state before it satisfies the condition');
  assert.equal(m.readReg(REG.ECX), 6);
  // ignore counts apply to conditional watchpoints too (forward).
  const { s: s2 } = newSession();
  s2.addPoint({ type: 'watch', addr: COUNTER, length: 4, access: 'write', condition: '(dword [0x8000] & 1) == 0', ignoreCount: 2 });
  await s2.continue();
  assert.equal(s2.readMemory(COUNTER, 1)[0], 6, 'values 2 and 4 ignored');
});

test('reverse-next over a call whose RET releases arguments (stdcall ret n)', async () => {
  const { m } = newSession();
  // push 7 ; call f ; nop ; hlt ... f: ret 4
  const code = [0x6a, 0x07, 0xe8, 0x02, 0x00, 0x00, 0x00, 0x90, 0xf4, 0xc2, 0x04, 0x00];
  // The toy has no PUSH imm8: use push eax (50) instead, same shape.
  code.splice(0, 2, 0x50, 0x90);
  m.mem.set(code, 0x3000);
  m.writeReg(REG.EIP, 0x3000);
  m.checkpoints.clear();
  m.takeCheckpoint();
  const s2 = new Session(m, { yieldFn: syncYield, chunk: 64, denseInterval: 128 });
  await s2.step(); // push eax
  await s2.step(); // nop
  const atCall = s2.position;
  const esp = m.readReg(REG.ESP);
  await s2.next();
  assert.equal(s2.linearPc(), 0x3007, 'next over the call');
  assert.equal(m.readReg(REG.ESP), (esp + 4) >>> 0, 'ret 4 released the argument');
  await s2.reverseNext();
  assert.deepEqual(s2.position, atCall, 'reverse-next lands on the call');
});
