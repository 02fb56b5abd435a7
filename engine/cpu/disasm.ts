/**
 * Disassembler (Intel syntax, objdump -M intel style) driven by the same
 * opcode table as the executor (decode/opcodes.ts). Opcodes the CPU does not
 * execute (x87 mnemonics, SSE/MMX and other non-P6 maps) are still decoded
 * for length so that a listing stays in step; their text is "(bad)"-free but
 * generic ("fpu", "(unsupported 0f xx)").
 *
 * Documented differences from objdump (normalised by test/engine/cpu/disasm.test.ts):
 *  - x87 and SIMD instructions are decoded for length but not spelled out ("fpu",
 *    "(unsupported 0f xx)"); x87 encodings a P6 lacks are "(bad)" with their memory
 *    operand's length, like objdump's holes, including FISTTP (SSE3) and DB E5 (the
 *    287XL's FRSTPM) that objdump spells; the undocumented aliases a P6 executes
 *    (FSTP1 D9 D8+i, FXCH4 DD C8+i, FCOM2/FCOMP3/FCOMP5, FXCH7, FSTP8/9) are "fpu"
 *    where objdump says "(bad)";
 *  - objdump names prefixes that have no effect ("fs", "data16", "addr16", repeated
 *    "repnz"); MPX "bnd" and HLE "xacquire"/"xrelease" are shown as repnz/repz; we omit them (a REP before a non-string instruction is kept);
 *  - 16-bit branch targets wrap at 64 KiB here (as the CPU does), objdump's do not;
 *  - SIMD encodings that objdump rejects as "(bad)" (counted up to their opcode
 *    bytes) are decoded with their ModRM/immediate as if valid; 8F with a ModRM reg
 *    field other than 0 is an XOP prefix to objdump in 16-bit code;
 *  - 62/C4/C5/8F with a register ModRM are EVEX/VEX/XOP prefixes to objdump; on a P6
 *    they are BOUND/LES/LDS/POP with an invalid operand (#UD), listed as a 1-byte "(bad)".
 */
import { OPS, PREFIXES, type OpEntry } from './decode/opcodes.js';
import { x87IsValid } from './x87/x87.js';

export interface Disassembly {
  /** Instruction length in bytes. */
  length: number;
  /** Intel-syntax text, e.g. "mov    eax,DWORD PTR [ebp-0x8]". */
  text: string;
}

/** Returns a symbol name for an address, or null. */
export type SymbolLookup = (addr: number) => string | null;

const R8N = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const R16N = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const R32N = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const SREG = ['es', 'cs', 'ss', 'ds', 'fs', 'gs', '?', '?'];
const A16 = ['bx+si', 'bx+di', 'bp+si', 'bp+di', 'si', 'di', 'bp', 'bx'];

/** Operand specs that take a ModRM byte (not the fixed registers ES, DS, DX...). */
const MODRM_SPEC = /(^|,)(E[bwdv]|G[bwv]|M[a-z]?|Sw|Cd|Dd|Rd)(,|$)/;

const byOp: (OpEntry[] | undefined)[] = new Array(0x200);
for (const x of OPS) (byOp[x.op] ??= []).push(x);

/** 0F-map opcodes the CPU does not execute but objdump decodes: [hasModrm, immBytes]. */
function extra0f(op: number): [boolean, number] | null {
  if (op === 0x0f) return [true, 1]; // 3DNow!: ModRM + suffix byte
  if (op === 0x3a) return [true, 1]; // three-byte map (the next byte is the opcode)
  if ((op >= 0x70 && op <= 0x73) || op === 0xc2 || op === 0xc4 || op === 0xc5 || op === 0xc6) return [true, 1];
  if (
    (op >= 0x10 && op <= 0x18) || op === 0x0d || (op >= 0x28 && op <= 0x2f) || op === 0x38 || (op >= 0x50 && op <= 0x6f) ||
    (op >= 0x74 && op <= 0x76) || op === 0x78 || op === 0x79 || (op >= 0x7c && op <= 0x7f) || op === 0xae || op === 0xb8 ||
    op === 0xb9 || op === 0xc3 || op === 0xc7 || (op >= 0xd0 && op <= 0xff) || op === 0xa6 || op === 0xa7
  )
    return [true, 0];
  return null;
}

