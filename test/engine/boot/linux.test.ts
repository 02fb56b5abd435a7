import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PhysMemory } from '../../../engine/memory/phys-memory.js';
import { loadBzImage, parseLinuxHeader, LINUX_BOOT_PARAMS_ADDR, LINUX_CMDLINE_ADDR } from '../../../engine/boot/linux.js';
import { RewindError } from '../../../engine/errors.js';
import { repoRoot } from '../../util.js';

interface BzOpts {
  version?: number;
  setupSects?: number;
  loadflags?: number;
  pmBytes?: number;
  syssize?: number;
  xloadflags?: number;
  cmdlineSize?: number;
  initrdMax?: number;
  initSize?: number;
  relocatable?: boolean;
  align?: number;
  pref?: number;
  bootFlag?: number;
  magic?: number;
  code32?: number;
}

/** A synthetic bzImage, header written byte by byte after Documentation/arch/x86/boot.rst. */
function bzImage(o: BzOpts = {}): Uint8Array {
  const setupSects = o.setupSects ?? 2;
  const pmBytes = o.pmBytes ?? 8192;
  const img = new Uint8Array((setupSects === 0 ? 5 : setupSects + 1) * 512 + pmBytes);
  const v = new DataView(img.buffer);
  img[0x1f1] = setupSects;
  v.setUint32(0x1f4, o.syssize ?? Math.ceil(pmBytes / 16), true);
  v.setUint16(0x1fe, o.bootFlag ?? 0xaa55, true);
  img[0x200] = 0xeb;
  img[0x201] = 0x264 - 0x202;
  v.setUint32(0x202, o.magic ?? 0x53726448, true);
  v.setUint16(0x206, o.version ?? 0x020f, true);
  img[0x211] = o.loadflags ?? 0x01;
  v.setUint32(0x214, o.code32 ?? 0x100000, true);
  v.setUint32(0x22c, o.initrdMax ?? 0x7fffffff, true);
  v.setUint32(0x230, o.align ?? 0x1000000, true);
  img[0x234] = o.relocatable === false ? 0 : 1;
  v.setUint16(0x236, o.xloadflags ?? 0, true);
  v.setUint32(0x238, o.cmdlineSize ?? 0x7ff, true);
  v.setUint32(0x258, o.pref ?? 0x1000000, true);
  v.setUint32(0x260, o.initSize ?? 0x300000, true);
  const pmOff = img.length - pmBytes;
  for (let i = 0; i < pmBytes; i++) img[pmOff + i] = (i * 7 + 3) & 0xff;
  return img;
}

test('a bzImage is loaded per the 32-bit boot protocol', () => {
  const mem = new PhysMemory({ ramBytes: 64 << 20 });
  const img = bzImage();
  const initrd = new Uint8Array(100_000).fill(0x5a);
  const e = loadBzImage(mem, img, { cmdline: 'console=ttyS0 quiet', initrd });
  assert.deepEqual([e.mode, e.eip, e.cs, e.ds, e.es, e.ss, e.eflags & 0x200], ['protected32', 0x100000, 0x10, 0x18, 0x18, 0x18, 0]);
  assert.deepEqual(e.regs, { esi: LINUX_BOOT_PARAMS_ADDR, ebx: 0, ebp: 0, edi: 0 });
  assert.deepEqual(mem.readBytes(0x100000, 8192), img.subarray(3 * 512));
  const bp = LINUX_BOOT_PARAMS_ADDR;
  const r32 = (o: number) => mem.read32(bp + o) >>> 0;
  assert.equal(r32(0x202), 0x53726448, 'setup header copied');
  assert.equal(mem.read16(bp + 0x206), 0x020f);
  assert.equal(mem.read8(bp + 0x210), 0xff, 'type_of_loader');
  assert.equal(mem.read8(bp + 0x211), 0x81, 'LOADED_HIGH | CAN_USE_HEAP');
  assert.equal(mem.read16(bp + 0x224), 0xfe00, 'heap_end_ptr');
  assert.equal(r32(0x228), LINUX_CMDLINE_ADDR);
  assert.equal(new TextDecoder().decode(mem.readBytes(LINUX_CMDLINE_ADDR, 20)), 'console=ttyS0 quiet\0');
  const rd = r32(0x218);
  assert.equal(r32(0x21c), 100_000);
  assert.equal(rd & 0xfff, 0, 'initrd page aligned');
  assert.ok(rd + 100_000 <= 64 << 20 && rd + 100_000 > (64 << 20) - 8192, 'initrd at the top of RAM');
  assert.equal(mem.read8(rd + 99_999), 0x5a);
  assert.equal(r32(0x1e0), 63 * 1024, 'alt_mem_k');
  assert.equal(mem.read8(bp + 0x1e8), 5, 'e820 entries');
  const e820: number[][] = [];
  for (let i = 0; i < 5; i++) e820.push([r32(0x2d0 + i * 20), r32(0x2d0 + i * 20 + 8), r32(0x2d0 + i * 20 + 16)]);
  assert.deepEqual(e820, [[0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0xf0000, 0x10000, 2], [0x100000, 63 << 20, 1], [0xfffc0000, 0x40000, 2]]);
  assert.equal(mem.read8(bp + 0x1ef), 0, 'sentinel clear');
  assert.equal(mem.read32(0x610) >>> 0, 0x0000ffff, 'GDT written');
});

