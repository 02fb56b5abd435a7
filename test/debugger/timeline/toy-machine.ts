/**
 * A small deterministic machine for session and gdb tests, implementing
 * DebugTarget with real x86 encodings for a subset of IA-32 (32-bit flat,
 * no paging, linear = physical), a periodic timer interrupt driven by icount,
 * an exception (UD2 -> #UD), port output (0xE9 serial, 0xF4 exit), HLT with
 * idle credit to the next timer deadline, MOV CR0 (mode events) and REP STOSD.
 * History: checkpoints every `checkpointInterval` instructions (pages shared
 * with the previous checkpoint when unchanged), seek = restore + replay.
 *
 * It is not the emulator's CPU and never will be: it exists so that the
 * debugger's logic is tested against a machine whose every state is known.
 */
import { REG, EV, type DebugTarget, type Probe, type RegId, type TargetEvent, type TargetStop, type TimelineEvent } from '../../../debugger/timeline/target.js';
import { Sha256, toHex } from '../../../engine/state/sha256.js';

const PAGE = 4096;
const IF = 1 << 9;
const ZF = 1 << 6;

interface Checkpoint {
  icount: number;
  regs: Int32Array;
  timer: number;
  halted: boolean;
  exited: boolean;
  pages: Uint8Array[];
}

export interface ToyOptions {
  memBytes?: number;
  /** Timer interrupt period in instructions (0 = no timer). */
  timerPeriod?: number;
  timerVector?: number;
  checkpointInterval?: number;
  /** Replay mode: history ends here. Live mode (default): Infinity. */
  historyEnd?: number;
}

// regs layout: 0..7 GPRs, 8 eip, 9 eflags, 10..15 segs, 16..19 cr0..cr4
const NREGS = 20;

export class ToyMachine implements DebugTarget {
  readonly mem: Uint8Array;
  readonly regs = new Int32Array(NREGS);
  icount = 0;
  sub = 0;
  /** The newest icount reached on the recorded timeline. */
  frontier = 0;
  halted = false;
  exited = false;
  onBranch = false;
  readonly historyStart = 0;
  historyEnd: number;
  timerPeriod: number;
  timerVector: number;
  nextTimer: number;
  readonly checkpointInterval: number;
  readonly checkpoints = new Map<number, Checkpoint>();
  private sortedCps: number[] = [];
  private base: Uint8Array[];
  private readonly dirty: Uint8Array;
  readonly serial: number[] = [];
  /** Per-run state. */
  private probe: Probe | null = null;
  private stopAfter = false;
  private fault = -1;
  /** Counters for tests and benchmarks. */
  executed = 0;
  seeks = 0;

  constructor(opts: ToyOptions = {}) {
    const memBytes = opts.memBytes ?? 0x20000;
    this.mem = new Uint8Array(memBytes);
    this.dirty = new Uint8Array(memBytes / PAGE).fill(1);
    this.base = [];
    this.timerPeriod = opts.timerPeriod ?? 0;
    this.timerVector = opts.timerVector ?? 0x20;
    this.nextTimer = this.timerPeriod > 0 ? this.timerPeriod : Infinity;
    this.checkpointInterval = opts.checkpointInterval ?? 1000;
    this.historyEnd = opts.historyEnd ?? Infinity;
    this.regs[REG.EFLAGS] = 2;
    this.regs[REG.CR0] = 0x11;
  }

  /** Loads bytes and sets the entry point and stack; takes the checkpoint at 0. */
  load(addr: number, code: Uint8Array | number[], entry = addr, esp = this.mem.length - 16): this {
    this.mem.set(code, addr);
    this.regs[REG.EIP] = entry;
    this.regs[REG.ESP] = esp;
    this.takeCheckpointAt();
    return this;
  }

