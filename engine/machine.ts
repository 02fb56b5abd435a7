/**
 * The machine: wires memory, ports, IRQ lines, scheduler, clock, the
 * nondeterminism boundary, a CPU and devices, and runs them.
 *
 * The run loop works in slices. Each slice ends at the nearest of: the caller's
 * budget, the next scheduler deadline, and the next pending input. Between
 * slices, inputs and timers due now are delivered, so they take effect at
 * exact instruction boundaries. When the CPU halts, the icount skips to the
 * next deadline (idle instructions are credited; see ARCHITECTURE.md).
 */
import { RewindError, ERR, argError } from './errors.js';
import { type Logger, nullLogger, LOG } from './log.js';
import { PhysMemory, PAGE_SHIFT, PAGE_SIZE, DEFAULT_RAM_BYTES } from './memory/phys-memory.js';
import { PortBus } from './io/port-bus.js';
import { IrqLines } from './io/irq-lines.js';
import { Scheduler } from './time/scheduler.js';
import { GuestClock, type ClockMode } from './time/clock.js';
import { type Boundary, type InputEvent, type InputSink, type OutputKind, INPUT, INPUT_NAMES, ScriptedBoundary } from './replay/boundary.js';
import { StateRegistry, PageDigests, computeStateHash, type ComponentState, type Snapshotable, type StateRecord } from './state/snapshot.js';
import type { CpuCore } from './cpu/cpu-core.js';
import { type Device, type DeviceContext, type StopReason, STOP } from './device.js';

export interface MachineConfig {
  ramBytes?: number;
  clockMode?: ClockMode;
  nsPerInstr?: number;
}

export interface MachineDeps {
  boundary?: Boundary;
  logger?: Logger;
  /** Builds the CPU once memory, ports and the machine context exist. */
  createCpu: (m: Machine) => CpuCore;
}

export interface MachineSnapshot {
  format: 1;
  icount: number;
  ramBytes: number;
  components: Record<string, ComponentState>;
  /** Page index -> a copy of its 4096 bytes: every RAM page that is not all zero. */
  pages: Map<number, Uint8Array>;
}

export interface RunResult {
  reason: StopReason;
  detail: string;
  exitCode: number;
}

type InputHandler = (ev: InputEvent) => void;

export class Machine implements InputSink, Snapshotable {
  readonly stateName = 'machine';
  readonly stateVersion = 1;
  readonly config: Required<MachineConfig>;
  readonly logger: Logger;
  readonly memory: PhysMemory;
  readonly ports: PortBus;
  readonly irq: IrqLines;
  readonly clock: GuestClock;
  readonly scheduler: Scheduler;
  boundary: Boundary;
  readonly cpu: CpuCore;
  readonly devices: Device[] = [];
  readonly registry = new StateRegistry();
  readonly ctx: DeviceContext;
  private readonly pageDigests: PageDigests;
  private readonly inputHandlers = new Map<number, InputHandler>();

  /** Host-side listener for guest output (printing, TUI, pcap). */
  onOutput: (kind: OutputKind, target: number, data: Uint8Array) => void = () => {};

  private stopReason: StopReason | null = null;
  private stopDetail = '';
  private exitCode = 0;
  private resetPending: string | null = null;
  /** End of the slice the CPU is running, or -1 between slices. */
  private runningSliceEnd = -1;
  resets = 0;

