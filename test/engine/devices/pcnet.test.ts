/**
 * The PCnet-PCI II card driven through its I/O ports and guest memory, the
 * way pcnet32 drives it: probe, init block, rings, transmit, receive,
 * filtering, errors, interrupts, reset, and a save/load round trip with a
 * ring partly consumed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INPUT, OUTPUT } from '../../../engine/replay/boundary.js';
import { PcNet } from '../../../engine/devices/pcnet.js';
import { ethFcs, ladrfHash, crc32Register } from '../../../engine/devices/pcnet-defs.js';
import { RewindError } from '../../../engine/errors.js';
import {
  makeHarness, bringUp, frame, giveRx, readRx, putTx, readTx, IO, MAC, MAC_BYTES, RX_BUFS, TX_BUFS, BUF_STRIDE,
  INIT_BLOCK, type Harness,
} from './pcnet-harness.js';

const BCAST = 'ff:ff:ff:ff:ff:ff';

function bytesAt(h: Harness, addr: number, len: number): Uint8Array {
  return h.m.memory.readBytes(addr, len);
}

// ---- PCI ----

test('PCI identity, BAR0 sizing, interrupt pin, and I/O decoding gated by the command register', () => {
  const h = makeHarness({ pci: false });
  const n = h.nic;
  assert.equal(n.configRead(0x00, 4), 0x20001022);
  assert.equal(n.configRead(0x08, 4) >>> 8, 0x020000, 'class: Ethernet controller');
  assert.equal(n.configRead(0x08, 1), 0x10, 'revision of the 79C970A');
  assert.equal(n.configRead(0x3d, 1), 1, 'INTA#');
  assert.equal(n.configRead(0x10, 4), 1, 'BAR0 is I/O');
  n.configWrite(0x10, 4, 0xffffffff);
  assert.equal(n.configRead(0x10, 4) >>> 0, 0xffffffe1, '32-byte I/O BAR');
  n.configWrite(0x14, 4, 0xffffffff);
  assert.equal(n.configRead(0x14, 4), 0, 'BAR1 (MMIO alias) is not implemented');
  n.configWrite(0x10, 4, IO);
  assert.equal(h.m.ports.ownerOf(IO), null, 'no decoding before the command register enables I/O');
  n.configWrite(0x04, 2, 0x0001);
  assert.equal(h.m.ports.ownerOf(IO), 'pcnet0');
  assert.equal(h.m.ports.ownerOf(IO + 0x1f), 'pcnet0');
  assert.equal(n.ioBase, IO);
  n.configWrite(0x10, 4, 0xd000);
  assert.equal(h.m.ports.ownerOf(IO), null, 'moved BAR releases the old ports');
  assert.equal(h.m.ports.ownerOf(0xd000), 'pcnet0');
  n.configWrite(0x04, 2, 0x0000);
  assert.equal(h.m.ports.ownerOf(0xd000), null);
  assert.equal(n.configRead(0x04, 2), 0);
  n.configWrite(0x04, 2, 0xffff);
  assert.equal(n.configRead(0x04, 2), 0x0147, 'only IO, MEM, BM, PERR and SERR enables are writable');
  n.configWrite(0x3c, 1, 11);
  assert.equal(n.configRead(0x3c, 1), 11);
  n.reset();
  assert.equal(n.configRead(0x04, 2), 0, 'RST# clears the command register');
  assert.equal(h.m.ports.ownerOf(0xd000), null);
});

test('bad MAC addresses are refused with a RewindError', () => {
  assert.throws(() => new PcNet({ mac: 'zz:00' }), RewindError);
  assert.throws(() => new PcNet({ mac: '01:00:5e:00:00:01' }), RewindError);
  assert.throws(() => new PcNet({ mac: new Uint8Array(5) }), RewindError);
  assert.throws(() => new PcNet({ nicIndex: 300 }), RewindError);
});

// ---- probe ----

test('pcnet32 word-I/O probe: reset, CSR0 = STOP, RAP read-back, chip ID, APROM with WW signature', () => {
  const h = makeHarness();
  const p = h.m.ports;
  p.in16(IO + 0x14); // pcnet32_wio_reset
  assert.equal(h.rcsr(0), 0x0004);
  p.out16(IO + 0x12, 88);
  assert.equal(p.in16(IO + 0x12), 88, 'pcnet32_wio_check');
  const id = (h.rcsr(88) | (h.rcsr(89) << 16)) >>> 0;
  assert.equal(id & 0xfff, 0x003, 'AMD part');
  assert.equal((id >>> 12) & 0xffff, 0x2621, '79C970A');
  for (let i = 0; i < 6; i++) assert.equal(p.in8(IO + i), MAC_BYTES[i]);
  assert.equal(p.in8(IO + 14), 0x57);
  assert.equal(p.in8(IO + 15), 0x57);
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += p.in8(IO + i);
  sum += 0x57 * 2;
  assert.equal(p.in16(IO + 12), sum, 'APROM checksum word');
  assert.equal(p.in16(IO + 0), MAC_BYTES[0]! | (MAC_BYTES[1]! << 8), 'APROM reads as words too');
  assert.equal(p.in32(IO + 0) >>> 0, (MAC_BYTES[0]! | (MAC_BYTES[1]! << 8) | (MAC_BYTES[2]! << 16) | (MAC_BYTES[3]! << 24)) >>> 0);
  // CSR12-14 hold the station address after H_RESET, as pcnet32 compares.
  for (let i = 0; i < 3; i++) assert.equal(h.rcsr(12 + i), MAC_BYTES[2 * i]! | (MAC_BYTES[2 * i + 1]! << 8));
  // Link status through BCR4 (pcnet32_check_media on a 79C970A): LEDOUT is set.
  assert.notEqual(h.rbcr(4), 0xc0);
  assert.equal(h.rbcr(4), 0x80c0);
  assert.equal(h.rbcr(20), 0x0200, 'SWSTYLE 0 after reset');
  assert.equal(h.rbcr(18) & 0x80, 0, 'word I/O mode');
  assert.equal(h.rbcr(34), 0xffff, 'no MII PHY answers on the 79C970A');
});

test('dword I/O mode: entered by a dword write to RDP, survives S_RESET, left only by H_RESET', () => {
  const h = makeHarness();
  const p = h.m.ports;
  p.out32(IO + 0x10, 0);
  assert.equal(p.in16(IO + 0x12), 0xffff, 'word accesses are not decoded in DWIO mode');
  p.in32(IO + 0x18); // pcnet32_dwio_reset
  p.out32(IO + 0x14, 0);
  assert.equal(p.in32(IO + 0x10) & 0xffff, 4, 'CSR0 = STOP');
  p.out32(IO + 0x14, 88);
  assert.equal(p.in32(IO + 0x14) & 0xffff, 88, 'pcnet32_dwio_check');
  const lo = p.in32(IO + 0x10) & 0xffff;
  p.out32(IO + 0x14, 89);
  const hi = p.in32(IO + 0x10) & 0xffff;
  assert.equal((lo | (hi << 16)) >>> 0, 0x02621003);
  p.out32(IO + 0x14, 18);
  assert.equal(p.in32(IO + 0x1c) & 0x80, 0x80, 'BCR18.DWIO');
  p.out32(IO + 0x1c, 0x0000); // DWIO is read-only
  assert.equal(p.in32(IO + 0x1c) & 0x80, 0x80);
  // A CSR write through the dword RDP.
  p.out32(IO + 0x14, 3);
  p.out32(IO + 0x10, 0x0400);
  assert.equal(p.in32(IO + 0x10) & 0xffff, 0x0400);
  p.in32(IO + 0x18);
  p.out32(IO + 0x14, 18);
  assert.equal(p.in32(IO + 0x1c) & 0x80, 0x80, 'S_RESET keeps DWIO');
  p.out32(IO + 0x14, 3);
  assert.equal(p.in32(IO + 0x10) & 0xffff, 0, 'S_RESET cleared CSR3');
  assert.equal(p.in8(IO + 1), MAC_BYTES[1], 'APROM still reads in DWIO mode');
  h.nic.reset();
  h.nic.configWrite(0x10, 4, IO);
  h.nic.configWrite(0x04, 2, 5);
  assert.equal(h.rbcr(18) & 0x80, 0, 'H_RESET leaves DWIO');
});

// ---- initialisation ----

test('INIT loads the 32-bit init block (style 2): mode, PADR, LADRF, ring lengths; IDON interrupts unless masked', () => {
  const h = makeHarness();
  const mem = h.m.memory;
  h.m.ports.in16(IO + 0x14);
  h.wbcr(20, 2);
  assert.equal(h.rbcr(20), 0x0302, 'SSIZE32 and CSRPCNET follow SWSTYLE 2');
  assert.equal(h.rcsr(58), 0x0302, 'CSR58 aliases BCR20');
  mem.write16(INIT_BLOCK, 0x8000);
  mem.write16(INIT_BLOCK + 2, (3 << 12) | (4 << 4));
  mem.writeBytes(INIT_BLOCK + 4, Uint8Array.of(2, 4, 6, 8, 10, 12));
  mem.writeBytes(INIT_BLOCK + 12, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
  mem.write32(INIT_BLOCK + 20, 0x11000);
  mem.write32(INIT_BLOCK + 24, 0x12000);
  h.wcsr(1, INIT_BLOCK & 0xffff);
  h.wcsr(2, INIT_BLOCK >>> 16);
  assert.equal(h.rcsr(16), INIT_BLOCK & 0xffff, 'CSR16 aliases CSR1');
  h.wcsr(0, 0x0041); // INIT | IENA
  const c0 = h.rcsr(0);
  assert.equal(c0 & 0x0100, 0x0100, 'IDON');
  assert.equal(c0 & 0x0004, 0, 'INIT clears STOP');
  assert.equal(c0 & 0x0080, 0x0080, 'INTR');
  assert.deepEqual(h.irq, [true]);
  assert.equal(h.rcsr(15), 0x8000);
  assert.deepEqual([h.rcsr(12), h.rcsr(13), h.rcsr(14)], [0x0402, 0x0806, 0x0c0a]);
  assert.deepEqual([h.rcsr(8), h.rcsr(9), h.rcsr(10), h.rcsr(11)], [0x0201, 0x0403, 0x0605, 0x0807]);
  assert.equal(h.rcsr(76), -16 & 0xffff, 'RCVRL: 16 descriptors, two\'s complement');
  assert.equal(h.rcsr(78), -8 & 0xffff);
  assert.equal(h.rcsr(6), (3 << 12) | (4 << 8));
  assert.equal(h.rcsr(24) | (h.rcsr(25) << 16), 0x11000);
  assert.equal(h.rcsr(30) | (h.rcsr(31) << 16), 0x12000);
  h.wcsr(3, 0x0100); // IDONM
  assert.deepEqual(h.irq, [true, false], 'masking IDON drops INTA#');
  assert.equal(h.rcsr(0) & 0x0080, 0, 'a masked source does not set INTR');
  h.wcsr(3, 0);
  assert.deepEqual(h.irq, [true, false, true]);
  h.wcsr(0, 0x0100 | 0x0040); // acknowledge IDON, keep IENA
  assert.equal(h.rcsr(0) & 0x0180, 0);
  assert.deepEqual(h.irq, [true, false, true, false]);
  // Registers that may only change while stopped.
  h.wcsr(0, 0x0002);
  h.wcsr(15, 0);
  assert.equal(h.rcsr(15), 0x8000, 'CSR15 is not writable while running');
});

test('a long receive ring (RLEN > 9) has 512 descriptors; an init block in unmapped memory gives MERR', () => {
  const h = makeHarness();
  const mem = h.m.memory;
  h.wbcr(20, 2);
  mem.write16(INIT_BLOCK + 2, (1 << 12) | (0xf << 4));
  h.wcsr(1, INIT_BLOCK & 0xffff);
  h.wcsr(2, INIT_BLOCK >>> 16);
  h.wcsr(0, 1);
  assert.equal(h.rcsr(76), -512 & 0xffff);
  h.wcsr(0, 4);
  h.wcsr(1, 0);
  h.wcsr(2, 0xf000); // 0xF0000000: nothing there
  h.wcsr(0, 0x41);
  const c0 = h.rcsr(0);
  assert.equal(c0 & 0x0100, 0, 'no IDON');
  assert.equal(c0 & 0x8800, 0x8800, 'MERR and ERR');
  assert.equal(h.nic.configRead(0x06, 2) & 0x2000, 0x2000, 'PCI status: received master abort');
  h.nic.configWrite(0x06, 2, 0x2000);
  assert.equal(h.nic.configRead(0x06, 2) & 0x2000, 0, 'status bits are write-one-to-clear');
  assert.equal(h.irq.at(-1), true, 'MERR interrupts');
});

test('INIT does nothing until bus mastering is enabled', () => {
  const h = makeHarness();
  h.nic.configWrite(0x04, 2, 0x0001); // I/O only
  h.wbcr(20, 2);
  h.wcsr(1, INIT_BLOCK & 0xffff);
  h.wcsr(2, INIT_BLOCK >>> 16);
  h.wcsr(0, 1);
  assert.equal(h.rcsr(0) & 0x0100, 0);
  assert.ok(h.logger.lines.some((l) => l.includes('bus mastering disabled')));
});

// ---- transmit ----

test('transmit one frame: TDMD sends it at once, OWN is cleared, TINT and TXSTRT set, runts auto-padded', () => {
  const h = makeHarness();
  bringUp(h);
  h.wcsr(0, 0x0100 | 0x40); // ack IDON
  const f = frame(BCAST, 28); // a 42-byte ARP-sized frame
  h.m.memory.writeBytes(TX_BUFS, f);
  putTx(h, 2, 0, TX_BUFS, f.length, 0x8300);
  h.m.run(1000); // 10 us of guest time: the 2 ms transmit poll has not come due
  const before = h.sent().length;
  assert.equal(before, 0);
  h.wcsr(0, 0x0048); // IENA | TDMD, as pcnet32_start_xmit
  const sent = h.sent();
  assert.equal(sent.length, before + 1);
  const out = sent.at(-1)!;
  assert.equal(out.length, 60, 'APAD_XMT pads to 60 bytes (64 with FCS)');
  assert.deepEqual(out.subarray(0, 42), f);
  assert.ok(out.subarray(42).every((b) => b === 0));
  const d = readTx(h, 2, 0);
  assert.equal(d.status, 0x0300, 'OWN cleared, STP/ENP kept, no ERR');
  assert.equal(d.misc, 0);
  assert.equal(h.rcsr(0) & 0x0200, 0x0200, 'TINT');
  assert.equal(h.rcsr(4) & 0x0008, 0x0008, 'TXSTRT');
  assert.equal(h.irq.at(-1), true);
  assert.equal(h.boundary.outputs.at(-1)!.kind, OUTPUT.NET_TX);
  assert.equal(h.boundary.outputs.at(-1)!.icount, h.m.icount, 'sent at the icount of the port write');
  // pcnet32's interrupt handler acknowledges with csr0 & ~0x004f.
  const c0 = h.rcsr(0);
  h.wcsr(0, c0 & ~0x004f);
  assert.equal(h.irq.at(-1), false);
  h.wcsr(0, 0x0040);
  assert.equal(h.rcsr(0) & 0x0f00, 0);
});

test('without APAD_XMT a short frame goes out short; DXMTFCS without ADD_FCS strips the driver-supplied FCS', () => {
  const h = makeHarness();
  bringUp(h);
  h.wcsr(0, 4);
  h.wcsr(4, 0x0115);
  h.wcsr(0, 0x0002 | 0x0040);
  const f = frame(BCAST, 20);
  h.m.memory.writeBytes(TX_BUFS, f);
  putTx(h, 2, 0, TX_BUFS, f.length, 0x8300);
  h.wcsr(0, 0x48);
  assert.equal(h.sent().at(-1)!.length, 34);
  // Driver-supplied FCS.
  h.wcsr(0, 4);
  h.wcsr(15, 0x0008);
  bringUpKeep(h);
  const g = frame(BCAST, 60);
  const withFcs = new Uint8Array(g.length + 4);
  withFcs.set(g);
  const fcs = ethFcs(g, 0, g.length);
  withFcs.set([fcs & 0xff, (fcs >>> 8) & 0xff, (fcs >>> 16) & 0xff, fcs >>> 24], g.length);
  h.m.memory.writeBytes(TX_BUFS, withFcs);
  putTx(h, 2, 0, TX_BUFS, withFcs.length, 0x8300);
  h.wcsr(0, 0x48);
  assert.deepEqual(h.sent().at(-1), g);
  // ADD_FCS overrides DXMTFCS for one frame.
  h.m.memory.writeBytes(TX_BUFS, g);
  putTx(h, 2, 1, TX_BUFS, g.length, 0x8300 | 0x2000);
  h.wcsr(0, 0x48);
  assert.deepEqual(h.sent().at(-1), g);
});

/** Restarts after STOP without re-reading the init block's mode (used after changing CSR15 by hand). */
function bringUpKeep(h: Harness): void {
  const mode = h.rcsr(15);
  h.m.memory.write16(INIT_BLOCK, mode);
  h.wcsr(0, 0x0001);
  h.wcsr(0, 0x0042);
}

