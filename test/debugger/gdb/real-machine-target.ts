/**
 * The gdb demo guest on the emulated PC (fixtures/guests/gdb/demo-rom.rom):
 * recorded once, then replayed with checkpoints behind a MachineTarget.
 * Returns a string (the reason) when the engine is not there yet, so tests
 * can skip with a clear message.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DebugTarget } from '../../../debugger/timeline/target.js';
import { MachineTarget } from '../../../debugger/timeline/machine-target.js';
import { ScriptedBoundary } from '../../../engine/replay/boundary.js';
import { MemorySink, decodeJournal } from '../../../engine/replay/journal.js';
import { startRecording, startReplay } from '../../../engine/replay/session.js';
import { STOP } from '../../../engine/device.js';
import { loadGuestEngine } from '../../support/guest-runner.js';
import { repoRoot } from '../../util.js';

export const DEMO_ROM = join(repoRoot, 'fixtures', 'guests', 'gdb', 'demo-rom.rom');
export const DEMO_ROM_ELF = join(repoRoot, 'fixtures', 'guests', 'gdb', 'demo-rom.elf');
const BOOT_MS = 1767225600000;

export async function realMachineDemoTarget(checkpointInterval = 500): Promise<DebugTarget | string> {
  const load = await loadGuestEngine();
  if (!load.engine) return `the emulated PC is not available: ${load.missing}`;
  const engine = load.engine;
  const image = new Uint8Array(readFileSync(DEMO_ROM));
  const m0 = engine.create(image, new ScriptedBoundary([], BOOT_MS), { ramBytes: 16 * 1024 * 1024 });
  const sink = new MemorySink();
  const rec = startRecording(m0, sink, { bootWallMs: BOOT_MS, syncShift: 10, machineConfig: { guest: 'gdb-demo' } });
  let r;
  do r = rec.runner.run(1_000_000, 50_000_000);
  while (r.reason === STOP.BUDGET);
  if (r.reason !== STOP.EXIT) return `the demo guest did not reach its exit on the emulated PC (${r.reason} ${r.detail})`;
  rec.runner.finishRecording();
  const m = engine.create(image, new ScriptedBoundary([], BOOT_MS), { ramBytes: 16 * 1024 * 1024 });
  const rp = startReplay(m, decodeJournal(sink.bytes()), { checkpointInterval });
  const t = new MachineTarget(rp.runner);
  t.run(t.historyEnd, null);
  t.seek(t.historyStart);
  return t;
}
