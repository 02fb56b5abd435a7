import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Uart16550 } from '../../../engine/devices/uart16550.js';
import { INPUT, OUTPUT, type InputEvent } from '../../../engine/replay/boundary.js';
import { mkMachine, assertRoundTrip, type TestMachine } from './harness.js';

const COM1 = 0x3f8;
const serialIn = (icount: number, text: string, target = 0): InputEvent => ({ kind: INPUT.SERIAL, icount, target, data: new TextEncoder().encode(text), value: 0 });

function setup(inputs: InputEvent[] = [], txTiming: 'instant' | 'line-rate' = 'instant'): TestMachine & { uart: Uart16550; com2: Uart16550 } {
  const t = mkMachine({ inputs });
  const uart = t.m.addDevice(new Uart16550({ index: 0, txTiming }));
  const com2 = t.m.addDevice(new Uart16550({ index: 1 }));
  // 115200 8N1, as Linux's console setup does.
  t.out8(COM1 + 3, 0x80);
  t.out8(COM1 + 0, 0x01);
  t.out8(COM1 + 1, 0x00);
  t.out8(COM1 + 3, 0x03);
  return Object.assign(t, { uart, com2 });
}

const irq4 = (t: TestMachine) => t.m.irq.level(4);

test('divisor latch, scratch register, and transmission to the host', () => {
  const t = setup();
  t.out8(COM1 + 3, 0x83);
  assert.equal(t.in8(COM1), 0x01);
  assert.equal(t.in8(COM1 + 1), 0x00);
  t.out8(COM1 + 3, 0x03);
  t.out8(COM1 + 7, 0x5a);
  assert.equal(t.in8(COM1 + 7), 0x5a);
  assert.equal(t.uart.charTimeNs(), 86806, '10 bits at 115200 baud');
  for (const c of 'hi\n') t.out8(COM1, c.charCodeAt(0));
  assert.deepEqual(t.outBytes(OUTPUT.SERIAL, 0), [104, 105, 10]);
  assert.equal(t.in8(COM1 + 5), 0x60, 'THRE and TEMT');
  t.out8(0x2f8, 0x41);
  assert.deepEqual(t.outBytes(OUTPUT.SERIAL, 1), [0x41], 'COM2 is its own target');
});

test('THRE interrupt: raised by enabling ETBEI, cleared by reading IIR, re-armed by rewriting IER; gated by OUT2', () => {
  const t = setup();
  t.out8(COM1 + 1, 0x02);
  assert.equal(t.in8(COM1 + 2) & 0x0f, 0x02);
  assert.equal(t.in8(COM1 + 2) & 0x0f, 0x01, 'the IIR read cleared it');
  t.out8(COM1 + 1, 0x00);
  t.out8(COM1 + 1, 0x02);
  assert.equal(irq4(t), false, 'OUT2 clear: the IRQ does not reach the bus');
  t.out8(COM1 + 4, 0x0b); // DTR RTS OUT2
  assert.equal(irq4(t), true);
  const edges: number[] = [];
  t.m.irq.onChange = (line, level) => {
    if (line === 4) edges.push(level ? 1 : 0);
  };
  t.out8(COM1, 0x41); // writing THR clears it; the byte leaves at once and THR is empty again
  assert.deepEqual(edges, [0, 1], 'a fresh edge for the edge-triggered PIC');
  assert.equal(t.in8(COM1 + 2) & 0x0f, 0x02);
  assert.equal(irq4(t), false);
});

test('received bytes arrive at line rate; FIFO trigger level and character timeout', () => {
  const t = setup([serialIn(100, 'abcdef')]);
  t.out8(COM1 + 2, 0x47); // FIFO on, clear both, trigger 4
  t.out8(COM1 + 1, 0x01);
  t.out8(COM1 + 4, 0x08);
  const ct = t.m.clock.icountAtNs(t.uart.charTimeNs()); // instructions per character
  t.m.run(100 + 3 * ct - 1);
  assert.equal(t.uart.rxFifoLevel(), 2, 'two characters so far');
  assert.equal(t.in8(COM1 + 2), 0xc1, 'below the trigger level: no interrupt yet');
  t.m.run(2 * ct);
  assert.equal(t.uart.rxFifoLevel(), 4);
  assert.equal(t.in8(COM1 + 2), 0xc4, 'received data available');
  assert.equal(irq4(t), true);
  t.m.run(10 * ct);
  assert.equal(t.uart.rxFifoLevel(), 6);
  let s = '';
  for (let i = 0; i < 5; i++) s += String.fromCharCode(t.in8(COM1));
  assert.equal(s, 'abcde');
  assert.equal(t.in8(COM1 + 2), 0xc1, 'one byte below trigger, timeout restarted by the read');
  t.m.run(4 * ct + 2);
  assert.equal(t.in8(COM1 + 2), 0xcc, 'character timeout');
  assert.equal(t.in8(COM1 + 5) & 0x01, 0x01);
  assert.equal(t.in8(COM1), 'f'.charCodeAt(0));
  assert.equal(t.in8(COM1 + 2), 0xc1);
  assert.equal(t.in8(COM1 + 5) & 0x01, 0);
  assert.equal(irq4(t), false);
});

