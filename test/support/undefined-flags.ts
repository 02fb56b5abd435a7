/**
 * The flags (and results) that the Intel SDM Vol. 2 ("Flags Affected" of each
 * instruction) leaves *undefined*, per instruction, for tests that compare
 * rewind against a real CPU (host-CPU oracle, hardware conformance vectors).
 * One table for the whole project: hardware differs in exactly these bits
 * (Intel vs AMD vs 80286), so a test masks them and compares everything else.
 *
 * Keys are lower-case Intel mnemonics (`sal` is `shl`). Instructions whose
 * flags are all defined (ADD, ADC, SUB, SBB, CMP, NEG, INC, DEC, XADD,
 * CMPXCHG, CMPXCHG8B, SAHF, POPF, string compares, ...) are simply absent:
 * `undefinedFlags` returns 0 for them.
 *
 * Conditions the SDM attaches to shifts and rotates are on the *masked* count
 * (count & 0x1f; the 80286 and later mask to 5 bits): a masked count of 0
 * leaves all flags unaffected, so nothing is undefined then.
 */

export const FLAG_CF = 0x0001;
export const FLAG_PF = 0x0004;
export const FLAG_AF = 0x0010;
export const FLAG_ZF = 0x0040;
export const FLAG_SF = 0x0080;
export const FLAG_OF = 0x0800;
/** The six arithmetic status flags. */
export const FLAGS_STATUS = FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF;

export interface UndefinedFlagsRule {
  /** Undefined whenever the instruction completes. */
  readonly always?: number;
  /** Undefined when the masked count is not 0 (a shift happened). */
  readonly countNonZero?: number;
  /** Undefined when the masked count is greater than 1 (multi-bit shift/rotate). */
  readonly countGt1?: number;
  /** Undefined when the masked count is >= the operand size in bits (SHL/SHR: CF). */
  readonly countGeSize?: number;
  /** Undefined when the masked count is > the operand size (SHLD/SHRD: all six, and the result). */
  readonly countGtSize?: number;
  /** Undefined when the source operand is 0 (BSF/BSR: all but ZF, and the result). */
  readonly srcZero?: number;
}

/** Per-mnemonic rules, from the SDM "Flags Affected" sections. */
export const UNDEFINED_FLAGS: Readonly<Record<string, UndefinedFlagsRule>> = {
  // Logic: OF = CF = 0, SF ZF PF by result, "The state of the AF flag is undefined."
  and: { always: FLAG_AF },
  or: { always: FLAG_AF },
  xor: { always: FLAG_AF },
  test: { always: FLAG_AF },
  // MUL/IMUL: OF and CF by the upper half; "The SF, ZF, AF, and PF flags are undefined."
  mul: { always: FLAG_SF | FLAG_ZF | FLAG_AF | FLAG_PF },
  imul: { always: FLAG_SF | FLAG_ZF | FLAG_AF | FLAG_PF },
  // DIV/IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined."
  div: { always: FLAGS_STATUS },
  idiv: { always: FLAGS_STATUS },
  // SAL/SHL/SHR/SAR: CF last bit out, "undefined for SHL and SHR instructions where the count
  // is greater than or equal to the size"; OF only for 1-bit shifts; AF undefined for a
  // non-zero count.
  shl: { countNonZero: FLAG_AF, countGt1: FLAG_OF, countGeSize: FLAG_CF },
  sal: { countNonZero: FLAG_AF, countGt1: FLAG_OF, countGeSize: FLAG_CF },
  shr: { countNonZero: FLAG_AF, countGt1: FLAG_OF, countGeSize: FLAG_CF },
  sar: { countNonZero: FLAG_AF, countGt1: FLAG_OF },
  // ROL/ROR/RCL/RCR: CF affected for a non-zero masked count; OF only for a masked count of
  // 1, undefined otherwise; SF ZF AF PF unaffected.
  rol: { countGt1: FLAG_OF },
  ror: { countGt1: FLAG_OF },
  rcl: { countGt1: FLAG_OF },
  rcr: { countGt1: FLAG_OF },
  // SHLD/SHRD: OF undefined for shifts > 1, AF undefined if a shift occurs, everything
  // (and DEST) undefined when the count exceeds the operand size.
  shld: { countNonZero: FLAG_AF, countGt1: FLAG_OF, countGtSize: FLAGS_STATUS },
  shrd: { countNonZero: FLAG_AF, countGt1: FLAG_OF, countGtSize: FLAGS_STATUS },
  // BT/BTS/BTR/BTC: CF = the bit, ZF unaffected, "The OF, SF, AF, and PF flags are undefined."
  bt: { always: FLAG_OF | FLAG_SF | FLAG_AF | FLAG_PF },
  bts: { always: FLAG_OF | FLAG_SF | FLAG_AF | FLAG_PF },
  btr: { always: FLAG_OF | FLAG_SF | FLAG_AF | FLAG_PF },
  btc: { always: FLAG_OF | FLAG_SF | FLAG_AF | FLAG_PF },
  // BSF/BSR: ZF = (source == 0); "The CF, OF, SF, AF, and PF flags are undefined."
  // DEST is undefined when the source is 0 (Intel and AMD leave it unchanged).
  bsf: { always: FLAG_CF | FLAG_OF | FLAG_SF | FLAG_AF | FLAG_PF, srcZero: 0 },
  bsr: { always: FLAG_CF | FLAG_OF | FLAG_SF | FLAG_AF | FLAG_PF, srcZero: 0 },
  // DAA/DAS: CF AF by decimal carry, SF ZF PF by result, "The OF flag is undefined."
  daa: { always: FLAG_OF },
  das: { always: FLAG_OF },
  // AAA/AAS: AF = CF = decimal carry; "The OF, SF, ZF, and PF flags are undefined."
  aaa: { always: FLAG_OF | FLAG_SF | FLAG_ZF | FLAG_PF },
  aas: { always: FLAG_OF | FLAG_SF | FLAG_ZF | FLAG_PF },
  // AAM/AAD: SF ZF PF by AL; "The OF, AF, and CF flags are undefined."
  aam: { always: FLAG_OF | FLAG_AF | FLAG_CF },
  aad: { always: FLAG_OF | FLAG_AF | FLAG_CF },
};