test('chained transmit: STP, middle and ENP descriptors make one frame; every OWN is handed back', () => {
  const h = makeHarness();
  bringUp(h, { log2Tx: 3 });
  const f = frame('02:00:00:00:00:99', 300, 7);
  const parts = [f.subarray(0, 100), f.subarray(100, 250), f.subarray(250)];
  parts.forEach((part, i) => h.m.memory.writeBytes(TX_BUFS + i * BUF_STRIDE, part));
  // As drivers do: fill the tail first, hand over the STP descriptor last.
  putTx(h, 2, 2, TX_BUFS + 2 * BUF_STRIDE, parts[2]!.length, 0x8000 | 0x0100);
  putTx(h, 2, 1, TX_BUFS + 1 * BUF_STRIDE, parts[1]!.length, 0x8000);
  putTx(h, 2, 0, TX_BUFS, parts[0]!.length, 0x8000 | 0x0200);
  h.wcsr(0, 0x48);
  assert.equal(h.sent().length, 1);
  assert.deepEqual(h.sent()[0], f);
  assert.equal(readTx(h, 2, 0).status, 0x0200);
  assert.equal(readTx(h, 2, 1).status, 0x0000);
  assert.equal(readTx(h, 2, 2).status, 0x0100);
  assert.equal(h.rcsr(74), (3 + 1 - 8) & 0xffff, 'XMTRC: two\'s complement, 0 at the last descriptor; next is #3');
  const info = h.nic.inspect();
  assert.equal(info['txIndex'], 3);
  assert.equal(info['xmtrl'], 8);
  assert.equal(info['mac'], MAC);
  assert.equal(info['ioBase'], IO);
  assert.equal(h.rcsr(34) | (h.rcsr(35) << 16), 0x12000 + 3 * 16, 'CXDA');
});

