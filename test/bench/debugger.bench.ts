/**
 * Debugger benchmarks (contract of test/bench/run.ts: `bench()` returns
 * figures): reverse-step latency (median, p99) and reverse-continue over a
 * long distance, on the longest recording we can make here: the bench-alu
 * guest on the real CPU (or, while the CPU is missing, the toy machine of the
 * debugger tests, saying so in the figure names).
 *
 * Run alone: node .build/NAME/test/bench/debugger.bench.js
 */
import { ScriptedBoundary } from '../../engine/replay/boundary.js';
import { MemorySink, decodeJournal } from '../../engine/replay/journal.js';
import { startRecording, startReplay } from '../../engine/replay/session.js';
import { STOP } from '../../engine/device.js';
import { MachineTarget } from '../../debugger/timeline/machine-target.js';
import { Session } from '../../debugger/timeline/session.js';
import { REG, type DebugTarget } from '../../debugger/timeline/target.js';
import { loadGuestEngine, guestImage } from '../support/guest-runner.js';
import { buildToyProgram } from '../debugger/timeline/toy-program.js';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

const BOOT_MS = 1767225600000;
const GUEST = 'bench-alu';
const RECORD_MAX = Number(process.env['REWIND_BENCH_DEBUG_ICOUNT'] ?? 100_000_000);
const CHECKPOINT_INTERVAL = 10_000_000;

function nowMs(): number {
  return performance.now();
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function realTarget(): Promise<{ target: DebugTarget; label: string; recordSeconds: number } | null> {
  const load = await loadGuestEngine();
  if (!load.engine) return null;
  const engine = load.engine;
  const m0 = engine.create(guestImage(GUEST), new ScriptedBoundary([], BOOT_MS), { ramBytes: 32 * 1024 * 1024 });
  const sink = new MemorySink();
  const rec = startRecording(m0, sink, { bootWallMs: BOOT_MS, machineConfig: { guest: GUEST } });
  const t0 = nowMs();
  let r;
  do r = rec.runner.run(5_000_000, RECORD_MAX);
  while (r.reason === STOP.BUDGET);
  rec.runner.finishRecording();
  const recordSeconds = (nowMs() - t0) / 1000;
  const journal = decodeJournal(sink.bytes());
  const m = engine.create(guestImage(GUEST), new ScriptedBoundary([], BOOT_MS), { ramBytes: 32 * 1024 * 1024 });
  const rp = startReplay(m, journal, { checkpointInterval: CHECKPOINT_INTERVAL });
  const target = new MachineTarget(rp.runner);
  target.run(target.historyEnd, null); // replay once: checkpoints over the whole history
  return { target, label: GUEST, recordSeconds };
}

export async function bench(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const real = await realTarget();
  let target: DebugTarget;
  let label: string;
  if (real) {
    target = real.target;
    label = real.label;
  } else {
    const toy = buildToyProgram({ loops: 250, checkpointInterval: 100_000 }).machine;
    toy.run(Infinity, null);
    target = toy;
    label = 'toy machine (CPU missing)';
  }
  const end = target.historyEnd === Infinity ? target.icount : target.historyEnd;
  out.push({ name: `debugger: recording length (${label})`, value: end, unit: 'instructions' });
  const session = new Session(target, { yieldFn: () => Promise.resolve() });

  // reverse-step: 5 places spread over the recording, 40 consecutive steps at each.
  const times: number[] = [];
  for (let k = 1; k <= 5; k++) {
    session.seek(Math.floor((end * k) / 6) + 12345);
    for (let i = 0; i < 40; i++) {
      const t0 = nowMs();
      await session.reverseStep();
      times.push(nowMs() - t0);
    }
  }
  out.push({ name: `debugger: reverse-step median (${label})`, value: Number(percentile(times, 50).toFixed(3)), unit: 'ms' });
  out.push({ name: `debugger: reverse-step p99 (${label})`, value: Number(percentile(times, 99).toFixed(3)), unit: 'ms' });
  out.push({ name: `debugger: reverse-step first at a new place (${label})`, value: Number(Math.max(...times).toFixed(1)), unit: 'ms' });

  // seek to random points
  const seeks: number[] = [];
  let seed = 5;
  for (let i = 0; i < 10; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const t0 = nowMs();
    session.seek(seed % end);
    seeks.push(nowMs() - t0);
  }
  out.push({ name: `debugger: seek to a random point, median (${label})`, value: Number(percentile(seeks, 50).toFixed(1)), unit: 'ms' });

  // reverse-continue from the end back to a breakpoint hit only near the start.
  session.seek(0);
  await session.step();
  await session.step();
  const early = session.linearPc();
  const eax = target.readReg(REG.EAX);
  session.seek(end);
  const bp = session.addPoint({ type: 'break', addr: early, condition: `eax == ${eax}` });
  const t0 = nowMs();
  const r = await session.reverseContinue();
  const seconds = (nowMs() - t0) / 1000;
  session.removePoint(bp.id);
  out.push({ name: `debugger: reverse-continue over ${((end - r.position.icount) / 1e6).toFixed(1)}M instructions (${label})`, value: Number(seconds.toFixed(2)), unit: 's' });
  out.push({ name: `debugger: reverse-continue scan rate (${label})`, value: Number(((end - r.position.icount) / seconds / 1e6).toFixed(1)), unit: 'M instructions/s' });
  // The same distance with a write watchpoint that never fires (every access is checked).
  session.seek(end);
  const wp = session.addPoint({ type: 'watch', addr: 0x01f00000, length: 4, access: 'write' });
  const w0 = nowMs();
  const rw = await session.reverseContinue();
  const wsecs = (nowMs() - w0) / 1000;
  session.removePoint(wp.id);
  out.push({ name: `debugger: reverse-continue with a watchpoint over ${((end - rw.position.icount) / 1e6).toFixed(1)}M instructions (${label})`, value: Number(wsecs.toFixed(2)), unit: 's' });
  if (real) out.push({ name: `debugger: recording ${GUEST} (${(end / 1e6).toFixed(0)}M instructions)`, value: Number(real.recordSeconds.toFixed(2)), unit: 's' });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await bench()) console.log(`${r.name}: ${r.value} ${r.unit}`);
}
