/**
 * The decoded-instruction cache (STYLE §6, Bochs' icache): an instruction is
 * decoded once (prefixes, opcode, ModRM, SIB, displacement, immediate) into a
 * slot of typed arrays, and every later execution calls the slot's handler
 * with the decoded fields instead of fetching and parsing bytes again.
 *
 * Slots are direct-mapped by the instruction's offset in `PhysMemory.mem`
 * (its physical location), tagged with `offset * 2 + code32` (the default
 * operand/address size is the only mode the decoding depends on). A slot is
 * filled only for an instruction that lies within one page that the CPU's
 * fetch fast path has cached (so the CS limit holds for every byte of it).
 *
 * Self-modifying code: a RAM page with decoded instructions is flagged in
 * `PhysMemory.codePages`. The CPU never keeps a TLB write entry for a flagged
 * page, so every write to it takes the general path, which calls
 * `onCodeWrite(page)`: the page's slots are dropped and the flag cleared. A
 * page that keeps being written while it holds code (code and data sharing a
 * page) is then not cached for a while (DC_THRASH_*): its instructions run on the
 * byte-fetching path, which is always exact.
 *
 * Which instructions are pre-decoded: the integer instructions that dominate
 * real workloads (ALU, MOV, TEST, LEA, MOVZX/MOVSX, IMUL, 32-bit shifts,
 * Jcc/JMP/CALL with a 32-bit operand size, PUSH imm) get handlers written
 * against the decoded fields (exec/pre-fast.ts, generated); instructions with
 * no operand bytes and no prefix run their ordinary handler; everything else
 * (REP/LOCK prefixes, x87, system instructions, ...) is cached as "legacy":
 * the slot's handler runs the byte-fetching dispatch, so the cache never
 * changes what an instruction does, only how often it is parsed.
 *
 * The cache is host state, not machine state: it is never saved; reset
 * empties it, and a snapshot restore drops the pages whose bytes it rewrites.
 */
import type { Cpu } from '../cpu.js';
import { SEG } from '../flags.js';
import { R8 } from '../flags.js';
import { OPS, hasModrm, PREFIXES } from './opcodes.js';
import { PRE_FNS, legacyExec } from '../exec/pre-fast.js';
import type { PreFn } from '../exec/pre-fast.js';

export const DC_BITS = 17;
export const DC_SLOTS = 1 << DC_BITS;
export const DC_MASK = DC_SLOTS - 1;
/**
 * Code and data sharing a page: when a page's decoded instructions are
 * dropped by the guest's own stores DC_THRASH_LIMIT times in a row, each
 * within DC_THRASH_WINDOW instructions of the previous one, its instructions
 * run uncached for DC_NOCACHE_SPAN instructions, then get another chance.
 * Writes further apart (Linux patching jump labels and alternatives into its
 * text during boot) do not count: re-decoding after them is cheap.
 */
export const DC_THRASH_LIMIT = 32;
export const DC_THRASH_WINDOW = 100_000;
export const DC_NOCACHE_SPAN = 10_000_000;


// ---------------------------------------------------------------------------
// The decoder's table, built from the opcode table and the pre-decoded handlers
// ---------------------------------------------------------------------------

/** Immediate kinds. */
const IMM_NONE = 0;
const IMM_B = 1; // 8-bit, zero-extended
const IMM_BS = 2; // 8-bit, sign-extended to 32 bits
const IMM_BSW = 3; // 8-bit, sign-extended to 16 bits
const IMM_W = 4; // 16-bit
const IMM_D = 5; // 32-bit

/** Register index kinds: how a 3-bit register number indexes reg32 / reg16 / reg8. */
const RK_D = 0;
const RK_W = 1;
const RK_B = 2;

const KIND_NONE = 0;
const KIND_PLAIN = 1;
const KIND_MODRM = 2;
const KIND_IMM = 3;

