/**
 * Snapshots of whole PCs running real guests: stop a device guest part-way
 * (a UART sending, RTC interrupts due, PCnet rings half used, the demo
 * mid-line with its 1 kHz PIT running), snapshot, and compare (a) running on with (b) a
 * fresh PC restored from the snapshot: the same output from there on, the
 * same final icount and the same state hash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runGuest, guestImage, guestPc } from '../support/guest-runner.js';
import { INPUT, ScriptedBoundary, type InputEvent } from '../../engine/replay/boundary.js';
import type { Machine } from '../../engine/machine.js';


const RAM = 32 * 1024 * 1024;

function netFrame(): Uint8Array {
  const f = new Uint8Array(60);
  f.fill(0xff, 0, 6);
  f.set([0x88, 0xb5], 12);
  f.set([...'snapshot'].map((c) => c.charCodeAt(0)), 14);
  return f;
}
function serial(icount: number, text: string): InputEvent {
  return { kind: INPUT.SERIAL, icount, target: 0, data: new Uint8Array([...text].map((c) => c.charCodeAt(0))), value: 0 };
}

function capture(m: Machine): { text: string } {
  const out = { text: '' };
  m.onOutput = (kind, target, data) => {
    out.text += `${kind}:${target}:`;
    for (const b of data) out.text += String.fromCharCode(b);
    out.text += '|';
  };
  return out;
}

function runToExit(m: Machine, budget: number): string {
  const r = m.run(budget);
  return `${r.reason}/${r.exitCode}`;
}

const CASES: [string, number, () => InputEvent[], number][] = [
  ['dev-uart', 0.5, () => [], 50_000_000],
  ['dev-rtc', 0.3, () => [], 1_000_000_000],
  ['dev-pcnet', 0.2, () => [{ kind: INPUT.NET_RX, icount: 3_000_000, target: 0, data: netFrame(), value: 0 }], 300_000_000],
  ['demo', 0.5, () => [serial(1_000_000, 'half a line'), serial(1_500_000, ' and the rest\r'), serial(3_000_000, 'quit\r')], 50_000_000],
];

for (const [name, fraction, inputs, budget] of CASES) {
  test(`${name}: restoring a mid-run snapshot continues exactly like the original`, () => {
    const whole = runGuest(guestImage(name), { maxInstructions: budget, inputs: inputs(), ramBytes: RAM });
    assert.equal(whole.reason, 'exit', `${name} did not finish: ${whole.reason}`);
    const at = Math.floor(whole.icount * fraction);
    const a = guestPc(guestImage(name), new ScriptedBoundary(inputs()), { ramBytes: RAM }).machine;
    a.run(at, at);
    const snap = a.snapshot();
    const outA = capture(a);
    const endA = runToExit(a, budget);
    const b = guestPc(guestImage(name), new ScriptedBoundary(inputs().filter((ev) => ev.icount > at)), { ramBytes: RAM }).machine;
    b.restore(snap);
    assert.equal(b.icount, at);
    const outB = capture(b);
    const endB = runToExit(b, budget);
    assert.equal(endB, endA);
    assert.equal(outB.text, outA.text, 'output after the snapshot');
    assert.equal(b.icount, a.icount);
    assert.equal(b.stateHash(), a.stateHash());
    assert.equal(a.icount, whole.icount, 'stopping at the snapshot point changed nothing');
  });
}
