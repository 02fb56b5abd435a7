import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pit8254, PIT_HZ } from '../../../engine/devices/pit8254.js';
import { ticksAtNs, nsAtTick } from '../../../engine/devices/device-clock.js';
import { mkMachine, assertRoundTrip, type TestMachine } from './harness.js';

function setup(): TestMachine & { pit: Pit8254; irq0: number[] } {
  const t = mkMachine();
  const pit = t.m.addDevice(new Pit8254());
  const irq0: number[] = [];
  t.m.irq.onChange = (line, level) => {
    if (line === 0 && level) irq0.push(t.m.icount);
  };
  return Object.assign(t, { pit, irq0 });
}

const tick = (t: TestMachine) => ticksAtNs(t.m.ctx.nowNs(), PIT_HZ);
const icountOfTick = (t: TestMachine, k: number) => t.m.clock.icountAtNs(nsAtTick(k, PIT_HZ));

test('tick conversions are exact and monotonic, also far from zero', () => {
  for (const ns of [0, 837, 838, 839, 1e9, 1e9 + 1, 123456789012345, 9.1e15]) {
    const k = ticksAtNs(ns, PIT_HZ);
    assert.ok(nsAtTick(k, PIT_HZ) <= ns && nsAtTick(k + 1, PIT_HZ) > ns, `tick boundaries around ${ns}`);
  }
  assert.equal(ticksAtNs(1e9, PIT_HZ), PIT_HZ);
});

test('mode 2 on counter 0: IRQ0 at every reload, N ticks apart, from the tick after the write', () => {
  const t = setup();
  t.advanceNs(1000);
  const t0 = tick(t);
  t.out8(0x43, 0x34); // counter 0, lo/hi, mode 2
  t.out8(0x40, 11932 & 0xff);
  t.out8(0x40, 11932 >> 8);
  t.advanceNs(35e6);
  const L = t0 + 1;
  assert.deepEqual(t.irq0, [1, 2, 3].map((k) => icountOfTick(t, L + k * 11932)));
  assert.equal(t.pit.irqCount, 3);
  // The count read back runs down from N and reloads.
  t.out8(0x43, 0x00); // latch counter 0
  const lo = t.in8(0x40);
  const hi = t.in8(0x40);
  const expect = 11932 - ((tick(t) - L) % 11932);
  assert.equal(lo | (hi << 8), expect);
});

test('mode 0 one-shot: OUT low until terminal count, one IRQ, then the count wraps', () => {
  const t = setup();
  t.out8(0x43, 0x30);
  t.out8(0x40, 100);
  t.out8(0x40, 0);
  t.out8(0x43, 0xe2); // read-back status of counter 0
  const st = t.in8(0x40);
  assert.equal(st & 0x80, 0, 'OUT low');
  assert.equal(st & 0x40, 0x40, 'null count until loaded on the next tick');
  assert.equal(st & 0x3f, 0x30);
  t.advanceNs(nsAtTick(50, PIT_HZ));
  t.out8(0x43, 0xe2);
  assert.equal(t.in8(0x40) & 0xc0, 0x00, 'loaded, still counting');
  t.advanceNs(1e6);
  assert.equal(t.irq0.length, 1);
  assert.equal(t.irq0[0], icountOfTick(t, 101));
  t.out8(0x43, 0xe2);
  assert.equal(t.in8(0x40) & 0x80, 0x80, 'OUT high after terminal count');
  t.out8(0x43, 0x00);
  const c = t.in8(0x40) | (t.in8(0x40) << 8);
  assert.equal(c, (100 - (tick(t) - 1) + 0x10000) & 0xffff, 'wrapped past zero');
  t.advanceNs(200e6);
  assert.equal(t.irq0.length, 1, 'mode 0 fires once');
});

