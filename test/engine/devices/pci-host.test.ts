import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PciHost } from '../../../engine/devices/pci-host.js';
import { PciConfigSpace, defineIoBar, defineMemBar, barAddress, type PciFunction, type PciIntx } from '../../../engine/devices/pci-device.js';
import { mkMachine, assertRoundTrip, type TestMachine } from './harness.js';

class FakeFn implements PciFunction {
  readonly name: string;
  readonly space = new PciConfigSpace();
  constructor(name: string, pin: number) {
    this.name = name;
    this.space.set32(0, 0x20001022);
    this.space.mask16(4, 0x0507);
    defineIoBar(this.space, 0, 32);
    defineMemBar(this.space, 1, 4096);
    this.space.writeMask[0x3c] = 0xff;
    this.space.set8(0x3d, pin);
  }
  configRead(o: number, size: 1 | 2 | 4): number {
    return this.space.read(o, size);
  }
  configWrite(o: number, size: 1 | 2 | 4, v: number): void {
    this.space.write(o, size, v);
  }
}

function setup(bios?: Uint8Array): TestMachine & { pci: PciHost; a: PciIntx; b: PciIntx; fa: FakeFn } {
  const t = mkMachine();
  if (bios) t.m.memory.mapBios(bios);
  const pci = t.m.addDevice(new PciHost());
  const fa = new FakeFn('fake-a', 1);
  const a = pci.addFunction({ device: 3, fn: 0 }, fa); // INTA of device 3 -> PIRQC
  const b = pci.addFunction({ device: 4, fn: 0 }, new FakeFn('fake-b', 4)); // INTD of device 4 -> PIRQC too
  return Object.assign(t, { pci, a, b, fa });
}

const addr = (dev: number, fn: number, reg: number) => (0x80000000 | (dev << 11) | (fn << 8) | reg) >>> 0;
function cfg32(t: TestMachine, dev: number, fn: number, reg: number, v?: number): number {
  t.m.ports.out32(0xcf8, addr(dev, fn, reg));
  if (v !== undefined) t.m.ports.out32(0xcfc, v);
  return t.m.ports.in32(0xcfc) >>> 0;
}

test('configuration mechanism #1 finds the host bridge and the ISA bridge', () => {
  const t = setup();
  assert.equal(cfg32(t, 0, 0, 0), 0x12378086);
  assert.equal(cfg32(t, 0, 0, 8) >>> 8, 0x060000);
  assert.equal(cfg32(t, 1, 0, 0), 0x70008086);
  assert.equal((cfg32(t, 1, 0, 8) >>> 16) & 0xffff, 0x0601);
  assert.equal((cfg32(t, 1, 0, 0x0c) >>> 16) & 0xff, 0x80, 'multi-function header');
  assert.equal(cfg32(t, 5, 0, 0), 0xffffffff, 'empty slot');
  assert.equal(cfg32(t, 1, 1, 0), 0xffffffff, 'absent function');
  t.m.ports.out32(0xcf8, 0x00000000);
  assert.equal(t.m.ports.in32(0xcfc) >>> 0, 0xffffffff, 'enable bit clear');
  t.m.ports.out32(0xcf8, 0x80010000);
  assert.equal(t.m.ports.in32(0xcfc) >>> 0, 0xffffffff, 'bus 1 does not exist');
  t.m.ports.out32(0xcf8, addr(0, 0, 0) | 3);
  assert.equal(t.m.ports.in32(0xcf8) >>> 0, addr(0, 0, 0), 'CONFIG_ADDRESS reads back, low bits zero');
  t.m.ports.out32(0xcf8, addr(0, 0, 0));
  assert.equal(t.m.ports.in16(0xcfe), 0x1237, 'word access at lane 2');
  assert.equal(t.m.ports.in8(0xcfd), 0x80, 'byte access at lane 1');
  assert.equal(t.m.ports.in16(0xcfd), 0x3780, 'unaligned word inside the dword');
});

test('BAR sizing and programming through the host', () => {
  const t = setup();
  assert.equal(cfg32(t, 3, 0, 0x10, 0xffffffff), 0xffffffe1);
  assert.equal(cfg32(t, 3, 0, 0x14, 0xffffffff), 0xfffff000);
  cfg32(t, 3, 0, 0x10, 0xc101);
  cfg32(t, 3, 0, 0x14, 0xfebf1234);
  assert.equal(barAddress(t.fa.space, 0), 0xc100);
  assert.equal(barAddress(t.fa.space, 1), 0xfebf1000);
  t.m.ports.out32(0xcf8, addr(3, 0, 0x3c));
  t.m.ports.out8(0xcfc, 11);
  assert.equal(t.m.ports.in8(0xcfc), 11, 'interrupt line register');
  assert.equal(t.m.ports.in8(0xcfd), 1, 'interrupt pin INTA');
});

