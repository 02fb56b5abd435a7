/**
 * CPU speed in MIPS (median of several runs) on the committed guest images:
 * (a) fixtures/guests/bench-alu.rom, an ALU- and branch-heavy loop;
 * (b) fixtures/guests/bench-mem.rom, string ops, stack, calls, byte/word loads and stores.
 * Each image exits through port 0xF4 with 0 when its checksum is right.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Machine } from '../../engine/machine.js';
import { Cpu } from '../../engine/cpu/cpu.js';
import { repoRoot } from '../util.js';

export interface BenchRun {
  instructions: number;
  seconds: number;
  exitCode: number;
  reason: string;
}

export function runImage(file: string): BenchRun {
  const rom = readFileSync(join(repoRoot, 'fixtures', 'guests', file));
  const m = new Machine({ ramBytes: 16 * 1024 * 1024 }, { createCpu: (mm) => new Cpu(mm) });
  m.memory.mapBios(rom);
  m.ports.register(0xf4, 1, 'bench-exit', { write8: (_p, v) => m.requestStop('exit', 'guest exit', v) });
  m.ports.register(0xe9, 1, 'bench-console', { write8: () => {} });
  m.ports.register(0x80, 1, 'bench-post', { write8: () => {} });
  m.reset();
  // CPU time of this process, not wall time: the 2-core build machine is shared.
  const t0 = process.cpuUsage();
  const r = m.run(2e9);
  const t1 = process.cpuUsage(t0);
  return { instructions: m.icount, seconds: (t1.user + t1.system) / 1e6, exitCode: r.exitCode, reason: r.reason };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export async function bench(): Promise<{ name: string; value: number; unit: string }[]> {
  const out: { name: string; value: number; unit: string }[] = [];
  for (const [name, file] of [
    ['cpu (a) alu/branch loop', 'bench-alu.rom'],
    ['cpu (b) memory mix', 'bench-mem.rom'],
  ] as const) {
    const mips: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = runImage(file);
      if (r.reason !== 'exit' || r.exitCode !== 0) throw new Error(`${file}: guest ended with ${r.reason} ${r.exitCode} after ${r.instructions} instructions`);
      mips.push(r.instructions / r.seconds / 1e6);
    }
    out.push({ name, value: median(mips), unit: 'MIPS (CPU time, median of 5)' });
  }
  return out;
}
