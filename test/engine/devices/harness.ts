/**
 * A machine for device tests: a CPU that executes nothing (each run jumps the
 * icount to the slice end), so tests drive ports directly and advance guest
 * time by hand with run(). Default: 10 ns per instruction.
 */
import assert from 'node:assert/strict';
import { Machine } from '../../../engine/machine.js';
import type { CpuCore } from '../../../engine/cpu/cpu-core.js';
import { ScriptedBoundary, type InputEvent, type OutputKind } from '../../../engine/replay/boundary.js';
import { num, type StateRecord } from '../../../engine/state/snapshot.js';

export class IdleCpu implements CpuCore {
  readonly stateName = 'cpu';
  readonly stateVersion = 1;
  icount = 0;
  halted = false;
  intr = false;
  stopRequested = false;
  run(stop: number): void {
    if (!this.stopRequested) this.icount = stop;
  }
  reset(): void {
    this.halted = false;
  }
  saveState(): StateRecord {
    return { icount: this.icount };
  }
  loadState(s: StateRecord): void {
    this.icount = num(s, 'icount');
  }
}

export interface TestMachine {
  m: Machine;
  cpu: IdleCpu;
  out: { kind: OutputKind; target: number; icount: number; bytes: number[] }[];
  /** Bytes output for `kind`/`target`, concatenated. */
  outBytes(kind: OutputKind, target?: number): number[];
  in8(port: number): number;
  out8(port: number, v: number): void;
  /** Advances guest time by `ns` (rounded up to whole instructions). */
  advanceNs(ns: number): void;
}

export function mkMachine(opts: { ramBytes?: number; inputs?: InputEvent[]; wallClockMs?: number } = {}): TestMachine {
  let cpu!: IdleCpu;
  const boundary = new ScriptedBoundary(opts.inputs ?? [], opts.wallClockMs);
  const m = new Machine({ ramBytes: opts.ramBytes ?? 16 * 1024 * 1024 }, { boundary, createCpu: () => (cpu = new IdleCpu()) });
  const out: TestMachine['out'] = [];
  m.onOutput = (kind, target, data) => out.push({ kind, target, icount: m.icount, bytes: [...data] });
  return {
    m,
    cpu,
    out,
    outBytes: (kind, target = 0) => out.filter((o) => o.kind === kind && o.target === target).flatMap((o) => o.bytes),
    in8: (port) => m.ports.in8(port),
    out8: (port, v) => m.ports.out8(port, v),
    advanceNs: (ns) => {
      m.run(Math.ceil(ns / m.clock.nsPerInstr));
    },
  };
}

/**
 * Round trip mid-operation: snapshot `a`, restore into `b` (built the same
 * way), check the saved states are equal (save -> load -> save), then run the
 * same continuation on both and check they end in the same state.
 */
export function assertRoundTrip(a: TestMachine, b: TestMachine, cont: (t: TestMachine) => unknown): void {
  const snap = a.m.snapshot();
  b.m.restore(snap);
  // b's scripted inputs up to the snapshot were consumed by a's past: skip them.
  b.m.boundary.deliverDue(snap.icount, { deliverInput: () => {} });
  assert.deepEqual(b.m.registry.save(), a.m.registry.save(), 'save -> load -> save gives the same state');
  assert.equal(b.m.stateHash(), a.m.stateHash());
  const ra = cont(a);
  const rb = cont(b);
  assert.deepEqual(rb, ra, 'the restored machine behaves like the original');
  assert.equal(b.m.stateHash(), a.m.stateHash(), 'and ends in the same state');
}
