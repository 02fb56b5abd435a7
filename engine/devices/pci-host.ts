/**
 * The PCI host: configuration mechanism #1 (0xCF8 address, 0xCFC-0xCFF data),
 * bus 0 with an i440FX-style host bridge (8086:1237) at 00.0 and a PIIX3-style
 * PCI-to-ISA bridge (8086:7000) at 01.0, the PIIX3 reset control register at
 * 0xCF9, PIRQ routing (PIIX3 config 0x60-0x63) of PCI INTA#-INTD# to ISA IRQs,
 * and the i440FX PAM registers (0x59-0x5F) that switch 0xC0000-0xFFFFF
 * between ROM and shadow RAM, as SeaBIOS expects.
 *
 * Interrupt routing is the i440FX/PIIX one QEMU and SeaBIOS use: the pin
 * INTx (1 = INTA) of device d drives PIRQ[(x - 1 + d - 1) & 3]; PIRQRC[n]
 * bit 7 disables the route, bits 3:0 name the IRQ. Routed lines are
 * level-triggered and shared (set the PIC's ELCR bit for them, as BIOSes do).
 */
import { argError, RewindError, ERR } from '../errors.js';
import type { Device, DeviceContext } from '../device.js';
import type { PhysMemory, MmioHandler } from '../memory/phys-memory.js';
import { PAGE_RAM, PAGE_ROM, PAGE_SHIFT, PAGE_MASK } from '../memory/phys-memory.js';
import type { StateRecord } from '../state/snapshot.js';
import { num, bytes } from '../state/snapshot.js';
import {
  type PciAddress,
  type PciFunction,
  type PciIntx,
  type PciBus,
  PciConfigSpace,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_INTERRUPT_PIN,
} from './pci-device.js';

export const PCI_CONFIG_ADDRESS = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;
export const PIIX_RESET_CONTROL = 0xcf9;
/** PIIX3 configuration registers PIRQRC[A-D]. */
export const PIIX_PIRQRC = 0x60;
export const PIIX_PIRQ_DISABLE = 0x80;
/** i440FX PAM0 (0xF0000-0xFFFFF in bits 5:4); PAM1-6 follow, two 16 KiB segments each. */
export const I440FX_PAM0 = 0x59;

/** ISA IRQs a PIRQ may be routed to (PIIX3 datasheet: 3-7, 9-12, 14, 15). */
const PIRQ_VALID_IRQS = 0xdef8;

function devfn(addr: PciAddress): number {
  return ((addr.device & 31) << 3) | (addr.fn & 7);
}

