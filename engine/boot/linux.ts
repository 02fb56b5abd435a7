/**
 * Linux bzImage direct boot through the 32-bit boot protocol
 * (Documentation/arch/x86/boot.rst), as `qemu -kernel` does without running
 * the real-mode setup code:
 *
 *  - the setup header is checked: boot flag 0xAA55, "HdrS", protocol
 *    version >= 2.04, LOADED_HIGH (a bzImage, not a zImage), not a 64-bit
 *    kernel, syssize consistent with the file, command line within
 *    cmdline_size, RAM enough for init_size;
 *  - the protected-mode kernel (the file after the (setup_sects + 1) * 512
 *    bytes of setup) goes to code32_start (0x100000 for a bzImage);
 *  - boot_params (the "zero page") is built at 0x10000: the image's setup
 *    header copied in, type_of_loader 0xFF, CAN_USE_HEAP with heap_end_ptr,
 *    cmd_line_ptr (command line at 0x20000), the initrd as high as
 *    initrd_addr_max and RAM allow (page aligned), alt_mem_k, and an e820
 *    map (conventional RAM, the EBDA/ROM holes, RAM above 1 MiB);
 *  - entry: 32-bit protected mode with flat __BOOT_CS (0x10) / __BOOT_DS
 *    (0x18), paging and interrupts off, ESI = boot_params,
 *    EBX = EBP = EDI = 0, EIP = code32_start.
 */
import { RewindError, ERR, argError, describe } from '../errors.js';
import type { PhysMemory } from '../memory/phys-memory.js';
import { type EntryState, protected32Entry } from './entry-state.js';
import { buildE820, encodeE820 } from './e820.js';

export const LINUX_BOOT_PARAMS_ADDR = 0x10000;
export const LINUX_CMDLINE_ADDR = 0x20000;
export const LINUX_HEADER_MAGIC = 0x53726448; // "HdrS"
export const LINUX_MIN_PROTOCOL = 0x0204;

// boot_params / setup header offsets
export const BP_ALT_MEM_K = 0x1e0;
export const BP_E820_ENTRIES = 0x1e8;
export const BP_SENTINEL = 0x1ef;
export const BP_SETUP_HEADER = 0x1f1;
export const BP_E820_TABLE = 0x2d0;
export const BP_E820_MAX = 128;
export const HDR_SETUP_SECTS = 0x1f1;
export const HDR_SYSSIZE = 0x1f4;
export const HDR_VID_MODE = 0x1fa;
export const HDR_BOOT_FLAG = 0x1fe;
export const HDR_JUMP = 0x200;
export const HDR_HEADER = 0x202;
export const HDR_VERSION = 0x206;
export const HDR_TYPE_OF_LOADER = 0x210;
export const HDR_LOADFLAGS = 0x211;
export const HDR_CODE32_START = 0x214;
export const HDR_RAMDISK_IMAGE = 0x218;
export const HDR_RAMDISK_SIZE = 0x21c;
export const HDR_HEAP_END_PTR = 0x224;
export const HDR_CMD_LINE_PTR = 0x228;
export const HDR_INITRD_ADDR_MAX = 0x22c;
export const HDR_KERNEL_ALIGNMENT = 0x230;
export const HDR_RELOCATABLE = 0x234;
export const HDR_XLOADFLAGS = 0x236;
export const HDR_CMDLINE_SIZE = 0x238;
export const HDR_PREF_ADDRESS = 0x258;
export const HDR_INIT_SIZE = 0x260;

export const LOADED_HIGH = 0x01;
export const CAN_USE_HEAP = 0x80;
export const XLF_KERNEL_64 = 0x01;

export interface LinuxOptions {
  cmdline?: string;
  initrd?: Uint8Array | null;
  /** Names the image in errors. */
  name?: string;
}

