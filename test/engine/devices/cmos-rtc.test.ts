import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CmosRtc, fieldsFromSeconds, secondsFromFields, daysFromCivil } from '../../../engine/devices/cmos-rtc.js';
import { mkMachine, assertRoundTrip, type TestMachine } from './harness.js';

const BOOT = Date.UTC(2024, 1, 29, 23, 59, 58, 250); // Thursday, a leap day, 250 ms into a second

function setup(opts: { ramBytes?: number; wallClockMs?: number } = {}): TestMachine & { rtc: CmosRtc } {
  const t = mkMachine({ wallClockMs: opts.wallClockMs ?? BOOT, ...(opts.ramBytes ? { ramBytes: opts.ramBytes } : {}) });
  const rtc = t.m.addDevice(new CmosRtc());
  return Object.assign(t, { rtc });
}

const rd = (t: TestMachine, reg: number) => (t.out8(0x70, reg), t.in8(0x71));
const wr = (t: TestMachine, reg: number, v: number) => (t.out8(0x70, reg), t.out8(0x71, v));
const timeRegs = (t: TestMachine) => [0, 2, 4, 6, 7, 8, 9, 0x32].map((r) => rd(t, r));
/** Runs to `ns` after power-on. */
const at = (t: TestMachine, ns: number) => t.m.run(t.m.clock.icountAtNs(ns) - t.m.icount);

test('calendar arithmetic agrees with the host calendar over four centuries', () => {
  let x = 12345;
  for (let i = 0; i < 2000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const s = (x % 12_600_000) * 1000 - 3_000_000_000; // 1875 .. 2269
    const d = new Date(s * 1000);
    const f = fieldsFromSeconds(s);
    assert.deepEqual(
      [f.year, f.month, f.day, f.hour, f.min, f.sec, f.dow],
      [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCDay() + 1],
    );
    assert.equal(secondsFromFields(f), s);
  }
  assert.equal(daysFromCivil(2000, 3, 1) - daysFromCivil(2000, 2, 28), 2, '2000 is a leap year');
  assert.equal(daysFromCivil(2100, 3, 1) - daysFromCivil(2100, 2, 28), 1, '2100 is not');
});

test('the time at power-on comes from the boundary, in BCD 24-hour mode, and advances with guest time', () => {
  const t = setup();
  assert.deepEqual(timeRegs(t), [0x58, 0x59, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20]);
  at(t, 749_999_990);
  assert.equal(rd(t, 0), 0x58, 'the first update is 750 ms after power-on');
  at(t, 750_000_000);
  assert.equal(rd(t, 0), 0x59);
  at(t, 1_750_000_000);
  assert.deepEqual(timeRegs(t), [0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x24, 0x20], 'Friday 2024-03-01');
  at(t, 1_750_000_000 + 86400e9 * 306 + 3600e9 * 5);
  assert.deepEqual(timeRegs(t), [0x00, 0x00, 0x05, 0x04, 0x01, 0x01, 0x25, 0x20], 'New Year 2025 at 05:00, a Wednesday');
});

test('UIP is set during the 244 us before each update', () => {
  const t = setup();
  at(t, 750_000_000 - 300_000);
  assert.equal(rd(t, 0x0a) & 0x80, 0);
  at(t, 750_000_000 - 200_000);
  assert.equal(rd(t, 0x0a), 0x80 | 0x26);
  assert.equal(rd(t, 0), 0x58, 'the old time until the update');
  at(t, 750_000_000);
  assert.equal(rd(t, 0x0a), 0x26);
});

test('binary and 12-hour modes', () => {
  const t = setup();
  wr(t, 0x0b, 0x04); // binary, 12-hour
  assert.deepEqual([rd(t, 0), rd(t, 2), rd(t, 4), rd(t, 9), rd(t, 0x32)], [58, 59, 0x80 | 11, 24, 20]);
  at(t, 1_750_000_000);
  assert.equal(rd(t, 4), 12, 'midnight is 12 AM');
});

test('SET stops updates while software writes the time; clearing it restarts on the same phase', () => {
  const t = setup();
  wr(t, 0x0b, 0x82);
  wr(t, 0, 0x30); wr(t, 2, 0x15); wr(t, 4, 0x10); wr(t, 7, 0x31); wr(t, 8, 0x12); wr(t, 9, 0x99); wr(t, 0x32, 0x19);
  at(t, 3e9);
  assert.deepEqual(timeRegs(t).filter((_, i) => i !== 3), [0x30, 0x15, 0x10, 0x31, 0x12, 0x99, 0x19], 'held while SET');
  wr(t, 0x0b, 0x02);
  assert.equal(rd(t, 6), 0x06, '1999-12-31 was a Friday');
  at(t, 3.75e9);
  assert.deepEqual(timeRegs(t), [0x31, 0x15, 0x10, 0x06, 0x31, 0x12, 0x99, 0x19]);
  at(t, 3.75e9 + 3600e9 * 14 - 1e9 * (15 * 60 + 31));
  assert.deepEqual(timeRegs(t), [0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00, 0x20], 'Y2K');
  // Writing one field while running keeps the others ticking.
  wr(t, 2, 0x42);
  assert.deepEqual([rd(t, 0), rd(t, 2), rd(t, 4)], [0x00, 0x42, 0x00]);
});

