/**
 * DebugTarget over the real engine: a Machine with the IA-32 Cpu, replayed
 * by a Runner (engine/replay/runner.ts) that keeps checkpoints.
 *
 * How probes reach the engine:
 *  - instructions and data accesses: the CPU's debug hooks (cpu.debugHooks;
 *    the CPU runs its debug loop while they are set, the fast loop otherwise);
 *  - I/O: PortBus.onAccess;
 *  - interrupt/exception delivery, HLT and CR0 mode switches: the CPU has no
 *    hooks for these yet, so the adapter wraps cpu.deliver, cpu.halt and
 *    cpu.writeCr0 once, on this Cpu instance (see `instrument`); serial and
 *    network output through machine.output, received frames through
 *    machine.deliverInput. The wrappers cost one flag test when no probe is
 *    installed.
 *
 * Positions: `sub` counts external interrupt, NMI and exception deliveries
 * since the last retired instruction (INT n / INT3 / INTO are part of their
 * instruction and do not count), as target.ts defines.
 *
 * Live sessions (`live` option): the Runner records (RecordBoundary) as the
 * machine runs, so history is everything up to the frontier. Going back swaps
 * in a ReplayBoundary over what has been recorded so far (recordingSource);
 * running forward replays up to the frontier, then swaps the RecordBoundary
 * back and goes on live and recording.
 *
 * Branches: a debugger write makes the state a branch. On a branch the
 * machine runs without the Runner (no SYNC verification, no checkpoints), so
 * the recording and its checkpoints never see the altered state; seek()
 * restores a checkpoint and so returns to the recording. A live branch gets
 * no further inputs (they belong to the recording).
 */

export interface LiveRecording {
  /** The boundary the Runner records through (startRecording's). */
  record: RecordBoundary;
  /** The icount recording started at, and the journal's field slots (its header's). */
  startIcount: number;
  fields: string[];
}
import { RewindError, ERR } from '../../engine/errors.js';
import type { Machine } from '../../engine/machine.js';
import type { Cpu } from '../../engine/cpu/cpu.js';
import { STOP } from '../../engine/device.js';
import { INPUT, INPUT_NAMES, OUTPUT, ScriptedBoundary, type Boundary, type InputEvent, type OutputKind } from '../../engine/replay/boundary.js';
import { ReplayBoundary } from '../../engine/replay/replay-boundary.js';
import type { RecordBoundary } from '../../engine/replay/record-boundary.js';
import { recordingSource, type Runner } from '../../engine/replay/runner.js';
import { PAGE_RAM, PAGE_ROM, PAGE_SHIFT, PAGE_MASK } from '../../engine/memory/phys-memory.js';
import { REG, EV, EV_DELIVERY, type CpuMode, type DebugTarget, type FpuState, type Probe, type RegId, type TargetEvent, type TargetStop, type TimelineEvent } from './target.js';

const CR0_PE = 1;
const CR0_PG = 0x80000000 | 0;
const FLAG_VM = 1 << 17;
/** Cpu segment index (ES CS SS DS FS GS) for REG.CS..REG.GS (gdb order: cs ss ds es fs gs). */
const SEG_OF_REG = [1, 2, 3, 0, 4, 5];

function modeOf(cr0: number, eflags: number): CpuMode {
  if (!(cr0 & CR0_PE)) return 'real';
  if (eflags & FLAG_VM) return 'v86';
  return cr0 & CR0_PG ? 'paging' : 'protected';
}

/** The MachineTarget the wrappers of a Cpu report to (the newest one made for it). */
const OWNER = new WeakMap<Cpu, MachineTarget>();

export class MachineTarget implements DebugTarget {
  readonly machine: Machine;
  readonly cpu: Cpu;
  readonly runner: Runner;
  onBranch = false;
  readonly live: LiveRecording | null;
  /** Live: the newest recorded icount. */
  frontier = 0;
  private branchBoundary: Boundary | null = null;
  private probe: Probe | null = null;
  private subCount = 0;
  private subIcount = -1;
  private acked = false;
  /** The installed probe watches memory (the CPU must report every access). */
  needAccess = false;
  private readonly hooks: { breakpoint(lin: number): boolean; access(lin: number, phys: number, size: number, isWrite: boolean, value: number): void };
  private readonly onPort: (port: number, size: number, isWrite: boolean, value: number) => void;