/** A function as the bus sees it: its INTx wire and current level. */
class PciSlot implements PciIntx {
  readonly host: PciHost;
  readonly devfn: number;
  readonly fn: PciFunction;
  asserted = false;
  constructor(host: PciHost, df: number, fn: PciFunction) {
    this.host = host;
    this.devfn = df;
    this.fn = fn;
  }
  setIntx(asserted: boolean): void {
    if (asserted === this.asserted) return;
    this.asserted = asserted;
    this.host.updatePirqs();
  }
  /** The PIRQ (0-3) this function's pin is wired to, or -1 if it has no pin. */
  pirq(): number {
    const pin = this.fn.configRead(PCI_INTERRUPT_PIN, 1) & 0xff;
    if (pin < 1 || pin > 4) return -1;
    return (pin - 1 + (this.devfn >>> 3) - 1) & 3;
  }
  driving(): boolean {
    return this.asserted && (this.fn.configRead(PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE) === 0;
  }
}

/** A configuration space owned by the host itself (the two bridges). */
class BridgeFunction implements PciFunction {
  readonly name: string;
  readonly space = new PciConfigSpace();
  onWrite: (offset: number, size: 1 | 2 | 4) => void = () => {};
  constructor(name: string) {
    this.name = name;
  }
  configRead(offset: number, size: 1 | 2 | 4): number {
    return this.space.read(offset, size);
  }
  configWrite(offset: number, size: 1 | 2 | 4, value: number): void {
    this.space.write(offset, size, value);
    this.onWrite(offset, size);
  }
}

/** PAM "read ROM, write RAM" mode: an MMIO handler over one segment. */
class PamWriteOnly implements MmioHandler {
  readonly name = 'pam-write-ram';
  readonly host: PciHost;
  constructor(host: PciHost) {
    this.host = host;
  }
  read8(physAddr: number): number {
    const m = this.host.memory();
    const p = physAddr >>> PAGE_SHIFT;
    return m.mem[this.host.originalOffset(p) + (physAddr & PAGE_MASK)]!;
  }
  write8(physAddr: number, value: number): void {
    const m = this.host.memory();
    const p = physAddr >>> PAGE_SHIFT;
    m.mem[(p << PAGE_SHIFT) + (physAddr & PAGE_MASK)] = value;
    m.writeStamp[p] = m.epoch;
    if (m.codePages[p]) m.onCodeWrite(p);
  }
}

const PAM_FIRST_PAGE = 0xc0;
const PAM_PAGES = 0x40;

export class PciHost implements Device, PciBus {
  readonly stateName = 'pci';
  readonly stateVersion = 1;
  private ctx: DeviceContext | null = null;
  /** CONFIG_ADDRESS as last written (bit 31 enable, 23:16 bus, 15:11 device, 10:8 function, 7:2 register). */
  configAddress = 0;
  /** PIIX3 reset control register (0xCF9) bits 1 and 3. */
  resetControl = 0;
  private readonly slots: (PciSlot | null)[] = new Array<PciSlot | null>(256).fill(null);
  readonly hostBridge = new BridgeFunction('i440fx');
  readonly isaBridge = new BridgeFunction('piix3');
  private readonly pirqSource = new Int32Array(4).fill(-1);
  /** The ISA IRQ each PIRQ currently drives (-1 when disabled) and the level it drives it with. */
  private readonly pirqLine = new Int32Array(4).fill(-1);
  private readonly pirqLevel = new Uint8Array(4);
  /** The page map of 0xC0000-0xFFFFF before any PAM change (captured lazily), for PAM mode 0. */
  private readonly origKind = new Uint8Array(PAM_PAGES);
  private readonly origOffset = new Int32Array(PAM_PAGES);
  private origCaptured = false;
  private readonly pamMmio: PamWriteOnly;
  /** The PAM mode (0-3) each page currently has applied. */
  private readonly pamApplied = new Uint8Array(PAM_PAGES);
  /**
   * Called after PAM changes the page map of 0xC0000-0xFFFFF. The CPU must drop
   * TLB entries and decoded code for those pages; the default re-announces the
   * A20 state, which makes the CPU flush its TLB.
   */
  onRemap: () => void = () => {
    const m = this.ctx?.memory;
    if (m) m.onA20Change(m.a20Enabled);
  };

  constructor() {
    this.pamMmio = new PamWriteOnly(this);
    const hb = this.hostBridge.space;
    hb.set16(0x00, 0x8086);
    hb.set16(0x02, 0x1237);
    hb.set8(0x08, 0x02);
    hb.set8(0x0a, 0x00);
    hb.set8(0x0b, 0x06);
    hb.mask16(PCI_COMMAND, 0x0146);
    hb.writeMask[0x0d] = 0xf8; // latency timer
    for (let o = I440FX_PAM0; o <= I440FX_PAM0 + 6; o++) hb.writeMask[o] = o === I440FX_PAM0 ? 0x30 : 0x33;
    hb.writeMask[0x72] = 0x78; // SMRAM control (no SMM: kept only)
    this.hostBridge.onWrite = (offset, size) => {
      if (offset + size > I440FX_PAM0 && offset <= I440FX_PAM0 + 6) this.applyPam();
    };
    const ib = this.isaBridge.space;
    ib.set16(0x00, 0x8086);
    ib.set16(0x02, 0x7000);
    ib.set8(0x08, 0x00);
    ib.set8(0x0a, 0x01);
    ib.set8(0x0b, 0x06);
    ib.set8(0x0e, 0x80); // multi-function (IDE and USB functions are not modelled)
    ib.mask16(PCI_COMMAND, 0x0008);
    for (let i = 0; i < 4; i++) ib.writeMask[PIIX_PIRQRC + i] = 0x8f;
    for (const o of [0x4c, 0x4e, 0x4f, 0x69, 0x6a, 0x6b, 0x70, 0x76, 0x77, 0x78, 0x79, 0x80, 0x82, 0xa0, 0xa2, 0xa3]) ib.writeMask[o] = 0xff;
    this.isaBridge.onWrite = (offset, size) => {
      if (offset + size > PIIX_PIRQRC && offset < PIIX_PIRQRC + 4) this.updatePirqs();
    };
    this.powerOnConfig();
    this.slots[devfn({ device: 0, fn: 0 })] = new PciSlot(this, 0, this.hostBridge);
    this.slots[devfn({ device: 1, fn: 0 })] = new PciSlot(this, 8, this.isaBridge);
  }

