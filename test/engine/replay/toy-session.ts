/**
 * Recording and replaying the toy machine with a seeded stream of "host"
 * inputs pushed between slices of random length, as a live host would.
 */
import { INPUT } from '../../../engine/replay/boundary.js';
import { MemorySink, decodeJournal, type JournalContents } from '../../../engine/replay/journal.js';
import { startRecording, startReplay, type Recording, type Replay } from '../../../engine/replay/session.js';
import { ScriptedBoundary } from '../../../engine/replay/boundary.js';
import { STOP } from '../../../engine/device.js';
import type { ClockMode } from '../../../engine/time/clock.js';
import { createToyPc, toyMachineConfig, type ToyPc } from './toy-pc.js';

export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

export interface ToyRecordOptions {
  seed?: number;
  /** Total instructions to run. */
  instructions?: number;
  syncShift?: number;
  clockMode?: ClockMode;
  checkpointInterval?: number;
  /** Mean instructions between host input bursts. */
  inputEvery?: number;
  sink?: MemorySink;
}

export interface ToyRecording {
  bytes: Uint8Array;
  journal: JournalContents;
  toy: ToyPc;
  rec: Recording;
  finalHash: string;
  /** stateHash() after every slice: [icount, hash]. */
  hashes: [number, string][];
}

export const BOOT_MS = 1767225600000;

export function recordToy(o: ToyRecordOptions = {}): ToyRecording {
  const rnd = prng(o.seed ?? 1);
  const toy = createToyPc(new ScriptedBoundary(), { clockMode: o.clockMode ?? 'virtual' });
  const sink = o.sink ?? new MemorySink();
  const rec = startRecording(toy.m, sink, { bootWallMs: BOOT_MS, syncShift: o.syncShift ?? 14, machineConfig: toyMachineConfig(toy.m), argv: ['record', 'toy'], checkpointInterval: o.checkpointInterval ?? 0 });
  const total = o.instructions ?? 500_000;
  const every = o.inputEvery ?? 5_000;
  const hashes: [number, string][] = [];
  let hostNs = 0;
  while (toy.m.icount < total) {
    const budget = 1 + Math.floor(rnd() * 2 * every);
    const r = rec.runner.run(Math.min(budget, total - toy.m.icount));
    const roll = rnd();
    if (r.reason === STOP.HALTED || roll < 0.3) {
      const n = 1 + Math.floor(rnd() * 8);
      const data = new Uint8Array(n).map(() => Math.floor(rnd() * 256));
      rec.boundary.push(INPUT.SERIAL, 0, data);
    } else if (roll < 0.4) {
      const n = 60 + Math.floor(rnd() * 200);
      rec.boundary.push(INPUT.NET_RX, 0, new Uint8Array(n).map(() => Math.floor(rnd() * 256)));
    }
    if (toy.m.config.clockMode === 'host') {
      hostNs += Math.floor(rnd() * 2_000_000);
      rec.boundary.push(INPUT.HOST_CLOCK, 0, null, hostNs);
    }
    if (rnd() < 0.1) hashes.push([toy.m.icount, toy.m.stateHash()]);
  }
  rec.runner.finishRecording();
  const finalHash = toy.m.stateHash();
  const bytes = sink.bytes();
  return { bytes, journal: decodeJournal(bytes), toy, rec, finalHash, hashes };
}

export function replayToy(journal: JournalContents, checkpointInterval = 0, checkpointCapBytes?: number): { toy: ToyPc; replay: Replay } {
  const toy = createToyPc(new ScriptedBoundary(), { clockMode: journal.header.clockMode });
  const replay = startReplay(toy.m, journal, { checkpointInterval, checkpointCapBytes });
  return { toy, replay };
}
