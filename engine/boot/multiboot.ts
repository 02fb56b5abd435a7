/**
 * Multiboot (version 1) kernels, after the Multiboot Specification 0.6.96:
 * the header in the first 8 KiB, ELF32 program headers (PT_LOAD segments at
 * their physical addresses, BSS zeroed) or the a.out kludge (header flag 16),
 * modules placed page-aligned after the kernel, and the multiboot
 * information structure with mem_lower/mem_upper, the memory map, the
 * command line, modules and the boot loader name. Entry: 32-bit protected
 * mode, flat segments (the loader's GDT), paging and interrupts off,
 * EAX = 0x2BADB002, EBX = the information structure.
 *
 * Header flag 2 (video mode) is accepted but no video information is
 * provided (info flags bits 11/12 stay clear): there is no display.
 */
import { RewindError, ERR, argError, describe } from '../errors.js';
import type { PhysMemory } from '../memory/phys-memory.js';
import { type EntryState, protected32Entry, BOOT_GDT_ADDR } from './entry-state.js';
import { buildE820, encodeMultibootMmap, E820_LOW_TOP } from './e820.js';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
export const MULTIBOOT_SEARCH_BYTES = 8192;
export const MB_HDR_PAGE_ALIGN = 1 << 0;
export const MB_HDR_MEMORY_INFO = 1 << 1;
export const MB_HDR_VIDEO_MODE = 1 << 2;
export const MB_HDR_AOUT_KLUDGE = 1 << 16;

export const MB_INFO_MEMORY = 1 << 0;
export const MB_INFO_CMDLINE = 1 << 2;
export const MB_INFO_MODS = 1 << 3;
export const MB_INFO_MEM_MAP = 1 << 6;
export const MB_INFO_BOOT_LOADER_NAME = 1 << 9;

/** Where the information structure, memory map, module list and strings go. */
export const MB_INFO_ADDR = 0x10000;
const MB_INFO_LIMIT = 0x90000;
const MB_INFO_SIZE = 128;

export interface MultibootModule {
  data: Uint8Array;
  cmdline: string;
}

export interface MultibootOptions {
  cmdline?: string;
  modules?: MultibootModule[];
  bootLoaderName?: string;
  /** Names the image in errors. */
  name?: string;
}

