/**
 * GDB remote serial protocol, layer 2: a packet payload parsed into a typed
 * request. Parsing is total: every payload becomes exactly one request;
 * `unknown` gets the empty reply (the protocol's "not supported"), and
 * `malformed` an error reply. Nothing here throws.
 */
import { fromHexBytes } from './packets.js';

export type BreakType = 0 | 1 | 2 | 3 | 4;
export const BREAK = { SOFTWARE: 0, HARDWARE: 1, WRITE_WATCH: 2, READ_WATCH: 3, ACCESS_WATCH: 4 } as const;

export interface VContAction {
  action: 'c' | 's' | 't' | 'r';
  /** Thread id the action applies to, or null for "all" / unspecified. */
  thread: string | null;
  signal?: number;
  /** Range stepping (r start,end). */
  start?: number;
  end?: number;
}

export type GdbRequest =
  | { kind: 'haltReason' }
  | { kind: 'readRegisters' }
  | { kind: 'writeRegisters'; data: Uint8Array }
  | { kind: 'readRegister'; reg: number }
  | { kind: 'writeRegister'; reg: number; data: Uint8Array }
  | { kind: 'readMemory'; addr: number; length: number }
  | { kind: 'writeMemory'; addr: number; data: Uint8Array }
  | { kind: 'continue'; addr: number | null }
  | { kind: 'step'; addr: number | null }
  | { kind: 'reverseContinue' }
  | { kind: 'reverseStep' }
  | { kind: 'vContQuery' }
  | { kind: 'vCont'; actions: VContAction[] }
  | { kind: 'insertBreak'; type: BreakType; addr: number; length: number }
  | { kind: 'removeBreak'; type: BreakType; addr: number; length: number }
  | { kind: 'supported'; features: string[] }
  | { kind: 'startNoAck' }
  | { kind: 'xferFeatures'; annex: string; offset: number; length: number }
  | { kind: 'attached' }
  | { kind: 'currentThread' }
  | { kind: 'threadInfoFirst' }
  | { kind: 'threadInfoNext' }
  | { kind: 'offsets' }
  | { kind: 'symbol' }
  | { kind: 'monitor'; command: string }
  | { kind: 'detach' }
  | { kind: 'kill' }
  | { kind: 'mustReplyEmpty' }
  | { kind: 'setThread'; op: string; thread: string }
  | { kind: 'threadAlive'; thread: string }
  | { kind: 'unknown'; packet: string }
  | { kind: 'malformed'; packet: string; error: string };

const MAX_ADDR = 0xffffffff;
/** Largest m/M/X transfer we accept (the advertised PacketSize bounds it anyway). */
export const MAX_MEMORY_TRANSFER = 0x4000;

/** Parses a hex number of at most 8 digits (32-bit); null if malformed. */
export function parseHex32(s: string): number | null {
  if (s.length === 0 || s.length > 8 || !/^[0-9a-fA-F]+$/.test(s)) return null;
  return parseInt(s, 16);
}

function bad(packet: string, error: string): GdbRequest {
  return { kind: 'malformed', packet, error };
}

function addrLen(p: string, body: string): { addr: number; length: number } | GdbRequest {
  const m = /^([0-9a-fA-F]{1,8}),([0-9a-fA-F]{1,8})$/.exec(body);
  if (!m) return bad(p, 'expected ADDR,LENGTH in hex');
  const addr = parseInt(m[1]!, 16);
  const length = parseInt(m[2]!, 16);
  if (addr > MAX_ADDR) return bad(p, 'address out of range');
  return { addr, length };
}

function isReq(x: unknown): x is GdbRequest {
  return typeof x === 'object' && x !== null && 'kind' in x;
}

function parseThreadId(s: string): string | null {
  // p<pid>.<tid>, -1, 0, or hex
  return /^(p-?[0-9a-fA-F]+(\.-?[0-9a-fA-F]+)?|-1|[0-9a-fA-F]+)$/.test(s) ? s : null;
}