test('the initrd respects initrd_addr_max; setup_sects 0 means 4', () => {
  const mem = new PhysMemory({ ramBytes: 256 << 20 });
  const img = bzImage({ initrdMax: 0x2ffffff, setupSects: 0 });
  assert.equal(parseLinuxHeader(img).pmOffset, 5 * 512);
  loadBzImage(mem, img, { initrd: new Uint8Array(5000) });
  const rd = mem.read32(LINUX_BOOT_PARAMS_ADDR + 0x218) >>> 0;
  assert.equal(rd, 0x3000000 - 8192);
});

test('protocol violations are refused, each with a message naming the problem', () => {
  const cases: [BzOpts, RegExp, { ram?: number; cmdline?: string; initrd?: number }?][] = [
    [{ bootFlag: 0 }, /no 0xAA55 boot flag/],
    [{ magic: 0x12345678 }, /no "HdrS" setup header/],
    [{ version: 0x0203 }, /boot protocol 2\.03; rewind needs 2\.04/],
    [{ loadflags: 0 }, /is a zImage/],
    [{ xloadflags: 1 }, /64-bit \(x86-64\) kernel/],
    [{ syssize: 100_000 }, /is truncated: syssize says 1600000 bytes/],
    [{ syssize: 0 }, /syssize 0/],
    [{ setupSects: 200, pmBytes: 0 }, /past the end of the file/],
    [{ code32: 0x10000 }, /below 1 MiB/],
    [{ initSize: 0x2000000 }, /needs 48 MiB of RAM/, { ram: 32 << 20 }],
    [{ cmdlineSize: 10 }, /command line is 19 bytes, longer than the kernel's cmdline_size 10/, { cmdline: 'console=ttyS0 quiet' }],
    [{ initrdMax: 0x1100000 }, /initrd of 1048576 bytes does not fit/, { initrd: 1 << 20 }],
  ];
  for (const [o, re, x] of cases) {
    const mem = new PhysMemory({ ramBytes: x?.ram ?? 64 << 20 });
    const run = () => loadBzImage(mem, bzImage(o), { name: 'vmlinuz', cmdline: x?.cmdline ?? '', initrd: x?.initrd ? new Uint8Array(x.initrd) : null });
    assert.throws(run, (e: unknown) => e instanceof RewindError && e.code === 'ERR_IMAGE' && e.message.startsWith('vmlinuz: ') && re.test(e.message), String(re));
  }
  assert.throws(() => loadBzImage(new PhysMemory(), new Uint8Array(100)), /too short/);
  assert.throws(() => loadBzImage(new PhysMemory(), 'vmlinuz' as unknown as Uint8Array), /kernel must be given as bytes/);
});

test("Debian's i386 kernel, when fetched, parses and loads", (t) => {
  const dirs = [join(repoRoot, 'fixtures/linux/out'), join(repoRoot, 'fixtures/linux/cache/x-kernel/boot')];
  let path: string | null = null;
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    const f = readdirSync(d).find((n) => n.startsWith('vmlinuz'));
    if (f) {
      path = join(d, f);
      break;
    }
  }
  if (!path) {
    t.skip('no kernel under fixtures/linux (run npm run fixtures:linux)');
    return;
  }
  const img = new Uint8Array(readFileSync(path));
  const h = parseLinuxHeader(img, path);
  assert.ok(h.version >= 0x020a && h.relocatable);
  const mem = new PhysMemory({ ramBytes: 128 << 20 });
  const e = loadBzImage(mem, img, { cmdline: 'console=ttyS0', initrd: new Uint8Array(4096) });
  assert.equal(e.eip, h.code32Start);
  assert.deepEqual(mem.readBytes(h.code32Start, 4096), img.subarray(h.pmOffset, h.pmOffset + 4096));
  assert.throws(() => loadBzImage(new PhysMemory({ ramBytes: 16 << 20 }), img), /MiB of RAM to load and decompress/);
});
