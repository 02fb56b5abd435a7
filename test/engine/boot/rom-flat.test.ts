import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysMemory } from '../../../engine/memory/phys-memory.js';
import { loadBios } from '../../../engine/boot/rom.js';
import { loadFlat } from '../../../engine/boot/flat.js';
import { BOOT_CS, BOOT_DS, BOOT_GDT_ADDR } from '../../../engine/boot/entry-state.js';

test('a BIOS image is mapped below 1 MiB and below 4 GiB; bad images are refused', () => {
  const mem = new PhysMemory({ ramBytes: 4 << 20 });
  const img = new Uint8Array(64 * 1024);
  img[0xfff0] = 0xea; // jmp far at the reset vector
  img[0] = 0x11;
  loadBios(mem, img, 'test.rom');
  assert.equal(mem.read8(0xfffffff0), 0xea);
  assert.equal(mem.read8(0xffff0), 0xea);
  assert.equal(mem.read8(0xf0000), 0x11);
  assert.throws(() => loadBios(new PhysMemory(), new Uint8Array(1000)), /test|1000 bytes; a BIOS image must be a multiple of 64 KiB/);
  assert.throws(() => loadBios(new PhysMemory(), new Uint8Array(96 * 1024).fill(0x90), 'x.rom'), /x\.rom is 98304 bytes/);
  assert.throws(() => loadBios(new PhysMemory(), new Uint8Array(64 * 1024), 'blank.rom'), /blank\.rom has no code at its reset vector/);
  assert.throws(() => loadBios(new PhysMemory(), undefined as unknown as Uint8Array, 'guest'), /guest must be given as bytes \(a Uint8Array\), got undefined/);
});

test('flat binary in real mode: CS:IP from the load address, or as given', () => {
  const mem = new PhysMemory({ ramBytes: 2 << 20 });
  const e = loadFlat(mem, new Uint8Array([0xf4, 0x90]), 0x7c00, { mode: 'real' });
  assert.equal(mem.read8(0x7c00), 0xf4);
  assert.deepEqual([e.mode, e.cs, e.eip, e.ds, e.ss, e.regs.esp, e.gdt], ['real', 0x7c0, 0, 0x7c0, 0x7c0, 0xfffe, null]);
  const e2 = loadFlat(mem, new Uint8Array([0x90]), 0x7c00, { mode: 'real', cs: 0, ip: 0x7c00, sp: 0x7000, ss: 0 });
  assert.deepEqual([e2.cs, e2.eip, e2.ss, e2.regs.esp], [0, 0x7c00, 0, 0x7000]);
  assert.throws(() => loadFlat(mem, new Uint8Array([0x90]), 0x110000, { mode: 'real' }), /out of range/);
});

test('flat binary in protected mode: flat GDT in memory, selectors 0x10/0x18, interrupts off', () => {
  const mem = new PhysMemory({ ramBytes: 2 << 20 });
  const e = loadFlat(mem, new Uint8Array(100).fill(0x90), 0x100000, { mode: 'protected32', regs: { eax: 7 } });
  assert.deepEqual([e.mode, e.eip, e.cs, e.ds, e.ss, e.regs.eax, e.regs.esp, e.eflags], ['protected32', 0x100000, BOOT_CS, BOOT_DS, BOOT_DS, 7, 0x100000, 2]);
  assert.deepEqual(e.gdt, { base: BOOT_GDT_ADDR, limit: 31 });
  assert.deepEqual([...mem.readBytes(BOOT_GDT_ADDR + 0x10, 16)], [0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0]);
  assert.throws(() => loadFlat(mem, new Uint8Array(0x1000), 0x0, { mode: 'protected32' }), /overlap the boot GDT/);
  assert.throws(() => loadFlat(mem, new Uint8Array(0x1000), 0x1ff800, { mode: 'protected32' }), /does not fit in 2 MiB/);
  assert.throws(() => loadFlat(mem, new Uint8Array(0), 0x1000, { mode: 'real' }), /empty/);
});
