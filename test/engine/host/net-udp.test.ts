/**
 * The UDP network backend on loopback: two backends exchange frames, sizes
 * are validated, the peer is learnt when not configured, and two machines
 * with PCnet cards talk to each other through it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { NetUdpBackend, parseNicSpec, NET_UDP_HOST } from '../../../engine/host/net-udp.js';
import { RewindError } from '../../../engine/errors.js';
import { MemoryLogger } from '../../../engine/log.js';
import { INPUT, OUTPUT } from '../../../engine/replay/boundary.js';
import { makeHarness, bringUp, frame, putTx, readRx, RX_BUFS, TX_BUFS, MAC, type Harness } from '../devices/pcnet-harness.js';

/** Resolves with the next `n` frames a backend receives. */
function nextFrames(b: NetUdpBackend, n: number): Promise<Uint8Array[]> {
  return new Promise((resolve) => {
    const got: Uint8Array[] = [];
    b.onFrame((f) => {
      got.push(f);
      if (got.length === n) resolve(got);
    });
  });
}

test('parseNicSpec accepts udp:PORT[:PEER] and rejects everything else with a RewindError', () => {
  assert.deepEqual(parseNicSpec('udp:5000'), { port: 5000 });
  assert.deepEqual(parseNicSpec('udp:5000:5001'), { port: 5000, peerPort: 5001 });
  for (const bad of ['tcp:5000', 'udp:', 'udp:0', 'udp:70000', 'udp:5000:5000', 'udp:1:2:3', '']) {
    assert.throws(() => parseNicSpec(bad), RewindError, bad);
  }
});

test('two backends on 127.0.0.1 exchange frames both ways', { timeout: 10_000 }, async () => {
  const a = await NetUdpBackend.open({ port: 0 });
  const b = await NetUdpBackend.open({ port: 0, peerPort: a.port });
  a.connect(b.port);
  try {
    const f1 = frame('02:00:00:00:00:02', 100, 1);
    const f2 = frame('02:00:00:00:00:01', 1504, 2); // 1518 bytes: the largest accepted
    const atB = nextFrames(b, 2);
    assert.equal(a.send(f1), true);
    assert.equal(a.send(f2), true);
    const got = await atB;
    assert.deepEqual(got[0], f1);
    assert.deepEqual(got[1], f2);
    const atA = nextFrames(a, 1);
    b.send(f1);
    assert.deepEqual((await atA)[0], f1);
    assert.equal(a.stats.txFrames, 2);
    assert.equal(b.stats.rxFrames, 2);
  } finally {
    await a.close();
    await b.close();
  }
});

test('undersized and oversized datagrams are dropped with a log; the next good frame still arrives', { timeout: 10_000 }, async () => {
  const logger = new MemoryLogger();
  const b = await NetUdpBackend.open({ port: 0, logger });
  const raw = createSocket('udp4');
  await new Promise<void>((r) => raw.bind(0, NET_UDP_HOST, () => r()));
  try {
    const good = frame('02:00:00:00:00:02', 46);
    const arrived = nextFrames(b, 1);
    raw.send(new Uint8Array(5), b.port, NET_UDP_HOST);
    raw.send(new Uint8Array(1600), b.port, NET_UDP_HOST);
    raw.send(good, b.port, NET_UDP_HOST);
    assert.deepEqual((await arrived)[0], good, 'datagrams on loopback arrive in order, so the bad ones were seen first');
    assert.equal(b.stats.rxDropped, 2);
    assert.ok(logger.lines.some((l) => l.includes('datagram of 5 bytes')));
    assert.ok(logger.lines.some((l) => l.includes('datagram of 1600 bytes')));
    // Without a configured peer, the backend replies to the latest sender.
    assert.equal(b.peerPort, (raw.address()).port);
    const reply = new Promise<Buffer>((r) => raw.once('message', (m) => r(m)));
    assert.equal(b.send(good), true);
    assert.deepEqual(new Uint8Array(await reply), good);
    // Bad sizes are not sent either.
    assert.equal(b.send(new Uint8Array(13)), false);
    assert.equal(b.send(new Uint8Array(1519)), false);
    assert.equal(b.stats.txDropped, 2);
  } finally {
    raw.close();
    await b.close();
  }
});

