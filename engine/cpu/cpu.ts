/**
 * The IA-32 CPU of rewind: a P6-class single-stepping interpreter.
 *
 * Structure (see ARCHITECTURE.md "The CPU"):
 *  - registers live in one ArrayBuffer with 32/16/8-bit views;
 *  - EFLAGS arithmetic bits are lazy (operands + result + size kept, a flag
 *    computed only when read; getEflags() materialises them);
 *  - instructions are decoded once into the decoded-instruction cache
 *    (decode/decode-cache.ts: slots keyed by physical location, dropped when
 *    their page is written, so self-modifying code is always seen); what it
 *    does not pre-decode is dispatched from its bytes through one packed
 *    handler table built from the declarative opcode table (decode/opcodes.ts),
 *    which also drives the disassembler;
 *  - memory goes through segment checks (precomputed per-segment bounds) and
 *    a direct-mapped TLB of typed arrays (one entry per linear page, separate
 *    read and write arrays, a "user allowed" bit), with aligned RAM accesses
 *    on the fast path and everything else (unaligned across pages, MMIO,
 *    page walks, faults, debugger tracking) on one slow path;
 *  - a guest exception throws the preallocated CPU_FAULT, caught once in the
 *    run loop, which delivers it (double/triple fault rules included).
 *
 * icount: one per retired instruction, one per REP iteration; a faulting
 * instruction does not retire; delivering an interrupt/exception is not an
 * instruction. step() executes exactly one instruction, or delivers exactly
 * one pending event (interrupt, NMI, debug trap or the exception raised by
 * the instruction it tried), whichever comes first; it returns what it did.
 */
import type { CpuCore, InterruptAcknowledge } from './cpu-core.js';
import type { Machine } from '../machine.js';
import type { PhysMemory } from '../memory/phys-memory.js';
import { PAGE_RAM, PAGE_ROM } from '../memory/phys-memory.js';
import type { PortBus } from '../io/port-bus.js';
import type { Logger } from '../log.js';
import { LOG } from '../log.js';
import type { StateRecord } from '../state/snapshot.js';
import { num, intoTyped } from '../state/snapshot.js';
import { FLAG, ARITH_FLAGS, EFLAGS_VALID, EXC, EXC_NAMES, SEG, PARITY, CR0, CR4 } from './flags.js';
import { buildDispatch, type Handler } from './decode/opcodes.js';
import { DC_SLOTS, DC_MASK, DC_THRASH_LIMIT, DC_THRASH_WINDOW, DC_NOCACHE_SPAN, decodeInto, buildDecodeTable } from './decode/decode-cache.js';
import { legacyExec, type PreFn } from './exec/pre-fast.js';
import { compileBlock, type BlockFn } from './decode/block-compiler.js';
import { X87Glue } from './x87-glue.js';
import { P6Pmu } from './pmu.js';
import { taskSwitch, iretTask } from './exec/system.js';

/** The one value thrown for a guest exception (never an Error: no stack capture). */
export const CPU_FAULT = Object.freeze({ cpuFault: true });

/** What step() did. */
export const STEP = { INSTRUCTION: 0, EVENT: 1, HALTED: 2 } as const;

export interface CpuDebugHooks {
  /** Called before each instruction with the linear address of EIP; return true to stop before it. */
  breakpoint(linEip: number): boolean;
  /** Called for every data access (linear, physical, size, isWrite, value). */
  access(linAddr: number, physAddr: number, size: number, isWrite: boolean, value: number): void;
}

const TLB_VALID = 1;
const TLB_USER = 2;
const TLB_TRACK = 8192;
const PAGE_LIN_MASK = ~0xfff;
const DC_SLOTS_LOCAL = 1 << 17;
/** DC_MASK as a local constant (an imported binding is a checked load in the hot loop). */
const DC_MASK_LOCAL = DC_SLOTS_LOCAL - 1;
/** Exceptions raised in a row with no instruction retired before the CPU reports an exception loop. */
const FAULT_LOOP_LIMIT = 10000;

export class Cpu implements CpuCore {
  readonly stateName = 'cpu';
  readonly stateVersion = 1;

  // ---- machine ----
  readonly machine: Machine;
  readonly memory: PhysMemory;
  readonly ports: PortBus;
  readonly logger: Logger;
  readonly mem: Uint8Array;
  readonly mem16: Uint16Array;
  readonly mem32: Int32Array;

  // ---- registers ----
  readonly regBuf: ArrayBuffer;
  /** reg32 plus two registers that are always 0 (index 8: "no base/index" in decoded addresses). */
  readonly regFile: Int32Array;
  readonly reg32: Int32Array;
  readonly reg16: Uint16Array;
  readonly reg8: Uint8Array;
  eip = 0;
  /** EIP of the instruction being executed (faults restart here). */
  instrEip = 0;

  // EFLAGS: `flags` holds every bit except the arithmetic ones listed in flagsLazy.
  flags = 2;
  flagsLazy = 0;
  lop1 = 0;
  lop2 = 0;
  laddres = 0;
  lres = 0;
  lsize = 31;

  // ---- segments ----
  readonly segSel = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  readonly segLimit = new Int32Array(6);
  /** Descriptor attributes: bits 0-7 access byte (type, S, DPL, P), bits 12-15 AVL, L, D/B, G; bit 8 = "usable". */
  readonly segAttr = new Uint16Array(6);
  /** Derived bounds: an access of n bytes at offset o is allowed if segLo <= o and o+n-1 <= segHiR/W. */
  readonly segLo = new Float64Array(6);
  readonly segHiR = new Float64Array(6);
  readonly segHiW = new Float64Array(6);
  /** 1 where segLo is 0 and segHiR/W is 0xFFFFFFFF (flat 4 GiB): only the top of the offset space faults. */
  readonly segFlatR = new Uint8Array(6);
  readonly segFlatW = new Uint8Array(6);
  csFetchHi = 0xffff;
  csBase = 0;
  code32 = false;
  stack32 = false;
  cpl = 0;

  cr0 = 0;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  readonly dr = new Int32Array(8);
  gdtrBase = 0;
  gdtrLimit = 0xffff;
  idtrBase = 0;
  idtrLimit = 0x3ff;
  ldtr = 0;
  ldtrBase = 0;
  ldtrLimit = 0;
  tr = 0;
  trBase = 0;
  trLimit = 0;
  trAttr = 0;
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  /** TSC = guest ns (a 1 GHz TSC) + tscOffset (set by WRMSR 0x10). */
  tscOffset = 0;

  // ---- run state ----
  icount = 0;
  halted = false;
  private stopFlag = false;
  /** Set (by a device, the machine or a debugger) to make run() return at the next instruction boundary. */
  get stopRequested(): boolean {
    return this.stopFlag;
  }
  set stopRequested(v: boolean) {
    this.stopFlag = v;
    if (v) this.eventsPending = true;
  }
  private intrLine = false;
  private nmiLine = false;
  nmiBlocked = false;
  /** No maskable interrupt is taken before icount reaches this (STI / MOV SS shadow). */
  inhibitUntil = 0;
  /** No single-step trap is taken before icount reaches this (MOV SS / POP SS / LSS shadow, SDM 6.8.3). */
  dbShadowUntil = 0;
  /** Something needs the slow check at the next instruction boundary. */
  eventsPending = false;
  stopIcount = 0;
  intAck: InterruptAcknowledge;
  /**
   * Debugger hooks. While set, run() uses the debug loop (breakpoint check on
   * the linear EIP before every instruction; it stops *before* a hit, so step()
   * past it) and every data access takes the slow path and is reported.
   */
  debugHooks: CpuDebugHooks | null = null;
  private hooksActive = false;
  lastReadLin = -1;
  lastReadSize = 0;
  lastWriteLin = -1;
  lastWriteSize = 0;
  /** Pending #DB trap bits (DR6) raised during an instruction: data breakpoints, TF, task switch T. */
  pendingDbTrap = 0;

  // ---- decode state of the current instruction ----
  /** 0 or 256: added to the opcode to index the dispatch table. */
  osz = 0;
  /** Address size of the current instruction: true = 32-bit. */
  asz32 = false;
  /** Segment override (SEG.*) or -1. */
  segOvr = -1;
  /** 0, 0xF2 (REPNE) or 0xF3 (REP/REPE). */
  rep = 0;
  lock = false;
  modrm = 0;
  eaSeg = 3;
  /** Translated address of the last RMW read: index into mem, or -1 (slow path, use rmwLin). */
  rmwIdx = -1;
  rmwLin = 0;
  readonly ops: Handler[];

  // ---- exceptions ----
  faultVector = 0;
  faultError = -1;
  /** Vector of the last exception delivered (debugger, tests); -1 if none since reset. */
  lastException = -1;
  private delivering = -1;
  private readonly reportedUd: Set<number> = new Set();

  // ---- TLB (linear page -> mem page << 2 | flags) ----
  readonly tlbR = new Int32Array(1 << 20);
  readonly tlbW = new Int32Array(1 << 20);
  readonly tlbGlobal = new Uint8Array(1 << 20);
  private readonly tlbList = new Int32Array(TLB_TRACK);
  private tlbCount = 0;
  /** TLB_VALID for supervisor accesses, TLB_VALID|TLB_USER at CPL 3. */
  tlbNeed = TLB_VALID;
  /** No TLB fills (debug tracking, data breakpoints): every access takes the slow path. */
  noTlbFill = false;
  private tlbEpoch = 0;
  private fetchPage = 1;
  private fetchBase = 0;

  // ---- decoded-instruction cache (decode/decode-cache.ts); host state, never saved ----
  /**
   * Tag of each slot: the instruction's offset in `mem`, -1 = empty; one tag
   * array per default operand size (a slot holds the decoding for one of them).
   */
  readonly dcTag16 = new Int32Array(DC_SLOTS).fill(-1);
  readonly dcTag32 = new Int32Array(DC_SLOTS).fill(-1);
  /** The tag array of the current CS default size. */
  dcTag = this.dcTag16;
  /** The slot's handler (a megamorphic call through this table measured faster than a switch of direct calls). */
  readonly dcFn: PreFn[] = new Array<PreFn>(DC_SLOTS).fill(legacyExec);
  /**
   * Per slot, in one word (the single-instruction path reads one array, not
   * three): bits 0-7 the instruction length (0: the slot runs the
   * byte-fetching path from EIP), 8-23 executions on the single-instruction
   * path (a block is compiled at blockThreshold), 24-31 the length of the
   * slot's compiled block (0: none).
   */
  readonly dcInfo = new Int32Array(DC_SLOTS);
  /** ModRM.reg operand, as an index into reg32/reg16/reg8 for the operand size. */
  readonly dcR = new Uint8Array(DC_SLOTS);
  /** ModRM.rm register operand (or the opcode's fixed register), likewise. */
  readonly dcM = new Uint8Array(DC_SLOTS);
  /** Effective address = (regFile[dcBase] + (regFile[dcIdx] << dcScale) + dcDisp) & dcMask, in segment dcSeg. */
  readonly dcBase = new Uint8Array(DC_SLOTS);
  readonly dcIdx = new Uint8Array(DC_SLOTS);
  readonly dcScale = new Uint8Array(DC_SLOTS);
  readonly dcDisp = new Int32Array(DC_SLOTS);
  readonly dcMask = new Int32Array(DC_SLOTS);
  readonly dcSeg = new Uint8Array(DC_SLOTS);
  readonly dcImm = new Int32Array(DC_SLOTS);
  /** dcR (bits 0-4), dcM (5-9), dcSeg (10-12), dcBase (13-16), dcIdx (17-20), dcScale (21-22), dcMask = 0xFFFF (23) in one word, as the handlers read them. */
  readonly dcOps = new Int32Array(DC_SLOTS);
  /** Off: every instruction is decoded from its bytes each time (tests compare the two paths). */
  decodeCacheEnabled = true;
  /** Compiled blocks (decode/block-compiler.ts) by the slot of their first instruction. */
  readonly dcBlk: (BlockFn | null)[] = new Array<BlockFn | null>(DC_SLOTS).fill(null);
  /** Inside run() or step(): writes to code pages are the guest's own. */
  private executing = false;
  /**
   * Executions of an instruction after which the block starting there is
   * compiled; 0 = never. High on purpose: a new block runs in V8's bytecode
   * interpreter until V8 optimizes it, so only code that stays hot gains (the
   * Linux boot: 64 -> 65 s, 4000 -> 51 s, 30000 -> 44 s; rechecked on its
   * kernel phase: 2000 and 10,000 slower, 100,000 no faster; nor does a lower
   * threshold in pages that already have a block).
   */
  blockThreshold = 30000;
  /** RAM pages whose instructions are not cached (code and data share them), until icount dcWriteAt. */
  readonly dcNoCache: Uint8Array;
  /** Per RAM page: writes that dropped its decoded instructions in a row, each soon after the previous. */
  readonly dcWrites: Uint8Array;
  /** Per RAM page: icount of the last such write, or (while dcNoCache) when to cache it again. */
  readonly dcWriteAt: Float64Array;

