/**
 * The I/O port bus: 65,536 ports with dense handler tables pre-filled with
 * open-bus handlers (reads return all ones, writes are dropped). Devices that
 * implement only byte registers get 16- and 32-bit accesses split into byte
 * accesses on consecutive ports, as the ISA bus does; a device can claim wide
 * accesses itself. Unclaimed accesses are logged, rate-limited by count.
 */
import { argError, checkInt } from '../errors.js';
import { LOG, RateLimitedLog, type Logger, nullLogger } from '../log.js';

export interface PortHandler {
  read8?(port: number): number;
  write8?(port: number, value: number): void;
  read16?(port: number): number;
  write16?(port: number, value: number): void;
  read32?(port: number): number;
  write32?(port: number, value: number): void;
}

type Rd = (port: number) => number;
type Wr = (port: number, value: number) => void;

export const PORT_COUNT = 0x10000;

export class PortBus {
  private readonly r8: Rd[];
  private readonly w8: Wr[];
  private readonly r16: (Rd | null)[];
  private readonly w16: (Wr | null)[];
  private readonly r32: (Rd | null)[];
  private readonly w32: (Wr | null)[];
  private readonly owners: (string | null)[];
  private readonly log: RateLimitedLog;
  /** Hook for the debugger's I/O breakpoints; null on the fast path. */
  onAccess: ((port: number, size: number, isWrite: boolean, value: number) => void) | null = null;
  /** Count of accesses to unclaimed ports (visible in the summary). */
  unclaimedAccesses = 0;

  constructor(logger: Logger = nullLogger) {
    this.log = new RateLimitedLog(logger);
    this.r8 = new Array<Rd>(PORT_COUNT).fill(this.openRead8);
    this.w8 = new Array<Wr>(PORT_COUNT).fill(this.openWrite8);
    this.r16 = new Array<Rd | null>(PORT_COUNT).fill(null);
    this.w16 = new Array<Wr | null>(PORT_COUNT).fill(null);
    this.r32 = new Array<Rd | null>(PORT_COUNT).fill(null);
    this.w32 = new Array<Wr | null>(PORT_COUNT).fill(null);
    this.owners = new Array<string | null>(PORT_COUNT).fill(null);
  }

  private unclaimed(port: number, what: string): void {
    this.unclaimedAccesses++;
    this.log.log(LOG.DEBUG, 'ports', `port ${port.toString(16)}`, `unclaimed port 0x${port.toString(16).padStart(4, '0')} ${what}`);
  }

  /**
   * Claims ports [base, base+count) for `owner`. Missing byte handlers stay
   * open-bus; missing wide handlers are composed from byte handlers.
   */
  register(base: number, count: number, owner: string, h: PortHandler): void {
    checkInt('port base', base, 0, PORT_COUNT - 1);
    checkInt('port count', count, 1, PORT_COUNT - base);
    for (let p = base; p < base + count; p++) {
      const prev = this.owners[p];
      if (prev !== null && prev !== owner) throw argError(`port 0x${p.toString(16)} is claimed by both ${prev} and ${owner}`);
    }
    for (let p = base; p < base + count; p++) {
      this.owners[p] = owner;
      if (h.read8) this.r8[p] = h.read8.bind(h);
      if (h.write8) this.w8[p] = h.write8.bind(h);
      this.r16[p] = h.read16 ? h.read16.bind(h) : null;
      this.w16[p] = h.write16 ? h.write16.bind(h) : null;
      this.r32[p] = h.read32 ? h.read32.bind(h) : null;
      this.w32[p] = h.write32 ? h.write32.bind(h) : null;
    }
  }

  /** Releases ports (used when a PCI BAR moves). */
  unregister(base: number, count: number, owner: string): void {
    for (let p = base; p < base + count && p < PORT_COUNT; p++) {
      if (this.owners[p] !== owner) continue;
      this.owners[p] = null;
      this.r8[p] = this.openRead8;
      this.w8[p] = this.openWrite8;
      this.r16[p] = this.w16[p] = this.r32[p] = this.w32[p] = null;
    }
  }

  private readonly openRead8: Rd = (port) => {
    this.unclaimed(port, 'read');
    return 0xff;
  };
  private readonly openWrite8: Wr = (port, value) => this.unclaimed(port, `write 0x${value.toString(16)}`);

  ownerOf(port: number): string | null {
    return this.owners[port & 0xffff]!;
  }

  in8(port: number): number {
    const v = this.r8[port]!(port) & 0xff;
    if (this.onAccess !== null) this.onAccess(port, 1, false, v);
    return v;
  }

  /** A 16-bit read without the access hook: the device's own, or two byte reads. */
  private read16(port: number): number {
    const f = this.r16[port];
    if (f) return f(port) & 0xffff;
    const p1 = (port + 1) & 0xffff;
    return (this.r8[port]!(port) & 0xff) | ((this.r8[p1]!(p1) & 0xff) << 8);
  }

  /** A 16-bit write without the access hook: the device's own, or two byte writes. */
  private write16(port: number, value: number): void {
    const f = this.w16[port];
    if (f) f(port, value & 0xffff);
    else {
      const p1 = (port + 1) & 0xffff;
      this.w8[port]!(port, value & 0xff);
      this.w8[p1]!(p1, (value >>> 8) & 0xff);
    }
  }

  in16(port: number): number {
    const v = this.read16(port);
    if (this.onAccess !== null) this.onAccess(port, 2, false, v);
    return v;
  }

  in32(port: number): number {
    const f = this.r32[port];
    const v = f ? f(port) | 0 : this.read16(port) | (this.read16((port + 2) & 0xffff) << 16);
    if (this.onAccess !== null) this.onAccess(port, 4, false, v >>> 0);
    return v;
  }

  out8(port: number, value: number): void {
    if (this.onAccess !== null) this.onAccess(port, 1, true, value & 0xff);
    this.w8[port]!(port, value & 0xff);
  }

  out16(port: number, value: number): void {
    if (this.onAccess !== null) this.onAccess(port, 2, true, value & 0xffff);
    this.write16(port, value);
  }

  out32(port: number, value: number): void {
    if (this.onAccess !== null) this.onAccess(port, 4, true, value >>> 0);
    const f = this.w32[port];
    if (f) f(port, value | 0);
    else {
      this.write16(port, value & 0xffff);
      this.write16((port + 2) & 0xffff, (value >>> 16) & 0xffff);
    }
  }
}
