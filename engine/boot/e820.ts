/**
 * The physical memory map a PC firmware reports (INT 15h E820), shared by
 * the multiboot and Linux loaders: usable conventional memory up to the
 * EBDA, the EBDA and the BIOS ROM area reserved, usable RAM from 1 MiB to the
 * end of RAM, and the BIOS ROM alias below 4 GiB reserved.
 */
export const E820_RAM = 1;
export const E820_RESERVED = 2;

export interface E820Entry {
  addr: number;
  size: number;
  type: number;
}

/** Conventional memory reported as usable (639 KiB: the last KiB is the EBDA). */
export const E820_LOW_TOP = 0x9fc00;

export function buildE820(ramBytes: number, opts: { biosHighBytes?: number } = {}): E820Entry[] {
  const map: E820Entry[] = [
    { addr: 0, size: E820_LOW_TOP, type: E820_RAM },
    { addr: E820_LOW_TOP, size: 0xa0000 - E820_LOW_TOP, type: E820_RESERVED },
    { addr: 0xf0000, size: 0x10000, type: E820_RESERVED },
    { addr: 0x100000, size: ramBytes - 0x100000, type: E820_RAM },
  ];
  const high = opts.biosHighBytes ?? 0x40000;
  if (high > 0) map.push({ addr: 0x100000000 - high, size: high, type: E820_RESERVED });
  return map;
}

/** Writes entries in the 20-byte layout of boot_params.e820_table (addr u64, size u64, type u32). */
export function encodeE820(map: E820Entry[]): Uint8Array {
  const out = new Uint8Array(map.length * 20);
  const v = new DataView(out.buffer);
  map.forEach((e, i) => {
    v.setUint32(i * 20, e.addr >>> 0, true);
    v.setUint32(i * 20 + 4, Math.floor(e.addr / 0x100000000), true);
    v.setUint32(i * 20 + 8, e.size >>> 0, true);
    v.setUint32(i * 20 + 12, Math.floor(e.size / 0x100000000), true);
    v.setUint32(i * 20 + 16, e.type, true);
  });
  return out;
}

/** Writes entries in the multiboot mmap layout (size u32 = 20, then addr u64, len u64, type u32). */
export function encodeMultibootMmap(map: E820Entry[]): Uint8Array {
  const out = new Uint8Array(map.length * 24);
  const v = new DataView(out.buffer);
  map.forEach((e, i) => {
    v.setUint32(i * 24, 20, true);
    out.set(encodeE820([e]), i * 24 + 4);
  });
  return out;
}
