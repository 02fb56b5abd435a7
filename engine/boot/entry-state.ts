/**
 * How a boot loader hands the machine to the guest: a plain description of
 * the CPU state at entry, which the machine applies to the CPU after loading.
 * Loaders that enter protected mode also write a GDT into guest memory
 * (writeFlatGdt) so the CPU can load the segment registers from it the
 * ordinary way, descriptor caches included.
 */
import type { PhysMemory } from '../memory/phys-memory.js';

export type EntryRegs = Partial<Record<'eax' | 'ebx' | 'ecx' | 'edx' | 'esi' | 'edi' | 'ebp' | 'esp', number>>;

export interface EntryState {
  /** `real`: real mode, segments are paragraph values. `protected32`: CR0.PE = 1, paging off, segments are selectors into `gdt`. */
  mode: 'real' | 'protected32';
  eip: number;
  /** Code segment (real: segment value; protected32: selector). */
  cs: number;
  /** DS, ES, FS, GS and SS (same meaning as cs). */
  ds: number;
  es: number;
  fs: number;
  gs: number;
  ss: number;
  /** General registers to set; the rest are zero. */
  regs: EntryRegs;
  /** EFLAGS at entry (bit 1 is always set; IF is clear for every protocol here). */
  eflags: number;
  /** GDTR for protected32 entries (the table is in guest memory). */
  gdt: { base: number; limit: number } | null;
  /** One line for logs and the summary: what was loaded and where. */
  description: string;
}

/** Where the loaders put their GDT (free conventional memory above the BIOS data area). */
export const BOOT_GDT_ADDR = 0x600;
/** Flat 4 GiB code and data selectors, as the Linux 32-bit boot protocol names them (multiboot uses the same). */
export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;

/**
 * Writes a 4-entry GDT at `physAddr`: null, null, flat 32-bit code (execute/
 * read, base 0, limit 4 GiB) at 0x10, flat 32-bit data (read/write) at 0x18.
 * Accessed bits are preset so loading the selectors never writes the table.
 */
export function writeFlatGdt(memory: PhysMemory, physAddr = BOOT_GDT_ADDR): { base: number; limit: number } {
  const gdt = new Uint8Array(32);
  const desc = (i: number, access: number) => {
    const o = i * 8;
    gdt[o] = 0xff; gdt[o + 1] = 0xff; // limit 15:0
    gdt[o + 2] = 0; gdt[o + 3] = 0; gdt[o + 4] = 0; // base 23:0
    gdt[o + 5] = access;
    gdt[o + 6] = 0xcf; // G=1, D/B=1, limit 19:16 = 0xF
    gdt[o + 7] = 0; // base 31:24
  };
  desc(2, 0x9b); // present, DPL 0, code, execute/read, accessed
  desc(3, 0x93); // present, DPL 0, data, read/write, accessed
  memory.loadIntoRam(physAddr, gdt, 'boot GDT');
  return { base: physAddr, limit: gdt.length - 1 };
}

/** A 32-bit flat protected-mode entry with the boot GDT. */
export function protected32Entry(memory: PhysMemory, eip: number, regs: EntryRegs, description: string): EntryState {
  const gdt = writeFlatGdt(memory);
  return { mode: 'protected32', eip: eip >>> 0, cs: BOOT_CS, ds: BOOT_DS, es: BOOT_DS, fs: BOOT_DS, gs: BOOT_DS, ss: BOOT_DS, regs, eflags: 0x2, gdt, description };
}