/** Per dispatch index (0-1023, as buildDispatch): what follows the opcode. */
const kind = new Uint8Array(1024);
/** Per dispatch index x 8 (ModRM.reg for groups, 0 otherwise). */
/** Handlers of the register and memory forms; null: not pre-decoded. */
const fnReg: (PreFn | null)[] = new Array<PreFn | null>(8192).fill(null);
const fnMem: (PreFn | null)[] = new Array<PreFn | null>(8192).fill(null);
const immKind = new Uint8Array(8192);
const rKind = new Uint8Array(8192);
const mKind = new Uint8Array(8192);
/** KIND_IMM: the fixed register operand (before mapping by mKind). */
const fixedReg = new Uint8Array(1024);
const isGroup = new Uint8Array(1024);
const plainHandler: (PreFn | null)[] = new Array<PreFn | null>(1024).fill(null);

function pre(name: string): PreFn {
  const f = PRE_FNS[name];
  if (f === undefined) throw new Error(`decode-cache: no pre-decoded handler ${name}`);
  return f;
}

/** idx: dispatch index; reg: -1 = every ModRM.reg value. */
function modrm(idx: number, reg: number, reg_: string | null, mem: string | null, imm: number, rk: number, mk: number): void {
  kind[idx] = KIND_MODRM;
  if (reg >= 0) isGroup[idx] = 1;
  for (let r = 0; r < 8; r++) {
    if (reg >= 0 && r !== reg) continue;
    const k = idx * 8 + r;
    fnReg[k] = reg_ === null ? null : pre(reg_);
    fnMem[k] = mem === null ? null : pre(mem);
    immKind[k] = imm;
    rKind[k] = rk;
    mKind[k] = mk;
  }
}
function immOnly(idx: number, fn: string, imm: number, fixed: number, mk: number): void {
  kind[idx] = KIND_IMM;
  const k = idx * 8;
  fnReg[k] = pre(fn);
  immKind[k] = imm;
  mKind[k] = mk;
  fixedReg[idx] = fixed;
}

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const O16 = 0;
const O32 = 256;
const MAP0F = 512;
const SZ = [
  [O16, 'w', RK_W],
  [O32, 'd', RK_D],
] as const;

