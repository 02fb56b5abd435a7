/**
 * The condition language for breakpoints and watchpoints, e.g.
 *   eax == 0x10 && [esp+4] != 0
 *   byte [esi] == 'A' || (ecx & 0xff) > 3 && zf
 *
 * Values are unsigned 32-bit integers; comparisons are unsigned; a condition
 * holds when its value is non-zero. Operands: numbers (decimal, 0x hex, 0b
 * binary, 0o octal, 'c' character), registers (32/16/8-bit names, eip/ip,
 * eflags/flags, segment and control registers, flag bits cf pf af zf sf tf if
 * df of), `icount`, symbols (resolved when compiled), memory `[expr]` read at
 * a linear address, optionally sized `byte`/`word`/`dword` (`ptr` allowed).
 * Operators, loosest first: || && | ^ & (== !=) (< <= > >=) (<< >>) (+ -)
 * (* / %) and unary - ! ~.
 *
 * Compile errors are RewindErrors naming the column: `expected "]" at column 9`.
 */
import { RewindError, ERR } from '../../engine/errors.js';
import { REG, type RegId } from './target.js';

export interface EvalContext {
  reg(id: RegId): number;
  /** Reads `size` bytes (1, 2, 4) little-endian at a linear address; throws if unmapped. */
  readLinear(linAddr: number, size: number): number;
  icount(): number;
}

export type Compiled = (ctx: EvalContext) => number;

export interface CompiledExpr {
  source: string;
  evaluate: Compiled;
}

type Tok = { t: 'num'; v: number; col: number } | { t: 'id'; v: string; col: number } | { t: 'op'; v: string; col: number } | { t: 'end'; col: number };

const OPS = ['||', '&&', '==', '!=', '<=', '>=', '<<', '>>', '|', '^', '&', '<', '>', '+', '-', '*', '/', '%', '!', '~', '(', ')', '[', ']'];

function exprError(src: string, col: number, what: string): RewindError {
  return new RewindError(ERR.ARGUMENT, `${what} at column ${col + 1} of "${src}"`);
}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const col = i;
    if (/[0-9]/.test(ch)) {
      const m = /^(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9][0-9_]*)/.exec(src.slice(i))!;
      const text = m[0].replace(/_/g, '');
      if (/[0-9a-zA-Z_]/.test(src[i + m[0].length] ?? '')) throw exprError(src, col, `bad number "${src.slice(i).split(/[^0-9a-zA-Z_]/)[0]}"`);
      let v: number;
      if (/^0[xX]/.test(text)) v = parseInt(text.slice(2), 16);
      else if (/^0[bB]/.test(text)) v = parseInt(text.slice(2), 2);
      else if (/^0[oO]/.test(text)) v = parseInt(text.slice(2), 8);
      else v = parseInt(text, 10);
      if (!Number.isFinite(v) || v > 0xffffffff) throw exprError(src, col, `number ${m[0]} does not fit in 32 bits`);
      out.push({ t: 'num', v, col });
      i += m[0].length;
      continue;
    }
    if (ch === "'") {
      if (src[i + 2] !== "'" || i + 1 >= src.length) throw exprError(src, col, 'bad character literal (use \'c\')');
      out.push({ t: 'num', v: src.charCodeAt(i + 1) & 0xff, col });
      i += 3;
      continue;
    }
    if (/[A-Za-z_.$]/.test(ch)) {
      const m = /^[A-Za-z_.$][A-Za-z0-9_.$@]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0], col });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw exprError(src, col, `unexpected character "${ch}"`);
    out.push({ t: 'op', v: op, col });
    i += op.length;
  }
  out.push({ t: 'end', col: src.length });
  return out;
}

type RegRead = { id: RegId; shift: number; mask: number };

const FLAG_BITS: Record<string, number> = { cf: 0, pf: 2, af: 4, zf: 6, sf: 7, tf: 8, if: 9, df: 10, of: 11 };

function registerByName(name: string): RegRead | null {
  const n = name.toLowerCase();
  const r32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'].indexOf(n);
  if (r32 >= 0) return { id: r32 as RegId, shift: 0, mask: 0xffffffff };
  const r16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'].indexOf(n);
  if (r16 >= 0) return { id: r16 as RegId, shift: 0, mask: 0xffff };
  const r8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'].indexOf(n);
  if (r8 >= 0) return { id: (r8 & 3) as RegId, shift: r8 >= 4 ? 8 : 0, mask: 0xff };
  const named: Record<string, RegRead> = {
    eip: { id: REG.EIP, shift: 0, mask: 0xffffffff },
    ip: { id: REG.EIP, shift: 0, mask: 0xffff },
    eflags: { id: REG.EFLAGS, shift: 0, mask: 0xffffffff },
    flags: { id: REG.EFLAGS, shift: 0, mask: 0xffff },
    cs: { id: REG.CS, shift: 0, mask: 0xffff },
    ss: { id: REG.SS, shift: 0, mask: 0xffff },
    ds: { id: REG.DS, shift: 0, mask: 0xffff },
    es: { id: REG.ES, shift: 0, mask: 0xffff },
    fs: { id: REG.FS, shift: 0, mask: 0xffff },
    gs: { id: REG.GS, shift: 0, mask: 0xffff },
    cr0: { id: REG.CR0, shift: 0, mask: 0xffffffff },
    cr2: { id: REG.CR2, shift: 0, mask: 0xffffffff },
    cr3: { id: REG.CR3, shift: 0, mask: 0xffffffff },
    cr4: { id: REG.CR4, shift: 0, mask: 0xffffffff },
  };
  const r = named[n];
  if (r) return r;
  const bit = FLAG_BITS[n];
  if (bit !== undefined) return { id: REG.EFLAGS, shift: bit, mask: 1 };
  return null;
}

