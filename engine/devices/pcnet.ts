/**
 * AMD PCnet-PCI II (Am79C970A) Ethernet controller, as VMware's hosted VMs
 * present it, modelled after the AMD datasheet (publication 19436) closely
 * enough for Linux's stock pcnet32 driver.
 *
 * Programming model
 *  - PCI function 1022:2000 rev 0x10, class 0200. BAR0 is 32 bytes of I/O:
 *    the address PROM at 0x00-0x0F, then the register ports. In word I/O mode
 *    (after H_RESET) RDP is at 0x10, RAP 0x12, RESET 0x14, BDP 0x16; a dword
 *    write to RDP switches to dword I/O mode (BCR18.DWIO; the written data is
 *    discarded) with RDP 0x10, RAP 0x14, RESET 0x18, BDP 0x1C. Only H_RESET
 *    leaves DWIO mode. BAR1 (the 32-byte memory-mapped alias) is not
 *    implemented: it reads as 0 and cannot be programmed (our physical map is
 *    page-granular; pcnet32 and the BIOS use I/O).
 *  - RAP selects one of 128 CSRs (through RDP) or BCRs (through BDP). Reading
 *    RESET performs S_RESET.
 *  - INIT reads the initialisation block at CSR2:CSR1 (16-bit layout when
 *    BCR20.SSIZE32 = 0, 32-bit layout otherwise), STRT turns on the
 *    transmitter and receiver (unless CSR15 DTX/DRX), STOP stops everything.
 *  - Descriptor rings live in guest memory, in software style 0 (8-byte
 *    LANCE descriptors, 24-bit addresses completed by CSR2[15:8]), 2 (16-byte
 *    descriptors) or 3 (16-byte, words 0 and 2 swapped). Style 1 (ILACC) is
 *    treated like style 2.
 *
 * Timing model (deterministic): DMA and frame transfers complete within the
 * register access or input delivery that causes them, so they land at exact
 * instruction boundaries. A transmit demand (CSR0.TDMD) polls the transmit
 * ring at once; otherwise, while the transmitter is on and CSR4.TXDPOLL is
 * clear, a scheduler task polls it every CSR47 clock periods of 33 MHz in
 * virtual time (65,536 periods, 1.99 ms, when CSR47 = 0). Received frames
 * arrive only through the nondeterminism boundary (INPUT.NET_RX, target =
 * nicIndex) from a virtual switch port, and cross a 10 Mbit/s wire: a frame
 * that finds the wire idle reaches the chip at its input icount; frames that
 * arrive while it is busy wait in the switch port's queue (64 frames, then
 * dropped, invisibly to the guest) and follow one wire time (frame, pad, FCS,
 * preamble and gap at 800 ns a byte) apart. A frame that reaches the chip
 * when it owns no receive descriptor is missed (CSR0.MISS, CSR112 += 1), as
 * the real chip's FIFO would overflow. The state is the registers, ring
 * positions, the frames queued on the wire, and two deadlines the scheduler
 * saves: `pcnet<N>.poll` and `pcnet<N>.wire`.
 *
 * Frames exchanged with the host never carry an FCS. On receive, frames
 * shorter than 60 bytes are zero-padded to 60 (as the sending station would
 * have) and the FCS is appended in guest memory, so MCNT counts it, as
 * pcnet32 expects. On transmit, if the chip generated the FCS the host gets
 * the frame without it; if the driver supplied its own (CSR15.DXMTFCS and
 * no ADD_FCS), its last four bytes are dropped.
 *
 * Not modelled (registers read back what was written, with no effect): the
 * BAR1 memory-mapped alias and the expansion ROM; the Microwire EEPROM
 * interface (BCR19 bit-banging, PREAD; the APROM and PADR come from the
 * constructor's MAC); the MII management port (the 79C970A has none: BCR34
 * reads 0xFFFF); collisions, deferral and retries (the wire is full duplex:
 * ONE/MORE/DEF/LCOL/RTRY/TRC stay 0, CSR114 stays 0); jabber, SQE test
 * (CERR), late collision and loss of carrier (the link is always up, as
 * BCR4-7 LEDOUT report); look-ahead packet processing (CSR3 LAPPEN), receive
 * pad stripping (CSR4 ASTRP_RCV), byte swapping (CSR3 BSWP), Magic Packet and
 * sleep modes (CSR5 MP*, SLPINT), FIFO watermarks and burst control (CSR80,
 * BCR18), and the diagnostic/test CSRs (CSR18-23, 26-27, 32-33, 36-46,
 * 60-67, 84-86, 94, 100-103, 122). External loopback (CSR15 LOOP without
 * INTL) loops the frame back and also sends it to the wire.
 */
import type { Device, DeviceContext } from '../device.js';
import type { PciFunction } from './pci-device.js';
import {
  PciConfigSpace,
  PCI_VENDOR_ID,
  PCI_DEVICE_ID,
  PCI_COMMAND,
  PCI_STATUS,
  PCI_REVISION,
  PCI_BAR0,
  PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN,
  PCI_COMMAND_IO,
  PCI_COMMAND_MASTER,
} from './pci-device.js';
import type { PortHandler } from '../io/port-bus.js';
import { PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, PAGE_RAM, PAGE_ROM, PAGE_UNMAPPED } from '../memory/phys-memory.js';
import type { SchedTask } from '../time/scheduler.js';
import { INPUT, OUTPUT, type InputEvent } from '../replay/boundary.js';
import { LOG, RateLimitedLog, nullLogger } from '../log.js';
import { RewindError, ERR, argError, checkInt } from '../errors.js';
import type { StateRecord } from '../state/snapshot.js';
import { num, bool, arr, intoTyped } from '../state/snapshot.js';
import * as D from './pcnet-defs.js';

export interface PcNetOptions {
  /** Station address (APROM bytes 0-5): 6 bytes or "aa:bb:cc:dd:ee:ff". Default 52:54:00:12:34:56 + nicIndex. */
  mac?: Uint8Array | string;
  /** Which NIC this is: the target of NET_RX inputs and NET_TX outputs (0-255). */
  nicIndex?: number;
  /** Drives the PCI INTA# line (true = asserted). Can also be set later with setIrqSink. */
  setIrq?: (level: boolean) => void;
}

/** Observes every frame the NIC sees (for pcap): 'rx' as it arrives from the wire, 'tx' as it leaves. */
export type PcNetTap = (direction: 'rx' | 'tx', frame: Uint8Array, guestNs: number) => void;

const CSR_COUNT = 128;
const TX_BUF_SIZE = 16384;
const PCI_CLOCK_KHZ = 33_000;
/** 10BASE-T: one byte on the wire every 800 ns. */
const WIRE_NS_PER_BYTE = 800;
/** Preamble + start delimiter (8) and the inter-frame gap (12), in byte times. */
const WIRE_OVERHEAD_BYTES = 20;
/** Frames the switch port ahead of the NIC buffers while the wire is busy. */
export const PCNET_WIRE_QUEUE_FRAMES = 64;
/** PCI status bit: received master abort (set when a bus-master access finds nothing there). */
const PCI_STATUS_RMA = 0x2000;
const PCI_STATUS_W1C = 0xf900;
const PCI_COMMAND_WRITABLE = 0x0147;