  constructor(config: MachineConfig, deps: MachineDeps) {
    this.config = {
      ramBytes: config.ramBytes ?? DEFAULT_RAM_BYTES,
      clockMode: config.clockMode ?? 'virtual',
      nsPerInstr: config.nsPerInstr ?? 10,
    };
    this.logger = deps.logger ?? nullLogger;
    this.boundary = deps.boundary ?? new ScriptedBoundary();
    this.memory = new PhysMemory({ ramBytes: this.config.ramBytes });
    this.ports = new PortBus(this.logger);
    this.irq = new IrqLines();
    this.clock = new GuestClock(this.config.clockMode, this.config.nsPerInstr);
    this.scheduler = new Scheduler(this.clock);
    const self = this;
    this.ctx = {
      ports: this.ports,
      memory: this.memory,
      irq: this.irq,
      scheduler: this.scheduler,
      clock: this.clock,
      logger: this.logger,
      get boundary() {
        return self.boundary;
      },
      icount: () => this.cpu.icount,
      nowNs: () => this.clock.nowNs(this.cpu.icount),
      output: (kind, target, data) => this.output(kind, target, data),
      setIntr: (level) => {
        this.cpu.intr = level;
      },
      requestStop: (reason, detail, exitCode) => this.requestStop(reason, detail ?? '', exitCode ?? 0),
      setA20: (enabled) => this.memory.setA20(enabled),
      registerInput: (kind, target, handler) => this.onInput(kind, target, handler),
      requestReset: (reason) => {
        this.resetPending = reason;
        this.endCpuSlice();
      },
    };
    this.cpu = deps.createCpu(this);
    this.registry.add(this);
    this.registry.add(this.memory);
    this.registry.add(this.irq);
    this.registry.add(this.clock);
    this.registry.add(this.scheduler);
    this.registry.add(this.cpu);
    this.pageDigests = new PageDigests(this.memory);
    // A device that arms a deadline inside the running slice (the guest
    // programs a timer) must end the slice in time for it.
    this.scheduler.onEarlierDeadline = (due) => {
      if (due < this.runningSliceEnd) this.endCpuSlice();
    };
    this.inputHandlers.set(INPUT.HOST_CLOCK, (ev) => this.clock.rebase(ev.icount, ev.value));
  }

  /** Adds a device: attaches it to the buses and to the snapshot registry. */
  addDevice<D extends Device>(device: D): D {
    device.attach(this.ctx);
    this.devices.push(device);
    this.registry.add(device);
    return device;
  }

  /** Routes inputs of `kind` for `target` to a device. */
  onInput(kind: number, target: number, handler: InputHandler): void {
    const key = kind * 256 + target;
    if (this.inputHandlers.has(key)) throw argError(`${INPUT_NAMES[kind]} input ${target} already has a handler`);
    this.inputHandlers.set(key, handler);
  }

  deliverInput(ev: InputEvent): void {
    const h = this.inputHandlers.get(ev.kind === INPUT.HOST_CLOCK ? ev.kind : ev.kind * 256 + ev.target);
    if (h) h(ev);
    else this.logger.log(LOG.WARN, 'machine', `${INPUT_NAMES[ev.kind] ?? `kind ${ev.kind}`} input for target ${ev.target} has no device; dropped`);
  }

  output(kind: OutputKind, target: number, data: Uint8Array): void {
    this.boundary.noteOutput(kind, target, this.cpu.icount, data);
    this.onOutput(kind, target, data);
  }

  get icount(): number {
    return this.cpu.icount;
  }

  requestStop(reason: StopReason, detail = '', exitCode = 0): void {
    if (this.stopReason === null) {
      this.stopReason = reason;
      this.stopDetail = detail;
      this.exitCode = exitCode;
    }
    this.endCpuSlice();
  }

  /** Makes the CPU return at the next instruction boundary, even from its fast loop. */
  private endCpuSlice(): void {
    if (this.cpu.endSlice) this.cpu.endSlice();
    else this.cpu.stopRequested = true;
  }

  /** Power-on / hard reset of CPU and devices. RAM is kept, as on a warm reset. */
  reset(): void {
    this.memory.setA20(true);
    for (const d of this.devices) d.reset();
    this.cpu.reset();
  }

