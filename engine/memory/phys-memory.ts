/**
 * The physical address space: a page-granular map (4 KiB pages over 4 GiB) of
 * RAM, ROM and MMIO owners, plus the A20 gate and RAM dirty tracking.
 *
 * Layout of the backing store: `mem` holds RAM (`ramBytes`) followed by the ROM
 * area (`romBytes`). For RAM and ROM pages `pageOffset[page]` is the byte offset
 * in `mem`, so a fast path can read any RAM or ROM byte as
 * `mem[pageOffset[physAddr >>> 12] + (physAddr & 0xfff)]`. For MMIO pages
 * `pageOffset` is the index of the handler in `mmio`.
 *
 * Dirty tracking: every write to a RAM page stores the current `epoch` in
 * `writeStamp[page]`. A DirtyCursor remembers the epoch at which it last
 * collected and reports pages stamped later; collecting bumps the epoch. Code
 * that writes RAM directly (the CPU's fast path, DMA) must do the same:
 * `writeStamp[page] = epoch`, and, if `codePages[page]` is set, call
 * `onCodeWrite(page)` so decoded-instruction caches are invalidated.
 */
import { RewindError, ERR, argError, checkInt } from '../errors.js';
import type { Snapshotable, StateRecord } from '../state/snapshot.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;
export const PAGE_COUNT = 1 << 20; // 4 GiB / 4 KiB

export const PAGE_UNMAPPED = 0;
export const PAGE_RAM = 1;
export const PAGE_ROM = 2;
export const PAGE_MMIO = 3;

export const MAX_RAM_BYTES = 3584 * 1024 * 1024; // 3.5 GiB
export const DEFAULT_RAM_BYTES = 128 * 1024 * 1024;

/** A device that owns physical pages. Byte accesses are required; wider ones optional. */
export interface MmioHandler {
  readonly name: string;
  read8(physAddr: number): number;
  write8(physAddr: number, value: number): void;
  read16?(physAddr: number): number;
  write16?(physAddr: number, value: number): void;
  read32?(physAddr: number): number;
  write32?(physAddr: number, value: number): void;
}

export interface PhysMemoryOptions {
  ramBytes?: number;
  /** Space reserved for ROM images (default 2 MiB). */
  romBytes?: number;
}

export class PhysMemory implements Snapshotable {
  readonly stateName = 'memory';
  readonly stateVersion = 1;

  readonly ramBytes: number;
  readonly ramPages: number;
  readonly romBytes: number;
  readonly mem: Uint8Array;
  readonly pageKind: Uint8Array;
  readonly pageOffset: Int32Array;
  readonly mmio: MmioHandler[] = [];

  readonly writeStamp: Uint32Array;
  epoch = 1;
  /** Pages holding decoded instructions; the CPU sets and clears these. */
  readonly codePages: Uint8Array;
  /** Called when a write hits a page flagged in codePages. */
  onCodeWrite: (page: number) => void = () => {};

  /** 0xFFFFFFFF with A20 enabled, 0xFFEFFFFF with it disabled. The CPU ANDs linear->physical results with it. */
  a20Mask = 0xffffffff | 0;
  private romUsed = 0;
  /** Listeners told when A20 changes (the CPU flushes its TLB). */
  onA20Change: (enabled: boolean) => void = () => {};

  constructor(options: PhysMemoryOptions = {}) {
    const ramBytes = options.ramBytes ?? DEFAULT_RAM_BYTES;
    checkInt('ramBytes', ramBytes, 1024 * 1024, MAX_RAM_BYTES);
    if (ramBytes % PAGE_SIZE !== 0) throw argError(`ramBytes must be a multiple of 4096, got ${ramBytes}`);
    const romBytes = options.romBytes ?? 2 * 1024 * 1024;
    checkInt('romBytes', romBytes, 0, 256 * 1024 * 1024);
    if (romBytes % PAGE_SIZE !== 0) throw argError(`romBytes must be a multiple of 4096, got ${romBytes}`);
    this.ramBytes = ramBytes;
    this.ramPages = ramBytes >>> PAGE_SHIFT;
    this.romBytes = romBytes;
    this.mem = new Uint8Array(ramBytes + romBytes);
    this.pageKind = new Uint8Array(PAGE_COUNT);
    this.pageOffset = new Int32Array(PAGE_COUNT);
    this.writeStamp = new Uint32Array(this.ramPages);
    this.codePages = new Uint8Array(this.ramPages);
    for (let p = 0; p < this.ramPages; p++) {
      this.pageKind[p] = PAGE_RAM;
      this.pageOffset[p] = p << PAGE_SHIFT;
    }
  }

