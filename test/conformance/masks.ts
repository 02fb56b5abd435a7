/**
 * What the 80286 real-mode vectors may not be compared on, because rewind
 * models a P6 and not a 286. One table of undefined-flag masks per opcode
 * file; each entry cites the SDM's "Flags Affected" wording.
 */
export const F = { CF: 0x1, PF: 0x4, AF: 0x10, ZF: 0x40, SF: 0x80, OF: 0x800 } as const;
const ALL = F.CF | F.PF | F.AF | F.ZF | F.SF | F.OF;

/**
 * FLAGS bits 12-15: the 286 cannot set IOPL/NT in real mode and reads them as
 * zero, while a P6 keeps what POPF/IRET load; the vectors' initial values are
 * random. Masked everywhere, including flags images pushed to memory.
 */
export const FLAGS_HIGH = 0xf000;

/** Undefined flags per opcode file name (without .json.gz). */
export const UNDEFINED_FLAGS: Record<string, number> = {};

function set(names: string[], mask: number): void {
  for (const n of names) UNDEFINED_FLAGS[n] = (UNDEFINED_FLAGS[n] ?? 0) | mask;
}
const grp = (op: string, regs: number[]): string[] => regs.map((r) => `${op}.${r}`);

// AND, OR, XOR, TEST: "The OF and CF flags are cleared; the SF, ZF, and PF flags are set
// according to the result. The state of the AF flag is undefined."
set(['08', '09', '0A', '0B', '0C', '0D', '20', '21', '22', '23', '24', '25', '30', '31', '32', '33', '34', '35', '84', '85', 'A8', 'A9'], F.AF);
for (const op of ['80', '81', '82', '83']) set(grp(op, [1, 4, 6]), F.AF);
set(['F6.0', 'F6.1', 'F7.0', 'F7.1'], F.AF);
// MUL/IMUL: "The SF, ZF, AF, and PF flags are undefined."
set(['F6.4', 'F6.5', 'F7.4', 'F7.5', '69', '6B'], F.SF | F.ZF | F.AF | F.PF);
// DIV/IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined." (also in the image pushed by #DE)
set(['F6.6', 'F6.7', 'F7.6', 'F7.7'], ALL);
// Shifts and rotates: "The OF flag is affected only on 1-bit shifts/rotates... For larger
// counts the OF flag is undefined"; shifts: "For a non-zero count, the AF flag is undefined."
for (const op of ['C0', 'C1', 'D0', 'D1', 'D2', 'D3']) set(grp(op, [0, 1, 2, 3, 4, 5, 6, 7]), F.OF | F.AF);
// DAA/DAS: "The OF flag is undefined."
set(['27', '2F'], F.OF);
// AAA/AAS: "The OF, SF, ZF, and PF flags are undefined."
set(['37', '3F'], F.OF | F.SF | F.ZF | F.PF);
// AAM/AAD: "The OF, AF, and CF flags are undefined."
set(['D4', 'D5'], F.OF | F.AF | F.CF);
