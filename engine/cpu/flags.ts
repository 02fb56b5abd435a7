/**
 * EFLAGS bits, exception vectors and small tables shared by the CPU, the
 * executor and the disassembler.
 */
export const FLAG = {
  CF: 0x0001,
  PF: 0x0004,
  AF: 0x0010,
  ZF: 0x0040,
  SF: 0x0080,
  TF: 0x0100,
  IF: 0x0200,
  DF: 0x0400,
  OF: 0x0800,
  IOPL: 0x3000,
  NT: 0x4000,
  RF: 0x10000,
  VM: 0x20000,
  AC: 0x40000,
  VIF: 0x80000,
  VIP: 0x100000,
  ID: 0x200000,
} as const;

/** The six arithmetic flags that may be held lazily. */
export const ARITH_FLAGS = 0x8d5;
/** Bits of EFLAGS that exist on a P6 (everything else reads as 0, bit 1 reads as 1). */
export const EFLAGS_VALID = 0x3f7fd5;

export const EXC = {
  DE: 0,
  DB: 1,
  NMI: 2,
  BP: 3,
  OF: 4,
  BR: 5,
  UD: 6,
  NM: 7,
  DF: 8,
  TS: 10,
  NP: 11,
  SS: 12,
  GP: 13,
  PF: 14,
  MF: 16,
  AC: 17,
  MC: 18,
} as const;

export const EXC_NAMES = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', 'coproc-overrun', '#TS', '#NP', '#SS', '#GP', '#PF', 'reserved-15', '#MF', '#AC', '#MC', '#XM'];

/** Segment register indices. */
export const SEG = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 } as const;
export const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

/** Byte offset in the register file of the 8-bit register with encoding r (AL,CL,DL,BL,AH,CH,DH,BH). */
export const R8 = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);
export function reg8Offset(r: number): number {
  return R8[r & 7]!;
}

export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let p = 1;
  for (let b = 0; b < 8; b++) p ^= (i >> b) & 1;
  PARITY[i] = p ? FLAG.PF : 0;
}

export const CR0 = { PE: 1, MP: 2, EM: 4, TS: 8, ET: 0x10, NE: 0x20, WP: 0x10000, AM: 0x40000, NW: 0x20000000, CD: 0x40000000, PG: 0x80000000 | 0 } as const;
export const CR4 = { VME: 1, PVI: 2, TSD: 4, DE: 8, PSE: 0x10, PAE: 0x20, MCE: 0x40, PGE: 0x80, PCE: 0x100 } as const;