test('a chain that runs into a descriptor the chip does not own: BUFF + UFLO, frame dropped, transmitter off', () => {
  const h = makeHarness();
  bringUp(h);
  h.m.memory.writeBytes(TX_BUFS, frame(BCAST, 100));
  putTx(h, 2, 0, TX_BUFS, 60, 0x8200);
  h.wcsr(0, 0x48);
  assert.equal(h.sent().length, 0);
  const d = readTx(h, 2, 0);
  assert.equal(d.status, 0x4200, 'ERR, OWN handed back');
  assert.equal(d.misc >>> 0, 0xc0000000, 'BUFF | UFLO');
  const c0 = h.rcsr(0);
  assert.equal(c0 & 0x0010, 0, 'TXON cleared by UFLO');
  assert.equal(c0 & 0x0200, 0x0200, 'TINT reports the failed frame');
});

test('transmit ring wraps; descriptors not marked STP are skipped', () => {
  const h = makeHarness();
  bringUp(h, { log2Tx: 1 }); // 2 descriptors
  for (let k = 0; k < 5; k++) {
    const slot = k % 2;
    const f = frame(BCAST, 50 + k, k);
    h.m.memory.writeBytes(TX_BUFS + slot * BUF_STRIDE, f);
    putTx(h, 2, slot, TX_BUFS + slot * BUF_STRIDE, f.length, 0x8300);
    h.wcsr(0, 0x48);
    assert.deepEqual(h.sent().at(-1), f);
  }
  assert.equal(h.sent().length, 5);
  // An owned middle descriptor where a frame should start is given back unsent.
  putTx(h, 2, 1, TX_BUFS, 60, 0x8000);
  h.wcsr(0, 0x48);
  assert.equal(h.sent().length, 5);
  assert.equal(readTx(h, 2, 1).status & 0x8000, 0);
});

