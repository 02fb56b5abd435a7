/**
 * The network options end to end: the dev-pcnet guest on `--nic udp:PORT`
 * sends a broadcast frame to a harness on 127.0.0.1, the harness answers
 * with a frame, the guest prints it; `--pcap` holds both frames (and
 * tcpdump reads it when installed); the recording replays with the same
 * frames in its own pcap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli, tempDir, GUESTS } from './cli-harness.js';

function reply(): Uint8Array {
  const frame = new Uint8Array(60);
  frame.fill(0xff, 0, 6);
  frame.set([0x02, 0, 0, 0, 0, 1], 6);
  frame.set([0x88, 0xb5], 12);
  const text = 'hello from the cli test';
  for (let i = 0; i < text.length; i++) frame[14 + i] = text.charCodeAt(i);
  return frame;
}

/** pcap frames: [length, bytes] for each record. */
function pcapFrames(path: string): Uint8Array[] {
  const b = readFileSync(path);
  const out: Uint8Array[] = [];
  for (let o = 24; o + 16 <= b.length; ) {
    const len = b.readUInt32LE(o + 8);
    out.push(new Uint8Array(b.subarray(o + 16, o + 16 + len)));
    o += 16 + len;
  }
  return out;
}

test('--nic udp and --pcap: a frame out to a peer on 127.0.0.1 and its answer in; recorded, and replayed with the same frames', async (t) => {
  const dir = tempDir(t);
  const peer = createSocket('udp4');
  await new Promise<void>((res) => peer.bind(0, '127.0.0.1', () => res()));
  t.after(() => peer.close());
  const peerPort = peer.address().port;
  const got: Buffer[] = [];
  peer.on('message', (msg, rinfo) => {
    got.push(msg);
    peer.send(reply(), rinfo.port, '127.0.0.1');
  });
  // Any free port for rewind: bind one, note it, release it (the peer answers whoever sent).
  const probe = createSocket('udp4');
  await new Promise<void>((res) => probe.bind(0, '127.0.0.1', () => res()));
  const port = probe.address().port;
  await new Promise<void>((res) => probe.close(() => res()));

  const pcap = join(dir, 'live.pcap');
  const journal = join(dir, 'net.rwj');
  const r = await runCli(['record', '-o', journal, join(GUESTS, 'dev-pcnet.rom'), '--nic', `udp:${port}:${peerPort}`, '--pcap', pcap, '--mac', '52:54:00:aa:bb:cc']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^pcnet: received 60 bytes: hello from the cli test$/m);
  assert.equal(got.length, 1, 'one frame reached the peer');
  assert.match(got[0]!.toString('latin1'), /hello from a rewind guest/);
  const live = pcapFrames(pcap);
  assert.equal(live.length, 2, 'the frame sent and the frame received');
  const info = await runCli(['info', journal]);
  assert.match(info.stdout, /net-rx 1 \(60 bytes\)/);
  assert.match(info.stdout, /"mac":"52:54:00:aa:bb:cc"/);

  const rpcap = join(dir, 'replay.pcap');
  const rp = await runCli(['replay', journal, '--pcap', rpcap]);
  assert.equal(rp.code, 0, rp.stderr);
  assert.match(rp.stderr, /reproduced the recording/);
  assert.match(rp.stderr, /2 frames to /);
  assert.deepEqual(pcapFrames(rpcap), live, 'the replay sends and receives the same frames');
  assert.deepEqual(readFileSync(rpcap), readFileSync(pcap), 'timestamps too: guest time from the recorded boot date');

  const td = spawnSync('tcpdump', ['-n', '-r', pcap], { encoding: 'utf8' });
  if (td.error) t.diagnostic('tcpdump is not installed: pcap not cross-checked');
  else {
    assert.equal(td.status, 0, td.stderr);
    assert.equal(td.stdout.split('\n').filter((l) => /^\d\d:\d\d/.test(l)).length, 2, td.stdout);
  }
});