  // ---- mapping ----

  /**
   * Copies `image` into the ROM area and maps it read-only at `physBase`
   * (page aligned). Returns the offset of the copy in `mem`, so the same ROM
   * can be aliased with mapRomAlias.
   */
  mapRom(image: Uint8Array, physBase: number): number {
    if (!(image instanceof Uint8Array) || image.length === 0) throw argError('ROM image must be a non-empty Uint8Array');
    checkInt('ROM base address', physBase, 0, 0xffffffff);
    if (physBase & PAGE_MASK) throw argError(`ROM base 0x${physBase.toString(16)} is not page aligned`);
    const size = (image.length + PAGE_MASK) & ~PAGE_MASK;
    if (physBase + size > 0x100000000) throw argError(`ROM of ${image.length} bytes at 0x${physBase.toString(16)} runs past 4 GiB`);
    if (this.romUsed + size > this.romBytes) {
      throw new RewindError(ERR.IMAGE, `ROM images need ${this.romUsed + size} bytes, more than the ${this.romBytes} reserved`);
    }
    const offset = this.ramBytes + this.romUsed;
    this.mem.set(image, offset);
    this.romUsed += size;
    this.mapRomAlias(offset, size, physBase);
    return offset;
  }

  /** Maps `size` bytes of the ROM area starting at `romOffset` (from mapRom) at `physBase` too. */
  mapRomAlias(romOffset: number, size: number, physBase: number): void {
    if (physBase & PAGE_MASK || size & PAGE_MASK) throw argError('ROM alias must be page aligned');
    for (let i = 0; i < size >>> PAGE_SHIFT; i++) {
      const p = (physBase >>> PAGE_SHIFT) + i;
      this.pageKind[p] = PAGE_ROM;
      this.pageOffset[p] = romOffset + (i << PAGE_SHIFT);
    }
  }

  /**
   * Maps a PC BIOS image the way the chipset decodes it: the last 128 KiB (or
   * the whole image if smaller) just below 1 MiB, and the whole image just
   * below 4 GiB, where the reset vector 0xFFFFFFF0 lands.
   */
  mapBios(image: Uint8Array): void {
    if (!(image instanceof Uint8Array) || image.length === 0) throw argError('BIOS image must be a non-empty Uint8Array');
    if (image.length & PAGE_MASK) throw new RewindError(ERR.IMAGE, `BIOS image size ${image.length} is not a multiple of 4 KiB`);
    if (image.length > 16 * 1024 * 1024) throw new RewindError(ERR.IMAGE, `BIOS image of ${image.length} bytes is larger than 16 MiB`);
    const offset = this.mapRom(image, 0x100000000 - image.length);
    const low = Math.min(image.length, 128 * 1024);
    this.mapRomAlias(offset + image.length - low, low, 0x100000 - low);
  }

  /** Gives the pages [physBase, physBase+size) to an MMIO handler. */
  mapMmio(physBase: number, size: number, handler: MmioHandler): void {
    checkInt('MMIO base address', physBase, 0, 0xffffffff);
    checkInt('MMIO size', size, PAGE_SIZE, 0x100000000);
    if (physBase & PAGE_MASK || size & PAGE_MASK) throw argError('MMIO ranges must be page aligned');
    if (physBase + size > 0x100000000) throw argError('MMIO range runs past 4 GiB');
    let index = this.mmio.indexOf(handler);
    if (index < 0) index = this.mmio.push(handler) - 1;
    for (let p = physBase >>> PAGE_SHIFT; p < (physBase + size) / PAGE_SIZE; p++) {
      this.pageKind[p] = PAGE_MMIO;
      this.pageOffset[p] = index;
    }
  }

