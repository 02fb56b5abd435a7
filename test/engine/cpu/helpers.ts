/**
 * Test helpers for the CPU: a machine with our Cpu, nasm assembly of snippets,
 * and small setups for real mode and flat 32-bit protected mode.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine } from '../../../engine/machine.js';
import { Cpu } from '../../../engine/cpu/cpu.js';
import { SEG } from '../../../engine/cpu/flags.js';
import { MemoryLogger } from '../../../engine/log.js';

export function hasNasm(): boolean {
  try {
    execFileSync('nasm', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Assembles `src` (nasm syntax) as a flat binary for `bits` at origin `org`. */
export function asm(src: string, bits: 16 | 32 = 32, org = 0): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'rewind-asm-'));
  try {
    writeFileSync(join(dir, 'a.asm'), `bits ${bits}\norg ${org}\n${src}\n`);
    execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), join(dir, 'a.asm')], { stdio: 'pipe' });
    return new Uint8Array(readFileSync(join(dir, 'a.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TestMachine {
  m: Machine;
  cpu: Cpu;
  log: MemoryLogger;
}

export function makeMachine(ramMiB = 4): TestMachine {
  const log = new MemoryLogger();
  const m = new Machine({ ramBytes: ramMiB * 1024 * 1024 }, { createCpu: (mm) => new Cpu(mm), logger: log });
  return { m, cpu: m.cpu as Cpu, log };
}

/** Real mode: code at 0000:0x1000 (CS=0), SS:SP = 0:0x8000, DS=ES=0. */
export function realMode(code: Uint8Array, ramMiB = 4): TestMachine {
  const t = makeMachine(ramMiB);
  const { cpu, m } = t;
  m.memory.writeBytes(0x1000, code);
  for (const s of [SEG.ES, SEG.CS, SEG.SS, SEG.DS, SEG.FS, SEG.GS]) cpu.loadSegment(s, 0);
  cpu.eip = 0x1000;
  cpu.reg32[4] = 0x8000;
  return t;
}

/** Descriptor dword pair for base/limit/access/flags (flags = G|D nibble). */
export function descriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo | 0, hi | 0];
}

export const GDT = 0x500;
export const IDT = 0x800;
/**
 * Flat 32-bit protected mode at ring 0: GDT at 0x500 with 0x08 code, 0x10
 * data, 0x1B user code (DPL3), 0x23 user data (DPL3), 0x28 TSS at 0x3000;
 * IDT at 0x800 (empty). Code at 0x10000, ESP = 0x90000.
 */
export function protectedMode(code: Uint8Array, ramMiB = 4): TestMachine {
  const t = makeMachine(ramMiB);
  const { cpu, m } = t;
  const mem = m.memory;
  const gdt: [number, number][] = [
    [0, 0],
    descriptor(0, 0xfffff, 0x9a, 0xc),
    descriptor(0, 0xfffff, 0x92, 0xc),
    descriptor(0, 0xfffff, 0xfa, 0xc),
    descriptor(0, 0xfffff, 0xf2, 0xc),
    descriptor(0x3000, 0x67, 0x89, 0),
  ];
  gdt.forEach(([lo, hi], i) => {
    mem.write32(GDT + i * 8, lo);
    mem.write32(GDT + i * 8 + 4, hi);
  });
  cpu.gdtrBase = GDT;
  cpu.gdtrLimit = 0xff;
  cpu.idtrBase = IDT;
  cpu.idtrLimit = 0x7ff;
  cpu.writeCr0(cpu.cr0 | 1);
  cpu.loadSegment(SEG.CS, 0x08);
  for (const s of [SEG.ES, SEG.SS, SEG.DS, SEG.FS, SEG.GS]) cpu.loadSegment(s, 0x10);
  mem.writeBytes(0x10000, code);
  cpu.eip = 0x10000;
  cpu.reg32[4] = 0x90000;
  return t;
}

/**
 * Assembly (for asm()) that enters ring 3 at the label `user` with IRETD:
 * pushes SS 0x23, ESP 0x80000, `eflags`, CS 0x1b and `user` (five
 * instructions at CPL 0), then IRETD (which retires at CPL 3). The GDT and
 * TSS are protectedMode()'s; the caller loads TR first.
 */
export function iretToRing3(eflags = 0x2): string {
  return ['push dword 0x23', 'push dword 0x80000', `push dword 0x${eflags.toString(16)}`, 'push dword 0x1b', 'push dword user', 'iretd'].join('\n');
}

/** Sets IDT entry `vec` to a 32-bit interrupt (type 0xE) or trap (0xF) gate to 0x08:handler. */
export function setGate(t: TestMachine, vec: number, handler: number, type = 0xe, dpl = 0): void {
  const mem = t.m.memory;
  mem.write32(IDT + vec * 8, (0x08 << 16) | (handler & 0xffff));
  mem.write32(IDT + vec * 8 + 4, (handler & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8));
}

/** Runs until HLT (or `max` instructions); returns the number of instructions retired. */
export function runToHlt(t: TestMachine, max = 1_000_000): number {
  const start = t.cpu.icount;
  t.cpu.run(start + max);
  return t.cpu.icount - start;
}
