import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../../engine/time/scheduler.js';
import { GuestClock } from '../../../engine/time/clock.js';

test('tasks run in deadline order, ties by creation order', () => {
  const s = new Scheduler(new GuestClock());
  const order: string[] = [];
  const a = s.createTask('a', (n) => order.push(`a@${n}`));
  const b = s.createTask('b', (n) => order.push(`b@${n}`));
  const c = s.createTask('c', (n) => order.push(`c@${n}`));
  s.arm(c, 50);
  s.arm(b, 10);
  s.arm(a, 50);
  assert.equal(s.nextDueIcount, 10);
  s.runDue(9);
  assert.deepEqual(order, []);
  s.runDue(100);
  assert.deepEqual(order, ['b@100', 'a@100', 'c@100']);
  assert.equal(s.nextDueIcount, Infinity);
});

test('re-arming replaces the deadline; cancel removes it', () => {
  const s = new Scheduler(new GuestClock());
  let fired = 0;
  const t = s.createTask('t', () => fired++);
  s.arm(t, 100);
  s.arm(t, 200);
  assert.equal(s.nextDueIcount, 200);
  s.runDue(150);
  assert.equal(fired, 0);
  s.cancel(t);
  assert.equal(s.nextDueIcount, Infinity);
  s.runDue(1000);
  assert.equal(fired, 0);
  assert.equal(t.armed, false);
});

test('a periodic task re-arms itself from its callback', () => {
  const s = new Scheduler(new GuestClock());
  const hits: number[] = [];
  let due = 100;
  const t = s.createTask('tick', () => {
    hits.push(due);
    due += 100;
    s.arm(t, due);
  });
  s.arm(t, due);
  for (let now = 0; now <= 550; now += 50) s.runDue(now);
  assert.deepEqual(hits, [100, 200, 300, 400, 500]);
  assert.equal(s.nextDueIcount, 600);
});

test('a task re-armed in the past forever is caught, not hung', () => {
  const s = new Scheduler(new GuestClock());
  const t = s.createTask('bad', () => s.arm(t, 0));
  s.arm(t, 0);
  assert.throws(() => s.runDue(10), /keeps re-arming itself/);
});

test('time-based deadlines follow the clock and are re-derived when it re-bases', () => {
  const clock = new GuestClock('host', 10);
  const s = new Scheduler(clock);
  const t = s.createTask('t', () => {});
  s.armAtNs(t, 1_000_000); // 1 ms = 100,000 instructions at 10 ns each
  assert.equal(t.dueIcount, 100_000);
  clock.rebase(50_000, 900_000); // host time jumped ahead: guest time 900 us at icount 50k
  assert.equal(t.dueIcount, 60_000);
  clock.rebase(60_000, 0); // never backwards
  assert.equal(clock.nowNs(60_000), 1_000_000);
});

test('steady-state arm/cancel/run allocates nothing', () => {
  const s = new Scheduler(new GuestClock());
  const tasks = Array.from({ length: 8 }, (_, i) => s.createTask(`t${i}`, () => {}));
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const t = tasks[i & 7]!;
      s.arm(t, i + 5);
      if (i % 3 === 0) s.cancel(tasks[(i + 1) & 7]!);
      s.runDue(i);
    }
  };
  run(100_000); // warm up (JIT)
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  run(1_000_000);
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 1_000_000, `heap grew by ${grown} bytes over a million operations`);
});

test('state round-trips, and unknown tasks in a snapshot are rejected', () => {
  const mk = () => {
    const s = new Scheduler(new GuestClock());
    return { s, a: s.createTask('a', () => {}), b: s.createTask('b', () => {}) };
  };
  const x = mk();
  x.s.arm(x.a, 123);
  x.s.armAtNs(x.b, 5000);
  const saved = x.s.saveState();
  const y = mk();
  y.s.loadState(saved);
  assert.equal(y.a.dueIcount, 123);
  assert.equal(y.b.dueNs, 5000);
  assert.deepEqual(y.s.saveState(), saved);
  assert.equal(y.s.nextDueIcount, 123);
  assert.throws(() => y.s.loadState({ due: { zzz: { icount: 1, ns: -1 } } }), /unknown scheduler task "zzz"/);
  assert.throws(() => x.s.createTask('a', () => {}), /already exists/);
});