  readonly x87: X87Glue;
  /** PerfEvtSel0/1 and PerfCtr0/1 (engine/cpu/pmu.ts). */
  readonly pmu: P6Pmu;
  // scratch values shared by handlers (never allocated per instruction)
  mulHi = 0;
  divQ = 0;
  divR = 0;
  farSel = 0;
  readonly scratch8 = new Int32Array(8);

  constructor(m: Machine) {
    this.machine = m;
    this.memory = m.memory;
    this.ports = m.ports;
    this.logger = m.logger;
    this.mem = m.memory.mem;
    this.mem16 = new Uint16Array(this.mem.buffer, this.mem.byteOffset, this.mem.length >>> 1);
    this.mem32 = new Int32Array(this.mem.buffer, this.mem.byteOffset, this.mem.length >>> 2);
    this.regBuf = new ArrayBuffer(40);
    this.regFile = new Int32Array(this.regBuf);
    this.reg32 = new Int32Array(this.regBuf, 0, 8);
    this.reg16 = new Uint16Array(this.regBuf, 0, 16);
    this.reg8 = new Uint8Array(this.regBuf, 0, 32);
    this.dcNoCache = new Uint8Array(this.memory.ramPages);
    this.dcWrites = new Uint8Array(this.memory.ramPages);
    this.dcWriteAt = new Float64Array(this.memory.ramPages);
    this.memory.onCodeWrite = (page) => this.codeWritten(page);
    // Tags are int32 offsets into mem: machines with more than 2 GiB of RAM and ROM run uncached.
    if (this.mem.length > 0x7fffffff) this.decodeCacheEnabled = false;
    this.intAck = { acknowledge: () => 0x0f };
    this.ops = buildDispatch();
    buildDecodeTable();
    if (DC_SLOTS_LOCAL !== DC_SLOTS) throw new Error('cpu: DC_SLOTS_LOCAL out of step with decode-cache.ts');
    this.memory.onA20Change = () => this.flushTlb(true);
    this.x87 = new X87Glue(this);
    m.registry.add(this.x87.fpu);
    this.pmu = new P6Pmu();
    this.taskSwitchImpl = taskSwitch;
    this.reset();
  }

  // ======================================================================
  // Pins
  // ======================================================================

  /** Makes run() return at the next instruction boundary (CpuCore.endSlice). */
  endSlice(): void {
    this.stopRequested = true;
    this.eventsPending = true;
  }

  get intr(): boolean {
    return this.intrLine;
  }
  set intr(v: boolean) {
    this.intrLine = v;
    if (v) this.eventsPending = true;
  }
  get nmi(): boolean {
    return this.nmiLine;
  }
  /** NMI is edge-triggered: a rising edge latches a pending NMI. */
  set nmi(v: boolean) {
    if (v && !this.nmiLine) this.nmiPending = true;
    this.nmiLine = v;
    if (v) this.eventsPending = true;
  }
  nmiPending = false;

  // ======================================================================
  // Reset (SDM 9.1.1)
  // ======================================================================

  reset(): void {
    this.reg32.fill(0);
    this.reg32[2] = 0x0633; // EDX: family 6, model 3, stepping 3 (CPUID signature)
    this.eip = 0xfff0;
    this.instrEip = 0xfff0;
    this.flags = 2;
    this.flagsLazy = 0;
    this.cr0 = CR0.ET | CR0.CD | CR0.NW;
    this.cr2 = this.cr3 = this.cr4 = 0;
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0 | 0;
    this.dr[7] = 0x400;
    this.gdtrBase = 0;
    this.gdtrLimit = 0xffff;
    this.idtrBase = 0;
    this.idtrLimit = 0xffff;
    this.ldtr = this.ldtrBase = 0;
    this.ldtrLimit = 0xffff;
    this.tr = this.trBase = 0;
    this.trLimit = 0xffff;
    this.trAttr = 0x8b;
    this.sysenterCs = this.sysenterEsp = this.sysenterEip = 0;
    this.tscOffset = 0;
    for (let s = 0; s < 6; s++) this.setSegCache(s, 0, 0, 0xffff, 0x93);
    this.setSegCache(SEG.CS, 0xf000, 0xffff0000 | 0, 0xffff, 0x9b);
    this.cpl = 0;
    this.halted = false;
    this.nmiBlocked = false;
    this.nmiPending = false;
    this.inhibitUntil = 0;
    this.pendingDbTrap = 0;
    this.delivering = -1;
    this.lastException = -1;
    this.flushTlb(true);
    this.flushDecodeCache();
    this.modeChanged();
    this.x87.reset();
    this.pmu.reset();
    this.eventsPending = true;
  }

  // ======================================================================
  // Flags
  // ======================================================================

  getCF(): number {
    if (this.flagsLazy & FLAG.CF) return ((this.lop1 ^ ((this.lop1 ^ this.lop2) & (this.lop2 ^ this.laddres))) >>> this.lsize) & 1;
    return this.flags & 1;
  }
  getPF(): boolean {
    if (this.flagsLazy & FLAG.PF) return PARITY[this.lres & 0xff] !== 0;
    return (this.flags & FLAG.PF) !== 0;
  }
  getAF(): boolean {
    if (this.flagsLazy & FLAG.AF) return ((this.lop1 ^ this.lop2 ^ this.laddres) & 0x10) !== 0;
    return (this.flags & FLAG.AF) !== 0;
  }
  getZF(): boolean {
    if (this.flagsLazy & FLAG.ZF) return (((~this.lres & (this.lres - 1)) >>> this.lsize) & 1) !== 0;
    return (this.flags & FLAG.ZF) !== 0;
  }
  getSF(): boolean {
    if (this.flagsLazy & FLAG.SF) return ((this.lres >>> this.lsize) & 1) !== 0;
    return (this.flags & FLAG.SF) !== 0;
  }
  getOF(): boolean {
    if (this.flagsLazy & FLAG.OF) return ((((this.lop1 ^ this.laddres) & (this.lop2 ^ this.laddres)) >>> this.lsize) & 1) !== 0;
    return (this.flags & FLAG.OF) !== 0;
  }

  /** Condition code cc (0-15, the low nibble of Jcc/SETcc/CMOVcc). */
  cond(cc: number): boolean {
    let r: boolean;
    switch (cc >> 1) {
      case 0: r = this.getOF(); break;
      case 1: r = this.getCF() !== 0; break;
      case 2: r = this.getZF(); break;
      case 3: r = this.getCF() !== 0 || this.getZF(); break;
      case 4: r = this.getSF(); break;
      case 5: r = this.getPF(); break;
      case 6: r = this.getSF() !== this.getOF(); break;
      default: r = this.getZF() || this.getSF() !== this.getOF(); break;
    }
    return (cc & 1) !== 0 ? !r : r;
  }

  /** Materialises the lazy flags and returns EFLAGS. */
  getEflags(): number {
    if (this.flagsLazy !== 0) {
      let f = this.flags & ~this.flagsLazy;
      const l = this.flagsLazy;
      if (l & FLAG.CF) f |= this.getCF();
      if (l & FLAG.PF && this.getPF()) f |= FLAG.PF;
      if (l & FLAG.AF && this.getAF()) f |= FLAG.AF;
      if (l & FLAG.ZF && this.getZF()) f |= FLAG.ZF;
      if (l & FLAG.SF && this.getSF()) f |= FLAG.SF;
      if (l & FLAG.OF && this.getOF()) f |= FLAG.OF;
      this.flags = f;
      this.flagsLazy = 0;
    }
    return this.flags;
  }

  /** Sets EFLAGS outright (bit 1 forced, undefined bits cleared); mode changes (VM) take effect. */
  setEflags(v: number): void {
    const vmBefore = this.flags & FLAG.VM;
    const acBefore = this.flags & FLAG.AC;
    this.flags = (v & EFLAGS_VALID) | 2;
    this.flagsLazy = 0;
    if ((this.flags & FLAG.VM) !== vmBefore) this.modeChanged();
    if ((this.flags & FLAG.AC) !== acBefore || this.acActive) this.updateAc();
    this.eventsPending = true;
  }

  /** Writes the flags in `mask` from `v`, keeping the others (materialises first). */
  setFlagsMasked(v: number, mask: number): void {
    const f = this.getEflags();
    this.setEflags((f & ~mask) | (v & mask));
  }

  /**
   * Forces the arithmetic flags in `mask` to the values in `v`. The other lazy
   * flags keep being computed from the (unchanged) lazy operands.
   */
  setArith(v: number, mask: number): void {
    this.flagsLazy &= ~mask;
    this.flags = (this.flags & ~mask) | (v & mask);
  }

  get iopl(): number {
    return (this.flags >>> 12) & 3;
  }

  // ======================================================================
  // Modes and segments
  // ======================================================================

  get protectedMode(): boolean {
    return (this.cr0 & CR0.PE) !== 0;
  }
  get v86(): boolean {
    return (this.flags & FLAG.VM) !== 0;
  }
  /** Protected mode and not virtual-8086. */
  get pmode(): boolean {
    return (this.cr0 & CR0.PE) !== 0 && (this.flags & FLAG.VM) === 0;
  }

  /** Loads a segment's hidden cache and recomputes what depends on it. */
  setSegCache(seg: number, sel: number, base: number, limit: number, attr: number): void {
    this.segSel[seg] = sel;
    this.segBase[seg] = base;
    this.segLimit[seg] = limit;
    this.segAttr[seg] = attr;
    this.segDerive(seg);
  }

