/**
 * The contract between the PCI host bridge (pci-host.ts) and PCI functions
 * (the PCnet card, the bridges themselves). Configuration space is 256 bytes,
 * little-endian. The host bridge implements configuration mechanism #1 and
 * forwards accesses; a function decides which bits are writable and reacts to
 * BAR and command-register changes itself (mapping its I/O ports or MMIO
 * through the DeviceContext it was attached with).
 */
export interface PciFunction {
  readonly name: string;
  /** Reads `size` (1, 2 or 4) bytes at `offset` (aligned to size) of configuration space. */
  configRead(offset: number, size: 1 | 2 | 4): number;
  /** Writes `size` bytes at `offset`; read-only bits are preserved by the function. */
  configWrite(offset: number, size: 1 | 2 | 4, value: number): void;
}

/** Where a function sits: bus 0, device 0-31, function 0-7. */
export interface PciAddress {
  device: number;
  fn: number;
}

/** Standard configuration-space offsets. */
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BAR0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_ROM_BASE = 0x30;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

export const PCI_COMMAND_IO = 0x1;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_INTX_DISABLE = 0x400;

/**
 * A helper most functions use: a 256-byte space with a write mask per byte.
 * BAR sizing falls out of the mask (write all ones, read back the size mask).
 */
export class PciConfigSpace {
  readonly bytes = new Uint8Array(256);
  readonly writeMask = new Uint8Array(256);

  read(offset: number, size: 1 | 2 | 4): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.bytes[(offset + i) & 0xff]!;
    return size === 4 ? v >>> 0 : v;
  }

  /** Writes through the mask; returns nothing. Callers react to changes afterwards. */
  write(offset: number, size: 1 | 2 | 4, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = (offset + i) & 0xff;
      const m = this.writeMask[o]!;
      this.bytes[o] = (this.bytes[o]! & ~m) | ((value >>> (8 * i)) & m);
    }
  }

  set8(o: number, v: number): void { this.bytes[o] = v; }
  set16(o: number, v: number): void { this.bytes[o] = v; this.bytes[o + 1] = v >>> 8; }
  set32(o: number, v: number): void { this.set16(o, v & 0xffff); this.set16(o + 2, v >>> 16); }
  get16(o: number): number { return this.bytes[o]! | (this.bytes[o + 1]! << 8); }
  get32(o: number): number { return (this.get16(o) | (this.get16(o + 2) << 16)) >>> 0; }
  mask16(o: number, m: number): void { this.writeMask[o] = m; this.writeMask[o + 1] = m >>> 8; }
  mask32(o: number, m: number): void { this.mask16(o, m & 0xffff); this.mask16(o + 2, m >>> 16); }
}

// ---- added by the platform devices (pci-host.ts): how a function reaches the bus ----

/** A function's INTx# wire, handed out by the host bridge when the function is added. */
export interface PciIntx {
  /**
   * Asserts (true) or releases (false) the function's interrupt pin (the one in
   * config byte 0x3D). Level-triggered and shared: the line stays asserted
   * while any function routed to it asserts. Routing goes through the PIIX3
   * PIRQ registers; the command register's INTx-disable bit is honoured.
   */
  setIntx(asserted: boolean): void;
}

/** What a PCI function's owner sees of the bus (implemented by PciHost). */
export interface PciBus {
  addFunction(addr: PciAddress, fn: PciFunction): PciIntx;
}

export const PCI_BAR_IO = 0x1;
export const PCI_BAR_MEM_PREFETCH = 0x8;

/**
 * Declares BAR `index` (0-5) as an I/O BAR of `size` bytes (a power of two,
 * >= 4): bit 0 reads as 1, the low address bits read as 0, so writing all ones
 * reads back ~(size - 1) | 1, the standard sizing answer.
 */
export function defineIoBar(space: PciConfigSpace, index: number, size: number): void {
  const o = PCI_BAR0 + 4 * index;
  space.set32(o, PCI_BAR_IO);
  space.mask32(o, ~(size - 1) & 0xfffffffc);
}

/** Declares BAR `index` as a 32-bit memory BAR of `size` bytes (a power of two, >= 16). */
export function defineMemBar(space: PciConfigSpace, index: number, size: number, prefetchable = false): void {
  const o = PCI_BAR0 + 4 * index;
  space.set32(o, prefetchable ? PCI_BAR_MEM_PREFETCH : 0);
  space.mask32(o, ~(size - 1) & 0xfffffff0);
}

/** The address a BAR is programmed with (flag bits stripped). */
export function barAddress(space: PciConfigSpace, index: number): number {
  const v = space.get32(PCI_BAR0 + 4 * index);
  return (v & PCI_BAR_IO ? v & 0xfffffffc : v & 0xfffffff0) >>> 0;
}
