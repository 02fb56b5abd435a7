/**
 * Adapts the time-travel Session (debugger/timeline) to the TUI's
 * DebugController, and gives the TUI its `:` command language:
 *
 *   break LOC [if COND]     breakpoint at an address, symbol or expression
 *   delete N | delete all   remove points
 *   watch ADDR [LEN] [r|w|rw] [phys]   watchpoint (both directions)
 *   catch exception|interrupt [N] | io PORT | serial [TEXT] | hlt | mode
 *   goto ICOUNT|SYMBOL      seek to an instruction count, or run to a symbol
 *   lastwrite ADDR [LEN]    go back to the last instruction that wrote ADDR
 *   print EXPR              evaluate (registers, [mem], symbols)
 *   set REG = EXPR          write a register (creates a branch)
 *   points                  list breakpoints and watchpoints
 *   events [N]              the recorded inputs around here
 *
 * Serial output and timeline marks come from an OutputLog the opener fills
 * (by a pass over the recording, or as a live run goes), so the serial panel
 * can show the console as it was at any instruction count.
 */
import { RewindError, ERR } from '../../engine/errors.js';
import type { Session, StopInfo as SessionStop, PointSpec, Point } from '../timeline/session.js';
import { REG } from '../timeline/target.js';
import type { DebugController, DebugView, DisasmLine, MarkKind, ProgressReport, StopInfo, TimelineMark, RegisterView } from './controller.js';
import { hex } from './format.js';
import { SpeedMeter } from './speed-meter.js';

/** Disassembles one instruction; the TUI falls back to `db` bytes without one. */
export type DisassembleFn = (bytes: Uint8Array, linAddr: number, is32: boolean) => { length: number; text: string };

/** Guest serial output and notable events, indexed by icount. */
export class OutputLog {
  private readonly icounts: number[] = [];
  private readonly chunks: string[] = [];
  private readonly prefix: string[] = [''];
  readonly marks: TimelineMark[] = [];

  appendSerial(icount: number, bytes: Uint8Array): void {
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
    if (this.icounts.length > 0 && icount < this.icounts[this.icounts.length - 1]!) return; // history only grows
    this.icounts.push(icount);
    this.chunks.push(s);
    this.prefix.push('');
    this.marks.push({ icount, kind: 'serial' });
  }

  mark(icount: number, kind: MarkKind): void {
    this.marks.push({ icount, kind });
  }

  /** Serial text written before instruction `icount` executed. */
  serialAt(icount: number): string {
    let lo = 0;
    let hi = this.icounts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.icounts[mid]! < icount) lo = mid + 1;
      else hi = mid;
    }
    // prefix[k] caches the concatenation of the first k chunks (filled lazily).
    if (this.prefix[lo] === '' && lo > 0) {
      let k = lo;
      while (k > 0 && this.prefix[k] === '') k--;
      let s = this.prefix[k]!;
      for (let j = k; j < lo; j++) {
        s += this.chunks[j]!;
        this.prefix[j + 1] = s;
      }
    }
    return this.prefix[lo]!;
  }
}

export interface SessionControllerOptions {
  title: string;
  log: OutputLog;
  disassemble?: DisassembleFn | null;
  /** Instructions per second measured by the opener (shown in the status bar); overrides `clock`. */
  speed?: () => number | null;
  /** Host milliseconds: when given, the controller measures the speed of its runs itself (SpeedMeter). */
  clock?: () => number;
}

const GP_NAMES = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp', 'eip'] as const;
const SEG_NAMES = ['cs', 'ds', 'ss', 'es', 'fs', 'gs'] as const;

export class SessionController implements DebugController {
  readonly session: Session;
  private readonly opts: SessionControllerOptions;

  private readonly meter: SpeedMeter | null;

  constructor(session: Session, opts: SessionControllerOptions) {
    this.session = session;
    this.opts = opts;
    this.meter = opts.clock ? new SpeedMeter(opts.clock) : null;
  }

  private is32(): boolean {
    return this.session.target.codeIs32();
  }

