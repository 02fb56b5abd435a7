/**
 * A small deterministic machine for record/replay tests, until the real PC
 * (engine/pc.ts) is available: a ToyCpu whose "instructions" read and write
 * RAM across a working set, do port-like I/O with a ToySerial (input bytes in,
 * output bytes out), halt now and then, and are woken by a ToyTimer (in host
 * clock mode armed in guest ns, so host-clock inputs change its timing) or by
 * input; and a ToyNic that DMAs received frames into RAM and transmits a reply.
 *
 * Everything it does depends on its state and on inputs only, so a recording
 * replays exactly; a `perturbAt` hook (not state) flips a bit to provoke a
 * divergence on purpose.
 */
import { Machine, type MachineConfig } from '../../../engine/machine.js';
import type { CpuCore } from '../../../engine/cpu/cpu-core.js';
import type { Device, DeviceContext } from '../../../engine/device.js';
import { INPUT, OUTPUT, type Boundary } from '../../../engine/replay/boundary.js';
import { num, bool, bytes, type StateRecord } from '../../../engine/state/snapshot.js';
import type { SchedTask } from '../../../engine/time/scheduler.js';

const WORK_MASK = 0x3ffff; // 256 KiB working set (64 pages)

export class ToySerial implements Device {
  readonly stateName = 'toy-serial';
  readonly stateVersion = 1;
  rx: number[] = [];
  ctx: DeviceContext | null = null;
  sent = 0;
  /** Test hook (not state): output bytes are XORed with this from this icount on. */
  corruptFrom = Infinity;
  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    ctx.registerInput(INPUT.SERIAL, 0, (ev) => {
      for (const b of ev.data!) this.rx.push(b);
      ctx.setIntr(true);
    });
  }
  reset(): void {
    this.rx = [];
    this.sent = 0;
  }
  read(): number {
    return this.rx.length ? this.rx.shift()! : 0xff;
  }
  write(b: number): void {
    const ctx = this.ctx!;
    if (ctx.icount() >= this.corruptFrom) b ^= 1;
    this.sent++;
    ctx.output(OUTPUT.SERIAL, 0, new Uint8Array([b & 0xff]));
  }
  saveState(): StateRecord {
    return { rx: new Uint8Array(this.rx), sent: this.sent };
  }
  loadState(s: StateRecord): void {
    this.rx = [...bytes(s, 'rx')];
    this.sent = num(s, 'sent');
  }
}

export class ToyTimer implements Device {
  readonly stateName = 'toy-timer';
  readonly stateVersion = 1;
  ticks = 0;
  periodInstr = 20_000;
  periodNs = 300_000;
  /** Configuration (not state): a disabled timer never arms, so a halted toy can only be woken by input. */
  enabled = true;
  private task: SchedTask | null = null;
  private ctx: DeviceContext | null = null;
  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.task = ctx.scheduler.createTask('toy-timer', () => this.fire());
    this.arm();
  }
  private arm(): void {
    const ctx = this.ctx!;
    if (!this.enabled) {
      ctx.scheduler.cancel(this.task!);
      return;
    }
    if (ctx.clock.mode === 'host') ctx.scheduler.armAtNs(this.task!, ctx.nowNs() + this.periodNs);
    else ctx.scheduler.arm(this.task!, ctx.icount() + this.periodInstr);
  }
  private fire(): void {
    this.ticks++;
    this.ctx!.setIntr(true);
    this.arm();
  }
  reset(): void {
    this.ticks = 0;
    this.arm();
  }
  saveState(): StateRecord {
    return { ticks: this.ticks };
  }
  loadState(s: StateRecord): void {
    this.ticks = num(s, 'ticks');
  }
}

export class ToyNic implements Device {
  readonly stateName = 'toy-nic';
  readonly stateVersion = 1;
  received = 0;
  attach(ctx: DeviceContext): void {
    ctx.registerInput(INPUT.NET_RX, 0, (ev) => {
      const f = ev.data!;
      const at = 0x100000 + ((this.received * 2048) & 0xffff);
      ctx.memory.writeBytes(at, f.subarray(0, Math.min(f.length, 2048)));
      this.received++;
      let h = 0;
      for (const b of f) h = (Math.imul(h, 31) + b) | 0;
      const reply = new Uint8Array(60);
      new DataView(reply.buffer).setInt32(0, h, true);
      ctx.output(OUTPUT.NET_TX, 0, reply);
      ctx.setIntr(true);
    });
  }
  reset(): void {
    this.received = 0;
  }
  saveState(): StateRecord {
    return { received: this.received };
  }
  loadState(s: StateRecord): void {
    this.received = num(s, 'received');
  }
}

