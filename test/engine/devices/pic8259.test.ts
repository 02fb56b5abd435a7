import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pic8259 } from '../../../engine/devices/pic8259.js';
import { mkMachine, assertRoundTrip, type TestMachine } from './harness.js';

function setup(icw4 = 0x01): TestMachine & { pic: Pic8259 } {
  const t = mkMachine();
  const pic = t.m.addDevice(new Pic8259());
  // The BIOS/Linux sequence: ICW1 edge+ICW4, vectors 0x20/0x28, cascade on IR2, 8086 mode.
  t.out8(0x20, 0x11); t.out8(0x21, 0x20); t.out8(0x21, 0x04); t.out8(0x21, icw4);
  t.out8(0xa0, 0x11); t.out8(0xa1, 0x28); t.out8(0xa1, 0x02); t.out8(0xa1, icw4);
  t.out8(0x21, 0x00); t.out8(0xa1, 0x00);
  return Object.assign(t, { pic });
}

const irr = (t: TestMachine, port: number) => (t.out8(port, 0x0a), t.in8(port));
const isr = (t: TestMachine, port: number) => (t.out8(port, 0x0b), t.in8(port));

test('an edge on IRQ0 raises INTR; INTA returns the vector and moves IRR to ISR; EOI clears it', () => {
  const t = setup();
  assert.equal(t.cpu.intr, false);
  t.m.irq.pulse(0);
  assert.equal(t.cpu.intr, true);
  assert.equal(irr(t, 0x20), 0x01, 'an edge stays latched in IRR after the line falls');
  assert.equal(t.pic.acknowledge(), 0x20);
  assert.equal(t.cpu.intr, false);
  assert.equal(isr(t, 0x20), 0x01);
  assert.equal(irr(t, 0x20), 0x00);
  t.out8(0x20, 0x20); // non-specific EOI
  assert.equal(isr(t, 0x20), 0x00);
});

test('fully nested priority: a lower request waits, a higher one interrupts the handler', () => {
  const t = setup();
  t.m.irq.pulse(3);
  t.m.irq.pulse(1);
  assert.equal(t.pic.acknowledge(), 0x21, 'IRQ1 before IRQ3');
  assert.equal(t.cpu.intr, false, 'IRQ3 is below IRQ1 in service');
  t.m.irq.pulse(0);
  assert.equal(t.cpu.intr, true, 'IRQ0 is above IRQ1');
  assert.equal(t.pic.acknowledge(), 0x20);
  assert.equal(isr(t, 0x20), 0x03);
  t.out8(0x20, 0x20); // EOI clears the highest in service: IRQ0
  assert.equal(isr(t, 0x20), 0x02);
  assert.equal(t.cpu.intr, false);
  t.out8(0x20, 0x20);
  assert.equal(t.cpu.intr, true, 'now IRQ3');
  assert.equal(t.pic.acknowledge(), 0x23);
});

test('the slave cascades through IR2; ISA IRQ2 is IRQ9', () => {
  const t = setup();
  t.m.irq.pulse(12);
  assert.equal(t.cpu.intr, true);
  assert.equal(t.pic.acknowledge(), 0x2c);
  assert.equal(isr(t, 0x20), 0x04);
  assert.equal(isr(t, 0xa0), 0x10);
  t.out8(0xa0, 0x20);
  t.out8(0x20, 0x20);
  assert.equal(isr(t, 0x20), 0);
  t.m.irq.pulse(2);
  assert.equal(t.pic.acknowledge(), 0x29);
});

test('masked requests wait in IRR; OCW1 reads back', () => {
  const t = setup();
  t.out8(0x21, 0x01);
  assert.equal(t.in8(0x21), 0x01);
  t.m.irq.pulse(0);
  assert.equal(t.cpu.intr, false);
  assert.equal(irr(t, 0x20), 0x01);
  t.out8(0x21, 0x00);
  assert.equal(t.cpu.intr, true);
});

test('level-triggered inputs (ELCR) follow the line; a request that goes away is spurious IRQ7/IRQ15', () => {
  const t = setup();
  t.out8(0x4d0, 0xff);
  assert.equal(t.in8(0x4d0), 0xf8, 'IRQ0-2 cannot be level-triggered');
  t.out8(0x4d1, 0x0c);
  assert.equal(t.in8(0x4d1), 0x0c);
  t.m.irq.raise(10);
  assert.equal(t.cpu.intr, true);
  t.m.irq.lower(10);
  assert.equal(t.cpu.intr, false);
  // The CPU saw INTR and acknowledges after the line dropped: spurious IRQ7 (the cascade withdrew too).
  t.m.irq.raise(10);
  t.m.irq.lower(10);
  assert.equal(t.pic.acknowledge(), 0x27);
  assert.equal(isr(t, 0x20), 0, 'a spurious IRQ7 sets no ISR bit');
  // The slave's own spurious case: its request vanishes between the master's and the slave's INTA.
  t.m.irq.raise(10);
  t.pic.slave.irr = 0; // (the window inside one INTA cycle, forced)
  assert.equal(t.pic.acknowledge(), 0x2f);
  assert.equal(isr(t, 0xa0), 0, 'a spurious IRQ15 sets no slave ISR bit');
  assert.equal(isr(t, 0x20), 0x04, 'but the master acknowledged IR2');
  t.out8(0x20, 0x20);
  t.m.irq.lower(10);
  assert.equal(t.pic.spurious, 2);
  // A level request stays asserted: after EOI it is delivered again.
  t.m.irq.raise(11);
  assert.equal(t.pic.acknowledge(), 0x2b);
  t.out8(0xa0, 0x20);
  t.out8(0x20, 0x20);
  assert.equal(t.cpu.intr, true, 'still high -> requested again');
});