  view(): DebugView {
    const s = this.session;
    const t = s.target;
    const regs = s.registers();
    const registers: RegisterView[] = [
      ...GP_NAMES.map((n) => ({ name: n, value: regs[n]! >>> 0, digits: 8 })),
      ...SEG_NAMES.map((n) => ({ name: n, value: regs[n]! & 0xffff, digits: 4 })),
    ];
    const cr0 = t.readReg(REG.CR0);
    const eflags = t.readReg(REG.EFLAGS);
    const mode = !(cr0 & 1) ? 'real mode' : eflags & (1 << 17) ? 'virtual-8086' : cr0 & 0x80000000 ? 'protected, paging' : 'protected';
    const bps = new Set<number>();
    for (const p of s.listPoints()) if (p.enabled && p.spec.type === 'break' && (p.spec.space ?? 'linear') === 'linear') bps.add(p.spec.addr >>> 0);
    // Live: the end is the frontier (what has been recorded), not where we are.
    const end = s.historyRange().end;
    return {
      title: this.opts.title + (t.onBranch ? ' (branch)' : ''),
      icount: t.icount,
      historyEnd: Math.max(end, t.icount),
      mode: `${mode}${t.halted ? ', halted' : ''}`,
      registers,
      eflags,
      eip: s.linearPc() >>> 0,
      esp: (t.readReg(REG.SS_BASE) + (regs['esp']! >>> 0)) >>> 0,
      serial: this.opts.log.serialAt(t.icount),
      marks: this.opts.log.marks,
      breakpoints: bps,
    };
  }

  private decodeAt(addr: number): DisasmLine {
    const bytes = this.session.readLinear(addr, 15);
    const sym = this.symbolLabel(addr);
    if (!bytes) return { addr, bytes: '??', text: '(not mapped)', symbol: sym };
    const d = this.opts.disassemble ? this.opts.disassemble(bytes, addr, this.is32()) : { length: 1, text: `db 0x${hex(bytes[0]!, 2)}` };
    const len = Math.max(1, Math.min(15, d.length));
    const hexBytes = Array.from(bytes.subarray(0, len), (b) => hex(b, 2)).join(' ');
    return { addr, bytes: hexBytes, text: d.text, symbol: sym };
  }

  private symbolLabel(addr: number): string | null {
    if (!this.session.symbols) return null;
    const s = this.session.symbolize(addr);
    return /^0x[0-9a-f]+$/i.test(s) ? null : s;
  }

  disassemble(addr: number, count: number): DisasmLine[] {
    const out: DisasmLine[] = [];
    let a = addr >>> 0;
    for (let i = 0; i < count; i++) {
      const l = this.decodeAt(a);
      out.push(l);
      a = (a + Math.max(1, l.bytes === '??' ? 1 : l.bytes.split(' ').length)) >>> 0;
    }
    return out;
  }

  disassembleBefore(addr: number, count: number): DisasmLine[] {
    // x86 cannot be decoded backwards; try start points and keep the one whose
    // instruction stream lands exactly on `addr` with the most instructions.
    if (count <= 0) return [];
    for (let back = count * 7; back >= 1; back--) {
      const start = (addr - back) >>> 0;
      if (start > addr) continue;
      const lines: DisasmLine[] = [];
      let a = start;
      while (a < addr && lines.length < count * 8) {
        const l = this.decodeAt(a);
        if (l.bytes === '??') break;
        lines.push(l);
        a = (a + l.bytes.split(' ').length) >>> 0;
      }
      if (a === addr && lines.length >= Math.min(count, back)) return lines.slice(-count);
    }
    return [];
  }

  readMemory(addr: number, length: number): (number | null)[] {
    const out: (number | null)[] = [];
    for (let i = 0; i < length; i++) {
      const b = this.session.readLinear((addr + i) >>> 0, 1);
      out.push(b ? b[0]! : null);
    }
    return out;
  }

  symbolize(addr: number): string | null {
    return this.symbolLabel(addr);
  }

  private stop(s: SessionStop): StopInfo {
    return { message: s.message };
  }