  segDerive(seg: number): void {
    const attr = this.segAttr[seg]!;
    const limit = this.segLimit[seg]! >>> 0;
    const checkTypes = (this.cr0 & CR0.PE) !== 0 && (this.flags & FLAG.VM) === 0;
    if (checkTypes && (attr & 0x80) === 0) {
      // null / unusable: every access faults
      this.segLo[seg] = 0;
      this.segHiR[seg] = -1;
      this.segHiW[seg] = -1;
    } else {
      const code = (attr & 0x18) === 0x18;
      let lo = 0;
      let hi = limit;
      if ((attr & 0x1c) === 0x14) {
        // expand-down data
        lo = limit + 1;
        hi = attr & 0x4000 ? 0xffffffff : 0xffff;
      }
      this.segLo[seg] = lo;
      if (!checkTypes) {
        this.segHiR[seg] = hi;
        this.segHiW[seg] = hi;
      } else {
        this.segHiR[seg] = code && (attr & 2) === 0 ? -1 : hi;
        this.segHiW[seg] = code || (attr & 2) === 0 ? -1 : hi;
      }
    }
    this.segFlatR[seg] = this.segLo[seg] === 0 && this.segHiR[seg] === 0xffffffff ? 1 : 0;
    this.segFlatW[seg] = this.segLo[seg] === 0 && this.segHiW[seg] === 0xffffffff ? 1 : 0;
    if (seg === SEG.CS) {
      this.csBase = this.segBase[SEG.CS]!;
      this.csFetchHi = limit;
      this.code32 = (attr & 0x4000) !== 0 && checkTypes;
      this.dcTag = this.code32 ? this.dcTag32 : this.dcTag16;
      this.fetchPage = 1;
      this.prefixed = true; // re-derive osz/asz32 after this instruction
    } else if (seg === SEG.SS) {
      this.stack32 = (attr & 0x4000) !== 0 && checkTypes;
    }
  }

  /** Called when PE, VM or CPL change. */
  modeChanged(): void {
    if (!(this.cr0 & CR0.PE)) this.cpl = 0;
    else if (this.flags & FLAG.VM) this.cpl = 3;
    for (let s = 0; s < 6; s++) this.segDerive(s);
    this.tlbNeed = this.cpl === 3 ? TLB_VALID | TLB_USER : TLB_VALID;
    this.fetchPage = 1;
    if (this.cr0 & CR0.AM || this.acActive) this.updateAc();
  }

  setCpl(cpl: number): void {
    if (this.pmu.counting) this.pmu.sync(this); // the USR/OS filter: count up to here at the old CPL
    this.cpl = cpl;
    this.tlbNeed = cpl === 3 ? TLB_VALID | TLB_USER : TLB_VALID;
    this.fetchPage = 1;
    if (this.cr0 & CR0.AM) this.updateAc();
  }

  /** Loads a data/stack segment register (MOV Sreg, POP Sreg, LDS...) obeying the current mode. */
  loadSegment(seg: number, sel: number): void {
    sel &= 0xffff;
    if (!(this.cr0 & CR0.PE)) {
      this.segSel[seg] = sel;
      this.segBase[seg] = sel << 4;
      if (seg === SEG.CS) this.csBase = sel << 4;
      this.segDerive(seg);
      return;
    }
    if (this.flags & FLAG.VM) {
      this.setSegCache(seg, sel, sel << 4, 0xffff, 0xf3);
      return;
    }
    if (seg === SEG.CS) {
      this.loadCsProtected(sel, this.cpl);
      return;
    }
    const idx = sel & 0xfffc;
    const rpl = sel & 3;
    if (seg === SEG.SS) {
      if (idx === 0) this.fault(EXC.GP, 0);
      if (!this.readDescriptor(sel)) this.fault(EXC.GP, idx);
      const hi = this.descHi;
      const dpl = (hi >>> 13) & 3;
      if (rpl !== this.cpl || dpl !== this.cpl || (hi & 0x1a00) !== 0x1200) this.fault(EXC.GP, idx);
      if (!(hi & 0x8000)) this.fault(EXC.SS, idx);
      this.setAccessed(sel);
      this.loadDescriptorCache(seg, sel);
      return;
    }
    if (idx === 0) {
      this.setSegCache(seg, sel, 0, 0, 0);
      return;
    }
    if (!this.readDescriptor(sel)) this.fault(EXC.GP, idx);
    const hi = this.descHi;
    const dpl = (hi >>> 13) & 3;
    // must be data, or readable code
    if ((hi & 0x1000) === 0 || (hi & 0x0a00) === 0x0800) this.fault(EXC.GP, idx);
    // data or non-conforming code: DPL >= max(CPL, RPL)
    if ((hi & 0x0c00) !== 0x0c00 && (dpl < this.cpl || dpl < rpl)) this.fault(EXC.GP, idx);
    if (!(hi & 0x8000)) this.fault(EXC.NP, idx);
    this.setAccessed(sel);
    this.loadDescriptorCache(seg, sel);
  }

  /** Loads CS for a direct far transfer to a code segment at privilege `newCpl` (checks done by the caller except present/type). */
  loadCsProtected(sel: number, newCpl: number): void {
    const idx = sel & 0xfffc;
    if (idx === 0) this.fault(EXC.GP, 0);
    if (!this.readDescriptor(sel)) this.fault(EXC.GP, idx);
    if ((this.descHi & 0x1800) !== 0x1800) this.fault(EXC.GP, idx);
    if (!(this.descHi & 0x8000)) this.fault(EXC.NP, idx);
    this.setAccessed(sel);
    this.loadDescriptorCache(SEG.CS, (sel & 0xfffc) | newCpl);
    this.setCpl(newCpl);
  }

  descLo = 0;
  descHi = 0;

  /** Reads the descriptor for `sel` into descLo/descHi; false if outside the table. */
  readDescriptor(sel: number): boolean {
    const idx = sel & 0xfff8;
    let base: number;
    let limit: number;
    if (sel & 4) {
      if ((this.ldtr & 0xfffc) === 0) return false;
      base = this.ldtrBase;
      limit = this.ldtrLimit;
    } else {
      base = this.gdtrBase;
      limit = this.gdtrLimit;
    }
    if (idx + 7 > limit >>> 0) return false;
    this.descLo = this.sysRead32((base + idx) | 0);
    this.descHi = this.sysRead32((base + idx + 4) | 0);
    return true;
  }

  descAddr(sel: number): number {
    return ((sel & 4 ? this.ldtrBase : this.gdtrBase) + (sel & 0xfff8)) | 0;
  }

  setAccessed(sel: number): void {
    if (!(this.descHi & 0x100)) {
      this.descHi |= 0x100;
      this.sysWrite8((this.descAddr(sel) + 5) | 0, (this.descHi >>> 8) & 0xff);
    }
  }