test('the divider in reset stops the clock; releasing it gives the first update 500 ms later', () => {
  const t = setup();
  wr(t, 0x0a, 0x76);
  at(t, 5e9);
  assert.equal(rd(t, 0), 0x58);
  assert.equal(rd(t, 0x0a) & 0x80, 0);
  wr(t, 0x0a, 0x26);
  at(t, 5.5e9 - 10);
  assert.equal(rd(t, 0), 0x58);
  at(t, 5.5e9);
  assert.equal(rd(t, 0), 0x59);
});

test('periodic interrupt at the rate select, acknowledged by reading register C', () => {
  const t = setup();
  const rises: number[] = [];
  t.m.irq.onChange = (line, level) => {
    if (line === 8 && level) rises.push(t.m.ctx.nowNs());
  };
  wr(t, 0x0a, 0x26); // 1024 Hz
  rd(t, 0x0c);
  wr(t, 0x0b, 0x42);
  let n = 0;
  for (let i = 0; i < 1000; i++) {
    t.advanceNs(100_000);
    if (t.m.irq.level(8)) {
      const c = rd(t, 0x0c);
      assert.equal(c & 0xc0, 0xc0);
      n++;
    }
  }
  assert.ok(n >= 101 && n <= 103, `about 102 interrupts in 100 ms, got ${n}`);
  for (let i = 1; i < rises.length; i++) {
    const d = rises[i]! - rises[i - 1]!;
    assert.ok(d >= 976_000 && d <= 977_000, `period ${d} ns`);
  }
  wr(t, 0x0b, 0x02);
  rd(t, 0x0c);
  assert.equal(t.m.irq.level(8), false);
  t.advanceNs(1e9);
  assert.equal(rd(t, 0x0c), 0x50, 'flags still set without enables, but no IRQF');
});

test('update-ended and alarm interrupts', () => {
  const t = setup();
  wr(t, 0x0a, 0x20); // no periodic rate: PF stays clear
  wr(t, 0x0b, 0x12); // UIE
  rd(t, 0x0c);
  at(t, 749_999_990);
  assert.equal(t.m.irq.level(8), false);
  at(t, 750_000_000);
  assert.equal(t.m.irq.level(8), true);
  assert.equal(rd(t, 0x0c), 0x90);
  assert.equal(t.m.irq.level(8), false);
  // Alarm at 00:00:02 on the next day, with "don't care" hours.
  wr(t, 0x0b, 0x22);
  wr(t, 1, 0x02); wr(t, 3, 0x00); wr(t, 5, 0xc0);
  rd(t, 0x0c);
  at(t, 3.75e9 - 10);
  assert.equal(t.m.irq.level(8), false);
  at(t, 3.75e9);
  assert.equal(t.m.irq.level(8), true);
  assert.equal(rd(t, 0x0c), 0xb0, 'IRQF | AF | UF');
});

test('CMOS memory fields, checksum, NMI mask bit', () => {
  const t = setup({ ramBytes: 128 << 20 });
  const w = (lo: number) => rd(t, lo) | (rd(t, lo + 1) << 8);
  assert.equal(w(0x15), 640);
  assert.equal(w(0x17), 65535, 'capped');
  assert.equal(w(0x30), 65535);
  assert.equal(w(0x34), (112 << 20) / 65536);
  assert.equal(rd(t, 0x5b) | rd(t, 0x5c) | rd(t, 0x5d), 0);
  let sum = 0;
  for (let i = 0x10; i <= 0x2d; i++) sum += rd(t, i);
  assert.equal((rd(t, 0x2e) << 8) | rd(t, 0x2f), sum);
  const s = setup({ ramBytes: 8 << 20 });
  assert.equal(rd(s, 0x17) | (rd(s, 0x18) << 8), 7 * 1024);
  assert.equal(rd(s, 0x34) | rd(s, 0x35), 0);
  t.out8(0x70, 0x8f);
  assert.equal(t.rtc.nmiMasked, true);
  t.out8(0x71, 0x5a);
  assert.equal(rd(t, 0x0f), 0x5a);
  assert.equal(t.rtc.nmiMasked, false);
  assert.equal(rd(t, 0x0d), 0x80);
});

test('reset clears interrupt enables and flags but keeps the time', () => {
  const t = setup();
  wr(t, 0x0b, 0x52);
  t.advanceNs(2e9);
  t.m.reset();
  assert.equal(rd(t, 0x0b), 0x02);
  assert.equal(rd(t, 0x0c), 0);
  assert.equal(rd(t, 0), 0x00, 'two updates later');
});

test('save -> load -> save in the UIP window with periodic and update interrupts armed', () => {
  const a = setup();
  const b = setup();
  wr(a, 0x0a, 0x2a); // 64 Hz
  wr(a, 0x0b, 0x52);
  rd(a, 0x0c);
  at(a, 750_000_000 - 100_000);
  assert.equal(rd(a, 0x0a) & 0x80, 0x80);
  assertRoundTrip(a, b, (t) => {
    const r: number[] = [];
    for (let i = 0; i < 50; i++) {
      t.advanceNs(7e6);
      r.push(t.m.irq.level(8) ? rd(t, 0x0c) : -1, rd(t, 0));
    }
    return r;
  });
});
