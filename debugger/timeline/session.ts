/**
 * The time-travel debugging session: one API driven by the TUI, the gdb stub
 * and scripts. It moves forwards and backwards over a DebugTarget's history.
 *
 * Reverse execution follows QEMU's replay and rr: to go back, restore the
 * newest checkpoint at or before a point and replay forward. Reverse-continue
 * scans windows between checkpoints backwards, replaying each with the same
 * probes a forward run would use, and keeps the *last* hit in the newest
 * window that has one. Every scan reports progress and honours a cancel
 * signal between chunks; a cancelled reverse operation returns the session
 * to where it was.
 *
 * Positions are (icount, sub) (see target.ts). Stop positions:
 *  - breakpoints: before the instruction (both directions);
 *  - watchpoints: forward after the accessing instruction, reverse before it;
 *  - interrupt/exception events: the handler's entry (both directions);
 *  - other events (I/O, serial, net tx, HLT, mode switch): forward after the
 *    instruction, reverse before it.
 *
 * Writes to registers or memory in the past make the target a disposable
 * branch; any seek or reverse command returns to the recorded timeline.
 */
import { RewindError, ERR, argError } from '../../engine/errors.js';
import { compileExpr, type CompiledExpr, type EvalContext } from './expr.js';
import { classifyInsn, INSN, type InsnClass } from './insn-class.js';
import { REG, REG_NAMES, EV, EV_DELIVERY, eventMask, type DebugTarget, type Probe, type RegId, type TargetEvent, type TargetStop, type CpuMode, type TimelineEvent } from './target.js';
import type { SymbolTable } from './symbols.js';

export interface Position {
  icount: number;
  sub: number;
}

export function comparePos(a: Position, b: Position): number {
  return a.icount !== b.icount ? a.icount - b.icount : a.sub - b.sub;
}

export function formatPos(p: Position): string {
  return p.sub === 0 ? String(p.icount) : `${p.icount}.${p.sub}`;
}

export type AddrSpace = 'linear' | 'physical';
export type WatchAccess = 'read' | 'write' | 'access';

export type EventSpec =
  | { on: 'interrupt'; vector?: number }
  | { on: 'exception'; vector?: number }
  | { on: 'io'; port: number; portEnd?: number; dir?: 'in' | 'out' }
  | { on: 'serial'; match?: string }
  | { on: 'net'; dir?: 'rx' | 'tx' }
  | { on: 'hlt' }
  | { on: 'mode'; to?: CpuMode };

export type PointSpec =
  | { type: 'break'; addr: number; space?: AddrSpace; condition?: string; ignoreCount?: number; temporary?: boolean }
  | { type: 'watch'; addr: number; length: number; space?: AddrSpace; access: WatchAccess; condition?: string; ignoreCount?: number }
  | { type: 'event'; event: EventSpec; condition?: string; ignoreCount?: number };

export interface Point {
  readonly id: number;
  readonly spec: PointSpec;
  enabled: boolean;
  /** Stops caused by this point (both directions). */
  hits: number;
  /** Forward hits still to be ignored (gdb's `ignore`); reverse scans do not consume it. */
  ignoreCount: number;
  readonly condition: CompiledExpr | null;
}

export type StopKind =
  | 'step'
  | 'breakpoint'
  | 'watchpoint'
  | 'event'
  | 'until'
  | 'finished'
  | 'history-begin'
  | 'history-end'
  | 'cancelled'
  | 'halted'
  | 'exit'
  | 'error';

export interface StopInfo {
  kind: StopKind;
  direction: 'forward' | 'reverse';
  position: Position;
  /** The point that stopped the run, if any. */
  point: Point | null;
  /** For watchpoints: the first watched address accessed (`addr`, in the point's space), the access, its
   *  size, its start address (`accessAddr`) and the value read or written (-1 if unknown). */
  watch: { addr: number; access: 'read' | 'write'; size: number; accessAddr: number; value: number } | null;
  event: TargetEvent | null;
  /** The run left a debugger branch and returned to the recorded timeline. */
  leftBranch: boolean;
  message: string;
}

/** Anything with `aborted` (an AbortSignal works). */
export interface CancelSignal {
  readonly aborted: boolean;
}

export interface Progress {
  /** Instructions replayed so far by this operation. */
  done: number;
  /** Upper bound of instructions to replay (reverse: back to the start of history). */
  total: number;
  /** The icount the scan has reached back to (reverse) or forward to. */
  icount: number;
}

export interface RunOptions {
  signal?: CancelSignal;
  onProgress?: (p: Progress) => void;
}

export interface SessionOptions {
  symbols?: SymbolTable | null;
  /** Instructions per run slice between cancel checks / event-loop yields (default 2^18). */
  chunk?: number;
  /** Keep a checkpoint at least every this many instructions near where the user is (default 2^16). */
  denseInterval?: number;
  /** Called between slices so sockets and keys can be served; default yields to the event loop. */
  yieldFn?: () => Promise<void>;
}

/** A hit recorded by a probe. */
interface Hit {
  pos: Position;
  kind: 'break' | 'watch' | 'event' | 'op';
  point: Point | null;
  watch: StopInfo['watch'];
  event: TargetEvent | null;
}

/** First bytes that can start a CALL, INT, RET, IRET or REP string instruction (prefixes included). */
const INSN_FIRST_BYTES = (() => {
  const a = new Uint8Array(256);
  for (const b of [0xe8, 0x9a, 0xff, 0xcc, 0xcd, 0xce, 0xf1, 0xc2, 0xc3, 0xca, 0xcb, 0xcf, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0]) a[b] = 1;
  return a;
})();
/** Windows with more hits than this are not cached. */
const MAX_CACHED_HITS = 10_000;

/** Hits found by a reverse scan of one window, for repeated reverse-continue / lastWrite. */
interface CachedWindow {
  start: number;
  end: Position;
  /** Hits in order; `point` is the index into the probe's points. */
  hits: { pos: Position; kind: Hit['kind']; point: number; watch: Hit['watch']; event: TargetEvent | null }[];
}

const OTHER_INSN: InsnClass = { kind: INSN.OTHER, length: 0, retImm: 0, far: false };

const yieldToHost = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const EMPTY_SET: ReadonlySet<number> = new Set();

/**
 * A probe built for one run or one window scan. It composes the user's
 * points with the operation's own predicate. In forward mode the first
 * accepted hit stops the run; in scan mode every hit before `limit` is
 * recorded and the last one wins.
 */
class RunProbe implements Probe {
  code: ReadonlySet<number> | null = EMPTY_SET;
  memory = false;
  events = 0;
  /** Forward: the first hit; scan: the last hit before limit. */
  hit: Hit | null = null;
  scan = false;
  limit: Position = { icount: Infinity, sub: 0 };
  /** Forward runs ignore a breakpoint at the position they start from. */
  skipAt: Position | null = null;
  points: Point[] = [];
  codeLin = new Map<number, Point[]>();
  anyPhysBreak = false;
  /** Operation predicates (step/next/finish): return true for a hit. */
  opInsn: ((linEip: number, pos: Position) => boolean) | null = null;
  opAllInsns = false;
  opCode: Set<number> | null = null;
  opEvent: ((ev: TargetEvent, pos: Position) => boolean) | null = null;
  opEvents = 0;
  serialTail = '';
  /**
   * Watchpoint hits whose condition is evaluated at an instruction boundary,
   * as gdb does: forward after the accessing instruction, in reverse before
   * it. Forward: those of the last stop; scan: every candidate, in order.
   */
  deferred: Hit[] = [];
  /** Scan mode with caching: every hit before the limit, in order (null when not kept or too many). */
  allHits: Hit[] | null = null;
  /** Scan mode: the first serial bytes of the window with their events and positions (matches spanning windows). */
  serialHead: { pos: Position; ev: TargetEvent; text: string }[] = [];
  serialHeadLen = 0;
  /** Instructions seen by this probe (progress/cost). */
  readonly session: Session;