test('INTx is routed through the PIIX PIRQ registers, shared, and follows routing changes and INTx disable', () => {
  const t = setup();
  t.a.setIntx(true);
  assert.equal(t.m.irq.sources.some((s) => s !== 0), false, 'PIRQs are disabled at power-on');
  t.m.ports.out32(0xcf8, addr(1, 0, 0x60));
  t.m.ports.out8(0xcfe, 11); // PIRQC -> IRQ11
  assert.equal(t.m.irq.level(11), true);
  t.b.setIntx(true);
  t.a.setIntx(false);
  assert.equal(t.m.irq.level(11), true, 'still asserted by the other function');
  t.b.setIntx(false);
  assert.equal(t.m.irq.level(11), false);
  t.a.setIntx(true);
  t.m.ports.out8(0xcfe, 10);
  assert.equal(t.m.irq.level(11), false, 'rerouted away');
  assert.equal(t.m.irq.level(10), true);
  t.m.ports.out8(0xcfe, 2);
  assert.equal(t.m.irq.level(10), false, 'IRQ2 is not a valid PIRQ target');
  t.m.ports.out8(0xcfe, 0x8a);
  assert.equal(t.m.irq.level(10), false, 'disabled');
  t.m.ports.out8(0xcfe, 10);
  assert.equal(t.m.irq.level(10), true);
  t.m.ports.out32(0xcf8, addr(3, 0, 4));
  t.m.ports.out16(0xcfc, 0x0400);
  assert.equal(t.m.irq.level(10), false, 'INTx disable');
  t.m.ports.out16(0xcfc, 0x0000);
  assert.equal(t.m.irq.level(10), true);
  assert.equal(t.pci.pirqRoute(2), 10);
});

test('adding a function to a taken slot is refused', () => {
  const t = setup();
  assert.throws(() => t.pci.addFunction({ device: 3, fn: 0 }, new FakeFn('x', 1)), /taken by fake-a/);
  assert.throws(() => t.pci.addFunction({ device: 32, fn: 0 }, new FakeFn('x', 1)), /0-31/);
});

test('port 0xCF9 resets the machine', () => {
  const t = setup();
  t.m.ports.out8(0xcf9, 0x02);
  t.m.run(1);
  assert.equal(t.m.resets, 0);
  assert.equal(t.m.ports.in8(0xcf9), 0x02);
  t.m.ports.out8(0xcf9, 0x06);
  t.m.run(1);
  assert.equal(t.m.resets, 1);
});

test('PAM switches the BIOS area between ROM and shadow RAM', () => {
  const bios = new Uint8Array(128 * 1024).fill(0xab);
  const t = setup(bios);
  const mem = t.m.memory;
  const setPam0 = (v: number) => {
    t.m.ports.out32(0xcf8, addr(0, 0, 0x58));
    t.m.ports.out8(0xcfd, v);
  };
  assert.equal(mem.read8(0xf0000), 0xab);
  mem.write8(0xf0000, 1);
  assert.equal(mem.read8(0xf0000), 0xab, 'ROM');
  setPam0(0x30);
  assert.equal(mem.read8(0xf0000), 0x00, 'shadow RAM (empty)');
  mem.write8(0xf0000, 0x11);
  assert.equal(mem.read8(0xf0000), 0x11);
  setPam0(0x10);
  mem.write8(0xf0000, 0x22);
  assert.equal(mem.read8(0xf0000), 0x11, 'read-only shadow');
  setPam0(0x20);
  assert.equal(mem.read8(0xf0000), 0xab, 'reads from ROM');
  mem.write8(0xf0001, 0x33);
  setPam0(0x30);
  assert.equal(mem.read8(0xf0001), 0x33, 'writes went to RAM');
  setPam0(0x00);
  assert.equal(mem.read8(0xf0001), 0xab);
  // 0xE0000-0xE3FFF is PAM5 low nibble.
  t.m.ports.out32(0xcf8, addr(0, 0, 0x5c));
  t.m.ports.out8(0xcfe, 0x03);
  assert.equal(mem.read8(0xe0000), 0);
  assert.equal(mem.read8(0xe4000), 0xab, 'the neighbouring segment is still ROM');
  t.m.reset();
  assert.equal(mem.read8(0xe0000), 0xab, 'reset restores the ROM mapping');
});

test('save -> load -> save with an interrupt asserted and shadow RAM enabled', () => {
  const bios = new Uint8Array(64 * 1024).fill(0xcd);
  const a = setup(bios);
  const b = setup(bios);
  cfg32(a, 1, 0, 0x60, 0x0b0a0980);
  a.a.setIntx(true);
  a.m.ports.out32(0xcf8, addr(0, 0, 0x58));
  a.m.ports.out8(0xcfd, 0x30);
  a.m.memory.write8(0xf1234, 0x77);
  a.m.ports.out32(0xcf8, addr(3, 0, 0));
  assertRoundTrip(a, b, (t) => {
    const r = [t.m.memory.read8(0xf1234), t.m.irq.level(11) ? 1 : 0, t.m.ports.in32(0xcfc) >>> 0];
    (t === a ? a.a : b.a).setIntx(false);
    r.push(t.m.irq.level(11) ? 1 : 0);
    return r;
  });
});