class Reader {
  bytes: Uint8Array = new Uint8Array(0);
  pos = 0;
  u8(): number {
    if (this.pos >= this.bytes.length) throw new RangeError('truncated');
    return this.bytes[this.pos++]!;
  }
  u16(): number {
    return this.u8() | (this.u8() << 8);
  }
  u32(): number {
    return (this.u16() | (this.u16() << 16)) >>> 0;
  }
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}
function sdisp(n: number): string {
  return n < 0 ? '-' + hex(-n) : '+' + hex(n);
}

/**
 * Disassembles one instruction from `bytes` (which start at the instruction).
 * `code32`: default operand/address size of the code segment. `eip`: the
 * instruction's offset (for relative branch targets).
 */
export function disassemble(bytes: Uint8Array, code32: boolean, eip = 0, symbols: SymbolLookup | null = null): Disassembly {
  const r = new Reader();
  r.bytes = bytes;
  try {
    return decodeOne(r, code32, eip, symbols);
  } catch {
    return { length: Math.max(1, Math.min(bytes.length, 1)), text: '(bad)' };
  }
}

function decodeOne(r: Reader, code32: boolean, eip: number, symbols: SymbolLookup | null): Disassembly {
  let osz32 = code32;
  let asz32 = code32;
  let seg = -1;
  let rep = '';
  let lock = false;
  let b = r.u8();
  const prefixes: number[] = [];
  while (PREFIXES.has(b)) {
    prefixes.push(b);
    if (b === 0x66) osz32 = !code32;
    else if (b === 0x67) asz32 = !code32;
    else if (b === 0xf0) lock = true;
    else if (b === 0xf2) rep = 'repnz ';
    else if (b === 0xf3) rep = 'repz ';
    else seg = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].indexOf(b) === -1 ? seg : [0, 1, 2, 3, 4, 5][[0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].indexOf(b)]!;
    if (prefixes.length >= 15) return { length: r.pos, text: '(bad)' };
    b = r.u8();
  }
  let op = b;
  if (b === 0x0f) op = 0x100 | r.u8();
  const list = byOp[op];
  // ---- opcodes outside the executed table: length only ----
  if (!list) {
    if (op >= 0xd8 && op <= 0xdf) {
      const m = r.u8();
      if (m < 0xc0) modrmMem(r, m, asz32, seg, '');
      return { length: r.pos, text: 'fpu' };
    }
    if (op >= 0x100) {
      if ((op & 0xff) === 0x38 || (op & 0xff) === 0x3a) r.u8();
      const x = extra0f(op & 0xff);
      if (x) {
        if (x[0]) {
          const m = r.u8();
          if (m < 0xc0) modrmMem(r, m, asz32, seg, '');
        }
        for (let i = 0; i < x[1]; i++) r.u8();
        return { length: r.pos, text: `(unsupported 0f ${(op & 0xff).toString(16).padStart(2, '0')})` };
      }
    }
    return { length: r.pos, text: '(bad)' };
  }
  let entry = list[0]!;
  let modrm = -1;
  const needsModrm = entry.reg >= 0 || MODRM_SPEC.test(entry.ops) || entry.ops === 'FPU';
  if (needsModrm) {
    modrm = r.u8();
    if (entry.reg >= 0) {
      const found = list.find((x) => x.reg === ((modrm >> 3) & 7));
      if (!found) {
        // objdump consumes only the opcode of an undefined group member
        return { length: r.pos - 1, text: '(bad)' };
      }
      entry = found;
    }
  }
  // a register operand where only memory is allowed (LEA, LES, BOUND...): objdump shows "(bad)" after the opcode
  if (modrm >= 0xc0 && /(^|,)M/.test(entry.ops)) return { length: r.pos - 1, text: '(bad)' };
  // FWAIT followed by an ESC opcode is listed as one instruction (fstsw, fstcw, finit...)
  if (op === 0x9b && r.pos < r.bytes.length && r.bytes[r.pos]! >= 0xd8 && r.bytes[r.pos]! <= 0xdf) {
    const m = (r.u8(), r.u8());
    if (m < 0xc0) modrmMem(r, m, asz32, seg, '');
    return { length: r.pos, text: 'fpu' };
  }
  if (entry.ops === 'FPU') {
    if (modrm < 0xc0) modrmMem(r, modrm, asz32, seg, '');
    // encodings a P6 raises #UD for (FISTTP, the opcode map's holes) are "(bad)" at full length, as objdump's holes are
    return { length: r.pos, text: x87IsValid(op, modrm) ? 'fpu' : '(bad)' };
  }
  const names = entry.mn.split('|');
  let mn = osz32 && names.length > 1 ? names[1]! : names[0]!;
  if (op === 0xe3) mn = asz32 ? 'jecxz' : 'jcxz';
  const vsz = osz32 ? 4 : 2;
  const regv = osz32 ? R32N : R16N;
  let memText = '';
  const memFor = (size: number): string => {
    if (memText === '') memText = modrmMem(r, modrm, asz32, seg, ptrName(size));
    return memText;
  };
  const nextEip = (): number => eip + r.pos;
  const operands: string[] = [];
  const specs = entry.ops === '' || entry.ops === 'FPU' || entry.ops === 'XLAT' ? [] : entry.ops.split(',');
  // ModRM-memory operands must be decoded (displacement) before immediates: do E/M first in order
  const out: (string | null)[] = specs.map(() => null);
  specs.forEach((s, i) => {
    if (/^(E|M)/.test(s) && modrm >= 0) {
      if (modrm >= 0xc0) {
        if (s[0] === 'M') out[i] = '(bad)';
        else out[i] = regName(s, modrm & 7, osz32);
      } else {
        const size = s === 'Eb' ? 1 : s === 'Ew' ? 2 : s === 'Ed' ? 4 : s === 'Ev' ? vsz : s === 'Mp' ? (osz32 ? 6 : 4) : s === 'Mq' ? 8 : s === 'Ma' ? (osz32 ? 8 : 4) : 0;
        out[i] = memFor(size);
      }
    }
  });
  specs.forEach((s, i) => {
    if (out[i] !== null) return;
    let t: string;
    switch (s) {
      case 'Gb': t = R8N[(modrm >> 3) & 7]!; break;
      case 'Gw': t = R16N[(modrm >> 3) & 7]!; break;
      case 'Gv': t = regv[(modrm >> 3) & 7]!; break;
      case 'Sw': t = SREG[(modrm >> 3) & 7]!; break;
      case 'Cd': t = 'cr' + ((modrm >> 3) & 7); break;
      case 'Dd': t = 'db' + ((modrm >> 3) & 7); break;
      case 'Rd': t = R32N[modrm & 7]!; break;
      case 'Ib': t = hex(r.u8()); break;
      case 'Ibs': {
        const v = (r.u8() << 24) >> 24;
        t = hex(osz32 ? v : v & 0xffff);
        break;
      }
      case 'Iw': t = hex(r.u16()); break;
      case 'Iv': t = hex(osz32 ? r.u32() : r.u16()); break;
      case 'Jb': {
        const d = (r.u8() << 24) >> 24;
        t = target((nextEip() + d) >>> 0, osz32, symbols);
        break;
      }
      case 'Jv': {
        const d = osz32 ? r.u32() | 0 : (r.u16() << 16) >> 16;
        t = target((nextEip() + d) >>> 0, osz32, symbols);
        break;
      }
      case 'Ap': {
        const o = osz32 ? r.u32() : r.u16();
        const sel = r.u16();
        t = `${hex(sel)}:${hex(o)}`;
        break;
      }
      case 'Ob':
      case 'Ov': {
        const o = asz32 ? r.u32() : r.u16();
        t = `${SREG[seg >= 0 ? seg : 3]}:${hex(o)}`;
        break;
      }
      case 'Zb': t = R8N[op & 7]!; break;
      case 'Zv': t = regv[op & 7]!; break;
      case 'Zd': t = regv[op & 7]!; break;
      case 'AL': t = 'al'; break;
      case 'CL': t = 'cl'; break;
      case 'DX': t = 'dx'; break;
      case 'eAX': t = osz32 ? 'eax' : 'ax'; break;
      case '1': t = '1'; break;
      case 'Xb':
      case 'Xv': t = `${ptrName(s === 'Xb' ? 1 : vsz)}${SREG[seg >= 0 ? seg : 3]}:[${asz32 ? 'esi' : 'si'}]`; break;
      case 'Yb':
      case 'Yv': t = `${ptrName(s === 'Yb' ? 1 : vsz)}es:[${asz32 ? 'edi' : 'di'}]`; break;
      case 'ES': case 'CS': case 'SS': case 'DS': case 'FS': case 'GS': t = s.toLowerCase(); break;
      default: t = s;
    }
    out[i] = t;
  });
  for (const o of out) operands.push(o!);
  if (op === 0x8c && modrm >= 0xc0) operands[0] = (osz32 ? R32N : R16N)[modrm & 7]!;
  if (op === 0x8e && modrm >= 0xc0) operands[1] = (code32 ? R32N : R16N)[modrm & 7]!;
  // spelling as objdump does
  if (/^(movs|cmps|stos|lods|scas|ins|outs)[bwd]$/.test(mn)) mn = mn.slice(0, -1);
  else if (code32 && /^(pushfd|popfd|pushad|popad|iretd)$/.test(mn)) mn = mn.slice(0, -1);
  else if (code32 && !osz32 && /^(pushf|popf|pusha|popa|iret)$/.test(mn)) mn += 'w';
  if (mn === 'sal') mn = 'shl';
  if (osz32 !== code32 && /^(ret|retf|enter|leave)$/.test(mn)) mn += osz32 ? 'd' : 'w';
  if (op === 0xd7) {
    operands.push(`BYTE PTR ${SREG[seg >= 0 ? seg : 3]}:[${asz32 ? 'ebx' : 'bx'}]`);
    mn = 'xlat';
  }
  const isString = (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) || (op >= 0x6c && op <= 0x6f);
  let pfx = '';
  if (lock) pfx += 'lock ';
  if (rep) pfx += isString ? (rep === 'repz ' && (op === 0xa6 || op === 0xa7 || op === 0xae || op === 0xaf) ? 'repz ' : rep === 'repz ' ? 'rep ' : 'repnz ') : rep;
  const text = operands.length ? `${(pfx + mn).padEnd(6)} ${operands.join(',')}` : `${pfx}${mn}`;
  return { length: r.pos, text: text.trimEnd() };
}

