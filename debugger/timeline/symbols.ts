/**
 * Symbols for addresses: an ELF32 symbol table (.symtab, else .dynsym),
 * parsed here from the section headers, or a Linux `System.map`. Addresses
 * format as `symbol+0x12`; names resolve to addresses for breakpoints.
 */
import { readFileSync } from 'node:fs';
import { RewindError, ERR } from '../../engine/errors.js';

export interface SymbolEntry {
  name: string;
  addr: number;
  /** 0 when unknown (System.map, NOTYPE labels). */
  size: number;
}

/** How far past a size-less symbol an address is still shown relative to it. */
const MAX_UNSIZED_OFFSET = 0x10000;

export class SymbolTable {
  private readonly byName = new Map<string, SymbolEntry>();
  private sorted: SymbolEntry[] = [];
  private dirty = false;

  get size(): number {
    return this.byName.size;
  }

  add(name: string, addr: number, size = 0): void {
    if (name.length === 0) return;
    const e = { name, addr: addr >>> 0, size };
    if (!this.byName.has(name)) this.byName.set(name, e);
    this.sorted.push(e);
    this.dirty = true;
  }

  /** Address of a symbol, or null. */
  lookup(name: string): number | null {
    return this.byName.get(name)?.addr ?? null;
  }

  /** The symbol covering `addr` (nearest at or below), or null. */
  find(addr: number): SymbolEntry | null {
    if (this.dirty) {
      // Prefer sized symbols (functions, objects) over labels at the same address.
      this.sorted.sort((a, b) => a.addr - b.addr || (b.size > 0 ? 1 : 0) - (a.size > 0 ? 1 : 0));
      this.dirty = false;
    }
    const a = addr >>> 0;
    let lo = 0;
    let hi = this.sorted.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]!.addr <= a) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Walk back over symbols at the same address to the preferred one; also try
    // an enclosing sized symbol if the nearest does not cover the address.
    for (let i = best; i >= 0 && i > best - 64; i--) {
      const s = this.sorted[i]!;
      const off = a - s.addr;
      if (s.size > 0 ? off < s.size : off < MAX_UNSIZED_OFFSET) {
        // Among equal addresses the sort put the sized one first.
        let j = i;
        while (j > 0 && this.sorted[j - 1]!.addr === s.addr) j--;
        return this.sorted[j]!.size > 0 || s.size === 0 ? this.sorted[j]! : s;
      }
    }
    return null;
  }

  /** `name` or `name+0x12`, or null if no symbol covers the address. */
  format(addr: number): string | null {
    const s = this.find(addr);
    if (!s) return null;
    const off = (addr >>> 0) - s.addr;
    return off === 0 ? s.name : `${s.name}+0x${off.toString(16)}`;
  }

  /** Parses an ELF32 little-endian file's symbol table. */
  static fromElf(image: Uint8Array, what = 'ELF file'): SymbolTable {
    const fail = (m: string): never => {
      throw new RewindError(ERR.IMAGE, `${what}: ${m}`);
    };
    if (image.length < 52 || image[0] !== 0x7f || image[1] !== 0x45 || image[2] !== 0x4c || image[3] !== 0x46) fail('not an ELF file');
    if (image[4] !== 1) fail('not a 32-bit ELF file (ELFCLASS32 expected)');
    if (image[5] !== 1) fail('not a little-endian ELF file');
    const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
    const shoff = dv.getUint32(32, true);
    const shentsize = dv.getUint16(46, true);
    const shnum = dv.getUint16(48, true);
    if (shoff === 0 || shnum === 0) fail('has no section headers (stripped of sections?)');
    if (shentsize < 40 || shoff + shnum * shentsize > image.length) fail('section header table is out of bounds');
    type Sh = { type: number; offset: number; size: number; link: number; entsize: number };
    const sh: Sh[] = [];
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      sh.push({ type: dv.getUint32(o + 4, true), offset: dv.getUint32(o + 16, true), size: dv.getUint32(o + 20, true), link: dv.getUint32(o + 24, true), entsize: dv.getUint32(o + 36, true) });
    }
    const symtab = sh.find((s) => s.type === 2) ?? sh.find((s) => s.type === 11);
    const table = new SymbolTable();
    if (!symtab) return table;
    const strtab = sh[symtab.link];
    if (!strtab || strtab.offset + strtab.size > image.length) fail('symbol string table is out of bounds');
    if (symtab.offset + symtab.size > image.length) fail('symbol table is out of bounds');
    const ent = symtab.entsize >= 16 ? symtab.entsize : 16;
    const dec = new TextDecoder('latin1');
    for (let o = symtab.offset + ent; o + 16 <= symtab.offset + symtab.size; o += ent) {
      const nameOff = dv.getUint32(o, true);
      const value = dv.getUint32(o + 4, true);
      const size = dv.getUint32(o + 8, true);
      const info = image[o + 12]!;
      const shndx = dv.getUint16(o + 14, true);
      const type = info & 0xf;
      if (shndx === 0 || type === 3 /* SECTION */ || type === 4 /* FILE */ || nameOff >= strtab!.size) continue;
      let end = strtab!.offset + nameOff;
      while (end < strtab!.offset + strtab!.size && image[end] !== 0) end++;
      const name = dec.decode(image.subarray(strtab!.offset + nameOff, end));
      table.add(name, value, type === 2 || type === 1 ? size : 0);
    }
    return table;
  }

  /** Parses a System.map (`c1000000 T _text` per line). */
  static fromSystemMap(text: string, what = 'System.map'): SymbolTable {
    const table = new SymbolTable();
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '') continue;
      const m = /^([0-9a-fA-F]{1,16})\s+([A-Za-z?-])\s+(\S+)/.exec(line);
      if (!m) throw new RewindError(ERR.IMAGE, `${what} line ${i + 1}: expected "ADDRESS TYPE NAME", got ${JSON.stringify(line.slice(0, 60))}`);
      const addr = parseInt(m[1]!, 16);
      if (addr > 0xffffffff) continue; // 64-bit map entries do not apply to IA-32
      table.add(m[3]!, addr, 0);
    }
    return table;
  }

  /** Loads an ELF or System.map file, telling them apart by the ELF magic. */
  static load(path: string): SymbolTable {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (e) {
      throw new RewindError(ERR.ARGUMENT, `cannot read symbol file ${path}: ${(e as Error).message}`);
    }
    if (data.length >= 4 && data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46) return SymbolTable.fromElf(data, path);
    return SymbolTable.fromSystemMap(data.toString('latin1'), path);
  }
}
