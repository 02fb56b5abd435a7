/**
 * A test harness for the PCnet card: a Machine with an idle CPU, the card on
 * a PCI BAR, and helpers that program it the way pcnet32 does (init block,
 * rings, descriptors), all through its I/O ports and guest memory.
 */
import { Machine } from '../../../engine/machine.js';
import type { CpuCore } from '../../../engine/cpu/cpu-core.js';
import { ScriptedBoundary, INPUT, OUTPUT, type InputEvent } from '../../../engine/replay/boundary.js';
import { num, type StateRecord } from '../../../engine/state/snapshot.js';
import { PcNet } from '../../../engine/devices/pcnet.js';
import { MemoryLogger } from '../../../engine/log.js';

/** A CPU that executes nothing: each slice just advances the icount. */
export class IdleCpu implements CpuCore {
  readonly stateName = 'cpu';
  readonly stateVersion = 1;
  icount = 0;
  halted = false;
  intr = false;
  stopRequested = false;
  run(stop: number): void {
    if (!this.stopRequested) this.icount = stop;
  }
  reset(): void {}
  saveState(): StateRecord {
    return { icount: this.icount };
  }
  loadState(s: StateRecord): void {
    this.icount = num(s, 'icount');
  }
}

export const IO = 0xc000;
export const MAC = '52:54:00:aa:bb:cc';
export const MAC_BYTES = Uint8Array.of(0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc);
export const INIT_BLOCK = 0x10000;
export const RX_RING = 0x11000;
export const TX_RING = 0x12000;
export const RX_BUFS = 0x20000;
export const TX_BUFS = 0x60000;
export const BUF_STRIDE = 0x800;

export interface Harness {
  m: Machine;
  nic: PcNet;
  boundary: ScriptedBoundary;
  logger: MemoryLogger;
  /** Every level change of INTA#, in order. */
  irq: boolean[];
  wcsr(n: number, v: number): void;
  rcsr(n: number): number;
  wbcr(n: number, v: number): void;
  rbcr(n: number): number;
  /** Frames the card transmitted (NET_TX outputs). */
  sent(): Uint8Array[];
  /**
   * Delivers a frame from the switch through the boundary's input routing,
   * then lets guest time pass until the 10 Mbit/s wire is idle again, so the
   * next rx() reaches the chip at once.
   */
  rx(frame: Uint8Array): void;
  /** Delivers a frame without letting time pass (it may wait on a busy wire). */
  rxNow(frame: Uint8Array): void;
}

/** Instructions (at 10 ns each) a frame of `len` bytes occupies the wire: (pad to 60 + FCS + preamble + gap) x 800 ns. */
export function wireInstr(len: number): number {
  return ((Math.max(len, 60) + 4 + 20) * 800) / 10;
}

export function makeHarness(opts: { events?: InputEvent[]; pci?: boolean; mac?: string } = {}): Harness {
  const boundary = new ScriptedBoundary(opts.events ?? []);
  const logger = new MemoryLogger();
  const m = new Machine({ ramBytes: 4 * 1024 * 1024 }, { boundary, logger, createCpu: () => new IdleCpu() });
  const irq: boolean[] = [];
  const nic = m.addDevice(new PcNet({ mac: opts.mac ?? MAC, setIrq: (l) => irq.push(l) }));
  if (opts.pci !== false) {
    nic.configWrite(0x10, 4, IO);
    nic.configWrite(0x04, 2, 0x0005); // I/O space + bus master
  }
  const p = m.ports;
  return {
    m,
    nic,
    boundary,
    logger,
    irq,
    wcsr(n, v) {
      p.out16(IO + 0x12, n);
      p.out16(IO + 0x10, v);
    },
    rcsr(n) {
      p.out16(IO + 0x12, n);
      return p.in16(IO + 0x10);
    },
    wbcr(n, v) {
      p.out16(IO + 0x12, n);
      p.out16(IO + 0x16, v);
    },
    rbcr(n) {
      p.out16(IO + 0x12, n);
      return p.in16(IO + 0x16);
    },
    sent() {
      return boundary.outputs.filter((o) => o.kind === OUTPUT.NET_TX).map((o) => o.data);
    },
    rx(frame) {
      m.deliverInput({ kind: INPUT.NET_RX, icount: m.icount, target: 0, data: frame, value: 0 });
      do m.run(wireInstr(1518));
      while (nic.wireBacklog > 0);
    },
    rxNow(frame) {
      m.deliverInput({ kind: INPUT.NET_RX, icount: m.icount, target: 0, data: frame, value: 0 });
    },
  };
}

export interface RingSetup {
  style?: 0 | 2 | 3;
  log2Rx?: number;
  log2Tx?: number;
  rxBufSize?: number;
  mode?: number;
  ladrf?: [number, number, number, number];
  /** Give every receive descriptor to the chip (default true). */
  ownRx?: boolean;
}

export function descSize(style: number): number {
  return style === 0 ? 8 : 16;
}

/** Writes one receive descriptor owned by the chip. */
export function giveRx(h: Harness, style: number, i: number, bufSize: number): void {
  const mem = h.m.memory;
  const a = RX_RING + i * descSize(style);
  const buf = RX_BUFS + i * BUF_STRIDE;
  const bcnt = -bufSize & 0xffff;
  if (style === 0) {
    mem.write16(a, buf & 0xffff);
    mem.write16(a + 4, bcnt);
    mem.write16(a + 6, 0);
    mem.write16(a + 2, 0x8000 | ((buf >>> 16) & 0xff));
  } else {
    mem.write32(style === 3 ? a + 8 : a, buf);
    mem.write32(style === 3 ? a : a + 8, 0);
    mem.write32(a + 12, 0);
    mem.write32(a + 4, (0x8000 << 16) | bcnt);
  }
}