function regName(spec: string, rm: number, osz32: boolean): string {
  if (spec === 'Eb') return R8N[rm]!;
  if (spec === 'Ew') return R16N[rm]!;
  if (spec === 'Ed') return R32N[rm]!;
  return (osz32 ? R32N : R16N)[rm]!;
}

function ptrName(size: number): string {
  switch (size) {
    case 1: return 'BYTE PTR ';
    case 2: return 'WORD PTR ';
    case 4: return 'DWORD PTR ';
    case 6: return 'FWORD PTR ';
    case 8: return 'QWORD PTR ';
    case 10: return 'TBYTE PTR ';
    default: return '';
  }
}

function target(addr: number, osz32: boolean, symbols: SymbolLookup | null): string {
  const a = osz32 ? addr >>> 0 : addr & 0xffff;
  const sym = symbols ? symbols(a) : null;
  return sym ? `${hex(a)} <${sym}>` : hex(a);
}

/** Decodes the memory form of a ModRM (consuming SIB/displacement) and formats it. */
function modrmMem(r: Reader, m: number, asz32: boolean, seg: number, ptr: string): string {
  const mod = m >> 6;
  const rm = m & 7;
  const segPfx = seg >= 0 ? SREG[seg] + ':' : '';
  if (!asz32) {
    if (mod === 0 && rm === 6) return `${ptr}${seg >= 0 ? SREG[seg] : 'ds'}:${hex(r.u16())}`;
    let d = '';
    if (mod === 1) d = sdisp((r.u8() << 24) >> 24);
    else if (mod === 2) d = sdisp((r.u16() << 16) >> 16);
    return `${ptr}${segPfx}[${A16[rm]}${d}]`;
  }
  let base = -1;
  let index = -1;
  let scale = 0;
  let disp: number | null = null;
  if (rm === 4) {
    const sib = r.u8();
    scale = sib >> 6;
    index = (sib >> 3) & 7;
    base = sib & 7;
    if (index === 4) index = scale !== 0 || base !== 4 ? 8 : -1; // objdump shows "no index" as eiz unless the base is esp
    if (base === 5 && mod === 0) {
      base = -1;
      disp = r.u32() | 0;
      if (index === 8 && scale === 0 && disp !== null) index = 8;
    }
  } else if (rm === 5 && mod === 0) {
    return `${ptr}${seg >= 0 ? SREG[seg] : 'ds'}:${hex(r.u32())}`;
  } else base = rm;
  if (mod === 1) disp = (r.u8() << 24) >> 24;
  else if (mod === 2) disp = r.u32() | 0;
  let inner = base >= 0 ? R32N[base]! : '';
  if (index >= 0) inner += (inner ? '+' : '') + `${index === 8 ? 'eiz' : R32N[index]}*${1 << scale}`;
  if (disp !== null) {
    if (inner === '') inner = hex(disp);
    else if (base < 0) inner += sdisp(disp);
    else inner += sdisp(disp);
  }
  if (base < 0 && (index < 0 || (index === 8 && false))) return `${ptr}${seg >= 0 ? SREG[seg] : 'ds'}:${hex(disp ?? 0)}`;
  return `${ptr}${segPfx}[${inner}]`;
}