  /** Loads the PT_LOAD segments of an ELF32 executable. */
  loadElf(image: Uint8Array, esp = this.mem.length - 16): this {
    const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
    const entry = dv.getUint32(24, true);
    const phoff = dv.getUint32(28, true);
    const phentsize = dv.getUint16(42, true);
    const phnum = dv.getUint16(44, true);
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      if (dv.getUint32(o, true) !== 1) continue;
      const off = dv.getUint32(o + 4, true);
      const paddr = dv.getUint32(o + 12, true);
      const filesz = dv.getUint32(o + 16, true);
      this.mem.set(image.subarray(off, off + filesz), paddr);
    }
    this.regs[REG.EIP] = entry;
    this.regs[REG.ESP] = esp;
    this.takeCheckpointAt();
    return this;
  }

  // ---- DebugTarget: state ----

  readReg(id: RegId): number {
    if (id < NREGS) return this.regs[id]! >>> 0;
    return 0; // flat: all segment bases are 0
  }

  writeReg(id: RegId, value: number): void {
    if (id < NREGS) this.regs[id] = value | 0;
  }

  linearToPhysical(linAddr: number): number {
    return linAddr >>> 0 < this.mem.length ? linAddr >>> 0 : -1;
  }

  readPhysical(physAddr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = physAddr + i < this.mem.length ? this.mem[physAddr + i]! : 0xff;
    return out;
  }

  read8(physAddr: number): number {
    return physAddr < this.mem.length ? this.mem[physAddr]! : 0xff;
  }

  writePhysical(physAddr: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      const a = physAddr + i;
      if (a < this.mem.length) {
        this.mem[a] = data[i]!;
        this.dirty[a >>> 12] = 1;
      }
    }
  }

  codeIs32(): boolean {
    return true;
  }

  // ---- DebugTarget: history ----

  private takeCheckpointAt(): void {
    if (this.onBranch || this.checkpoints.has(this.icount) || this.sub !== 0) return;
    const pages: Uint8Array[] = [];
    for (let p = 0; p < this.dirty.length; p++) {
      if (this.dirty[p] || !this.base[p]) {
        pages.push(this.mem.slice(p * PAGE, (p + 1) * PAGE));
        this.dirty[p] = 0;
      } else pages.push(this.base[p]!);
    }
    this.base = pages;
    this.checkpoints.set(this.icount, { icount: this.icount, regs: this.regs.slice(), timer: this.nextTimer, halted: this.halted, exited: this.exited, pages });
    this.sortedCps = [...this.checkpoints.keys()].sort((a, b) => a - b);
  }

  takeCheckpoint(): void {
    this.takeCheckpointAt();
  }

  checkpointAtOrBefore(icount: number): number {
    const a = this.sortedCps;
    let lo = 0;
    let hi = a.length - 1;
    let best = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid]! <= icount) {
        best = a[mid]!;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  seek(icount: number): void {
    this.seeks++;
    const c = this.checkpoints.get(this.checkpointAtOrBefore(icount))!;
    this.regs.set(c.regs);
    this.nextTimer = c.timer;
    this.halted = c.halted;
    this.exited = c.exited;
    this.icount = c.icount;
    this.sub = 0;
    this.onBranch = false;
    for (let p = 0; p < c.pages.length; p++) {
      if (this.base[p] !== c.pages[p] || this.dirty[p]) this.mem.set(c.pages[p]!, p * PAGE);
      this.dirty[p] = 0;
    }
    this.base = c.pages;
    if (icount > this.icount) this.run(icount, null);
  }

  beginBranch(): void {
    this.onBranch = true;
  }

  events(from: number, to: number): TimelineEvent[] {
    const out: TimelineEvent[] = [];
    if (this.timerPeriod > 0) {
      for (let t = Math.ceil(Math.max(from, 1) / this.timerPeriod) * this.timerPeriod; t < to && out.length < 100; t += this.timerPeriod) out.push({ icount: t, kind: 'timer', summary: `timer due (vector 0x${this.timerVector.toString(16)})` });
    }
    return out;
  }

  stateHash(): string {
    const h = new Sha256();
    h.update(new Uint8Array(this.regs.buffer.slice(0)));
    h.update(new Uint8Array(Float64Array.of(this.nextTimer, this.halted ? 1 : 0, this.exited ? 1 : 0).buffer));
    h.update(this.mem);
    return toHex(h.digest());
  }

  // ---- execution ----

  run(untilIcount: number, probe: Probe | null): TargetStop {
    this.probe = probe;
    const end = Math.min(untilIcount, this.historyEnd);
    const r = this.loop(end);
    if (!this.onBranch && this.icount > this.frontier) this.frontier = this.icount;
    this.probe = null;
    if (r === null) return { reason: untilIcount > this.historyEnd && this.icount >= this.historyEnd ? 'end' : 'until', detail: '' };
    return r;
  }

  private loop(end: number): TargetStop | null {
    const regs = this.regs;
    while (this.icount < end) {
      if (this.exited) return { reason: 'exit', detail: 'guest wrote port 0xf4' };
      if (this.sub === 0 && this.icount % this.checkpointInterval === 0 && this.icount > 0) this.takeCheckpointAt();
      const irq = (regs[REG.EFLAGS]! & IF) !== 0 && this.icount >= this.nextTimer;
      if (this.halted) {
        if (irq) this.halted = false;
        else {
          if (this.nextTimer === Infinity) return { reason: 'halted', detail: 'halted with interrupts off or no timer' };
          // Idle credit up to the next deadline (checkpoint boundaries in between are skipped).
          const to = Math.min(end, this.nextTimer);
          if ((regs[REG.EFLAGS]! & IF) === 0 && to === this.nextTimer) return { reason: 'halted', detail: 'halted with interrupts off' };
          this.icount = to;
          continue;
        }
      }
      if (irq) {
        this.nextTimer += this.timerPeriod;
        if (this.deliver(this.timerVector, 'external')) return { reason: 'probe', detail: '' };
        continue; // re-check (nested deliveries are possible only with IF set by the handler's first insn)
      }
      const p = this.probe;
      const lin = regs[REG.EIP]! >>> 0;
      if (p && (p.code === null || p.code.has(lin)) && p.onInsn(lin)) return { reason: 'probe', detail: '' };
      this.stopAfter = false;
      this.fault = -1;
      const saved = regs[REG.EIP]!;
      this.exec();
      if (this.fault >= 0) {
        regs[REG.EIP] = saved; // faults restart the instruction
        if (this.sub >= 8) return { reason: 'error', detail: 'triple fault (faults without progress)' };
        if (this.deliver(this.fault, 'exception')) return { reason: 'probe', detail: '' };
        if (this.stopAfter) return { reason: 'probe', detail: '' };
        continue;
      }
      this.icount++;
      this.executed++;
      this.sub = 0;
      if (this.stopAfter) return { reason: 'probe', detail: '' };
    }
    return null;
  }

  /** Pushes EFLAGS, CS, EIP and jumps through the vector table at 0; returns true if a probe stops here. */
  private deliver(vector: number, source: 'external' | 'exception'): boolean {
    const r = this.regs;
    const ret = r[REG.EIP]!;
    this.push(r[REG.EFLAGS]!);
    this.push(r[REG.CS]!);
    this.push(ret);
    r[REG.EFLAGS] = r[REG.EFLAGS]! & ~IF;
    r[REG.EIP] = this.rd32(vector * 4);
    this.halted = false;
    this.sub++;
    const p = this.probe;
    const mask = source === 'exception' ? EV.EXCEPTION : EV.INTERRUPT;
    if (p && (p.events & mask) !== 0) return p.onEvent({ kind: 'interrupt', vector, source, errorCode: 0 });
    return false;
  }

  private event(ev: TargetEvent, mask: number): void {
    const p = this.probe;
    if (p && (p.events & mask) !== 0 && p.onEvent(ev)) this.stopAfter = true;
  }

  private access(addr: number, size: number, isWrite: boolean, value = -1): void {
    const p = this.probe;
    if (p && p.memory && p.onAccess(addr >>> 0, addr >>> 0, size, isWrite, value)) this.stopAfter = true;
  }

  private rd32(a: number): number {
    const m = this.mem;
    a >>>= 0;
    if (a + 4 > m.length) return -1;
    return m[a]! | (m[a + 1]! << 8) | (m[a + 2]! << 16) | (m[a + 3]! << 24);
  }

  private load32(a: number): number {
    this.access(a, 4, false);
    return this.rd32(a);
  }

  private store32(a: number, v: number): void {
    a >>>= 0;
    this.access(a, 4, true, v >>> 0);
    if (a + 4 > this.mem.length) return;
    const m = this.mem;
    m[a] = v;
    m[a + 1] = v >>> 8;
    m[a + 2] = v >>> 16;
    m[a + 3] = v >>> 24;
    this.dirty[a >>> 12] = 1;
    this.dirty[(a + 3) >>> 12] = 1;
  }

  private push(v: number): void {
    const r = this.regs;
    r[REG.ESP] = r[REG.ESP]! - 4;
    this.store32(r[REG.ESP]!, v);
  }

  private pop(): number {
    const r = this.regs;
    const v = this.load32(r[REG.ESP]!);
    r[REG.ESP] = r[REG.ESP]! + 4;
    return v;
  }

  private setZf(v: number): void {
    const r = this.regs;
    r[REG.EFLAGS] = v === 0 ? r[REG.EFLAGS]! | ZF : r[REG.EFLAGS]! & ~ZF;
  }

  /** ModRM memory operand for mod=0 (disp32 or [reg]), mod=1 ([reg+disp8]); returns address or -1 for register form. */
  private modrm(at: number): { addr: number; reg: number; rm: number; len: number } {
    const m = this.mem[at]!;
    const mod = m >> 6;
    const reg = (m >> 3) & 7;
    const rm = m & 7;
    if (mod === 3) return { addr: -1, reg, rm, len: 1 };
    if (mod === 0 && rm === 5) return { addr: this.rd32(at + 1) >>> 0, reg, rm, len: 5 };
    if (rm === 4) {
      // SIB with base only (e.g. [esp+disp8])
      const sib = this.mem[at + 1]!;
      const base = this.regs[sib & 7]!;
      if (mod === 1) return { addr: (base + ((this.mem[at + 2]! << 24) >> 24)) >>> 0, reg, rm, len: 3 };
      return { addr: base >>> 0, reg, rm, len: 2 };
    }
    if (mod === 1) return { addr: (this.regs[rm]! + ((this.mem[at + 1]! << 24) >> 24)) >>> 0, reg, rm, len: 2 };
    if (mod === 0) return { addr: this.regs[rm]! >>> 0, reg, rm, len: 1 };
    return { addr: (this.regs[rm]! + this.rd32(at + 1)) >>> 0, reg, rm, len: 5 };
  }

  private exec(): void {
    const r = this.regs;
    const m = this.mem;
    const eip = r[REG.EIP]! >>> 0;
    let op = m[eip]!;
    let rep = false;
    let len = 1;
    if (op === 0xf3) {
      rep = true;
      op = m[eip + 1]!;
      len = 2;
    }
    const next = (n: number): void => {
      r[REG.EIP] = eip + n;
    };
    if (op >= 0xb8 && op <= 0xbf) {
      r[op - 0xb8] = this.rd32(eip + 1);
      return next(5);
    }
    if (op >= 0x40 && op <= 0x47) {
      r[op - 0x40] = r[op - 0x40]! + 1;
      this.setZf(r[op - 0x40]!);
      return next(1);
    }
    if (op >= 0x48 && op <= 0x4f) {
      r[op - 0x48] = r[op - 0x48]! - 1;
      this.setZf(r[op - 0x48]!);
      return next(1);
    }
    if (op >= 0x50 && op <= 0x57) {
      this.push(r[op - 0x50]!);
      return next(1);
    }
    if (op >= 0x58 && op <= 0x5f) {
      const v = this.pop();
      r[op - 0x58] = v;
      return next(1);
    }
    switch (op) {
      case 0x90:
        return next(1);
      case 0x89: {
        const mo = this.modrm(eip + 1);
        if (mo.addr < 0) r[mo.rm] = r[mo.reg]!;
        else this.store32(mo.addr, r[mo.reg]!);
        return next(1 + mo.len);
      }
      case 0x8b: {
        const mo = this.modrm(eip + 1);
        r[mo.reg] = mo.addr < 0 ? r[mo.rm]! : this.load32(mo.addr);
        return next(1 + mo.len);
      }
      case 0x01: {
        const mo = this.modrm(eip + 1);
        if (mo.addr < 0) {
          r[mo.rm] = r[mo.rm]! + r[mo.reg]!;
          this.setZf(r[mo.rm]!);
        } else {
          const v = (this.load32(mo.addr) + r[mo.reg]!) | 0;
          this.store32(mo.addr, v);
          this.setZf(v);
        }
        return next(1 + mo.len);
      }
      case 0xa1:
        r[0] = this.load32(this.rd32(eip + 1));
        return next(5);
      case 0xa3:
        this.store32(this.rd32(eip + 1), r[0]!);
        return next(5);
      case 0x05:
        r[0] = r[0]! + this.rd32(eip + 1);
        this.setZf(r[0]!);
        return next(5);
      case 0x83: {
        const mo = this.modrm(eip + 1);
        const imm = (m[eip + 1 + mo.len]! << 24) >> 24;
        const cur = mo.addr < 0 ? r[mo.rm]! : this.load32(mo.addr);
        let v = cur;
        if (mo.reg === 0) v = (cur + imm) | 0;
        else if (mo.reg === 5 || mo.reg === 7) v = (cur - imm) | 0;
        else return this.ud();
        this.setZf(v);
        if (mo.reg !== 7) {
          if (mo.addr < 0) r[mo.rm] = v;
          else this.store32(mo.addr, v);
        }
        return next(2 + mo.len);
      }
      case 0xe8: {
        const target = (eip + 5 + this.rd32(eip + 1)) >>> 0;
        this.push(eip + 5);
        r[REG.EIP] = target;
        return;
      }
      case 0xc3:
        r[REG.EIP] = this.pop();
        return;
      case 0xc2: {
        const n = m[eip + 1]! | (m[eip + 2]! << 8);
        r[REG.EIP] = this.pop();
        r[REG.ESP] = r[REG.ESP]! + n;
        return;
      }
      case 0xe9:
        r[REG.EIP] = eip + 5 + this.rd32(eip + 1);
        return;
      case 0xeb:
        r[REG.EIP] = eip + 2 + ((m[eip + 1]! << 24) >> 24);
        return;
      case 0x74:
      case 0x75: {
        const zf = (r[REG.EFLAGS]! & ZF) !== 0;
        const taken = op === 0x74 ? zf : !zf;
        r[REG.EIP] = eip + 2 + (taken ? (m[eip + 1]! << 24) >> 24 : 0);
        return;
      }
      case 0xcd: {
        // INT n retires; its delivery is part of the instruction, so the
        // handler's entry is the next position (no sub-position).
        const vector = m[eip + 1]!;
        this.push(r[REG.EFLAGS]!);
        this.push(r[REG.CS]!);
        this.push(eip + 2);
        r[REG.EFLAGS] = r[REG.EFLAGS]! & ~IF;
        r[REG.EIP] = this.rd32(vector * 4);
        this.event({ kind: 'interrupt', vector, source: 'software', errorCode: 0 }, EV.SOFT_INT);
        return;
      }
      case 0xcf: {
        r[REG.EIP] = this.pop();
        r[REG.CS] = this.pop();
        r[REG.EFLAGS] = this.pop() | 2;
        return;
      }
      case 0xf4:
        this.halted = true;
        this.event({ kind: 'hlt' }, EV.HLT);
        return next(1);
      case 0xe6: {
        const port = m[eip + 1]!;
        const v = r[0]! & 0xff;
        this.event({ kind: 'io', port, size: 1, isWrite: true, value: v }, EV.IO);
        if (port === 0xe9) {
          this.serial.push(v);
          this.event({ kind: 'serial', port: 0xe9, data: Uint8Array.of(v) }, EV.SERIAL_OUT);
        } else if (port === 0xf4) this.exited = true;
        return next(2);
      }
      case 0xfa:
        r[REG.EFLAGS] = r[REG.EFLAGS]! & ~IF;
        return next(1);
      case 0xfb:
        r[REG.EFLAGS] = r[REG.EFLAGS]! | IF;
        return next(1);
      case 0x0f: {
        const op2 = m[eip + 1]!;
        if (op2 === 0x0b) return this.ud();
        if (op2 === 0x22 && m[eip + 2] === 0xc0) {
          const from = r[REG.CR0]!;
          r[REG.CR0] = r[0]!;
          const mode = (v: number): 'real' | 'protected' | 'paging' => ((v & 1) === 0 ? 'real' : v & 0x80000000 ? 'paging' : 'protected');
          this.event({ kind: 'mode', cr0: r[0]! >>> 0, cr4: 0, from: mode(from), to: mode(r[0]!) }, EV.MODE);
          return next(3);
        }
        return this.ud();
      }
      case 0xab:
        if (!rep) {
          this.store32(r[REG.EDI]!, r[0]!);
          r[REG.EDI] = r[REG.EDI]! + 4;
          return next(1);
        }
        // One iteration per retired instruction, as on the real CPU.
        if (r[REG.ECX] === 0) return next(len + 0);
        this.store32(r[REG.EDI]!, r[0]!);
        r[REG.EDI] = r[REG.EDI]! + 4;
        r[REG.ECX] = r[REG.ECX]! - 1;
        if (r[REG.ECX] === 0) next(len);
        return;
      default:
        return this.ud();
    }
  }

  private ud(): void {
    this.fault = 6;
  }
}
