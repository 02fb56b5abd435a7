import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DebugPorts } from '../../../engine/devices/debug-ports.js';
import { OUTPUT } from '../../../engine/replay/boundary.js';
import { STOP } from '../../../engine/device.js';
import { mkMachine, assertRoundTrip } from './harness.js';

test('0xE9 console, 0x80 POST codes, 0xF4 debug-exit', () => {
  const t = mkMachine();
  const d = t.m.addDevice(new DebugPorts());
  assert.equal(t.in8(0xe9), 0xe9, 'detection answer');
  for (const c of 'ok\n') t.out8(0xe9, c.charCodeAt(0));
  assert.deepEqual(t.outBytes(OUTPUT.DEBUGCON), [0x6f, 0x6b, 0x0a]);
  assert.equal(t.in8(0x402), 0xe9, 'the firmware console answers like 0xE9');
  t.out8(0x402, 0x41);
  assert.deepEqual(t.outBytes(OUTPUT.DEBUGCON, 1), [0x41], 'as target 1');
  assert.equal(d.lastPostCode, -1);
  t.out8(0x80, 0x3c);
  assert.equal(d.lastPostCode, 0x3c);
  assert.equal(t.in8(0x80), 0x3c);
  // The exit is requested while the CPU runs (here: by a timer at icount 5).
  let value = 0x01;
  const task = t.m.scheduler.createTask('write-f4', () => t.m.ports.out8(0xf4, value));
  t.m.scheduler.arm(task, 5);
  assert.deepEqual(t.m.run(100), { reason: STOP.EXIT, detail: 'debug-exit port 0xf4 <- 0x1', exitCode: 1 });
  assert.equal(t.m.icount, 5, 'stops at the instruction that wrote the port');
  value = 0;
  t.m.scheduler.arm(task, 7);
  assert.equal(t.m.run(100).exitCode, 0);
  assert.equal(t.m.icount, 7);
});

test('save -> load -> save keeps the POST code', () => {
  const a = mkMachine();
  const b = mkMachine();
  a.m.addDevice(new DebugPorts());
  b.m.addDevice(new DebugPorts());
  a.out8(0x80, 0x55);
  assertRoundTrip(a, b, (t) => [t.in8(0x80)]);
});
