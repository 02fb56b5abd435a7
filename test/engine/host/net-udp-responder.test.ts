/**
 * The test network peer (ARP + ICMP echo responder) on its own, and a PCnet
 * card pinging it across the UDP backend: the network half of issue 9's
 * "guest pings a responder in the test harness", without the guest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { respond, inetChecksum, PingResponder, type ResponderStats } from './net-udp-responder.js';
import { NetUdpBackend } from '../../../engine/host/net-udp.js';
import { OUTPUT } from '../../../engine/replay/boundary.js';
import { makeHarness, bringUp, putTx, readRx, TX_BUFS, RX_BUFS, BUF_STRIDE, MAC_BYTES } from '../devices/pcnet-harness.js';

const PEER_MAC = Uint8Array.of(0x02, 0x00, 0x00, 0x00, 0x00, 0x02);
const PEER_IP = Uint8Array.of(10, 0, 2, 2);
const MY_IP = Uint8Array.of(10, 0, 2, 15);

function arpRequest(): Uint8Array {
  const f = new Uint8Array(42);
  f.fill(0xff, 0, 6);
  f.set(MAC_BYTES, 6);
  f.set([0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01], 12);
  f.set(MAC_BYTES, 22);
  f.set(MY_IP, 28);
  f.set(PEER_IP, 38);
  return f;
}

function echoRequest(id: number, seq: number, payload: number): Uint8Array {
  const total = 20 + 8 + payload;
  const f = new Uint8Array(14 + total);
  f.set(PEER_MAC, 0);
  f.set(MAC_BYTES, 6);
  f.set([0x08, 0x00], 12);
  f.set([0x45, 0, total >>> 8, total & 0xff, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0], 14);
  f.set(MY_IP, 26);
  f.set(PEER_IP, 30);
  const ipSum = inetChecksum(f, 14, 20);
  f[24] = ipSum >>> 8;
  f[25] = ipSum & 0xff;
  f.set([8, 0, 0, 0, id >>> 8, id & 0xff, seq >>> 8, seq & 0xff], 34);
  for (let i = 0; i < payload; i++) f[42 + i] = i & 0xff;
  const icmpSum = inetChecksum(f, 34, 8 + payload);
  f[36] = icmpSum >>> 8;
  f[37] = icmpSum & 0xff;
  return f;
}

test('the responder answers ARP requests and ICMP echo requests for its address, and nothing else', () => {
  const stats: ResponderStats = { arpReplies: 0, echoReplies: 0, ignored: 0 };
  const a = respond(PEER_MAC, PEER_IP, arpRequest(), stats)!;
  assert.ok(a);
  assert.deepEqual(a.subarray(0, 6), MAC_BYTES);
  assert.deepEqual(a.subarray(6, 12), PEER_MAC);
  assert.equal((a[20]! << 8) | a[21]!, 2, 'ARP reply');
  assert.deepEqual(a.subarray(22, 28), PEER_MAC, 'sender hardware address is the answer');
  assert.deepEqual(a.subarray(28, 32), PEER_IP);
  assert.deepEqual(a.subarray(32, 38), MAC_BYTES);
  assert.deepEqual(a.subarray(38, 42), MY_IP);
  const req = echoRequest(0x1234, 7, 56);
  const e = respond(PEER_MAC, PEER_IP, req, stats)!;
  assert.ok(e);
  assert.equal(e[34], 0, 'echo reply');
  assert.equal(inetChecksum(e, 14, 20), 0, 'IP header checksum valid');
  assert.equal(inetChecksum(e, 34, 64), 0, 'ICMP checksum valid');
  assert.deepEqual(e.subarray(26, 30), PEER_IP);
  assert.deepEqual(e.subarray(30, 34), MY_IP);
  assert.deepEqual(e.subarray(38), req.subarray(38), 'identifier, sequence and payload echoed');
  // Not for us, or damaged: ignored.
  const other = arpRequest();
  other[41] = 99;
  assert.equal(respond(PEER_MAC, PEER_IP, other, stats), null);
  const bad = echoRequest(1, 1, 8);
  bad[45] ^= 1;
  assert.equal(respond(PEER_MAC, PEER_IP, bad, stats), null, 'bad ICMP checksum');
  assert.deepEqual(stats, { arpReplies: 1, echoReplies: 1, ignored: 2 });
});

test('a PCnet card resolves and pings the responder across the UDP backend', { timeout: 10_000 }, async () => {
  const h = makeHarness();
  bringUp(h, { log2Rx: 3, log2Tx: 3 });
  const nicPort = await NetUdpBackend.open({ port: 0 });
  const peer = await PingResponder.open({ mac: PEER_MAC, ip: PEER_IP, peerPort: nicPort.port });
  nicPort.connect(peer.port);
  let arrived: (() => void) | null = null;
  h.m.onOutput = (kind, target, data) => {
    if (kind === OUTPUT.NET_TX && target === 0) nicPort.send(data);
  };
  nicPort.onFrame((f) => {
    h.rx(f); // delivered, and guest time passes while it crosses the wire
    arrived?.();
  });
  const next = (): Promise<void> => new Promise((r) => (arrived = r));
  try {
    let slot = 0;
    const send = async (f: Uint8Array): Promise<void> => {
      const got = next();
      h.m.memory.writeBytes(TX_BUFS + slot * BUF_STRIDE, f);
      putTx(h, 2, slot, TX_BUFS + slot * BUF_STRIDE, f.length, 0x8300);
      slot++;
      h.wcsr(0, 0x48);
      await got;
    };
    await send(arpRequest());
    const r0 = readRx(h, 2, 0);
    assert.equal(r0.status, 0x0340, 'ARP reply received, addressed to us');
    assert.equal(r0.mcnt, 64, 'padded to 60 + FCS');
    const arp = h.m.memory.readBytes(RX_BUFS, 42);
    assert.deepEqual(arp.subarray(22, 28), PEER_MAC);
    for (let seq = 1; seq <= 3; seq++) {
      const req = echoRequest(0x4242, seq, 56);
      await send(req);
      const r = readRx(h, 2, seq);
      assert.equal(r.status, 0x0340);
      assert.equal(r.mcnt, 98 + 4);
      const rep = h.m.memory.readBytes(RX_BUFS + seq * BUF_STRIDE, 98);
      assert.equal(rep[34], 0, 'echo reply');
      assert.equal((rep[40]! << 8) | rep[41]!, seq);
    }
    assert.deepEqual(peer.stats, { arpReplies: 1, echoReplies: 3, ignored: 0 });
  } finally {
    await peer.close();
    await nicPort.close();
  }
});
