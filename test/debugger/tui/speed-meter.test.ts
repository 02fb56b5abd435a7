import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpeedMeter, SPEED_MIN_MS } from '../../../debugger/tui/speed-meter.js';

test('SpeedMeter: instructions per second of the last measurable run', () => {
  let ms = 1000;
  const m = new SpeedMeter(() => ms);
  assert.equal(m.ips(), null);
  m.begin();
  ms += 100;
  m.update(2_000_000);
  assert.equal(m.ips(), 20_000_000, 'measured while running');
  ms += 100;
  m.end(6_000_000);
  assert.equal(m.ips(), 30_000_000, 'the final count over the whole run');
  // A run too short to measure keeps the previous value.
  m.begin();
  ms += SPEED_MIN_MS - 1;
  m.end(10);
  assert.equal(m.ips(), 30_000_000);
  // Progress never goes backwards within a run; a run with no instructions measures nothing.
  m.begin();
  ms += 50;
  m.update(1000);
  m.end(0);
  assert.equal(m.ips(), 20_000);
  m.begin();
  ms += 50;
  m.end(0);
  assert.equal(m.ips(), 20_000);
});