  /**
   * Runs at most `maxInstructions` more instructions (or until `untilIcount`
   * if given). Returns why it stopped. Deterministic: the same state and
   * inputs give the same result whatever the budget is split into.
   */
  run(maxInstructions: number, untilIcount = Infinity): RunResult {
    if (!(maxInstructions >= 0)) throw argError(`instruction budget must be >= 0, got ${maxInstructions}`);
    const cpu = this.cpu;
    const end = Math.min(cpu.icount + maxInstructions, untilIcount);
    this.stopReason = null;
    for (;;) {
      const now = cpu.icount;
      this.boundary.deliverDue(now, this);
      this.scheduler.runDue(now);
      if (this.resetPending !== null) {
        const why = this.resetPending;
        this.resetPending = null;
        this.resets++;
        this.logger.log(LOG.INFO, 'machine', `reset: ${why}`);
        this.reset();
        cpu.icount = now;
      }
      if (this.stopReason !== null) return this.finish();
      if (now >= end) return { reason: now >= untilIcount ? STOP.UNTIL : STOP.BUDGET, detail: '', exitCode: 0 };
      const stop = this.sliceEnd(end);
      if (stop <= now) continue;
      cpu.stopRequested = false;
      this.runningSliceEnd = stop;
      cpu.run(stop);
      this.runningSliceEnd = -1;
      if (this.stopReason !== null) return this.finish();
      if (this.resetPending !== null) continue;
      if (cpu.halted) {
        // Idle: credit idle instructions up to the next event (recomputed: the
        // slice may have armed new deadlines). With no timer and no pending
        // input only a live input can wake the CPU, so return rather than let
        // the budget decide how far the icount moves.
        if (this.scheduler.nextDueIcount === Infinity && this.boundary.nextInputIcount() === Infinity) {
          return { reason: STOP.HALTED, detail: 'halted with nothing scheduled', exitCode: 0 };
        }
        const next = this.sliceEnd(end);
        if (next > cpu.icount) cpu.icount = next;
      }
    }
  }

  /** The end of the next slice: the nearest of the budget end, the next deadline and the next input. */
  private sliceEnd(end: number): number {
    let stop = end;
    if (this.scheduler.nextDueIcount < stop) stop = this.scheduler.nextDueIcount;
    const nextInput = this.boundary.nextInputIcount();
    if (nextInput < stop) stop = nextInput;
    return stop;
  }

  private finish(): RunResult {
    const r = { reason: this.stopReason!, detail: this.stopDetail, exitCode: this.exitCode };
    this.stopReason = null;
    return r;
  }

  // ---- state ----

  saveState(): StateRecord {
    return { resets: this.resets };
  }

  loadState(s: StateRecord): void {
    const r = s['resets'];
    this.resets = typeof r === 'number' ? r : 0;
  }

  /** A full snapshot: every component's state and every non-zero RAM page. */
  snapshot(): MachineSnapshot {
    const pages = new Map<number, Uint8Array>();
    const mem = this.memory.mem;
    const stamps = this.memory.writeStamp;
    for (let p = 0; p < this.memory.ramPages; p++) {
      if (stamps[p] === 0) continue; // never written since power-on: still zero
      const off = p << PAGE_SHIFT;
      const page = mem.subarray(off, off + PAGE_SIZE);
      if (!isZero(page)) pages.set(p, page.slice());
    }
    return { format: 1, icount: this.cpu.icount, ramBytes: this.memory.ramBytes, components: this.registry.save(), pages };
  }

  /** Restores a full snapshot taken from a machine of the same configuration. */
  restore(snap: MachineSnapshot): void {
    if (snap.format !== 1) throw new RewindError(ERR.SNAPSHOT, `unknown snapshot format ${String(snap.format)}`);
    if (snap.ramBytes !== this.memory.ramBytes) {
      throw new RewindError(ERR.SNAPSHOT, `snapshot is of a machine with ${snap.ramBytes >>> 20} MiB of RAM, this one has ${this.memory.ramBytes >>> 20} MiB`);
    }
    const mem = this.memory.mem;
    const stamps = this.memory.writeStamp;
    const zero = new Uint8Array(PAGE_SIZE);
    for (let p = 0; p < this.memory.ramPages; p++) {
      const page = snap.pages.get(p);
      const off = p << PAGE_SHIFT;
      // Raw RAM by page index, as snapshot() reads it: not through the page map,
      // which may show ROM or MMIO at a shadowed page (PAM) until the devices load.
      if (page) this.writeRamPage(p, page);
      else if (stamps[p] !== 0 && !isZero(mem.subarray(off, off + PAGE_SIZE))) this.writeRamPage(p, zero);
    }
    this.registry.load(snap.components);
  }

  private writeRamPage(p: number, data: Uint8Array): void {
    const m = this.memory;
    m.mem.set(data, p << PAGE_SHIFT);
    m.writeStamp[p] = m.epoch;
    if (m.codePages[p]) m.onCodeWrite(p);
  }

  /** The canonical state hash (SHA-256, hex) of the whole machine. */
  stateHash(): string {
    return computeStateHash(this.registry.save(), this.pageDigests);
  }
}

function isZero(page: Uint8Array): boolean {
  const w = new Int32Array(page.buffer, page.byteOffset, page.length >>> 2);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}

