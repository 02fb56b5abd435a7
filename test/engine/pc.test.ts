/**
 * The assembled PC: wiring facts and exact stop points, with tiny ROMs
 * written byte by byte (the reset vector is the last 16 bytes of the image).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPc, PCNET_IO_BASE, PCNET_IRQ } from '../../engine/pc.js';
import { OUTPUT } from '../../engine/replay/boundary.js';
import { STOP } from '../../engine/device.js';

function rom(code: number[]): Uint8Array {
  const img = new Uint8Array(65536).fill(0xf4);
  img.set(code, img.length - 16);
  return img;
}

test('debug-exit stops right after the OUT that requests it', () => {
  // mov al, 3 ; out 0xF4, al ; cli ; hlt
  const pc = createPc({ ramBytes: 2 << 20, nic: false }, {}, { kind: 'bios', image: rom([0xb0, 0x03, 0xe6, 0xf4, 0xfa, 0xf4]) });
  const r = pc.machine.run(1000);
  assert.deepEqual(r, { reason: STOP.EXIT, detail: r.detail, exitCode: 3 });
  assert.equal(pc.machine.icount, 2, 'the two instructions up to and including the OUT, not the CLI/HLT after it');
});

test('a CPU reset through the keyboard controller takes effect at the next instruction boundary', () => {
  // mov al, 0xFE ; out 0x64, al ; (reset) ...
  const pc = createPc({ ramBytes: 2 << 20, nic: false }, {}, { kind: 'bios', image: rom([0xb0, 0xfe, 0xe6, 0x64, 0x90, 0x90, 0x90]) });
  pc.machine.run(2);
  assert.equal(pc.machine.resets, 1);
  assert.equal(pc.cpu.eip, 0xfff0, 'back at the reset vector, before executing anything more');
  pc.machine.run(1);
  assert.equal(pc.cpu.eip, 0xfff2, 'and running from it again');
});

test('0xE9 output reaches the host as debug-console output', () => {
  // mov al, 'A' ; out 0xE9, al ; mov al, 0 ; out 0xF4, al
  const pc = createPc({ ramBytes: 2 << 20, nic: false }, {}, { kind: 'bios', image: rom([0xb0, 0x41, 0xe6, 0xe9, 0xb0, 0x00, 0xe6, 0xf4]) });
  const out: string[] = [];
  pc.machine.onOutput = (k, _t, d) => k === OUTPUT.DEBUGCON && out.push(String.fromCharCode(...d));
  pc.machine.run(100);
  assert.deepEqual(out, ['A']);
});

test('direct boots get PCI set up as firmware would: PCnet I/O at 0xC000, IRQ 11 level-triggered', () => {
  const flat = new Uint8Array([0xf4]);
  const pc = createPc({ ramBytes: 4 << 20 }, {}, { kind: 'flat', image: flat, loadAddr: 0x7c00, entry: { mode: 'real' } });
  const p = pc.machine.ports;
  p.out32(0xcf8, 0x80001800 | 0x10); // 00:03.0 BAR0
  assert.equal(p.in32(0xcfc) >>> 0, PCNET_IO_BASE | 1);
  p.out32(0xcf8, 0x80001800 | 0x3c);
  assert.equal(p.in8(0xcfc), PCNET_IRQ);
  assert.ok(p.in8(0x4d1) & (1 << (PCNET_IRQ - 8)), 'ELCR marks IRQ 11 level-triggered');
  assert.equal(pc.nic!.ioBase, PCNET_IO_BASE);
  assert.equal(pc.cpu.eip, 0, 'real-mode entry at 07C0:0000');
  assert.equal(pc.cpu.segBase[1], 0x7c00);
});

test('a protected-mode entry state loads flat segments from the loader GDT', () => {
  const pc = createPc({ ramBytes: 4 << 20, nic: false }, {}, { kind: 'flat', image: new Uint8Array([0xf4]), loadAddr: 0x100000, entry: { mode: 'protected32', regs: { esi: 0x1234 } } });
  assert.equal(pc.cpu.cr0 & 1, 1);
  assert.equal(pc.cpu.eip, 0x100000);
  assert.equal(pc.cpu.reg32[6], 0x1234);
  assert.equal(pc.cpu.segLimit[1] >>> 0, 0xffffffff);
  assert.equal(pc.machine.run(10).reason, STOP.HALTED);
});

test('a write to port 0xF0 clears the FERR# latch that holds IRQ13', () => {
  const pc = createPc({ ramBytes: 2 << 20, nic: false }, {}, { kind: 'bios', image: rom([0xf4]) });
  pc.machine.irq.raise(13);
  assert.equal(pc.machine.irq.level(13), true);
  pc.machine.ports.out8(0xf0, 0);
  assert.equal(pc.machine.irq.level(13), false);
});
