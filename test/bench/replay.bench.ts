/**
 * Record/replay benchmarks (contract of test/bench/run.ts: `bench()` returns
 * figures). Workload: the toy machine of test/engine/replay (RAM traffic over
 * a 256 KiB working set, serial in/out, timer, frames) with host-like inputs
 * every few thousand instructions, in host clock mode with a host-clock
 * sample per ~1 ms of guest time, like a live run. Until engine/pc.ts exists
 * the CPU part of these numbers means little; journal size, sync, checkpoint
 * and seek mechanics are real.
 *
 * Run alone: node .build/NAME/test/bench/replay.bench.js
 */
import { INPUT, ScriptedBoundary } from '../../engine/replay/boundary.js';
import { LiveBoundary } from '../../engine/replay/live-boundary.js';
import { MemorySink, decodeJournal, type JournalContents } from '../../engine/replay/journal.js';
import { Runner } from '../../engine/replay/runner.js';
import { nativeSha256 } from '../../engine/host/native-hash.js';
import { startRecording, startReplay } from '../../engine/replay/session.js';
import { createToyPc, toyMachineConfig } from '../engine/replay/toy-pc.js';
import { BOOT_MS, prng } from '../engine/replay/toy-session.js';
import { loadGuestEngine, guestImage, type GuestEngine } from '../support/guest-runner.js';
import type { Machine } from '../../engine/machine.js';
import { loadMiniPc } from '../engine/replay/mini-pc.js';
import { LiveLoop } from '../../engine/host/host-clock.js';
import { SteppingHost } from '../support/fake-host.js';
import { OUTPUT } from '../../engine/replay/boundary.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../util.js';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

const TOTAL = 20_000_000;
const SLICE = 100_000; // ~1 ms of guest time: one host-clock sample per slice, as the live loop does

type Mode = 'live' | 'record';

/** Runs the workload live or recording; returns seconds and the journal. */
function drive(mode: Mode, checkpointInterval = 0): { seconds: number; journal: JournalContents | null; inputs: number; inputBytes: number; syncs: number } {
  const toy = createToyPc(new ScriptedBoundary(), { clockMode: 'host' });
  const rnd = prng(1234);
  const sink = new MemorySink();
  let push: LiveBoundary;
  let runner: Runner;
  let rec: ReturnType<typeof startRecording> | null = null;
  if (mode === 'record') {
    rec = startRecording(toy.m, sink, { bootWallMs: BOOT_MS, machineConfig: toyMachineConfig(toy.m), checkpointInterval });
    runner = rec.runner;
    push = rec.boundary;
  } else {
    push = new LiveBoundary(BOOT_MS);
    runner = new Runner(toy.m, push, { checkpointInterval });
  }
  let hostNs = 0;
  const t0 = cpuNow();
  while (toy.m.icount < TOTAL) {
    runner.run(SLICE);
    hostNs += 900_000 + Math.floor(rnd() * 200_000);
    push.push(INPUT.HOST_CLOCK, 0, null, hostNs);
    const roll = rnd();
    if (roll < 0.05) push.push(INPUT.SERIAL, 0, new Uint8Array([Math.floor(rnd() * 256)]));
    else if (roll < 0.07) push.push(INPUT.NET_RX, 0, new Uint8Array(60 + Math.floor(rnd() * 1400)).fill(7));
  }
  if (rec) runner.finishRecording();
  const seconds = cpuNow() - t0;
  return {
    seconds,
    journal: rec ? decodeJournal(sink.bytes()) : null,
    inputs: rec ? rec.encoder.inputEvents : 0,
    inputBytes: rec ? rec.encoder.inputBytes : 0,
    syncs: rec ? rec.boundary.syncs.length : 0,
  };
}

function replaySeconds(journal: JournalContents, checkpointInterval = 0): number {
  const toy = createToyPc(new ScriptedBoundary(), { clockMode: 'host' });
  const { runner } = startReplay(toy.m, journal, { checkpointInterval });
  const t0 = cpuNow();
  while (!runner.run(10_000_000).journalEnd);
  return cpuNow() - t0;
}

/** CPU seconds of this process (user + system): less disturbed than wall time by other jobs on the host. */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

