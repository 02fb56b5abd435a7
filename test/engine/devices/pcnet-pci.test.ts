/**
 * The card behind the PCI host bridge, wired the way the machine builder
 * wires it: configuration through 0xCF8/0xCFC as a BIOS does it (find, size
 * and assign BAR0, enable I/O and bus mastering), INTA# through the PIIX3
 * PIRQ router onto an ISA IRQ line, and a whole-machine snapshot round trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine } from '../../../engine/machine.js';
import { ScriptedBoundary, INPUT } from '../../../engine/replay/boundary.js';
import { PciHost } from '../../../engine/devices/pci-host.js';
import { PcNet } from '../../../engine/devices/pcnet.js';
import { IdleCpu, frame, MAC } from './pcnet-harness.js';

const SLOT = 3;
const IOBASE = 0xc100;
const IRQ = 11;

function build() {
  const m = new Machine({ ramBytes: 4 * 1024 * 1024 }, { boundary: new ScriptedBoundary(), createCpu: () => new IdleCpu() });
  const pci = m.addDevice(new PciHost());
  const nic = m.addDevice(new PcNet({ mac: MAC, nicIndex: 0 }));
  const intx = pci.addFunction({ device: SLOT, fn: 0 }, nic);
  nic.setIrqSink((level) => intx.setIntx(level));
  const p = m.ports;
  const cfgAddr = (dev: number, fn: number, reg: number): number => (0x80000000 | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
  const cfgRead32 = (dev: number, fn: number, reg: number): number => {
    p.out32(0xcf8, cfgAddr(dev, fn, reg));
    return p.in32(0xcfc) >>> 0;
  };
  const cfgWrite32 = (dev: number, fn: number, reg: number, v: number): void => {
    p.out32(0xcf8, cfgAddr(dev, fn, reg));
    p.out32(0xcfc, v);
  };
  const cfgWrite8 = (dev: number, fn: number, reg: number, v: number): void => {
    p.out32(0xcf8, cfgAddr(dev, fn, reg));
    p.out8(0xcfc + (reg & 3), v);
  };
  return { m, pci, nic, cfgRead32, cfgWrite32, cfgWrite8 };
}

/** What SeaBIOS does for the card, then route its PIRQ. Returns the PIRQ index. */
function biosSetup(b: ReturnType<typeof build>): number {
  assert.equal(b.cfgRead32(SLOT, 0, 0x00), 0x20001022, 'found at 00:03.0');
  b.cfgWrite32(SLOT, 0, 0x10, 0xffffffff);
  const size = (~(b.cfgRead32(SLOT, 0, 0x10) & ~3) + 1) >>> 0;
  assert.equal(size, 0x20);
  b.cfgWrite32(SLOT, 0, 0x10, IOBASE);
  b.cfgWrite32(SLOT, 0, 0x14, 0xffffffff);
  assert.equal(b.cfgRead32(SLOT, 0, 0x14), 0, 'no BAR1');
  const pin = (b.cfgRead32(SLOT, 0, 0x3c) >>> 8) & 0xff;
  assert.equal(pin, 1, 'INTA#');
  const pirq = (pin - 1 + SLOT - 1) & 3;
  b.cfgWrite8(1, 0, 0x60 + pirq, IRQ);
  b.cfgWrite8(SLOT, 0, 0x3c, IRQ);
  b.cfgWrite32(SLOT, 0, 0x04, 0x0005);
  return pirq;
}

test('configured through mechanism #1, the card decodes its ports and drives its PIRQ onto the routed ISA IRQ', () => {
  const b = build();
  biosSetup(b);
  const { m, nic } = b;
  assert.equal(nic.ioBase, IOBASE);
  const p = m.ports;
  p.in16(IOBASE + 0x14);
  assert.equal(p.in16(IOBASE + 0x10), 4);
  // INIT with IENA and an (empty) init block at 0x8000: IDON interrupts.
  p.out16(IOBASE + 0x12, 1);
  p.out16(IOBASE + 0x10, 0x8000);
  p.out16(IOBASE + 0x12, 2);
  p.out16(IOBASE + 0x10, 0);
  p.out16(IOBASE + 0x12, 0);
  p.out16(IOBASE + 0x10, 0x0041);
  assert.equal(m.irq.level(IRQ), true, 'IDON reaches IRQ 11 through PIRQ routing');
  p.out16(IOBASE + 0x10, 0x0100 | 0x0040);
  assert.equal(m.irq.level(IRQ), false, 'acknowledged');
  // Disabling I/O decoding in the command register releases the ports.
  b.cfgWrite32(SLOT, 0, 0x04, 0x0004);
  assert.equal(m.ports.ownerOf(IOBASE), null);
});

test('whole-machine snapshot with the card mid-ring restores to the same state hash and the same behaviour', () => {
  const a = build();
  biosSetup(a);
  const mem = a.m.memory;
  const p = a.m.ports;
  const w = (n: number, v: number): void => {
    p.out16(IOBASE + 0x12, n);
    p.out16(IOBASE + 0x10, v);
  };
  // 32-bit init block at 0x8000: 4 rx descriptors at 0x9000, 4 tx at 0x9100, buffers at 0x10000.
  p.in16(IOBASE + 0x14);
  p.out16(IOBASE + 0x12, 20);
  p.out16(IOBASE + 0x16, 2);
  mem.write16(0x8000, 0);
  mem.write16(0x8002, (2 << 12) | (2 << 4));
  mem.writeBytes(0x8004, Uint8Array.of(0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc));
  mem.write32(0x8014, 0x9000);
  mem.write32(0x8018, 0x9100);
  for (let i = 0; i < 4; i++) {
    mem.write32(0x9000 + 16 * i, 0x10000 + 0x800 * i);
    mem.write32(0x9004 + 16 * i, 0x80000000 | (-1536 & 0xffff));
  }
  w(1, 0x8000);
  w(2, 0);
  w(0, 0x0041);
  w(0, 0x0142);
  const rx = (mm: Machine, seed: number): void =>
    mm.deliverInput({ kind: INPUT.NET_RX, icount: mm.icount, target: 0, data: frame(MAC, 90, seed), value: 0 });
  rx(a.m, 1);
  assert.equal(a.m.irq.level(IRQ), true);
  const snap = a.m.snapshot();

  const b = build();
  b.m.restore(snap);
  assert.equal(b.m.stateHash(), a.m.stateHash());
  assert.equal(b.nic.ioBase, IOBASE);
  assert.equal(b.m.irq.level(IRQ), true, 'the line level comes back with the PCI host and IRQ state');
  for (const mm of [a.m, b.m]) {
    mm.run(500_000);
    rx(mm, 2);
    mm.ports.out16(IOBASE + 0x12, 0);
    mm.ports.out16(IOBASE + 0x10, mm.ports.in16(IOBASE + 0x10) & ~0x004f);
  }
  assert.equal(b.m.stateHash(), a.m.stateHash());
  assert.equal(b.m.memory.read32(0x9014) >>> 16, 0x0340, 'second frame in descriptor 1');
});