/** Reads a receive descriptor: status (16-bit form), buffer size, message count. */
export function readRx(h: Harness, style: number, i: number): { status: number; mcnt: number } {
  const mem = h.m.memory;
  const a = RX_RING + i * descSize(style);
  if (style === 0) return { status: mem.read16(a + 2) & 0xff00, mcnt: mem.read16(a + 6) & 0xfff };
  return { status: mem.read32(a + 4) >>> 16, mcnt: mem.read32(style === 3 ? a : a + 8) & 0xfff };
}

/** Writes one transmit descriptor. `status` is the 16-bit form (OWN|STP|ENP...). */
export function putTx(h: Harness, style: number, i: number, bufAddr: number, len: number, status: number): void {
  const mem = h.m.memory;
  const a = TX_RING + i * descSize(style);
  const bcnt = -len & 0xffff;
  if (style === 0) {
    mem.write16(a, bufAddr & 0xffff);
    mem.write16(a + 4, bcnt);
    mem.write16(a + 6, 0);
    mem.write16(a + 2, (status & 0xff00) | ((bufAddr >>> 16) & 0xff));
  } else {
    mem.write32(style === 3 ? a + 8 : a, bufAddr);
    mem.write32(style === 3 ? a : a + 8, 0);
    mem.write32(a + 4, ((status & 0xffff) << 16) | bcnt);
  }
}

export function readTx(h: Harness, style: number, i: number): { status: number; misc: number } {
  const mem = h.m.memory;
  const a = TX_RING + i * descSize(style);
  if (style === 0) return { status: mem.read16(a + 2) & 0xff00, misc: (mem.read16(a + 6) << 16) >>> 0 };
  return { status: mem.read32(a + 4) >>> 16, misc: mem.read32(style === 3 ? a : a + 8) >>> 0 };
}

/** Programs the card as pcnet32 does: reset, software style, init block, CSR4, INIT, wait IDON, IENA|STRT. */
export function bringUp(h: Harness, r: RingSetup = {}): void {
  const style = r.style ?? 2;
  const log2Rx = r.log2Rx ?? 2;
  const log2Tx = r.log2Tx ?? 2;
  const rxBufSize = r.rxBufSize ?? 1544;
  const mem = h.m.memory;
  h.m.ports.in16(IO + 0x14); // S_RESET
  h.wbcr(20, style);
  const ladrf = r.ladrf ?? [0, 0, 0, 0];
  if (style === 0) {
    // 16-bit init block: mode, padr, ladrf, rdra(24)+rlen, tdra(24)+tlen
    mem.write16(INIT_BLOCK, r.mode ?? 0);
    for (let i = 0; i < 6; i++) mem.write8(INIT_BLOCK + 2 + i, MAC_BYTES[i]!);
    for (let i = 0; i < 4; i++) mem.write16(INIT_BLOCK + 8 + 2 * i, ladrf[i]!);
    mem.write32(INIT_BLOCK + 16, (RX_RING & 0xffffff) | (log2Rx << 29));
    mem.write32(INIT_BLOCK + 20, (TX_RING & 0xffffff) | (log2Tx << 29));
  } else {
    mem.write16(INIT_BLOCK, r.mode ?? 0);
    mem.write16(INIT_BLOCK + 2, (log2Tx << 12) | (log2Rx << 4));
    for (let i = 0; i < 6; i++) mem.write8(INIT_BLOCK + 4 + i, MAC_BYTES[i]!);
    mem.write16(INIT_BLOCK + 10, 0);
    for (let i = 0; i < 4; i++) mem.write16(INIT_BLOCK + 12 + 2 * i, ladrf[i]!);
    mem.write32(INIT_BLOCK + 20, RX_RING);
    mem.write32(INIT_BLOCK + 24, TX_RING);
  }
  const nRx = 1 << log2Rx;
  for (let i = 0; i < nRx; i++) {
    if (r.ownRx === false) {
      const a = RX_RING + i * descSize(style);
      for (let k = 0; k < descSize(style); k += 4) mem.write32(a + k, 0);
    } else giveRx(h, style, i, rxBufSize);
  }
  for (let i = 0; i < 1 << log2Tx; i++) {
    const a = TX_RING + i * descSize(style);
    for (let k = 0; k < descSize(style); k += 4) mem.write32(a + k, 0);
  }
  h.wcsr(1, INIT_BLOCK & 0xffff);
  h.wcsr(2, INIT_BLOCK >>> 16);
  h.wcsr(4, 0x0915);
  h.wcsr(0, 0x0001);
  if (!(h.rcsr(0) & 0x0100)) throw new Error('IDON not set after INIT');
  h.wcsr(0, 0x0042);
}

/** An Ethernet frame: dst, src, ethertype, then `payloadLen` bytes counting up from `seed`. */
export function frame(dst: Uint8Array | string, payloadLen: number, seed = 0, src: Uint8Array = Uint8Array.of(2, 0, 0, 0, 0, 1)): Uint8Array {
  const d = typeof dst === 'string' ? Uint8Array.from(dst.split(':').map((x) => parseInt(x, 16))) : dst;
  const f = new Uint8Array(14 + payloadLen);
  f.set(d, 0);
  f.set(src, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  for (let i = 0; i < payloadLen; i++) f[14 + i] = (seed + i) & 0xff;
  return f;
}
