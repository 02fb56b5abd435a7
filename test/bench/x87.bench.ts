/**
 * x87 throughput: millions of instructions per second for common forms
 * (register arithmetic, loads/stores of m64, compares, a transcendental).
 */
import type { BenchResult } from './run.js';
import { X87 } from '../../engine/cpu/x87/x87.js';
import type { X87Bus } from '../../engine/cpu/x87/x87.js';

class Bus implements X87Bus {
  readonly mem = new Uint8Array(4096);
  read8(a: number): number { return this.mem[a]!; }
  read16(a: number): number { return this.mem[a]! | (this.mem[a + 1]! << 8); }
  read32(a: number): number { return (this.read16(a) | (this.read16(a + 2) << 16)) >>> 0; }
  write8(a: number, v: number): void { this.mem[a] = v; }
  write16(a: number, v: number): void { this.mem[a] = v; this.mem[a + 1] = v >>> 8; }
  write32(a: number, v: number): void { this.write16(a, v); this.write16(a + 2, v >>> 16); }
}

function measure(name: string, body: (x: X87) => void, iters: number, perIter: number, kilo = false): BenchResult {
  const bus = new Bus();
  new DataView(bus.mem.buffer).setFloat64(0x100, 1.000000123, true);
  const x = new X87(bus);
  x.fninit();
  x.exec(0xdd, 0x06, 0x100, true, true, 0, 0, 0, 0); // ST1 = 1.000000123
  x.exec(0xd9, 0xeb, 0, true, true, 0, 0, 0, 0); // ST0 = pi
  for (let i = 0; i < iters / 10; i++) body(x); // warm up
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) body(x);
  const ms = performance.now() - t0;
  const perMs = (iters * perIter) / ms;
  return kilo ? { name: `x87 ${name}`, value: perMs, unit: 'k instr/s' } : { name: `x87 ${name}`, value: perMs / 1000, unit: 'M instr/s' };
}

export async function bench(): Promise<BenchResult[]> {
  return [
    measure('fld m64 + fstp m64', (x) => { x.exec(0xdd, 0x06, 0x100, true, true, 0, 0, 0, 0); x.exec(0xdd, 0x1e, 0x200, true, true, 0, 0, 0, 0); }, 200000, 2),
    measure('fxch', (x) => x.exec(0xd9, 0xc9, 0, true, true, 0, 0, 0, 0), 500000, 1),
    measure('fadd st0,st1 / fsub', (x) => { x.exec(0xd8, 0xc1, 0, true, true, 0, 0, 0, 0); x.exec(0xd8, 0xe1, 0, true, true, 0, 0, 0, 0); }, 200000, 2),
    measure('fmul st0,st1 / fdivr', (x) => { x.exec(0xd8, 0xc9, 0, true, true, 0, 0, 0, 0); x.exec(0xd8, 0xf9, 0, true, true, 0, 0, 0, 0); }, 200000, 2),
    measure('fmul st0,st1 / fmul st0,st0', (x) => { x.exec(0xd8, 0xc9, 0, true, true, 0, 0, 0, 0); x.exec(0xd9, 0xe8, 0, true, true, 0, 0, 0, 0); x.exec(0xdd, 0xd9, 0, true, true, 0, 0, 0, 0); }, 200000, 3),
    measure('fcomi st0,st1', (x) => x.exec(0xdb, 0xf1, 0, true, true, 0, 0, 0, 0), 500000, 1),
    measure('fsqrt / fmul', (x) => { x.exec(0xd9, 0xfa, 0, true, true, 0, 0, 0, 0); x.exec(0xd8, 0xc8, 0, true, true, 0, 0, 0, 0); }, 100000, 2),
    measure('fsin', (x) => x.exec(0xd9, 0xfe, 0, true, true, 0, 0, 0, 0), 5000, 1, true),
    // FLDPI, FLD1, FXCH, FYL2X, FSTP ST0: counted as one FYL2X (log2(pi)) per iteration
    measure('fyl2x', (x) => {
      x.exec(0xd9, 0xeb, 0, true, true, 0, 0, 0, 0); x.exec(0xd9, 0xe8, 0, true, true, 0, 0, 0, 0); x.exec(0xd9, 0xc9, 0, true, true, 0, 0, 0, 0);
      x.exec(0xd9, 0xf1, 0, true, true, 0, 0, 0, 0); x.exec(0xdd, 0xd8, 0, true, true, 0, 0, 0, 0);
    }, 3000, 1, true),
  ];
}
