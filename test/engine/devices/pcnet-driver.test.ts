/**
 * The card driven by a TypeScript transcription of pcnet32's register-level
 * behaviour (probe, open, start_xmit, the interrupt handler, the NAPI poll,
 * set_multicast_list with suspend, close): the sequence of port accesses and
 * descriptor handling Linux performs, so that semantic slips (an interrupt
 * that does not drop when masked, a status the driver rejects, a filter bit
 * in the wrong place) show up here before they show up in a booted kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHarness, frame, IO, MAC, MAC_BYTES, type Harness } from './pcnet-harness.js';

const RX_LOG2 = 5; // pcnet32 defaults: 32 receive, 16 transmit descriptors
const TX_LOG2 = 4;
const PKT_BUF = 1544 - 2; // PKT_BUF_SIZE with NET_IP_ALIGN = 2
const IB = 0x30000;
const RXR = 0x31000;
const TXR = 0x32000;
const RXB = 0x100000;
const TXB = 0x200000;

/** ether_crc_le, bit by bit. */
function etherCrcLe(addr: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < 6; i++) {
    let b = addr[i]!;
    for (let bit = 0; bit < 8; bit++, b >>>= 1) crc = (crc >>> 1) ^ (((crc ^ b) & 1) !== 0 ? 0xedb88320 : 0);
  }
  return crc >>> 0;
}

class Pcnet32Model {
  readonly h: Harness;
  readonly mem: Harness['m']['memory'];
  curRx = 0;
  curTx = 0;
  dirtyTx = 0;
  rxPackets: Uint8Array[] = [];
  txPackets = 0;
  txErrors = 0;
  rxErrors = 0;
  napiScheduled = false;
  devAddr = new Uint8Array(6);
  mcList: Uint8Array[] = [];
  promisc = false;

  constructor(h: Harness) {
    this.h = h;
    this.mem = h.m.memory;
  }
  private rcsr(n: number): number { return this.h.rcsr(n); }
  private wcsr(n: number, v: number): void { this.h.wcsr(n, v); }
  private rbcr(n: number): number { return this.h.rbcr(n); }
  private wbcr(n: number, v: number): void { this.h.wbcr(n, v); }
  private reset(): void { this.h.m.ports.in16(IO + 0x14); }

  probe(): void {
    this.reset();
    assert.equal(this.rcsr(0), 4, 'probe: CSR0 after reset');
    this.h.m.ports.out16(IO + 0x12, 88);
    assert.equal(this.h.m.ports.in16(IO + 0x12), 88, 'probe: wio check');
    const ver = this.rcsr(88) | (this.rcsr(89) << 16);
    assert.equal(ver & 0xfff, 3);
    assert.equal((ver >>> 12) & 0xffff, 0x2621, 'PCnet/PCI II 79C970A');
    for (let i = 0; i < 3; i++) {
      const v = this.rcsr(12 + i);
      this.devAddr[2 * i] = v & 0xff;
      this.devAddr[2 * i + 1] = v >>> 8;
    }
    const prom = new Uint8Array(6);
    for (let i = 0; i < 6; i++) prom[i] = this.h.m.ports.in8(IO + i);
    assert.deepEqual(prom, this.devAddr, 'CSR12-14 agree with the PROM');
    this.mem.write16(IB, 0x0003);
    this.mem.write16(IB + 2, (TX_LOG2 << 12) | (RX_LOG2 << 4));
    this.mem.writeBytes(IB + 4, this.devAddr);
    this.mem.write32(IB + 12, 0);
    this.mem.write32(IB + 16, 0);
    this.mem.write32(IB + 20, RXR);
    this.mem.write32(IB + 24, TXR);
    this.wbcr(20, 2);
    this.wcsr(1, IB & 0xffff);
    this.wcsr(2, IB >>> 16);
    this.wbcr(2, this.rbcr(2) | 0x1000); // enable LED writes
  }

  private loadMulticast(): void {
    const t = [0, 0, 0, 0];
    for (const a of this.mcList) {
      const crc = etherCrcLe(a) >>> 26;
      t[crc >> 4]! |= 1 << (crc & 0xf);
    }
    for (let i = 0; i < 4; i++) {
      this.mem.write16(IB + 12 + 2 * i, t[i]!);
      this.wcsr(8 + i, t[i]!);
    }
  }

