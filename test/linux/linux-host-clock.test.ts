/**
 * Linux in host clock mode (`rewind run --clock host`): guest time follows
 * the host's through HOST_CLOCK samples taken by the live loop
 * (engine/host/host-clock.ts). The host clock here is a fake one the test
 * moves, so nothing depends on the real clock or on speed:
 *
 * - from the cached boot's prompt snapshot (restored into a host-clock PC):
 *   `date` is the wall clock at power-on plus guest time; when the host clock
 *   jumps 5 s ahead while the shell idles, `/proc/uptime` and `date +%s`
 *   advance by the same 5 s, and so does the count of timer interrupts (the
 *   guest catches up 1 ms per sample without losing a tick, and the TSC stays
 *   the clocksource); `sleep 1` takes one second of host time; the session
 *   replays to the same console text and state.
 * - REWIND_LINUX_FULL=1 also boots from power-on in host clock mode against
 *   a host running 2.5 times as fast as the guest, with stalls: the kernel
 *   must still calibrate the TSC at 1 GHz (a jump inside its interrupts-off
 *   calibration made it 97 MHz) and keep it as its clocksource (lost PIT
 *   ticks made its watchdog mark it unstable). That is a second boot
 *   (~3·10^9 instructions), so only there.
 *
 * Skips with a message when the fixtures are absent (or REWIND_LINUX_SKIP=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveLoop } from '../../engine/host/host-clock.js';
import { SteppingHost } from '../support/fake-host.js';
import { STOP } from '../../engine/device.js';
import { INPUT } from '../../engine/replay/boundary.js';
import type { Machine } from '../../engine/machine.js';
import { LinuxGuest, bootToPrompt, loadLinuxImages, replayGuest, LINUX_BOOT_MS, LINUX_PROMPT, LINUX_READY, LINUX_MAX_BOOT_ICOUNT, type LinuxImages } from './linux-guest.js';

const loaded = loadLinuxImages();
const skip = process.env['REWIND_LINUX_SKIP'] === '1' ? 'REWIND_LINUX_SKIP=1' : typeof loaded === 'string' ? loaded : false;
const images = typeof loaded === 'string' ? null : (loaded as LinuxImages);
const full = process.env['REWIND_LINUX_FULL'] === '1';

/**
 * A host clock on the guest's time axis that moves only when the live loop
 * sleeps (a halted guest ahead of the host), when the test moves it, and, for
 * `nsPerGuestNs` > 0, as the guest executes instructions (a host that much
 * faster than the guest's nominal speed), with a `stallNs` jump every
 * `stallEvery` readings.
 */