export function parseRequest(p: string): GdbRequest {
  if (p.length === 0) return { kind: 'unknown', packet: p };
  const c = p[0]!;
  const rest = p.slice(1);
  switch (c) {
    case '?':
      return rest === '' ? { kind: 'haltReason' } : bad(p, '"?" takes no arguments');
    case 'g':
      return rest === '' ? { kind: 'readRegisters' } : bad(p, '"g" takes no arguments');
    case 'G': {
      // gdb may send "xx" for registers it has as unavailable: they read as 0 and the server skips them.
      const data = fromHexBytes(rest.replace(/xx/g, '00'));
      return data && data.length > 0 ? { kind: 'writeRegisters', data } : bad(p, 'G needs hex register data');
    }
    case 'p': {
      const r = parseHex32(rest);
      return r === null ? bad(p, 'p needs a hex register number') : { kind: 'readRegister', reg: r };
    }
    case 'P': {
      const m = /^([0-9a-fA-F]{1,8})=([0-9a-fA-F]*)$/.exec(rest);
      const data = m ? fromHexBytes(m[2]!) : null;
      if (!m || !data || data.length === 0) return bad(p, 'P needs REG=HEXVALUE');
      return { kind: 'writeRegister', reg: parseInt(m[1]!, 16), data };
    }
    case 'm': {
      const r = addrLen(p, rest);
      if (isReq(r)) return r;
      if (r.length > MAX_MEMORY_TRANSFER) return bad(p, `memory read of ${r.length} bytes exceeds ${MAX_MEMORY_TRANSFER}`);
      return { kind: 'readMemory', addr: r.addr, length: r.length };
    }
    case 'M': {
      const colon = rest.indexOf(':');
      if (colon < 0) return bad(p, 'M needs ADDR,LENGTH:DATA');
      const r = addrLen(p, rest.slice(0, colon));
      if (isReq(r)) return r;
      const data = fromHexBytes(rest.slice(colon + 1));
      if (!data || data.length !== r.length) return bad(p, 'M data does not match its length');
      return { kind: 'writeMemory', addr: r.addr, data };
    }
    case 'X': {
      const colon = rest.indexOf(':');
      if (colon < 0) return bad(p, 'X needs ADDR,LENGTH:DATA');
      const r = addrLen(p, rest.slice(0, colon));
      if (isReq(r)) return r;
      const bin = rest.slice(colon + 1);
      if (bin.length !== r.length) return bad(p, 'X data does not match its length');
      return { kind: 'writeMemory', addr: r.addr, data: Uint8Array.from(bin, (ch) => ch.charCodeAt(0) & 0xff) };
    }
    case 'c':
    case 's': {
      let addr: number | null = null;
      if (rest !== '') {
        addr = parseHex32(rest);
        if (addr === null) return bad(p, `${c} takes an optional hex address`);
      }
      return { kind: c === 'c' ? 'continue' : 'step', addr };
    }
    case 'b':
      if (rest === 'c') return { kind: 'reverseContinue' };
      if (rest === 's') return { kind: 'reverseStep' };
      return { kind: 'unknown', packet: p };
    case 'Z':
    case 'z': {
      const m = /^([0-4]),([0-9a-fA-F]{1,8}),([0-9a-fA-F]{1,8})(;.*)?$/.exec(rest);
      if (!m) return bad(p, `${c} needs TYPE,ADDR,KIND`);
      const type = Number(m[1]) as BreakType;
      const addr = parseInt(m[2]!, 16);
      const length = parseInt(m[3]!, 16);
      if (type >= 2 && (length === 0 || length > 0x10000)) return bad(p, `watchpoint length ${length} out of range`);
      return { kind: c === 'Z' ? 'insertBreak' : 'removeBreak', type, addr, length };
    }
    case 'D':
      return { kind: 'detach' };
    case 'k':
      return { kind: 'kill' };
    case 'H': {
      if (rest.length < 2) return bad(p, 'H needs an operation and a thread id');
      const t = parseThreadId(rest.slice(1));
      return t === null ? bad(p, 'H: bad thread id') : { kind: 'setThread', op: rest[0]!, thread: t };
    }
    case 'T': {
      const t = parseThreadId(rest);
      return t === null ? bad(p, 'T: bad thread id') : { kind: 'threadAlive', thread: t };
    }
    case 'q':
    case 'Q':
      return parseQuery(p);
    case 'v':
      return parseV(p);
    default:
      return { kind: 'unknown', packet: p };
  }
}

