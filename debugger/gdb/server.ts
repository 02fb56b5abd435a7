/**
 * GDB remote serial protocol, layer 3: the server. It accepts one gdb at a
 * time on 127.0.0.1 (never another interface), frames packets (packets.ts),
 * parses them into requests (requests.ts) and calls the session.
 *
 * Reverse execution: `bs`/`bc` map to reverseStep/reverseContinue; stops at
 * the edges of history are reported as `T05replaylog:begin;` / `...end;`.
 * Ctrl-C (0x03) while running aborts the command at once (T02). Anything
 * malformed gets an error reply and a rate-limited log line; nothing a client
 * sends can crash or hang the server.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { type Logger, nullLogger, LOG, RateLimitedLog } from '../../engine/log.js';
import { RewindError, argError } from '../../engine/errors.js';
import { PacketDecoder, encodePacket, toHexBytes, hexLe32, hexText, GDB_MAX_PACKET, type FrameEvent } from './packets.js';
import { parseRequest, type GdbRequest, BREAK } from './requests.js';
import { GDB_REGS, GDB_REG_OFFSET, GDB_G_BYTES, targetXml } from './target-xml.js';
import { type Session, type StopInfo, type Point, type Progress, type RunOptions, formatPos, describePoint } from '../timeline/session.js';
import { REG, type RegId, type FpuState } from '../timeline/target.js';

export interface GdbServerOptions {
  /** TCP port; 0 picks a free one (listen() returns it). */
  port: number;
  logger?: Logger;
  /** Called when gdb sends `k` (kill). */
  onKill?: () => void;
  /** Called when a gdb disconnects or detaches. */
  onDisconnect?: () => void;
  /**
   * During a long monitor command (seek, last-write), send a progress line
   * as console output at least this often (ms), so gdb's remote timeout
   * (2 s by default) never expires while the stub works. Default 1000.
   */
  keepAliveMs?: number;
  /** Milliseconds for keep-alive pacing (tests inject a clock); default Date.now. */
  now?: () => number;
}

const THREAD = '01';
/** gdb register number -> session register for the first 16 (core) and the system feature. */
const SYSTEM_REG: Record<string, RegId> = { cr0: REG.CR0, cr2: REG.CR2, cr3: REG.CR3, cr4: REG.CR4, fs_base: REG.FS_BASE, gs_base: REG.GS_BASE };

function sessionRegOf(gdbReg: number): RegId | null {
  if (gdbReg >= 0 && gdbReg < 16) return gdbReg as RegId;
  const def = GDB_REGS[gdbReg];
  if (!def) return null;
  return SYSTEM_REG[def.name] ?? null;
}

export class GdbServer {
  readonly session: Session;
  private readonly opts: GdbServerOptions;
  readonly logger: Logger;
  readonly log: RateLimitedLog;
  private server: Server | null = null;
  private conn: GdbConnection | null = null;
  /** @internal */
  readonly keepAliveMs: number;
  /** @internal */
  readonly now: () => number;

  constructor(session: Session, opts: GdbServerOptions) {
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw argError(`--port must be an integer in [0, 65535], got ${opts.port}`);
    this.session = session;
    this.opts = opts;
    this.logger = opts.logger ?? nullLogger;
    this.log = new RateLimitedLog(this.logger, 10, 100);
    this.keepAliveMs = opts.keepAliveMs ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Starts listening on 127.0.0.1; resolves with the port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((sock) => this.accept(sock));
      server.on('error', (e) => reject(new RewindError('ERR_ARGUMENT', `cannot listen on 127.0.0.1:${this.opts.port}: ${e.message}`)));
      server.listen(this.opts.port, '127.0.0.1', () => {
        this.server = server;
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : this.opts.port);
      });
    });
  }

  close(): Promise<void> {
    this.conn?.destroy();
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server = null;
    });
  }

  private accept(sock: Socket): void {
    if (this.conn) {
      this.logger.log(LOG.WARN, 'gdb', `refusing a second connection from ${sock.remoteAddress}: a debugger is already attached`);
      sock.end(encodePacket('E01'));
      return;
    }
    this.logger.log(LOG.INFO, 'gdb', `debugger connected from ${sock.remoteAddress}:${sock.remotePort}`);
    const c = new GdbConnection(this, sock, (data) => sock.write(data));
    this.conn = c;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => c.receive(d));
    sock.on('error', (e) => this.logger.log(LOG.WARN, 'gdb', `connection error: ${e.message}`));
    sock.on('close', () => {
      c.closed();
      if (this.conn === c) this.conn = null;
      this.logger.log(LOG.INFO, 'gdb', 'debugger disconnected');
      this.opts.onDisconnect?.();
    });
  }

  /** @internal The connection is finished (detach/kill): a new debugger may attach at once. */
  release(c: GdbConnection): void {
    if (this.conn === c) this.conn = null;
  }

  /** @internal */
  kill(): void {
    this.opts.onKill?.();
  }
}