  constructor(session: Session, points: Point[]) {
    this.session = session;
    this.points = points.filter((p) => p.enabled);
  }

  /** Call after setting the op fields: computes code set, memory and event masks. */
  finish(): this {
    const code = new Set<number>();
    for (const p of this.points) {
      const s = p.spec;
      if (s.type === 'break') {
        if ((s.space ?? 'linear') === 'physical') this.anyPhysBreak = true;
        else {
          const l = this.codeLin.get(s.addr >>> 0) ?? [];
          l.push(p);
          this.codeLin.set(s.addr >>> 0, l);
          code.add(s.addr >>> 0);
        }
      } else if (s.type === 'watch') this.memory = true;
      else this.events |= eventSpecMask(s.event);
    }
    if (this.opCode) for (const a of this.opCode) code.add(a);
    this.events |= this.opEvents;
    this.code = this.anyPhysBreak || this.opAllInsns ? null : code;
    return this;
  }

  private pos(): Position {
    const t = this.session.target;
    return { icount: t.icount, sub: t.sub };
  }

  private accept(h: Hit): boolean {
    if (this.scan) {
      if (comparePos(h.pos, this.limit) < 0) {
        this.hit = h;
        if (this.allHits) {
          if (this.allHits.length < MAX_CACHED_HITS) this.allHits.push(h);
          else this.allHits = null;
        }
      }
      return false;
    }
    this.hit = h;
    return true;
  }

  onInsn(linEip: number): boolean {
    const pos = this.pos();
    if (this.opInsn && this.opInsn(linEip >>> 0, pos)) {
      if (this.accept({ pos, kind: 'op', point: null, watch: null, event: null })) return true;
    }
    if (this.skipAt && comparePos(pos, this.skipAt) === 0) return false;
    const list = this.codeLin.get(linEip >>> 0);
    if (list) for (const p of list) if (this.test(p)) return this.accept({ pos, kind: 'break', point: p, watch: null, event: null });
    if (this.anyPhysBreak) {
      const phys = this.session.target.linearToPhysical(linEip >>> 0, false);
      for (const p of this.points) {
        const s = p.spec;
        if (s.type === 'break' && s.space === 'physical' && phys === s.addr >>> 0 && this.test(p)) return this.accept({ pos, kind: 'break', point: p, watch: null, event: null });
      }
    }
    return false;
  }

  onAccess(linAddr: number, physAddr: number, size: number, isWrite: boolean, value: number): boolean {
    let stopAfter = false;
    for (const p of this.points) {
      const s = p.spec;
      if (s.type !== 'watch') continue;
      if (isWrite ? s.access === 'read' : s.access === 'write') continue;
      const a = (s.space ?? 'linear') === 'physical' ? physAddr >>> 0 : linAddr >>> 0;
      const lo = s.addr >>> 0;
      if (a + size <= lo || a >= lo + s.length) continue;
      const hit: Hit = { pos: this.pos(), kind: 'watch', point: p, watch: { addr: Math.max(a, lo), access: isWrite ? 'write' : 'read', size, accessAddr: a, value }, event: null };
      if (p.condition) {
        // Not mid-instruction: evaluated at the next boundary (see `deferred`).
        if (this.scan) {
          if (comparePos(hit.pos, this.limit) < 0) this.deferred.push(hit);
          continue;
        }
        this.deferred.push(hit);
        stopAfter = true;
        continue;
      }
      if (!this.test(p)) continue;
      return this.accept(hit);
    }
    return stopAfter;
  }

  /** Forward: after the instruction, the first deferred watch hit whose condition holds (ignore counts applied). */
  takeDeferred(): Hit | null {
    const list = this.deferred;
    this.deferred = [];
    for (const h of list) if (this.test(h.point!)) return h;
    return null;
  }

  /** Scan: does this deferred hit's condition hold (the session is at its position)? */
  holds(h: Hit): boolean {
    return this.test(h.point!);
  }

  onEvent(ev: TargetEvent): boolean {
    const pos = this.pos();
    if (ev.kind === 'serial') {
      const text = Buffer.from(ev.data).toString('latin1');
      this.serialTail = (this.serialTail + text).slice(-256);
      if (this.scan && this.serialHeadLen < 256) {
        this.serialHead.push({ pos, ev, text });
        this.serialHeadLen += text.length;
      }
    }
    if (this.opEvent && this.opEvent(ev, pos)) {
      if (this.accept({ pos, kind: 'op', point: null, watch: null, event: ev })) return true;
    }
    const m = eventMask(ev);
    for (const p of this.points) {
      const s = p.spec;
      if (s.type !== 'event' || (eventSpecMask(s.event) & m) === 0) continue;
      if (!eventMatches(s.event, ev, this.serialTail)) continue;
      if (!this.test(p)) continue;
      return this.accept({ pos, kind: 'event', point: p, watch: null, event: ev });
    }
    return false;
  }

  /** Condition and (forward only) ignore count. */
  private test(p: Point): boolean {
    if (p.condition) {
      let v: number;
      try {
        v = p.condition.evaluate(this.session.evalContext);
      } catch {
        v = 1; // a condition that cannot be evaluated stops, as in gdb
      }
      if (v === 0) return false;
    }
    if (!this.scan && p.ignoreCount > 0) {
      p.ignoreCount--;
      return false;
    }
    return true;
  }
}

function eventSpecMask(e: EventSpec): number {
  switch (e.on) {
    case 'interrupt':
      return EV.INTERRUPT | EV.SOFT_INT;
    case 'exception':
      return EV.EXCEPTION;
    case 'io':
      return EV.IO;
    case 'serial':
      return EV.SERIAL_OUT;
    case 'net':
      return e.dir === 'rx' ? EV.NET_RX : e.dir === 'tx' ? EV.NET_TX : EV.NET_RX | EV.NET_TX;
    case 'hlt':
      return EV.HLT;
    case 'mode':
      return EV.MODE;
  }
}

function eventMatches(e: EventSpec, ev: TargetEvent, serialTail: string): boolean {
  switch (e.on) {
    case 'interrupt':
    case 'exception':
      return ev.kind === 'interrupt' && (e.vector === undefined || e.vector === ev.vector);
    case 'io':
      return ev.kind === 'io' && ev.port + ev.size > e.port && ev.port <= (e.portEnd ?? e.port) && (e.dir === undefined || (e.dir === 'out') === ev.isWrite);
    case 'serial':
      return ev.kind === 'serial' && (e.match === undefined || e.match === '' || serialTail.endsWith(e.match));
    case 'net':
      return ev.kind === 'net' && (e.dir === undefined || e.dir === ev.dir);
    case 'hlt':
      return ev.kind === 'hlt';
    case 'mode':
      return ev.kind === 'mode' && (e.to === undefined || e.to === ev.to);
  }
}

function describeEvent(ev: TargetEvent): string {
  switch (ev.kind) {
    case 'interrupt':
      return `${ev.source} ${ev.source === 'exception' ? 'exception' : 'interrupt'} vector ${ev.vector} (0x${ev.vector.toString(16)})`;
    case 'io':
      return `${ev.isWrite ? 'out' : 'in'} port 0x${ev.port.toString(16)} (${ev.size} byte${ev.size > 1 ? 's' : ''}) value 0x${ev.value.toString(16)}`;
    case 'serial':
      return `serial out ${JSON.stringify(Buffer.from(ev.data).toString('latin1'))}`;
    case 'net':
      return `network frame ${ev.dir} (${ev.frame.length} bytes)`;
    case 'hlt':
      return 'HLT';
    case 'mode':
      return `mode switch ${ev.from} -> ${ev.to}`;
  }
}

