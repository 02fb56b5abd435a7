/**
 * The PC: a Machine with the CPU and the standard devices wired as on a
 * PIIX3-era board. This is the one place that knows how the parts connect.
 *
 *   ISA IRQs  0 PIT · 1 keyboard · 2 cascade · 3 COM2 · 4 COM1 · 8 RTC
 *             11 PCnet (INTA# through PIIX3 PIRQC) · 13 FPU (CR0.NE = 0)
 *   PCI bus 0 00.0 i440FX host bridge · 01.0 PIIX3 ISA bridge · 03.0 PCnet
 *   Ports     0x20/0xA0 PIC · 0x40 PIT · 0x60/0x64 i8042 · 0x61 system control
 *             0x70 RTC · 0x80 POST · 0x92 fast A20 · 0xE9 debug console
 *             0xF0 FERR# latch clear · 0xF4 debug-exit · 0x2F8/0x3F8 UARTs
 *             0x4D0 ELCR · 0xCF8 PCI
 *             0xC000 PCnet (when set up without a BIOS)
 *
 * Booting: with a BIOS/ROM image the CPU starts at the reset vector and the
 * firmware configures everything. With a direct boot (flat, multiboot, Linux)
 * there is no firmware, so setupPciLikeFirmware does what SeaBIOS would for
 * our PCI functions (BAR, command register, PIRQ route, interrupt line,
 * level-triggered ELCR bit), and the loader's EntryState is applied to the CPU.
 */
import { Machine, type MachineConfig } from './machine.js';
import type { Boundary } from './replay/boundary.js';
import type { Logger } from './log.js';
import { RewindError, ERR, argError, checkInt } from './errors.js';
import { Cpu } from './cpu/cpu.js';
import { SEG, CR0 } from './cpu/flags.js';
import { Pic8259 } from './devices/pic8259.js';
import { Pit8254 } from './devices/pit8254.js';
import { Uart16550, type UartTxTiming } from './devices/uart16550.js';
import { CmosRtc } from './devices/cmos-rtc.js';
import { I8042, Port92 } from './devices/i8042.js';
import { PciHost } from './devices/pci-host.js';
import { PcNet } from './devices/pcnet.js';
import { DebugPorts } from './devices/debug-ports.js';
import type { EntryState } from './boot/entry-state.js';
import { loadBios } from './boot/rom.js';
import { loadFlat, type FlatEntry } from './boot/flat.js';
import { loadMultiboot, type MultibootModule } from './boot/multiboot.js';
import { loadBzImage } from './boot/linux.js';

export const PCNET_SLOT = 3;
export const PCNET_IO_BASE = 0xc000;
export const PCNET_IRQ = 11;

export interface PcConfig extends MachineConfig {
  /** Add the PCnet card (default true). */
  nic?: boolean;
  /** Its station address, e.g. "52:54:00:12:34:56" (part of the machine configuration: the guest sees it). */
  mac?: string;
  /** How UART transmit is timed (default 'instant'). */
  uartTxTiming?: UartTxTiming;
}

export interface PcDeps {
  boundary?: Boundary;
  logger?: Logger;
}

export type BootSpec =
  | { kind: 'bios'; image: Uint8Array; name?: string }
  | { kind: 'flat'; image: Uint8Array; loadAddr: number; entry: FlatEntry; name?: string }
  | { kind: 'multiboot'; image: Uint8Array; cmdline?: string; modules?: MultibootModule[]; name?: string }
  | { kind: 'linux'; image: Uint8Array; initrd?: Uint8Array | null; cmdline?: string; name?: string };

export class Pc {
  readonly machine: Machine;
  readonly cpu: Cpu;
  readonly pic: Pic8259;
  readonly pit: Pit8254;
  readonly uarts: Uart16550[];
  readonly rtc: CmosRtc;
  readonly kbc: I8042;
  readonly port92: Port92;
  readonly pci: PciHost;
  readonly nic: PcNet | null;
  readonly debug: DebugPorts;
  /** What was booted (one line), for summaries. */
  bootDescription = 'nothing loaded';

  constructor(config: PcConfig = {}, deps: PcDeps = {}) {
    let cpu: Cpu | null = null;
    this.machine = new Machine(config, {
      boundary: deps.boundary,
      logger: deps.logger,
      createCpu: (m) => (cpu = new Cpu(m)),
    });
    this.cpu = cpu!;
    const m = this.machine;
    this.pic = m.addDevice(new Pic8259());
    this.cpu.intAck = this.pic;
    this.pit = m.addDevice(new Pit8254());
    const timing = config.uartTxTiming ?? 'instant';
    this.uarts = [m.addDevice(new Uart16550({ index: 0, txTiming: timing })), m.addDevice(new Uart16550({ index: 1, txTiming: timing }))];
    this.rtc = m.addDevice(new CmosRtc());
    this.kbc = m.addDevice(new I8042());
    this.port92 = m.addDevice(new Port92(this.kbc));
    this.pci = m.addDevice(new PciHost());
    this.debug = m.addDevice(new DebugPorts());
    // The AT's FERR# latch: an unmasked x87 exception with CR0.NE = 0 raises
    // IRQ13 (x87-glue.ts); the handler acknowledges it with a write to port
    // 0xF0, which clears the latch. The latch is the line's level (IrqLines state).
    m.ports.register(0xf0, 1, 'ferr-latch', { write8: () => m.irq.lower(13) });
    if (config.nic ?? true) {
      const nic = m.addDevice(new PcNet({ nicIndex: 0, ...(config.mac !== undefined ? { mac: config.mac } : {}) }));
      const intx = this.pci.addFunction({ device: PCNET_SLOT, fn: 0 }, nic);
      nic.setIrqSink((level) => intx.setIntx(level));
      this.nic = nic;
    } else {
      this.nic = null;
    }
    m.reset();
  }