test('the transmit poll timer finds owned descriptors without TDMD, in virtual time; TXDPOLL disables it', () => {
  const h = makeHarness();
  bringUp(h);
  const t0 = h.m.icount;
  const f = frame(BCAST, 64);
  h.m.memory.writeBytes(TX_BUFS, f);
  putTx(h, 2, 0, TX_BUFS, f.length, 0x8300);
  h.m.run(150_000);
  assert.equal(h.sent().length, 0, 'not before the poll interval');
  h.m.run(100_000);
  assert.equal(h.sent().length, 1);
  // 65,536 clocks at 33 MHz = 1,985,939 ns = 198,594 instructions at 10 ns.
  assert.equal(h.boundary.outputs.at(-1)!.icount, t0 + 198_594);
  h.wcsr(4, 0x0915 | 0x1000); // TXDPOLL
  putTx(h, 2, 1, TX_BUFS, f.length, 0x8300);
  h.m.run(1_000_000);
  assert.equal(h.sent().length, 1, 'no polling with TXDPOLL');
  h.wcsr(0, 0x48);
  assert.equal(h.sent().length, 2, 'TDMD still works');
});

test('a babbling transmitter (frame longer than 1518 bytes with FCS) sets BABL but still sends', () => {
  const h = makeHarness();
  bringUp(h, { log2Tx: 1 });
  const f = frame(BCAST, 1600);
  h.m.memory.writeBytes(TX_BUFS, f.subarray(0, 1000));
  h.m.memory.writeBytes(TX_BUFS + BUF_STRIDE, f.subarray(1000));
  putTx(h, 2, 1, TX_BUFS + BUF_STRIDE, f.length - 1000, 0x8100);
  putTx(h, 2, 0, TX_BUFS, 1000, 0x8200);
  h.wcsr(0, 0x48);
  assert.equal(h.sent()[0]!.length, f.length);
  assert.equal(h.rcsr(0) & 0xc000, 0xc000, 'BABL and ERR');
});

// ---- receive ----

