import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketDecoder, encodePacket, unescapePayload, escapePayload, runLengthEncode, checksum, fromHexBytes, toHexBytes, hexLe32, type FrameEvent } from '../../../debugger/gdb/packets.js';

function decodeAll(bytes: Uint8Array, max?: number): FrameEvent[] {
  const d = new PacketDecoder(max);
  const out: FrameEvent[] = [];
  d.feed(bytes, (e) => out.push(e));
  return out;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('round-trips every byte value through escaping, run-length encoding and checksums', () => {
  const r = rng(7);
  for (let i = 0; i < 300; i++) {
    let payload = '';
    const n = Math.floor(r() * 200);
    for (let j = 0; j < n; j++) {
      // Long runs exercise run-length encoding, including counts 6 and 7 ('#', '$').
      const c = String.fromCharCode(Math.floor(r() * 256));
      payload += r() < 0.2 ? c.repeat(1 + Math.floor(r() * 12)) : c;
    }
    for (const rle of [false, true]) {
      const evs = decodeAll(encodePacket(payload, rle));
      assert.deepEqual(evs, [{ type: 'packet', data: payload }]);
    }
  }
});

test('escaping and run-length encoding follow the protocol', () => {
  assert.equal(escapePayload('a$b#c}d*e'), 'a}\x04b}\x03c}]d}\x0ae');
  assert.equal(runLengthEncode('0000000000'), '0*&'); // 9 extra copies -> 9+29 = 38 = '&'
  // 6 or 7 extra copies would make '#' or '$': split instead.
  for (const n of [7, 8]) {
    const enc = runLengthEncode('x'.repeat(n));
    assert.ok(!enc.includes('#') && !enc.includes('$'), enc);
    assert.equal(unescapePayload(Buffer.from(enc, 'latin1')), 'x'.repeat(n));
  }
  assert.equal(Buffer.from(encodePacket('OK')).toString('latin1'), '$OK#9a');
  assert.equal(checksum('OK'), 0x9a);
  assert.deepEqual(unescapePayload(Buffer.from('*a')), { error: 'run-length marker "*" with nothing to repeat' });
  assert.ok(typeof unescapePayload(Buffer.from('ab}')) === 'object');
});

test('acks, nacks, Ctrl-C and garbage between packets', () => {
  const evs = decodeAll(Buffer.from('+junk\x03-$g#67\r\n+$?#3f', 'latin1'));
  assert.deepEqual(
    evs.map((e) => e.type),
    ['ack', 'interrupt', 'nack', 'packet', 'ack', 'packet'],
  );
  const d = new PacketDecoder();
  d.feed(Buffer.from('xx$'), () => {});
  assert.equal(d.garbageBytes, 2);
});

test('packets split across chunks at every position decode the same', () => {
  const wire = Buffer.concat([encodePacket('m1000,40'), Buffer.from('+'), encodePacket('Z0,100044,1')]);
  for (let cut = 0; cut <= wire.length; cut++) {
    const d = new PacketDecoder();
    const out: FrameEvent[] = [];
    d.feed(wire.subarray(0, cut), (e) => out.push(e));
    d.feed(wire.subarray(cut), (e) => out.push(e));
    assert.deepEqual(out, [{ type: 'packet', data: 'm1000,40' }, { type: 'ack' }, { type: 'packet', data: 'Z0,100044,1' }]);
  }
});

test('bad checksums, bad digits, interrupted and oversized packets are reported, then decoding recovers', () => {
  const evs = decodeAll(Buffer.from('$g#00$g#zz$abc$g#67', 'latin1'));
  assert.deepEqual(evs.map((e) => (e.type === 'bad' ? e.reason.split(' ')[0] : e.type)), ['checksum', 'malformed', 'packet', 'packet']);
  const big = Buffer.concat([Buffer.from('$'), Buffer.alloc(500, 0x61), Buffer.from('#00'), encodePacket('?')]);
  const ev2 = decodeAll(big, 100);
  assert.equal(ev2.length, 2);
  assert.equal(ev2[0]!.type, 'bad');
  assert.match((ev2[0] as { reason: string }).reason, /longer than 100/);
  assert.deepEqual(ev2[1], { type: 'packet', data: '?' });
});

test('fuzz: random bytes never throw, and a valid packet after them always decodes', () => {
  const r = rng(99);
  for (let i = 0; i < 2000; i++) {
    const n = Math.floor(r() * 300);
    const junk = new Uint8Array(n);
    for (let j = 0; j < n; j++) junk[j] = r() < 0.1 ? [0x24, 0x23, 0x7d, 0x2a, 0x2b, 0x2d, 0x03][Math.floor(r() * 7)]! : Math.floor(r() * 256);
    const d = new PacketDecoder(256);
    const evs: FrameEvent[] = [];
    d.feed(junk, (e) => evs.push(e));
    // Terminate whatever packet may be open, then send a real one.
    d.feed(Buffer.from('#00'), () => {});
    const after: FrameEvent[] = [];
    d.feed(encodePacket('vCont?'), (e) => after.push(e));
    assert.deepEqual(after[after.length - 1], { type: 'packet', data: 'vCont?' }, `iteration ${i}`);
  }
});

test('hex helpers', () => {
  assert.equal(toHexBytes(Uint8Array.of(0, 0xab, 0xff)), '00abff');
  assert.deepEqual(fromHexBytes('00ABff'), Uint8Array.of(0, 0xab, 0xff));
  assert.equal(fromHexBytes('0'), null);
  assert.equal(fromHexBytes('zz'), null);
  assert.equal(hexLe32(0x12345678), '78563412');
});