export function describePoint(p: Point): string {
  const s = p.spec;
  const cond = p.condition ? ` if ${p.condition.source}` : '';
  const hex = (n: number): string => '0x' + (n >>> 0).toString(16);
  switch (s.type) {
    case 'break':
      return `breakpoint ${p.id} at ${s.space === 'physical' ? 'physical ' : ''}${hex(s.addr)}${cond}`;
    case 'watch':
      return `${s.access === 'read' ? 'read ' : s.access === 'access' ? 'access ' : ''}watchpoint ${p.id} on ${s.space === 'physical' ? 'physical ' : ''}${hex(s.addr)}..${hex(s.addr + s.length - 1)}${cond}`;
    case 'event': {
      const e = s.event;
      const what =
        e.on === 'interrupt' || e.on === 'exception'
          ? `${e.on}${e.vector === undefined ? '' : ' ' + e.vector}`
          : e.on === 'io'
            ? `io port ${hex(e.port)}${e.portEnd !== undefined ? '..' + hex(e.portEnd) : ''}${e.dir ? ' ' + e.dir : ''}`
            : e.on === 'serial'
              ? `serial${e.match ? ' ' + JSON.stringify(e.match) : ''}`
              : e.on === 'net'
                ? `net${e.dir ? ' ' + e.dir : ''}`
                : e.on === 'mode'
                  ? `mode${e.to ? ' ' + e.to : ''}`
                  : e.on;
      return `event ${p.id} on ${what}${cond}`;
    }
  }
}

export class Session {
  readonly target: DebugTarget;
  symbols: SymbolTable | null;
  private readonly points = new Map<number, Point>();
  private nextId = 1;
  private readonly chunk: number;
  private readonly dense: number;
  private readonly yieldFn: () => Promise<void>;
  private busy = false;
  /** Where `lastWrite` continues from when repeated on the same address. */
  private lastWriteCursor: { addr: number; space: AddrSpace; pos: Position } | null = null;
  private readonly scanCache = new Map<string, CachedWindow[]>();
  readonly evalContext: EvalContext;

  constructor(target: DebugTarget, options: SessionOptions = {}) {
    this.target = target;
    this.symbols = options.symbols ?? null;
    this.chunk = options.chunk ?? 1 << 18;
    this.dense = options.denseInterval ?? 1 << 16;
    this.yieldFn = options.yieldFn ?? yieldToHost;
    this.evalContext = {
      reg: (id: RegId) => this.target.readReg(id),
      readLinear: (lin: number, size: number) => {
        const b = this.readLinear(lin, size);
        if (!b) throw new RewindError(ERR.ARGUMENT, `address 0x${(lin >>> 0).toString(16)} is not mapped`);
        let v = 0;
        for (let i = size - 1; i >= 0; i--) v = (v << 8) | b[i]!;
        return v >>> 0;
      },
      icount: () => this.target.icount,
    };
  }

  // ---------------------------------------------------------------- state

  get position(): Position {
    return { icount: this.target.icount, sub: this.target.sub };
  }

  /** The reachable history: [start, end]; for a live session `end` is the newest recorded icount. */
  historyRange(): { start: number; end: number; live: boolean } {
    const t = this.target;
    const live = t.historyEnd === Infinity;
    return { start: t.historyStart, end: live ? Math.max(t.icount, t.frontier ?? 0) : t.historyEnd, live };
  }

  get onBranch(): boolean {
    return this.target.onBranch;
  }

  reg(id: RegId): number {
    return this.target.readReg(id) >>> 0;
  }

