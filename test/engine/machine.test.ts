/**
 * The run loop and whole-machine snapshots, driven by a tiny test core whose
 * every "instruction" adds its icount into a RAM checksum: enough to observe
 * exactly when timers and inputs take effect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine } from '../../engine/machine.js';
import type { CpuCore } from '../../engine/cpu/cpu-core.js';
import { ScriptedBoundary, INPUT, OUTPUT } from '../../engine/replay/boundary.js';
import { num, type StateRecord } from '../../engine/state/snapshot.js';
import { STOP } from '../../engine/device.js';

class ToyCpu implements CpuCore {
  readonly stateName = 'cpu';
  readonly stateVersion = 1;
  icount = 0;
  halted = false;
  intr = false;
  stopRequested = false;
  acc = 0;
  haltAt = -1;
  slices: [number, number][] = [];
  constructor(private readonly m: Machine) {}
  run(stop: number): void {
    this.slices.push([this.icount, stop]);
    while (this.icount < stop && !this.stopRequested) {
      if (this.halted) {
        if (this.intr) this.halted = false;
        else return;
      }
      this.acc = (this.acc * 31 + this.icount) | 0;
      this.m.memory.write32(0x1000 + ((this.icount & 0xff) << 2), this.acc);
      this.icount++;
      if (this.icount === this.haltAt) this.halted = true;
    }
  }
  endSlice(): void {
    this.stopRequested = true;
  }
  reset(): void {
    this.acc = 0;
    this.halted = false;
  }
  saveState(): StateRecord {
    return { icount: this.icount, acc: this.acc, halted: this.halted };
  }
  loadState(s: StateRecord): void {
    this.icount = num(s, 'icount');
    this.acc = num(s, 'acc');
    this.halted = s['halted'] === true;
  }
}

function mk(events = new ScriptedBoundary()) {
  let toy!: ToyCpu;
  const m = new Machine({ ramBytes: 2 * 1024 * 1024 }, { boundary: events, createCpu: (mm) => (toy = new ToyCpu(mm)) });
  return { m, toy };
}

test('slices end exactly at timer deadlines and input icounts', () => {
  const b = new ScriptedBoundary([{ kind: INPUT.SERIAL, icount: 250, target: 0, data: new Uint8Array([65]), value: 0 }]);
  const { m, toy } = mk(b);
  const fired: number[] = [];
  const got: number[] = [];
  const t = m.scheduler.createTask('t', (now) => fired.push(now));
  m.scheduler.arm(t, 100);
  m.onInput(INPUT.SERIAL, 0, (ev) => got.push(ev.icount, m.icount));
  const r = m.run(1000);
  assert.equal(r.reason, STOP.BUDGET);
  assert.equal(m.icount, 1000);
  assert.deepEqual(fired, [100]);
  assert.deepEqual(got, [250, 250]);
  assert.deepEqual(toy.slices, [[0, 100], [100, 250], [250, 1000]]);
});

test('a halted CPU skips to the next deadline; with nothing scheduled, run returns', () => {
  const { m, toy } = mk();
  toy.haltAt = 10;
  const t = m.scheduler.createTask('wake', () => (m.cpu.intr = true));
  m.scheduler.arm(t, 5000);
  m.run(100_000);
  assert.equal(m.icount, 100_000);
  assert.ok(toy.slices.some(([from]) => from === 5000), 'resumed at the deadline');
  toy.haltAt = 100_005;
  m.cpu.intr = false;
  const r = m.run(1_000_000);
  assert.equal(r.reason, STOP.HALTED);
  assert.equal(m.icount, 100_005);
});

test('a deadline armed inside a running slice ends the slice in time for it', () => {
  const { m, toy } = mk();
  const fired: number[] = [];
  const t = m.scheduler.createTask('t', (now) => fired.push(now));
  // A "device" armed by the guest at icount 10 for icount 40, while the CPU runs a slice to 1000.
  const arm = m.scheduler.createTask('arm', () => {});
  m.scheduler.arm(arm, 10);
  const origRun = toy.run.bind(toy);
  toy.run = (stop: number) => {
    origRun(Math.min(stop, toy.icount < 20 ? 20 : stop));
    if (toy.icount === 20 && !t.armed && fired.length === 0) {
      m.scheduler.arm(t, 40);
      origRun(stop);
    }
  };
  m.run(1000);
  assert.deepEqual(fired, [40]);
});

test('a halted CPU wakes for a deadline armed during its last slice', () => {
  const { m, toy } = mk();
  toy.haltAt = 5;
  const fired: number[] = [];
  const t = m.scheduler.createTask('t', (now) => fired.push(now));
  const origRun = toy.run.bind(toy);
  toy.run = (stop: number) => {
    origRun(stop);
    if (toy.halted && !t.armed && fired.length === 0) m.scheduler.arm(t, 300);
  };
  const keep = m.scheduler.createTask('keepalive', () => {});
  m.scheduler.arm(keep, 100_000);
  m.run(1000);
  assert.deepEqual(fired, [300], 'the idle skip stopped at the new deadline, not at the old slice end');
});

test('a stop requested by a device ends the run with its reason and exit code', () => {
  const { m } = mk();
  const t = m.scheduler.createTask('exit', () => m.ctx.requestStop(STOP.EXIT, 'debug-exit', 3));
  m.scheduler.arm(t, 77);
  assert.deepEqual(m.run(1000), { reason: STOP.EXIT, detail: 'debug-exit', exitCode: 3 });
  assert.equal(m.icount, 77);
});

test('splitting a run into different budgets gives the same state', () => {
  const a = mk().m;
  const b = mk().m;
  a.run(10_000);
  for (const n of [1, 2, 997, 3000, 6000]) b.run(n);
  assert.equal(a.icount, b.icount);
  assert.equal(a.stateHash(), b.stateHash());
});

test('snapshot, run B -> h1; restore, run B -> h2; h1 == h2', () => {
  const { m } = mk();
  const t = m.scheduler.createTask('tick', () => m.scheduler.arm(t, m.icount + 333));
  m.scheduler.arm(t, 333);
  m.run(5000);
  const snap = m.snapshot();
  const hA = m.stateHash();
  m.run(7000);
  const h1 = m.stateHash();
  m.restore(snap);
  assert.equal(m.stateHash(), hA, 'restore gives back the snapshot state');
  m.run(7000);
  assert.equal(m.stateHash(), h1);
  assert.throws(() => m.restore({ ...snap, ramBytes: 4 << 20 }), /this one has 2 MiB/);
});

test('restore zeroes pages that were written after the snapshot', () => {
  const { m } = mk();
  const snap = m.snapshot();
  const h = m.stateHash();
  m.memory.write8(0x150000, 9);
  m.restore(snap);
  assert.equal(m.memory.read8(0x150000), 0);
  assert.equal(m.stateHash(), h);
});

test('guest output reaches the boundary and the host listener; unrouted inputs are dropped with a warning', () => {
  const b = new ScriptedBoundary([{ kind: INPUT.NET_RX, icount: 5, target: 1, data: new Uint8Array(60), value: 0 }]);
  const { m } = mk(b);
  const seen: number[] = [];
  m.onOutput = (k) => seen.push(k);
  m.output(OUTPUT.DEBUGCON, 0, new Uint8Array([104, 105]));
  assert.deepEqual(seen, [OUTPUT.DEBUGCON]);
  assert.equal(b.outputs.length, 1);
  m.run(10);
  m.onInput(INPUT.SERIAL, 0, () => {});
  assert.throws(() => m.onInput(INPUT.SERIAL, 0, () => {}), /already has a handler/);
});

test('host clock inputs re-base guest time', () => {
  const b = new ScriptedBoundary([{ kind: INPUT.HOST_CLOCK, icount: 100, target: 0, data: null, value: 5e9 }]);
  const { m } = mk(b);
  m.run(200);
  assert.equal(m.clock.nowNs(200), 5e9 + 100 * m.clock.nsPerInstr);
});

test('bad scripted inputs are rejected', () => {
  assert.throws(() => new ScriptedBoundary([{ kind: 99 as never, icount: 0, target: 0, data: null, value: 0 }]), /unknown input kind/);
  assert.throws(() => new ScriptedBoundary([{ kind: INPUT.SERIAL, icount: 0, target: 0, data: null, value: 0 }]), /non-empty data/);
  assert.throws(
    () =>
      new ScriptedBoundary([
        { kind: INPUT.SERIAL, icount: 5, target: 0, data: new Uint8Array(1), value: 0 },
        { kind: INPUT.SERIAL, icount: 4, target: 0, data: new Uint8Array(1), value: 0 },
      ]),
    /icount order/,
  );
  assert.throws(() => mk().m.run(-1), /budget/);
});