function parseQuery(p: string): GdbRequest {
  if (p.startsWith('qSupported')) {
    const features = p.length > 11 && p[10] === ':' ? p.slice(11).split(';').filter((f) => f.length > 0) : [];
    return { kind: 'supported', features };
  }
  if (p === 'QStartNoAckMode') return { kind: 'startNoAck' };
  if (p.startsWith('qXfer:features:read:')) {
    const m = /^qXfer:features:read:([^:]*):([0-9a-fA-F]{1,8}),([0-9a-fA-F]{1,8})$/.exec(p);
    if (!m) return bad(p, 'qXfer:features:read needs ANNEX:OFFSET,LENGTH');
    return { kind: 'xferFeatures', annex: m[1]!, offset: parseInt(m[2]!, 16), length: parseInt(m[3]!, 16) };
  }
  if (p === 'qAttached' || p.startsWith('qAttached:')) return { kind: 'attached' };
  if (p === 'qC') return { kind: 'currentThread' };
  if (p === 'qfThreadInfo') return { kind: 'threadInfoFirst' };
  if (p === 'qsThreadInfo') return { kind: 'threadInfoNext' };
  if (p === 'qOffsets') return { kind: 'offsets' };
  if (p.startsWith('qSymbol:')) return { kind: 'symbol' };
  if (p.startsWith('qRcmd,')) {
    const bytes = fromHexBytes(p.slice(6));
    if (!bytes) return bad(p, 'qRcmd needs a hex-encoded command');
    return { kind: 'monitor', command: Buffer.from(bytes).toString('utf8') };
  }
  return { kind: 'unknown', packet: p };
}

function parseV(p: string): GdbRequest {
  if (p === 'vMustReplyEmpty') return { kind: 'mustReplyEmpty' };
  if (p === 'vCont?') return { kind: 'vContQuery' };
  if (p.startsWith('vKill')) return { kind: 'kill' };
  if (p.startsWith('vCont;')) {
    const actions: VContAction[] = [];
    for (const part of p.slice(6).split(';')) {
      const [act, thread] = part.split(':') as [string, string | undefined];
      const t = thread === undefined ? null : parseThreadId(thread);
      if (thread !== undefined && t === null) return bad(p, 'vCont: bad thread id');
      const kind = act[0];
      if (kind === 'c' || kind === 's') {
        if (act.length !== 1) return bad(p, `vCont: "${act}" takes no argument`);
        actions.push({ action: kind, thread: t });
      } else if (kind === 'C' || kind === 'S') {
        const sig = parseHex32(act.slice(1));
        if (sig === null || sig > 0xff) return bad(p, 'vCont: bad signal');
        actions.push({ action: kind === 'C' ? 'c' : 's', thread: t, signal: sig });
      } else if (kind === 't') {
        actions.push({ action: 't', thread: t });
      } else if (kind === 'r') {
        const m = /^r([0-9a-fA-F]{1,8}),([0-9a-fA-F]{1,8})$/.exec(act);
        if (!m) return bad(p, 'vCont: r needs START,END');
        actions.push({ action: 'r', thread: t, start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16) });
      } else return bad(p, `vCont: unknown action "${act}"`);
    }
    if (actions.length === 0) return bad(p, 'vCont with no action');
    return { kind: 'vCont', actions };
  }
  return { kind: 'unknown', packet: p };
}