let built = false;
/** Builds the decoder's table (on first use: opcodes.ts and this module import each other through the CPU). */
export function buildDecodeTable(): void {
  if (built) return;
  built = true;
  for (const x of PREFIXES) PREFIX_BYTE[x] = 1;
  // Instructions with no operand bytes run their ordinary handler (when unprefixed).
  const operandToken = /^(I|J|O)/;
  for (const x of OPS) {
    if (x.reg >= 0 || hasModrm(x.op)) continue;
    if (x.ops.split(',').some((t) => operandToken.test(t) || t === 'Ap')) continue;
    const base = x.op >= 0x100 ? MAP0F + (x.op & 0xff) : x.op;
    kind[base] = KIND_PLAIN;
    kind[base + O32] = KIND_PLAIN;
    plainHandler[base] = x.h16;
    plainHandler[base + O32] = x.h32;
  }
  for (let i = 0; i < 8; i++) {
    const op = ALU[i]!;
    const b = i << 3;
    for (const [o, x, rk] of SZ) {
      modrm(b + o, -1, `${op}_EbGb_reg`, `${op}_EbGb_mem`, IMM_NONE, RK_B, RK_B);
      modrm(b + 1 + o, -1, `${op}_E${x}G${x}_reg`, `${op}_E${x}G${x}_mem`, IMM_NONE, rk, rk);
      modrm(b + 2 + o, -1, `${op}_GbEb_reg`, `${op}_GbEb_mem`, IMM_NONE, RK_B, RK_B);
      modrm(b + 3 + o, -1, `${op}_G${x}E${x}_reg`, `${op}_G${x}E${x}_mem`, IMM_NONE, rk, rk);
      immOnly(b + 4 + o, `${op}_EbI_reg`, IMM_B, 0, RK_B);
      immOnly(b + 5 + o, `${op}_E${x}I_reg`, x === 'd' ? IMM_D : IMM_W, 0, rk);
      modrm(0x80 + o, i, `${op}_EbI_reg`, `${op}_EbI_mem`, IMM_B, RK_B, RK_B);
      modrm(0x81 + o, i, `${op}_E${x}I_reg`, `${op}_E${x}I_mem`, x === 'd' ? IMM_D : IMM_W, rk, rk);
      modrm(0x83 + o, i, `${op}_E${x}I_reg`, `${op}_E${x}I_mem`, x === 'd' ? IMM_BS : IMM_BSW, rk, rk);
    }
  }
  for (const [o, x, rk] of SZ) {
    modrm(0x84 + o, -1, 'test_EbGb_reg', 'test_EbGb_mem', IMM_NONE, RK_B, RK_B);
    modrm(0x85 + o, -1, `test_E${x}G${x}_reg`, `test_E${x}G${x}_mem`, IMM_NONE, rk, rk);
    modrm(0x88 + o, -1, 'mov_EbGb_reg', 'mov_EbGb_mem', IMM_NONE, RK_B, RK_B);
    modrm(0x89 + o, -1, `mov_E${x}G${x}_reg`, `mov_E${x}G${x}_mem`, IMM_NONE, rk, rk);
    modrm(0x8a + o, -1, 'mov_GbEb_reg', 'mov_GbEb_mem', IMM_NONE, RK_B, RK_B);
    modrm(0x8b + o, -1, `mov_G${x}E${x}_reg`, `mov_G${x}E${x}_mem`, IMM_NONE, rk, rk);
    modrm(0x8d + o, -1, null, `lea_G${x}_mem`, IMM_NONE, rk, rk);
    immOnly(0xa8 + o, 'test_EbI_reg', IMM_B, 0, RK_B);
    immOnly(0xa9 + o, `test_E${x}I_reg`, x === 'd' ? IMM_D : IMM_W, 0, rk);
    for (let r = 0; r < 8; r++) {
      immOnly(0xb0 + r + o, 'mov_EbI_reg', IMM_B, r, RK_B);
      immOnly(0xb8 + r + o, `mov_E${x}I_reg`, x === 'd' ? IMM_D : IMM_W, r, rk);
    }
    modrm(0xc6 + o, 0, 'mov_EbI_reg', 'mov_EbI_mem', IMM_B, RK_B, RK_B);
    modrm(0xc7 + o, 0, `mov_E${x}I_reg`, `mov_E${x}I_mem`, x === 'd' ? IMM_D : IMM_W, rk, rk);
    modrm(0xf6 + o, 0, 'test_EbI_reg', 'test_EbI_mem', IMM_B, RK_B, RK_B);
    modrm(0xf7 + o, 0, `test_E${x}I_reg`, `test_E${x}I_mem`, x === 'd' ? IMM_D : IMM_W, rk, rk);
  }
  // 32-bit operand size only
  modrm(MAP0F + 0xb6 + O32, -1, 'movzx_GdEb_reg', 'movzx_GdEb_mem', IMM_NONE, RK_D, RK_B);
  modrm(MAP0F + 0xb7 + O32, -1, 'movzx_GdEw_reg', 'movzx_GdEw_mem', IMM_NONE, RK_D, RK_W);
  modrm(MAP0F + 0xbe + O32, -1, 'movsx_GdEb_reg', 'movsx_GdEb_mem', IMM_NONE, RK_D, RK_B);
  modrm(MAP0F + 0xbf + O32, -1, 'movsx_GdEw_reg', 'movsx_GdEw_mem', IMM_NONE, RK_D, RK_W);
  modrm(MAP0F + 0xaf + O32, -1, 'imul_GdEd_reg', 'imul_GdEd_mem', IMM_NONE, RK_D, RK_D);
  modrm(0x69 + O32, -1, 'imul_GdEdI_reg', 'imul_GdEdI_mem', IMM_D, RK_D, RK_D);
  modrm(0x6b + O32, -1, 'imul_GdEdI_reg', 'imul_GdEdI_mem', IMM_BS, RK_D, RK_D);
  const SH = ['rol', 'ror', null, null, 'shl', 'shr', 'shl', 'sar'];
  for (let r = 0; r < 8; r++) {
    const s = SH[r];
    if (!s) continue;
    modrm(0xc1 + O32, r, `${s}_EdI_reg`, `${s}_EdI_mem`, IMM_B, RK_D, RK_D);
    modrm(0xd1 + O32, r, `${s}_Ed1_reg`, `${s}_Ed1_mem`, IMM_NONE, RK_D, RK_D);
    modrm(0xd3 + O32, r, `${s}_EdCL_reg`, `${s}_EdCL_mem`, IMM_NONE, RK_D, RK_D);
  }
  // the other shifts and rotates (8/16-bit, RCL/RCR) through the generic shift()
  const SHN = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
  for (let r = 0; r < 8; r++) {
    const n = SHN[r]!;
    for (const o of [O16, O32]) {
      modrm(0xc0 + o, r, `${n}_EbI_reg`, `${n}_EbI_mem`, IMM_B, RK_B, RK_B);
      modrm(0xd0 + o, r, `${n}_Eb1_reg`, `${n}_Eb1_mem`, IMM_NONE, RK_B, RK_B);
      modrm(0xd2 + o, r, `${n}_EbCL_reg`, `${n}_EbCL_mem`, IMM_NONE, RK_B, RK_B);
    }
    modrm(0xc1 + O16, r, `${n}_EwI_reg`, `${n}_EwI_mem`, IMM_B, RK_W, RK_W);
    modrm(0xd1 + O16, r, `${n}_Ew1_reg`, `${n}_Ew1_mem`, IMM_NONE, RK_W, RK_W);
    modrm(0xd3 + O16, r, `${n}_EwCL_reg`, `${n}_EwCL_mem`, IMM_NONE, RK_W, RK_W);
    if (r === 2 || r === 3) {
      modrm(0xc1 + O32, r, `${n}_EdI_reg`, `${n}_EdI_mem`, IMM_B, RK_D, RK_D);
      modrm(0xd1 + O32, r, `${n}_Ed1_reg`, `${n}_Ed1_mem`, IMM_NONE, RK_D, RK_D);
      modrm(0xd3 + O32, r, `${n}_EdCL_reg`, `${n}_EdCL_mem`, IMM_NONE, RK_D, RK_D);
    }
  }
  modrm(0xff + O32, 0, 'inc_Ed_reg', 'inc_Ed_mem', IMM_NONE, RK_D, RK_D);
  modrm(0xff + O32, 1, 'dec_Ed_reg', 'dec_Ed_mem', IMM_NONE, RK_D, RK_D);
  const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
  for (let cc = 0; cc < 16; cc++) {
    for (const o of [O16, O32]) modrm(MAP0F + 0x90 + cc + o, -1, `set${CC[cc]!}_Eb_reg`, `set${CC[cc]!}_Eb_mem`, IMM_NONE, RK_B, RK_B);
  }
  for (let cc = 0; cc < 16; cc++) {
    immOnly(0x70 + cc + O32, `j${CC[cc]!}_Jd`, IMM_BS, 0, RK_D);
    immOnly(MAP0F + 0x80 + cc + O32, `j${CC[cc]!}_Jd`, IMM_D, 0, RK_D);
  }
  for (let r = 0; r < 8; r++) {
    immOnly(0x40 + r + O32, 'inc_Rd', IMM_NONE, r, RK_D);
    immOnly(0x48 + r + O32, 'dec_Rd', IMM_NONE, r, RK_D);
    immOnly(0x50 + r + O32, 'push_Rd', IMM_NONE, r, RK_D);
    immOnly(0x58 + r + O32, 'pop_Rd', IMM_NONE, r, RK_D);
  }
  immOnly(0xc3 + O32, 'ret_near32', IMM_NONE, 0, RK_D);
  immOnly(0xeb + O32, 'jmp_Jd', IMM_BS, 0, RK_D);
  immOnly(0xe9 + O32, 'jmp_Jd', IMM_D, 0, RK_D);
  immOnly(0xe8 + O32, 'call_Jd', IMM_D, 0, RK_D);
  immOnly(0x68 + O32, 'push_Id', IMM_D, 0, RK_D);
  immOnly(0x6a + O32, 'push_Id', IMM_BS, 0, RK_D);
}