test('BCD counting and LSB-only / MSB-only access', () => {
  const t = setup();
  t.out8(0x43, 0x71); // counter 1, lo/hi, mode 0, BCD
  t.out8(0x41, 0x00);
  t.out8(0x41, 0x10); // 1000 decimal
  t.advanceNs(nsAtTick(11, PIT_HZ) + 1);
  t.out8(0x43, 0x40);
  const k = tick(t) - 1;
  const dec = 1000 - k;
  const bcd = ((Math.floor(dec / 100) % 10) << 8) | ((Math.floor(dec / 10) % 10) << 4) | dec % 10;
  assert.equal(t.in8(0x41) | (t.in8(0x41) << 8), bcd);
  t.out8(0x43, 0x54); // counter 1, LSB only, mode 2
  t.out8(0x41, 200);
  t.advanceNs(nsAtTick(10, PIT_HZ));
  const v = t.in8(0x41);
  assert.ok(v < 200 && v > 180, `LSB-only read ${v}`);
  t.out8(0x43, 0x64); // counter 1, MSB only, mode 2
  t.out8(0x41, 0x20); // 0x2000
  t.advanceNs(1e5);
  assert.equal(t.in8(0x41), 0x1f, 'MSB of a count just below 0x2000');
});

test('lo/hi reads alternate; a latched count survives until fully read; read-back latches status then count', () => {
  const t = setup();
  t.out8(0x43, 0x34);
  t.out8(0x40, 0x34);
  t.out8(0x40, 0x12);
  t.advanceNs(5e5);
  t.out8(0x43, 0x00);
  const lo = t.in8(0x40);
  t.advanceNs(5e5);
  t.out8(0x43, 0x00); // a second latch before the first was read is ignored
  const hi = t.in8(0x40);
  const c1 = lo | (hi << 8);
  assert.equal(c1, 0x1234 - ((ticksAtNs(5e5, PIT_HZ) - 1) % 0x1234));
  t.out8(0x43, 0xc2); // read-back count + status, counter 0
  const st = t.in8(0x40);
  assert.equal(st & 0x3f, 0x34);
  const c2 = t.in8(0x40) | (t.in8(0x40) << 8);
  assert.equal(c2, 0x1234 - ((tick(t) - 1) % 0x1234));
});

test('counter 2 is gated by port 0x61 bit 0 and its OUT reads at bit 5; bit 4 toggles every 18 ticks', () => {
  const t = setup();
  assert.equal(t.in8(0x61) & 0x0f, 0);
  t.out8(0x61, 0x00); // gate off
  t.out8(0x43, 0xb0); // counter 2, lo/hi, mode 0
  t.out8(0x42, 0x00);
  t.out8(0x42, 0x01); // 256
  t.advanceNs(1e6);
  t.out8(0x43, 0x80);
  assert.equal(t.in8(0x42) | (t.in8(0x42) << 8), 256, 'gate low: not counting');
  assert.equal(t.in8(0x61) & 0x20, 0);
  const g = tick(t);
  t.out8(0x61, 0x01);
  t.m.run(t.m.clock.icountAtNs(nsAtTick(g + 1 + 255, PIT_HZ)) - t.m.icount);
  assert.equal(t.in8(0x61) & 0x20, 0, 'one tick before terminal count');
  t.m.run(t.m.clock.icountAtNs(nsAtTick(g + 1 + 256, PIT_HZ)) - t.m.icount);
  assert.equal(t.in8(0x61) & 0x20, 0x20, 'OUT2 high at terminal count');
  assert.equal(t.in8(0x61) & 0x01, 0x01);
  // Refresh toggle.
  const seen = new Set<number>();
  for (let i = 0; i < 40; i++) {
    const k = tick(t);
    assert.equal(t.in8(0x61) & 0x10, Math.floor(k / 18) & 1 ? 0x10 : 0);
    seen.add(t.in8(0x61) & 0x10);
    t.advanceNs(2000);
  }
  assert.equal(seen.size, 2);
  // Mode 3 square wave: high for the first half, low for the second.
  t.out8(0x43, 0xb6);
  t.out8(0x42, 100);
  t.out8(0x42, 0);
  const L = tick(t) + 1;
  t.m.run(t.m.clock.icountAtNs(nsAtTick(L + 20, PIT_HZ)) - t.m.icount);
  assert.equal(t.in8(0x61) & 0x20, 0x20);
  t.m.run(t.m.clock.icountAtNs(nsAtTick(L + 70, PIT_HZ)) - t.m.icount);
  assert.equal(t.in8(0x61) & 0x20, 0);
  // Gate low in mode 3 forces OUT high.
  t.out8(0x61, 0x00);
  assert.equal(t.in8(0x61) & 0x20, 0x20);
});