/** The same measurements on the real CPU running a guest program (host clock mode, a sample per slice). */
function realDrive(engine: GuestEngine, guest: string, total: number, mode: Mode, checkpointInterval = 0): { seconds: number; journal: JournalContents | null; m: Machine } {
  const m = engine.create(guestImage(guest), new ScriptedBoundary([], BOOT_MS), { ramBytes: 32 * 1024 * 1024, clockMode: 'host' });
  const sink = new MemorySink();
  let push: LiveBoundary;
  let runner: Runner;
  let rec: ReturnType<typeof startRecording> | null = null;
  if (mode === 'record') {
    rec = startRecording(m, sink, { bootWallMs: BOOT_MS, checkpointInterval, sha256: nativeSha256 });
    runner = rec.runner;
    push = rec.boundary;
  } else {
    push = new LiveBoundary(BOOT_MS);
    runner = new Runner(m, push, { checkpointInterval, sha256: nativeSha256 });
  }
  let hostNs = 0;
  const t0 = cpuNow();
  while (m.icount < total) {
    const r = runner.run(SLICE, total);
    if (r.reason !== 'budget' && r.reason !== 'until') break;
    hostNs += 1_000_000;
    push.push(INPUT.HOST_CLOCK, 0, null, hostNs);
  }
  if (rec) runner.finishRecording();
  return { seconds: cpuNow() - t0, journal: rec ? decodeJournal(sink.bytes()) : null, m };
}

async function realBench(out: BenchResult[]): Promise<void> {
  const load = await loadGuestEngine();
  if (!load.engine) {
    out.push({ name: 'replay.real.skipped', value: 0, unit: load.missing });
    return;
  }
  const engine = load.engine;
  const guest = 'bench-mem';
  const total = 30_000_000;
  let live = realDrive(engine, guest, total, 'live');
  let rec = realDrive(engine, guest, total, 'record');
  let cp = realDrive(engine, guest, total, 'record', 10_000_000);
  for (let i = 0; i < 2; i++) {
    const l = realDrive(engine, guest, total, 'live');
    if (l.seconds < live.seconds) live = l;
    const r = realDrive(engine, guest, total, 'record');
    if (r.seconds < rec.seconds) rec = r;
    const c = realDrive(engine, guest, total, 'record', 10_000_000);
    if (c.seconds < cp.seconds) cp = c;
  }
  const journal = rec.journal!;
  const replayOnce = (checkpointInterval: number) => {
    const m = engine.create(guestImage(guest), new ScriptedBoundary([], BOOT_MS), { ramBytes: 32 * 1024 * 1024, clockMode: 'host' });
    const { runner } = startReplay(m, journal, { checkpointInterval, sha256: nativeSha256 });
    const t0 = cpuNow();
    while (!runner.run(10_000_000).journalEnd);
    return { seconds: cpuNow() - t0, runner };
  };
  let replay = replayOnce(0).seconds;
  for (let i = 0; i < 2; i++) replay = Math.min(replay, replayOnce(0).seconds);
  out.push({ name: `replay.real.live-speed`, value: +(total / live.seconds / 1e6).toFixed(1), unit: `M instr/s (${guest} on the real CPU, ${live.m.icount} instructions)` });
  out.push({ name: 'replay.real.record-overhead', value: +((rec.seconds / live.seconds - 1) * 100).toFixed(1), unit: `% vs live (${journal.syncs.length} syncs, ${journal.events.length} inputs, ${journal.bytes} bytes)` });
  out.push({ name: 'replay.real.replay-speed', value: +(live.seconds / replay).toFixed(2), unit: 'x live' });
  out.push({ name: 'replay.real.checkpoint-overhead', value: +((cp.seconds / rec.seconds - 1) * 100).toFixed(1), unit: '% (checkpoints every 1e7 vs none)' });
  out.push({ name: 'replay.real.journal-bytes-per-event', value: +((journal.bytes - journal.headerBytes.length) / journal.events.length).toFixed(1), unit: 'bytes (all records incl. syncs)' });
  const { runner } = replayOnce(1_000_000);
  const rnd = prng(5);
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = Math.floor(rnd() * journal.end!.icount);
    const t0 = process.hrtime.bigint();
    runner.seek(t);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  out.push({ name: 'replay.real.seek-median', value: +median(times).toFixed(1), unit: 'ms (checkpoints every 1e6)' });
  out.push({ name: 'replay.real.seek-max', value: +Math.max(...times).toFixed(1), unit: 'ms' });
}