test('a backend with no peer yet drops what it is asked to send; binding a taken port is a RewindError', { timeout: 10_000 }, async () => {
  const a = await NetUdpBackend.open({ port: 0 });
  try {
    assert.equal(a.send(frame('02:00:00:00:00:02', 46)), false);
    await assert.rejects(NetUdpBackend.open({ port: a.port }), (e: unknown) => e instanceof RewindError && /cannot bind UDP/.test(e.message));
    await assert.rejects(async () => NetUdpBackend.open({ port: -1 }), RewindError);
  } finally {
    await a.close();
  }
  assert.equal(a.send(frame('02:00:00:00:00:02', 46)), false, 'closed');
});

/**
 * Glue as the lead wires it: NET_TX outputs go to the backend; frames from
 * the backend come in as NET_RX inputs (the live boundary does this in the
 * real tool). Returns a function that resolves when the next frame has been
 * delivered to the machine.
 */
function wire(h: Harness, b: NetUdpBackend): () => Promise<void> {
  let waiter: (() => void) | null = null;
  h.m.onOutput = (kind, target, data) => {
    if (kind === OUTPUT.NET_TX && target === 0) b.send(data);
  };
  b.onFrame((f) => {
    h.m.deliverInput({ kind: INPUT.NET_RX, icount: h.m.icount, target: 0, data: f, value: 0 });
    const w = waiter;
    waiter = null;
    if (w) w();
  });
  return () => new Promise<void>((r) => (waiter = r));
}

test('two machines with PCnet cards exchange frames over the UDP backend', { timeout: 10_000 }, async () => {
  const macB = Uint8Array.of(0x52, 0x54, 0x00, 0xaa, 0xbb, 0xdd);
  const hA = makeHarness({ mac: MAC });
  const hB = makeHarness({ mac: '52:54:00:aa:bb:dd' });
  bringUp(hA);
  bringUp(hB);
  // bringUp puts the harness MAC in the init block; re-initialise B with its own.
  hB.wcsr(0, 4);
  hB.m.memory.writeBytes(0x10004, macB);
  hB.wcsr(0, 1);
  hB.wcsr(0, 0x42);
  const a = await NetUdpBackend.open({ port: 0 });
  const b = await NetUdpBackend.open({ port: 0, peerPort: a.port });
  a.connect(b.port);
  try {
    const nextAtA = wire(hA, a);
    const nextAtB = wire(hB, b);
    // A sends a frame to B's station address.
    const f = frame(macB, 200, 3);
    const arrivedAtB = nextAtB();
    hA.m.memory.writeBytes(TX_BUFS, f);
    putTx(hA, 2, 0, TX_BUFS, f.length, 0x8300);
    hA.wcsr(0, 0x48);
    await arrivedAtB;
    assert.equal(readRx(hB, 2, 0).status, 0x0340, 'B received it, address-matched');
    assert.deepEqual(hB.m.memory.readBytes(RX_BUFS, f.length), f);
    // B answers with a broadcast; A receives it.
    const g = frame('ff:ff:ff:ff:ff:ff', 64, 9);
    const arrivedAtA = nextAtA();
    hB.m.memory.writeBytes(TX_BUFS, g);
    putTx(hB, 2, 0, TX_BUFS, g.length, 0x8300);
    hB.wcsr(0, 0x48);
    await arrivedAtA;
    assert.equal(readRx(hA, 2, 0).status, 0x0310, 'A received the broadcast');
    assert.deepEqual(hA.m.memory.readBytes(RX_BUFS, g.length), g);
  } finally {
    await a.close();
    await b.close();
  }
});
