/**
 * The pcap writer: byte layout of the classic format, guest-time timestamps,
 * and a file that Debian's tcpdump opens (skipped with a message if tcpdump
 * is not installed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PcapWriter, pcapGlobalHeader, pcapRecord, PCAP_MAGIC, LINKTYPE_ETHERNET } from '../../../engine/host/pcap.js';
import { RewindError } from '../../../engine/errors.js';
import { makeHarness, bringUp, frame, putTx, TX_BUFS, MAC } from '../devices/pcnet-harness.js';

function arp(): Uint8Array {
  // An ARP request from 52:54:00:aa:bb:cc (10.0.2.15) for 10.0.2.2.
  const f = new Uint8Array(42);
  f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc, 0x08, 0x06], 0);
  f.set([0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01], 14);
  f.set([0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc, 10, 0, 2, 15], 22);
  f.set([0, 0, 0, 0, 0, 0, 10, 0, 2, 2], 32);
  return f;
}

test('global header and records follow the classic libpcap layout', () => {
  const h = new DataView(pcapGlobalHeader().buffer);
  assert.equal(h.getUint32(0, true), PCAP_MAGIC);
  assert.equal(h.getUint16(4, true), 2);
  assert.equal(h.getUint16(6, true), 4);
  assert.equal(h.getUint32(16, true), 65535);
  assert.equal(h.getUint32(20, true), LINKTYPE_ETHERNET);
  const f = arp();
  const r = pcapRecord(3_000_123_456, f);
  const v = new DataView(r.buffer);
  assert.equal(v.getUint32(0, true), 3, 'seconds');
  assert.equal(v.getUint32(4, true), 123, 'microseconds (truncated)');
  assert.equal(v.getUint32(8, true), 42);
  assert.equal(v.getUint32(12, true), 42);
  assert.deepEqual(r.subarray(16), f);
  const cut = pcapRecord(0, new Uint8Array(100), 64);
  assert.equal(new DataView(cut.buffer).getUint32(8, true), 64, 'captured length capped by snaplen');
  assert.equal(new DataView(cut.buffer).getUint32(12, true), 100, 'original length kept');
  assert.throws(() => pcapRecord(-1, f), RewindError);
  assert.throws(() => pcapRecord(NaN, f), RewindError);
});

test('a base time dates the capture (e.g. the recorded boot wall clock) and bad options are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rewind-pcap-'));
  try {
    const path = join(dir, 'b.pcap');
    const bootMs = 1767225600000; // 2026-01-01T00:00:00Z
    const w = PcapWriter.create(path, { baseNs: bootMs * 1e6, snaplen: 128 });
    w.write(1_500_000, arp());
    w.close();
    const b = readFileSync(path);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    assert.equal(v.getUint32(16, true), 128, 'snaplen in the header');
    assert.equal(v.getUint32(24, true), bootMs / 1000);
    assert.equal(v.getUint32(28, true), 1500);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => PcapWriter.create('/tmp/x.pcap', { snaplen: 10 }), RewindError);
  assert.throws(() => PcapWriter.create('/tmp/x.pcap', { baseNs: -1 }), RewindError);
});

test('an unwritable path is a RewindError naming the file', () => {
  assert.throws(() => PcapWriter.create('/nonexistent-dir/x.pcap'), (e: unknown) => e instanceof RewindError && e.message.includes('/nonexistent-dir/x.pcap'));
  assert.throws(() => PcapWriter.create(''), RewindError);
});

test('the NIC tap writes a pcap with guest-time stamps that tcpdump -r reads', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rewind-pcap-'));
  try {
    const path = join(dir, 'net.pcap');
    const w = PcapWriter.create(path);
    const h = makeHarness();
    h.nic.tap = (_dir, f, ns) => w.write(ns, f);
    bringUp(h);
    h.m.run(1_000_000); // 10 ms of guest time
    const a = arp();
    h.m.memory.writeBytes(TX_BUFS, a);
    putTx(h, 2, 0, TX_BUFS, a.length, 0x8300);
    h.wcsr(0, 0x48);
    h.m.run(250_000);
    h.rx(frame(MAC, 50, 1));
    w.close();
    w.write(0, a); // ignored after close
    assert.equal(w.frames, 2);
    const bytes = readFileSync(path);
    assert.equal(bytes.length, 24 + 16 + 60 + 16 + 64);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const txNs = h.boundary.outputs.at(-1)!.icount * 10;
    assert.equal(v.getUint32(24, true) * 1e6 + v.getUint32(28, true), Math.floor(txNs / 1000), 'timestamp is the guest time of the transmit');
    // Same run again: the file is byte-identical (timestamps do not depend on the host).
    const path2 = join(dir, 'net2.pcap');
    const w2 = PcapWriter.create(path2);
    const h2 = makeHarness();
    h2.nic.tap = (_dir, f, ns) => w2.write(ns, f);
    bringUp(h2);
    h2.m.run(1_000_000);
    h2.m.memory.writeBytes(TX_BUFS, a);
    putTx(h2, 2, 0, TX_BUFS, a.length, 0x8300);
    h2.wcsr(0, 0x48);
    h2.m.run(250_000);
    h2.rx(frame(MAC, 50, 1));
    w2.close();
    assert.deepEqual(readFileSync(path2), bytes);

    const probe = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      t.skip('tcpdump is not installed (apt-get install tcpdump); the file layout was still checked above');
      return;
    }
    const r = spawnSync('tcpdump', ['-r', path, '-nn', '-e', '-tt'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `tcpdump failed: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2, r.stdout);
    assert.match(lines[0]!, /^0\.010\d+ 52:54:00:aa:bb:cc > ff:ff:ff:ff:ff:ff, ethertype ARP \(0x0806\), length 60: Request who-has 10\.0\.2\.2 tell 10\.0\.2\.15/);
    assert.match(lines[1]!, /02:00:00:00:00:01 > 52:54:00:aa:bb:cc, ethertype IPv4 \(0x0800\), length 64/);
    assert.match(r.stderr, /link-type EN10MB/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