test('mode 2: a new count takes effect at the end of the current period', () => {
  const t = setup();
  t.out8(0x43, 0x34);
  t.out8(0x40, 1000 & 0xff);
  t.out8(0x40, 1000 >> 8);
  t.m.run(t.m.clock.icountAtNs(nsAtTick(1 + 500, PIT_HZ)) - t.m.icount);
  t.out8(0x40, 300 & 0xff);
  t.out8(0x40, 300 >> 8);
  t.advanceNs(nsAtTick(2000, PIT_HZ) - t.m.ctx.nowNs());
  assert.deepEqual(t.irq0, [1001, 1301, 1601, 1901].map((k) => icountOfTick(t, k)));
});

test('mode 1 and 5 on counter 2 start on a gate rising edge', () => {
  const t = setup();
  t.out8(0x43, 0xb2); // counter 2, mode 1
  t.out8(0x42, 50);
  t.out8(0x42, 0);
  t.advanceNs(1e5);
  assert.equal(t.in8(0x61) & 0x20, 0x20, 'mode 1 OUT high before the trigger');
  t.out8(0x61, 0x01);
  t.advanceNs(nsAtTick(10, PIT_HZ));
  assert.equal(t.in8(0x61) & 0x20, 0, 'low while counting');
  t.advanceNs(nsAtTick(60, PIT_HZ));
  assert.equal(t.in8(0x61) & 0x20, 0x20, 'high at terminal count');
});

test('mode 4 strobes OUT low for one tick at terminal count (IRQ0 on the following rise); mode 5 waits for the gate', () => {
  const t = setup();
  t.out8(0x43, 0x38); // counter 0, lo/hi, mode 4
  t.out8(0x40, 50);
  t.out8(0x40, 0);
  t.advanceNs(1e6);
  assert.deepEqual(t.irq0, [icountOfTick(t, 1 + 50 + 1)]);
  t.out8(0x43, 0xba); // counter 2, mode 5
  t.out8(0x42, 40);
  t.out8(0x42, 0);
  t.advanceNs(1e5);
  assert.equal(t.in8(0x61) & 0x20, 0x20, 'OUT high, not triggered');
  t.out8(0x61, 0x01);
  const g = tick(t);
  t.m.run(t.m.clock.icountAtNs(nsAtTick(g + 1 + 40, PIT_HZ)) - t.m.icount);
  assert.equal(t.in8(0x61) & 0x20, 0, 'the strobe');
  t.m.run(t.m.clock.icountAtNs(nsAtTick(g + 1 + 41, PIT_HZ)) - t.m.icount);
  assert.equal(t.in8(0x61) & 0x20, 0x20);
});

test('save -> load -> save in the middle of a count', () => {
  const a = setup();
  const b = setup();
  a.out8(0x43, 0x34);
  a.out8(0x40, 0x9c);
  a.out8(0x40, 0x2e);
  a.out8(0x61, 0x01);
  a.out8(0x43, 0xb0);
  a.out8(0x42, 0xff); // half of a lo/hi write pending
  a.advanceNs(25_123_456);
  a.out8(0x43, 0x00);
  a.in8(0x40); // half of a latched count read
  assertRoundTrip(a, b, (t) => {
    const r = [t.in8(0x40), t.in8(0x40), t.in8(0x40)];
    t.out8(0x42, 0x00);
    t.advanceNs(40e6);
    r.push(t.in8(0x61) & 0x20, (t as typeof a).pit.irqCount);
    return r;
  });
});