  /** Returns pages to what they were at reset (RAM below ramBytes, unmapped above). */
  unmap(physBase: number, size: number): void {
    for (let p = physBase >>> PAGE_SHIFT; p < (physBase + size) / PAGE_SIZE; p++) {
      if (p < this.ramPages) {
        this.pageKind[p] = PAGE_RAM;
        this.pageOffset[p] = p << PAGE_SHIFT;
      } else {
        this.pageKind[p] = PAGE_UNMAPPED;
        this.pageOffset[p] = 0;
      }
    }
  }

  setA20(enabled: boolean): void {
    const mask = enabled ? 0xffffffff | 0 : 0xffefffff | 0;
    if (mask !== this.a20Mask) {
      this.a20Mask = mask;
      this.onA20Change(enabled);
    }
  }

  get a20Enabled(): boolean {
    return this.a20Mask === (0xffffffff | 0);
  }

  // ---- accesses (the general path; `physAddr` has already had A20 applied) ----

  read8(physAddr: number): number {
    const p = physAddr >>> PAGE_SHIFT;
    const kind = this.pageKind[p]!;
    if (kind === PAGE_RAM || kind === PAGE_ROM) return this.mem[this.pageOffset[p]! + (physAddr & PAGE_MASK)]!;
    if (kind === PAGE_MMIO) return this.mmio[this.pageOffset[p]!]!.read8(physAddr >>> 0) & 0xff;
    return 0xff; // open bus
  }

  write8(physAddr: number, value: number): void {
    const p = physAddr >>> PAGE_SHIFT;
    const kind = this.pageKind[p]!;
    if (kind === PAGE_RAM) {
      this.mem[this.pageOffset[p]! + (physAddr & PAGE_MASK)] = value;
      this.writeStamp[p] = this.epoch;
      if (this.codePages[p]) this.onCodeWrite(p);
    } else if (kind === PAGE_MMIO) {
      this.mmio[this.pageOffset[p]!]!.write8(physAddr >>> 0, value & 0xff);
    } // ROM and unmapped: writes are ignored, as on the bus
  }

  read16(physAddr: number): number {
    if ((physAddr & PAGE_MASK) !== PAGE_MASK) {
      const p = physAddr >>> PAGE_SHIFT;
      const kind = this.pageKind[p]!;
      if (kind === PAGE_RAM || kind === PAGE_ROM) {
        const o = this.pageOffset[p]! + (physAddr & PAGE_MASK);
        return this.mem[o]! | (this.mem[o + 1]! << 8);
      }
      if (kind === PAGE_MMIO) {
        const h = this.mmio[this.pageOffset[p]!]!;
        if (h.read16) return h.read16(physAddr >>> 0) & 0xffff;
      }
    }
    return this.read8(physAddr) | (this.read8((physAddr + 1) | 0) << 8);
  }

  read32(physAddr: number): number {
    if ((physAddr & PAGE_MASK) <= PAGE_SIZE - 4) {
      const p = physAddr >>> PAGE_SHIFT;
      const kind = this.pageKind[p]!;
      if (kind === PAGE_RAM || kind === PAGE_ROM) {
        const o = this.pageOffset[p]! + (physAddr & PAGE_MASK);
        const m = this.mem;
        return m[o]! | (m[o + 1]! << 8) | (m[o + 2]! << 16) | (m[o + 3]! << 24);
      }
      if (kind === PAGE_MMIO) {
        const h = this.mmio[this.pageOffset[p]!]!;
        if (h.read32) return h.read32(physAddr >>> 0) | 0;
      }
    }
    return this.read16(physAddr) | (this.read16((physAddr + 2) | 0) << 16);
  }

  write16(physAddr: number, value: number): void {
    if ((physAddr & PAGE_MASK) !== PAGE_MASK) {
      const p = physAddr >>> PAGE_SHIFT;
      if (this.pageKind[p] === PAGE_MMIO) {
        const h = this.mmio[this.pageOffset[p]!]!;
        if (h.write16) {
          h.write16(physAddr >>> 0, value & 0xffff);
          return;
        }
      }
    }
    this.write8(physAddr, value & 0xff);
    this.write8((physAddr + 1) | 0, (value >>> 8) & 0xff);
  }