  private initRing(): void {
    this.curRx = this.curTx = this.dirtyTx = 0;
    for (let i = 0; i < 1 << RX_LOG2; i++) {
      const d = RXR + 16 * i;
      this.mem.write32(d, RXB + i * 0x800);
      this.mem.write16(d + 4, -PKT_BUF & 0xffff);
      this.mem.write16(d + 6, 0x8000);
    }
    for (let i = 0; i < 1 << TX_LOG2; i++) {
      this.mem.write16(TXR + 16 * i + 6, 0);
      this.mem.write32(TXR + 16 * i, 0);
    }
    this.mem.write16(IB + 2, (TX_LOG2 << 12) | (RX_LOG2 << 4));
    this.mem.writeBytes(IB + 4, this.devAddr);
  }

  open(): void {
    this.reset();
    this.wbcr(20, 2);
    this.wbcr(2, (this.rbcr(2) & ~2) | 2); // ASEL
    this.wbcr(9, this.rbcr(9) & ~3); // full-duplex handling for ASEL on a 79C970A
    this.wcsr(124, this.rcsr(124) & ~0x10);
    this.wbcr(32, this.rbcr(32) | 0x0080);
    this.wbcr(32, (this.rbcr(32) & ~0x98) | 0x20);
    this.mem.write16(IB, 0);
    this.loadMulticast();
    this.initRing();
    this.wcsr(1, IB & 0xffff);
    this.wcsr(2, IB >>> 16);
    this.wcsr(4, 0x0915);
    this.wcsr(0, 0x0001);
    assert.notEqual(this.rbcr(4), 0xc0, 'check_media: link up');
    let i = 0;
    while (i++ < 100) if (this.rcsr(0) & 0x0100) break;
    assert.ok(i < 100, 'IDON');
    this.wcsr(0, 0x0042);
  }

  startXmit(f: Uint8Array): boolean {
    const entry = this.curTx & ((1 << TX_LOG2) - 1);
    const d = TXR + 16 * entry;
    if (this.mem.read32(d) !== 0) return false; // ring full
    const buf = TXB + entry * 0x800;
    this.mem.writeBytes(buf, f);
    this.mem.write16(d + 4, -f.length & 0xffff);
    this.mem.write32(d + 8, 0);
    this.mem.write32(d, buf);
    this.mem.write16(d + 6, 0x8300);
    this.curTx++;
    this.wcsr(0, 0x0048);
    return true;
  }

  /** pcnet32_interrupt. */
  interrupt(): void {
    let csr0 = this.rcsr(0);
    let bogus = 2;
    while (csr0 & 0x8f00 && --bogus >= 0) {
      this.wcsr(0, csr0 & ~0x004f);
      if (csr0 & 0x4000) this.txErrors++;
      if (csr0 & 0x1000) this.rxErrors++;
      if (!this.napiScheduled) {
        this.wcsr(3, this.rcsr(3) | 0x5f00);
        this.napiScheduled = true;
        break;
      }
      csr0 = this.rcsr(0);
    }
  }

  /** pcnet32_poll with an unlimited budget. */
  poll(): void {
    for (;;) {
      const d = RXR + 16 * (this.curRx & ((1 << RX_LOG2) - 1));
      const status = (this.mem.read16(d + 6) << 16) >> 16;
      if (status < 0) break;
      if (status >> 8 !== 0x03) this.rxErrors++;
      else {
        const len = (this.mem.read32(d + 8) & 0xfff) - 4;
        assert.ok(len >= 60 && len <= PKT_BUF, `sane packet length ${len}`);
        this.rxPackets.push(this.mem.readBytes(this.mem.read32(d) >>> 0, len));
      }
      this.mem.write16(d + 4, -PKT_BUF & 0xffff);
      this.mem.write16(d + 6, 0x8000);
      this.curRx++;
    }
    while (this.dirtyTx !== this.curTx) {
      const d = TXR + 16 * (this.dirtyTx & ((1 << TX_LOG2) - 1));
      const status = (this.mem.read16(d + 6) << 16) >> 16;
      if (status < 0) break;
      this.mem.write32(d, 0);
      if (status & 0x4000) this.txErrors++;
      else this.txPackets++;
      this.dirtyTx++;
    }
    this.napiScheduled = false;
    this.wcsr(3, this.rcsr(3) & 0x00ff);
    this.wcsr(0, 0x0040);
  }

  /** Runs the interrupt handler and NAPI while INTA# is asserted, as the kernel would. */
  service(): void {
    let guard = 0;
    while (this.h.nic.irqAsserted || this.napiScheduled) {
      if (this.h.nic.irqAsserted) this.interrupt();
      if (this.napiScheduled) this.poll();
      assert.ok(++guard < 100, 'interrupt storm');
    }
  }