  constructor(runner: Runner, live: LiveRecording | null = null) {
    this.runner = runner;
    this.live = live;
    this.frontier = runner.machine.icount;
    this.machine = runner.machine;
    this.cpu = runner.machine.cpu as Cpu;
    if (typeof (this.cpu as Partial<Cpu>).linearToPhysical !== 'function') throw new RewindError(ERR.STATE, 'the machine has no IA-32 CPU with debug support');
    if (!runner.checkpoints) throw new RewindError(ERR.STATE, 'reverse debugging needs a runner that keeps checkpoints (checkpointInterval > 0)');
    this.hooks = {
      breakpoint: (lin) => {
        const p = this.probe;
        if (p === null) return false;
        this.syncSub();
        if ((p.code === null || p.code.has(lin >>> 0)) && p.onInsn(lin >>> 0)) {
          this.machine.requestStop(STOP.BREAKPOINT, 'debugger');
          return true;
        }
        return false;
      },
      access: (lin, phys, size, isWrite, value) => {
        const p = this.probe;
        if (p !== null && p.memory && p.onAccess(lin >>> 0, phys >>> 0, size, isWrite, value >>> 0)) this.machine.requestStop(STOP.BREAKPOINT, 'debugger');
      },
    };
    this.onPort = (port, size, isWrite, value) => {
      const p = this.probe;
      if (p !== null && (p.events & EV.IO) !== 0) this.event({ kind: 'io', port, size, isWrite, value }, EV.IO);
    };
    this.instrument();
  }

  /**
   * Wraps the engine methods that have no debug hook yet (see the file
   * comment). Done once per Cpu; the wrappers call whichever MachineTarget
   * was created last for it, so a second adapter over the same machine does
   * not stack wrappers.
   */
  private instrument(): void {
    const cpu = this.cpu;
    const already = OWNER.has(cpu);
    OWNER.set(cpu, this);
    if (already) return;
    const self = {
      get probe(): Probe | null {
        return OWNER.get(cpu)!.probe;
      },
      delivered: (vector: number, err: number, soft: boolean): void => OWNER.get(cpu)!.delivered(vector, err, soft),
      event: (ev: TargetEvent, mask: number): void => OWNER.get(cpu)!.event(ev, mask),
      set acked(v: boolean) {
        OWNER.get(cpu)!.acked = v;
      },
    };
    const deliver = cpu.deliver;
    cpu.deliver = function (vector: number, err: number, soft: boolean, retEip: number): void {
      deliver.call(cpu, vector, err, soft, retEip);
      if (self.probe !== null) self.delivered(vector, err, soft);
      else self.acked = false;
    };
    const halt = cpu.halt;
    cpu.halt = function (): void {
      halt.call(cpu);
      if (self.probe !== null && (self.probe.events & EV.HLT) !== 0) self.event({ kind: 'hlt' }, EV.HLT);
    };
    // The CPU stops filling its TLB whenever debug hooks are set, so that every
    // data access reaches the access hook. Probes that watch no memory do not
    // need that: keep the TLB (instruction probes then run about as fast as
    // plain replay).
    const updateDebugState = cpu.updateDebugState;
    cpu.updateDebugState = function (): void {
      const owner = OWNER.get(cpu)!;
      const hooks = cpu.debugHooks;
      if (hooks !== null && !owner.needAccess) {
        cpu.debugHooks = null;
        try {
          updateDebugState.call(cpu);
        } finally {
          cpu.debugHooks = hooks;
        }
      } else updateDebugState.call(cpu);
    };
    const writeCr0 = cpu.writeCr0;
    cpu.writeCr0 = function (v: number): void {
      const before = modeOf(cpu.cr0, cpu.getEflags());
      writeCr0.call(cpu, v);
      if (self.probe !== null && (self.probe.events & EV.MODE) !== 0) {
        const after = modeOf(cpu.cr0, cpu.getEflags());
        if (after !== before) self.event({ kind: 'mode', cr0: cpu.cr0 >>> 0, cr4: cpu.cr4 >>> 0, from: before, to: after }, EV.MODE);
      }
    };
    const m = this.machine;
    const output = m.output;
    m.output = function (kind: OutputKind, target: number, data: Uint8Array): void {
      output.call(m, kind, target, data);
      const p = self.probe;
      if (p === null) return;
      if ((kind === OUTPUT.SERIAL || kind === OUTPUT.DEBUGCON) && (p.events & EV.SERIAL_OUT) !== 0) self.event({ kind: 'serial', port: kind === OUTPUT.DEBUGCON ? 0xe9 : target, data }, EV.SERIAL_OUT);
      else if (kind === OUTPUT.NET_TX && (p.events & EV.NET_TX) !== 0) self.event({ kind: 'net', dir: 'tx', nic: target, frame: data }, EV.NET_TX);
    };
    const deliverInput = m.deliverInput;
    m.deliverInput = function (ev: InputEvent): void {
      deliverInput.call(m, ev);
      const p = self.probe;
      if (p !== null && ev.kind === INPUT.NET_RX && ev.data && (p.events & EV.NET_RX) !== 0) self.event({ kind: 'net', dir: 'rx', nic: ev.target, frame: ev.data }, EV.NET_RX);
    };
    this.wrapAck();
  }

