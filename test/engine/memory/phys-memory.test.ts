import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysMemory, PAGE_RAM, PAGE_ROM, PAGE_MMIO, PAGE_UNMAPPED, type MmioHandler } from '../../../engine/memory/phys-memory.js';
import { RewindError } from '../../../engine/errors.js';

const MiB = 1024 * 1024;

test('RAM reads back what was written, at every width and across page boundaries', () => {
  const m = new PhysMemory({ ramBytes: 2 * MiB });
  m.write8(0x10, 0xab);
  assert.equal(m.read8(0x10), 0xab);
  m.write16(0xfff, 0x1234); // crosses a page boundary
  assert.equal(m.read8(0xfff), 0x34);
  assert.equal(m.read8(0x1000), 0x12);
  assert.equal(m.read16(0xfff), 0x1234);
  m.write32(0x1ffe, 0xdeadbeef);
  assert.equal(m.read32(0x1ffe) >>> 0, 0xdeadbeef);
  assert.equal(m.read16(0x2000), 0xdead);
});

test('default RAM is 128 MiB; sizes are validated', () => {
  assert.equal(new PhysMemory().ramBytes, 128 * MiB);
  assert.throws(() => new PhysMemory({ ramBytes: 1000 }), RewindError);
  assert.throws(() => new PhysMemory({ ramBytes: 4096 * 1024 * 1024 }), /ramBytes must be/);
  assert.throws(() => new PhysMemory({ ramBytes: MiB + 1 }), /multiple of 4096/);
});

test('unmapped space reads as open bus and ignores writes', () => {
  const m = new PhysMemory({ ramBytes: 2 * MiB });
  assert.equal(m.pageKind[(2 * MiB) >>> 12], PAGE_UNMAPPED);
  m.write32(0x300000, 0x12345678);
  assert.equal(m.read32(0x300000), -1);
  assert.equal(m.read8(0x300000), 0xff);
});

test('ROM is write-protected and a BIOS is mapped below 1 MiB and below 4 GiB', () => {
  const m = new PhysMemory({ ramBytes: 2 * MiB });
  const bios = new Uint8Array(64 * 1024);
  bios[bios.length - 16] = 0xea; // far jump at the reset vector
  bios[0] = 0x11;
  m.mapBios(bios);
  assert.equal(m.read8(0xfffffff0), 0xea);
  assert.equal(m.read8(0xffff0), 0xea);
  assert.equal(m.read8(0xf0000), 0x11);
  assert.equal(m.read8(0xffff0000), 0x11);
  assert.equal(m.pageKind[0xf0], PAGE_ROM);
  m.write8(0xffff0, 0x90);
  m.write8(0xfffffff0, 0x90);
  assert.equal(m.read8(0xffff0), 0xea, 'ROM below 1 MiB is read-only');
  assert.equal(m.read8(0xfffffff0), 0xea, 'ROM below 4 GiB is read-only');
  assert.throws(() => m.mapBios(new Uint8Array(1000)), /multiple of 4 KiB/);
});

test('a large BIOS shows only its last 128 KiB below 1 MiB', () => {
  const m = new PhysMemory({ ramBytes: 2 * MiB });
  const bios = new Uint8Array(256 * 1024);
  bios[0] = 1;
  bios[128 * 1024] = 2;
  m.mapBios(bios);
  assert.equal(m.read8(0xfffc0000), 1);
  assert.equal(m.read8(0xe0000), 2);
  assert.equal(m.pageKind[0xdf], PAGE_RAM);
});

test('MMIO pages route to their handler at each width, with byte fallback', () => {
  const m = new PhysMemory({ ramBytes: 2 * MiB });
  const log: string[] = [];
  const h: MmioHandler = {
    name: 'test',
    read8: (a) => (a & 0xff) ^ 0x5a,
    write8: (a, v) => log.push(`w8 ${a.toString(16)}=${v.toString(16)}`),
    read32: (a) => (a === 0xfebf0000 ? 0x11223344 : 0),
    write32: (a, v) => log.push(`w32 ${a.toString(16)}=${(v >>> 0).toString(16)}`),
  };
  m.mapMmio(0xfebf0000, 0x1000, h);
  assert.equal(m.pageKind[0xfebf0], PAGE_MMIO);
  assert.equal(m.read32(0xfebf0000), 0x11223344);
  assert.equal(m.read8(0xfebf0001), 0x01 ^ 0x5a);
  assert.equal(m.read16(0xfebf0002), (0x02 ^ 0x5a) | ((0x03 ^ 0x5a) << 8), 'no read16: composed from bytes');
  m.write32(0xfebf0010, 0xcafef00d);
  m.write16(0xfebf0020, 0xbeef);
  assert.deepEqual(log, ['w32 febf0010=cafef00d', 'w8 febf0020=ef', 'w8 febf0021=be']);
  assert.throws(() => m.mapMmio(0x1001, 0x1000, h), /page aligned/);
});

test('the A20 gate is a mask the CPU applies; changes are announced', () => {
  const m = new PhysMemory({ ramBytes: 2 * MiB });
  const seen: boolean[] = [];
  m.onA20Change = (e) => seen.push(e);
  assert.equal(m.a20Enabled, true);
  m.setA20(false);
  assert.equal((0x100010 & m.a20Mask) >>> 0, 0x10, 'A20 off wraps at 1 MiB');
  m.setA20(false);
  m.setA20(true);
  assert.equal((0x100010 & m.a20Mask) >>> 0, 0x100010);
  assert.deepEqual(seen, [false, true]);
});

test('dirty cursors report pages written since their last collect, independently', () => {
  const m = new PhysMemory({ ramBytes: 2 * MiB });
  const a = m.createDirtyCursor();
  const b = m.createDirtyCursor();
  m.write8(0x5000, 1);
  m.writeBytes(0x7ff0, new Uint8Array(32)); // pages 7 and 8
  assert.deepEqual([...a.collect()], [5, 7, 8]);
  assert.deepEqual([...a.collect()], []);
  m.write32(0x9000, 5);
  assert.deepEqual([...a.collect()], [9]);
  assert.deepEqual([...b.collect()], [5, 7, 8, 9], 'a second cursor is not affected by the first');
  b.reset();
  m.write8(0x1000, 0);
  assert.deepEqual([...b.collect()], [1]);
});

test('writes to code pages are reported for decode-cache invalidation', () => {
  const m = new PhysMemory({ ramBytes: 2 * MiB });
  const hit: number[] = [];
  m.onCodeWrite = (p) => hit.push(p);
  m.codePages[3] = 1;
  m.write8(0x2fff, 1);
  m.write8(0x3000, 1);
  m.writeBytes(0x3ff0, new Uint8Array(4));
  assert.deepEqual(hit, [3, 3]);
});

test('loadIntoRam refuses images that do not fit; readBytes validates', () => {
  const m = new PhysMemory({ ramBytes: 2 * MiB });
  m.loadIntoRam(0x100000, new Uint8Array([1, 2, 3]), 'kernel');
  assert.deepEqual([...m.readBytes(0x100000, 3)], [1, 2, 3]);
  assert.throws(() => m.loadIntoRam(2 * MiB - 2, new Uint8Array(3), 'kernel'), /kernel \(3 bytes at 0x1ffffe\) does not fit/);
  assert.throws(() => m.readBytes(-1, 3), RewindError);
  assert.throws(() => m.writeBytes(0, [1, 2] as unknown as Uint8Array), /Uint8Array/);
});