  async step(direction: 1 | -1): Promise<StopInfo> {
    return this.stop(direction > 0 ? await this.session.step() : await this.session.reverseStep());
  }

  async next(direction: 1 | -1): Promise<StopInfo> {
    return this.stop(direction > 0 ? await this.session.next() : await this.session.reverseNext());
  }

  async finish(direction: 1 | -1): Promise<StopInfo> {
    return this.stop(direction > 0 ? await this.session.finish() : await this.session.reverseFinish());
  }

  async cont(direction: 1 | -1, onProgress: (p: ProgressReport) => void, signal: AbortSignal): Promise<StopInfo> {
    const meter = this.meter;
    const opts = {
      signal,
      onProgress: (p: { done: number; total: number; icount: number }) => {
        meter?.update(p.done);
        onProgress({ fraction: p.total > 0 ? Math.min(1, p.done / p.total) : 0, icount: p.icount });
      },
    };
    const from = this.session.target.icount;
    meter?.begin();
    const stop = direction > 0 ? await this.session.continue(opts) : await this.session.reverseContinue(opts);
    // Forward, the instructions covered are the distance run (short runs report no progress).
    meter?.end(direction > 0 ? Math.max(0, this.session.target.icount - from) : 0);
    return this.stop(stop);
  }

  async seek(icount: number): Promise<StopInfo> {
    return this.stop(this.session.seek(icount));
  }

  async jumpToMark(kind: MarkKind | null, direction: 1 | -1): Promise<StopInfo> {
    const here = this.session.target.icount;
    const marks = this.opts.log.marks.filter((m) => kind === null || m.kind === kind).map((m) => m.icount);
    marks.sort((a, b) => a - b);
    const target = direction > 0 ? marks.find((m) => m > here) : [...marks].reverse().find((m) => m < here);
    if (target === undefined) return { message: `no ${kind ?? 'event'} ${direction > 0 ? 'after' : 'before'} icount ${here}` };
    const s = this.session.seek(target);
    return { message: `${s.message} (${kind ?? 'event'} mark)` };
  }

  toggleBreakpoint(addr: number): string {
    const s = this.session;
    const existing = s.findPoint((p) => p.spec.type === 'break' && p.spec.addr >>> 0 === addr >>> 0);
    if (existing) {
      s.removePoint(existing.id);
      return `breakpoint ${existing.id} at ${this.where(addr)} removed`;
    }
    const p = s.addPoint({ type: 'break', addr: addr >>> 0 });
    return `breakpoint ${p.id} at ${this.where(addr)}`;
  }

  private where(addr: number): string {
    const sym = this.symbolLabel(addr);
    return `0x${hex(addr, 8)}${sym ? ` <${sym}>` : ''}`;
  }

  speed(): number | null {
    if (this.opts.speed) return this.opts.speed();
    return this.meter ? this.meter.ips() : null;
  }