test('receive a frame: data, pad and FCS in the buffer, MCNT includes the FCS, STP|ENP|PAM, RINT on INTA#', () => {
  const h = makeHarness();
  bringUp(h);
  h.wcsr(0, 0x0100 | 0x40);
  const irqBefore = h.irq.length;
  const f = frame(MAC, 100, 3);
  h.rx(f);
  const d = readRx(h, 2, 0);
  assert.equal(d.status, 0x0340, 'OWN clear, STP | ENP, PAM');
  assert.equal((d.status >> 8) & 0xff, 0x03, 'what pcnet32_rx_entry checks');
  assert.equal(d.mcnt, f.length + 4);
  const got = bytesAt(h, RX_BUFS, f.length + 4);
  assert.deepEqual(got.subarray(0, f.length), f);
  const fcs = ethFcs(f, 0, f.length);
  assert.deepEqual(Array.from(got.subarray(f.length)), [fcs & 0xff, (fcs >>> 8) & 0xff, (fcs >>> 16) & 0xff, fcs >>> 24]);
  assert.equal(h.rcsr(0) & 0x0480, 0x0480, 'RINT, INTR');
  assert.deepEqual(h.irq.slice(irqBefore), [true]);
  assert.equal(h.rcsr(72), (1 + 1 - 4) & 0xffff, 'RCVRC moved on to descriptor 1');
  // A runt from the host is padded to 60 bytes, so MCNT is 64.
  h.rx(frame(MAC, 28));
  const r = readRx(h, 2, 1);
  assert.equal(r.mcnt, 64);
  assert.ok(bytesAt(h, RX_BUFS + BUF_STRIDE + 42, 18).every((b) => b === 0));
  // RINTM masks the interrupt.
  h.wcsr(3, 0x0400);
  assert.equal(h.irq.at(-1), false);
});

test('a large frame spans several receive descriptors: STP, middle, ENP with MCNT in the last', () => {
  const h = makeHarness();
  bringUp(h, { log2Rx: 3, rxBufSize: 256 });
  const f = frame(MAC, 586, 9); // 600 bytes + 4 FCS = 604 -> 256 + 256 + 92
  h.rx(f);
  const d0 = readRx(h, 2, 0);
  const d1 = readRx(h, 2, 1);
  const d2 = readRx(h, 2, 2);
  assert.equal(d0.status, 0x0200);
  assert.equal(d1.status, 0x0000);
  assert.equal(d2.status, 0x0140);
  assert.equal(d2.mcnt, 604);
  const joined = new Uint8Array(600);
  joined.set(bytesAt(h, RX_BUFS, 256), 0);
  joined.set(bytesAt(h, RX_BUFS + BUF_STRIDE, 256), 256);
  joined.set(bytesAt(h, RX_BUFS + 2 * BUF_STRIDE, 88), 512);
  assert.deepEqual(joined, f);
  assert.equal(readRx(h, 2, 3).status, 0x8000, 'the next descriptor is untouched');
});

test('running out of descriptors inside a frame: BUFF and OFLO on the last one, no ENP, the rest is lost', () => {
  const h = makeHarness();
  bringUp(h, { log2Rx: 2, rxBufSize: 256 });
  // Take back descriptors 2 and 3 (driver still holds them).
  h.m.memory.write32(0x11000 + 2 * 16 + 4, 0);
  h.m.memory.write32(0x11000 + 3 * 16 + 4, 0);
  h.rx(frame(MAC, 700));
  assert.equal(readRx(h, 2, 0).status, 0x0200);
  assert.equal(readRx(h, 2, 1).status, 0x5400, 'ERR | OFLO | BUFF, no ENP');
  assert.equal(h.rcsr(0) & 0x1400, 0x0400, 'RINT, not MISS');
  giveRx(h, 2, 2, 1544);
  h.rx(frame(MAC, 40));
  assert.equal(readRx(h, 2, 2).status, 0x0340, 'the next frame starts cleanly');
});

test('receive ring wraps around as the driver returns descriptors', () => {
  const h = makeHarness();
  bringUp(h, { log2Rx: 2 });
  for (let k = 0; k < 10; k++) {
    const slot = k % 4;
    const f = frame(MAC, 60 + k, k);
    h.rx(f);
    const d = readRx(h, 2, slot);
    assert.equal(d.status, 0x0340, `frame ${k}`);
    assert.deepEqual(bytesAt(h, RX_BUFS + slot * BUF_STRIDE, f.length), f);
    giveRx(h, 2, slot, 1544);
  }
  assert.equal(h.nic.stats.rxFrames, 10);
  assert.equal(h.rcsr(0) & 0x1000, 0, 'never missed');
});

test('ring registers: CSR72/76 are writable while stopped, survive S_RESET, and STRT resumes where they point', () => {
  const h = makeHarness();
  bringUp(h, { log2Rx: 2 });
  h.rx(frame(MAC, 60, 1));
  h.wcsr(0, 4);
  h.wcsr(76, 1); // STOP is set, so the write lands: a ring of 65535 descriptors
  assert.equal(h.rcsr(76), 1);
  h.wcsr(76, -4 & 0xffff);
  h.m.ports.in16(IO + 0x14); // S_RESET
  assert.equal(h.rcsr(76), -4 & 0xffff, 'ring length unaffected by S_RESET');
  assert.equal(h.rcsr(72), (1 + 1 - 4) & 0xffff, 'ring counter unaffected by S_RESET');
  assert.equal(h.rcsr(24) | (h.rcsr(25) << 16), 0x11000, 'ring base unaffected by S_RESET');
  h.wcsr(76, -3 & 0xffff); // three descriptors
  h.wcsr(72, 0); // the last one: descriptor 2
  h.wcsr(0, 0x0002);
  h.wcsr(72, (-3 + 1) & 0xffff);
  assert.equal(h.rcsr(72), 0, 'not writable while running');
  h.rx(frame(MAC, 60, 2));
  assert.equal(readRx(h, 2, 2).status, 0x0340, 'received into descriptor 2');
  giveRx(h, 2, 0, 1544);
  h.rx(frame(MAC, 60, 3));
  assert.equal(readRx(h, 2, 0).status, 0x0340, 'wrapped after three descriptors');
  assert.equal(readRx(h, 2, 3).status, 0x8000, 'descriptor 3 is outside the ring now');
});

