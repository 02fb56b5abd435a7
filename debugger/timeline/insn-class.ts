/**
 * Just enough x86 decoding for the debugger's step-over and finish logic:
 * which instructions transfer to code that returns here (CALL, INT n, REP
 * string instructions), which return (RET, IRET), and their lengths.
 * Everything else is `other` with length 0 (unknown, not needed).
 */

export const INSN = { OTHER: 0, CALL: 1, INT: 2, REP: 3, RET: 4, IRET: 5 } as const;
export type InsnKind = (typeof INSN)[keyof typeof INSN];

export interface InsnClass {
  kind: InsnKind;
  /** Length in bytes for CALL/INT/REP/RET/IRET; 0 for OTHER. */
  length: number;
  /** Bytes a RET imm16 releases in addition to the return address. */
  retImm: number;
  far: boolean;
}

const OTHER: InsnClass = { kind: INSN.OTHER, length: 0, retImm: 0, far: false };

function modrmLength(b: ArrayLike<number>, i: number, addr32: boolean): number {
  // Returns the number of bytes of ModRM + SIB + displacement starting at b[i], or -1.
  if (i >= b.length) return -1;
  const modrm = b[i]!;
  const mod = modrm >> 6;
  const rm = modrm & 7;
  if (mod === 3) return 1;
  if (addr32) {
    let n = 1;
    if (rm === 4) {
      if (i + 1 >= b.length) return -1;
      n++;
      if (mod === 0 && (b[i + 1]! & 7) === 5) return n + 4;
    } else if (mod === 0 && rm === 5) return n + 4;
    return n + (mod === 1 ? 1 : mod === 2 ? 4 : 0);
  }
  if (mod === 0 && rm === 6) return 3;
  return 1 + (mod === 1 ? 1 : mod === 2 ? 2 : 0);
}

/** Classifies the instruction whose bytes start at code[0]. `code32` = CS.D. */
export function classifyInsn(code: ArrayLike<number>, code32: boolean): InsnClass {
  let i = 0;
  let opsize32 = code32;
  let addr32 = code32;
  let rep = false;
  for (; i < Math.min(code.length, 14); i++) {
    const b = code[i]!;
    if (b === 0x66) opsize32 = !code32;
    else if (b === 0x67) addr32 = !code32;
    else if (b === 0xf2 || b === 0xf3) rep = true;
    else if (b === 0xf0 || b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65) continue;
    else break;
  }
  if (i >= code.length) return OTHER;
  const op = code[i]!;
  const pfx = i;
  const mk = (kind: InsnKind, length: number, retImm = 0, far = false): InsnClass => ({ kind, length, retImm, far });
  switch (op) {
    case 0xe8:
      return mk(INSN.CALL, pfx + 1 + (opsize32 ? 4 : 2));
    case 0x9a:
      return mk(INSN.CALL, pfx + 1 + (opsize32 ? 6 : 4), 0, true);
    case 0xff: {
      if (pfx + 1 >= code.length) return OTHER;
      const reg = (code[pfx + 1]! >> 3) & 7;
      if (reg !== 2 && reg !== 3) return OTHER;
      const n = modrmLength(code, pfx + 1, addr32);
      return n < 0 ? OTHER : mk(INSN.CALL, pfx + 1 + n, 0, reg === 3);
    }
    case 0xcc:
    case 0xce:
    case 0xf1:
      return mk(INSN.INT, pfx + 1);
    case 0xcd:
      return mk(INSN.INT, pfx + 2);
    case 0xc3:
      return mk(INSN.RET, pfx + 1);
    case 0xcb:
      return mk(INSN.RET, pfx + 1, 0, true);
    case 0xc2:
    case 0xca:
      if (pfx + 2 >= code.length) return OTHER;
      return mk(INSN.RET, pfx + 3, code[pfx + 1]! | (code[pfx + 2]! << 8), op === 0xca);
    case 0xcf:
      return mk(INSN.IRET, pfx + 1, 0, true);
    default:
      if (rep && ((op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) || (op >= 0x6c && op <= 0x6f))) return mk(INSN.REP, pfx + 1);
      return OTHER;
  }
}