export interface UndefinedFlagsContext {
  /** Operand size in bits (8, 16, 32); needed by the count-versus-size rules. */
  readonly opSize?: number;
  /** The shift/rotate count as encoded (imm8 or CL); masked to 5 bits here. */
  readonly count?: number;
  /** The source operand was zero (BSF/BSR). */
  readonly srcZero?: boolean;
}

/** The EFLAGS bits to ignore when comparing the result of `mnemonic`. */
export function undefinedFlags(mnemonic: string, ctx: UndefinedFlagsContext = {}): number {
  const rule = UNDEFINED_FLAGS[mnemonic];
  if (rule === undefined) return 0;
  let mask = rule.always ?? 0;
  if (ctx.count !== undefined) {
    const c = ctx.count & 0x1f;
    if (c !== 0) mask |= rule.countNonZero ?? 0;
    if (c > 1) mask |= rule.countGt1 ?? 0;
    if (ctx.opSize !== undefined && c >= ctx.opSize) mask |= rule.countGeSize ?? 0;
    if (ctx.opSize !== undefined && c > ctx.opSize) mask |= rule.countGtSize ?? 0;
  }
  if (ctx.srcZero === true) mask |= rule.srcZero ?? 0;
  return mask;
}

/**
 * The bits of the destination operand that the SDM leaves undefined (0 when
 * the result is fully defined). Bits outside the operand (the upper half of a
 * 32-bit register under a 16-bit operation) are never included: they must be
 * preserved.
 *  - BSF/BSR with a zero source: the whole destination;
 *  - SHLD/SHRD with a masked count above the operand size: the whole destination;
 *  - BSWAP with a 16-bit operand: the 16-bit destination;
 *  - LAR with a 32-bit operand: bits 19:16 ("masked by 00FxFF00H").
 */
export function undefinedDestBits(mnemonic: string, ctx: UndefinedFlagsContext = {}): number {
  const all = ctx.opSize === 8 ? 0xff : ctx.opSize === 16 ? 0xffff : 0xffffffff;
  switch (mnemonic) {
    case 'bsf':
    case 'bsr':
      return ctx.srcZero === true ? all : 0;
    case 'shld':
    case 'shrd':
      return ctx.count !== undefined && ctx.opSize !== undefined && (ctx.count & 0x1f) > ctx.opSize ? all : 0;
    case 'bswap':
      return ctx.opSize === 16 ? 0xffff : 0;
    case 'lar':
      return ctx.opSize === 32 ? 0x000f0000 : 0;
    default:
      return 0;
  }
}

/** True when any bit of the destination operand is undefined (see undefinedDestBits). */
export function undefinedDest(mnemonic: string, ctx: UndefinedFlagsContext = {}): boolean {
  return undefinedDestBits(mnemonic, ctx) !== 0;
}