test('no free descriptor: MISS, missed-frame counter, ERR; MISSM masks; MFCO on counter overflow', () => {
  const h = makeHarness();
  bringUp(h, { ownRx: false });
  h.wcsr(0, 0x0100 | 0x40);
  assert.equal(h.irq.at(-1), false);
  h.rx(frame(MAC, 60));
  h.rx(frame(BCAST, 60));
  const c0 = h.rcsr(0);
  assert.equal(c0 & 0x9000, 0x9000, 'MISS and ERR');
  assert.equal(c0 & 0x0400, 0, 'no RINT');
  assert.equal(h.irq.at(-1), true);
  assert.equal(h.rcsr(112), 2);
  h.wcsr(0, 0x1000 | 0x40);
  assert.equal(h.irq.at(-1), false);
  h.wcsr(3, 0x1000);
  h.rx(frame(MAC, 60));
  assert.equal(h.irq.at(-1), false, 'MISSM');
  assert.equal(h.rcsr(0) & 0x1000, 0x1000);
  // Counter overflow: preset CSR112 while suspended.
  h.wcsr(5, 1);
  assert.equal(h.rcsr(5) & 1, 1, 'SPND reads back at once');
  h.wcsr(112, 0xffff);
  h.wcsr(5, 0);
  h.wcsr(4, 0x0815); // MFCOM clear
  h.rx(frame(MAC, 60));
  assert.equal(h.rcsr(112), 0);
  assert.equal(h.rcsr(4) & 0x0200, 0x0200, 'MFCO');
  assert.equal(h.irq.at(-1), true, 'MFCO interrupts when unmasked');
  h.wcsr(4, 0x0815 | 0x0200);
  assert.equal(h.rcsr(4) & 0x0200, 0, 'MFCO is write-one-to-clear');
});

/** The kernel's ether_crc_le, bit by bit, as an independent reference for the filter hash. */
function etherCrcLe(addr: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < 6; i++) {
    let b = addr[i]!;
    for (let bit = 0; bit < 8; bit++, b >>>= 1) crc = (crc >>> 1) ^ (((crc ^ b) & 1) !== 0 ? 0xedb88320 : 0);
  }
  return crc >>> 0;
}

test('address filtering: own unicast, other unicast, broadcast, DRCVBC, multicast hash, promiscuous', () => {
  const mcast = Uint8Array.of(0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb);
  const other = Uint8Array.of(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01);
  const hash = etherCrcLe(mcast) >>> 26;
  assert.equal(ladrfHash(mcast), hash);
  assert.notEqual(ladrfHash(other), hash, 'the test needs two addresses in different hash bins');
  const ladrf: [number, number, number, number] = [0, 0, 0, 0];
  ladrf[hash >> 4] |= 1 << (hash & 15);
  const h = makeHarness();
  bringUp(h, { log2Rx: 4, ladrf });
  const received = (): number => h.nic.stats.rxFrames;
  h.rx(frame('02:00:00:00:00:77', 60));
  assert.equal(received(), 0, 'another station\'s unicast is filtered');
  h.rx(frame(BCAST, 60));
  assert.equal(received(), 1);
  assert.equal(readRx(h, 2, 0).status, 0x0310, 'BAM');
  h.rx(frame(mcast, 60));
  assert.equal(received(), 2);
  assert.equal(readRx(h, 2, 1).status, 0x0320, 'LAFM');
  h.rx(frame(other, 60));
  assert.equal(received(), 2, 'multicast outside the filter');
  // DRCVBC, then PROM, set while suspended (as pcnet32_set_multicast_list does).
  h.wcsr(5, 1);
  h.wcsr(15, 0x4000);
  h.wcsr(5, 0);
  h.rx(frame(BCAST, 60));
  assert.equal(received(), 2, 'DRCVBC');
  h.wcsr(5, 1);
  h.wcsr(15, 0x8000);
  h.wcsr(5, 0);
  h.rx(frame('02:00:00:00:00:77', 60));
  h.rx(frame(other, 60));
  h.rx(frame(MAC, 60));
  assert.equal(received(), 5);
  assert.equal(readRx(h, 2, 2).status, 0x0300, 'promiscuous: no match bits');
  assert.equal(readRx(h, 2, 4).status, 0x0340, 'own address still PAM');
  // DRCVPA: own unicast refused.
  h.wcsr(5, 1);
  h.wcsr(15, 0x2000);
  h.wcsr(5, 0);
  h.rx(frame(MAC, 60));
  assert.equal(received(), 5);
});

test('frames are missed while suspended and ignored while stopped; oversize and undersize frames are dropped', () => {
  const h = makeHarness();
  bringUp(h);
  h.wcsr(5, 1);
  h.rx(frame(MAC, 60));
  assert.equal(h.rcsr(112), 1);
  h.wcsr(5, 0);
  h.wcsr(0, 4);
  h.rx(frame(MAC, 60));
  assert.equal(h.rcsr(0), 4, 'STOP: nothing changes');
  assert.equal(readRx(h, 2, 0).status, 0x8000);
  h.rx(new Uint8Array(10));
  h.rx(new Uint8Array(2000));
  assert.ok(h.logger.lines.some((l) => l.includes('2000 bytes dropped')));
});

test('software styles 0 and 3 lay descriptors out differently but move the same frames', () => {
  for (const style of [0, 3] as const) {
    const h = makeHarness();
    bringUp(h, { style });
    assert.equal(h.rbcr(20), style === 0 ? 0x0200 : 0x0303);
    const f = frame(MAC, 80, style);
    h.rx(f);
    const d = readRx(h, style, 0);
    assert.equal(d.status, style === 0 ? 0x0300 : 0x0340, `style ${style} receive status`);
    assert.equal(d.mcnt, f.length + 4);
    assert.deepEqual(bytesAt(h, RX_BUFS, f.length), f);
    const g = frame(BCAST, 90, style);
    h.m.memory.writeBytes(TX_BUFS, g);
    putTx(h, style, 0, TX_BUFS, g.length, 0x8300);
    h.wcsr(0, 0x48);
    assert.deepEqual(h.sent().at(-1), g, `style ${style} transmit`);
    assert.equal(readTx(h, style, 0).status, 0x0300);
  }
});