test('auto-EOI leaves nothing in service', () => {
  const t = setup(0x03);
  t.m.irq.pulse(4);
  assert.equal(t.pic.acknowledge(), 0x24);
  assert.equal(isr(t, 0x20), 0);
});

test('rotation: rotate on non-specific EOI, rotate on specific EOI, set priority', () => {
  const t = setup();
  t.m.irq.pulse(0);
  assert.equal(t.pic.acknowledge(), 0x20);
  t.out8(0x20, 0xa0); // rotate on non-specific EOI: IRQ0 becomes lowest
  t.m.irq.pulse(0);
  t.m.irq.pulse(3);
  assert.equal(t.pic.acknowledge(), 0x23, 'IRQ3 now beats IRQ0');
  t.out8(0x20, 0xe3); // rotate on specific EOI of IRQ3: IRQ3 lowest, IRQ4 highest
  assert.equal(t.pic.acknowledge(), 0x20);
  t.out8(0x20, 0x60); // specific EOI of IRQ0
  t.out8(0x20, 0xc4); // set priority: IRQ4 lowest, IRQ5 highest
  t.m.irq.pulse(4);
  t.m.irq.pulse(6);
  t.m.irq.pulse(1);
  assert.equal(t.pic.acknowledge(), 0x26);
  t.out8(0x20, 0x20);
  assert.equal(t.pic.acknowledge(), 0x21);
  t.out8(0x20, 0x20);
  assert.equal(t.pic.acknowledge(), 0x24);
});

test('special mask mode lets lower priorities interrupt a masked in-service level', () => {
  const t = setup();
  t.m.irq.pulse(1);
  assert.equal(t.pic.acknowledge(), 0x21);
  t.m.irq.pulse(5);
  assert.equal(t.cpu.intr, false);
  t.out8(0x21, 0x02); // mask IRQ1
  t.out8(0x20, 0x68); // set special mask mode
  assert.equal(t.cpu.intr, true);
  assert.equal(t.pic.acknowledge(), 0x25);
  t.out8(0x20, 0x48); // reset special mask mode
  t.out8(0x20, 0x65); // specific EOI IRQ5
  t.out8(0x20, 0x61);
  assert.equal(isr(t, 0x20), 0);
});

test('poll mode: the next read returns 0x80|IRQ and acknowledges it', () => {
  const t = setup();
  t.out8(0x20, 0x0c);
  assert.equal(t.in8(0x20), 0x00, 'nothing pending');
  t.m.irq.pulse(6);
  t.out8(0x20, 0x0c);
  assert.equal(t.in8(0x20), 0x86);
  assert.equal(isr(t, 0x20), 0x40);
  assert.equal(t.in8(0x20), 0x40, 'poll is one-shot; OCW3 RIS still selects ISR');
});

test('special fully nested mode lets a higher slave request through while the slave is in service', () => {
  const t = setup();
  t.out8(0x20, 0x11); t.out8(0x21, 0x20); t.out8(0x21, 0x04); t.out8(0x21, 0x11); // master SFNM
  t.m.irq.pulse(13);
  assert.equal(t.pic.acknowledge(), 0x2d);
  t.m.irq.pulse(9);
  assert.equal(t.cpu.intr, true);
  assert.equal(t.pic.acknowledge(), 0x29);
});

test('ICW1 resets the mask and in-service state', () => {
  const t = setup();
  t.out8(0x21, 0xff);
  t.out8(0x20, 0x11);
  assert.equal(t.in8(0x21), 0x00);
  t.out8(0x21, 0x08); t.out8(0x21, 0x04); t.out8(0x21, 0x01);
  t.m.irq.pulse(0);
  assert.equal(t.pic.acknowledge(), 0x08);
});

test('ICW1 LTIM makes every input level-triggered', () => {
  const t = setup();
  t.out8(0x20, 0x19); t.out8(0x21, 0x20); t.out8(0x21, 0x04); t.out8(0x21, 0x01);
  t.m.irq.pulse(1);
  assert.equal(t.cpu.intr, false, 'a pulse leaves nothing behind in level mode');
  t.m.irq.raise(1);
  assert.equal(t.pic.acknowledge(), 0x21);
  t.out8(0x20, 0x20);
  assert.equal(t.cpu.intr, true, 'still high');
  t.m.irq.lower(1);
  assert.equal(t.cpu.intr, false);
});

test('save -> load -> save with requests pending and in service', () => {
  const a = setup();
  const b = setup();
  a.out8(0x4d1, 0x04);
  b.out8(0x4d1, 0x04);
  a.m.irq.pulse(1);
  a.m.irq.pulse(3);
  a.m.irq.pulse(12);
  a.m.irq.raise(10);
  a.pic.acknowledge();
  a.out8(0x20, 0x0b);
  assertRoundTrip(a, b, (t) => {
    const p = (t as typeof a).pic;
    const seq = [t.in8(0x20), t.cpu.intr ? 1 : 0];
    for (let i = 0; i < 5; i++) {
      seq.push(p.acknowledge());
      t.out8(0xa0, 0x20);
      t.out8(0x20, 0x20);
    }
    return seq;
  });
});