export interface MultibootHeader {
  offset: number;
  flags: number;
  headerAddr: number;
  loadAddr: number;
  loadEndAddr: number;
  bssEndAddr: number;
  entryAddr: number;
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function hex(v: number): string {
  return '0x' + v.toString(16);
}

/** Finds a valid multiboot header (magic, checksum) in the first 8 KiB, 4-byte aligned. */
export function findMultibootHeader(image: Uint8Array): MultibootHeader | null {
  const end = Math.min(image.length, MULTIBOOT_SEARCH_BYTES) - 12;
  for (let o = 0; o <= end; o += 4) {
    if (u32(image, o) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = u32(image, o + 4);
    if (((MULTIBOOT_HEADER_MAGIC + flags + u32(image, o + 8)) >>> 0) !== 0) continue;
    const kludge = (flags & MB_HDR_AOUT_KLUDGE) !== 0 && o + 32 <= image.length;
    return {
      offset: o,
      flags,
      headerAddr: kludge ? u32(image, o + 12) : 0,
      loadAddr: kludge ? u32(image, o + 16) : 0,
      loadEndAddr: kludge ? u32(image, o + 20) : 0,
      bssEndAddr: kludge ? u32(image, o + 24) : 0,
      entryAddr: kludge ? u32(image, o + 28) : 0,
    };
  }
  return null;
}

interface Segment {
  paddr: number;
  fileOffset: number;
  fileSize: number;
  memSize: number;
}

function fail(name: string, what: string): never {
  throw new RewindError(ERR.IMAGE, `${name}: ${what}`);
}

function elfSegments(image: Uint8Array, name: string): { segments: Segment[]; entry: number } {
  if (image.length < 52 || image[0] !== 0x7f || image[1] !== 0x45 || image[2] !== 0x4c || image[3] !== 0x46) {
    fail(name, 'has a multiboot header without the a.out kludge but is not an ELF file');
  }
  if (image[4] !== 1) fail(name, 'is not a 32-bit ELF file (multiboot v1 loads ELF32 only)');
  if (image[5] !== 1) fail(name, 'is not a little-endian ELF file');
  if (u16(image, 16) !== 2) fail(name, `is an ELF file of type ${u16(image, 16)}, not an executable (ET_EXEC)`);
  if (u16(image, 18) !== 3) fail(name, `is an ELF file for machine ${u16(image, 18)}, not i386`);
  const entryVaddr = u32(image, 24);
  const phoff = u32(image, 28);
  const phentsize = u16(image, 42);
  const phnum = u16(image, 44);
  if (phnum === 0) fail(name, 'has no program headers');
  if (phentsize < 32 || phoff + phnum * phentsize > image.length) fail(name, 'has program headers outside the file');
  const segments: Segment[] = [];
  let entry = -1;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (u32(image, o) !== 1) continue; // PT_LOAD
    const fileOffset = u32(image, o + 4);
    const vaddr = u32(image, o + 8);
    const paddr = u32(image, o + 12);
    const fileSize = u32(image, o + 16);
    const memSize = u32(image, o + 20);
    if (fileSize > memSize) fail(name, `segment ${i} has p_filesz ${hex(fileSize)} > p_memsz ${hex(memSize)}`);
    if (fileOffset + fileSize > image.length) fail(name, `segment ${i} runs past the end of the file (truncated?)`);
    segments.push({ paddr, fileOffset, fileSize, memSize });
    if (entryVaddr >= vaddr && entryVaddr - vaddr < memSize) entry = paddr + (entryVaddr - vaddr);
  }
  if (segments.length === 0) fail(name, 'has no loadable (PT_LOAD) segments');
  if (entry < 0) fail(name, `entry point ${hex(entryVaddr)} is not inside any loadable segment`);
  return { segments, entry };
}

function kludgeSegments(image: Uint8Array, h: MultibootHeader, name: string): { segments: Segment[]; entry: number } {
  if (h.headerAddr < h.loadAddr) fail(name, `a.out kludge: header_addr ${hex(h.headerAddr)} is below load_addr ${hex(h.loadAddr)}`);
  const fileOffset = h.offset - (h.headerAddr - h.loadAddr);
  if (fileOffset < 0) fail(name, 'a.out kludge: load_addr would start before the file');
  const fileSize = h.loadEndAddr === 0 ? image.length - fileOffset : h.loadEndAddr - h.loadAddr;
  if (fileSize < 0 || fileOffset + fileSize > image.length) fail(name, 'a.out kludge: load_end_addr runs past the end of the file');
  const memEnd = h.bssEndAddr === 0 ? h.loadAddr + fileSize : h.bssEndAddr;
  if (memEnd < h.loadAddr + fileSize) fail(name, 'a.out kludge: bss_end_addr is below load_end_addr');
  if (h.entryAddr < h.loadAddr || h.entryAddr >= memEnd) fail(name, `a.out kludge: entry_addr ${hex(h.entryAddr)} is outside the loaded image`);
  return { segments: [{ paddr: h.loadAddr, fileOffset, fileSize, memSize: memEnd - h.loadAddr }], entry: h.entryAddr };
}

function overlaps(a0: number, a1: number, b0: number, b1: number): boolean {
  return a0 < b1 && b0 < a1;
}

/** Loads a multiboot kernel (and modules) and returns the entry state. */
export function loadMultiboot(memory: PhysMemory, image: Uint8Array, opts: MultibootOptions = {}): EntryState {
  const name = opts.name ?? 'multiboot kernel';
  if (!(image instanceof Uint8Array)) throw argError(`${name} must be given as bytes (a Uint8Array), got ${describe(image)}`);
  const h = findMultibootHeader(image);
  if (!h) fail(name, 'has no multiboot header (magic 0x1BADB002 with a valid checksum) in its first 8 KiB');
  const unsupported = h.flags & 0xfff8;
  if (unsupported) fail(name, `requires multiboot features ${hex(unsupported)} that this loader does not provide`);
  const { segments, entry } = h.flags & MB_HDR_AOUT_KLUDGE ? kludgeSegments(image, h, name) : elfSegments(image, name);

  // Build the information area first so overlaps can be checked before anything is written.
  const ram = memory.ramBytes;
  const cmdline = opts.cmdline ?? '';
  const modules = opts.modules ?? [];
  const enc = new TextEncoder();
  const strings: Uint8Array[] = [];
  const mmap = encodeMultibootMmap(buildE820(ram));
  const modsAddr = MB_INFO_ADDR + MB_INFO_SIZE;
  const mmapAddr = modsAddr + modules.length * 16;
  let strAddr = mmapAddr + mmap.length;
  const addString = (s: string): number => {
    const b = enc.encode(s + '\0');
    const at = strAddr;
    strings.push(b);
    strAddr += b.length;
    return at;
  };
  const cmdlineAddr = addString(cmdline);
  const loaderAddr = addString(opts.bootLoaderName ?? 'rewind');
  const modStrAddrs = modules.map((m) => addString(m.cmdline));
  const infoEnd = strAddr;
  if (infoEnd > MB_INFO_LIMIT) fail(name, 'command lines and module names are too long for the information area');

  let kernelEnd = 0;
  for (const s of segments) {
    const end = s.paddr + s.memSize;
    if (end > ram) fail(name, `segment at ${hex(s.paddr)}-${hex(end)} does not fit in ${ram >>> 20} MiB of RAM`);
    if (overlaps(s.paddr, end, BOOT_GDT_ADDR, BOOT_GDT_ADDR + 32) || overlaps(s.paddr, end, MB_INFO_ADDR, infoEnd)) {
      fail(name, `segment at ${hex(s.paddr)}-${hex(end)} overlaps the loader's GDT or information area below ${hex(MB_INFO_LIMIT)}`);
    }
    if (end > kernelEnd) kernelEnd = end;
  }

  // Modules: page-aligned, one after another, above the kernel.
  let modAddr = Math.max(kernelEnd, 0x100000);
  const modPlaces: number[] = [];
  for (const m of modules) {
    modAddr = (modAddr + 0xfff) & ~0xfff;
    if (modAddr + m.data.length > ram) fail(name, `modules do not fit in ${ram >>> 20} MiB of RAM`);
    modPlaces.push(modAddr);
    modAddr += m.data.length;
  }

  // Load.
  for (const s of segments) {
    memory.loadIntoRam(s.paddr, image.subarray(s.fileOffset, s.fileOffset + s.fileSize), name);
    if (s.memSize > s.fileSize) memory.loadIntoRam(s.paddr + s.fileSize, new Uint8Array(s.memSize - s.fileSize), `${name} BSS`);
  }
  modules.forEach((m, i) => memory.loadIntoRam(modPlaces[i]!, m.data, `module ${i}`));

  const info = new Uint8Array(infoEnd - MB_INFO_ADDR);
  const v = new DataView(info.buffer);
  let flags = MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MEM_MAP | MB_INFO_BOOT_LOADER_NAME;
  v.setUint32(4, E820_LOW_TOP >>> 10, true); // mem_lower, KiB
  v.setUint32(8, Math.floor((ram - 0x100000) / 1024), true); // mem_upper, KiB from 1 MiB
  v.setUint32(16, cmdlineAddr, true);
  if (modules.length > 0) {
    flags |= MB_INFO_MODS;
    v.setUint32(20, modules.length, true);
    v.setUint32(24, modsAddr, true);
    modules.forEach((m, i) => {
      const o = modsAddr - MB_INFO_ADDR + i * 16;
      v.setUint32(o, modPlaces[i]!, true);
      v.setUint32(o + 4, modPlaces[i]! + m.data.length, true);
      v.setUint32(o + 8, modStrAddrs[i]!, true);
    });
  }
  v.setUint32(44, mmap.length, true);
  v.setUint32(48, mmapAddr, true);
  v.setUint32(64, loaderAddr, true);
  v.setUint32(0, flags, true);
  info.set(mmap, mmapAddr - MB_INFO_ADDR);
  let so = cmdlineAddr - MB_INFO_ADDR;
  for (const b of strings) {
    info.set(b, so);
    so += b.length;
  }
  memory.loadIntoRam(MB_INFO_ADDR, info, 'multiboot information');

  return protected32Entry(memory, entry, { eax: MULTIBOOT_BOOTLOADER_MAGIC, ebx: MB_INFO_ADDR }, `${name}: multiboot, entry ${hex(entry)}, ${modules.length} module(s)`);
}
