/**
 * The interrupt path end to end: PIT and RTC raise lines, the PIC pair
 * resolves them, and a toy CPU that takes interrupts runs the INTA cycle
 * through InterruptAcknowledge and "handles" them by writing EOIs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine } from '../../../engine/machine.js';
import type { CpuCore } from '../../../engine/cpu/cpu-core.js';
import { ScriptedBoundary } from '../../../engine/replay/boundary.js';
import { num, type StateRecord } from '../../../engine/state/snapshot.js';
import { Pic8259 } from '../../../engine/devices/pic8259.js';
import { Pit8254 } from '../../../engine/devices/pit8254.js';
import { CmosRtc } from '../../../engine/devices/cmos-rtc.js';

/** Executes nothing but takes an interrupt whenever INTR is high at an instruction boundary. */
class InterruptingCpu implements CpuCore {
  readonly stateName = 'cpu';
  readonly stateVersion = 1;
  icount = 0;
  halted = false;
  intr = false;
  stopRequested = false;
  pic: Pic8259 | null = null;
  handler: (vector: number) => void = () => {};
  taken: [number, number][] = [];
  run(stop: number): void {
    while (this.icount < stop && !this.stopRequested) {
      if (this.intr && this.pic) {
        const v = this.pic.acknowledge();
        this.taken.push([this.icount, v]);
        this.handler(v);
      }
      this.icount++;
      if (!this.intr) this.icount = stop; // nothing pending: skip to the slice end
    }
  }
  reset(): void {}
  saveState(): StateRecord {
    return { icount: this.icount };
  }
  loadState(s: StateRecord): void {
    this.icount = num(s, 'icount');
  }
}

test('IRQ0 at 100 Hz and IRQ8 at 2 Hz reach the CPU as vectors 0x20 and 0x70 with EOIs', () => {
  let cpu!: InterruptingCpu;
  const m = new Machine({ ramBytes: 2 << 20 }, { boundary: new ScriptedBoundary([], Date.UTC(2026, 0, 1)), createCpu: () => (cpu = new InterruptingCpu()) });
  const pic = m.addDevice(new Pic8259());
  m.addDevice(new Pit8254());
  m.addDevice(new CmosRtc());
  cpu.pic = pic;
  const p = m.ports;
  for (const [port, v] of [[0x20, 0x11], [0x21, 0x20], [0x21, 4], [0x21, 1], [0xa0, 0x11], [0xa1, 0x70], [0xa1, 2], [0xa1, 1], [0x21, 0], [0xa1, 0]]) p.out8(port!, v!);
  p.out8(0x43, 0x34);
  p.out8(0x40, 11932 & 0xff);
  p.out8(0x40, 11932 >> 8);
  p.out8(0x70, 0x0a);
  p.out8(0x71, 0x2f); // 2 Hz
  p.out8(0x70, 0x0b);
  p.out8(0x71, 0x42); // PIE
  cpu.handler = (v) => {
    if (v === 0x70) {
      p.out8(0x70, 0x0c);
      p.in8(0x71);
      p.out8(0xa0, 0x20);
    }
    p.out8(0x20, 0x20);
  };
  m.run(100_010_000); // a little over one second of guest time (the first tick comes at 10.001 ms)
  const v20 = cpu.taken.filter(([, v]) => v === 0x20);
  const v70 = cpu.taken.filter(([, v]) => v === 0x70);
  assert.equal(v20.length, 100);
  assert.equal(v70.length, 2);
  assert.equal(cpu.taken.length, 102, 'nothing spurious');
  for (let i = 1; i < v20.length; i++) {
    const d = v20[i]![0] - v20[i - 1]![0];
    assert.ok(d === 1_000_015 || d === 1_000_016, `tick spacing ${d} instructions (11932 / 1.193182 MHz = 10.00015 ms)`);
  }
  assert.ok(Math.abs(v70[1]![0] - v70[0]![0] - 50_000_000) <= 1);
});
