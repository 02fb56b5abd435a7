import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortBus } from '../../../engine/io/port-bus.js';
import { MemoryLogger } from '../../../engine/log.js';

test('unclaimed ports read as all ones and are logged, rate-limited', () => {
  const log = new MemoryLogger();
  const bus = new PortBus(log);
  assert.equal(bus.in8(0x123), 0xff);
  assert.equal(bus.in16(0x123), 0xffff);
  assert.equal(bus.in32(0x123) >>> 0, 0xffffffff);
  bus.out8(0x123, 5);
  for (let i = 0; i < 5000; i++) bus.in8(0x200);
  assert.ok(log.lines.length < 30, `logged ${log.lines.length} lines`);
  assert.ok(log.lines.some((l) => l.includes('unclaimed port 0x0123 read')));
  assert.ok(log.lines.some((l) => l.includes('rate-limited')));
  assert.equal(bus.unclaimedAccesses, 1 + 2 + 4 + 1 + 5000, 'wide accesses count each byte');
});

test('wide accesses are split into byte accesses on consecutive ports', () => {
  const bus = new PortBus();
  const regs = new Uint8Array(8);
  const writes: string[] = [];
  bus.register(0x300, 8, 'dev', {
    read8: (p) => regs[p - 0x300]!,
    write8: (p, v) => {
      writes.push(`${p.toString(16)}=${v.toString(16)}`);
      regs[p - 0x300] = v;
    },
  });
  bus.out32(0x300, 0x44332211);
  assert.deepEqual(writes, ['300=11', '301=22', '302=33', '303=44']);
  assert.equal(bus.in16(0x301), 0x3322);
  assert.equal(bus.in32(0x300) >>> 0, 0x44332211);
  bus.out16(0x306, 0xbbaa);
  assert.equal(regs[6], 0xaa);
  assert.equal(regs[7], 0xbb);
  assert.equal(bus.in16(0x307), 0xffbb, 'the upper byte comes from an unclaimed port');
});

test('devices that implement wide registers get them whole', () => {
  const bus = new PortBus();
  let last = 0;
  bus.register(0xcfc, 4, 'pci', { read32: () => 0x12345678, write32: (_p, v) => (last = v >>> 0), read8: (p) => p & 0xff, read16: () => 0xbeef });
  assert.equal(bus.in32(0xcfc), 0x12345678);
  bus.out32(0xcfc, 0xfffffffe);
  assert.equal(last, 0xfffffffe);
  assert.equal(bus.in16(0xcfe), 0xbeef);
  assert.equal(bus.in8(0xcfd), 0xfd);
});

test('double claims are refused; unregister returns ports to open bus', () => {
  const bus = new PortBus();
  bus.register(0x60, 1, 'kbd', { read8: () => 0x12 });
  assert.throws(() => bus.register(0x60, 1, 'other', {}), /claimed by both kbd and other/);
  assert.equal(bus.ownerOf(0x60), 'kbd');
  bus.unregister(0x60, 1, 'kbd');
  assert.equal(bus.in8(0x60), 0xff);
  assert.equal(bus.ownerOf(0x60), null);
  assert.throws(() => bus.register(0xffff, 2, 'x', {}), /port count/);
});

test('the access hook sees every access with its width', () => {
  const bus = new PortBus();
  const seen: string[] = [];
  bus.onAccess = (p, s, w, v) => seen.push(`${w ? 'out' : 'in'}${s * 8} ${p.toString(16)} ${v.toString(16)}`);
  bus.out16(0x80, 0x1234);
  bus.in8(0x80);
  assert.deepEqual(seen, ['out16 80 1234', 'in8 80 ff']);
});