  private suspend(): boolean {
    this.wcsr(5, this.rcsr(5) | 1);
    let ticks = 0;
    while (!(this.rcsr(5) & 1)) if (++ticks > 200) return false;
    return true;
  }

  setMulticastList(): void {
    const suspended = this.suspend();
    assert.ok(suspended, 'the 79C970A suspends');
    const csr15 = this.rcsr(15);
    if (this.promisc) this.wcsr(15, csr15 | 0x8000);
    else {
      this.wcsr(15, csr15 & 0x7fff);
      this.loadMulticast();
    }
    this.wcsr(5, this.rcsr(5) & ~1);
  }

  close(): number {
    const missed = this.rcsr(112);
    this.wcsr(0, 0x0004);
    this.wbcr(20, 4);
    return missed;
  }
}

test('pcnet32 life cycle: probe, open, transmit, receive, multicast, promiscuous, a full ring, close', () => {
  const h = makeHarness();
  const drv = new Pcnet32Model(h);
  drv.probe();
  assert.deepEqual(drv.devAddr, MAC_BYTES);
  drv.open();
  drv.service(); // the IDON interrupt right after open
  assert.equal(h.nic.irqAsserted, false);

  // Transmit a burst, more than the ring holds before the driver cleans up.
  const sent: Uint8Array[] = [];
  for (let k = 0; k < 20; k++) {
    const f = frame('ff:ff:ff:ff:ff:ff', 28 + k * 50, k, MAC_BYTES);
    if (!drv.startXmit(f)) {
      drv.service();
      assert.ok(drv.startXmit(f), 'room after the poll cleaned the ring');
    }
    sent.push(f);
  }
  drv.service();
  assert.equal(drv.txPackets, 20);
  assert.equal(drv.txErrors, 0);
  const wire = h.sent();
  assert.equal(wire.length, 20);
  wire.forEach((w, k) => {
    const f = sent[k]!;
    assert.deepEqual(w.subarray(0, f.length), f);
    assert.equal(w.length, Math.max(60, f.length));
  });

  // Receive: unicast to us, broadcast, a multicast we have not joined, then join it.
  const group = Uint8Array.of(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01);
  h.rx(frame(MAC, 100, 1));
  h.rx(frame('ff:ff:ff:ff:ff:ff', 28, 2));
  h.rx(frame(group, 80, 3));
  drv.service();
  assert.equal(drv.rxPackets.length, 2);
  assert.equal(drv.rxPackets[1]!.length, 60, 'a 42-byte frame arrives padded to 60');
  drv.mcList.push(group);
  drv.setMulticastList();
  h.rx(frame(group, 80, 4));
  drv.service();
  assert.equal(drv.rxPackets.length, 3, 'joined multicast group is received');
  assert.deepEqual(drv.rxPackets[2], frame(group, 80, 4));

  // Promiscuous mode.
  h.rx(frame('02:11:22:33:44:55', 60, 5));
  drv.promisc = true;
  drv.setMulticastList();
  h.rx(frame('02:11:22:33:44:55', 60, 6));
  drv.service();
  assert.equal(drv.rxPackets.length, 4);

  // Flood without servicing: 32 descriptors fill, the rest are missed.
  for (let k = 0; k < 40; k++) h.rx(frame(MAC, 60, 100 + k));
  assert.equal(h.nic.irqAsserted, true);
  drv.service();
  assert.equal(drv.rxPackets.length, 4 + 32);
  assert.ok(drv.rxErrors >= 1, 'MISS counted as an rx error by the interrupt handler');
  assert.equal(drv.close(), 8, 'rx_missed_errors from CSR112');
  assert.equal(h.nic.irqAsserted, false);
  assert.equal(h.rcsr(0), 0x0004);
});

test('interrupts are acknowledged without storms: INTA# follows the driver\'s masks through the NAPI cycle', () => {
  const h = makeHarness();
  const drv = new Pcnet32Model(h);
  drv.probe();
  drv.open();
  drv.service();
  h.irq.length = 0;
  h.rx(frame(MAC, 64));
  assert.deepEqual(h.irq, [true]);
  drv.interrupt();
  assert.deepEqual(h.irq, [true, false], 'the handler\'s ack and CSR3 masks drop the line');
  // A frame arriving while NAPI is scheduled raises RINT but is masked.
  h.rx(frame(MAC, 64));
  assert.deepEqual(h.irq, [true, false]);
  drv.poll();
  // Unmasking with RINT still set re-asserts; the driver services it again.
  assert.deepEqual(h.irq, [true, false, true]);
  drv.service();
  assert.equal(drv.rxPackets.length, 2);
  assert.equal(h.nic.irqAsserted, false);
});