test('style 0 takes address bits 31-24 from CSR2', () => {
  const h = makeHarness();
  bringUp(h, { style: 0 });
  // The same init block address with CSR2[15:8] = 0x01 is 0x01010000, past the 4 MiB of RAM.
  h.wcsr(0, 4);
  h.wcsr(2, (INIT_BLOCK >>> 16) | 0x0100);
  h.wcsr(0, 1);
  assert.equal(h.rcsr(0) & 0x0800, 0x0800, 'init block read at 0x01010000 -> nothing there -> MERR');
});

test('internal loopback: a transmitted frame comes back into the receive ring and not onto the wire', () => {
  const h = makeHarness();
  bringUp(h, { mode: 0x0044 }); // LOOP | INTL
  const f = frame(MAC, 70);
  h.m.memory.writeBytes(TX_BUFS, f);
  putTx(h, 2, 0, TX_BUFS, f.length, 0x8300);
  h.wcsr(0, 0x48);
  assert.equal(h.sent().length, 0);
  assert.equal(readRx(h, 2, 0).status, 0x0340);
  assert.deepEqual(bytesAt(h, RX_BUFS, f.length), f);
  h.rx(frame(MAC, 60));
  assert.equal(h.nic.stats.rxFrames, 1, 'in loopback the wire is not heard');
});

test('UINTCMD raises a user interrupt; STOP and S_RESET drop INTA#', () => {
  const h = makeHarness();
  bringUp(h);
  h.wcsr(0, 0x0100 | 0x40);
  assert.equal(h.irq.at(-1), false);
  h.wcsr(4, 0x0915 | 0x0080);
  assert.equal(h.rcsr(4) & 0x00c0, 0x0040, 'UINT set, UINTCMD self-clearing');
  assert.equal(h.irq.at(-1), true);
  h.wcsr(4, 0x0915 | 0x0040);
  assert.equal(h.irq.at(-1), false);
  h.rx(frame(MAC, 60));
  assert.equal(h.irq.at(-1), true);
  h.wcsr(0, 0x0004);
  assert.equal(h.rcsr(0), 0x0004, 'STOP clears every other CSR0 bit');
  assert.equal(h.irq.at(-1), false);
  h.wcsr(0, 0x0002 | 0x0040);
  h.rx(frame(MAC, 60));
  assert.equal(h.irq.at(-1), true);
  h.m.ports.in16(IO + 0x14);
  assert.equal(h.rcsr(0), 0x0004);
  assert.equal(h.irq.at(-1), false);
  assert.equal(h.rbcr(20), 0x0302, 'S_RESET keeps the software style (BCRs survive it)');
});

test('pcnet32 close/reopen: BCR20 = 4 behaves as 16-bit mode; transmit-error recovery re-inits without rewriting BCR20', () => {
  const h = makeHarness();
  bringUp(h);
  // pcnet32_close: STOP, then "back to 16-bit mode".
  h.wcsr(0, 4);
  h.wbcr(20, 4);
  assert.equal(h.rbcr(20), 0x0204, 'reserved style: SSIZE32 clear');
  assert.ok(h.logger.lines.every((l) => !l.startsWith('warn')), 'a stock driver path does not warn');
  // pcnet32_open again, then the UFLO recovery in pcnet32_poll: reset, CSR4, INIT (no BCR20 write).
  bringUp(h);
  h.m.ports.in16(IO + 0x14);
  h.wcsr(4, 0x0915);
  h.wcsr(0, 0x0001);
  assert.equal(h.rcsr(0) & 0x0900, 0x0100, 'the 32-bit init block is read again: IDON, no MERR');
  assert.equal(h.rcsr(76), -4 & 0xffff);
  h.wcsr(0, 0x0002);
  h.rx(frame(MAC, 60));
  assert.equal(readRx(h, 2, 0).status, 0x0340);
});

test('the ethtool loopback self-test sequence: INIT, STOP, CSR15 LOOP|INTL, STRT without INIT keeps the rings', () => {
  const h = makeHarness();
  bringUp(h, { log2Rx: 2, log2Tx: 2 });
  h.wcsr(0, 4);
  for (let x = 0; x < 4; x++) {
    const f = frame(MAC, 61, x);
    f.set(MAC_BYTES, 6);
    h.m.memory.writeBytes(TX_BUFS + x * BUF_STRIDE, f);
    putTx(h, 2, x, TX_BUFS + x * BUF_STRIDE, f.length, 0x8300);
  }
  h.wbcr(32, h.rbcr(32) | 0x0002);
  h.wcsr(15, (h.rcsr(15) & 0xfffc) | 0x0044);
  h.wcsr(0, 0x0002);
  for (let x = 0; x < 4; x++) {
    assert.equal(readRx(h, 2, x).status & 0x8000, 0, `descriptor ${x} came back`);
    assert.deepEqual(bytesAt(h, RX_BUFS + x * BUF_STRIDE, 75), bytesAt(h, TX_BUFS + x * BUF_STRIDE, 75));
  }
  assert.equal(h.sent().length, 0, 'internal loopback: nothing on the wire');
});

test('APROM is writable only with BCR2.APROMWE', () => {
  const h = makeHarness();
  h.m.ports.out8(IO + 0, 0x02);
  assert.equal(h.m.ports.in8(IO), MAC_BYTES[0]);
  h.wbcr(2, h.rbcr(2) | 0x0100);
  h.m.ports.out8(IO + 0, 0x02);
  assert.equal(h.m.ports.in8(IO), 0x02);
});

