import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysMemory } from '../../../engine/memory/phys-memory.js';
import { loadMultiboot, MB_INFO_ADDR, MULTIBOOT_BOOTLOADER_MAGIC } from '../../../engine/boot/multiboot.js';
import { RewindError } from '../../../engine/errors.js';

interface Seg { vaddr: number; paddr: number; data: number[]; memsz: number; type?: number }

/** Builds an ELF32 i386 executable byte by byte, with a multiboot header at 0x40 + phdrs. */
function elf(segs: Seg[], entry: number, opts: { mbFlags?: number; badChecksum?: boolean; cls?: number; machine?: number; noHeader?: boolean } = {}): Uint8Array {
  const phoff = 52;
  const mbOff = phoff + segs.length * 32;
  let dataOff = (mbOff + 12 + 15) & ~15;
  const offsets = segs.map((s) => {
    const o = dataOff;
    dataOff += s.data.length;
    return o;
  });
  const img = new Uint8Array(dataOff);
  const v = new DataView(img.buffer);
  img.set([0x7f, 0x45, 0x4c, 0x46, opts.cls ?? 1, 1, 1]);
  v.setUint16(16, 2, true);
  v.setUint16(18, opts.machine ?? 3, true);
  v.setUint32(20, 1, true);
  v.setUint32(24, entry, true);
  v.setUint32(28, phoff, true);
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, segs.length, true);
  segs.forEach((s, i) => {
    const o = phoff + i * 32;
    v.setUint32(o, s.type ?? 1, true);
    v.setUint32(o + 4, offsets[i]!, true);
    v.setUint32(o + 8, s.vaddr, true);
    v.setUint32(o + 12, s.paddr, true);
    v.setUint32(o + 16, s.data.length, true);
    v.setUint32(o + 20, s.memsz, true);
    img.set(s.data, offsets[i]!);
  });
  if (!opts.noHeader) {
    const flags = opts.mbFlags ?? 3;
    v.setUint32(mbOff, 0x1badb002, true);
    v.setUint32(mbOff + 4, flags, true);
    v.setUint32(mbOff + 8, (-(0x1badb002 + flags) + (opts.badChecksum ? 1 : 0)) >>> 0, true);
  }
  return img;
}

const cstr = (mem: PhysMemory, addr: number) => {
  let s = '';
  for (let a = addr; mem.read8(a) !== 0; a++) s += String.fromCharCode(mem.read8(a));
  return s;
};

test('an ELF multiboot kernel: segments at their physical addresses, BSS zeroed, entry translated, info structure', () => {
  const mem = new PhysMemory({ ramBytes: 32 << 20 });
  mem.writeBytes(0x200010, new Uint8Array(64).fill(0xee)); // garbage where the BSS goes
  const img = elf(
    [
      { vaddr: 0xc0100000, paddr: 0x100000, data: [0xfa, 0xf4, 1, 2, 3], memsz: 5 },
      { vaddr: 0xc0200000, paddr: 0x200000, data: [9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9], memsz: 0x100 },
      { vaddr: 0, paddr: 0x300000, data: [5], memsz: 1, type: 4 /* PT_NOTE: not loaded */ },
    ],
    0xc0100001,
  );
  const e = loadMultiboot(mem, img, {
    cmdline: 'kernel root=/dev/ram0',
    modules: [
      { data: new Uint8Array([1, 2, 3]), cmdline: 'mod-a arg' },
      { data: new Uint8Array(5000).fill(7), cmdline: 'mod-b' },
    ],
  });
  assert.deepEqual([e.mode, e.eip, e.cs, e.ds, e.eflags], ['protected32', 0x100001, 0x10, 0x18, 2]);
  assert.equal(e.regs.eax, MULTIBOOT_BOOTLOADER_MAGIC);
  assert.equal(e.regs.ebx, MB_INFO_ADDR);
  assert.deepEqual([...mem.readBytes(0x100000, 5)], [0xfa, 0xf4, 1, 2, 3]);
  assert.equal(mem.read8(0x20000f), 9);
  assert.deepEqual([...mem.readBytes(0x200010, 64)], new Array(64).fill(0), 'BSS zeroed');
  assert.equal(mem.read8(0x300000), 0, 'non-PT_LOAD segment ignored');
  const r32 = (a: number) => mem.read32(a) >>> 0;
  const info = MB_INFO_ADDR;
  assert.equal(r32(info) & 0x24d, 0x24d, 'flags: memory, cmdline, mods, mmap, boot loader name');
  assert.equal(r32(info + 4), 639);
  assert.equal(r32(info + 8), 31 * 1024);
  assert.equal(cstr(mem, r32(info + 16)), 'kernel root=/dev/ram0');
  assert.equal(cstr(mem, r32(info + 64)), 'rewind');
  assert.equal(r32(info + 20), 2);
  const mods = r32(info + 24);
  const m0 = r32(mods), m0end = r32(mods + 4), m1 = r32(mods + 16), m1end = r32(mods + 20);
  assert.ok(m0 >= 0x200100 && (m0 & 0xfff) === 0, 'first module page-aligned above the kernel');
  assert.equal(m0end - m0, 3);
  assert.ok(m1 >= m0end && (m1 & 0xfff) === 0);
  assert.equal(m1end - m1, 5000);
  assert.deepEqual([...mem.readBytes(m0, 3)], [1, 2, 3]);
  assert.equal(cstr(mem, r32(mods + 8)), 'mod-a arg');
  assert.equal(cstr(mem, r32(mods + 24)), 'mod-b');
  const mmapLen = r32(info + 44), mmapAddr = r32(info + 48);
  const entries: number[][] = [];
  for (let a = mmapAddr; a < mmapAddr + mmapLen; a += r32(a) + 4) entries.push([r32(a + 4), r32(a + 12), r32(a + 20)]);
  assert.deepEqual(entries.slice(0, 4), [[0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0xf0000, 0x10000, 2], [0x100000, 31 << 20, 1]]);
});