  /** Marks external interrupts: the INTA cycle precedes their delivery. */
  private wrapAck(): void {
    const cpu = this.cpu;
    const ack = cpu.intAck;
    if ((ack as { rewindWrapped?: boolean }).rewindWrapped) return;
    cpu.intAck = {
      rewindWrapped: true,
      acknowledge: () => {
        OWNER.get(cpu)!.acked = true;
        return ack.acknowledge();
      },
    } as typeof ack;
  }

  private syncSub(): void {
    if (this.cpu.icount !== this.subIcount) {
      this.subIcount = this.cpu.icount;
      this.subCount = 0;
    }
  }

  private delivered(vector: number, err: number, soft: boolean): void {
    const external = this.acked;
    this.acked = false;
    const software = !external && (soft || vector === 3 || vector === 4);
    const source: 'external' | 'nmi' | 'exception' | 'software' = external ? 'external' : software ? 'software' : vector === 2 ? 'nmi' : 'exception';
    if (!software) {
      this.syncSub();
      this.subCount++;
    }
    const mask = source === 'software' ? EV.SOFT_INT : source === 'exception' ? EV.EXCEPTION : EV.INTERRUPT;
    this.event({ kind: 'interrupt', vector, source, errorCode: err < 0 ? 0 : err }, mask);
  }

  private event(ev: TargetEvent, mask: number): void {
    const p = this.probe;
    if (p === null || (p.events & mask) === 0) return;
    this.syncSub();
    if (p.onEvent(ev)) this.machine.requestStop(STOP.BREAKPOINT, 'debugger');
  }

  // ---- DebugTarget: position and history ----

  get icount(): number {
    return this.cpu.icount;
  }

  get sub(): number {
    return this.cpu.icount === this.subIcount ? this.subCount : 0;
  }

  get historyStart(): number {
    return this.runner.checkpoints!.list()[0]?.icount ?? 0;
  }

  get historyEnd(): number {
    if (this.live) return Infinity;
    const b = this.runner.boundary;
    return b instanceof ReplayBoundary ? b.endIcount : Infinity;
  }

  /** Live: replay what has been recorded so far (to go back). */
  private toReplay(): void {
    const live = this.live!;
    if (this.machine.boundary instanceof ReplayBoundary) return;
    this.frontier = Math.max(this.frontier, this.cpu.icount);
    this.machine.boundary = new ReplayBoundary(recordingSource(live.record, live.startIcount, live.fields, this.frontier));
  }

  get halted(): boolean {
    return this.cpu.halted;
  }

  checkpointAtOrBefore(icount: number): number {
    return this.runner.checkpoints!.nearestAtOrBefore(icount)?.icount ?? this.historyStart;
  }

  takeCheckpoint(): void {
    const b = this.runner.boundary;
    if (this.onBranch || !(b instanceof ReplayBoundary) || this.sub !== 0) return;
    this.runner.checkpoints!.take(b.position());
  }

  seek(icount: number): void {
    const store = this.runner.checkpoints!;
    if (this.live) {
      if (!this.onBranch && this.machine.boundary === this.live.record) this.frontier = Math.max(this.frontier, this.cpu.icount);
      if (icount > this.frontier) throw new RewindError(ERR.ARGUMENT, `icount ${icount} is ahead of the live frontier ${this.frontier}: run there instead`);
      if (this.branchBoundary) {
        this.machine.boundary = this.branchBoundary;
        this.branchBoundary = null;
      }
      this.toReplay();
    }
    // The Runner takes "at icount t" to be one state; a handler entry (sub > 0)
    // shares its icount with the state before the delivery, so restore.
    if (this.onBranch || (icount === this.cpu.icount && this.sub > 0)) {
      const cp = store.nearestAtOrBefore(icount);
      if (!cp) throw new RewindError(ERR.STATE, `no checkpoint at or before icount ${icount}`);
      this.runner.restoreCheckpoint(cp);
      this.onBranch = false;
    }
    this.probe = null;
    this.cpu.debugHooks = null;
    this.machine.ports.onAccess = null;
    const r = this.runner.seek(icount);
    this.subIcount = -1;
    if (this.cpu.icount !== icount) throw new RewindError(ERR.STATE, `seek to ${icount} stopped at ${this.cpu.icount}: ${r.reason} ${r.detail}`);
  }