/**
 * One gdb connection. Exposed for tests: feed bytes with receive(), collect
 * what is written through the `write` callback.
 */
export class GdbConnection {
  private readonly server: GdbServer;
  private readonly session: Session;
  private readonly sock: Socket | null;
  private readonly write: (data: Buffer) => void;
  private readonly decoder = new PacketDecoder();
  private noAck = false;
  private readonly queue: string[] = [];
  private processing = false;
  private running: AbortController | null = null;
  private lastSent: Buffer | null = null;
  private nacks = 0;
  private lastStop = `T05thread:${THREAD};`;
  private readonly gdbPoints = new Map<string, Point>();
  private isClosed = false;
  private pendingInterrupt = false;
  /** Resolves when the queue is drained (tests). */
  private idleWaiters: (() => void)[] = [];

  constructor(server: GdbServer, sock: Socket | null, write: (data: Buffer) => void) {
    this.server = server;
    this.session = server.session;
    this.sock = sock;
    this.write = write;
  }

  destroy(): void {
    this.sock?.destroy();
  }

  closed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.running?.abort();
    for (const p of this.gdbPoints.values()) this.session.removePoint(p.id);
    this.gdbPoints.clear();
  }

  receive(data: Uint8Array): void {
    this.decoder.feed(data, (ev) => this.onFrame(ev));
    this.pump();
  }

  /** Resolves once every received packet has been answered. */
  idle(): Promise<void> {
    if (!this.processing && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private onFrame(ev: FrameEvent): void {
    switch (ev.type) {
      case 'packet':
        if (!this.noAck) this.write(Buffer.from('+'));
        this.queue.push(ev.data);
        return;
      case 'ack':
        this.nacks = 0;
        return;
      case 'nack':
        if (this.lastSent && !this.noAck && this.nacks++ < 3) this.write(this.lastSent);
        return;
      case 'interrupt':
        // Ctrl-C may overtake the resume it is meant for (both in one chunk, or the
        // resume still queued): remember it and stop that resume at once.
        if (this.running) this.running.abort();
        else if (this.processing || this.queue.length > 0) this.pendingInterrupt = true;
        return;
      case 'bad':
        this.server.log.log(LOG.WARN, 'gdb', `bad:${ev.reason.split(' ')[0]}`, `bad packet from gdb: ${ev.reason}`);
        if (ev.reason.startsWith('checksum') || ev.reason.startsWith('malformed checksum')) {
          if (!this.noAck) this.write(Buffer.from('-'));
        } else if (ev.reason.startsWith('packet longer')) {
          if (!this.noAck) this.write(Buffer.from('+'));
          this.send('E01');
        }
        return;
    }
  }

  private send(payload: string): void {
    if (this.isClosed) return;
    const pkt = encodePacket(payload);
    this.lastSent = pkt;
    this.write(pkt);
  }

  private pump(): void {
    if (this.processing) return;
    this.processing = true;
    void (async () => {
      try {
        while (this.queue.length > 0 && !this.isClosed) {
          const p = this.queue.shift()!;
          let reply: string | null;
          try {
            reply = await this.handle(parseRequest(p));
          } catch (e) {
            const msg = e instanceof Error ? e.message : String(e);
            this.server.log.log(LOG.WARN, 'gdb', `fail:${p[0] ?? ''}`, `request ${JSON.stringify(p.slice(0, 40))} failed: ${msg}`);
            reply = e instanceof RewindError ? 'E01' : 'E02';
          }
          if (reply !== null) this.send(reply);
        }
      } finally {
        this.processing = false;
        this.pendingInterrupt = false; // a Ctrl-C that found no resume to stop is dropped
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    })();
  }

  private async handle(req: GdbRequest): Promise<string | null> {
    const s = this.session;
    switch (req.kind) {
      case 'malformed':
        this.server.log.log(LOG.WARN, 'gdb', `malformed:${req.packet[0] ?? ''}`, `malformed packet ${JSON.stringify(req.packet.slice(0, 40))}: ${req.error}`);
        return 'E01';
      case 'unknown':
      case 'mustReplyEmpty':
        return '';
      case 'supported':
        return `PacketSize=${GDB_MAX_PACKET.toString(16)};qXfer:features:read+;ReverseStep+;ReverseContinue+;QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+`;
      case 'startNoAck':
        // The OK is still acknowledged by gdb; no-ack starts after it.
        this.send('OK');
        this.noAck = true;
        return null;
      case 'xferFeatures': {
        if (req.annex !== 'target.xml') return 'E00';
        const xml = targetXml();
        if (req.offset >= xml.length) return 'l';
        const part = xml.slice(req.offset, req.offset + Math.min(req.length, GDB_MAX_PACKET - 16));
        return (req.offset + part.length >= xml.length ? 'l' : 'm') + part;
      }
      case 'haltReason':
        return this.lastStop;
      case 'attached':
        return '1';
      case 'currentThread':
        return `QC${THREAD}`;
      case 'threadInfoFirst':
        return `m${THREAD}`;
      case 'threadInfoNext':
        return 'l';
      case 'setThread':
      case 'threadAlive':
        return 'OK';
      case 'offsets':
        return 'Text=0;Data=0;Bss=0';
      case 'symbol':
        return 'OK';
      case 'readRegisters':
        return this.readAllRegisters();
      case 'writeRegisters':
        return this.writeAllRegisters(req.data);
      case 'readRegister': {
        const def = GDB_REGS[req.reg];
        if (!def) return 'E45';
        return this.readRegisterHex(req.reg);
      }
      case 'writeRegister': {
        const def = GDB_REGS[req.reg];
        if (!def || req.data.length !== def.size) return 'E45';
        const id = sessionRegOf(req.reg);
        if (id === null) return 'E01'; // x87/SSE registers are read-only for the debugger
        s.writeRegister(id, le32(req.data, 0));
        return 'OK';
      }
      case 'readMemory': {
        if (req.length === 0) return '';
        const data = s.readLinearPartial(req.addr, req.length);
        return data.length === 0 ? 'E14' : toHexBytes(data);
      }
      case 'writeMemory':
        if (req.data.length > 0) s.writeMemory(req.addr, req.data, 'linear');
        return 'OK';
      case 'insertBreak':
      case 'removeBreak':
        return this.breakpoint(req.kind === 'insertBreak', req.type, req.addr, req.length);
      case 'continue':
      case 'step':
        if (req.addr !== null) s.writeRegister(REG.EIP, req.addr);
        return this.resume(req.kind === 'step' ? 's' : 'c');
      case 'reverseContinue':
        return this.resume('bc');
      case 'reverseStep':
        return this.resume('bs');
      case 'vContQuery':
        return 'vCont;c;C;s;S';
      case 'vCont': {
        const a = req.actions.find((x) => x.thread === null || x.thread === THREAD || x.thread === '1' || x.thread === '-1' || x.thread === 'p1.1') ?? req.actions[0]!;
        if (a.action === 's' || a.action === 'c') return this.resume(a.action);
        return 'E01';
      }
      case 'monitor':
        return this.monitor(req.command);
      case 'detach':
        this.send('OK');
        this.server.release(this);
        this.closed();
        this.sock?.end();
        return null;
      case 'kill':
        this.server.release(this);
        this.closed();
        this.server.kill();
        this.sock?.end();
        return null;
    }
  }

  // ---- registers ----

  private regBytes(gdbReg: number): Uint8Array | null {
    const id = sessionRegOf(gdbReg);
    if (id === null) return null;
    const v = this.session.reg(id);
    return Uint8Array.of(v, v >>> 8, v >>> 16, v >>> 24);
  }

  private readRegisterHex(gdbReg: number, fpu: FpuState | null = this.fpu()): string {
    const b = this.regBytes(gdbReg);
    if (b) return toHexBytes(b);
    if (fpu && gdbReg >= 16 && gdbReg < 32) {
      if (gdbReg < 24) return toHexBytes(fpu.st[gdbReg - 16]!);
      const v = [fpu.fctrl, fpu.fstat, fpu.ftag, fpu.fiseg, fpu.fioff, fpu.foseg, fpu.fooff, fpu.fop][gdbReg - 24]!;
      return hexLe32(v);
    }
    return 'xx'.repeat(GDB_REGS[gdbReg]!.size); // not modelled: unavailable
  }

  private fpu(): FpuState | null {
    const t = this.session.target;
    return t.readFpu ? t.readFpu() : null;
  }

  private readAllRegisters(): string {
    const fpu = this.fpu();
    let out = '';
    for (let i = 0; i < GDB_REGS.length; i++) out += this.readRegisterHex(i, fpu);
    return out;
  }

  private writeAllRegisters(data: Uint8Array): string {
    if (data.length < GDB_REG_OFFSET[16]!) return 'E01';
    if (data.length > GDB_G_BYTES) return 'E01';
    for (let i = 0; i < GDB_REGS.length; i++) {
      const off = GDB_REG_OFFSET[i]!;
      const id = sessionRegOf(i);
      if (id === null || off + 4 > data.length) continue;
      const v = le32(data, off);
      if (this.session.reg(id) !== v) this.session.writeRegister(id, v);
    }
    return 'OK';
  }

  // ---- breakpoints ----

  private breakpoint(insert: boolean, type: number, addr: number, length: number): string {
    const key = `${type}:${addr}:${length}`;
    if (!insert) {
      const p = this.gdbPoints.get(key);
      if (p) {
        this.session.removePoint(p.id);
        this.gdbPoints.delete(key);
      }
      return 'OK';
    }
    if (this.gdbPoints.has(key)) return 'OK';
    let p: Point;
    if (type === BREAK.SOFTWARE || type === BREAK.HARDWARE) p = this.session.addPoint({ type: 'break', addr, space: 'linear' });
    else p = this.session.addPoint({ type: 'watch', addr, length, space: 'linear', access: type === BREAK.WRITE_WATCH ? 'write' : type === BREAK.READ_WATCH ? 'read' : 'access' });
    this.gdbPoints.set(key, p);
    return 'OK';
  }

  private gdbTypeOf(p: Point): number | null {
    for (const [k, v] of this.gdbPoints) if (v === p) return Number(k.split(':')[0]);
    return null;
  }

  // ---- execution ----

  private async resume(how: 's' | 'c' | 'bs' | 'bc'): Promise<string> {
    const ctl = new AbortController();
    this.running = ctl;
    if (this.pendingInterrupt) {
      this.pendingInterrupt = false;
      ctl.abort();
    }
    let stop: StopInfo;
    try {
      // Long reverse scans report progress as console output (gdb prints it while waiting).
      let shown = 0;
      const onProgress = (p: { done: number; total: number }): void => {
        const pct = p.total > 0 ? Math.floor((p.done * 100) / p.total) : 0;
        if (p.done >= 50_000_000 && pct >= shown + 10) {
          shown = pct - (pct % 10);
          this.send('O' + hexText(`rewind: scanned ${(p.done / 1e6).toFixed(0)}M instructions back (${pct}% of history)\n`));
        }
      };
      const o = { signal: ctl.signal, onProgress };
      const s = this.session;
      stop = how === 's' ? await s.step(o) : how === 'c' ? await s.continue(o) : how === 'bs' ? await s.reverseStep(o) : await s.reverseContinue(o);
    } finally {
      this.running = null;
    }
    this.lastStop = this.stopReply(stop);
    return this.lastStop;
  }

  private stopReply(stop: StopInfo): string {
    if (stop.kind === 'cancelled') return `T02thread:${THREAD};`;
    let extra = '';
    if (stop.kind === 'history-begin') extra = 'replaylog:begin;';
    else if (stop.kind === 'history-end' || stop.kind === 'exit') extra = 'replaylog:end;';
    else if (stop.kind === 'watchpoint' && stop.watch && stop.point) {
      const t = this.gdbTypeOf(stop.point);
      const name = t === BREAK.READ_WATCH ? 'rwatch' : t === BREAK.ACCESS_WATCH ? 'awatch' : stop.point.spec.type === 'watch' && stop.point.spec.access === 'read' ? 'rwatch' : stop.point.spec.type === 'watch' && stop.point.spec.access === 'access' ? 'awatch' : 'watch';
      extra = `${name}:${stop.watch.addr.toString(16)};`;
    } else if (stop.kind === 'breakpoint' && stop.point) {
      extra = this.gdbTypeOf(stop.point) === BREAK.HARDWARE ? 'hwbreak:;' : 'swbreak:;';
    }
    const s = this.session;
    const regs = `04:${hexLe32(s.reg(REG.ESP))};05:${hexLe32(s.reg(REG.EBP))};08:${hexLe32(s.reg(REG.EIP))};`;
    return `T05${extra}thread:${THREAD};${regs}`;
  }

  // ---- monitor commands ----

  /**
   * Runs a monitor command that may take long. gdb waits for a qRcmd reply
   * with its remote timeout (2 s by default) per packet, and accepts any
   * number of `O` console-output packets before the final reply, each one
   * restarting that timeout: so while the command works, a progress line
   * goes out at least every keepAliveMs. Ctrl-C cancels the command.
   */
  private async longCommand(run: (o: RunOptions) => Promise<StopInfo>, line: (p: Progress) => string): Promise<StopInfo> {
    const ctl = new AbortController();
    this.running = ctl;
    if (this.pendingInterrupt) {
      this.pendingInterrupt = false;
      ctl.abort();
    }
    const every = this.server.keepAliveMs;
    const now = this.server.now;
    let last = now();
    try {
      return await run({
        signal: ctl.signal,
        onProgress: (p) => {
          const t = now();
          if (t - last < every) return;
          last = t;
          this.send('O' + hexText(line(p)));
        },
      });
    } finally {
      this.running = null;
    }
  }

  private async monitor(command: string): Promise<string> {
    const out = (text: string): void => this.send('O' + hexText(text));
    const s = this.session;
    const args = command.trim().split(/\s+/);
    const cmd = args[0] ?? '';
    const num = (x: string | undefined, what: string): number => {
      if (x === undefined) throw argError(`monitor ${cmd}: missing ${what}`);
      const v = Number(x);
      if (!Number.isFinite(v) || v < 0) throw argError(`monitor ${cmd}: bad ${what} ${JSON.stringify(x)}`);
      return Math.floor(v);
    };
    try {
      switch (cmd) {
        case '':
        case 'help':
          out(
            'rewind monitor commands:\n' +
              '  icount                 current position (instruction count)\n' +
              '  seek N                 go to icount N (then: maintenance flush register-cache)\n' +
              '  events [FROM [TO]]     recorded input events\n' +
              '  where                  position, eip and symbol\n' +
              '  last-write ADDR [LEN]  go back to the last write to ADDR\n' +
              '  catch interrupt|exception [N] | io PORT | serial [TEXT] | net [rx|tx] | hlt | mode [real|protected|paging]\n' +
              '  points                 list breakpoints, watchpoints, event points\n' +
              '  delete ID              delete a point\n',
          );
          return 'OK';
        case 'icount':
          out(`icount ${formatPos(s.position)}${s.onBranch ? ' (on a branch)' : ''}\n`);
          return 'OK';
        case 'where':
          out(`icount ${formatPos(s.position)} eip ${s.symbolize(s.linearPc())}${s.onBranch ? ' (on a branch)' : ''}\n`);
          return 'OK';
        case 'seek': {
          const to = num(args[1], 'icount');
          const from = s.position.icount;
          const r = await this.longCommand((o) => s.seekAsync(to, o), (p) => `rewind: seek: ${commas(p.done)} of ${commas(p.total)} instructions replayed (${pctOf(p)}%), at icount ${commas(p.icount)}, from ${commas(from)}\n`);
          out(`${r.message}\n`);
          return 'OK';
        }
        case 'events': {
          const from = args[1] === undefined ? 0 : num(args[1], 'start');
          const to = args[2] === undefined ? Infinity : num(args[2], 'end');
          const evs = s.events(from, to);
          let text = '';
          for (const e of evs.slice(0, 200)) text += `${e.icount} ${e.kind} ${e.summary}\n`;
          if (evs.length > 200) text += `... ${evs.length - 200} more\n`;
          out(text || 'no events\n');
          return 'OK';
        }
        case 'last-write': {
          const addr = s.evaluate(args[1] ?? '');
          const len = args[2] ? num(args[2], 'length') : 1;
          const r = await this.longCommand((o) => s.lastWrite(addr, len, 'linear', o), (p) => `rewind: last-write: scanned ${commas(p.done)} instructions back (${pctOf(p)}% of history)\n`);
          out(`${r.message}\n`);
          return 'OK';
        }
        case 'catch': {
          const what = args[1];
          const n = args[2];
          let p: Point;
          if (what === 'interrupt' || what === 'exception') p = s.addPoint({ type: 'event', event: n === undefined ? { on: what } : { on: what, vector: num(n, 'vector') } });
          else if (what === 'io') p = s.addPoint({ type: 'event', event: { on: 'io', port: num(n, 'port') } });
          else if (what === 'serial') p = s.addPoint({ type: 'event', event: args.length > 2 ? { on: 'serial', match: command.trim().replace(/^catch\s+serial\s+/, '') } : { on: 'serial' } });
          else if (what === 'net') p = s.addPoint({ type: 'event', event: n === 'rx' || n === 'tx' ? { on: 'net', dir: n } : { on: 'net' } });
          else if (what === 'hlt') p = s.addPoint({ type: 'event', event: { on: 'hlt' } });
          else if (what === 'mode') p = s.addPoint({ type: 'event', event: n === 'real' || n === 'protected' || n === 'paging' ? { on: 'mode', to: n } : { on: 'mode' } });
          else throw argError(`monitor catch: unknown event ${JSON.stringify(what ?? '')}`);
          out(`${describePoint(p)}\n`);
          return 'OK';
        }
        case 'points': {
          const pts = s.listPoints();
          out(pts.length ? pts.map((p) => `${describePoint(p)}${p.enabled ? '' : ' (disabled)'}, ${p.hits} hit(s)\n`).join('') : 'no points\n');
          return 'OK';
        }
        case 'delete':
          if (!s.removePoint(num(args[1], 'id'))) throw argError(`monitor delete: no point ${args[1]}`);
          return 'OK';
        default:
          out(`unknown monitor command ${JSON.stringify(cmd)}; try "monitor help"\n`);
          return 'OK';
      }
    } catch (e) {
      if (e instanceof RewindError) {
        out(`error: ${e.message}\n`);
        return 'E01';
      }
      throw e;
    }
  }
}

function commas(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function pctOf(p: Progress): number {
  return p.total > 0 ? Math.min(100, Math.floor((p.done * 100) / p.total)) : 0;
}

function le32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