class FakeHost extends SteppingHost {
  private readonly m: Machine;
  private readonly ratio: number;
  private lastIcount: number;
  private reads = 0;
  stallEvery = 0;
  stallNs = 0;
  constructor(m: Machine, nsPerGuestNs = 0) {
    super(0); // timers as SteppingHost's; readings move with the guest instead (nowNs)
    this.m = m;
    this.ns = Math.round(m.clock.nowNs(m.icount));
    this.ratio = nsPerGuestNs;
    this.lastIcount = m.icount;
  }
  override nowNs(): number {
    const ic = this.m.icount;
    if (this.ratio > 0) {
      // Instructions executed cost host time; idle ones, credited at once while the CPU halts, do not
      // (a slice that ends halted is taken as idle: an approximation, in the guest's favour).
      if (!this.m.cpu.halted) this.ns += Math.round((ic - this.lastIcount) * this.m.clock.nsPerInstr * this.ratio);
      if (this.stallEvery > 0 && ++this.reads % this.stallEvery === 0) this.ns += this.stallNs;
    }
    this.lastIcount = ic;
    return this.ns;
  }
  override nowMs(): number {
    return Math.floor(this.nowNs() / 1e6);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A guest driven by a LiveLoop on a fake host clock, recording. */
class HostClockGuest {
  readonly g: LinuxGuest;
  readonly host: FakeHost;
  readonly loop: LiveLoop;
  readonly done: Promise<unknown>;
  constructor(g: LinuxGuest, host: FakeHost, untilIcount: number) {
    this.g = g;
    this.host = host;
    const rec = g.recording!;
    this.loop = new LiveLoop(rec.runner, rec.boundary, { hostClock: host, timers: host, untilIcount });
    this.done = this.loop.run().then((r) => {
      if (r.reason !== STOP.REQUESTED) throw new Error(`live loop ended: ${r.reason} ${r.detail}`);
    });
  }
  get guestNs(): number {
    const m = this.g.pc.machine;
    return m.clock.nowNs(m.icount);
  }
  async until(cond: () => boolean, what: string, maxInstructions = 3e9): Promise<void> {
    const limit = this.g.icount + maxInstructions;
    while (!cond()) {
      if (this.g.icount > limit) throw new Error(`${what}: not after ${maxInstructions} instructions; console tail: ${JSON.stringify(this.g.text.slice(-400))}`);
      await tick();
    }
  }
  /** Types `cmd` and waits for the next prompt; returns its output and the guest time then. */
  async command(cmd: string): Promise<{ out: string; guestNs: number; hostNs: number }> {
    const from = this.g.text.length;
    const hostNs = this.host.ns;
    this.g.type(`${cmd}\n`);
    this.loop.wake();
    await this.until(() => this.g.text.indexOf(`\n${LINUX_PROMPT}`, from) >= 0, `prompt after ${JSON.stringify(cmd)}`);
    return { out: this.g.outputOf(cmd, from), guestNs: this.guestNs, hostNs: this.host.ns - hostNs };
  }
  async stop(): Promise<void> {
    this.loop.stop();
    await this.done;
  }
}

/**
 * `date +%s` printed at guest time `guestNs` is the wall clock at power-on
 * plus guest time, less up to a second for the RTC's resolution (the kernel
 * sets its clock to the whole second it reads) and a second for `date`'s.
 */
function assertWallClock(date: number, guestNs: number): void {
  const expected = LINUX_BOOT_MS / 1000 + guestNs / 1e9;
  assert.ok(date <= expected && date > expected - 2, `date ${date} at guest time ${guestNs / 1e9} s after a power-on at ${LINUX_BOOT_MS / 1000}`);
}

/** The guest's clocks: wall clock, uptime, timer interrupts taken (IRQ0, the 250 Hz tick) and clocksource. */
const TIMES_CMD = "date +%s; cat /proc/uptime; grep ' 0:' /proc/interrupts; cat /sys/devices/system/clocksource/clocksource0/current_clocksource";

function parseTimes(out: string): { date: number; uptime: number; ticks: number; clocksource: string } {
  const m = /^(\d+)\n(\d+\.\d+) [^\n]*\n\s*0:\s+(\d+)[^\n]*\n(\S+)\n$/.exec(out);
  assert.ok(m, `${TIMES_CMD} printed ${JSON.stringify(out)}`);
  return { date: Number(m[1]), uptime: Number(m[2]), ticks: Number(m[3]), clocksource: m[4]! };
}

test('Linux in host clock mode: date is the boot wall clock plus guest time, a 5 s host jump moves uptime and date by 5 s, sleep 1 takes 1 s, and the session replays', { skip }, async () => {
  const boot = bootToPrompt(images!);
  const g = new LinuxGuest(images!, { from: boot.snapshot, clockMode: 'host' });
  g.startRecording(24);
  const recText = g.text.length;
  const m = g.pc.machine;
  const h = new HostClockGuest(g, new FakeHost(m), m.icount + 5e9);
  try {
    const a = await h.command(TIMES_CMD);
    const ta = parseTimes(a.out);
    // The kernel set its clock from the RTC, which counts from the wall clock at power-on.
    assertWallClock(ta.date, a.guestNs);

    // The host clock jumps 5 s while the shell waits for input.
    const JUMP_NS = 5e9;
    h.host.ns += JUMP_NS;
    await h.until(() => h.guestNs >= h.host.ns - 1e6, 'guest time caught up with the host');
    assert.ok(h.loop.slewedSamples > 0, 'samples were cut to 1 ms');
    const b = await h.command(TIMES_CMD);
    const tb = parseTimes(b.out);
    const dGuest = (b.guestNs - a.guestNs) / 1e9;
    assert.ok(dGuest >= 5 && dGuest < 5.5, `guest time advanced ${dGuest} s`);
    // Within a couple of ticks (the commands themselves take a few ms of guest time).
    assert.ok(Math.abs(tb.uptime - ta.uptime - dGuest) <= 0.03, `uptime ${ta.uptime} -> ${tb.uptime} while guest time advanced ${dGuest} s`);
    assert.ok(Math.abs(tb.date - ta.date - dGuest) <= 1, `date ${ta.date} -> ${tb.date} while guest time advanced ${dGuest} s`);
    // No tick lost: a jump longer than the PIT period would pass several edges for one interrupt,
    // and the kernel's jiffies-based watchdog would then mark the TSC unstable.
    const HZ = 250;
    assert.ok(Math.abs(tb.ticks - ta.ticks - dGuest * HZ) <= 3, `${tb.ticks - ta.ticks} timer interrupts in ${dGuest} s of guest time at HZ=${HZ}`);
    assert.equal(ta.clocksource, 'tsc');
    assert.equal(tb.clocksource, 'tsc');
    assert.doesNotMatch(g.text.slice(recText), /unstable|Marking clocksource/);

    // `sleep 1` takes a second of host time: the loop waits for the host while the guest idles.
    const waited = h.loop.waitedMs;
    const s = await h.command('sleep 1');
    assert.equal(s.out, '');
    assert.ok(s.hostNs >= 1e9 && s.hostNs < 1.1e9, `sleep 1 took ${s.hostNs / 1e9} s of host time`);
    assert.ok(h.loop.waitedMs - waited >= 900, `the loop waited ${h.loop.waitedMs - waited} ms of host time`);
  } finally {
    await h.stop();
  }
  const journal = g.finishRecording();
  assert.equal(journal.header.clockMode, 'host');
  assert.ok(journal.events.some((e) => e.kind === INPUT.HOST_CLOCK), 'host clock readings are journaled');
  const rp = replayGuest(images!, journal);
  while (!rp.replay!.runner.run(10_000_000).journalEnd);
  assert.equal(rp.icount, g.icount);
  assert.equal(rp.text, g.text.slice(recText));
  assert.equal(rp.pc.stateHash(), g.pc.stateHash());
  assert.equal(rp.replay!.boundary.endVerified, true);
});

test('Linux boots in host clock mode against a host 2.5x faster than the guest, with stalls: TSC calibrated at 1 GHz and kept as the clocksource', { skip: skip || (full ? false : 'REWIND_LINUX_FULL=1 boots Linux a second time, in host clock mode') }, async () => {
  const g = new LinuxGuest(images!, { clockMode: 'host' });
  g.startRecording();
  const m = g.pc.machine;
  const host = new FakeHost(m, 2.5);
  host.stallEvery = 1000;
  host.stallNs = 30e6;
  const h = new HostClockGuest(g, host, LINUX_MAX_BOOT_ICOUNT);
  try {
    await h.until(() => g.text.includes(LINUX_READY) && g.text.indexOf(LINUX_PROMPT, g.text.indexOf(LINUX_READY)) >= 0, 'the shell prompt', LINUX_MAX_BOOT_ICOUNT);
    const t = g.text;
    assert.match(t, /tsc: Fast TSC calibration using PIT/);
    const mhz = /tsc: Detected (\d+\.\d+) MHz processor/.exec(t);
    assert.ok(mhz && Math.abs(Number(mhz[1]) - 1000) < 1, `TSC calibrated at ${mhz?.[1]} MHz`);
    assert.doesNotMatch(t, /unstable|Marking clocksource/);
    assert.match(t, /clocksource: Switched to clocksource tsc\r?\n/);
    await h.until(() => h.guestNs >= h.host.ns - 1e6, 'guest time caught up with the host');
    const r = await h.command('cat /sys/devices/system/clocksource/clocksource0/current_clocksource; date +%s');
    const [cs, date] = r.out.trim().split('\n');
    assert.equal(cs, 'tsc');
    assertWallClock(Number(date), r.guestNs);
    assert.ok(Math.abs(r.guestNs - h.host.ns) < 50e6, `guest time ${r.guestNs} follows the host's ${h.host.ns}`);
  } finally {
    await h.stop();
  }
});