/** The demo guest on a whole PC, recorded live in host clock mode with 40 typed lines: journal size and replay. */
async function demoBench(out: BenchResult[]): Promise<void> {
  const pc = await loadMiniPc();
  if (!pc.create) {
    out.push({ name: 'replay.demo.skipped', value: 0, unit: pc.missing });
    return;
  }
  const image = new Uint8Array(readFileSync(join(repoRoot, 'fixtures', 'guests', 'demo.rom')));
  const build = () => {
    const m = pc.create!(image, new ScriptedBoundary([], BOOT_MS), { ramBytes: 16 * 1024 * 1024, clockMode: 'host' });
    let text = '';
    m.onOutput = (k, _t, d) => {
      if (k === OUTPUT.SERIAL) text += String.fromCharCode(...d);
    };
    return { m, text: () => text };
  };
  const g = build();
  const sink = new MemorySink();
  const rec = startRecording(g.m, sink, { bootWallMs: BOOT_MS, sha256: nativeSha256 });
  const host = new SteppingHost(300_000); // 300 us per reading, jumps on sleep
  const loop = new LiveLoop(rec.runner, rec.boundary, { hostClock: host, timers: host, sliceInstructions: 100_000 });
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i} of the benchmark session, some text to echo`);
  lines.push('quit');
  let prompts = 0;
  const poll = (): void => {
    const n = g.text().split('> ').length - 1;
    if (n > prompts && lines.length) {
      prompts = n;
      rec.boundary.push(INPUT.SERIAL, 0, new TextEncoder().encode(lines.shift()! + '\r'));
      loop.wake();
    }
    if (lines.length) setImmediate(poll);
  };
  setImmediate(poll);
  await loop.run();
  rec.runner.finishRecording();
  const journal = decodeJournal(sink.bytes());
  const body = journal.bytes - journal.headerBytes.length;
  out.push({ name: 'replay.demo.journal-bytes-per-event', value: +(body / journal.events.length).toFixed(1), unit: `bytes (${journal.events.length} inputs, ${journal.syncs.length} syncs, ${journal.bytes} bytes, ${g.m.icount} instructions, ${(host.ns / 1e9).toFixed(1)} s host time)` });
  out.push({ name: 'replay.demo.input-record-bytes', value: +(rec.encoder.inputBytes / rec.encoder.inputEvents).toFixed(1), unit: 'bytes per input record' });
  const r = build();
  const rp = startReplay(r.m, journal, { sha256: nativeSha256 });
  const t0 = cpuNow();
  while (!rp.runner.run(10_000_000).journalEnd);
  out.push({ name: 'replay.demo.replay-time', value: +((cpuNow() - t0) * 1000).toFixed(0), unit: `ms CPU to replay ${(host.ns / 1e9).toFixed(1)} s of host time (idle skipped); transcript identical: ${r.text() === g.text()}` });
}

export async function bench(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  // REPLAY_BENCH=demo|real|toy runs one part only.
  const only = process.env['REPLAY_BENCH'] ?? '';
  if (!only || only === 'demo') await demoBench(out);
  if (!only || only === 'real') await realBench(out);
  if (only && only !== 'toy') return out;
  // Interleaved rounds, best of each: the host is shared, so take the least disturbed run.
  let live = drive('live');
  let rec = drive('record');
  const journal = rec.journal!;
  let replay = { seconds: replaySeconds(journal) };
  let cp = drive('record', 10_000_000);
  for (let round = 0; round < 4; round++) {
    const l = drive('live');
    if (l.seconds < live.seconds) live = l;
    const r = drive('record');
    if (r.seconds < rec.seconds) rec = r;
    const p = { seconds: replaySeconds(journal) };
    if (p.seconds < replay.seconds) replay = p;
    const c = drive('record', 10_000_000);
    if (c.seconds < cp.seconds) cp = c;
  }
  const mips = TOTAL / live.seconds / 1e6;
  out.push({ name: 'replay.live-speed', value: +mips.toFixed(1), unit: 'M instr/s (toy CPU)' });
  out.push({ name: 'replay.record-overhead', value: +((rec.seconds / live.seconds - 1) * 100).toFixed(1), unit: '% vs live' });
  out.push({ name: 'replay.replay-speed', value: +(live.seconds / replay.seconds).toFixed(2), unit: 'x live' });
  const frames = journal.events.filter((e) => e.kind === INPUT.NET_RX);
  const framePayload = frames.reduce((n, e) => n + e.data!.length, 0);
  out.push({ name: 'replay.journal-bytes-per-event', value: +((journal.bytes - journal.headerBytes.length) / rec.inputs).toFixed(1), unit: 'bytes (all records incl. syncs and frame payloads)' });
  out.push({ name: 'replay.journal-bytes-per-event-excl-frames', value: +((journal.bytes - journal.headerBytes.length - framePayload) / rec.inputs).toFixed(1), unit: 'bytes (frame payload excluded)' });
  out.push({ name: 'replay.input-record-bytes', value: +((rec.inputBytes - framePayload) / rec.inputs).toFixed(1), unit: 'bytes per input record, payload of frames excluded' });
  out.push({ name: 'replay.journal-events', value: rec.inputs, unit: `inputs in ${TOTAL / 1e6}M instructions (${rec.syncs} syncs, ${(journal.bytes / 1024).toFixed(0)} KiB)` });
  out.push({ name: 'replay.checkpoint-overhead', value: +((cp.seconds / rec.seconds - 1) * 100).toFixed(1), unit: '% (record with checkpoints every 1e7 vs without)' });

  // Direct costs of the per-point work, less noisy than whole-run differences on a shared host.
  for (const native of [false, true]) {
    const t = createToyPc(new ScriptedBoundary(), { clockMode: 'host' });
    const r = new Runner(t.m, new LiveBoundary(BOOT_MS), { checkpointInterval: 1, sha256: native ? nativeSha256 : undefined });
    t.m.run(5_000_000);
    const n = 50;
    let t0 = cpuNow();
    for (let i = 0; i < n; i++) {
      t.m.run(100_000);
      r.sync.compute();
    }
    const withSync = cpuNow() - t0;
    t0 = cpuNow();
    for (let i = 0; i < n; i++) t.m.run(100_000);
    const plain = cpuNow() - t0;
    out.push({ name: `replay.sync-cost${native ? '-native' : ''}`, value: +(((withSync - plain) / n) * 1000).toFixed(2), unit: `ms per SYNC, ${native ? 'native' : 'JS'} page SHA-256 (~70 dirty pages)` });
    if (native) continue;
    const store = r.checkpoints!;
    store.take({ eventIndex: 0, syncIndex: 0, lastGoodSync: 0, output: { chain: new Uint8Array(32), pending: new Uint8Array(0) } });
    let took = 0;
    for (let i = 0; i < n; i++) {
      t.m.run(100_000);
      const c0 = cpuNow();
      store.take({ eventIndex: 0, syncIndex: 0, lastGoodSync: 0, output: { chain: new Uint8Array(32), pending: new Uint8Array(0) } });
      took += cpuNow() - c0;
    }
    out.push({ name: 'replay.checkpoint-cost', value: +((took / n) * 1000).toFixed(2), unit: 'ms per checkpoint (~70 dirty pages)' });
  }

  // Seek: replay once with checkpoints every 1e6 (the debugger's density), then seek to random points.
  const toy = createToyPc(new ScriptedBoundary(), { clockMode: 'host' });
  const { runner } = startReplay(toy.m, journal, { checkpointInterval: 1_000_000 });
  while (!runner.run(10_000_000).journalEnd);
  const rnd = prng(77);
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = Math.floor(rnd() * journal.end!.icount);
    const t0 = process.hrtime.bigint();
    runner.seek(t);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  out.push({ name: 'replay.seek-median', value: +median(times).toFixed(1), unit: 'ms (checkpoints every 1e6)' });
  out.push({ name: 'replay.seek-max', value: +Math.max(...times).toFixed(1), unit: 'ms' });
  const st = runner.checkpoints!.getStats();
  out.push({ name: 'replay.checkpoint-memory', value: +(st.bytes / 1048576).toFixed(1), unit: `MiB for ${st.count} checkpoints` });
  return out;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  for (const r of await bench()) console.log(`${r.name.padEnd(44)} ${String(r.value).padStart(10)}  ${r.unit}`);
}