const SIZES: Record<string, number> = { byte: 1, word: 2, dword: 4 };

/** Resolves a symbol name to an address, or returns null if unknown. */
export type SymbolResolver = (name: string) => number | null;

class Parser {
  private pos = 0;
  private readonly toks: Tok[];
  private readonly src: string;
  private readonly resolve: SymbolResolver;
  constructor(src: string, resolve: SymbolResolver) {
    this.src = src;
    this.toks = tokenize(src);
    this.resolve = resolve;
  }

  private peek(): Tok {
    return this.toks[this.pos]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  private expect(v: string): void {
    if (!this.isOp(v)) throw this.err(`expected "${v}"`);
    this.pos++;
  }
  private err(what: string): RewindError {
    const t = this.peek();
    const found = t.t === 'end' ? 'end of expression' : t.t === 'num' ? `number` : `"${t.v}"`;
    return exprError(this.src, t.col, `${what}, found ${found}`);
  }

  parse(): Compiled {
    if (this.peek().t === 'end') throw exprError(this.src, 0, 'empty expression');
    const e = this.binary(0);
    if (this.peek().t !== 'end') throw this.err('expected an operator or the end');
    return e;
  }

  private static readonly LEVELS: string[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

  private binary(level: number): Compiled {
    if (level >= Parser.LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.t !== 'op' || !Parser.LEVELS[level]!.includes(t.v)) return left;
      this.pos++;
      const right = this.binary(level + 1);
      left = combine(t.v, left, right);
    }
  }

  private unary(): Compiled {
    if (this.isOp('-')) {
      this.pos++;
      const e = this.unary();
      return (c) => -e(c) >>> 0;
    }
    if (this.isOp('!')) {
      this.pos++;
      const e = this.unary();
      return (c) => (e(c) === 0 ? 1 : 0);
    }
    if (this.isOp('~')) {
      this.pos++;
      const e = this.unary();
      return (c) => ~e(c) >>> 0;
    }
    return this.primary();
  }

  private primary(): Compiled {
    const t = this.peek();
    if (t.t === 'num') {
      this.pos++;
      const v = t.v;
      return () => v;
    }
    if (this.isOp('(')) {
      this.pos++;
      const e = this.binary(0);
      this.expect(')');
      return e;
    }
    if (this.isOp('[')) return this.deref(4);
    if (t.t === 'id') {
      const size = SIZES[t.v.toLowerCase()];
      if (size !== undefined) {
        this.pos++;
        const n = this.peek();
        if (n.t === 'id' && n.v.toLowerCase() === 'ptr') this.pos++;
        if (!this.isOp('[')) throw this.err(`expected "[" after "${t.v}"`);
        return this.deref(size);
      }
      this.pos++;
      const r = registerByName(t.v);
      if (r) {
        const { id, shift, mask } = r;
        return (c) => ((c.reg(id) >>> shift) & mask) >>> 0;
      }
      if (t.v.toLowerCase() === 'icount') return (c) => c.icount();
      const addr = this.resolve(t.v);
      if (addr === null) throw exprError(this.src, t.col, `unknown register or symbol "${t.v}"`);
      return () => addr;
    }
    throw this.err('expected a number, register, symbol, "(" or "["');
  }

  private deref(size: number): Compiled {
    this.expect('[');
    const e = this.binary(0);
    this.expect(']');
    return (c) => c.readLinear(e(c), size) >>> 0;
  }
}

function combine(op: string, a: Compiled, b: Compiled): Compiled {
  switch (op) {
    case '||': return (c) => (a(c) !== 0 || b(c) !== 0 ? 1 : 0);
    case '&&': return (c) => (a(c) !== 0 && b(c) !== 0 ? 1 : 0);
    case '|': return (c) => (a(c) | b(c)) >>> 0;
    case '^': return (c) => (a(c) ^ b(c)) >>> 0;
    case '&': return (c) => (a(c) & b(c)) >>> 0;
    case '==': return (c) => (a(c) === b(c) ? 1 : 0);
    case '!=': return (c) => (a(c) !== b(c) ? 1 : 0);
    case '<': return (c) => (a(c) < b(c) ? 1 : 0);
    case '<=': return (c) => (a(c) <= b(c) ? 1 : 0);
    case '>': return (c) => (a(c) > b(c) ? 1 : 0);
    case '>=': return (c) => (a(c) >= b(c) ? 1 : 0);
    case '<<': return (c) => (a(c) << (b(c) & 31)) >>> 0;
    case '>>': return (c) => a(c) >>> (b(c) & 31);
    case '+': return (c) => (a(c) + b(c)) >>> 0;
    case '-': return (c) => (a(c) - b(c)) >>> 0;
    case '*': return (c) => Math.imul(a(c), b(c)) >>> 0;
    case '/': return (c) => { const d = b(c); if (d === 0) throw new RewindError(ERR.ARGUMENT, 'division by zero in condition'); return Math.floor(a(c) / d) >>> 0; };
    case '%': return (c) => { const d = b(c); if (d === 0) throw new RewindError(ERR.ARGUMENT, 'division by zero in condition'); return a(c) % d >>> 0; };
  }
  throw new Error(`internal: operator ${op}`);
}

/** Compiles an expression; throws a RewindError with the column of the problem. */
export function compileExpr(source: string, resolve: SymbolResolver = () => null): CompiledExpr {
  return { source, evaluate: new Parser(source, resolve).parse() };
}