  beginBranch(): void {
    if (this.onBranch) return;
    this.onBranch = true;
    if (this.live) {
      // A live branch takes no inputs: they belong to the recording.
      this.branchBoundary = this.machine.boundary;
      this.machine.boundary = new ScriptedBoundary([], this.branchBoundary.wallClockAtBoot());
    }
  }

  events(from: number, to: number): TimelineEvent[] {
    const b = this.runner.boundary;
    const list = this.live ? this.live.record.events : b instanceof ReplayBoundary ? b.source.events : [];
    const out: TimelineEvent[] = [];
    for (const ev of list) {
      if (ev.icount < from) continue;
      if (ev.icount >= to) break;
      const what = INPUT_NAMES[ev.kind] ?? `kind ${ev.kind}`;
      let summary: string;
      if (ev.kind === INPUT.HOST_CLOCK) summary = `host clock ${ev.value} ns`;
      else if (ev.kind === INPUT.SERIAL && ev.data) summary = `serial ${ev.target}: ${JSON.stringify(Buffer.from(ev.data).toString('latin1'))}`;
      else summary = `target ${ev.target}, ${ev.data?.length ?? 0} bytes`;
      out.push({ icount: ev.icount, kind: what, summary });
    }
    return out;
  }

  stateHash(): string {
    return this.machine.stateHash();
  }

  // ---- DebugTarget: state ----

  readReg(id: RegId): number {
    const c = this.cpu;
    if (id <= REG.EDI) return c.reg32[id]! >>> 0;
    switch (id) {
      case REG.EIP:
        return c.eip >>> 0;
      case REG.EFLAGS:
        return c.getEflags() >>> 0;
      case REG.CR0:
        return c.cr0 >>> 0;
      case REG.CR2:
        return c.cr2 >>> 0;
      case REG.CR3:
        return c.cr3 >>> 0;
      case REG.CR4:
        return c.cr4 >>> 0;
      default:
        if (id >= REG.CS && id <= REG.GS) return c.segSel[SEG_OF_REG[id - REG.CS]!]!;
        if (id >= REG.CS_BASE && id <= REG.GS_BASE) return c.segBase[SEG_OF_REG[id - REG.CS_BASE]!]! >>> 0;
        return 0;
    }
  }

  writeReg(id: RegId, value: number): void {
    const c = this.cpu;
    if (id <= REG.EDI) c.reg32[id] = value | 0;
    else if (id === REG.EIP) c.eip = value | 0;
    else if (id === REG.EFLAGS) c.setEflags(value | 0);
    else if (id === REG.CR0) c.writeCr0(value | 0);
    else if (id === REG.CR2) c.cr2 = value | 0;
    else if (id === REG.CR3) c.writeCr3(value | 0);
    else if (id === REG.CR4) c.writeCr4(value | 0);
    else if (id >= REG.CS && id <= REG.GS) {
      try {
        c.loadSegment(SEG_OF_REG[id - REG.CS]!, value & 0xffff);
      } catch {
        throw new RewindError(ERR.ARGUMENT, `cannot load selector 0x${(value & 0xffff).toString(16)}: the CPU refuses it in this mode`);
      }
    } else throw new RewindError(ERR.ARGUMENT, 'segment bases are set by loading a selector');
  }

  linearToPhysical(linAddr: number, forWrite: boolean): number {
    return this.cpu.linearToPhysical(linAddr, forWrite);
  }

  /** RAM and ROM only: MMIO is never read by the debugger (reads can have side effects); it shows as 0xff. */
  readPhysical(physAddr: number, length: number): Uint8Array {
    const mem = this.machine.memory;
    const out = new Uint8Array(length);
    for (let i = 0; i < length; ) {
      const a = (physAddr + i) >>> 0;
      const page = a >>> PAGE_SHIFT;
      const n = Math.min(length - i, PAGE_MASK + 1 - (a & PAGE_MASK));
      const kind = mem.pageKind[page];
      if (kind === PAGE_RAM || kind === PAGE_ROM) out.set(mem.mem.subarray(mem.pageOffset[page]! + (a & PAGE_MASK), mem.pageOffset[page]! + (a & PAGE_MASK) + n), i);
      else out.fill(0xff, i, i + n);
      i += n;
    }
    return out;
  }

  read8(physAddr: number): number {
    const mem = this.machine.memory;
    const page = physAddr >>> PAGE_SHIFT;
    const kind = mem.pageKind[page];
    return kind === PAGE_RAM || kind === PAGE_ROM ? mem.mem[mem.pageOffset[page]! + (physAddr & PAGE_MASK)]! : 0xff;
  }