test('received frames enter through the boundary and cross a 10 Mbit/s wire: a burst is paced, not dumped', () => {
  const f1 = frame(MAC, 60, 1); // 74 bytes: (74 + 4 + 20) x 800 ns = 78.4 us = 7,840 instructions on the wire
  const h = makeHarness({
    events: [
      { kind: INPUT.NET_RX, icount: 5000, target: 0, data: f1, value: 0 },
      { kind: INPUT.NET_RX, icount: 7000, target: 0, data: frame(MAC, 60, 2), value: 0 },
      { kind: INPUT.NET_RX, icount: 7000, target: 0, data: frame(MAC, 20, 3), value: 0 },
    ],
  });
  bringUp(h);
  const seen: number[] = [];
  h.nic.tap = (dir, _f, ns) => seen.push(dir === 'rx' ? ns : -ns);
  h.m.run(6000);
  assert.equal(h.nic.stats.rxFrames, 1, 'the first frame finds the wire idle and arrives at its input icount');
  h.m.run(2000);
  assert.equal(h.nic.stats.rxFrames, 1, 'the others wait while the first is on the wire');
  assert.equal(h.nic.wireBacklog, 2);
  h.m.run(100_000);
  assert.equal(h.nic.stats.rxFrames, 3);
  assert.equal(h.nic.wireBacklog, 0);
  // 50 us, then + 78.4 us, then + 78.4 us (the second frame is also 74 bytes).
  assert.deepEqual(seen, [50_000, 128_400, 206_800], 'delivered one wire time apart, in guest time');
  assert.equal(readRx(h, 2, 2).status, 0x0340);
});

test('the switch queue holds 64 frames while the wire is busy and drops beyond; queued frames survive save/load', () => {
  const h = makeHarness();
  bringUp(h, { log2Rx: 7 });
  for (let k = 0; k < 70; k++) h.rxNow(frame(MAC, 100, k));
  assert.equal(h.nic.stats.rxFrames, 1);
  assert.equal(h.nic.wireBacklog, 64);
  assert.equal(h.nic.stats.rxDropped, 5, 'five dropped at the switch');
  assert.equal(h.rcsr(0) & 0x1000, 0, 'a switch drop is not a MISS');
  const snap = h.m.snapshot();
  const h2 = makeHarness({ pci: false });
  h2.m.restore(snap);
  assert.equal(h2.nic.wireBacklog, 64);
  assert.deepEqual(h2.nic.saveState(), h.nic.saveState());
  for (const x of [h, h2]) x.m.run(64 * 11_840 + 10);
  assert.equal(h.nic.stats.rxFrames, 65);
  assert.equal(h2.m.stateHash(), h.m.stateHash());
  assert.deepEqual(bytesAt(h2, RX_BUFS + 64 * BUF_STRIDE, 114), bytesAt(h, RX_BUFS + 64 * BUF_STRIDE, 114));
  assert.deepEqual(bytesAt(h, RX_BUFS + 64 * BUF_STRIDE, 114), frame(MAC, 100, 64));
});

// ---- state ----

test('save -> load -> save round-trips mid-operation, and a restored machine continues identically', () => {
  const h = makeHarness();
  bringUp(h, { log2Rx: 3, log2Tx: 2 });
  h.rx(frame(MAC, 100, 1));
  h.rx(frame(BCAST, 200, 2));
  const f = frame(BCAST, 64, 3);
  h.m.memory.writeBytes(TX_BUFS, f);
  putTx(h, 2, 0, TX_BUFS, f.length, 0x8300);
  h.wcsr(0, 0x48);
  // Leave a descriptor owned for the poll timer, so a deadline is pending too.
  h.m.memory.writeBytes(TX_BUFS + BUF_STRIDE, frame(BCAST, 64, 4));
  putTx(h, 2, 1, TX_BUFS + BUF_STRIDE, 78, 0x8300);
  h.wcsr(3, 0x0200);
  h.m.ports.out16(IO + 0x12, 72); // leave RAP pointing somewhere
  const s1 = h.nic.saveState();
  assert.equal(s1['rxIndex'], 2);
  assert.equal(s1['txIndex'], 1);
  const snap = h.m.snapshot();

  const h2 = makeHarness({ pci: false });
  h2.m.restore(snap);
  assert.deepEqual(h2.nic.saveState(), s1, 'save after load equals the original save');
  assert.equal(h2.nic.ioBase, IO, 'ports re-decoded from the restored PCI state');
  assert.equal(h2.m.stateHash(), h.m.stateHash());
  assert.equal(h2.m.ports.in16(IO + 0x12), 72, 'RAP');

  // Both continue: the poll timer fires, another frame arrives.
  h.m.run(300_000);
  h2.m.run(300_000);
  h.rx(frame(MAC, 300, 5));
  h2.rx(frame(MAC, 300, 5));
  assert.deepEqual(h2.sent(), h.sent().slice(1), 'the pending poll transmitted the same frame in both');
  assert.equal(h2.boundary.outputs.at(-1)!.icount, h.boundary.outputs.at(-1)!.icount);
  assert.equal(h2.m.stateHash(), h.m.stateHash());
  assert.deepEqual(readRx(h2, 2, 2), readRx(h, 2, 2));
});

test('loadState rejects a malformed record', () => {
  const h = makeHarness();
  const s = h.nic.saveState();
  assert.throws(() => h.nic.loadState({ ...s, csr: new Uint16Array(3) }), RewindError);
});

test('CRC helpers match the Ethernet FCS of a known frame', () => {
  // CRC-32 of "123456789" is 0xCBF43926 (the standard check value).
  const s = new TextEncoder().encode('123456789');
  assert.equal(ethFcs(s, 0, s.length), 0xcbf43926);
  assert.equal(crc32Register(s, 0, s.length), ~0xcbf43926 >>> 0);
});