/** What the loader found in the setup header (also for the CLI's summary). */
export interface LinuxHeaderInfo {
  version: number;
  setupSects: number;
  syssize: number;
  loadflags: number;
  code32Start: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  cmdlineSize: number;
  initSize: number;
  /** Preferred load address (LOAD_PHYSICAL_ADDR; protocol >= 2.10, else code32_start). */
  prefAddress: number;
  xloadflags: number;
  /** Byte offset of the protected-mode kernel in the file. */
  pmOffset: number;
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
function ver(v: number): string {
  return `${v >>> 8}.${(v & 0xff).toString().padStart(2, '0')}`;
}

/** Parses and checks the setup header; throws a RewindError naming what violates the protocol. */
export function parseLinuxHeader(image: Uint8Array, name = 'kernel'): LinuxHeaderInfo {
  const bad = (what: string): never => {
    throw new RewindError(ERR.IMAGE, `${name}: ${what}`);
  };
  if (!(image instanceof Uint8Array)) throw argError(`${name} must be given as bytes (a Uint8Array), got ${describe(image)}`);
  if (image.length < 0x264) bad(`is ${image.length} bytes, too short for a Linux bzImage`);
  if (u16(image, HDR_BOOT_FLAG) !== 0xaa55) bad('is not a Linux kernel image (no 0xAA55 boot flag at 0x1FE)');
  if (u32(image, HDR_HEADER) !== LINUX_HEADER_MAGIC) bad('has no "HdrS" setup header: a pre-2.00 kernel or not a bzImage');
  const version = u16(image, HDR_VERSION);
  if (version < LINUX_MIN_PROTOCOL) bad(`uses boot protocol ${ver(version)}; rewind needs ${ver(LINUX_MIN_PROTOCOL)} or later`);
  const loadflags = image[HDR_LOADFLAGS]!;
  if ((loadflags & LOADED_HIGH) === 0) bad('is a zImage (LOADED_HIGH clear); only bzImages can be loaded');
  const xloadflags = version >= 0x020c ? u16(image, HDR_XLOADFLAGS) : 0;
  if (xloadflags & XLF_KERNEL_64) bad('is a 64-bit (x86-64) kernel; rewind emulates IA-32 only');
  const setupSects = image[HDR_SETUP_SECTS]! === 0 ? 4 : image[HDR_SETUP_SECTS]!;
  const pmOffset = (setupSects + 1) * 512;
  if (pmOffset >= image.length) bad(`setup_sects = ${setupSects} puts the protected-mode kernel past the end of the file (${image.length} bytes)`);
  const syssize = u32(image, HDR_SYSSIZE);
  if (syssize === 0) bad('has syssize 0 (no protected-mode kernel)');
  if (syssize * 16 > image.length - pmOffset + 15) {
    bad(`is truncated: syssize says ${syssize * 16} bytes of protected-mode kernel, the file has ${image.length - pmOffset}`);
  }
  const code32Start = u32(image, HDR_CODE32_START);
  const initrdAddrMax = u32(image, HDR_INITRD_ADDR_MAX) || 0x37ffffff;
  const kernelAlignment = version >= 0x0205 ? u32(image, HDR_KERNEL_ALIGNMENT) : 0;
  const relocatable = version >= 0x0205 && image[HDR_RELOCATABLE]! !== 0;
  if (relocatable && kernelAlignment !== 0 && (kernelAlignment & (kernelAlignment - 1)) !== 0) bad(`kernel_alignment ${hex(kernelAlignment)} is not a power of two`);
  const cmdlineSize = version >= 0x0206 ? u32(image, HDR_CMDLINE_SIZE) : 255;
  const initSize = version >= 0x020a ? u32(image, HDR_INIT_SIZE) : 0;
  const prefAddress = version >= 0x020a ? u32(image, HDR_PREF_ADDRESS) : code32Start;
  return { version, setupSects, syssize, loadflags, code32Start, initrdAddrMax, kernelAlignment, relocatable, cmdlineSize, initSize, prefAddress, xloadflags, pmOffset };
}

/** Loads a bzImage (and initrd) and returns the 32-bit boot protocol entry state. */
export function loadBzImage(memory: PhysMemory, image: Uint8Array, opts: LinuxOptions = {}): EntryState {
  const name = opts.name ?? 'kernel';
  const bad = (what: string): never => {
    throw new RewindError(ERR.IMAGE, `${name}: ${what}`);
  };
  const h = parseLinuxHeader(image, name);
  const ram = memory.ramBytes;
  const pm = image.subarray(h.pmOffset);
  const loadAddr = h.code32Start;
  if (loadAddr < 0x100000) bad(`code32_start ${hex(loadAddr)} is below 1 MiB; a bzImage loads at 1 MiB or above`);
  // Where the kernel runs (and decompresses to): the load address aligned up to
  // kernel_alignment but not below LOAD_PHYSICAL_ADDR for a relocatable kernel
  // (arch/x86/boot/compressed/head_32.S), its preferred address otherwise.
  const align = h.kernelAlignment || 1;
  const runStart = h.relocatable ? Math.max(Math.ceil(loadAddr / align) * align, h.prefAddress) : Math.max(h.prefAddress, loadAddr);
  const kernelEnd = Math.max(loadAddr + pm.length, runStart + h.initSize);
  if (kernelEnd > ram) {
    bad(`needs ${Math.ceil(kernelEnd / 1048576)} MiB of RAM to load and decompress (runs at ${hex(runStart)}, init_size ${hex(h.initSize)}); the machine has ${ram >>> 20} MiB`);
  }

  const enc = new TextEncoder();
  const cmdline = enc.encode(opts.cmdline ?? '');
  if (cmdline.length > h.cmdlineSize) bad(`command line is ${cmdline.length} bytes, longer than the kernel's cmdline_size ${h.cmdlineSize}`);
  if (cmdline.includes(0)) bad('command line contains a NUL byte');
  if (cmdline.length >= 0x9fc00 - LINUX_CMDLINE_ADDR) bad(`command line of ${cmdline.length} bytes does not fit in conventional memory`);

  // initrd: as high as allowed, page aligned, above the kernel.
  const initrd = opts.initrd ?? null;
  let initrdAddr = 0;
  if (initrd && initrd.length > 0) {
    const max = Math.min(h.initrdAddrMax, ram - 1);
    initrdAddr = Math.floor((max + 1 - initrd.length) / 4096) * 4096;
    if (initrdAddr < kernelEnd) {
      bad(`initrd of ${initrd.length} bytes does not fit between the kernel (ends ${hex(kernelEnd)}) and min(initrd_addr_max ${hex(h.initrdAddrMax)}, end of RAM)`);
    }
  }

  // boot_params.
  const bp = new Uint8Array(4096);
  const hdrEnd = Math.min(0x202 + image[HDR_JUMP + 1]!, image.length, 0x280);
  bp.set(image.subarray(BP_SETUP_HEADER, hdrEnd), BP_SETUP_HEADER);
  const v = new DataView(bp.buffer);
  bp[HDR_TYPE_OF_LOADER] = 0xff;
  bp[HDR_LOADFLAGS] = (h.loadflags | CAN_USE_HEAP) & ~0x20 /* not QUIET */;
  v.setUint16(HDR_HEAP_END_PTR, LINUX_CMDLINE_ADDR - LINUX_BOOT_PARAMS_ADDR - 0x200, true);
  v.setUint16(HDR_VID_MODE, 0xffff, true); // "normal"
  v.setUint32(HDR_CMD_LINE_PTR, LINUX_CMDLINE_ADDR, true);
  v.setUint32(HDR_CODE32_START, loadAddr, true);
  v.setUint32(HDR_RAMDISK_IMAGE, initrdAddr, true);
  v.setUint32(HDR_RAMDISK_SIZE, initrd ? initrd.length : 0, true);
  v.setUint32(BP_ALT_MEM_K, Math.floor((ram - 0x100000) / 1024), true);
  const e820 = buildE820(ram);
  bp[BP_E820_ENTRIES] = e820.length;
  bp.set(encodeE820(e820), BP_E820_TABLE);

  memory.loadIntoRam(loadAddr, pm, `${name} protected-mode code`);
  if (initrd && initrd.length > 0) memory.loadIntoRam(initrdAddr, initrd, 'initrd');
  const cl = new Uint8Array(cmdline.length + 1);
  cl.set(cmdline);
  memory.loadIntoRam(LINUX_CMDLINE_ADDR, cl, 'kernel command line');
  memory.loadIntoRam(LINUX_BOOT_PARAMS_ADDR, bp, 'boot_params');

  return protected32Entry(
    memory,
    loadAddr,
    { esi: LINUX_BOOT_PARAMS_ADDR, ebx: 0, ebp: 0, edi: 0 },
    `${name}: Linux boot protocol ${ver(h.version)}, ${pm.length} bytes at ${hex(loadAddr)}` + (initrd ? `, initrd ${initrd.length} bytes at ${hex(initrdAddr)}` : ''),
  );
}