test('the a.out kludge loads by the header addresses', () => {
  const mem = new PhysMemory({ ramBytes: 4 << 20 });
  // File: 16 bytes of code, header at file offset 16, 16 more bytes.
  const img = new Uint8Array(64);
  const v = new DataView(img.buffer);
  img.fill(0xcc, 0, 16);
  const flags = 0x10003;
  v.setUint32(16, 0x1badb002, true);
  v.setUint32(20, flags, true);
  v.setUint32(24, (-(0x1badb002 + flags)) >>> 0, true);
  v.setUint32(28, 0x100010, true); // header_addr
  v.setUint32(32, 0x100000, true); // load_addr
  v.setUint32(36, 0x100040, true); // load_end_addr
  v.setUint32(40, 0x101000, true); // bss_end_addr
  v.setUint32(44, 0x100004, true); // entry_addr
  mem.writeBytes(0x100800, new Uint8Array([5, 5]));
  const e = loadMultiboot(mem, img);
  assert.equal(e.eip, 0x100004);
  assert.equal(mem.read8(0x100000), 0xcc);
  assert.equal(mem.read32(0x100010) >>> 0, 0x1badb002);
  assert.equal(mem.read8(0x100800), 0, 'bss zeroed');
});

test('broken multiboot kernels are refused with a clear message', () => {
  const mem = () => new PhysMemory({ ramBytes: 4 << 20 });
  const seg = [{ vaddr: 0x100000, paddr: 0x100000, data: [0x90], memsz: 1 }];
  const cases: [Uint8Array, RegExp][] = [
    [elf(seg, 0x100000, { noHeader: true }), /no multiboot header/],
    [elf(seg, 0x100000, { badChecksum: true }), /no multiboot header/],
    [elf(seg, 0x100000, { mbFlags: 0x13 }), /requires multiboot features 0x10/],
    [elf(seg, 0x100000, { cls: 2 }), /not a 32-bit ELF/],
    [elf(seg, 0x100000, { machine: 62 }), /machine 62, not i386/],
    [elf(seg, 0x200000), /entry point 0x200000 is not inside/],
    [elf([{ vaddr: 0x3ff000, paddr: 0x3ff000, data: [1], memsz: 0x2000 }], 0x3ff000), /does not fit in 4 MiB/],
    [elf([{ vaddr: 0x10000, paddr: 0x10000, data: [1], memsz: 0x100 }], 0x10000), /overlaps the loader's GDT or information area/],
    [elf([{ vaddr: 0x100000, paddr: 0x100000, data: new Array(100).fill(1), memsz: 100 }], 0x100000).subarray(0, 120), /segment 0 runs past the end of the file/],
  ];
  for (const [img, re] of cases) {
    assert.throws(() => loadMultiboot(mem(), img, { name: 'k.elf' }), (e: unknown) => e instanceof RewindError && re.test(e.message) && e.message.startsWith('k.elf: '), String(re));
  }
});