function mapReg(rk: number, r: number): number {
  return rk === RK_D ? r : rk === RK_W ? r << 1 : R8[r]!;
}

/**
 * Decodes the instruction at mem[off] (CS default size `code32`) into slot s.
 * Returns false if it cannot be cached here (it crosses the page, or has more
 * prefixes than the fast decoder takes); the caller then runs it uncached.
 */
export function decodeInto(c: Cpu, off: number, s: number): boolean {
  const mem = c.mem;
  const pageEnd = off - (off & 0xfff) + 0x1000;
  const code32 = c.code32;
  let p = off;
  let osz = code32 ? O32 : O16;
  let asz32 = code32;
  let seg = -1;
  let prefixes = 0;
  let b = mem[p]!;
  while (PREFIX_BYTE[b] === 1) {
    if (b === 0x66) osz = code32 ? O16 : O32;
    else if (b === 0x67) asz32 = !code32;
    else if (b === 0xf0 || b === 0xf2 || b === 0xf3) return fillLegacy(c, off, s);
    else seg = SEG_OF[b]!;
    if (++prefixes > 3 || ++p >= pageEnd) return fillLegacy(c, off, s);
    b = mem[p]!;
  }
  let idx = b | osz;
  if (b === 0x0f) {
    if (++p >= pageEnd) return fillLegacy(c, off, s);
    idx = MAP0F + (mem[p]! | osz);
  }
  p++;
  const k0 = kind[idx]!;
  if (k0 === KIND_NONE) return fillLegacy(c, off, s);
  if (k0 === KIND_PLAIN) {
    if (prefixes !== 0) return fillLegacy(c, off, s);
    return fill(c, off, s, plainHandler[idx]!, p - off);
  }
  let k = idx * 8;
  if (k0 === KIND_IMM) {
    c.dcM[s] = mapReg(mKind[k]!, fixedReg[idx]!);
    const n = readImm(c, s, p, immKind[k]!, pageEnd);
    if (n < 0) return fillLegacy(c, off, s);
    return fill(c, off, s, fnReg[k]!, p + n - off);
  }
  // ModRM
  if (p >= pageEnd) return fillLegacy(c, off, s);
  const m = mem[p++]!;
  if (isGroup[idx]) k += (m >> 3) & 7;
  const rm = m & 7;
  let fn: PreFn | null;
  if (m >= 0xc0) {
    fn = fnReg[k]!;
    c.dcM[s] = mapReg(mKind[k]!, rm);
  } else {
    fn = fnMem[k]!;
    if (fn === null) return fillLegacy(c, off, s);
    // effective address: regFile[base] + (regFile[index] << scale) + disp, masked; 8 = the zero register
    const mod = m >> 6;
    let base = 8;
    let index = 8;
    let scale = 0;
    let disp = 0;
    let dseg: number = SEG.DS;
    if (!asz32) {
      switch (rm) {
        case 0: base = 3; index = 6; break;
        case 1: base = 3; index = 7; break;
        case 2: base = 5; index = 6; dseg = SEG.SS; break;
        case 3: base = 5; index = 7; dseg = SEG.SS; break;
        case 4: base = 6; break;
        case 5: base = 7; break;
        case 6:
          if (mod !== 0) {
            base = 5;
            dseg = SEG.SS;
          }
          break;
        default: base = 3;
      }
      if (mod === 0 && rm === 6) {
        if (p + 2 > pageEnd) return fillLegacy(c, off, s);
        disp = mem[p]! | (mem[p + 1]! << 8);
        p += 2;
      } else if (mod === 1) {
        if (p + 1 > pageEnd) return fillLegacy(c, off, s);
        disp = (mem[p++]! << 24) >> 24;
      } else if (mod === 2) {
        if (p + 2 > pageEnd) return fillLegacy(c, off, s);
        disp = mem[p]! | (mem[p + 1]! << 8);
        p += 2;
      }
      c.dcMask[s] = 0xffff;
    } else {
      if (rm === 4) {
        if (p >= pageEnd) return fillLegacy(c, off, s);
        const sib = mem[p++]!;
        const sb = sib & 7;
        const si = (sib >> 3) & 7;
        if (sb === 5 && mod === 0) {
          if (p + 4 > pageEnd) return fillLegacy(c, off, s);
          disp = mem[p]! | (mem[p + 1]! << 8) | (mem[p + 2]! << 16) | (mem[p + 3]! << 24);
          p += 4;
        } else {
          base = sb;
          if (sb === 4 || sb === 5) dseg = SEG.SS;
        }
        if (si !== 4) {
          index = si;
          scale = sib >> 6;
        }
      } else if (rm === 5 && mod === 0) {
        if (p + 4 > pageEnd) return fillLegacy(c, off, s);
        disp = mem[p]! | (mem[p + 1]! << 8) | (mem[p + 2]! << 16) | (mem[p + 3]! << 24);
        p += 4;
      } else {
        base = rm;
        if (rm === 5) dseg = SEG.SS;
      }
      if (mod === 1) {
        if (p + 1 > pageEnd) return fillLegacy(c, off, s);
        disp = (disp + ((mem[p++]! << 24) >> 24)) | 0;
      } else if (mod === 2) {
        if (p + 4 > pageEnd) return fillLegacy(c, off, s);
        disp = (disp + (mem[p]! | (mem[p + 1]! << 8) | (mem[p + 2]! << 16) | (mem[p + 3]! << 24))) | 0;
        p += 4;
      }
      c.dcMask[s] = -1;
    }
    c.dcBase[s] = base;
    c.dcIdx[s] = index;
    c.dcScale[s] = scale;
    c.dcDisp[s] = disp;
    c.dcSeg[s] = seg >= 0 ? seg : dseg;
  }
  if (fn === null) return fillLegacy(c, off, s);
  c.dcR[s] = mapReg(rKind[k]!, (m >> 3) & 7);
  const n = readImm(c, s, p, immKind[k]!, pageEnd);
  if (n < 0) return fillLegacy(c, off, s);
  return fill(c, off, s, fn, p + n - off);
}