  writePhysical(physAddr: number, data: Uint8Array): void {
    const mem = this.machine.memory;
    for (let i = 0; i < data.length; ) {
      const a = (physAddr + i) >>> 0;
      const page = a >>> PAGE_SHIFT;
      const n = Math.min(data.length - i, PAGE_MASK + 1 - (a & PAGE_MASK));
      if (mem.pageKind[page] !== PAGE_RAM) throw new RewindError(ERR.ARGUMENT, `physical address 0x${a.toString(16)} is not RAM`);
      mem.writeBytes(a, data.subarray(i, i + n));
      i += n;
    }
  }

  codeIs32(): boolean {
    return this.cpu.code32;
  }

  readFpu(): FpuState {
    const f = this.cpu.x87.fpu;
    const st: Uint8Array[] = [];
    for (let i = 0; i < 8; i++) {
      const r = (f.top + i) & 7;
      const b = new Uint8Array(10);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, f.regLo[r]!, true);
      dv.setUint32(4, f.regHi[r]!, true);
      dv.setUint16(8, f.regSE[r]!, true);
      st.push(b);
    }
    return { st, fctrl: f.cw & 0xffff, fstat: f.statusWord() & 0xffff, ftag: f.tagWord() & 0xffff, fiseg: f.fcs & 0xffff, fioff: f.fip >>> 0, foseg: f.fds & 0xffff, fooff: f.fdp >>> 0, fop: f.fop & 0x7ff };
  }

  // ---- DebugTarget: execution ----

  run(untilIcount: number, probe: Probe | null): TargetStop {
    if (this.live && !this.onBranch && this.machine.boundary instanceof ReplayBoundary) {
      // In the past of a live session: replay up to the frontier, then go on live.
      const r = this.runOnce(Math.min(untilIcount, this.frontier), probe);
      if (r.reason !== 'until' && r.reason !== 'end') return r;
      if (this.cpu.icount < this.frontier || untilIcount <= this.frontier) return { reason: 'until', detail: '' };
      this.machine.boundary = this.live.record;
    }
    const r = this.runOnce(untilIcount, probe);
    if (this.live && !this.onBranch && this.machine.boundary === this.live.record) this.frontier = Math.max(this.frontier, this.cpu.icount);
    return r;
  }

  private runOnce(untilIcount: number, probe: Probe | null): TargetStop {
    const cpu = this.cpu;
    const m = this.machine;
    const active = probe !== null && (probe.code === null || probe.code.size > 0 || probe.memory || probe.events !== 0);
    this.probe = active ? probe : null;
    this.wrapAck();
    // Instruction and access probes need the CPU's debug loop; deliveries too, so
    // that a stop at a handler's entry happens before its first instruction.
    cpu.debugHooks = active && (probe.code === null || probe.code.size > 0 || probe.memory || (probe.events & (EV_DELIVERY | EV.MODE)) !== 0) ? this.hooks : null;
    this.needAccess = active && probe.memory;
    // Whether the TLB may fill depends on this probe (not only on hooks being set): re-evaluate now.
    cpu.updateDebugState();
    m.ports.onAccess = active && (probe.events & EV.IO) !== 0 ? this.onPort : null;
    let reason: string;
    let detail: string;
    let journalEnd = false;
    try {
      if (this.onBranch) {
        const r = m.run(Infinity, untilIcount);
        reason = r.reason;
        detail = r.detail;
      } else {
        const r = this.runner.run(Infinity, untilIcount);
        reason = r.reason;
        detail = r.detail;
        journalEnd = r.journalEnd;
      }
    } catch (e) {
      if (e instanceof RewindError) return { reason: 'error', detail: e.message };
      throw e;
    } finally {
      this.probe = null;
      cpu.debugHooks = null;
      this.needAccess = false;
      m.ports.onAccess = null;
      // Back to TLB fills for plain runs.
      if (cpu.noTlbFill) cpu.updateDebugState();
    }
    switch (reason) {
      case STOP.UNTIL:
      case STOP.BUDGET:
        return { reason: journalEnd && cpu.icount < untilIcount ? 'end' : 'until', detail };
      case STOP.BREAKPOINT:
        return { reason: 'probe', detail };
      case STOP.HALTED:
        return { reason: 'halted', detail };
      case STOP.EXIT:
        return { reason: 'exit', detail };
      default:
        return { reason: 'error', detail: `${reason}${detail ? ': ' + detail : ''}` };
    }
  }
}