  private powerOnConfig(): void {
    const hb = this.hostBridge.space;
    hb.set16(PCI_COMMAND, 0x0006);
    hb.set16(0x06, 0x0280);
    hb.set8(0x0d, 0);
    for (let o = I440FX_PAM0; o <= I440FX_PAM0 + 6; o++) hb.set8(o, 0);
    hb.set8(0x72, 0x02);
    const ib = this.isaBridge.space;
    ib.set16(PCI_COMMAND, 0x0007);
    ib.set16(0x06, 0x0200);
    for (let i = 0; i < 4; i++) ib.set8(PIIX_PIRQRC + i, PIIX_PIRQ_DISABLE);
    for (const o of [0x4c, 0x4e, 0x4f, 0x69, 0x6a, 0x6b, 0x70, 0x76, 0x77, 0x78, 0x79, 0x80, 0x82, 0xa0, 0xa2, 0xa3]) ib.set8(o, 0);
    ib.set8(0x4c, 0x4d);
    ib.set8(0x4e, 0x03);
    ib.set8(0x69, 0x02);
    ib.set8(0x70, 0x80);
    ib.set8(0x76, 0x0c);
    ib.set8(0x77, 0x0c);
    ib.set8(0x78, 0x02);
  }

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    for (let i = 0; i < 4; i++) this.pirqSource[i] = ctx.irq.allocSource(`pirq${'ABCD'[i]}`);
    ctx.ports.register(PCI_CONFIG_ADDRESS, 4, 'pci-host', {
      read8: (port) => (port === PIIX_RESET_CONTROL ? this.resetControl : 0xff),
      write8: (port, v) => {
        if (port === PIIX_RESET_CONTROL) this.writeResetControl(v);
      },
      read16: () => 0xffff,
      write16: () => {},
      read32: (port) => (port === PCI_CONFIG_ADDRESS ? this.configAddress | 0 : -1),
      write32: (port, v) => {
        if (port === PCI_CONFIG_ADDRESS) this.configAddress = (v & 0x80fffffc) >>> 0;
      },
    });
    ctx.ports.register(PCI_CONFIG_DATA, 4, 'pci-host', {
      read8: (port) => this.configDataRead(port & 3, 1),
      write8: (port, v) => this.configDataWrite(port & 3, 1, v),
      read16: (port) => this.configDataRead(port & 3, 2),
      write16: (port, v) => this.configDataWrite(port & 3, 2, v),
      read32: (port) => this.configDataRead(port & 3, 4),
      write32: (port, v) => this.configDataWrite(port & 3, 4, v),
    });
  }

  /** Plugs a function into bus 0. Device 0 and 1 (function 0) are the bridges. */
  addFunction(addr: PciAddress, fn: PciFunction): PciIntx {
    if (!Number.isInteger(addr.device) || addr.device < 0 || addr.device > 31) throw argError(`PCI device number must be 0-31, got ${String(addr.device)}`);
    if (!Number.isInteger(addr.fn) || addr.fn < 0 || addr.fn > 7) throw argError(`PCI function number must be 0-7, got ${String(addr.fn)}`);
    const df = devfn(addr);
    const have = this.slots[df];
    if (have) throw argError(`PCI slot 00:${addr.device.toString(16).padStart(2, '0')}.${addr.fn} is taken by ${have.fn.name}`);
    const slot = new PciSlot(this, df, fn);
    this.slots[df] = slot;
    return slot;
  }