  registers(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < REG_NAMES.length; i++) out[REG_NAMES[i]!] = this.target.readReg(i as RegId) >>> 0;
    return out;
  }

  /** Linear EIP (CS base + EIP). */
  linearPc(): number {
    return (this.target.readReg(REG.CS_BASE) + this.target.readReg(REG.EIP)) >>> 0;
  }

  /** Reads bytes at a linear address; null if any page is unmapped. */
  readLinear(linAddr: number, length: number): Uint8Array | null {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const lin = (linAddr + done) >>> 0;
      const phys = this.target.linearToPhysical(lin, false);
      if (phys < 0) return null;
      const n = Math.min(length - done, 0x1000 - (lin & 0xfff));
      out.set(this.target.readPhysical(phys >>> 0, n), done);
      done += n;
    }
    return out;
  }

  /** Reads as many bytes as are mapped from the start (gdb's partial m reply). */
  readLinearPartial(linAddr: number, length: number): Uint8Array {
    const out: Uint8Array[] = [];
    let done = 0;
    while (done < length) {
      const lin = (linAddr + done) >>> 0;
      const phys = this.target.linearToPhysical(lin, false);
      if (phys < 0) break;
      const n = Math.min(length - done, 0x1000 - (lin & 0xfff));
      out.push(this.target.readPhysical(phys >>> 0, n));
      done += n;
    }
    return Buffer.concat(out);
  }

  readMemory(addr: number, length: number, space: AddrSpace = 'linear'): Uint8Array {
    if (space === 'physical') return this.target.readPhysical(addr >>> 0, length);
    const b = this.readLinear(addr, length);
    if (!b) throw new RewindError(ERR.ARGUMENT, `linear address range 0x${(addr >>> 0).toString(16)}+${length} is not mapped`);
    return b;
  }

  /** Writes memory. In the past this makes a branch; the recording never changes. */
  writeMemory(addr: number, data: Uint8Array, space: AddrSpace = 'linear'): void {
    const chunks: [number, Uint8Array][] = [];
    if (space === 'physical') chunks.push([addr >>> 0, data]);
    else {
      let done = 0;
      while (done < data.length) {
        const lin = (addr + done) >>> 0;
        const phys = this.target.linearToPhysical(lin, true);
        if (phys < 0) throw new RewindError(ERR.ARGUMENT, `linear address 0x${lin.toString(16)} is not mapped (or not writable)`);
        const n = Math.min(data.length - done, 0x1000 - (lin & 0xfff));
        chunks.push([phys >>> 0, data.subarray(done, done + n)]);
        done += n;
      }
    }
    this.ensureBranch();
    for (const [p, d] of chunks) this.target.writePhysical(p, d);
  }

  writeRegister(reg: RegId | string, value: number): void {
    const id = typeof reg === 'number' ? reg : (REG_NAMES.indexOf(reg.toLowerCase()) as RegId);
    if (id < 0 || id > REG.GS_BASE) throw argError(`unknown register ${JSON.stringify(reg)}`);
    this.ensureBranch();
    this.target.writeReg(id, value >>> 0);
  }

  private ensureBranch(): void {
    if (!this.target.onBranch && this.target.icount < this.target.historyEnd) this.target.beginBranch();
    else if (!this.target.onBranch && this.target.historyEnd === Infinity) {
      // Live at the frontier: writing changes the future, which is fine, but
      // the history behind us must stay intact: the target records the write.
      this.target.beginBranch();
    }
  }

  /** Evaluates an expression in the current state. */
  evaluate(source: string): number {
    return compileExpr(source, (n) => this.resolveSymbol(n)).evaluate(this.evalContext);
  }

  private resolveSymbol(name: string): number | null {
    return this.symbols ? this.symbols.lookup(name) : null;
  }

  /** `symbol+0x12` for an address, or hex if no symbol covers it. */
  symbolize(addr: number): string {
    const s = this.symbols?.format(addr);
    return s ?? '0x' + (addr >>> 0).toString(16);
  }

  events(from = 0, to = Infinity): TimelineEvent[] {
    return this.target.events(from, to);
  }

  // ---------------------------------------------------------------- points

  /** Adds a breakpoint, watchpoint or event point. Throws on a bad condition. */
  addPoint(spec: PointSpec): Point {
    if (spec.type === 'break') {
      if (!Number.isInteger(spec.addr) || spec.addr < 0 || spec.addr > 0xffffffff) throw argError(`breakpoint address must be a 32-bit address, got ${spec.addr}`);
    } else if (spec.type === 'watch') {
      if (!Number.isInteger(spec.addr) || spec.addr < 0 || spec.addr > 0xffffffff) throw argError(`watchpoint address must be a 32-bit address, got ${spec.addr}`);
      if (!Number.isInteger(spec.length) || spec.length < 1 || spec.addr + spec.length > 0x100000000) throw argError(`watchpoint length must be >= 1 and stay below 4 GiB, got ${spec.length}`);
    } else if (spec.event.on === 'io' && (!Number.isInteger(spec.event.port) || spec.event.port < 0 || spec.event.port > 0xffff)) {
      throw argError(`I/O port must be in [0, 0xffff], got ${spec.event.port}`);
    }
    const condition = spec.condition ? compileExpr(spec.condition, (n) => this.resolveSymbol(n)) : null;
    const p: Point = { id: this.nextId++, spec, enabled: true, hits: 0, ignoreCount: spec.ignoreCount ?? 0, condition };
    this.points.set(p.id, p);
    return p;
  }

  /** Breakpoint by symbol name or expression (`main`, `main+4`, `0x1000`). */
  addBreakpointAt(location: string, condition?: string): Point {
    const addr = this.evaluate(location);
    return this.addPoint(condition ? { type: 'break', addr, condition } : { type: 'break', addr });
  }

  removePoint(id: number): boolean {
    return this.points.delete(id);
  }

  enablePoint(id: number, enabled: boolean): void {
    const p = this.points.get(id);
    if (!p) throw argError(`no breakpoint, watchpoint or event point ${id}`);
    p.enabled = enabled;
  }

  listPoints(): Point[] {
    return [...this.points.values()];
  }

  findPoint(pred: (p: Point) => boolean): Point | undefined {
    for (const p of this.points.values()) if (pred(p)) return p;
    return undefined;
  }

  // ---------------------------------------------------------------- helpers

  private stop(kind: StopKind, direction: StopInfo['direction'], hit: Hit | null, leftBranch: boolean, message?: string): StopInfo {
    const position = this.position;
    let msg = message ?? '';
    if (hit?.point) {
      hit.point.hits++;
      if (hit.point.spec.type === 'break' && hit.point.spec.temporary) this.points.delete(hit.point.id);
      msg = describePoint(hit.point) + (hit.watch ? ` (${hit.watch.access} of ${hit.watch.size} at 0x${hit.watch.addr.toString(16)})` : '') + (hit.event ? `: ${describeEvent(hit.event)}` : '');
    } else if (hit?.event && !msg) msg = describeEvent(hit.event);
    if (!msg) msg = kind;
    return { kind, direction, position, point: hit?.point ?? null, watch: hit?.watch ?? null, event: hit?.event ?? null, leftBranch, message: `${msg} at icount ${formatPos(position)}, eip ${this.symbolize(this.linearPc())}` };
  }

  private begin(): void {
    if (this.busy) throw new RewindError(ERR.ARGUMENT, 'the session is already running a command');
    this.busy = true;
  }

  private end(): void {
    this.busy = false;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    this.begin();
    try {
      return await fn();
    } finally {
      this.end();
    }
  }

  /** Goes to (icount, 0), adding a checkpoint near it so nearby seeks are cheap. */
  private seekIcount(icount: number): void {
    const t = this.target;
    if (icount < t.historyStart) icount = t.historyStart;
    if (icount > t.historyEnd) icount = t.historyEnd;
    const c = t.checkpointAtOrBefore(icount);
    const grid = icount - (icount % this.dense);
    if (grid > c && icount - c > this.dense && t.takeCheckpoint) {
      t.seek(grid);
      t.takeCheckpoint();
      if (icount > grid) t.run(icount, null);
    } else t.seek(icount);
    if (t.icount !== icount) throw new RewindError(ERR.STATE, `seek to ${icount} ended at ${t.icount}`);
  }

  /** Goes to a position: seek to its icount, then through `sub` deliveries. */
  private seekPos(pos: Position, probe: RunProbe | null = null): void {
    if (!probe) this.seekIcount(pos.icount);
    if (pos.sub > 0) this.runThroughDeliveries(pos, probe);
  }

  /** From (pos.icount, s < pos.sub): runs until sub reaches pos.sub (recording hits into probe if given). */
  private runThroughDeliveries(pos: Position, probe: RunProbe | null): void {
    const t = this.target;
    const want = pos.sub;
    const inner: Probe = {
      code: probe ? probe.code : EMPTY_SET,
      onInsn: (l) => (probe ? probe.onInsn(l) : false),
      memory: probe ? probe.memory : false,
      onAccess: (a, b, c, d, v) => (probe ? probe.onAccess(a, b, c, d, v) : false),
      events: (probe ? probe.events : 0) | EV_DELIVERY,
      onEvent: (ev) => {
        if (probe && (probe.events & eventMask(ev)) !== 0) probe.onEvent(ev);
        return ev.kind === 'interrupt' && ev.source !== 'software' && t.icount === pos.icount && t.sub >= want;
      },
    };
    while (t.icount === pos.icount && t.sub < want) {
      const r = t.run(pos.icount + 1, inner);
      if (r.reason !== 'probe') break;
    }
  }

  private progress(opts: RunOptions, done: number, total: number, icount: number): void {
    if (opts.onProgress) opts.onProgress({ done, total, icount });
  }

  /**
   * Runs forward with a probe, in slices, until the probe stops it, `limit`
   * is reached, history ends, or the signal is raised.
   */
  private async forward(probe: RunProbe, limit: number, opts: RunOptions): Promise<{ stop: TargetStop | null; hit: Hit | null; cancelled: boolean }> {
    const t = this.target;
    const start = t.icount;
    const end = Math.min(limit, t.historyEnd);
    for (;;) {
      if (opts.signal?.aborted) return { stop: null, hit: null, cancelled: true };
      const sliceEnd = Math.min(end, t.icount + this.chunk);
      const r = t.run(sliceEnd, probe);
      if (!probe.hit && probe.deferred.length > 0) {
        // A conditional watchpoint's access: the condition is judged now, after the instruction.
        probe.hit = probe.takeDeferred();
        if (!probe.hit && r.reason === 'probe') continue;
      }
      if (probe.hit) return { stop: r, hit: probe.hit, cancelled: false };
      if (r.reason !== 'until') return { stop: r, hit: null, cancelled: false };
      if (t.icount >= end) return { stop: r, hit: null, cancelled: false };
      this.progress(opts, t.icount - start, end === Infinity ? 0 : end - start, t.icount);
      await this.yieldFn();
    }
  }

  private forwardStop(res: { stop: TargetStop | null; hit: Hit | null; cancelled: boolean }, leftBranch: boolean, hitKind: StopKind | null = null): StopInfo {
    if (res.cancelled) return this.stop('cancelled', 'forward', null, leftBranch, 'interrupted');
    if (res.hit) {
      const k: StopKind = res.hit.kind === 'break' ? 'breakpoint' : res.hit.kind === 'watch' ? 'watchpoint' : res.hit.kind === 'event' ? 'event' : (hitKind ?? 'step');
      return this.stop(k, 'forward', res.hit, leftBranch);
    }
    const r = res.stop!;
    if (r.reason === 'until') {
      if (this.target.icount >= this.target.historyEnd) return this.stop('history-end', 'forward', null, leftBranch, 'end of recorded history');
      return this.stop(hitKind ?? 'until', 'forward', null, leftBranch);
    }
    if (r.reason === 'end') return this.stop('history-end', 'forward', null, leftBranch, 'end of recorded history');
    if (r.reason === 'halted') return this.stop('halted', 'forward', null, leftBranch, 'halted with nothing to wake the CPU');
    if (r.reason === 'exit') return this.stop('exit', 'forward', null, leftBranch, `guest exit${r.detail ? ': ' + r.detail : ''}`);
    return this.stop('error', 'forward', null, leftBranch, r.detail || r.reason);
  }

  /**
   * Scans backwards from `from` for the last hit of probes made by `make`.
   * Windows: the first is [firstStart, from) when given, then checkpoint to
   * checkpoint. Each window replays with a fresh probe in scan mode. When
   * `prepare` is given it is called for each window before its scan (after
   * the seek), and `afterWindow` after it (before the next older window).
   * Returns the hit (the session is then at the hit) or null (the session is
   * at the start of history), or 'cancelled' (the session is back at `from`).
   */
  private async scanBack(
    from: Position,
    make: () => RunProbe,
    opts: RunOptions,
    firstStart: number | null = null,
    afterWindow: ((probe: RunProbe) => Hit | null) | null = null,
    cacheKey: string | null = null,
  ): Promise<Hit | null | 'cancelled'> {
    const t = this.target;
    const cache = cacheKey === null ? null : this.scanCacheFor(cacheKey);
    let limit = from;
    let done = 0;
    const total = Math.max(1, from.icount - t.historyStart);
    let first = true;
    let laterHead: RunProbe['serialHead'] = [];
    for (;;) {
      if (comparePos(limit, { icount: t.historyStart, sub: 0 }) <= 0) return null;
      const lastIcount = limit.sub > 0 ? limit.icount : limit.icount - 1;
      let ws = t.checkpointAtOrBefore(lastIcount);
      if (first && firstStart !== null && firstStart > ws && firstStart <= lastIcount) ws = firstStart;
      first = false;
      if (opts.signal?.aborted) {
        this.seekPos(from);
        return 'cancelled';
      }
      // Scanned before with the same points: answer from the cache.
      const cached = cache?.find((c) => c.start <= ws && comparePos(c.end, limit) >= 0);
      if (cached) {
        const wsPos = { icount: ws, sub: 0 };
        let found: CachedWindow['hits'][number] | null = null;
        for (const h of cached.hits) if (comparePos(h.pos, wsPos) >= 0 && comparePos(h.pos, limit) < 0) found = h;
        if (found) {
          const points = make().points;
          const hit: Hit = { pos: found.pos, kind: found.kind, point: found.point >= 0 ? (points[found.point] ?? null) : null, watch: found.watch, event: found.event };
          this.seekPos(hit.pos);
          return hit;
        }
        done += limit.icount - ws;
        this.progress(opts, done, total, ws);
        if (ws <= t.historyStart) return null;
        limit = { icount: ws, sub: 0 };
        continue;
      }
      this.seekIcount(ws);
      const probe = make();
      probe.scan = true;
      probe.limit = limit;
      if (cache) probe.allHits = [];
      // Replay the window in slices so a cancel is honoured quickly.
      for (;;) {
        const sliceEnd = Math.min(limit.icount, t.icount + this.chunk);
        const before = t.icount;
        const r = t.run(sliceEnd, probe);
        done += t.icount - before;
        if (t.icount >= limit.icount || r.reason !== 'until') break;
        this.progress(opts, done, total, ws);
        await this.yieldFn();
        if (opts.signal?.aborted) {
          this.seekPos(from);
          return 'cancelled';
        }
      }
      if (limit.sub > 0 && t.icount === limit.icount) this.runThroughDeliveries(limit, probe);
      this.progress(opts, done, total, ws);
      if (cache && probe.allHits) {
        const idx = new Map(probe.points.map((p, i) => [p, i]));
        cache.push({ start: ws, end: limit, hits: probe.allHits.map((h) => ({ pos: h.pos, kind: h.kind, point: h.point ? (idx.get(h.point) ?? -1) : -1, watch: h.watch, event: h.event })) });
        if (cache.length > 256) cache.shift();
      }
      let hit = afterWindow ? afterWindow(probe) : probe.hit;
      // Conditional watch candidates later than that hit: judged before their instruction.
      for (let i = probe.deferred.length - 1; i >= 0; i--) {
        const c = probe.deferred[i]!;
        if (hit && comparePos(c.pos, hit.pos) <= 0) break;
        this.seekPos(c.pos);
        if (probe.holds(c)) {
          hit = c;
          break;
        }
      }
      // A serial text match may span this window and the later one scanned before it.
      const spanning = this.serialSpanningHit(probe, laterHead);
      if (spanning) hit = spanning;
      laterHead = probe.serialHead;
      if (hit) {
        this.seekPos(hit.pos);
        return hit;
      }
      if (ws <= t.historyStart) return null;
      limit = { icount: ws, sub: 0 };
      await this.yieldFn();
    }
  }

  /** Cached window scans for a probe signature (the recorded timeline never changes). */
  private scanCacheFor(key: string): CachedWindow[] {
    let c = this.scanCache.get(key);
    if (!c) {
      if (this.scanCache.size >= 8) this.scanCache.delete(this.scanCache.keys().next().value!);
      c = [];
      this.scanCache.set(key, c);
    }
    return c;
  }

  /** The cache key for a reverse scan with these points, or null if it must not be cached. */
  private cacheKeyOf(points: Point[]): string | null {
    const enabled = points.filter((p) => p.enabled);
    // Serial text matches can span windows: their hits depend on neighbours.
    if (enabled.some((p) => p.spec.type === 'event' && p.spec.event.on === 'serial' && p.spec.event.match)) return null;
    // Conditional watchpoints are judged by seeking to each candidate, outside the window scan.
    if (enabled.some((p) => p.spec.type === 'watch' && p.condition)) return null;
    return JSON.stringify(enabled.map((p) => p.spec));
  }

  /**
   * Serial text points whose text ends in the later window's first bytes but
   * starts in this window: the last such hit (later than any hit inside this
   * window). Conditions are not evaluated for these (the state is elsewhere).
   */
  private serialSpanningHit(probe: RunProbe, laterHead: RunProbe['serialHead']): Hit | null {
    if (laterHead.length === 0) return null;
    let hit: Hit | null = null;
    for (const p of probe.points) {
      const sp = p.spec;
      if (sp.type !== 'event' || sp.event.on !== 'serial' || !sp.event.match) continue;
      const match = sp.event.match;
      let tail = probe.serialTail;
      let headChars = 0;
      for (const h of laterHead) {
        tail += h.text;
        headChars += h.text.length;
        // Only matches that start in this window: the later window found the others.
        if (tail.endsWith(match) && match.length > headChars) {
          if (!hit || comparePos(h.pos, hit.pos) > 0) hit = { pos: h.pos, kind: 'event', point: p, watch: null, event: h.ev };
        }
        if (headChars >= match.length) break;
      }
    }
    return hit;
  }

  private reverseResult(res: Hit | null | 'cancelled', leftBranch: boolean, opKind: StopKind = 'step'): StopInfo {
    if (res === 'cancelled') return this.stop('cancelled', 'reverse', null, leftBranch, 'interrupted; position unchanged');
    if (res === null) {
      this.seekIcount(this.target.historyStart);
      return this.stop('history-begin', 'reverse', null, leftBranch, 'beginning of recorded history');
    }
    const k: StopKind = res.kind === 'break' ? 'breakpoint' : res.kind === 'watch' ? 'watchpoint' : res.kind === 'event' ? 'event' : opKind;
    return this.stop(k, 'reverse', res, leftBranch);
  }

  private userProbe(): RunProbe {
    return new RunProbe(this, [...this.points.values()]);
  }

  /** Classifies the instruction at a linear address; cheap for the common case (runs per instruction in some scans). */
  private classifyAt(linAddr: number): InsnClass {
    const t = this.target;
    const phys = t.linearToPhysical(linAddr >>> 0, false);
    if (phys < 0) return OTHER_INSN;
    const b0 = t.read8 ? t.read8(phys) : t.readPhysical(phys, 1)[0]!;
    if (!INSN_FIRST_BYTES[b0]) return OTHER_INSN;
    const bytes = this.readLinearPartial(linAddr, 15);
    return classifyInsn(bytes, t.codeIs32());
  }

  private stackPtr(): number {
    return this.target.readReg(REG.ESP) >>> 0;
  }

  // ---------------------------------------------------------------- forward

  /** Executes one instruction (or stops at the entry of an interrupt/exception handler delivered first). */
  step(opts: RunOptions = {}): Promise<StopInfo> {
    return this.guard(async () => {
      const leftBranch = false;
      const t = this.target;
      if (t.icount >= t.historyEnd) return this.stop('history-end', 'forward', null, leftBranch, 'end of recorded history');
      const res = await this.stepOnce(opts);
      if (!res.hit && !res.cancelled && res.stop?.reason === 'until' && t.halted) return this.forwardStop(await this.skipIdle(opts), leftBranch, 'step');
      return this.forwardStop(res, leftBranch, 'step');
    });
  }

  /**
   * One step: to (icount+1, 0), or to a handler entry if an interrupt or
   * exception is delivered first. From a halted CPU: to the first instruction
   * or handler entry after the idle span.
   */
  private stepOnce(opts: RunOptions): ReturnType<Session['forward']> {
    const start = this.position;
    const probe = this.userProbe();
    probe.skipAt = start;
    probe.opAllInsns = true;
    probe.opInsn = (_l, pos) => comparePos(pos, start) > 0;
    probe.opEvents = EV_DELIVERY;
    probe.opEvent = (ev) => ev.kind === 'interrupt' && ev.source !== 'software';
    probe.finish();
    return this.forward(probe, this.target.halted ? Infinity : start.icount + 1, opts);
  }

  /**
   * From a halted CPU: to the end of the idle span, the position just before
   * whatever wakes it (so that stepping back from there lands on the HLT).
   */
  private async skipIdle(opts: RunOptions): ReturnType<Session['forward']> {
    const probe = new RunProbe(this, []);
    probe.opAllInsns = true;
    probe.opInsn = () => true;
    probe.opEvents = EV_DELIVERY;
    probe.opEvent = (ev) => ev.kind === 'interrupt' && ev.source !== 'software';
    probe.finish();
    const res = await this.forward(probe, Infinity, opts);
    if (res.hit && res.hit.pos.sub > 0) {
      this.seekPos({ icount: res.hit.pos.icount, sub: res.hit.pos.sub - 1 });
      return { stop: { reason: 'until', detail: '' }, hit: null, cancelled: false };
    }
    return res.hit ? { ...res, hit: null, stop: { reason: 'until', detail: '' } } : res;
  }

  /** Steps over CALL, INT n and REP string instructions, and over interrupts and faults taken meanwhile. */
  next(opts: RunOptions = {}): Promise<StopInfo> {
    return this.guard(async () => {
      const t = this.target;
      if (t.icount >= t.historyEnd) return this.stop('history-end', 'forward', null, false, 'end of recorded history');
      const lin0 = this.linearPc();
      const c = this.classifyAt(lin0);
      const esp0 = this.stackPtr();
      const ss0 = t.readReg(REG.SS);
      if (c.kind === INSN.CALL || c.kind === INSN.INT || c.kind === INSN.REP) {
        return this.forwardStop(await this.runToReturn((lin0 + c.length) >>> 0, ss0, esp0, opts), false, 'step');
      }
      // A plain instruction: step; if that only delivered an interrupt or fault,
      // run until the handler returns to this instruction and step again.
      for (let attempt = 0; ; attempt++) {
        const res = await this.stepOnce(opts);
        if (!res.hit && !res.cancelled && res.stop?.reason === 'until' && t.halted) {
          // HLT: wait for the interrupt, let its handler run, stop where it returns.
          const pc = this.linearPc();
          return this.forwardStop(await this.runToReturn(pc, t.readReg(REG.SS), this.stackPtr(), opts), false, 'step');
        }
        if (!res.hit || res.hit.kind !== 'op' || !res.hit.event || attempt >= 16) return this.forwardStop(res, false, 'step');
        const back = await this.runToReturn(lin0, ss0, esp0, opts);
        if (!back.hit || back.hit.kind !== 'op') return this.forwardStop(back, false, 'step');
      }
    });
  }

  /** Runs until an instruction at `lin` executes with the stack at or above (ss, esp). */
  private runToReturn(lin: number, ss: number, esp: number, opts: RunOptions): ReturnType<Session['forward']> {
    const t = this.target;
    const probe = this.userProbe();
    probe.skipAt = this.position;
    probe.opCode = new Set([lin]);
    probe.opInsn = (l) => l === lin && t.readReg(REG.SS) === ss && t.readReg(REG.ESP) >>> 0 >= esp;
    probe.finish();
    return this.forward(probe, Infinity, opts);
  }

  /** Runs until the current function returns (by stack depth): stops after its RET. */
  finish(opts: RunOptions = {}): Promise<StopInfo> {
    return this.guard(async () => {
      const t = this.target;
      const ss0 = t.readReg(REG.SS);
      const esp0 = this.stackPtr();
      const shadow: number[] = [];
      let returning = false;
      const start = this.position;
      const probe = this.userProbe();
      probe.skipAt = start;
      probe.opAllInsns = true;
      probe.opInsn = (lin, pos) => {
        if (returning) return true;
        if (comparePos(pos, start) < 0) return false;
        if (t.readReg(REG.SS) !== ss0) return false;
        const c = this.classifyAt(lin);
        const esp = t.readReg(REG.ESP) >>> 0;
        while (shadow.length > 0 && shadow[shadow.length - 1]! < esp) shadow.pop();
        if (c.kind === INSN.CALL && !c.far) shadow.push((esp - (t.codeIs32() ? 4 : 2)) >>> 0);
        else if (c.kind === INSN.RET || c.kind === INSN.IRET) {
          if (shadow.length > 0 && shadow[shadow.length - 1] === esp) shadow.pop();
          else if (esp >= esp0) returning = true;
        }
        return false;
      };
      probe.finish();
      const res = await this.forward(probe, Infinity, opts);
      return this.forwardStop(res, false, 'finished');
    });
  }

  /** Runs until a breakpoint, watchpoint or event point stops it, history ends, or the signal is raised. */
  continue(opts: RunOptions = {}): Promise<StopInfo> {
    return this.guard(async () => {
      if (this.target.icount >= this.target.historyEnd) return this.stop('history-end', 'forward', null, false, 'end of recorded history');
      const probe = this.userProbe();
      probe.skipAt = this.position;
      probe.finish();
      return this.forwardStop(await this.forward(probe, Infinity, opts), false);
    });
  }

  /** Runs forward to `icount` (stopping earlier at breakpoints). */
  runTo(icount: number, opts: RunOptions = {}): Promise<StopInfo> {
    return this.guard(async () => {
      if (!(icount >= this.target.icount)) throw argError(`run-to target ${icount} is behind the current icount ${this.target.icount}; use seek`);
      const probe = this.userProbe();
      probe.skipAt = this.position;
      probe.finish();
      return this.forwardStop(await this.forward(probe, icount, opts), false);
    });
  }

  /** Moves to any icount in history (no breakpoints). Returns to the recorded timeline. */
  seek(icount: number): StopInfo {
    this.begin();
    try {
      if (!Number.isInteger(icount) || icount < 0) throw argError(`icount must be a non-negative integer, got ${icount}`);
      const t = this.target;
      if (icount < t.historyStart) throw argError(`icount ${icount} is before the start of history (${t.historyStart})`);
      if (icount > t.historyEnd) throw argError(`icount ${icount} is after the end of history (${t.historyEnd})`);
      const leftBranch = t.onBranch;
      if (icount > t.icount && !t.onBranch && t.historyEnd === Infinity) {
        // Live: seeking ahead of the frontier runs there (and records).
        t.run(icount, null);
      } else this.seekIcount(icount);
      return this.stop('until', icount >= this.target.icount ? 'forward' : 'reverse', null, leftBranch, 'seek');
    } finally {
      this.end();
    }
  }

  /**
   * seek() in slices: the same destination and checkpoints, but it reports
   * progress, yields between slices (so a gdb stub can keep its client
   * alive and read Ctrl-C during a seek of billions of instructions) and
   * honours the cancel signal, returning to where it started.
   */
  seekAsync(icount: number, opts: RunOptions = {}): Promise<StopInfo> {
    return this.guard(async () => {
      if (!Number.isInteger(icount) || icount < 0) throw argError(`icount must be a non-negative integer, got ${icount}`);
      const t = this.target;
      if (icount < t.historyStart) throw argError(`icount ${icount} is before the start of history (${t.historyStart})`);
      if (icount > t.historyEnd) throw argError(`icount ${icount} is after the end of history (${t.historyEnd})`);
      const leftBranch = t.onBranch;
      const from = this.position;
      const liveAhead = icount > t.icount && !t.onBranch && t.historyEnd === Infinity;
      const stops: number[] = [];
      if (!liveAhead) {
        // From the newest checkpoint at or before the target, unless the current state is on the way there.
        const c = t.checkpointAtOrBefore(icount);
        if (t.onBranch || t.sub !== 0 || t.icount > icount || t.icount < c) t.seek(c);
        // As seekIcount: a checkpoint on the dense grid near the destination, for the steps that follow.
        const grid = icount - (icount % this.dense);
        if (grid > t.icount && icount - c > this.dense && t.takeCheckpoint) stops.push(grid);
      }
      stops.push(icount);
      const start = t.icount;
      const total = Math.max(1, icount - start);
      for (const stopAt of stops) {
        while (t.icount < stopAt) {
          if (opts.signal?.aborted) {
            // A branch cannot be returned to (it was left for the recording).
            if (!leftBranch) this.seekPos(from);
            return this.stop('cancelled', 'forward', null, leftBranch, leftBranch ? 'seek interrupted' : 'seek interrupted; position unchanged');
          }
          const r = t.run(Math.min(stopAt, t.icount + this.chunk), null);
          this.progress(opts, t.icount - start, total, t.icount);
          if (r.reason !== 'until') break;
          if (t.icount < stopAt) await this.yieldFn();
        }
        if (stopAt !== icount && t.icount === stopAt) t.takeCheckpoint!();
      }
      if (!liveAhead && t.icount !== icount) throw new RewindError(ERR.STATE, `seek to ${icount} ended at ${t.icount}`);
      return this.stop('until', icount >= from.icount ? 'forward' : 'reverse', null, leftBranch, 'seek');
    });
  }

  // ---------------------------------------------------------------- reverse

  /** Goes back to the exact previous position (instruction or handler entry). */
  reverseStep(opts: RunOptions = {}): Promise<StopInfo> {
    return this.guard(async () => {
      const leftBranch = this.target.onBranch;
      const from = this.position;
      if (from.sub > 0) {
        this.seekPos({ icount: from.icount, sub: from.sub - 1 });
        return this.stop('step', 'reverse', null, leftBranch);
      }
      const res = await this.scanBack(from, () => this.anyPositionProbe(), opts, from.icount - 1);
      return this.reverseResult(res, leftBranch);
    });
  }

  /** A probe hitting every instruction boundary and every handler entry. */
  private anyPositionProbe(): RunProbe {
    const p = new RunProbe(this, []);
    p.opAllInsns = true;
    p.opInsn = () => true;
    p.opEvents = EV_DELIVERY;
    p.opEvent = (ev) => ev.kind === 'interrupt' && ev.source !== 'software';
    return p.finish();
  }

  /** Reverse of next: steps back over calls, INT n, REP instructions and interrupt handlers. */
  reverseNext(opts: RunOptions = {}): Promise<StopInfo> {
    return this.guard(async () => {
      const t = this.target;
      const leftBranch = t.onBranch;
      const from = this.position;
      const linS = this.linearPc();
      const eipS = t.readReg(REG.EIP) >>> 0;
      const espS = this.stackPtr();
      const ssS = t.readReg(REG.SS);
      const code32 = t.codeIs32();
      // Where does a plain reverse step land?
      let prev: Hit | null | 'cancelled';
      if (from.sub > 0) {
        this.seekPos({ icount: from.icount, sub: from.sub - 1 });
        prev = { pos: this.position, kind: 'op', point: null, watch: null, event: null };
      } else prev = await this.scanBack(from, () => this.anyPositionProbe(), opts, from.icount - 1);
      if (prev === null || prev === 'cancelled') return this.reverseResult(prev, leftBranch);
      const q = prev.pos;
      const linQ = this.linearPc();
      const cq = this.classifyAt(linQ);
      const cameBack = q.sub > 0 || cq.kind === INSN.RET || cq.kind === INSN.IRET || (cq.kind === INSN.REP && ((linQ + cq.length) >>> 0) === linS);
      // The CALL's stack pointer: ours, less what a RET imm16 released (stdcall).
      const callEsp = cq.kind === INSN.RET && !cq.far ? (espS - cq.retImm) >>> 0 : espS;
      if (!cameBack) return this.stop('step', 'reverse', prev, leftBranch);
      // Find the instruction at our level that this excursion came from: a
      // CALL/INT/REP whose next instruction is here, or this instruction
      // interrupted before it ran (an asynchronous interrupt or a fault).
      const makeProbe = (): RunProbe => {
        const p = new RunProbe(this, []);
        p.opAllInsns = true;
        p.opInsn = (lin) => {
          if (t.readReg(REG.SS) !== ssS) return false;
          const esp = t.readReg(REG.ESP) >>> 0;
          if (lin === linS && esp === espS) return true; // interrupted here
          const c = this.classifyAt(lin);
          if (esp !== (c.kind === INSN.CALL ? callEsp : espS)) return false;
          return (c.kind === INSN.CALL || c.kind === INSN.INT || c.kind === INSN.REP) && ((lin + c.length) >>> 0) === linS;
        };
        // Interrupted before any instruction ran here (a halted CPU woken by an
        // interrupt): recognise the delivery by the frame it pushed, and take the
        // position just before it.
        p.opEvents = EV_DELIVERY;
        p.opEvent = (ev, pos) => {
          if (ev.kind !== 'interrupt' || ev.source === 'software' || pos.sub === 0) return false;
          const esp = t.readReg(REG.ESP) >>> 0;
          const w = code32 ? 4 : 2;
          const frame = this.readLinear(esp, 5 * w);
          if (!frame) return false;
          const word = (i: number): number => (w === 4 ? (frame[i * 4]! | (frame[i * 4 + 1]! << 8) | (frame[i * 4 + 2]! << 16) | (frame[i * 4 + 3]! << 24)) >>> 0 : frame[i * 2]! | (frame[i * 2 + 1]! << 8));
          if (word(0) !== eipS) return false;
          if ((esp + 3 * w) >>> 0 !== espS && word(3) !== espS) return false;
          const prevPos = { icount: pos.icount, sub: pos.sub - 1 };
          if (comparePos(prevPos, p.limit) < 0) p.hit = { pos: prevPos, kind: 'op', point: null, watch: null, event: null };
          return false;
        };
        return p.finish();
      };
      const r = await this.scanBack(q, makeProbe, opts);
      if (r === 'cancelled') return this.reverseResult('cancelled', leftBranch);
      if (r === null) {
        // No instruction at our level found (an unusual stack switch): a plain reverse step.
        this.seekPos(q);
        return this.stop('step', 'reverse', null, leftBranch);
      }
      // Interrupted while halted: the instruction at our level is the HLT before the idle span.
      if (t.halted) return this.reverseResult(await this.scanBack(this.position, () => this.anyPositionProbe(), opts, this.position.icount - 1), leftBranch);
      // A REP found this way is its last iteration: go back to its first.
      const linR = this.linearPc();
      const cr = this.classifyAt(linR);
      if (cr.kind === INSN.REP) {
        const before = await this.scanBack(
          r.pos,
          () => {
            const p = new RunProbe(this, []);
            p.opAllInsns = true;
            p.opInsn = (lin) => lin !== linR && t.readReg(REG.SS) === ssS && t.readReg(REG.ESP) >>> 0 >= espS;
            return p.finish();
          },
          opts,
        );
        if (before !== 'cancelled') {
          if (before === null) this.seekIcount(t.historyStart);
          const probe = new RunProbe(this, []);
          probe.opCode = new Set([linR]);
          probe.opInsn = (lin) => lin === linR;
          probe.finish();
          await this.forward(probe, r.pos.icount + 1, {});
        }
      }
      return this.stop('step', 'reverse', null, leftBranch);
    });
  }

  /** Goes back to the CALL that entered the current function (the state before it ran). */
  reverseFinish(opts: RunOptions = {}): Promise<StopInfo> {
    return this.guard(async () => {
      const t = this.target;
      const leftBranch = t.onBranch;
      const from = this.position;
      const ss0 = t.readReg(REG.SS);
      let maxEspLater = this.stackPtr();
      const code32 = t.codeIs32();
      type Cand = { pos: Position; slot: number };
      const make = (): RunProbe => {
        const p = new RunProbe(this, []);
        const stack: Cand[] = [];
        let maxEsp = 0;
        p.opAllInsns = true;
        p.opInsn = (lin, pos) => {
          if (comparePos(pos, p.limit) >= 0 || t.readReg(REG.SS) !== ss0) return false;
          const esp = t.readReg(REG.ESP) >>> 0;
          if (esp > maxEsp) maxEsp = esp;
          while (stack.length > 0 && stack[stack.length - 1]!.slot < esp) stack.pop();
          const c = this.classifyAt(lin);
          if (c.kind === INSN.CALL && !c.far) stack.push({ pos, slot: (esp - (code32 ? 4 : 2)) >>> 0 });
          return false;
        };
        (p as RunProbe & { result: () => Hit | null }).result = () => {
          let hit: Hit | null = null;
          for (let i = stack.length - 1; i >= 0; i--) {
            if (stack[i]!.slot >= maxEspLater) {
              hit = { pos: stack[i]!.pos, kind: 'op', point: null, watch: null, event: null };
              break;
            }
          }
          if (maxEsp > maxEspLater) maxEspLater = maxEsp;
          return hit;
        };
        return p.finish();
      };
      const res = await this.scanBack(from, make, opts, null, (p) => (p as RunProbe & { result: () => Hit | null }).result());
      return this.reverseResult(res, leftBranch, 'finished');
    });
  }

  /** Runs backwards to the last breakpoint, watchpoint or event hit before here. */
  reverseContinue(opts: RunOptions = {}): Promise<StopInfo> {
    return this.guard(async () => {
      const leftBranch = this.target.onBranch;
      const res = await this.scanBack(this.position, () => this.userProbe().finish(), opts, null, null, this.cacheKeyOf([...this.points.values()]));
      return this.reverseResult(res, leftBranch);
    });
  }

  /**
   * "Where did this come from": goes back to the last instruction before here
   * that wrote any byte of [addr, addr+length). Called again for the same
   * address from where it stopped, it finds the write before that one.
   */
  lastWrite(addr: number, length = 1, space: AddrSpace = 'linear', opts: RunOptions = {}): Promise<StopInfo> {
    return this.guard(async () => {
      const leftBranch = this.target.onBranch;
      const temp: Point = { id: 0, spec: { type: 'watch', addr: addr >>> 0, length, space, access: 'write' }, enabled: true, hits: 0, ignoreCount: 0, condition: null };
      const res = await this.scanBack(this.position, () => new RunProbe(this, [temp]).finish(), opts, null, null, 'lastWrite:' + this.cacheKeyOf([temp]));
      if (res && res !== 'cancelled') {
        this.lastWriteCursor = { addr, space, pos: res.pos };
        const info = this.reverseResult(res, leftBranch);
        return { ...info, kind: 'watchpoint', point: null, message: `last write to 0x${(addr >>> 0).toString(16)} (${res.watch!.size} bytes at 0x${res.watch!.accessAddr.toString(16)}${res.watch!.value >= 0 ? ` = 0x${res.watch!.value.toString(16)}` : ''}) at icount ${formatPos(res.pos)}, eip ${this.symbolize(this.linearPc())}` };
      }
      return this.reverseResult(res, leftBranch);
    });
  }

  /**
   * Replays [from, to) and returns the events of the kinds in `mask` (EV.*)
   * with their positions, e.g. for timeline marks and the serial output up
   * to a point. The session returns to where it was. At most `limit` events.
   */
  collectEvents(from: number, to: number, mask: number, opts: RunOptions & { limit?: number } = {}): Promise<{ position: Position; event: TargetEvent }[]> {
    return this.guard(async () => {
      const t = this.target;
      const back = this.position;
      const wasBranch = t.onBranch;
      const lo = Math.max(from, t.historyStart);
      const hi = Math.min(to, t.historyEnd === Infinity ? Math.max(back.icount, t.frontier ?? 0) : t.historyEnd);
      const out: { position: Position; event: TargetEvent }[] = [];
      const limit = opts.limit ?? 100_000;
      if (hi <= lo) return out;
      const probe = new RunProbe(this, []);
      probe.opEvents = mask;
      probe.opEvent = (ev, pos) => {
        if (out.length < limit) out.push({ position: pos, event: ev.kind === 'serial' || ev.kind === 'net' ? { ...ev, ...(ev.kind === 'serial' ? { data: ev.data.slice() } : { frame: ev.frame.slice() }) } : ev });
        return false;
      };
      probe.scan = true;
      probe.finish();
      this.seekIcount(lo);
      let done = 0;
      while (t.icount < hi && out.length < limit) {
        if (opts.signal?.aborted) break;
        const before = t.icount;
        const r = t.run(Math.min(hi, t.icount + this.chunk), probe);
        done += t.icount - before;
        this.progress(opts, done, hi - lo, t.icount);
        if (r.reason !== 'until') break;
        await this.yieldFn();
      }
      if (!wasBranch) this.seekPos(back);
      return out;
    });
  }

  /** The position `lastWrite` last stopped at, if any. */
  get lastWritePosition(): Position | null {
    return this.lastWriteCursor?.pos ?? null;
  }
}