export class ToyCpu implements CpuCore {
  readonly stateName = 'cpu';
  readonly stateVersion = 1;
  icount = 0;
  halted = false;
  intr = false;
  stopRequested = false;
  acc = 0x1234567;
  x = 1;
  wakeups = 0;
  /** Test hook (not state): flip a bit of acc once the icount reaches this (one shot). */
  perturbAt = -1;
  private readonly m: Machine;
  private readonly serial: () => ToySerial;
  constructor(m: Machine, serial: () => ToySerial) {
    this.m = m;
    this.serial = serial;
  }
  run(stop: number): void {
    const mem = this.m.memory;
    while (this.icount < stop && !this.stopRequested) {
      if (this.halted) {
        if (!this.intr) return;
        this.halted = false;
        this.intr = false;
        this.wakeups++;
        this.acc ^= 0x55;
      }
      const x = (Math.imul(this.x, 1103515245) + 12345 + this.acc) | 0;
      const v = mem.read32((x >>> 4) & WORK_MASK & ~3);
      let acc = (Math.imul(this.acc, 31) + v + (this.icount | 0)) | 0;
      mem.write32((acc >>> 6) & WORK_MASK & ~3, acc ^ x);
      if ((x & 0x3ff) === 7) this.serial().write(acc);
      if ((x & 0xfff) === 0x123) acc ^= this.serial().read();
      this.icount++;
      if (this.perturbAt >= 0 && this.icount >= this.perturbAt) {
        acc ^= 0x100;
        this.perturbAt = -1;
      }
      if ((acc & 0xffff) === 0x123) this.halted = true;
      this.x = x;
      this.acc = acc;
    }
  }
  reset(): void {
    this.acc = 0x1234567;
    this.x = 1;
    this.halted = false;
  }
  saveState(): StateRecord {
    return { icount: this.icount, acc: this.acc, x: this.x, halted: this.halted, intr: this.intr, wakeups: this.wakeups };
  }
  loadState(s: StateRecord): void {
    this.icount = num(s, 'icount');
    this.acc = num(s, 'acc');
    this.x = num(s, 'x');
    this.halted = bool(s, 'halted');
    this.intr = bool(s, 'intr');
    this.wakeups = num(s, 'wakeups');
  }
}

export interface ToyPc {
  m: Machine;
  cpu: ToyCpu;
  serial: ToySerial;
  timer: ToyTimer;
  nic: ToyNic;
  /** Every output, as "kind:target:icount:hex". */
  outputs: string[];
}

export function createToyPc(boundary: Boundary, config: MachineConfig = {}): ToyPc {
  let serial!: ToySerial;
  let cpu!: ToyCpu;
  const m = new Machine({ ramBytes: 4 * 1024 * 1024, ...config }, { boundary, createCpu: (mm) => (cpu = new ToyCpu(mm, () => serial)) });
  serial = m.addDevice(new ToySerial());
  const timer = m.addDevice(new ToyTimer());
  const nic = m.addDevice(new ToyNic());
  // A "ROM" image: some non-zero RAM at power-on.
  const image = new Uint8Array(8192);
  for (let i = 0; i < image.length; i++) image[i] = (i * 7) & 0xff;
  m.memory.loadIntoRam(0x8000, image, 'toy image');
  const outputs: string[] = [];
  m.onOutput = (kind, target, data) => outputs.push(`${kind}:${target}:${m.icount}:${Buffer.from(data).toString('hex')}`);
  return { m, cpu, serial, timer, nic, outputs };
}

/** Machine config as a journal header records it. */
export function toyMachineConfig(m: Machine): { [key: string]: number | string } {
  return { ramBytes: m.config.ramBytes, nsPerInstr: m.config.nsPerInstr, clockMode: m.config.clockMode, kind: 'toy' };
}