  /**
   * Loads what to run. A BIOS image is mapped and the CPU starts at the reset
   * vector; the other kinds are loaded into RAM, PCI is set up as firmware
   * would, and the CPU is put in the loader's entry state.
   */
  boot(spec: BootSpec): void {
    const mem = this.machine.memory;
    switch (spec.kind) {
      case 'bios':
        loadBios(mem, spec.image, spec.name);
        this.bootDescription = `BIOS ${spec.name ?? 'image'} (${spec.image.length} bytes)`;
        return;
      case 'flat':
        this.enter(loadFlat(mem, spec.image, spec.loadAddr, spec.entry, spec.name));
        return;
      case 'multiboot':
        this.enter(loadMultiboot(mem, spec.image, { cmdline: spec.cmdline ?? '', modules: spec.modules ?? [], ...(spec.name ? { name: spec.name } : {}) }));
        return;
      case 'linux':
        this.enter(loadBzImage(mem, spec.image, { cmdline: spec.cmdline ?? '', initrd: spec.initrd ?? null, ...(spec.name ? { name: spec.name } : {}) }));
        return;
      default:
        throw argError(`unknown boot kind ${(spec as { kind: string }).kind}`);
    }
  }

  private enter(entry: EntryState): void {
    this.setupPciLikeFirmware();
    applyEntryState(this.cpu, entry);
    this.bootDescription = entry.description;
  }

  /** What SeaBIOS does for our PCI functions when there is no firmware. */
  setupPciLikeFirmware(): void {
    if (!this.nic) return;
    const p = this.machine.ports;
    const cfg = (dev: number, reg: number) => (0x80000000 | (dev << 11) | (reg & 0xfc)) >>> 0;
    const w32 = (dev: number, reg: number, v: number) => {
      p.out32(0xcf8, cfg(dev, reg));
      p.out32(0xcfc, v);
    };
    const w8 = (dev: number, reg: number, v: number) => {
      p.out32(0xcf8, cfg(dev, reg));
      p.out8(0xcfc + (reg & 3), v);
    };
    const pirq = (PCNET_SLOT - 1) & 3; // INTA# of slot 3 -> PIRQC, the PIIX3 swizzle
    w8(1, 0x60 + pirq, PCNET_IRQ);
    w32(PCNET_SLOT, 0x10, PCNET_IO_BASE | 1);
    w8(PCNET_SLOT, 0x3c, PCNET_IRQ);
    w32(PCNET_SLOT, 0x04, 0x0005); // I/O space + bus master
    const elcr = 0x4d0 + (PCNET_IRQ >> 3);
    p.out8(elcr, p.in8(elcr) | (1 << (PCNET_IRQ & 7)));
  }

  /** The canonical state hash of the whole PC. */
  stateHash(): string {
    return this.machine.stateHash();
  }
}

/** Puts the CPU in a loader's entry state (real mode, or flat 32-bit protected mode from the loader's GDT). */
export function applyEntryState(cpu: Cpu, e: EntryState): void {
  checkInt('entry EIP', e.eip, 0, 0xffffffff);
  const r = cpu.reg32;
  const regs = e.regs;
  r[0] = regs.eax ?? 0; r[1] = regs.ecx ?? 0; r[2] = regs.edx ?? 0; r[3] = regs.ebx ?? 0;
  r[4] = regs.esp ?? 0; r[5] = regs.ebp ?? 0; r[6] = regs.esi ?? 0; r[7] = regs.edi ?? 0;
  cpu.setEflags(e.eflags | 2);
  if (e.mode === 'real') {
    cpu.cr0 &= ~CR0.PE;
    cpu.modeChanged();
    for (const [seg, v] of [[SEG.CS, e.cs], [SEG.DS, e.ds], [SEG.ES, e.es], [SEG.FS, e.fs], [SEG.GS, e.gs], [SEG.SS, e.ss]] as const) cpu.loadSegment(seg, v);
  } else {
    if (!e.gdt) throw new RewindError(ERR.IMAGE, `${e.description}: a protected-mode entry needs a GDT`);
    cpu.gdtrBase = e.gdt.base;
    cpu.gdtrLimit = e.gdt.limit;
    cpu.cr0 |= CR0.PE;
    cpu.modeChanged();
    cpu.loadCsProtected(e.cs, 0);
    for (const [seg, v] of [[SEG.SS, e.ss], [SEG.DS, e.ds], [SEG.ES, e.es], [SEG.FS, e.fs], [SEG.GS, e.gs]] as const) cpu.loadSegment(seg, v);
  }
  cpu.eip = e.eip >>> 0;
  cpu.halted = false;
}

/** Creates a PC and boots `spec` on it. */
export function createPc(config: PcConfig, deps: PcDeps, spec?: BootSpec): Pc {
  const pc = new Pc(config, deps);
  if (spec) pc.boot(spec);
  return pc;
}