/** Reads an immediate of `ik` at mem[p] into dcImm[s]; returns its length, or -1 if it crosses the page. */
function readImm(c: Cpu, s: number, p: number, ik: number, pageEnd: number): number {
  const mem = c.mem;
  switch (ik) {
    case IMM_NONE:
      c.dcImm[s] = 0;
      return 0;
    case IMM_B:
      if (p + 1 > pageEnd) return -1;
      c.dcImm[s] = mem[p]!;
      return 1;
    case IMM_BS:
      if (p + 1 > pageEnd) return -1;
      c.dcImm[s] = (mem[p]! << 24) >> 24;
      return 1;
    case IMM_BSW:
      if (p + 1 > pageEnd) return -1;
      c.dcImm[s] = ((mem[p]! << 24) >> 24) & 0xffff;
      return 1;
    case IMM_W:
      if (p + 2 > pageEnd) return -1;
      c.dcImm[s] = mem[p]! | (mem[p + 1]! << 8);
      return 2;
    default:
      if (p + 4 > pageEnd) return -1;
      c.dcImm[s] = mem[p]! | (mem[p + 1]! << 8) | (mem[p + 2]! << 16) | (mem[p + 3]! << 24);
      return 4;
  }
}

function fill(c: Cpu, off: number, s: number, fn: PreFn, len: number): boolean {
  if (len > 15) return fillLegacy(c, off, s);
  c.dcFn[s] = fn;
  c.dcOps[s] = c.dcR[s]! | (c.dcM[s]! << 5) | (c.dcSeg[s]! << 10) | (c.dcBase[s]! << 13) | (c.dcIdx[s]! << 17) | (c.dcScale[s]! << 21) | (c.dcMask[s] === 0xffff ? 0x800000 : 0);
  setTag(c, off, s, len);
  return true;
}

/** Claims slot s for the current default size (and drops the other size's claim on it). */
function setTag(c: Cpu, off: number, s: number, len: number): void {
  c.dcTag[s] = off;
  c.dcBlk[s] = null;
  c.dcInfo[s] = len;
  (c.code32 ? c.dcTag16 : c.dcTag32)[s] = -1;
}

function fillLegacy(c: Cpu, off: number, s: number): boolean {
  c.dcFn[s] = legacyExec;
  setTag(c, off, s, 0);
  return true;
}

const PREFIX_BYTE = new Uint8Array(256);
const SEG_OF = new Int8Array(256).fill(-1);
SEG_OF[0x26] = SEG.ES;
SEG_OF[0x2e] = SEG.CS;
SEG_OF[0x36] = SEG.SS;
SEG_OF[0x3e] = SEG.DS;
SEG_OF[0x64] = SEG.FS;
SEG_OF[0x65] = SEG.GS;