  write32(physAddr: number, value: number): void {
    if ((physAddr & PAGE_MASK) <= PAGE_SIZE - 4) {
      const p = physAddr >>> PAGE_SHIFT;
      if (this.pageKind[p] === PAGE_MMIO) {
        const h = this.mmio[this.pageOffset[p]!]!;
        if (h.write32) {
          h.write32(physAddr >>> 0, value | 0);
          return;
        }
      }
    }
    this.write16(physAddr, value & 0xffff);
    this.write16((physAddr + 2) | 0, (value >>> 16) & 0xffff);
  }

  /** Copies guest-physical bytes out (loaders, DMA, debugger). */
  readBytes(physAddr: number, length: number): Uint8Array {
    checkInt('physical address', physAddr, 0, 0xffffffff);
    checkInt('length', length, 0, 0x100000000 - physAddr);
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.read8((physAddr + i) | 0);
    return out;
  }

  /** Copies bytes into guest-physical memory (loaders, DMA, debugger). ROM and unmapped pages are skipped. */
  writeBytes(physAddr: number, data: Uint8Array): void {
    checkInt('physical address', physAddr, 0, 0xffffffff);
    if (!(data instanceof Uint8Array)) throw argError('data must be a Uint8Array');
    if (physAddr + data.length > 0x100000000) throw argError('write runs past 4 GiB');
    let i = 0;
    while (i < data.length) {
      const a = physAddr + i;
      const p = a >>> PAGE_SHIFT;
      const n = Math.min(PAGE_SIZE - (a & PAGE_MASK), data.length - i);
      if (this.pageKind[p] === PAGE_RAM) {
        this.mem.set(data.subarray(i, i + n), this.pageOffset[p]! + (a & PAGE_MASK));
        this.writeStamp[p] = this.epoch;
        if (this.codePages[p]) this.onCodeWrite(p);
      } else {
        for (let k = 0; k < n; k++) this.write8((a + k) | 0, data[i + k]!);
      }
      i += n;
    }
  }

  /** Loads an image into RAM, refusing to place it outside RAM. */
  loadIntoRam(physAddr: number, data: Uint8Array, what: string): void {
    if (physAddr < 0 || physAddr + data.length > this.ramBytes) {
      throw new RewindError(ERR.IMAGE, `${what} (${data.length} bytes at 0x${physAddr.toString(16)}) does not fit in ${this.ramBytes >>> 20} MiB of RAM`);
    }
    this.writeBytes(physAddr, data);
  }

  // ---- dirty tracking ----

  createDirtyCursor(): DirtyCursor {
    return new DirtyCursor(this);
  }

  // ---- state ----
  // RAM contents are saved by the snapshot layer page by page (see state/snapshot.ts);
  // this record holds the rest.
  saveState(): StateRecord {
    return { a20: this.a20Enabled };
  }

  loadState(s: StateRecord): void {
    this.setA20(s['a20'] === true);
  }
}

/** Reports the RAM pages written since its previous collect(). */
export class DirtyCursor {
  private readonly memory: PhysMemory;
  private lastEpoch: number;
  constructor(memory: PhysMemory) {
    this.memory = memory;
    // A new cursor sees everything written since power-on as dirty.
    this.lastEpoch = 0;
  }

  /** Page indices written since the last collect (ascending), then starts a new interval. */
  collect(): Uint32Array {
    const m = this.memory;
    const stamps = m.writeStamp;
    const last = this.lastEpoch;
    let n = 0;
    for (let p = 0; p < stamps.length; p++) if (stamps[p]! > last) n++;
    const out = new Uint32Array(n);
    n = 0;
    for (let p = 0; p < stamps.length; p++) if (stamps[p]! > last) out[n++] = p;
    this.lastEpoch = m.epoch;
    m.epoch++;
    return out;
  }

  /** Forgets history: the next collect reports only pages written after this call. */
  reset(): void {
    this.lastEpoch = this.memory.epoch;
    this.memory.epoch++;
  }

  /** Marks every page dirty for this cursor (after a restore replaced RAM wholesale). */
  markAll(): void {
    this.lastEpoch = 0;
  }
}