export class PcNet implements Device, PciFunction {
  readonly name: string;
  readonly stateName: string;
  readonly stateVersion = 1;
  readonly nicIndex: number;

  /** Host-side observer of traffic (pcap); never affects the guest. */
  tap: PcNetTap | null = null;
  /** Host-side counters (not guest-visible, not saved). */
  readonly stats = { txFrames: 0, rxFrames: 0, rxMissed: 0, rxFiltered: 0, rxDropped: 0 };

  private readonly mac: Uint8Array;
  private readonly prom = new Uint8Array(16);
  private readonly csr = new Uint16Array(CSR_COUNT);
  private readonly bcr = new Uint16Array(D.PCNET_BCR_COUNT);
  private readonly pci = new PciConfigSpace();
  private rap = 0;
  /** Ring bases (physical), lengths (descriptors) and current indices. */
  private rdra = 0;
  private tdra = 0;
  private rcvrl = 1;
  private xmtrl = 1;
  private rxIndex = 0;
  private txIndex = 0;
  private irqLevel = false;
  private irqSink: (level: boolean) => void;

  private ctx: DeviceContext | null = null;
  private pollTask: SchedTask | null = null;
  /** The wire from the switch: frames waiting for it, and when it is next idle (guest ns). */
  private readonly wireQueue: Uint8Array[] = [];
  private wireFreeNs = 0;
  private wireTask: SchedTask | null = null;
  private mappedBase = -1;
  private readonly portHandler: PortHandler;
  private log: RateLimitedLog;

  // scratch: the descriptor last loaded
  private dBase = 0;
  private dStatus = 0;
  private dBcnt = 0;
  private readonly txBuf = new Uint8Array(TX_BUF_SIZE);
  private readonly rxBuf = new Uint8Array(D.ETH_MAX_FRAME + 64);