  static descBase(lo: number, hi: number): number {
    return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) | 0;
  }
  static descLimit(lo: number, hi: number): number {
    let limit = (lo & 0xffff) | (hi & 0xf0000);
    if (hi & 0x800000) limit = (limit << 12) | 0xfff;
    return limit | 0;
  }

  loadDescriptorCache(seg: number, sel: number): void {
    const lo = this.descLo;
    const hi = this.descHi;
    this.setSegCache(seg, sel, Cpu.descBase(lo, hi), Cpu.descLimit(lo, hi), (hi >>> 8) & 0xf0ff);
  }

  // ======================================================================
  // TLB and paging
  // ======================================================================

  flushTlb(global: boolean): void {
    if (this.tlbCount >= TLB_TRACK || global) {
      if (this.tlbCount >= TLB_TRACK) {
        this.tlbR.fill(0);
        this.tlbW.fill(0);
        this.tlbGlobal.fill(0);
        this.tlbCount = 0;
      } else {
        for (let i = 0; i < this.tlbCount; i++) {
          const p = this.tlbList[i]!;
          this.tlbR[p] = 0;
          this.tlbW[p] = 0;
          this.tlbGlobal[p] = 0;
        }
        this.tlbCount = 0;
      }
    } else {
      let n = 0;
      for (let i = 0; i < this.tlbCount; i++) {
        const p = this.tlbList[i]!;
        if (this.tlbGlobal[p]) this.tlbList[n++] = p;
        else {
          this.tlbR[p] = 0;
          this.tlbW[p] = 0;
        }
      }
      this.tlbCount = n;
    }
    this.fetchPage = 1;
  }

  invlpg(lin: number): void {
    const p = lin >>> 12;
    this.tlbR[p] = 0;
    this.tlbW[p] = 0;
    this.tlbGlobal[p] = 0;
    this.fetchPage = 1;
  }

  private tlbAdd(p: number): void {
    if (this.tlbR[p] === 0 && this.tlbW[p] === 0) {
      if (this.tlbCount >= TLB_TRACK) this.flushTlb(true);
      this.tlbList[this.tlbCount++] = p;
    }
  }

  /** Write-stamp epoch changed (a dirty cursor collected): forget write entries so pages get stamped again. */
  private syncEpoch(): void {
    if (this.memory.epoch !== this.tlbEpoch) {
      this.tlbEpoch = this.memory.epoch;
      for (let i = 0; i < this.tlbCount; i++) this.tlbW[this.tlbList[i]!] = 0;
    }
  }

  /**
   * Translates a linear address for an access (user = CPL 3 access rules),
   * setting accessed/dirty bits and filling the TLB; raises #PF.
   * Returns the physical address (A20 applied).
   */
  translate(lin: number, write: boolean, user: boolean): number {
    let phys: number;
    let allowUser = true;
    let allowWriteSup = true;
    let allowWriteUser = true;
    let global = false;
    if (!(this.cr0 & CR0.PG)) {
      phys = lin & this.memory.a20Mask;
    } else {
      const a20 = this.memory.a20Mask;
      const pdeAddr = ((this.cr3 & PAGE_LIN_MASK) | ((lin >>> 20) & 0xffc)) & a20;
      let pde = this.memory.read32(pdeAddr);
      if (!(pde & 1)) this.pageFault(lin, write, user, false);
      if (pde & 0x80 && this.cr4 & CR4.PSE) {
        allowUser = (pde & 4) !== 0;
        const rw = (pde & 2) !== 0;
        this.checkPagePerm(lin, write, user, allowUser, rw);
        const want = pde | 0x20 | (write ? 0x40 : 0);
        if (want !== pde) this.memory.write32(pdeAddr, want);
        pde = want;
        phys = ((pde & 0xffc00000) | (lin & 0x3fffff)) & a20;
        allowWriteSup = rw || !(this.cr0 & CR0.WP);
        allowWriteUser = rw && allowUser;
        if (!(pde & 0x40)) allowWriteSup = allowWriteUser = false; // not dirty yet: first write goes the slow way
        global = (pde & 0x100) !== 0 && (this.cr4 & CR4.PGE) !== 0;
      } else {
        if (!(pde & 0x20)) {
          pde |= 0x20;
          this.memory.write32(pdeAddr, pde);
        }
        const pteAddr = ((pde & PAGE_LIN_MASK) | ((lin >>> 10) & 0xffc)) & a20;
        let pte = this.memory.read32(pteAddr);
        if (!(pte & 1)) this.pageFault(lin, write, user, false);
        allowUser = (pde & pte & 4) !== 0;
        const rw = (pde & pte & 2) !== 0;
        this.checkPagePerm(lin, write, user, allowUser, rw);
        const want = pte | 0x20 | (write ? 0x40 : 0);
        if (want !== pte) this.memory.write32(pteAddr, want);
        pte = want;
        phys = ((pte & PAGE_LIN_MASK) | (lin & 0xfff)) & a20;
        allowWriteSup = rw || !(this.cr0 & CR0.WP);
        allowWriteUser = rw && allowUser;
        if (!(pte & 0x40)) allowWriteSup = allowWriteUser = false;
        global = (pte & 0x100) !== 0 && (this.cr4 & CR4.PGE) !== 0;
      }
    }
    if (!this.noTlbFill) {
      const pp = phys >>> 12;
      const kind = this.memory.pageKind[pp]!;
      if (kind === PAGE_RAM || kind === PAGE_ROM) {
        const lp = lin >>> 12;
        const e = ((this.memory.pageOffset[pp]! >>> 12) << 2) | TLB_VALID | (allowUser ? TLB_USER : 0);
        this.tlbAdd(lp);
        this.tlbR[lp] = e;
        if (global) this.tlbGlobal[lp] = 1;
        if (write && kind === PAGE_RAM && allowWriteSup && this.memory.codePages[this.memory.pageOffset[pp]! >>> 12] !== 1) {
          this.tlbW[lp] = ((this.memory.pageOffset[pp]! >>> 12) << 2) | TLB_VALID | (allowWriteUser ? TLB_USER : 0);
          if (pp < this.memory.ramPages) this.memory.writeStamp[pp] = this.memory.epoch;
        }
      }
    }
    return phys;
  }

  private checkPagePerm(lin: number, write: boolean, user: boolean, allowUser: boolean, rw: boolean): void {
    if (user && !allowUser) this.pageFault(lin, write, user, true);
    if (write && !rw && (user || this.cr0 & CR0.WP)) this.pageFault(lin, write, user, true);
  }

  private pageFault(lin: number, write: boolean, user: boolean, present: boolean): never {
    this.cr2 = lin;
    return this.fault(EXC.PF, (present ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0));
  }

  /** The debugger's translation: no side effects, -1 if not mapped. */
  linearToPhysical(linAddr: number, forWrite: boolean): number {
    const lin = linAddr | 0;
    if (!(this.cr0 & CR0.PG)) return (lin & this.memory.a20Mask) >>> 0;
    const pde = this.memory.read32(((this.cr3 & PAGE_LIN_MASK) | ((lin >>> 20) & 0xffc)) & this.memory.a20Mask);
    if (!(pde & 1)) return -1;
    if (pde & 0x80 && this.cr4 & CR4.PSE) {
      if (forWrite && !(pde & 2) && this.cr0 & CR0.WP) return -1;
      return (((pde & 0xffc00000) | (lin & 0x3fffff)) & this.memory.a20Mask) >>> 0;
    }
    const pte = this.memory.read32(((pde & PAGE_LIN_MASK) | ((lin >>> 10) & 0xffc)) & this.memory.a20Mask);
    if (!(pte & 1)) return -1;
    if (forWrite && !(pde & pte & 2) && this.cr0 & CR0.WP) return -1;
    return (((pte & PAGE_LIN_MASK) | (lin & 0xfff)) & this.memory.a20Mask) >>> 0;
  }

  // ======================================================================
  // Linear accesses (slow path). `user`: CPL-3 rules apply.
  // ======================================================================

  private noteAccess(lin: number, phys: number, size: number, write: boolean, value: number): void {
    if (write) {
      this.lastWriteLin = lin >>> 0;
      this.lastWriteSize = size;
    } else {
      this.lastReadLin = lin >>> 0;
      this.lastReadSize = size;
    }
    if ((this.dr[7]! & 0xff) !== 0) this.checkDataBreakpoints(lin, size, write);
    if (this.debugHooks !== null) this.debugHooks.access(lin >>> 0, phys >>> 0, size, write, value);
  }

  readLinSlow(lin: number, size: number, user: boolean): number {
    if (this.acActive && user && (lin & (size - 1)) !== 0) this.fault(EXC.AC, 0);
    const off = lin & 0xfff;
    if (off + size <= 0x1000) {
      const phys = this.translate(lin, false, user);
      const v = size === 1 ? this.memory.read8(phys) : size === 2 ? this.memory.read16(phys) : this.memory.read32(phys);
      if (this.noTlbFill) this.noteAccess(lin, phys, size, false, v);
      return v;
    }
    // page-crossing: translate both pages before reading
    const n1 = 0x1000 - off;
    const p1 = this.translate(lin, false, user);
    const p2 = this.translate((lin + n1) | 0, false, user);
    let v = 0;
    for (let i = 0; i < size; i++) {
      const b = i < n1 ? this.memory.read8((p1 + i) | 0) : this.memory.read8((p2 + i - n1) | 0);
      v |= b << (i * 8);
    }
    if (size === 2) v &= 0xffff;
    if (this.noTlbFill) this.noteAccess(lin, p1, size, false, v);
    return v;
  }

  writeLinSlow(lin: number, size: number, v: number, user: boolean): void {
    if (this.acActive && user && (lin & (size - 1)) !== 0) this.fault(EXC.AC, 0);
    const off = lin & 0xfff;
    if (off + size <= 0x1000) {
      const phys = this.translate(lin, true, user);
      if (size === 1) this.memory.write8(phys, v & 0xff);
      else if (size === 2) this.memory.write16(phys, v & 0xffff);
      else this.memory.write32(phys, v);
      if (this.noTlbFill) this.noteAccess(lin, phys, size, true, v);
      return;
    }
    const n1 = 0x1000 - off;
    const p1 = this.translate(lin, true, user);
    const p2 = this.translate((lin + n1) | 0, true, user);
    for (let i = 0; i < size; i++) {
      const b = (v >>> (i * 8)) & 0xff;
      if (i < n1) this.memory.write8((p1 + i) | 0, b);
      else this.memory.write8((p2 + i - n1) | 0, b);
    }
    if (this.noTlbFill) this.noteAccess(lin, p1, size, true, v);
  }

  /** Checks that `size` bytes at `lin` are writable (both pages), without writing: used before multi-part stores. */
  probeWrite(lin: number, size: number): void {
    const user = this.cpl === 3;
    this.translate(lin, true, user);
    if ((lin & 0xfff) + size > 0x1000) this.translate(((lin & PAGE_LIN_MASK) + 0x1000) | 0, true, user);
  }

  /** Implicit supervisor accesses (descriptor tables, TSS). */
  sysRead32(lin: number): number {
    return this.readLinSlow(lin, 4, false);
  }
  sysRead16(lin: number): number {
    return this.readLinSlow(lin, 2, false);
  }
  sysRead8(lin: number): number {
    return this.readLinSlow(lin, 1, false);
  }
  sysWrite8(lin: number, v: number): void {
    this.writeLinSlow(lin, 1, v, false);
  }
  sysWrite16(lin: number, v: number): void {
    this.writeLinSlow(lin, 2, v, false);
  }
  sysWrite32(lin: number, v: number): void {
    this.writeLinSlow(lin, 4, v, false);
  }

  // ---- linear accesses at the current privilege (fast path through the TLB) ----

  readLin8(lin: number): number {
    const e = this.tlbR[lin >>> 12]!;
    if ((e & this.tlbNeed) === this.tlbNeed) return this.mem[(e & ~3) * 1024 + (lin & 0xfff)]!;
    return this.readLinSlow(lin, 1, this.cpl === 3);
  }
  readLin16(lin: number): number {
    const e = this.tlbR[lin >>> 12]!;
    if ((e & this.tlbNeed) === this.tlbNeed && (lin & 0xfff) !== 0xfff) {
      const a = (e & ~3) * 1024 + (lin & 0xfff);
      if ((a & 1) === 0) return this.mem16[a >>> 1]!;
      return this.mem[a]! | (this.mem[a + 1]! << 8);
    }
    return this.readLinSlow(lin, 2, this.cpl === 3);
  }
  readLin32(lin: number): number {
    const e = this.tlbR[lin >>> 12]!;
    if ((e & this.tlbNeed) === this.tlbNeed && (lin & 0xfff) <= 0xffc) {
      const a = (e & ~3) * 1024 + (lin & 0xfff);
      if ((a & 3) === 0) return this.mem32[a >>> 2]!;
      const m = this.mem;
      return m[a]! | (m[a + 1]! << 8) | (m[a + 2]! << 16) | (m[a + 3]! << 24);
    }
    return this.readLinSlow(lin, 4, this.cpl === 3);
  }
  writeLin8(lin: number, v: number): void {
    const e = this.tlbW[lin >>> 12]!;
    if ((e & this.tlbNeed) === this.tlbNeed) {
      this.mem[(e & ~3) * 1024 + (lin & 0xfff)] = v;
      return;
    }
    this.writeLinSlow(lin, 1, v, this.cpl === 3);
  }
  writeLin16(lin: number, v: number): void {
    const e = this.tlbW[lin >>> 12]!;
    if ((e & this.tlbNeed) === this.tlbNeed && (lin & 0xfff) !== 0xfff) {
      const a = (e & ~3) * 1024 + (lin & 0xfff);
      if ((a & 1) === 0) this.mem16[a >>> 1] = v;
      else {
        this.mem[a] = v;
        this.mem[a + 1] = v >>> 8;
      }
      return;
    }
    this.writeLinSlow(lin, 2, v, this.cpl === 3);
  }
  writeLin32(lin: number, v: number): void {
    const e = this.tlbW[lin >>> 12]!;
    if ((e & this.tlbNeed) === this.tlbNeed && (lin & 0xfff) <= 0xffc) {
      const a = (e & ~3) * 1024 + (lin & 0xfff);
      if ((a & 3) === 0) this.mem32[a >>> 2] = v;
      else {
        const m = this.mem;
        m[a] = v;
        m[a + 1] = v >>> 8;
        m[a + 2] = v >>> 16;
        m[a + 3] = v >>> 24;
      }
      return;
    }
    this.writeLinSlow(lin, 4, v, this.cpl === 3);
  }

  // ======================================================================
  // Segmented accesses
  // ======================================================================

  segFault(seg: number): never {
    return this.fault(seg === SEG.SS ? EXC.SS : EXC.GP, 0);
  }

  /** Linear address of seg:off after the limit/type check for a read of `size` bytes. */
  linR(seg: number, off: number, size: number): number {
    const o = off >>> 0;
    if (this.segFlatR[seg] === 1 ? o > 0x100000000 - size : o < this.segLo[seg]! || o + size - 1 > this.segHiR[seg]!) this.segFault(seg);
    return (this.segBase[seg]! + off) | 0;
  }
  linW(seg: number, off: number, size: number): number {
    const o = off >>> 0;
    if (this.segFlatW[seg] === 1 ? o > 0x100000000 - size : o < this.segLo[seg]! || o + size - 1 > this.segHiW[seg]!) this.segFault(seg);
    return (this.segBase[seg]! + off) | 0;
  }

  rd8(seg: number, off: number): number {
    const o = off >>> 0;
    if (this.segFlatR[seg] !== 1 && (o < this.segLo[seg]! || o > this.segHiR[seg]!)) this.segFault(seg);
    const lin = (this.segBase[seg]! + off) | 0;
    const e = this.tlbR[lin >>> 12]!;
    if ((e & this.tlbNeed) === this.tlbNeed) return this.mem[(e & ~3) * 1024 + (lin & 0xfff)]!;
    return this.readLinSlow(lin, 1, this.cpl === 3);
  }
  rd16(seg: number, off: number): number {
    const o = off >>> 0;
    if (this.segFlatR[seg] === 1 ? o > 0xfffffffe : o < this.segLo[seg]! || o + 1 > this.segHiR[seg]!) this.segFault(seg);
    return this.readLin16((this.segBase[seg]! + off) | 0);
  }
  rd32(seg: number, off: number): number {
    const o = off >>> 0;
    if (this.segFlatR[seg] === 1 ? o > 0xfffffffc : o < this.segLo[seg]! || o + 3 > this.segHiR[seg]!) this.segFault(seg);
    return this.readLin32((this.segBase[seg]! + off) | 0);
  }
  wr8(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (this.segFlatW[seg] !== 1 && (o < this.segLo[seg]! || o > this.segHiW[seg]!)) this.segFault(seg);
    const lin = (this.segBase[seg]! + off) | 0;
    const e = this.tlbW[lin >>> 12]!;
    if ((e & this.tlbNeed) === this.tlbNeed) {
      this.mem[(e & ~3) * 1024 + (lin & 0xfff)] = v;
      return;
    }
    this.writeLinSlow(lin, 1, v, this.cpl === 3);
  }
  wr16(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (this.segFlatW[seg] === 1 ? o > 0xfffffffe : o < this.segLo[seg]! || o + 1 > this.segHiW[seg]!) this.segFault(seg);
    this.writeLin16((this.segBase[seg]! + off) | 0, v);
  }
  wr32(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (this.segFlatW[seg] === 1 ? o > 0xfffffffc : o < this.segLo[seg]! || o + 3 > this.segHiW[seg]!) this.segFault(seg);
    this.writeLin32((this.segBase[seg]! + off) | 0, v);
  }

  /** Read-modify-write: reads with write permission checked; wrRmw* then stores without re-checking. */
  rmw8(seg: number, off: number): number {
    const lin = this.linW(seg, off, 1);
    const e = this.tlbW[lin >>> 12]!;
    if ((e & this.tlbNeed) === this.tlbNeed) {
      const a = (e & ~3) * 1024 + (lin & 0xfff);
      this.rmwIdx = a;
      return this.mem[a]!;
    }
    return this.rmwSlow(lin, 1);
  }
  rmw16(seg: number, off: number): number {
    const lin = this.linW(seg, off, 2);
    const e = this.tlbW[lin >>> 12]!;
    if ((e & this.tlbNeed) === this.tlbNeed && (lin & 0xfff) !== 0xfff) {
      const a = (e & ~3) * 1024 + (lin & 0xfff);
      this.rmwIdx = a;
      return this.mem[a]! | (this.mem[a + 1]! << 8);
    }
    return this.rmwSlow(lin, 2);
  }
  rmw32(seg: number, off: number): number {
    const lin = this.linW(seg, off, 4);
    const e = this.tlbW[lin >>> 12]!;
    if ((e & this.tlbNeed) === this.tlbNeed && (lin & 0xfff) <= 0xffc) {
      const a = (e & ~3) * 1024 + (lin & 0xfff);
      this.rmwIdx = a;
      if ((a & 3) === 0) return this.mem32[a >>> 2]!;
      const m = this.mem;
      return m[a]! | (m[a + 1]! << 8) | (m[a + 2]! << 16) | (m[a + 3]! << 24);
    }
    return this.rmwSlow(lin, 4);
  }
  private rmwSlow(lin: number, size: number): number {
    this.probeWrite(lin, size);
    this.rmwIdx = -1;
    this.rmwLin = lin;
    return this.readLinSlow(lin, size, this.cpl === 3);
  }
  wrRmw8(v: number): void {
    if (this.rmwIdx >= 0) this.mem[this.rmwIdx] = v;
    else this.writeLinSlow(this.rmwLin, 1, v, this.cpl === 3);
  }
  wrRmw16(v: number): void {
    const a = this.rmwIdx;
    if (a >= 0) {
      this.mem[a] = v;
      this.mem[a + 1] = v >>> 8;
    } else this.writeLinSlow(this.rmwLin, 2, v, this.cpl === 3);
  }
  wrRmw32(v: number): void {
    const a = this.rmwIdx;
    if (a >= 0) {
      if ((a & 3) === 0) this.mem32[a >>> 2] = v;
      else {
        const m = this.mem;
        m[a] = v;
        m[a + 1] = v >>> 8;
        m[a + 2] = v >>> 16;
        m[a + 3] = v >>> 24;
      }
    } else this.writeLinSlow(this.rmwLin, 4, v, this.cpl === 3);
  }

  // ======================================================================
  // Stack
  // ======================================================================

  get sp(): number {
    return this.stack32 ? this.reg32[4]! : this.reg16[8]!;
  }
  setSp(v: number): void {
    if (this.stack32) this.reg32[4] = v;
    else this.reg16[8] = v;
  }
  /** Stack offset `delta` bytes from ESP/SP, wrapped to the stack size. */
  spOff(delta: number): number {
    return this.stack32 ? (this.reg32[4]! + delta) | 0 : (this.reg16[8]! + delta) & 0xffff;
  }
  push16(v: number): void {
    const sp = this.spOff(-2);
    this.wr16(SEG.SS, sp, v);
    this.setSp(sp);
  }
  push32(v: number): void {
    const sp = this.spOff(-4);
    this.wr32(SEG.SS, sp, v);
    this.setSp(sp);
  }
  pushOs(v: number): void {
    if (this.osz) this.push32(v);
    else this.push16(v);
  }
  pop16(): number {
    const v = this.rd16(SEG.SS, this.spOff(0));
    this.setSp(this.spOff(2));
    return v;
  }
  pop32(): number {
    const v = this.rd32(SEG.SS, this.spOff(0));
    this.setSp(this.spOff(4));
    return v;
  }

  // ======================================================================
  // Instruction fetch
  // ======================================================================

  /**
   * The fetch fast path needs only "same page as fetchPage": a page is cached
   * there only if all of it lies inside the CS limit, and never while an
   * instruction has 4 or more prefix bytes (so the 15-byte limit is checked
   * here, byte by byte, whenever it could be exceeded).
   */
  private fetchSlowByte(): number {
    const off = this.eip;
    if (off >>> 0 > this.csFetchHi) this.fault(EXC.GP, 0);
    if (((off - this.instrEip) | 0) >= 15) this.fault(EXC.GP, 0);
    const lin = (this.csBase + off) | 0;
    const user = this.cpl === 3;
    let e = this.tlbR[lin >>> 12]!;
    let b: number;
    if ((e & this.tlbNeed) === this.tlbNeed) {
      b = this.mem[(e & ~3) * 1024 + (lin & 0xfff)]!;
    } else {
      const phys = this.translate(lin, false, user);
      b = this.memory.read8(phys);
      e = this.tlbR[lin >>> 12]!;
    }
    if ((e & this.tlbNeed) === this.tlbNeed && !this.longInstr) {
      const pageLin = lin & PAGE_LIN_MASK;
      const firstOff = (pageLin - this.csBase) >>> 0;
      if (firstOff <= this.csFetchHi && firstOff + 0xfff <= this.csFetchHi) {
        this.fetchPage = pageLin;
        this.fetchBase = (e & ~3) * 1024;
      } else this.fetchPage = 1;
    }
    this.eip = (off + 1) | 0;
    return b;
  }

  /**
   * Makes the page of `lin` (the linear EIP of an instruction about to run)
   * the fetch page if it can be, exactly as the first byte fetch would: the
   * CS limit is left to the byte path; a translation may raise the same #PF.
   */
  private primeFetchPage(lin: number): void {
    if (this.eip >>> 0 > this.csFetchHi || this.longInstr) return;
    let e = this.tlbR[lin >>> 12]!;
    if ((e & this.tlbNeed) !== this.tlbNeed) {
      this.translate(lin, false, this.cpl === 3);
      e = this.tlbR[lin >>> 12]!;
      if ((e & this.tlbNeed) !== this.tlbNeed) return;
    }
    const pageLin = lin & PAGE_LIN_MASK;
    const firstOff = (pageLin - this.csBase) >>> 0;
    if (firstOff <= this.csFetchHi && firstOff + 0xfff <= this.csFetchHi) {
      this.fetchPage = pageLin;
      this.fetchBase = (e & ~3) * 1024;
    }
  }

  /** Called by prefix handlers: from the 4th prefix byte on, fetches take the checked path. */
  notePrefix(): void {
    if (((this.eip - this.instrEip) | 0) >= 4) {
      this.longInstr = true;
      this.fetchPage = 1;
    }
  }
  longInstr = false;

  fetch8(): number {
    const off = this.eip;
    const lin = (this.csBase + off) | 0;
    if ((lin & PAGE_LIN_MASK) === this.fetchPage) {
      this.eip = (off + 1) | 0;
      return this.mem[this.fetchBase + (lin & 0xfff)]!;
    }
    return this.fetchSlowByte();
  }
  fetch16(): number {
    const off = this.eip;
    const lin = (this.csBase + off) | 0;
    if ((lin & PAGE_LIN_MASK) === this.fetchPage && (lin & 0xfff) < 0xfff) {
      this.eip = (off + 2) | 0;
      const a = this.fetchBase + (lin & 0xfff);
      return this.mem[a]! | (this.mem[a + 1]! << 8);
    }
    const lo = this.fetchSlowByte();
    return lo | (this.fetch8() << 8);
  }
  fetch32(): number {
    const off = this.eip;
    const lin = (this.csBase + off) | 0;
    if ((lin & PAGE_LIN_MASK) === this.fetchPage && (lin & 0xfff) < 0xffd) {
      this.eip = (off + 4) | 0;
      const a = this.fetchBase + (lin & 0xfff);
      const m = this.mem;
      return m[a]! | (m[a + 1]! << 8) | (m[a + 2]! << 16) | (m[a + 3]! << 24);
    }
    const b0 = this.fetchSlowByte();
    const b1 = this.fetch8();
    const b2 = this.fetch8();
    return b0 | (b1 << 8) | (b2 << 16) | (this.fetch8() << 24);
  }
  /** Immediate of the operand size (16 or 32 bits). */
  fetchImmOs(): number {
    return this.osz ? this.fetch32() : this.fetch16();
  }

  // ======================================================================
  // ModRM effective address
  // ======================================================================

  /** Computes the effective offset of a memory ModRM (mod != 3) and sets eaSeg. */
  ea(modrm: number): number {
    const mod = modrm >> 6;
    const rm = modrm & 7;
    const r = this.reg32;
    if (!this.asz32) {
      let off: number;
      let seg: number = SEG.DS;
      switch (rm) {
        case 0: off = r[3]! + r[6]!; break;
        case 1: off = r[3]! + r[7]!; break;
        case 2: off = r[5]! + r[6]!; seg = SEG.SS; break;
        case 3: off = r[5]! + r[7]!; seg = SEG.SS; break;
        case 4: off = r[6]!; break;
        case 5: off = r[7]!; break;
        case 6:
          if (mod === 0) {
            off = this.fetch16();
          } else {
            off = r[5]!;
            seg = SEG.SS;
          }
          break;
        default: off = r[3]!; break;
      }
      if (mod === 1) off += (this.fetch8() << 24) >> 24;
      else if (mod === 2) off += this.fetch16();
      this.eaSeg = this.segOvr >= 0 ? this.segOvr : seg;
      return off & 0xffff;
    }
    let off: number;
    let seg: number = SEG.DS;
    if (rm === 4) {
      const sib = this.fetch8();
      const base = sib & 7;
      const idx = (sib >> 3) & 7;
      if (base === 5 && mod === 0) off = this.fetch32();
      else {
        off = r[base]!;
        if (base === 4 || base === 5) seg = SEG.SS;
      }
      if (idx !== 4) off += r[idx]! << (sib >> 6);
    } else if (rm === 5 && mod === 0) {
      off = this.fetch32();
    } else {
      off = r[rm]!;
      if (rm === 5) seg = SEG.SS;
    }
    if (mod === 1) off += (this.fetch8() << 24) >> 24;
    else if (mod === 2) off += this.fetch32();
    this.eaSeg = this.segOvr >= 0 ? this.segOvr : seg;
    return off | 0;
  }

  /** Default data segment with override applied. */
  dataSeg(): number {
    return this.segOvr >= 0 ? this.segOvr : SEG.DS;
  }

  // ======================================================================
  // Exceptions
  // ======================================================================

  /** Raises an exception (fault): throws CPU_FAULT. errorCode -1 = none. */
  fault(vector: number, errorCode: number): never {
    this.faultVector = vector;
    this.faultError = errorCode;
    throw CPU_FAULT;
  }

  /** A near jump outside the CS limit. */
  jumpFault(): never {
    return this.fault(EXC.GP, 0);
  }

  /** #UD for an opcode we do not implement (or that is invalid): reported once per opcode. */
  undefinedOpcode(what: number): never {
    if (!this.reportedUd.has(what)) {
      this.reportedUd.add(what);
      this.logger.log(LOG.WARN, 'cpu', `#UD: invalid or unimplemented opcode ${this.describeInstruction()} (reported once per opcode)`);
    }
    return this.fault(EXC.UD, -1);
  }

  /** "CS:EIP bytes" of the current instruction, for reports. */
  describeInstruction(): string {
    const lin = (this.csBase + this.instrEip) | 0;
    let bytes = '';
    for (let i = 0; i < 8; i++) {
      const p = this.linearToPhysical((lin + i) | 0, false);
      if (p < 0) break;
      bytes += this.memory.read8(p).toString(16).padStart(2, '0') + ' ';
    }
    return `at ${this.segSel[SEG.CS]!.toString(16).padStart(4, '0')}:${(this.instrEip >>> 0).toString(16).padStart(8, '0')} (bytes ${bytes.trim()})`;
  }

  /** Prefix state is left alone by unprefixed instructions; this restores the defaults. */
  clearPrefixes(): void {
    this.prefixed = false;
    this.osz = this.code32 ? 256 : 0;
    this.asz32 = this.code32;
    this.segOvr = -1;
    this.rep = 0;
    this.lock = false;
    if (this.longInstr) {
      this.longInstr = false;
      this.fetchPage = 1;
    }
  }
  private faultLoopIcount = -1;
  private faultLoopCount = 0;
  /** Set by every prefix handler (and by CS loads that change the default sizes). */
  prefixed = true;

  /** Delivers the exception in faultVector/faultError, with EIP back at the faulting instruction. */
  private handleFault(): void {
    this.clearPrefixes();
    // A handler that faults on its first instruction loops forever without
    // retiring anything (icount would stand still): stop with a report.
    if (this.icount !== this.faultLoopIcount) {
      this.faultLoopIcount = this.icount;
      this.faultLoopCount = 0;
    } else if (++this.faultLoopCount >= FAULT_LOOP_LIMIT) {
      const msg = `exception loop: ${EXC_NAMES[this.faultVector] ?? this.faultVector} raised ${FAULT_LOOP_LIMIT} times with no instruction retired ${this.describeInstruction()}`;
      this.logger.log(LOG.ERROR, 'cpu', msg);
      this.machine.ctx.requestStop('error', msg, 1);
      this.stopRequested = true;
      this.faultLoopCount = 0;
      this.eip = this.instrEip;
      return;
    }
    let vec = this.faultVector;
    let err = this.faultError;
    this.eip = this.instrEip;
    this.halted = false;
    if (vec === EXC.DB) this.pendingDbTrap = 0;
    for (;;) {
      const prev = this.delivering;
      if (prev === EXC.DF) {
        this.tripleFault(vec);
        return;
      }
      if (prev >= 0) {
        const contributory = (v: number): boolean => v === 0 || (v >= 10 && v <= 13);
        if ((contributory(prev) && contributory(vec)) || (prev === EXC.PF && (vec === EXC.PF || contributory(vec)))) {
          vec = EXC.DF;
          err = 0;
        }
      }
      this.delivering = vec;
      this.lastException = vec;
      try {
        this.deliver(vec, err, false, this.eip);
        this.delivering = -1;
        return;
      } catch (e) {
        if (e !== CPU_FAULT) {
          this.delivering = -1;
          throw e;
        }
        vec = this.faultVector;
        err = this.faultError;
        // keep `delivering` = the vector whose delivery faulted
      }
    }
  }

  private tripleFault(vec: number): void {
    this.delivering = -1;
    const msg = `triple fault (${EXC_NAMES[vec] ?? vec} while delivering #DF) ${this.describeInstruction()}`;
    this.logger.log(LOG.ERROR, 'cpu', msg);
    this.machine.ctx.requestReset(msg);
    this.halted = true;
    this.stopRequested = true;
  }

  /** Software interrupt (INT n, INT3, INTO, ICEBP): delivered with EIP after the instruction. */
  softwareInterrupt(vector: number, isIntN: boolean): void {
    this.deliver(vector, -1, isIntN, this.eip);
  }

  /**
   * Delivers vector through the IVT (real mode) or IDT. `soft` = INT n (gate
   * DPL checked, v86 IOPL rules). `retEip` = EIP pushed.
   */
  deliver(vector: number, err: number, soft: boolean, retEip: number): void {
    if (this.pmu.asleep) this.pmu.wake(this); // every wake-up from HLT delivers an interrupt
    if (!(this.cr0 & CR0.PE)) {
      if (vector * 4 + 3 > this.idtrLimit >>> 0) this.fault(EXC.GP, vector * 8 + 2);
      const flags = this.getEflags();
      const sp = this.spOff(-6);
      this.wr16(SEG.SS, this.spOff(-2), flags);
      this.wr16(SEG.SS, this.spOff(-4), this.segSel[SEG.CS]!);
      this.wr16(SEG.SS, sp, retEip);
      const ip = this.sysRead16((this.idtrBase + vector * 4) | 0);
      const cs = this.sysRead16((this.idtrBase + vector * 4 + 2) | 0);
      this.setSp(sp);
      this.flags &= ~(FLAG.IF | FLAG.TF | FLAG.AC | FLAG.RF);
      this.loadSegment(SEG.CS, cs);
      this.eip = ip;
      return;
    }
    this.deliverProtected(vector, err, soft, retEip);
  }

  private deliverProtected(vector: number, err: number, soft: boolean, retEip: number): void {
    const hasErr = err >= 0 && !soft;
    const extBit = soft ? 0 : 1;
    if (soft && this.v86 && this.iopl < 3) this.fault(EXC.GP, 0);
    if (vector * 8 + 7 > this.idtrLimit >>> 0) this.fault(EXC.GP, vector * 8 + 2 + extBit);
    const gLo = this.sysRead32((this.idtrBase + vector * 8) | 0);
    const gHi = this.sysRead32((this.idtrBase + vector * 8 + 4) | 0);
    const type = (gHi >>> 8) & 0x1f;
    const gdpl = (gHi >>> 13) & 3;
    if (type !== 0x05 && type !== 0x06 && type !== 0x07 && type !== 0x0e && type !== 0x0f) this.fault(EXC.GP, vector * 8 + 2 + extBit);
    if (soft && gdpl < this.cpl) this.fault(EXC.GP, vector * 8 + 2);
    if (!(gHi & 0x8000)) this.fault(EXC.NP, vector * 8 + 2 + extBit);
    if (type === 0x05) {
      this.taskSwitch(gLo >>> 16, 2 /*call-like*/, retEip, hasErr ? err : -1);
      return;
    }
    const gate32 = (type & 8) !== 0;
    const trap = (type & 1) !== 0;
    const sel = gLo >>> 16;
    const off = gate32 ? (gHi & 0xffff0000) | (gLo & 0xffff) : gLo & 0xffff;
    if ((sel & 0xfffc) === 0) this.fault(EXC.GP, extBit);
    if (!this.readDescriptor(sel)) this.fault(EXC.GP, (sel & 0xfffc) + extBit);
    const cLo = this.descLo;
    const cHi = this.descHi;
    const cdpl = (cHi >>> 13) & 3;
    if ((cHi & 0x1800) !== 0x1800 || cdpl > this.cpl) this.fault(EXC.GP, (sel & 0xfffc) + extBit);
    if (!(cHi & 0x8000)) this.fault(EXC.NP, (sel & 0xfffc) + extBit);
    const conforming = (cHi & 0x400) !== 0;
    const flags = this.getEflags();
    const fromV86 = (flags & FLAG.VM) !== 0;
    const n = gate32 ? 4 : 2;
    if (!conforming && cdpl < this.cpl) {
      // inter-privilege: new stack from the TSS
      const newCpl = cdpl;
      const { ss: newSs, esp: newEsp } = this.tssStack(newCpl, extBit);
      if ((newSs & 0xfffc) === 0) this.fault(EXC.TS, extBit);
      if (!this.readDescriptor(newSs)) this.fault(EXC.TS, (newSs & 0xfffc) + extBit);
      const sHi = this.descHi;
      const sLo = this.descLo;
      if ((newSs & 3) !== newCpl || ((sHi >>> 13) & 3) !== newCpl || (sHi & 0x1a00) !== 0x1200) this.fault(EXC.TS, (newSs & 0xfffc) + extBit);
      if (!(sHi & 0x8000)) this.fault(EXC.SS, (newSs & 0xfffc) + extBit);
      if (fromV86 && cdpl !== 0) this.fault(EXC.GP, (sel & 0xfffc) + extBit);
      const ssBase = Cpu.descBase(sLo, sHi);
      const ss32 = (sHi & 0x400000) !== 0;
      const words = (fromV86 ? 9 : 5) + (hasErr ? 1 : 0);
      let sp = newEsp;
      const mask = ss32 ? -1 : 0xffff;
      // check the whole frame against the new SS limit
      const frameLo = ((sp - words * n) & mask) >>> 0;
      const ssLimit = Cpu.descLimit(sLo, sHi) >>> 0;
      if ((sHi & 0x1c00) !== 0x1400 && (frameLo + words * n - 1 > ssLimit)) this.fault(EXC.SS, (newSs & 0xfffc) + extBit);
      const push = (v: number): void => {
        sp = (sp - n) & mask;
        const lin = (ssBase + sp) | 0;
        if (n === 4) this.writeLinSlow(lin, 4, v, false);
        else this.writeLinSlow(lin, 2, v, false);
      };
      const oldSs = this.segSel[SEG.SS]!;
      const oldEsp = this.reg32[4]!;
      if (fromV86) {
        push(this.segSel[SEG.GS]!);
        push(this.segSel[SEG.FS]!);
        push(this.segSel[SEG.DS]!);
        push(this.segSel[SEG.ES]!);
      }
      push(oldSs);
      push(oldEsp);
      push(flags);
      push(this.segSel[SEG.CS]!);
      push(retEip);
      if (hasErr) push(err);
      // commit
      this.descLo = sLo;
      this.descHi = sHi;
      this.setAccessed(newSs);
      this.flags &= ~(FLAG.TF | FLAG.NT | FLAG.RF | FLAG.VM);
      if (!trap) this.flags &= ~FLAG.IF;
      if (fromV86) {
        for (const s of [SEG.ES, SEG.DS, SEG.FS, SEG.GS]) this.setSegCache(s, 0, 0, 0, 0);
      }
      this.setCpl(newCpl);
      this.modeChanged();
      this.descLo = sLo;
      this.descHi = sHi;
      this.loadDescriptorCache(SEG.SS, newSs);
      if (ss32) this.reg32[4] = sp;
      else this.reg16[8] = sp;
      this.descLo = cLo;
      this.descHi = cHi;
      this.setAccessed(sel);
      this.loadDescriptorCache(SEG.CS, (sel & 0xfffc) | newCpl);
      this.eip = gate32 ? off : off & 0xffff;
      this.eventsPending = true;
      return;
    }
    if (fromV86) this.fault(EXC.GP, (sel & 0xfffc) + extBit);
    // same privilege
    const newCpl = this.cpl;
    const words = 3 + (hasErr ? 1 : 0);
    let sp = this.spOff(0);
    const mask = this.stack32 ? -1 : 0xffff;
    const first = (sp - words * n) & mask;
    // limit/permission check of the frame
    this.linW(SEG.SS, first, words * n);
    const push = (v: number): void => {
      sp = (sp - n) & mask;
      if (n === 4) this.wr32(SEG.SS, sp, v);
      else this.wr16(SEG.SS, sp, v);
    };
    push(flags);
    push(this.segSel[SEG.CS]!);
    push(retEip);
    if (hasErr) push(err);
    this.setSp(sp);
    this.flags &= ~(FLAG.TF | FLAG.NT | FLAG.RF | FLAG.VM);
    if (!trap) this.flags &= ~FLAG.IF;
    this.descLo = cLo;
    this.descHi = cHi;
    this.setAccessed(sel);
    this.loadDescriptorCache(SEG.CS, (sel & 0xfffc) | newCpl);
    this.eip = gate32 ? off : off & 0xffff;
    this.eventsPending = true;
  }

  /** SS:ESP for privilege level `pl` from the current TSS. */
  tssStack(pl: number, ext: number): { ss: number; esp: number } {
    const t32 = (this.trAttr & 0xf) === 0x9 || (this.trAttr & 0xf) === 0xb;
    if (t32) {
      const at = pl * 8 + 4;
      if (at + 7 > this.trLimit >>> 0) this.fault(EXC.TS, (this.tr & 0xfffc) + ext);
      return { esp: this.sysRead32((this.trBase + at) | 0), ss: this.sysRead16((this.trBase + at + 4) | 0) };
    }
    const at = pl * 4 + 2;
    if (at + 3 > this.trLimit >>> 0) this.fault(EXC.TS, (this.tr & 0xfffc) + ext);
    return { esp: this.sysRead16((this.trBase + at) | 0), ss: this.sysRead16((this.trBase + at + 2) | 0) };
  }

  /** Task switch (JMP=0, CALL=1, INT/exception=2, IRET=3). Implemented in exec/system.ts. */
  taskSwitch(sel: number, how: number, retEip: number, err: number): void {
    this.taskSwitchImpl(this, sel, how, retEip, err);
  }
  taskSwitchImpl: (c: Cpu, sel: number, how: number, retEip: number, err: number) => void;

  /** IRET with NT set: return to the task in the back link. */
  iretTask(): void {
    iretTask(this);
  }

  // ======================================================================
  // Debug
  // ======================================================================

  private checkDataBreakpoints(lin: number, size: number, write: boolean): void {
    const dr7 = this.dr[7]!;
    for (let i = 0; i < 4; i++) {
      if (!((dr7 >>> (i * 2)) & 3)) continue;
      const rw = (dr7 >>> (16 + i * 4)) & 3;
      if (rw === 0 || rw === 2) continue;
      if (rw === 1 && !write) continue;
      const len = ((dr7 >>> (18 + i * 4)) & 3) + 1;
      const a = this.dr[i]! & ~(len - 1);
      if (lin + size - 1 >= a && lin <= a + (len === 3 ? 8 : len) - 1) {
        this.pendingDbTrap |= 1 << i;
        this.eventsPending = true;
      }
    }
  }

  /** Alignment checking (CR0.AM, EFLAGS.AC, CPL 3): every access then takes the slow path, which checks it. */
  acActive = false;
  updateAc(): void {
    const on = (this.cr0 & CR0.AM) !== 0 && (this.flags & FLAG.AC) !== 0 && this.cpl === 3 && (this.cr0 & CR0.PE) !== 0;
    if (on !== this.acActive) {
      this.acActive = on;
      this.updateDebugState();
    }
  }

  /** I/O breakpoints (DR7 R/W = 10b with CR4.DE): a trap after the instruction. */
  private ioBreakpoints(port: number, size: number): void {
    const dr7 = this.dr[7]!;
    for (let i = 0; i < 4; i++) {
      if (!((dr7 >>> (i * 2)) & 3) || ((dr7 >>> (16 + i * 4)) & 3) !== 2) continue;
      const len = ((dr7 >>> (18 + i * 4)) & 3) + 1;
      const a = this.dr[i]! & 0xffff & ~(len - 1);
      if (port + size - 1 >= a && port <= a + len - 1) {
        this.pendingDbTrap |= 1 << i;
        this.eventsPending = true;
      }
    }
  }

  /** Recomputes whether the TLB may be filled (debug hooks and data breakpoints need every access). */
  updateDebugState(): void {
    const dr7 = this.dr[7]!;
    let data = false;
    for (let i = 0; i < 4; i++) if ((dr7 >>> (i * 2)) & 3 && ((dr7 >>> (16 + i * 4)) & 3) !== 0) data = true;
    const want = data || this.debugHooks !== null || this.acActive;
    if (want !== this.noTlbFill) {
      this.noTlbFill = want;
      this.flushTlb(true);
    }
    this.eventsPending = true;
  }

  /** Instruction breakpoint in DR0-3 at this linear EIP? Returns DR6 B bits. */
  private instrBreakpoints(lin: number): number {
    const dr7 = this.dr[7]!;
    let hit = 0;
    for (let i = 0; i < 4; i++) {
      if ((dr7 >>> (i * 2)) & 3 && ((dr7 >>> (16 + i * 4)) & 3) === 0 && this.dr[i] === lin) hit |= 1 << i;
    }
    return hit;
  }

  // ======================================================================
  // Run loop
  // ======================================================================

  /**
   * Slow check at an instruction boundary. Returns true if it delivered an
   * event or the CPU stays halted (the caller re-checks its loop condition).
   */
  private checkEvents(): boolean {
    this.eventsPending = false;
    // debug traps from the previous instruction
    if (this.pendingDbTrap !== 0) {
      this.dr[6] = (this.dr[6]! & ~0xf) | this.pendingDbTrap;
      this.pendingDbTrap = 0;
      this.instrEip = this.eip;
      this.deliverEvent(EXC.DB, -1);
      return true;
    }
    const inhibited = this.icount < this.inhibitUntil;
    if (inhibited) this.eventsPending = true;
    if (this.nmiPending && !this.nmiBlocked && !inhibited) {
      this.nmiPending = false;
      this.nmiBlocked = true;
      this.halted = false;
      this.instrEip = this.eip;
      this.deliverEvent(EXC.NMI, -1);
      return true;
    }
    if (this.intrLine) {
      if ((this.flags & FLAG.IF) !== 0 && !inhibited) {
        this.halted = false;
        const v = this.intAck.acknowledge() & 0xff;
        this.instrEip = this.eip;
        this.deliverEvent(v, -1);
        return true;
      }
      this.eventsPending = true;
    }
    if (this.halted) return true;
    if (this.flags & FLAG.TF) this.eventsPending = true;
    if (this.dr[7]! & 0xff) {
      this.eventsPending = true;
      if (!(this.flags & FLAG.RF)) {
        const hit = this.instrBreakpoints((this.csBase + this.eip) | 0);
        if (hit) {
          this.dr[6] = (this.dr[6]! & ~0xf) | hit;
          this.instrEip = this.eip;
          this.deliverEvent(EXC.DB, -1);
          return true;
        }
      }
    }
    return false;
  }

  /** Delivers an external event or trap; faults during delivery follow the double-fault rules. */
  private deliverEvent(vec: number, err: number): void {
    if (vec === EXC.DB) this.lastException = vec;
    try {
      this.delivering = vec === EXC.DB ? EXC.DB : -1;
      this.deliver(vec, err, false, this.eip);
      this.delivering = -1;
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      this.eip = this.instrEip;
      this.handleFault();
    }
  }

  /** Executes one instruction (no event checks). Throws CPU_FAULT on a guest exception. */
  private execOne(): void {
    if (this.prefixed) this.clearPrefixes();
    const eip = this.eip;
    this.instrEip = eip;
    const tf = this.flags & FLAG.TF;
    const s = this.slotAt(eip);
    if (s >= 0) {
      this.eip = (eip + (this.dcInfo[s]! & 0xff)) | 0;
      this.dcFn[s]!(this, s);
    } else {
      const op = this.fetch8();
      this.ops[op | this.osz]!(this);
    }
    this.icount++;
    if (this.flags & FLAG.RF) this.flags &= ~FLAG.RF;
    if (tf && this.icount >= this.dbShadowUntil) {
      this.pendingDbTrap |= 0x4000;
      this.eventsPending = true;
    }
  }

  run(stopIcount: number): void {
    this.executing = true;
    try {
      this.runSlice(stopIcount);
    } finally {
      this.executing = false;
    }
  }

  private runSlice(stopIcount: number): void {
    this.stopIcount = stopIcount;
    this.syncEpoch();
    this.eventsPending = true;
    if ((this.debugHooks !== null) !== this.hooksActive) {
      this.hooksActive = this.debugHooks !== null;
      this.updateDebugState();
    }
    while (this.icount < stopIcount && !this.stopRequested) {
      try {
        if (this.debugHooks !== null) {
          if (this.runDebug(stopIcount)) return;
        } else if (this.runFast(stopIcount)) return;
      } catch (e) {
        if (e !== CPU_FAULT) {
          this.internalError(e);
          return;
        }
        this.handleFault();
      }
    }
  }

  /**
   * Returns true when the CPU halted (run must return). Everything unusual
   * (interrupts, traps, TF/RF, STI/MOV SS shadows, stop requests) sets
   * eventsPending and is handled off the fast path; with TF or RF set the
   * instruction runs through execOne, which implements the single-step trap.
   */
  private runFast(stop: number): boolean {
    const ops = this.ops;
    const fns = this.dcFn;
    const infos = this.dcInfo;
    const blk = this.dcBlk;
    while (this.icount < stop) {
      if (this.eventsPending) {
        if (this.stopRequested) return true;
        if (this.checkEvents()) {
          if (this.halted) return true;
          continue;
        }
        if (this.flags & (FLAG.TF | FLAG.RF)) {
          this.execOne();
          continue;
        }
      }
      if (this.prefixed) this.clearPrefixes();
      const eip = this.eip;
      this.instrEip = eip;
      const s = this.slotAt(eip);
      if (s >= 0) {
        const info = infos[s]!;
        if (info >>> 24 !== 0) {
          if (stop - this.icount >= info >>> 24) {
            blk[s]!(this, eip, stop);
            continue;
          }
        } else if ((info & 0xffff00) !== 0xffff00) {
          infos[s] = info + 0x100;
          if (((info >>> 8) & 0xffff) + 1 === this.blockThreshold) this.compileAt(s);
        }
        this.eip = (eip + (info & 0xff)) | 0;
        fns[s]!(this, s);
        this.icount++;
        continue;
      }
      const op = this.fetch8();
      ops[op | this.osz]!(this);
      this.icount++;
    }
    return false;
  }

  /**
   * The decode-cache slot of the instruction at `eip` (filled now if it was
   * not), or -1: it runs uncached (its page is not the fetch page, or not cached).
   */
  private slotAt(eip: number): number {
    const lin = (this.csBase + eip) | 0;
    if ((lin & PAGE_LIN_MASK) !== this.fetchPage) this.primeFetchPage(lin);
    if ((lin & PAGE_LIN_MASK) !== this.fetchPage) return -1;
    const off = this.fetchBase + (lin & 0xfff);
    const s = off & DC_MASK_LOCAL;
    return this.dcTag[s] === off || this.decodeSlot(off, s) ? s : -1;
  }

  /** Fills slot s with the instruction at mem[off]; false: run it uncached (its page is not cached). */
  private decodeSlot(off: number, s: number): boolean {
    if (!this.decodeCacheEnabled) return false;
    const page = off >>> 12;
    if (page < this.memory.ramPages) {
      if (this.dcNoCache[page] === 1) {
        if (this.icount < this.dcWriteAt[page]!) return false;
        this.dcNoCache[page] = 0;
        this.dcWrites[page] = 0;
      }
      if (this.memory.codePages[page] !== 1) {
        this.memory.codePages[page] = 1;
        // Writes to a page with decoded code must take the general path (which invalidates).
        for (let i = 0; i < this.tlbCount; i++) {
          const lp = this.tlbList[i]!;
          const e = this.tlbW[lp]!;
          if (e !== 0 && e >>> 2 === page) this.tlbW[lp] = 0;
        }
      }
    }
    return decodeInto(this, off, s);
  }

  /** Compiles the block starting at slot s (filled for the current default size). */
  private compileAt(s: number): void {
    const r = compileBlock(this, this.dcTag[s]!, DC_MASK, (o, slot) => this.decodeSlot(o, slot));
    if (r === null) return;
    this.dcBlk[s] = r.fn;
    this.dcInfo[s] = (this.dcInfo[s]! & 0xffffff) | (r.count << 24);
  }

  /** A write hit a RAM page holding decoded instructions: drop them (self-modifying code). */
  private codeWritten(page: number): void {
    const base = (page << 12) & DC_MASK;
    for (const tag of [this.dcTag16, this.dcTag32]) {
      for (let k = 0; k < 4096; k++) {
        if (tag[base + k]! >>> 12 === page) {
          tag[base + k] = -1;
          this.dcBlk[base + k] = null;
          this.dcInfo[base + k] = 0;
        }
      }
    }
    this.eventsPending = true; // a running block stops after the store that dropped code
    this.memory.codePages[page] = 0;
    // Only the guest's own stores count towards "code and data share this page"
    // (restores and seeks rewrite code pages too, as often as the user seeks).
    if (this.executing) {
      const ic = this.icount;
      if (ic - this.dcWriteAt[page]! > DC_THRASH_WINDOW) this.dcWrites[page] = 0;
      this.dcWriteAt[page] = ic;
      if (++this.dcWrites[page]! >= DC_THRASH_LIMIT) {
        this.dcNoCache[page] = 1;
        this.dcWriteAt[page] = ic + DC_NOCACHE_SPAN;
      }
    }
  }

  /** Empties the decoded-instruction cache (reset; restores drop only the pages they rewrite, through codeWritten). */
  flushDecodeCache(): void {
    this.dcTag16.fill(-1);
    this.dcTag32.fill(-1);
    this.dcBlk.fill(null);
    this.dcInfo.fill(0);
    this.eventsPending = true;
    this.memory.codePages.fill(0);
    this.dcNoCache.fill(0);
    this.dcWrites.fill(0);
    this.dcWriteAt.fill(0);
  }

  private runDebug(stop: number): boolean {
    const hooks = this.debugHooks!;
    while (this.icount < stop) {
      if (this.stopRequested) return true;
      if (this.eventsPending && this.checkEvents()) {
        if (this.halted) return true;
        continue;
      }
      if (hooks.breakpoint((this.csBase + this.eip) >>> 0)) {
        this.stopRequested = true;
        return true;
      }
      this.execOne();
    }
    return false;
  }

  /**
   * Exactly one step: delivers one pending event (interrupt, NMI, trap) if
   * any is due, else executes one instruction (delivering its exception if it
   * faults). Returns STEP.EVENT, STEP.INSTRUCTION or STEP.HALTED.
   */
  step(): number {
    this.executing = true;
    try {
      return this.stepOne();
    } finally {
      this.executing = false;
    }
  }

  private stepOne(): number {
    this.syncEpoch();
    if ((this.debugHooks !== null) !== this.hooksActive) {
      this.hooksActive = this.debugHooks !== null;
      this.updateDebugState();
    }
    this.eventsPending = true;
    try {
      if (this.checkEvents()) return this.halted ? STEP.HALTED : STEP.EVENT;
      this.stopIcount = this.icount + 1;
      this.execOne();
      return STEP.INSTRUCTION;
    } catch (e) {
      if (e !== CPU_FAULT) {
        this.internalError(e);
        return STEP.EVENT;
      }
      this.handleFault();
      return STEP.EVENT;
    }
  }

  private internalError(e: unknown): void {
    const msg = `internal CPU error ${this.describeInstruction()}: ${e instanceof Error ? e.message : String(e)}`;
    this.logger.log(LOG.ERROR, 'cpu', msg);
    this.machine.ctx.requestStop('error', msg, 1);
    this.stopRequested = true;
    this.eip = this.instrEip;
  }

  /** HLT: stops until an interrupt. */
  halt(): void {
    if (this.pmu.counting) this.pmu.sleep(this);
    this.halted = true;
    this.eventsPending = true;
  }

  // ======================================================================
  // Snapshot
  // ======================================================================

  saveState(): StateRecord {
    const flags = this.getEflags();
    const s: StateRecord = {
      regs: this.reg32.slice(),
      eip: this.eip >>> 0,
      eflags: flags >>> 0,
      segSel: this.segSel.slice(),
      segBase: this.segBase.slice(),
      segLimit: this.segLimit.slice(),
      segAttr: this.segAttr.slice(),
      cpl: this.cpl,
      cr0: this.cr0 >>> 0,
      cr2: this.cr2 >>> 0,
      cr3: this.cr3 >>> 0,
      cr4: this.cr4 >>> 0,
      dr: this.dr.slice(),
      gdtr: [this.gdtrBase >>> 0, this.gdtrLimit],
      idtr: [this.idtrBase >>> 0, this.idtrLimit],
      ldtr: [this.ldtr, this.ldtrBase >>> 0, this.ldtrLimit >>> 0],
      tr: [this.tr, this.trBase >>> 0, this.trLimit >>> 0, this.trAttr],
      sysenter: [this.sysenterCs, this.sysenterEsp >>> 0, this.sysenterEip >>> 0],
      tscOffset: this.tscOffset,
      icount: this.icount,
      halted: this.halted,
      nmi: [this.nmiLine, this.nmiPending, this.nmiBlocked],
      inhibitUntil: this.inhibitUntil,
      dbShadowUntil: this.dbShadowUntil,
      pendingDbTrap: this.pendingDbTrap,
    };
    this.pmu.saveInto(this, s);
    return s;
  }

  loadState(s: StateRecord): void {
    intoTyped(s, 'regs', this.reg32);
    this.eip = num(s, 'eip') | 0;
    this.flags = (num(s, 'eflags') & EFLAGS_VALID) | 2;
    this.flagsLazy = 0;
    intoTyped(s, 'segSel', this.segSel);
    intoTyped(s, 'segBase', this.segBase);
    intoTyped(s, 'segLimit', this.segLimit);
    intoTyped(s, 'segAttr', this.segAttr);
    this.cr0 = num(s, 'cr0') | 0;
    this.cr2 = num(s, 'cr2') | 0;
    this.cr3 = num(s, 'cr3') | 0;
    this.cr4 = num(s, 'cr4') | 0;
    intoTyped(s, 'dr', this.dr);
    const pair = (k: string): number[] => (s[k] as number[]).map((x) => Number(x));
    [this.gdtrBase, this.gdtrLimit] = pair('gdtr').map((x) => x | 0) as [number, number];
    [this.idtrBase, this.idtrLimit] = pair('idtr').map((x) => x | 0) as [number, number];
    [this.ldtr, this.ldtrBase, this.ldtrLimit] = pair('ldtr').map((x) => x | 0) as [number, number, number];
    [this.tr, this.trBase, this.trLimit, this.trAttr] = pair('tr').map((x) => x | 0) as [number, number, number, number];
    [this.sysenterCs, this.sysenterEsp, this.sysenterEip] = pair('sysenter').map((x) => x | 0) as [number, number, number];
    this.tscOffset = num(s, 'tscOffset');
    this.icount = num(s, 'icount');
    this.halted = s['halted'] === true;
    const nmi = s['nmi'] as boolean[];
    this.nmiLine = nmi[0] === true;
    this.nmiPending = nmi[1] === true;
    this.nmiBlocked = nmi[2] === true;
    this.inhibitUntil = num(s, 'inhibitUntil');
    this.dbShadowUntil = typeof s['dbShadowUntil'] === 'number' ? s['dbShadowUntil'] : 0;
    this.pendingDbTrap = num(s, 'pendingDbTrap');
    this.pmu.loadFrom(s);
    this.delivering = -1;
    this.cpl = num(s, 'cpl');
    for (let i = 0; i < 6; i++) this.segDerive(i);
    this.setCpl(this.cpl);
    this.noTlbFill = !this.noTlbFill;
    this.updateDebugState();
    this.flushTlb(true);
    // The decode cache stays: a restore rewrites RAM through Machine.restore,
    // which drops the decoded code of every page it changes (onCodeWrite), so
    // a seek replays with warm code.
    this.eventsPending = true;
  }

  // ======================================================================
  // Misc used by handlers
  // ======================================================================

  /** The guest TSC: a 1 GHz clock on guest time. */
  readTsc(): number {
    return Math.floor(this.machine.clock.nowNs(this.icount)) + this.tscOffset;
  }

  /** I/O permission: CPL > IOPL (or v86) consults the TSS bitmap; #GP(0) if denied. */
  checkIo(port: number, size: number): void {
    if ((this.dr[7]! & 0xff) !== 0 && this.cr4 & CR4.DE) this.ioBreakpoints(port, size);
    if (!(this.cr0 & CR0.PE)) return;
    if (!(this.flags & FLAG.VM) && this.cpl <= this.iopl) return;
    const t32 = (this.trAttr & 0xf) === 0x9 || (this.trAttr & 0xf) === 0xb;
    if (!t32 || this.trLimit >>> 0 < 0x67) this.fault(EXC.GP, 0);
    const mapBase = this.sysRead16((this.trBase + 0x66) | 0);
    const at = mapBase + (port >>> 3);
    if (at + 1 > this.trLimit >>> 0) this.fault(EXC.GP, 0);
    const bits = this.sysRead16((this.trBase + at) | 0);
    if ((bits >>> (port & 7)) & ((1 << size) - 1)) this.fault(EXC.GP, 0);
  }

  /** Applies a CR0 write (flushes and mode changes). */
  writeCr0(v: number): void {
    v = (v | CR0.ET) & (0xe005003f | 0);
    if ((v & CR0.PG) && !(v & CR0.PE)) this.fault(EXC.GP, 0);
    if ((v & CR0.NW) && !(v & CR0.CD)) this.fault(EXC.GP, 0);
    const changed = v ^ this.cr0;
    this.cr0 = v;
    if (changed & (CR0.PG | CR0.WP | CR0.PE)) this.flushTlb(true);
    if (changed & CR0.PE) this.modeChanged();
    if (changed & (CR0.AM | CR0.PE)) this.updateAc();
  }

  writeCr4(v: number): void {
    if (v & ~0x1ff & ~0 && v & ~(CR4.VME | CR4.PVI | CR4.TSD | CR4.DE | CR4.PSE | CR4.MCE | CR4.PGE | CR4.PCE)) this.fault(EXC.GP, 0);
    const changed = v ^ this.cr4;
    this.cr4 = v;
    if (changed & (CR4.PSE | CR4.PGE | CR4.PAE)) this.flushTlb(true);
  }

  writeCr3(v: number): void {
    this.cr3 = v;
    this.flushTlb(false);
  }

  // for flags helpers (used by exec modules)
  static readonly ARITH = ARITH_FLAGS;
}