test('overrun: a full FIFO loses the next byte and sets LSR.OE with a line-status interrupt', () => {
  const t = setup([serialIn(10, 'x'.repeat(20))]);
  t.out8(COM1 + 2, 0x07);
  t.out8(COM1 + 1, 0x05);
  t.m.run(30 * t.m.clock.icountAtNs(t.uart.charTimeNs()));
  assert.equal(t.uart.rxFifoLevel(), 16);
  assert.equal(t.uart.overruns, 4);
  assert.equal(t.in8(COM1 + 2), 0xc6, 'line status outranks data available');
  const lsr = t.in8(COM1 + 5);
  assert.equal(lsr & 0x03, 0x03);
  assert.equal(t.in8(COM1 + 5) & 0x02, 0, 'reading LSR clears OE');
  assert.equal(t.in8(COM1 + 2), 0xc4);
  // Without FIFOs the holding register is one byte deep.
  const u = setup([serialIn(10, 'yz')]);
  u.m.run(5 * u.m.clock.icountAtNs(u.uart.charTimeNs()));
  assert.equal(u.in8(COM1 + 5) & 0x03, 0x03);
  assert.equal(u.in8(COM1), 'y'.charCodeAt(0));
});

test('loopback: transmitted bytes are received, MSR mirrors MCR with delta bits and a modem status interrupt', () => {
  const t = setup();
  t.out8(COM1 + 1, 0x08);
  t.out8(COM1 + 4, 0x10 | 0x08);
  assert.equal(t.in8(COM1 + 6), 0x80 | 0x01 | 0x02, 'DCD<-OUT2; CTS and DSR dropped (deltas)');
  assert.equal(t.in8(COM1 + 6), 0x80, 'deltas cleared by the read');
  t.out8(COM1 + 4, 0x10 | 0x08 | 0x01 | 0x02 | 0x04);
  assert.equal(t.in8(COM1 + 2) & 0x0f, 0x00, 'modem status interrupt');
  assert.equal(irq4(t), true);
  assert.equal(t.in8(COM1 + 6), 0xf0 | 0x03);
  t.out8(COM1 + 4, 0x10 | 0x08 | 0x01 | 0x02);
  assert.equal(t.in8(COM1 + 6) & 0x04, 0x04, 'RI trailing edge');
  t.out8(COM1, 0x55);
  assert.deepEqual(t.outBytes(OUTPUT.SERIAL, 0), [], 'nothing reaches the host');
  assert.equal(t.in8(COM1 + 5) & 0x01, 0x01);
  assert.equal(t.in8(COM1), 0x55);
});

test('IIR priority: line status > data > THRE > modem status', () => {
  const t = setup([serialIn(5, 'ab')]);
  t.out8(COM1 + 4, 0x08);
  t.out8(COM1 + 1, 0x0f);
  t.m.run(3 * t.m.clock.icountAtNs(t.uart.charTimeNs()));
  assert.equal(t.in8(COM1 + 2), 0x06, 'overrun in 8250 mode (second byte lost)');
  t.in8(COM1 + 5);
  assert.equal(t.in8(COM1 + 2), 0x04);
  t.out8(COM1 + 4, 0x18); // loopback: CTS/DSR drop -> modem status deltas
  t.in8(COM1);
  assert.equal(t.in8(COM1 + 2), 0x02);
  assert.equal(t.in8(COM1 + 2), 0x00, 'modem status');
  t.in8(COM1 + 6);
  assert.equal(t.in8(COM1 + 2), 0x01);
});

test('line-rate transmission: bytes leave one character time apart; THRE and TEMT follow', () => {
  const t = setup([], 'line-rate');
  t.out8(COM1 + 2, 0x07);
  const ct = t.m.clock.icountAtNs(t.uart.charTimeNs());
  const t0 = t.m.icount;
  for (const c of 'abc') t.out8(COM1, c.charCodeAt(0));
  assert.equal(t.in8(COM1 + 5) & 0x60, 0, 'FIFO holds two bytes');
  t.m.run(10 * ct);
  assert.deepEqual(t.out.map((o) => o.icount - t0), [0, ct, 2 * ct]);
  assert.equal(t.in8(COM1 + 5) & 0x60, 0x60);
});

test('save -> load -> save with the receive FIFO half full and bytes still on the wire', () => {
  const inputs = [serialIn(50, 'hello, world! 0123456789')];
  const a = setup(inputs);
  const b = setup(inputs);
  for (const t of [a, b]) {
    t.out8(COM1 + 2, 0x87); // trigger 8
    t.out8(COM1 + 1, 0x03);
    t.out8(COM1 + 4, 0x08);
  }
  a.m.run(50 + Math.floor(8.5 * a.m.clock.icountAtNs(a.uart.charTimeNs())));
  a.in8(COM1);
  assert.ok(a.uart.rxFifoLevel() > 4);
  assertRoundTrip(a, b, (t) => {
    let s = '';
    for (let i = 0; i < 40; i++) {
      t.advanceNs(30_000);
      while (t.in8(COM1 + 5) & 1) s += String.fromCharCode(t.in8(COM1));
    }
    return [s, t.in8(COM1 + 2)];
  });
});
