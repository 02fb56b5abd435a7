/**
 * Random byte sequences never throw a JavaScript exception out of the CPU:
 * every outcome is an instruction, a guest exception delivered through the
 * IVT/IDT, or a clean stop (triple fault -> reset request).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeMachine, protectedMode } from './helpers.js';
import { SEG } from '../../../engine/cpu/flags.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

test('fuzz: random code in real mode never throws out of the CPU', () => {
  const r = rng(12345);
  for (let round = 0; round < 200; round++) {
    const t = makeMachine(2);
    const { cpu, m } = t;
    const bytes = new Uint8Array(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (r() * 256) | 0;
    m.memory.writeBytes(0x1000, bytes);
    // IVT: every vector points at random code too
    for (let v = 0; v < 256; v++) m.memory.write32(v * 4, 0x1000 + ((r() * 4000) | 0));
    for (const s of [SEG.ES, SEG.CS, SEG.SS, SEG.DS]) cpu.loadSegment(s, 0);
    cpu.eip = 0x1000;
    cpu.reg32[4] = 0x8000;
    for (let i = 0; i < 8; i++) if (i !== 4) cpu.reg32[i] = (r() * 0x100000000) | 0;
    cpu.run(cpu.icount + 2000);
    assert.ok(!t.log.lines.some((l) => l.includes('internal CPU error')), t.log.lines.find((l) => l.includes('internal')));
  }
});

test('fuzz: random code in 32-bit protected mode never throws out of the CPU', () => {
  const r = rng(999);
  for (let round = 0; round < 200; round++) {
    const bytes = new Uint8Array(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (r() * 256) | 0;
    const t = protectedMode(bytes, 2);
    for (let i = 0; i < 8; i++) if (i !== 4) t.cpu.reg32[i] = (r() * 0x100000000) | 0;
    t.cpu.run(t.cpu.icount + 2000);
    assert.ok(!t.log.lines.some((l) => l.includes('internal CPU error')), t.log.lines.find((l) => l.includes('internal')));
  }
});
