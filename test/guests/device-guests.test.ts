/**
 * Device guests (fixtures/guests/src/dev-*.asm): programs that drive the PIT,
 * the UART in interrupt mode, the RTC and the PCnet card through their ports
 * from a reset-vector ROM, and report like the CPU guests (0xE9 text,
 * exit status through 0xF4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runGuest, guestImage, describeRun, GUEST_EXIT } from '../support/guest-runner.js';
import { INPUT, OUTPUT } from '../../engine/replay/boundary.js';


function text(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

test('dev-pit — IRQ0 ticks through the remapped PIC while halted, steady against RDTSC, latch/read-back, counter 2, BCD', () => {
  const run = runGuest(guestImage('dev-pit'), { maxInstructions: 400_000_000 });
  assert.equal(run.exitCode, GUEST_EXIT.PASS, describeRun('dev-pit', run));
  assert.match(run.console, /^PASS dev-pit /m);
  // 21 ticks of 10 ms were waited for: virtual time (icount x ns per instruction) must cover them.
  const ns = run.icount * run.machine.config.nsPerInstr;
  assert.ok(ns >= 210e6 && ns < 5e9, `virtual time ${ns} ns after 21 PIT ticks at 100 Hz`);
});

test('dev-pic — poll mode, IRR/ISR, IMR, fixed and rotated priority, EOIs, ELCR level mode, cascade, one real interrupt', () => {
  const run = runGuest(guestImage('dev-pic'), { maxInstructions: 50_000_000 });
  assert.equal(run.exitCode, GUEST_EXIT.PASS, describeRun('dev-pic', run));
  assert.match(run.console, /^PASS dev-pic /m);
});

test('dev-uart — THRE and RX interrupts, loopback, IIR priority; the message reaches COM1', () => {
  const run = runGuest(guestImage('dev-uart'), { maxInstructions: 50_000_000 });
  assert.equal(run.exitCode, GUEST_EXIT.PASS, describeRun('dev-uart', run));
  assert.equal(run.serial, 'uart: hello through THRE interrupts\r\nuart: loopback ok\r\n');
});

test('dev-rtc — time from the boundary at power-on, periodic and update interrupts on IRQ8, CMOS memory size', () => {
  const run = runGuest(guestImage('dev-rtc'), {
    maxInstructions: 1_000_000_000,
    ramBytes: 32 * 1024 * 1024,
    wallClockMs: Date.UTC(2026, 0, 1, 0, 0, 0),
  });
  assert.equal(run.exitCode, GUEST_EXIT.PASS, describeRun('dev-rtc', run));
  assert.match(run.console, /^rtc: 2026-01-01 00:00:0\d$/m, describeRun('dev-rtc', run));
  assert.match(run.console, /^cmos: base 640 KiB, extended 31744 KiB$/m, describeRun('dev-rtc', run));
});

test('dev-pcnet — PCI scan, rings, internal loopback, a frame sent to the wire and one received from the host', () => {
  const frame = new Uint8Array(60);
  frame.fill(0xff, 0, 6); // broadcast
  frame.set([0x02, 0, 0, 0, 0, 1], 6);
  frame.set([0x88, 0xb5], 12);
  const payload = 'hello from the test harness';
  for (let i = 0; i < payload.length; i++) frame[14 + i] = payload.charCodeAt(i);
  const run = runGuest(guestImage('dev-pcnet'), {
    maxInstructions: 300_000_000,
    inputs: [{ kind: INPUT.NET_RX, icount: 3_000_000, target: 0, data: frame, value: 0 }],
  });
  assert.equal(run.exitCode, GUEST_EXIT.PASS, describeRun('dev-pcnet', run));
  assert.match(run.console, /^pcnet: mac 52:54:00:12:34:56$/m);
  assert.match(run.console, /^pcnet: received 60 bytes: hello from the test harness$/m, describeRun('dev-pcnet', run));
  const sent = run.boundary.outputs.filter((o) => o.kind === OUTPUT.NET_TX).map((o) => text(o.data));
  assert.equal(sent.length, 1, `frames on the wire: ${sent.length}`);
  assert.ok(sent[0]!.startsWith('\xff'.repeat(6) + '\x52\x54\x00\x12\x34\x56\x88\xb5hello from a rewind guest\0'), JSON.stringify(sent[0]));
});

test('dev-kbc — A20 through port 0x92 and the i8042 output port, self-test, CPU reset by command 0xFE', () => {
  const run = runGuest(guestImage('dev-kbc'), { maxInstructions: 20_000_000 });
  assert.equal(run.exitCode, GUEST_EXIT.PASS, describeRun('dev-kbc', run));
  assert.match(run.console, /^dev-kbc: resetting through the keyboard controller\ndev-kbc: rebooted by the keyboard controller\nPASS dev-kbc /m, describeRun('dev-kbc', run));
  assert.equal(run.machine.resets, 1, 'one reset');
});
