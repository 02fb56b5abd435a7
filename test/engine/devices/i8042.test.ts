import { test } from 'node:test';
import assert from 'node:assert/strict';
import { I8042, Port92 } from '../../../engine/devices/i8042.js';
import { INPUT, type InputEvent } from '../../../engine/replay/boundary.js';
import { mkMachine, assertRoundTrip, type TestMachine } from './harness.js';

const keys = (icount: number, ...codes: number[]): InputEvent => ({ kind: INPUT.KEYBOARD, icount, target: 0, data: new Uint8Array(codes), value: 0 });

function setup(inputs: InputEvent[] = []): TestMachine & { kbc: I8042; p92: Port92 } {
  const t = mkMachine({ inputs });
  const kbc = t.m.addDevice(new I8042());
  const p92 = t.m.addDevice(new Port92(kbc));
  return Object.assign(t, { kbc, p92 });
}

/** Reads everything in the output buffer. */
function drain(t: TestMachine): number[] {
  const r: number[] = [];
  for (let i = 0; i < 64 && t.in8(0x64) & 1; i++) r.push(t.in8(0x60));
  return r;
}
const cmd = (t: TestMachine, c: number, data?: number) => {
  t.out8(0x64, c);
  if (data !== undefined) t.out8(0x60, data);
};

test('self-test, interface test, command byte and controller RAM', () => {
  const t = setup();
  assert.equal(t.in8(0x64) & 0x01, 0);
  cmd(t, 0xaa);
  assert.equal(t.in8(0x64) & 0x0d, 0x0d, 'OBF, SYS, and A2 (last write was a command)');
  assert.deepEqual(drain(t), [0x55]);
  cmd(t, 0xab);
  assert.deepEqual(drain(t), [0x00]);
  cmd(t, 0x20);
  assert.deepEqual(drain(t), [0x45]);
  cmd(t, 0x60, 0x61);
  cmd(t, 0x20);
  assert.deepEqual(drain(t), [0x61]);
  assert.equal(t.in8(0x64) & 0x04, 0, 'SYS follows the command byte');
  cmd(t, 0x65, 0x77);
  cmd(t, 0x25);
  assert.deepEqual(drain(t), [0x77]);
});

test('A20 through the output port and port 0x92; resets through 0xFE, the output port and port 0x92', () => {
  const t = setup();
  assert.equal(t.m.memory.a20Enabled, true);
  cmd(t, 0xd0);
  assert.deepEqual(drain(t), [0xcf]);
  cmd(t, 0xd1, 0xcd);
  assert.equal(t.m.memory.a20Enabled, false);
  t.out8(0x92, 0x02);
  assert.equal(t.m.memory.a20Enabled, true, 'fast A20 ORs in');
  assert.equal(t.in8(0x92), 0x02);
  t.out8(0x92, 0x00);
  assert.equal(t.m.memory.a20Enabled, false);
  cmd(t, 0xdf);
  assert.equal(t.m.memory.a20Enabled, true);
  cmd(t, 0xfe);
  t.m.run(1);
  assert.equal(t.m.resets, 1);
  cmd(t, 0xd1, 0xce); // reset line low
  t.m.run(1);
  assert.equal(t.m.resets, 2);
  t.out8(0x92, 0x01);
  t.m.run(1);
  assert.equal(t.m.resets, 3);
  cmd(t, 0xff); // pulse nothing
  t.m.run(1);
  assert.equal(t.m.resets, 3);
});

test('keyboard commands: reset, LEDs, identify, echo, scancode set, unknown', () => {
  const t = setup();
  t.out8(0x60, 0xff);
  assert.equal(t.m.irq.level(1), true, 'IRQ1 with OBF');
  assert.deepEqual(drain(t), [0xfa, 0xaa]);
  assert.equal(t.m.irq.level(1), false);
  t.out8(0x60, 0xed);
  t.out8(0x60, 0x07);
  assert.equal(t.kbc.kbdLeds, 7);
  t.out8(0x60, 0xf2);
  t.out8(0x60, 0xee);
  assert.deepEqual(drain(t), [0xfa, 0xfa, 0xfa, 0xab, 0x41, 0xee], 'identify through translation: AB 41');
  cmd(t, 0x60, 0x05); // translation off
  t.out8(0x60, 0xf2);
  t.out8(0x60, 0xf0);
  t.out8(0x60, 0x00);
  t.out8(0x60, 0x42);
  assert.deepEqual(drain(t), [0xfa, 0xab, 0x83, 0xfa, 0xfa, 0x02, 0xfe]);
});

test('key input: set 1 from the host, set 2 on the wire, translated back by the controller', () => {
  const inputs = [keys(10, 0x1e, 0x9e), keys(20, 0xe0, 0x48, 0xe0, 0xc8), keys(30, 0x1e, 0x9e), keys(40, 0x2a, 0xaa)];
  const t = setup(inputs);
  t.m.run(15);
  assert.deepEqual(drain(t), [0x1e, 0x9e]);
  cmd(t, 0x60, 0x05); // translation off: the guest sees set 2
  t.m.run(10);
  assert.deepEqual(drain(t), [0xe0, 0x75, 0xe0, 0xf0, 0x75]);
  t.out8(0x60, 0xf0);
  t.out8(0x60, 0x01); // keyboard to set 1
  drain(t);
  t.m.run(10);
  assert.deepEqual(drain(t), [0x1e, 0x9e]);
  t.out8(0x60, 0xf5); // disable scanning: keys are dropped
  drain(t);
  t.m.run(10);
  assert.deepEqual(drain(t), []);
  assert.equal(t.kbc.keysDropped, 2);
});

test('a disabled keyboard interface holds bytes until re-enabled', () => {
  const t = setup([keys(10, 0x10, 0x90)]);
  cmd(t, 0xad);
  t.m.run(20);
  assert.equal(t.in8(0x64) & 1, 0);
  cmd(t, 0xae);
  assert.deepEqual(drain(t), [0x10, 0x90]);
});

test('no mouse: the aux port passes its test and loops back, but the device never answers', () => {
  const t = setup();
  cmd(t, 0xa9);
  assert.deepEqual(drain(t), [0x00]);
  cmd(t, 0xd3, 0x5a);
  assert.equal(t.in8(0x64) & 0x21, 0x21, 'aux data');
  assert.deepEqual(drain(t), [0x5a]);
  cmd(t, 0x60, 0x47); // aux interrupts on
  cmd(t, 0xd4, 0xf2);
  assert.equal(t.in8(0x64) & 0x61, 0x61, 'timeout, aux, full');
  assert.equal(t.m.irq.level(12), true);
  assert.deepEqual(drain(t), [0xfe]);
  assert.equal(t.m.irq.level(12), false);
});

test('save -> load -> save with bytes queued and a command pending', () => {
  const inputs = [keys(10, 0x1e, 0x9e, 0x1f, 0x9f, 0x20, 0xa0)];
  const a = setup(inputs);
  const b = setup(inputs);
  a.out8(0x60, 0xff);
  a.m.run(20);
  a.in8(0x60);
  a.out8(0x64, 0xd1); // waiting for the output port byte
  assertRoundTrip(a, b, (t) => {
    t.out8(0x60, 0xcd);
    return [t.m.memory.a20Enabled, ...drain(t)];
  });
});