  async command(line: string): Promise<string> {
    const s = this.session;
    const [word = '', ...rest] = line.trim().split(/\s+/);
    const arg = rest.join(' ');
    const bad = (msg: string) => new RewindError(ERR.ARGUMENT, msg);
    switch (word) {
      case 'b':
      case 'break': {
        const m = /^(.+?)(?:\s+if\s+(.+))?$/.exec(arg);
        if (!m) throw bad('usage: break LOCATION [if CONDITION]');
        const p = s.addBreakpointAt(m[1]!, m[2]);
        return `breakpoint ${p.id} at ${this.where((p.spec as { addr: number }).addr)}${m[2] ? ` if ${m[2]}` : ''}`;
      }
      case 'd':
      case 'delete': {
        if (arg === 'all') {
          const n = s.listPoints().length;
          for (const p of s.listPoints()) s.removePoint(p.id);
          return `deleted ${n} point(s)`;
        }
        const id = Number(arg);
        if (!Number.isInteger(id) || !s.removePoint(id)) throw bad(`no point ${JSON.stringify(arg)} (see :points)`);
        return `deleted point ${id}`;
      }
      case 'watch': {
        const m = /^(\S+)(?:\s+(\S+))?(?:\s+(r|w|rw))?(?:\s+(phys))?$/.exec(arg);
        if (!m) throw bad('usage: watch ADDR [LEN] [r|w|rw] [phys]');
        const addr = s.evaluate(m[1]!);
        const length = m[2] && !/^(r|w|rw|phys)$/.test(m[2]) ? s.evaluate(m[2]) : 4;
        const access = m[3] === 'r' ? 'read' : m[3] === 'rw' ? 'access' : 'write';
        const spec: PointSpec = { type: 'watch', addr: addr >>> 0, length, access, space: m[4] ? 'physical' : 'linear' };
        const p = s.addPoint(spec);
        return `watchpoint ${p.id}: ${access} of ${length} byte(s) at 0x${hex(addr, 8)}`;
      }
      case 'catch': {
        const [what = '', v] = rest;
        let spec: PointSpec;
        if (what === 'exception' || what === 'interrupt') spec = { type: 'event', event: v === undefined ? { on: what } : { on: what, vector: s.evaluate(v) } };
        else if (what === 'io' && v !== undefined) spec = { type: 'event', event: { on: 'io', port: s.evaluate(v) } };
        else if (what === 'serial') spec = { type: 'event', event: rest.length > 1 ? { on: 'serial', match: rest.slice(1).join(' ') } : { on: 'serial' } };
        else if (what === 'hlt') spec = { type: 'event', event: { on: 'hlt' } };
        else if (what === 'mode') spec = { type: 'event', event: { on: 'mode' } };
        else if (what === 'net') spec = { type: 'event', event: v === 'rx' || v === 'tx' ? { on: 'net', dir: v } : { on: 'net' } };
        else throw bad('usage: catch exception|interrupt [N] | io PORT | serial [TEXT] | net [rx|tx] | hlt | mode');
        const p = s.addPoint(spec);
        return `catchpoint ${p.id} on ${arg}`;
      }
      case 'g':
      case 'goto': {
        if (/^[0-9][0-9_,]*$/.test(arg)) return (await this.seek(Number(arg.replace(/[_,]/g, '')))).message;
        const addr = s.evaluate(arg);
        const p = s.addPoint({ type: 'break', addr: addr >>> 0, temporary: true });
        try {
          const st = await s.continue();
          return st.message;
        } finally {
          s.removePoint(p.id);
        }
      }
      case 'lastwrite': {
        const [a, len] = rest;
        if (!a) throw bad('usage: lastwrite ADDR [LEN]');
        return (await s.lastWrite(s.evaluate(a), len ? s.evaluate(len) : 1)).message;
      }
      case 'p':
      case 'print': {
        const v = s.evaluate(arg) >>> 0;
        return `${arg} = 0x${v.toString(16)} (${v})${this.symbolLabel(v) ? ` <${this.symbolLabel(v)}>` : ''}`;
      }
      case 'set': {
        const m = /^(\w+)\s*=\s*(.+)$/.exec(arg);
        if (!m) throw bad('usage: set REG = EXPR');
        const v = s.evaluate(m[2]!);
        s.writeRegister(m[1]!, v);
        return `${m[1]} = 0x${(v >>> 0).toString(16)} (on a branch: the recording is unchanged)`;
      }
      case 'points':
        return s.listPoints().map((p: Point) => `${p.id}${p.enabled ? '' : ' (disabled)'} hits=${p.hits}`).join(' · ') || 'no points';
      case 'events': {
        const here = s.target.icount;
        const evs = s.events(Math.max(0, here - 1_000_000), here + 1_000_000).slice(0, Number(arg) || 5);
        return evs.map((e) => `${e.icount}: ${e.kind} ${e.summary}`).join(' · ') || 'no recorded inputs near here';
      }
      case 'help':
        return 'break · delete · watch · catch · goto · lastwrite · print · set · points · events · mem · quit';
      default:
        throw bad(`unknown command "${word}" (try :help)`);
    }
  }
}