  /** The function at bus 0 `addr`, if any (for the debugger and tests). */
  functionAt(addr: PciAddress): PciFunction | null {
    return this.slots[devfn(addr)]?.fn ?? null;
  }

  private target(): PciSlot | null {
    const a = this.configAddress;
    if ((a & 0x80000000) === 0 || ((a >>> 16) & 0xff) !== 0) return null;
    return this.slots[(a >>> 8) & 0xff]!;
  }

  /** Reads `size` bytes at byte `lane` (0-3) of the selected dword; unaligned reads are split. */
  configDataRead(lane: number, size: 1 | 2 | 4): number {
    const slot = this.target();
    const allOnes = size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
    if (!slot) return allOnes;
    const offset = (this.configAddress & 0xfc) + lane;
    if ((lane & (size - 1)) === 0 && lane + size <= 4) return slot.fn.configRead(offset, size);
    let v = 0;
    for (let i = 0; i < size && lane + i < 4; i++) v |= (slot.fn.configRead(offset + i, 1) & 0xff) << (8 * i);
    for (let i = 4 - lane; i < size; i++) v |= 0xff << (8 * i);
    return v;
  }

  configDataWrite(lane: number, size: 1 | 2 | 4, value: number): void {
    const slot = this.target();
    if (!slot) return;
    const offset = (this.configAddress & 0xfc) + lane;
    if ((lane & (size - 1)) === 0 && lane + size <= 4) slot.fn.configWrite(offset, size, size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff));
    else for (let i = 0; i < size && lane + i < 4; i++) slot.fn.configWrite(offset + i, 1, (value >>> (8 * i)) & 0xff);
    if (offset <= PCI_COMMAND + 1 && offset + size > PCI_COMMAND) this.updatePirqs(); // INTx disable may have changed
  }

  private writeResetControl(v: number): void {
    this.resetControl = v & 0x0a;
    if (v & 0x04) this.ctx?.requestReset(`PIIX reset control 0xCF9 <- 0x${v.toString(16)}`);
  }

  // ---- PCI interrupt routing ----

  /** The ISA IRQ PIRQ `n` is routed to, or -1. */
  pirqRoute(n: number): number {
    const r = this.isaBridge.space.bytes[PIIX_PIRQRC + n]!;
    if (r & PIIX_PIRQ_DISABLE) return -1;
    const irq = r & 0x0f;
    return (PIRQ_VALID_IRQS >>> irq) & 1 ? irq : -1;
  }

  /** Recomputes every PIRQ level and route and drives the ISA lines accordingly. */
  updatePirqs(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    let levels = 0;
    for (let i = 0; i < 256; i++) {
      const s = this.slots[i];
      if (s && s.asserted && s.driving()) {
        const p = s.pirq();
        if (p >= 0) levels |= 1 << p;
      }
    }
    for (let p = 0; p < 4; p++) {
      const line = this.pirqRoute(p);
      const level = (levels >>> p) & 1;
      const oldLine = this.pirqLine[p]!;
      if (oldLine !== line && oldLine >= 0 && this.pirqLevel[p]) ctx.irq.set(oldLine, false, this.pirqSource[p]!);
      if (line >= 0 && (oldLine !== line || this.pirqLevel[p] !== level)) ctx.irq.set(line, level === 1, this.pirqSource[p]!);
      this.pirqLine[p] = line;
      this.pirqLevel[p] = line >= 0 ? level : 0;
    }
  }

  // ---- PAM (BIOS shadow RAM) ----

  memory(): PhysMemory {
    return this.ctx!.memory;
  }

  originalOffset(page: number): number {
    return this.origOffset[page - PAM_FIRST_PAGE]!;
  }

  /** PAM mode (bit 0 read enable, bit 1 write enable) of physical page `page` (0xC0-0xFF). */
  private pamMode(page: number): number {
    const b = this.hostBridge.space.bytes;
    if (page >= 0xf0) return (b[I440FX_PAM0]! >>> 4) & 3;
    const seg = (page - PAM_FIRST_PAGE) >>> 2; // 16 KiB segments
    const v = b[I440FX_PAM0 + 1 + (seg >>> 1)]!;
    return (seg & 1 ? v >>> 4 : v) & 3;
  }

  private applyPam(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const m = ctx.memory;
    let changed = false;
    for (let i = 0; i < PAM_PAGES; i++) {
      const page = PAM_FIRST_PAGE + i;
      const mode = this.pamMode(page);
      if (mode === this.pamApplied[i]) continue;
      if (!this.origCaptured) {
        for (let k = 0; k < PAM_PAGES; k++) {
          this.origKind[k] = m.pageKind[PAM_FIRST_PAGE + k]!;
          this.origOffset[k] = m.pageOffset[PAM_FIRST_PAGE + k]!;
        }
        this.origCaptured = true;
      }
      changed = true;
      this.pamApplied[i] = mode;
      const ram = page << PAGE_SHIFT;
      if (mode === 0) {
        m.pageKind[page] = this.origKind[i]!;
        m.pageOffset[page] = this.origOffset[i]!;
      } else if (mode === 3) {
        m.pageKind[page] = PAGE_RAM;
        m.pageOffset[page] = ram;
      } else if (mode === 1) {
        m.pageKind[page] = PAGE_ROM; // read RAM, writes dropped
        m.pageOffset[page] = ram;
      } else {
        m.mapMmio(ram, 1 << PAGE_SHIFT, this.pamMmio); // read ROM, write RAM
      }
    }
    if (changed) this.onRemap();
  }

  // ---- Device ----

  reset(): void {
    this.configAddress = 0;
    this.resetControl = 0;
    for (const s of this.slots) if (s) s.asserted = false;
    this.powerOnConfig();
    this.applyPam();
    this.updatePirqs();
  }

  saveState(): StateRecord {
    const intx: number[] = [];
    for (let i = 0; i < 256; i++) if (this.slots[i]?.asserted) intx.push(i);
    return {
      configAddress: this.configAddress,
      resetControl: this.resetControl,
      hostBridge: this.hostBridge.space.bytes.slice(),
      isaBridge: this.isaBridge.space.bytes.slice(),
      intxAsserted: intx,
      pirqLine: this.pirqLine.slice(),
      pirqLevel: this.pirqLevel.slice(),
    };
  }

  loadState(s: StateRecord): void {
    this.configAddress = num(s, 'configAddress');
    this.resetControl = num(s, 'resetControl');
    this.hostBridge.space.bytes.set(bytes(s, 'hostBridge', 256));
    this.isaBridge.space.bytes.set(bytes(s, 'isaBridge', 256));
    const intx = s['intxAsserted'];
    if (!Array.isArray(intx)) throw new RewindError(ERR.SNAPSHOT, 'state field "intxAsserted" is missing or not an array');
    for (const sl of this.slots) if (sl) sl.asserted = false;
    for (const i of intx) {
      const sl = typeof i === 'number' ? this.slots[i & 0xff] : null;
      if (!sl) throw new RewindError(ERR.SNAPSHOT, `snapshot asserts INTx of PCI devfn ${String(i)}, which is empty here`);
      sl.asserted = true;
    }
    const line = s['pirqLine'];
    const level = s['pirqLevel'];
    if (!(line instanceof Int32Array) || line.length !== 4 || !(level instanceof Uint8Array) || level.length !== 4) {
      throw new RewindError(ERR.SNAPSHOT, 'state fields "pirqLine"/"pirqLevel" are malformed');
    }
    this.pirqLine.set(line);
    this.pirqLevel.set(level);
    this.applyPam(); // the page map is not part of memory's state: rebuild it from PAM
  }
}