  constructor(opts: PcNetOptions = {}) {
    this.nicIndex = checkInt('NIC index', opts.nicIndex ?? 0, 0, 255);
    this.name = `pcnet${this.nicIndex}`;
    this.stateName = this.name;
    let mac: Uint8Array | null;
    if (opts.mac === undefined) mac = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, (0x56 + this.nicIndex) & 0xff);
    else if (typeof opts.mac === 'string') mac = D.parseMacString(opts.mac);
    else mac = opts.mac instanceof Uint8Array && opts.mac.length === D.ETH_ALEN ? opts.mac.slice() : null;
    if (mac === null) throw argError(`MAC address must be six bytes like 52:54:00:12:34:56, got ${String(opts.mac)}`);
    if (mac[0]! & 1) throw argError(`MAC address ${D.formatMac(mac)} is a multicast address`);
    this.mac = mac;
    this.irqSink = opts.setIrq ?? (() => {});
    this.log = new RateLimitedLog(nullLogger);
    const self = this;
    this.portHandler = {
      read8: (port) => self.ioRead(port - self.mappedBase, 1),
      read16: (port) => self.ioRead(port - self.mappedBase, 2),
      read32: (port) => self.ioRead(port - self.mappedBase, 4),
      write8: (port, v) => self.ioWrite(port - self.mappedBase, 1, v),
      write16: (port, v) => self.ioWrite(port - self.mappedBase, 2, v),
      write32: (port, v) => self.ioWrite(port - self.mappedBase, 4, v),
    };
    this.hardReset();
  }

  // ---- wiring ----

  attach(ctx: DeviceContext): void {
    this.ctx = ctx;
    this.log = new RateLimitedLog(ctx.logger);
    this.pollTask = ctx.scheduler.createTask(`${this.name}.poll`, () => this.onPollTimer());
    this.wireTask = ctx.scheduler.createTask(`${this.name}.wire`, () => this.onWireIdle());
    ctx.registerInput(INPUT.NET_RX, this.nicIndex, (ev: InputEvent) => {
      if (ev.data !== null) this.arriveFromSwitch(ev.data);
    });
  }

  /** Connects the INTA# line (the PCI host's INTx routing). */
  setIrqSink(fn: (level: boolean) => void): void {
    this.irqSink = fn;
  }

  /** The I/O base BAR0 is decoded at, or -1 while I/O decoding is off. */
  get ioBase(): number {
    return this.mappedBase;
  }

  get macAddress(): Uint8Array {
    return this.mac.slice();
  }

  /** Whether INTA# is asserted. */
  get irqAsserted(): boolean {
    return this.irqLevel;
  }

  /** A read-only summary for the debugger's device view (no side effects). */
  inspect(): Record<string, number | string | boolean> {
    return {
      mac: D.formatMac(this.mac),
      ioBase: this.mappedBase,
      dwio: this.dwio(),
      swstyle: this.bcr[D.PCNET_BCR_SWS]! & 0xff,
      csr0: this.csr[0]!,
      csr3: this.csr[3]!,
      mode: this.csr[15]!,
      rdra: this.rdra,
      rcvrl: this.rcvrl,
      rxIndex: this.rxIndex,
      tdra: this.tdra,
      xmtrl: this.xmtrl,
      txIndex: this.txIndex,
      missedFrames: this.csr[112]!,
      irq: this.irqLevel,
    };
  }

  /** H_RESET (PCI RST#): PCI configuration, BCRs, APROM, then S_RESET. */
  reset(): void {
    this.hardReset();
  }

  private hardReset(): void {
    this.initPciConfig();
    this.remapPorts();
    this.prom.set(this.mac, 0);
    this.prom.fill(0, 6, 12);
    this.prom[14] = 0x57; // 'W'
    this.prom[15] = 0x57;
    let sum = 0;
    for (let i = 0; i < 12; i++) sum += this.prom[i]!;
    sum += 0x57 + 0x57;
    this.prom[12] = sum & 0xff;
    this.prom[13] = (sum >>> 8) & 0xff;
    const b = this.bcr;
    b.fill(0);
    b[0] = 0x0005;
    b[1] = 0x0005;
    b[D.PCNET_BCR_MC] = D.PCNET_BCR2_ASEL;
    b[4] = 0x00c0;
    b[5] = 0x0084;
    b[6] = 0x0088;
    b[7] = 0x0090;
    b[D.PCNET_BCR_FDC] = 0;
    b[D.PCNET_BCR_BSBC] = 0x9001;
    b[D.PCNET_BCR_EECAS] = 0x0002;
    b[D.PCNET_BCR_SWS] = D.PCNET_BCR20_CSRPCNET;
    b[D.PCNET_BCR_PCILAT] = 0xff06;
    this.wireQueue.length = 0;
    this.wireFreeNs = 0;
    if (this.wireTask && this.ctx) this.ctx.scheduler.cancel(this.wireTask);
    this.csr.fill(0);
    this.rdra = 0;
    this.tdra = 0;
    this.rcvrl = 1;
    this.xmtrl = 1;
    this.rxIndex = 0;
    this.txIndex = 0;
    // The EEPROM load after H_RESET programs the station address into PADR.
    this.csr[12] = this.mac[0]! | (this.mac[1]! << 8);
    this.csr[13] = this.mac[2]! | (this.mac[3]! << 8);
    this.csr[14] = this.mac[4]! | (this.mac[5]! << 8);
    this.softReset();
  }

  /**
   * S_RESET (a read of the RESET register): CSRs to their defaults, the chip
   * stopped. BCRs keep their values, DWIO and SWSTYLE included: pcnet32's
   * transmit-error recovery resets the chip and re-initialises without
   * rewriting BCR20, and its dword probe path needs DWIO to survive the reset.
   */
  private softReset(): void {
    const c = this.csr;
    c[0] = D.PCNET_CSR0_STOP;
    c[3] = 0;
    c[4] = D.PCNET_CSR4_DEFAULT;
    c[5] = 0;
    c[6] = 0;
    c[15] &= D.PCNET_CSR15_PORTSEL;
    c[80] = 0x1410;
    c[88] = D.PCNET_CHIP_ID_LO;
    c[89] = D.PCNET_CHIP_ID_HI;
    c[100] = 0x0200;
    c[112] = 0;
    c[114] = 0;
    c[124] = 0;
    this.rap = 0;
    // Ring bases, lengths and counters (CSR24-31, 72-78) are unaffected by S_RESET and STOP.
    if (this.pollTask && this.ctx) this.ctx.scheduler.cancel(this.pollTask);
    this.updateIrq();
  }

  // ---- PCI configuration space ----

  private initPciConfig(): void {
    const p = this.pci;
    p.bytes.fill(0);
    p.writeMask.fill(0);
    p.set16(PCI_VENDOR_ID, D.PCNET_VENDOR_ID);
    p.set16(PCI_DEVICE_ID, D.PCNET_DEVICE_ID);
    p.set16(PCI_STATUS, 0x0280); // fast back-to-back capable, DEVSEL medium
    p.set8(PCI_REVISION, D.PCNET_REVISION);
    p.set8(0x09, 0x00); // programming interface
    p.set8(0x0a, 0x00); // Ethernet controller
    p.set8(0x0b, 0x02); // network controller
    p.set32(PCI_BAR0, 0x00000001); // I/O space
    p.set8(PCI_INTERRUPT_PIN, 1); // INTA#
    p.set8(0x3e, 0x06); // MIN_GNT
    p.set8(0x3f, 0xff); // MAX_LAT
    p.mask16(PCI_COMMAND, PCI_COMMAND_WRITABLE);
    p.writeMask[0x0d] = 0xff; // latency timer
    p.mask32(PCI_BAR0, ~(D.PCNET_IO_SIZE - 1) & ~1);
    p.writeMask[PCI_INTERRUPT_LINE] = 0xff;
  }

  configRead(offset: number, size: 1 | 2 | 4): number {
    return this.pci.read(offset, size);
  }

  configWrite(offset: number, size: 1 | 2 | 4, value: number): void {
    const p = this.pci;
    const oldCmd = p.get16(PCI_COMMAND);
    // Status bits are write-one-to-clear.
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      if (o === PCI_STATUS || o === PCI_STATUS + 1) {
        const bits = ((value >>> (8 * i)) & 0xff) << (8 * (o - PCI_STATUS));
        p.set16(PCI_STATUS, p.get16(PCI_STATUS) & ~(bits & PCI_STATUS_W1C));
      }
    }
    p.write(offset, size, value);
    this.remapPorts();
    const cmd = p.get16(PCI_COMMAND);
    if ((cmd & ~oldCmd & PCI_COMMAND_MASTER) !== 0 && this.ctx) {
      // Bus mastering just came on: pending transmit work can proceed.
      this.transmitPoll();
      this.updateIrq();
    }
  }

  private remapPorts(): void {
    const p = this.pci;
    const bar = p.get32(PCI_BAR0) & ~(D.PCNET_IO_SIZE - 1);
    const want = (p.get16(PCI_COMMAND) & PCI_COMMAND_IO) !== 0 && bar !== 0 && bar + D.PCNET_IO_SIZE <= 0x10000 ? bar : -1;
    if (want === this.mappedBase || !this.ctx) {
      if (!this.ctx) this.mappedBase = -1;
      return;
    }
    const ports = this.ctx.ports;
    if (this.mappedBase >= 0) ports.unregister(this.mappedBase, D.PCNET_IO_SIZE, this.name);
    this.mappedBase = -1;
    if (want >= 0) {
      try {
        ports.register(want, D.PCNET_IO_SIZE, this.name, this.portHandler);
        this.mappedBase = want;
      } catch (e) {
        this.log.log(LOG.WARN, this.name, 'bar-conflict', `BAR0 at 0x${want.toString(16)} overlaps another device's ports; I/O decoding left off (${(e as Error).message})`);
      }
    }
  }

  private busMaster(): boolean {
    return (this.pci.get16(PCI_COMMAND) & PCI_COMMAND_MASTER) !== 0;
  }

  // ---- I/O space ----

  private dwio(): boolean {
    return (this.bcr[D.PCNET_BCR_BSBC]! & D.PCNET_BCR18_DWIO) !== 0;
  }

  private ioRead(off: number, size: 1 | 2 | 4): number {
    if (off < 0x10) {
      let v = 0;
      for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.prom[(off + i) & 15]!;
      return size === 4 ? v >>> 0 : v;
    }
    let v = -1;
    if (size === 2 && !this.dwio()) {
      switch (off) {
        case D.PCNET_WIO_RDP: v = this.readCsr(this.rap); break;
        case D.PCNET_WIO_RAP: v = this.rap; break;
        case D.PCNET_WIO_RESET: this.softReset(); v = 0; break;
        case D.PCNET_WIO_BDP: v = this.readBcr(this.rap); break;
      }
    } else if (size === 4 && this.dwio()) {
      switch (off) {
        case D.PCNET_DWIO_RDP: v = this.readCsr(this.rap); break;
        case D.PCNET_DWIO_RAP: v = this.rap; break;
        case D.PCNET_DWIO_RESET: this.softReset(); v = 0; break;
        case D.PCNET_DWIO_BDP: v = this.readBcr(this.rap); break;
      }
    }
    // Byte accesses to the registers, and accesses of the wrong width for the
    // current I/O mode, are undefined on the chip: they read all ones here.
    if (v === -1) return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
    return v;
  }

  private ioWrite(off: number, size: 1 | 2 | 4, value: number): void {
    if (off < 0x10) {
      if (this.bcr[D.PCNET_BCR_MC]! & D.PCNET_BCR2_APROMWE) {
        for (let i = 0; i < size; i++) this.prom[(off + i) & 15] = value >>> (8 * i);
      }
      return;
    }
    if (size === 2 && !this.dwio()) {
      switch (off) {
        case D.PCNET_WIO_RDP: this.writeCsr(this.rap, value & 0xffff); break;
        case D.PCNET_WIO_RAP: this.rap = value & 0x7f; break;
        case D.PCNET_WIO_BDP: this.writeBcr(this.rap, value & 0xffff); break;
      }
    } else if (size === 4) {
      if (!this.dwio()) {
        if (off === D.PCNET_WIO_RDP) this.bcr[D.PCNET_BCR_BSBC] |= D.PCNET_BCR18_DWIO;
      } else {
        switch (off) {
          case D.PCNET_DWIO_RDP: this.writeCsr(this.rap, value & 0xffff); break;
          case D.PCNET_DWIO_RAP: this.rap = value & 0x7f; break;
          case D.PCNET_DWIO_BDP: this.writeBcr(this.rap, value & 0xffff); break;
        }
      }
    }
    this.updateIrq();
  }

  // ---- CSRs ----

  private stoppedOrSuspended(): boolean {
    return (this.csr[0]! & D.PCNET_CSR0_STOP) !== 0 || (this.csr[5]! & D.PCNET_CSR5_SPND) !== 0;
  }

  private readCsr(n: number): number {
    const c = this.csr;
    switch (n) {
      case 16: return c[1]!;
      case 17: return c[2]!;
      case 24: return this.rdra & 0xffff;
      case 25: return this.rdra >>> 16;
      case 28: return this.rxDescAddr(this.rxIndex) & 0xffff;
      case 29: return this.rxDescAddr(this.rxIndex) >>> 16;
      case 30: return this.tdra & 0xffff;
      case 31: return this.tdra >>> 16;
      case 34: return this.txDescAddr(this.txIndex) & 0xffff;
      case 35: return this.txDescAddr(this.txIndex) >>> 16;
      case 58: return this.bcr[D.PCNET_BCR_SWS]!;
      // Ring lengths read as two's complement; ring counters are two's-complement
      // numbers that reach 0 at the ring's last descriptor.
      case 72: return (this.rxIndex + 1 - this.rcvrl) & 0xffff;
      case 74: return (this.txIndex + 1 - this.xmtrl) & 0xffff;
      case 76: return -this.rcvrl & 0xffff;
      case 78: return -this.xmtrl & 0xffff;
      default: return c[n]!;
    }
  }

  private writeCsr(n: number, v: number): void {
    const c = this.csr;
    switch (n) {
      case 0: this.writeCsr0(v); return;
      case 1: case 2: case 8: case 9: case 10: case 11: case 12: case 13: case 14: case 15:
      case 47: case 112: case 114:
        if (this.stoppedOrSuspended()) c[n] = v;
        return;
      case 16: case 17:
        this.writeCsr(n - 15, v);
        return;
      case 3:
        c[3] = v & D.PCNET_CSR3_WRITABLE;
        return;
      case 4: {
        let nv = (v & ~D.PCNET_CSR4_W1C & ~D.PCNET_CSR4_UINTCMD & ~0x2000) | (c[4]! & D.PCNET_CSR4_W1C & ~v);
        if (v & D.PCNET_CSR4_UINTCMD) nv |= D.PCNET_CSR4_UINT;
        c[4] = nv;
        this.armPoll();
        return;
      }
      case 5: {
        const wasSpnd = (c[5]! & D.PCNET_CSR5_SPND) !== 0;
        c[5] = (v & ~D.PCNET_CSR5_W1C & 0xcfff) | (c[5]! & D.PCNET_CSR5_W1C & ~v);
        // Suspension takes effect at once (no frame is ever in flight between accesses).
        if (wasSpnd && !(c[5]! & D.PCNET_CSR5_SPND)) this.transmitPoll();
        this.armPoll();
        return;
      }
      case 24: case 25: case 30: case 31:
        if (!this.stoppedOrSuspended()) return;
        if (n === 24) this.rdra = ((this.rdra & 0xffff0000) | v) >>> 0;
        else if (n === 25) this.rdra = ((this.rdra & 0xffff) | (v << 16)) >>> 0;
        else if (n === 30) this.tdra = ((this.tdra & 0xffff0000) | v) >>> 0;
        else this.tdra = ((this.tdra & 0xffff) | (v << 16)) >>> 0;
        return;
      case 58:
        this.writeBcr(D.PCNET_BCR_SWS, v);
        return;
      case 72: case 74: case 76: case 78: {
        if (!this.stoppedOrSuspended()) return;
        if (n === 76) this.rcvrl = ringLenFromCsr(v);
        else if (n === 78) this.xmtrl = ringLenFromCsr(v);
        else if (n === 72) this.rxIndex = ringIndexFromCounter(v, this.rcvrl);
        else this.txIndex = ringIndexFromCounter(v, this.xmtrl);
        if (this.rxIndex >= this.rcvrl) this.rxIndex = 0;
        if (this.txIndex >= this.xmtrl) this.txIndex = 0;
        return;
      }
      case 80:
        c[80] = v & 0x3fff;
        return;
      case 124:
        c[124] = v & (D.PCNET_CSR124_RPA | D.PCNET_CSR124_GPSIEN);
        return;
      default:
        // Read-only or unimplemented test registers: writes are ignored.
        return;
    }
  }

  private writeCsr0(v: number): void {
    const c = this.csr;
    c[0] &= ~(v & D.PCNET_CSR0_FLAGS);
    if (v & D.PCNET_CSR0_STOP) {
      // STOP wins over everything written with it.
      this.stop();
      return;
    }
    c[0] = (c[0]! & ~D.PCNET_CSR0_IENA) | (v & D.PCNET_CSR0_IENA);
    if (v & D.PCNET_CSR0_INIT && !(c[0]! & D.PCNET_CSR0_INIT)) this.initialize();
    if (v & D.PCNET_CSR0_STRT && !(c[0]! & D.PCNET_CSR0_STRT)) this.start();
    if (v & D.PCNET_CSR0_TDMD) {
      c[0] |= D.PCNET_CSR0_TDMD;
      this.transmitPoll();
    }
  }

  private stop(): void {
    this.csr[0] = D.PCNET_CSR0_STOP;
    this.csr[5] &= ~D.PCNET_CSR5_SPND;
    if (this.pollTask && this.ctx) this.ctx.scheduler.cancel(this.pollTask);
  }

  private start(): void {
    const c = this.csr;
    c[0] = (c[0]! & ~D.PCNET_CSR0_STOP) | D.PCNET_CSR0_STRT;
    if (!(c[15]! & D.PCNET_CSR15_DTX)) c[0] |= D.PCNET_CSR0_TXON;
    if (!(c[15]! & D.PCNET_CSR15_DRX)) c[0] |= D.PCNET_CSR0_RXON;
    this.armPoll();
    this.transmitPoll();
  }

  /** Reads the initialisation block and sets IDON (or MERR if it is not there). */
  private initialize(): void {
    const c = this.csr;
    c[0] = (c[0]! & ~D.PCNET_CSR0_STOP) | D.PCNET_CSR0_INIT;
    if (!this.ctx || !this.busMaster()) {
      this.log.log(LOG.WARN, this.name, 'init-no-bm', 'INIT with PCI bus mastering disabled: the initialisation block cannot be read');
      return;
    }
    const iadr = (c[1]! | (c[2]! << 16)) >>> 0;
    const ssize32 = (this.bcr[D.PCNET_BCR_SWS]! & D.PCNET_BCR20_SSIZE32) !== 0;
    const ib = this.rxBuf;
    const len = ssize32 ? 28 : 24;
    if (!this.dmaRead(iadr, ib, 0, len)) {
      this.memoryError();
      return;
    }
    const w = (o: number): number => ib[o]! | (ib[o + 1]! << 8);
    const l = (o: number): number => (w(o) | (w(o + 2) << 16)) >>> 0;
    let rlen: number, tlen: number, padrOff: number, ladrfOff: number;
    if (ssize32) {
      rlen = (ib[2]! >>> 4) & 0xf;
      tlen = (ib[3]! >>> 4) & 0xf;
      padrOff = 4;
      ladrfOff = 12;
      this.rdra = l(20) & ~15;
      this.tdra = l(24) & ~15;
    } else {
      padrOff = 2;
      ladrfOff = 8;
      const hi = (c[2]! & 0xff00) << 16;
      this.rdra = ((l(16) & 0x00fffff8) | hi) >>> 0;
      this.tdra = ((l(20) & 0x00fffff8) | hi) >>> 0;
      rlen = ib[19]! >>> 5;
      tlen = ib[23]! >>> 5;
    }
    c[15] = w(0);
    for (let i = 0; i < 3; i++) c[12 + i] = w(padrOff + 2 * i);
    for (let i = 0; i < 4; i++) c[8 + i] = w(ladrfOff + 2 * i);
    this.rcvrl = rlen > 9 ? 512 : 1 << rlen;
    this.xmtrl = tlen > 9 ? 512 : 1 << tlen;
    c[6] = ((tlen & 0xf) << 12) | ((rlen & 0xf) << 8);
    this.rxIndex = 0;
    this.txIndex = 0;
    c[0] |= D.PCNET_CSR0_IDON;
  }

  private memoryError(): void {
    this.csr[0] |= D.PCNET_CSR0_MERR;
    this.pci.set16(PCI_STATUS, this.pci.get16(PCI_STATUS) | PCI_STATUS_RMA);
    this.log.log(LOG.WARN, this.name, 'merr', 'bus-master access to unmapped physical memory (MERR)');
  }

  // ---- BCRs ----

  private readBcr(n: number): number {
    const b = this.bcr;
    if (n >= 4 && n <= 7) {
      // LEDOUT reflects the enabled status signals; only link status is modelled (always up).
      const v = b[n]! & ~D.PCNET_BCR_LED_LEDOUT;
      return v & D.PCNET_BCR_LED_LNKSE ? v | D.PCNET_BCR_LED_LEDOUT : v;
    }
    if (n === D.PCNET_BCR_MIIMDR) return 0xffff; // no MII PHY on the 79C970A: MDIO floats high
    return n < D.PCNET_BCR_COUNT ? b[n]! : 0;
  }

  private writeBcr(n: number, v: number): void {
    const b = this.bcr;
    switch (n) {
      case D.PCNET_BCR_MC:
      case D.PCNET_BCR_EECAS:
      case D.PCNET_BCR_PCILAT:
      case D.PCNET_BCR_MIICAS:
      case D.PCNET_BCR_MIIADDR:
        b[n] = v;
        return;
      case 4: case 5: case 6: case 7:
        b[n] = v & ~D.PCNET_BCR_LED_LEDOUT;
        return;
      case D.PCNET_BCR_FDC:
        b[n] = v & 0x0007;
        return;
      case D.PCNET_BCR_BSBC:
        b[n] = (v & ~D.PCNET_BCR18_DWIO) | (b[n]! & D.PCNET_BCR18_DWIO);
        return;
      case D.PCNET_BCR_SWS: {
        if (!this.stoppedOrSuspended()) return;
        // SSIZE32 and CSRPCNET are read-only and follow the style. Reserved
        // styles (pcnet32 writes 4 on close, "back to 16-bit mode") behave as
        // style 0: 16-bit init block and 8-byte descriptors.
        const style = v & 0xff;
        let bits: number;
        if (style === 1) bits = D.PCNET_BCR20_SSIZE32;
        else if (style === 2 || style === 3) bits = D.PCNET_BCR20_SSIZE32 | D.PCNET_BCR20_CSRPCNET;
        else bits = D.PCNET_BCR20_CSRPCNET;
        if (style > 3) this.log.log(LOG.DEBUG, this.name, 'swstyle', `reserved software style ${style} written to BCR20; behaving as style 0`);
        b[n] = style | bits | (v & D.PCNET_BCR20_APERREN);
        return;
      }
      default:
        return;
    }
  }

  // ---- interrupts ----

  private updateIrq(): void {
    const c = this.csr;
    let src = c[0]! & D.PCNET_CSR0_INT_SOURCES & ~c[3]!;
    const c4 = c[4]!;
    if (c4 & D.PCNET_CSR4_MFCO && !(c4 & D.PCNET_CSR4_MFCOM)) src |= 1;
    if (c4 & D.PCNET_CSR4_RCVCCO && !(c4 & D.PCNET_CSR4_RCVCCOM)) src |= 1;
    if (c4 & D.PCNET_CSR4_TXSTRT && !(c4 & D.PCNET_CSR4_TXSTRTM)) src |= 1;
    if (c4 & D.PCNET_CSR4_JAB && !(c4 & D.PCNET_CSR4_JABM)) src |= 1;
    if (c4 & D.PCNET_CSR4_UINT) src |= 1;
    const c5 = c[5]!;
    if ((c5 >>> 1) & c5 & (D.PCNET_CSR5_SINTE | D.PCNET_CSR5_SLPINTE | D.PCNET_CSR5_EXDINTE)) src |= 1;
    if (c5 & D.PCNET_CSR5_MPINT && c5 & D.PCNET_CSR5_MPINTE) src |= 1;
    let c0 = c[0]! & ~(D.PCNET_CSR0_INTR | D.PCNET_CSR0_ERR);
    if (src !== 0) c0 |= D.PCNET_CSR0_INTR;
    if (c0 & (D.PCNET_CSR0_BABL | D.PCNET_CSR0_CERR | D.PCNET_CSR0_MISS | D.PCNET_CSR0_MERR)) c0 |= D.PCNET_CSR0_ERR;
    c[0] = c0;
    const level = src !== 0 && (c0 & D.PCNET_CSR0_IENA) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irqSink(level);
    }
  }

  // ---- transmit polling ----

  private pollIntervalNs(): number {
    const p = this.csr[47]!;
    const clocks = p === 0 ? 0x10000 : 0x10000 - p;
    return Math.floor((clocks * 1_000_000) / PCI_CLOCK_KHZ);
  }

  /** Keeps the poll timer armed exactly while the transmitter runs and polling is enabled. */
  private armPoll(): void {
    const task = this.pollTask;
    const ctx = this.ctx;
    if (!task || !ctx) return;
    const want = (this.csr[0]! & D.PCNET_CSR0_TXON) !== 0 && !(this.csr[4]! & D.PCNET_CSR4_TXDPOLL) && !(this.csr[5]! & D.PCNET_CSR5_SPND);
    if (!want) ctx.scheduler.cancel(task);
    else if (!task.armed) ctx.scheduler.armAtNs(task, ctx.nowNs() + this.pollIntervalNs());
  }

  private onPollTimer(): void {
    this.transmitPoll();
    this.updateIrq();
    this.armPoll();
  }

  // ---- descriptors ----

  /** Software style 3 swaps descriptor words 0 and 2. */
  private style3(): boolean {
    return (this.bcr[D.PCNET_BCR_SWS]! & 0xff) === 3;
  }

  /** 16-byte descriptors with 32-bit addresses when SSIZE32, else 8-byte LANCE descriptors. */
  private descSize(): number {
    return this.bcr[D.PCNET_BCR_SWS]! & D.PCNET_BCR20_SSIZE32 ? 16 : 8;
  }

  private rxDescAddr(i: number): number {
    return (this.rdra + i * this.descSize()) >>> 0;
  }

  private txDescAddr(i: number): number {
    return (this.tdra + i * this.descSize()) >>> 0;
  }

  /** Completes a 24-bit style-0 address with CSR2[15:8]. */
  private addr24(a: number): number {
    return ((a & 0x00ffffff) | ((this.csr[2]! & 0xff00) << 16)) >>> 0;
  }

  /** Loads the descriptor at `addr` into dBase/dStatus/dBcnt; false if it is not in memory. */
  private loadDesc(addr: number): boolean {
    const size = this.descSize();
    if (!this.dmaOk(addr, size)) return false;
    const m = this.ctx!.memory;
    if (size === 8) {
      const w1 = m.read16(addr + 2);
      this.dBase = this.addr24(m.read16(addr) | ((w1 & 0xff) << 16));
      this.dStatus = w1 & 0xff00;
      this.dBcnt = m.read16(addr + 4);
    } else {
      const s3 = this.style3();
      this.dBase = m.read32(addr + (s3 ? 8 : 0)) >>> 0;
      const w = m.read32(addr + 4);
      this.dBcnt = w & 0xffff;
      this.dStatus = w >>> 16;
    }
    return true;
  }

  /** Writes a descriptor's status half (after its message/misc word, so OWN clears last). */
  private storeDesc(addr: number, status: number, misc: number, writeMisc: boolean): void {
    const m = this.ctx!.memory;
    if (this.descSize() === 8) {
      if (writeMisc) m.write16(addr + 6, misc & 0xffff);
      m.write8(addr + 3, status >>> 8);
    } else {
      if (writeMisc) m.write32(addr + (this.style3() ? 0 : 8), misc | 0);
      m.write16(addr + 6, status & 0xffff);
    }
  }

  // ---- DMA ----

  /** True if [physAddr, physAddr+len) is all mapped (a real bus would master-abort otherwise). */
  private dmaOk(physAddr: number, len: number): boolean {
    if (physAddr + len > 0x100000000) return false;
    const kind = this.ctx!.memory.pageKind;
    const last = (physAddr + len - 1) >>> PAGE_SHIFT;
    for (let p = physAddr >>> PAGE_SHIFT; p <= last; p++) if (kind[p] === PAGE_UNMAPPED) return false;
    return true;
  }

  /** Copies guest memory into dst (bus-master read). False (nothing copied) on a master abort. */
  private dmaRead(physAddr: number, dst: Uint8Array, dstOff: number, len: number): boolean {
    if (len === 0) return true;
    if (!this.dmaOk(physAddr, len)) return false;
    const mem = this.ctx!.memory;
    let i = 0;
    while (i < len) {
      const a = physAddr + i;
      const p = a >>> PAGE_SHIFT;
      const n = Math.min(PAGE_SIZE - (a & PAGE_MASK), len - i);
      const kind = mem.pageKind[p];
      if (kind === PAGE_RAM || kind === PAGE_ROM) {
        const o = mem.pageOffset[p]! + (a & PAGE_MASK);
        dst.set(mem.mem.subarray(o, o + n), dstOff + i);
      } else {
        for (let k = 0; k < n; k++) dst[dstOff + i + k] = mem.read8((a + k) | 0);
      }
      i += n;
    }
    return true;
  }

  /** Copies src into guest memory (bus-master write, with dirty tracking). False on a master abort. */
  private dmaWrite(physAddr: number, src: Uint8Array, srcOff: number, len: number): boolean {
    if (len === 0) return true;
    if (!this.dmaOk(physAddr, len)) return false;
    this.ctx!.memory.writeBytes(physAddr, src.subarray(srcOff, srcOff + len));
    return true;
  }

  // ---- transmit ----

  /** Transmits every frame the driver has handed to the chip, in ring order. */
  private transmitPoll(): void {
    const c = this.csr;
    c[0] &= ~D.PCNET_CSR0_TDMD;
    if (!this.ctx || !(c[0]! & D.PCNET_CSR0_TXON) || c[5]! & D.PCNET_CSR5_SPND || !this.busMaster()) return;
    const ltinten = (c[5]! & D.PCNET_CSR5_LTINTEN) !== 0;
    // Each pass consumes at least one descriptor; a ring's worth bounds one poll.
    for (let budget = this.xmtrl; budget > 0; ) {
      const stpAddr = this.txDescAddr(this.txIndex);
      if (!this.loadDesc(stpAddr)) return this.memoryError();
      if (!(this.dStatus & D.PCNET_DESC_OWN)) return;
      if (!(this.dStatus & D.PCNET_DESC_STP)) {
        // Owned but not a start of frame: the chip gives it back and moves on.
        this.storeDesc(stpAddr, this.dStatus & ~D.PCNET_DESC_OWN, 0, false);
        this.txIndex = (this.txIndex + 1) % this.xmtrl;
        budget--;
        continue;
      }
      const stpStatus = this.dStatus;
      c[4] |= D.PCNET_CSR4_TXSTRT;
      let len = 0;
      let babble = false;
      let addr = stpAddr;
      let err = 0;
      for (;;) {
        const bytes = -(this.dBcnt | 0xf000) & 0xffff;
        const room = TX_BUF_SIZE - len;
        const n = bytes < room ? bytes : room;
        if (n < bytes) babble = true;
        if (!this.dmaRead(this.dBase, this.txBuf, len, n)) {
          this.memoryError();
          err = -1;
          break;
        }
        len += n;
        budget--;
        if (this.dStatus & D.PCNET_DESC_ENP) break;
        const curStatus = this.dStatus;
        const nextIndex = (this.txIndex + 1) % this.xmtrl;
        const nextAddr = this.txDescAddr(nextIndex);
        if (budget <= 0 || !this.loadDesc(nextAddr) || !(this.dStatus & D.PCNET_DESC_OWN)) {
          // The chain ends in a descriptor the chip does not own: buffer error,
          // FIFO underflow; the frame is abandoned. Restore the current descriptor's fields.
          this.dStatus = curStatus;
          err = D.PCNET_TMD2_BUFF | D.PCNET_TMD2_UFLO;
          break;
        }
        // Hand back the finished middle descriptor and move on.
        this.storeDesc(addr, curStatus & ~D.PCNET_DESC_OWN, 0, false);
        this.txIndex = nextIndex;
        addr = nextAddr;
      }
      if (err === -1) return;
      let status = this.dStatus & ~(D.PCNET_DESC_OWN | D.PCNET_DESC_ERR | D.PCNET_TMD_ONE | D.PCNET_TMD_DEF);
      if (!ltinten) status &= ~D.PCNET_TMD_MORE_LTINT;
      const lastStatus = this.dStatus;
      if (err !== 0) {
        status |= D.PCNET_DESC_ERR;
        this.storeDesc(addr, status, this.descSize() === 8 ? err >>> 16 : err, true);
        this.txIndex = (this.txIndex + 1) % this.xmtrl;
        c[0] |= D.PCNET_CSR0_TINT;
        if (!(c[3]! & D.PCNET_CSR3_DXSUFLO)) {
          // UFLO turns the transmitter off.
          c[0] &= ~D.PCNET_CSR0_TXON;
          this.armPoll();
          return;
        }
        continue;
      }
      let fcsByChip = (stpStatus & D.PCNET_TMD_ADD_FCS) !== 0 || !(c[15]! & D.PCNET_CSR15_DXMTFCS);
      if (len < D.ETH_ZLEN && c[4]! & D.PCNET_CSR4_APAD_XMT) {
        this.txBuf.fill(0, len, D.ETH_ZLEN);
        len = D.ETH_ZLEN;
        fcsByChip = true;
      }
      if (len + (fcsByChip ? D.ETH_FCS_LEN : 0) > D.ETH_MAX_WIRE) babble = true;
      if (babble) c[0] |= D.PCNET_CSR0_BABL;
      this.storeDesc(addr, status, 0, true);
      this.txIndex = (this.txIndex + 1) % this.xmtrl;
      if (!ltinten || lastStatus & D.PCNET_TMD_MORE_LTINT) c[0] |= D.PCNET_CSR0_TINT;
      this.emit(len, fcsByChip);
    }
  }

  /** Sends a transmitted frame to the wire (or loops it back). */
  private emit(len: number, fcsByChip: boolean): void {
    const c15 = this.csr[15]!;
    const ctx = this.ctx!;
    if (c15 & D.PCNET_CSR15_LOOP) {
      if (fcsByChip) this.receive(this.txBuf, len, false);
      else this.receive(this.txBuf, len, true);
      if (c15 & D.PCNET_CSR15_INTL) return;
    }
    const wireLen = fcsByChip ? len : len - D.ETH_FCS_LEN;
    if (wireLen <= 0) return; // nothing but (part of) a driver-supplied FCS
    const frame = this.txBuf.slice(0, wireLen);
    this.stats.txFrames++;
    ctx.output(OUTPUT.NET_TX, this.nicIndex, frame);
    if (this.tap) this.tap('tx', frame, ctx.nowNs());
  }

  // ---- the wire ----

  /** Time a frame of `len` bytes (without FCS) occupies a 10 Mbit/s wire, with preamble, pad, FCS and gap. */
  private static wireNs(len: number): number {
    return (Math.max(len, D.ETH_ZLEN) + D.ETH_FCS_LEN + WIRE_OVERHEAD_BYTES) * WIRE_NS_PER_BYTE;
  }

  /**
   * A frame from the switch (a NET_RX input). If the wire is idle it reaches
   * the chip now; otherwise it waits in the switch port's queue and follows
   * the previous frame one wire time later, so a burst from the host arrives
   * at 10 Mbit/s as on a real link and the guest sees MISS only if it cannot
   * keep up. A full queue drops the frame (invisible to the guest, as a
   * switch's drop would be).
   */
  private arriveFromSwitch(frame: Uint8Array): void {
    if (frame.length < D.ETH_HLEN || frame.length > D.ETH_MAX_FRAME) {
      this.stats.rxDropped++;
      this.log.log(LOG.WARN, this.name, 'rx-size', `received frame of ${frame.length} bytes dropped (Ethernet frames are ${D.ETH_HLEN}-${D.ETH_MAX_FRAME} bytes without FCS)`);
      return;
    }
    const ctx = this.ctx!;
    const now = ctx.nowNs();
    if (this.wireQueue.length === 0 && now >= this.wireFreeNs) {
      this.wireFreeNs = now + PcNet.wireNs(frame.length);
      this.receiveFromWire(frame);
      return;
    }
    if (this.wireQueue.length >= PCNET_WIRE_QUEUE_FRAMES) {
      this.stats.rxDropped++;
      this.log.log(LOG.INFO, this.name, 'wire-queue', `switch queue full (${PCNET_WIRE_QUEUE_FRAMES} frames): received frame dropped`);
      return;
    }
    this.wireQueue.push(frame.slice());
    if (!this.wireTask!.armed) ctx.scheduler.armAtNs(this.wireTask!, this.wireFreeNs);
  }

  private onWireIdle(): void {
    const frame = this.wireQueue.shift();
    if (frame === undefined) return;
    const ctx = this.ctx!;
    this.wireFreeNs = ctx.nowNs() + PcNet.wireNs(frame.length);
    this.receiveFromWire(frame);
    if (this.wireQueue.length > 0) ctx.scheduler.armAtNs(this.wireTask!, this.wireFreeNs);
  }

  /** Frames waiting on the wire (for tests and the debugger). */
  get wireBacklog(): number {
    return this.wireQueue.length;
  }

  // ---- receive ----

  private receiveFromWire(frame: Uint8Array): void {
    if (this.tap && this.ctx) this.tap('rx', frame, this.ctx.nowNs());
    // In loopback mode the receiver hears only the transmitter.
    if (this.csr[15]! & D.PCNET_CSR15_LOOP) {
      this.stats.rxDropped++;
      return;
    }
    this.receive(frame, frame.length, false);
    this.updateIrq();
  }

  /** Destination-address filter: the RMD1 match bits (PAM/LAFM/BAM, possibly 0 in promiscuous mode), or -1 to reject. */
  private addressMatch(f: Uint8Array): number {
    const c = this.csr;
    const c15 = c[15]!;
    const prom = (c15 & D.PCNET_CSR15_PROM) !== 0;
    if (!(f[0]! & 1)) {
      const pam =
        !(c15 & D.PCNET_CSR15_DRCVPA) &&
        f[0] === (c[12]! & 0xff) && f[1] === c[12]! >>> 8 &&
        f[2] === (c[13]! & 0xff) && f[3] === c[13]! >>> 8 &&
        f[4] === (c[14]! & 0xff) && f[5] === c[14]! >>> 8;
      return pam ? D.PCNET_RMD_PAM : prom ? 0 : -1;
    }
    const bcast = (f[0]! & f[1]! & f[2]! & f[3]! & f[4]! & f[5]!) === 0xff;
    if (bcast && !(c15 & D.PCNET_CSR15_DRCVBC)) return D.PCNET_RMD_BAM;
    const h = D.ladrfHash(f, 0);
    if ((c[8 + (h >>> 4)]! >>> (h & 15)) & 1) return D.PCNET_RMD_LAFM;
    return prom ? 0 : -1;
  }

  private missedFrame(): void {
    const c = this.csr;
    c[0] |= D.PCNET_CSR0_MISS;
    c[112] = (c[112]! + 1) & 0xffff;
    if (c[112] === 0) c[4] |= D.PCNET_CSR4_MFCO;
    this.stats.rxMissed++;
  }

  /**
   * Receives `len` bytes of `data` into the ring. `hasFcs`: the bytes end in
   * an FCS already (loopback of a driver-supplied FCS); otherwise the frame
   * is padded to 60 bytes and an FCS is appended.
   */
  private receive(data: Uint8Array, len: number, hasFcs: boolean): void {
    const c = this.csr;
    if (!this.ctx || !(c[0]! & D.PCNET_CSR0_RXON)) {
      this.stats.rxDropped++;
      return;
    }
    const match = len >= D.ETH_ALEN ? this.addressMatch(data) : -1;
    if (match < 0) {
      this.stats.rxFiltered++;
      return;
    }
    if (c[5]! & D.PCNET_CSR5_SPND || !this.busMaster()) {
      this.missedFrame();
      return;
    }
    // The bytes as they arrive in memory: frame, pad, FCS.
    const buf = this.rxBuf;
    let msgLen = len;
    let crcErr = false;
    if (len > buf.length - D.ETH_FCS_LEN) {
      this.stats.rxDropped++;
      return;
    }
    buf.set(data.subarray(0, len), 0);
    if (hasFcs) {
      if (len >= D.ETH_FCS_LEN) {
        const fcs = D.ethFcs(buf, 0, len - D.ETH_FCS_LEN);
        const got = (buf[len - 4]! | (buf[len - 3]! << 8) | (buf[len - 2]! << 16) | (buf[len - 1]! << 24)) >>> 0;
        crcErr = fcs !== got;
      } else crcErr = true;
    } else {
      if (msgLen < D.ETH_ZLEN) {
        buf.fill(0, msgLen, D.ETH_ZLEN);
        msgLen = D.ETH_ZLEN;
      }
      const fcs = D.ethFcs(buf, 0, msgLen);
      buf[msgLen] = fcs;
      buf[msgLen + 1] = fcs >>> 8;
      buf[msgLen + 2] = fcs >>> 16;
      buf[msgLen + 3] = fcs >>> 24;
      msgLen += D.ETH_FCS_LEN;
    }
    let addr = this.rxDescAddr(this.rxIndex);
    if (!this.loadDesc(addr)) return this.memoryError();
    if (!(this.dStatus & D.PCNET_DESC_OWN)) {
      this.missedFrame();
      return;
    }
    const style0 = this.descSize() === 8;
    let done = 0;
    let first = true;
    for (let guard = this.rcvrl; ; guard--) {
      const size = -(this.dBcnt | 0xf000) & 0xffff;
      const n = Math.min(size, msgLen - done);
      if (!this.dmaWrite(this.dBase, buf, done, n)) return this.memoryError();
      done += n;
      let status = (this.dStatus & ~(D.PCNET_DESC_OWN | D.PCNET_DESC_ERR | 0x3cf0 | D.PCNET_DESC_STP | D.PCNET_DESC_ENP)) | (first ? D.PCNET_DESC_STP : 0);
      first = false;
      if (done >= msgLen) {
        status |= D.PCNET_DESC_ENP | (style0 ? 0 : match);
        if (crcErr) status |= D.PCNET_DESC_ERR | D.PCNET_RMD_CRC;
        this.storeDesc(addr, status, msgLen & 0x0fff, true);
        this.rxIndex = (this.rxIndex + 1) % this.rcvrl;
        break;
      }
      // More to go: the next descriptor must be ours, else a buffer error ends the frame here.
      const nextIndex = (this.rxIndex + 1) % this.rcvrl;
      const nextAddr = this.rxDescAddr(nextIndex);
      const curStatus = status;
      // (Wrapping onto this frame's own STP descriptor finds OWN clear, so the walk is bounded.)
      if (guard <= 1 || !this.loadDesc(nextAddr) || !(this.dStatus & D.PCNET_DESC_OWN)) {
        // The rest of the frame overflows the FIFO: BUFF and OFLO (valid without ENP).
        this.storeDesc(addr, curStatus | D.PCNET_DESC_ERR | D.PCNET_RMD_BUFF | D.PCNET_RMD_OFLO, 0, true);
        this.rxIndex = nextIndex;
        break;
      }
      this.storeDesc(addr, curStatus, 0, true);
      this.rxIndex = nextIndex;
      addr = nextAddr;
    }
    c[0] |= D.PCNET_CSR0_RINT;
    this.stats.rxFrames++;
  }

  // ---- state ----

  saveState(): StateRecord {
    return {
      csr: this.csr.slice(),
      bcr: this.bcr.slice(),
      prom: this.prom.slice(),
      pci: this.pci.bytes.slice(),
      rap: this.rap,
      rdra: this.rdra,
      tdra: this.tdra,
      rcvrl: this.rcvrl,
      xmtrl: this.xmtrl,
      rxIndex: this.rxIndex,
      txIndex: this.txIndex,
      irq: this.irqLevel,
      wireFreeNs: this.wireFreeNs,
      wireQueue: this.wireQueue.map((f) => f.slice()),
    };
  }

  loadState(s: StateRecord): void {
    intoTyped(s, 'csr', this.csr);
    intoTyped(s, 'bcr', this.bcr);
    intoTyped(s, 'prom', this.prom);
    intoTyped(s, 'pci', this.pci.bytes);
    this.rap = num(s, 'rap') & 0x7f;
    this.rdra = num(s, 'rdra') >>> 0;
    this.tdra = num(s, 'tdra') >>> 0;
    this.rcvrl = clampRing(num(s, 'rcvrl'));
    this.xmtrl = clampRing(num(s, 'xmtrl'));
    this.rxIndex = num(s, 'rxIndex') % this.rcvrl;
    this.txIndex = num(s, 'txIndex') % this.xmtrl;
    // The line itself is saved by whoever owns it (PCI host / IRQ lines); only our view is restored.
    this.irqLevel = bool(s, 'irq');
    this.wireFreeNs = num(s, 'wireFreeNs');
    const q = arr(s, 'wireQueue');
    if (q.length > PCNET_WIRE_QUEUE_FRAMES || !q.every((f) => f instanceof Uint8Array && f.length >= D.ETH_HLEN && f.length <= D.ETH_MAX_FRAME)) {
      throw new RewindError(ERR.SNAPSHOT, `state field "wireQueue" must hold at most ${PCNET_WIRE_QUEUE_FRAMES} Ethernet frames`);
    }
    this.wireQueue.length = 0;
    for (const f of q) this.wireQueue.push((f as Uint8Array).slice());
    this.remapPorts();
  }
}

function clampRing(n: number): number {
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : 1;
}

/** CSR76/78 hold the two's complement of the ring length (0 means 65536; we cap at 65535). */
function ringLenFromCsr(v: number): number {
  const n = -v & 0xffff;
  return n === 0 ? 65535 : n;
}

/** CSR72/74: the counter is 0 at the last descriptor and 1 - length at the first. */
function ringIndexFromCounter(v: number, len: number): number {
  const i = (((v << 16) >> 16) + len - 1) | 0;
  return i >= 0 && i < len ? i : 0;
}
