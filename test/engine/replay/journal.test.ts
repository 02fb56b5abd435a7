/**
 * The journal format: standard MessagePack (msgpackr reads it), documented
 * record shapes, compact encoding, strict validation of untrusted bytes
 * (every error a one-line RewindError naming record and byte), truncation
 * at any byte, and a fuzz run of random mutations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unpackMultiple, pack } from 'msgpackr';
import { RewindError } from '../../../engine/errors.js';
import { INPUT } from '../../../engine/replay/boundary.js';
import { MsgWriter, MsgReader, packValue, unpackValue, NEED_MORE, type MsgValue } from '../../../engine/replay/msgpack.js';
import { JournalDecoder, JournalEncoder, MemorySink, decodeJournal, JOURNAL_FORMAT, REC, type JournalHeader } from '../../../engine/replay/journal.js';
import { recordToy, prng } from './toy-session.js';

function header(over: Partial<JournalHeader> = {}): JournalHeader {
  return {
    format: JOURNAL_FORMAT,
    rewind: '0.1.0',
    machine: { ramBytes: 4 << 20, nsPerInstr: 10 },
    clockMode: 'virtual',
    images: [{ name: 'bios.bin', sha256: new Uint8Array(32).fill(7), size: 65536, data: null, compression: 'none' }],
    argv: ['record', '-o', 'x.rwj'],
    bootWallMs: 1767225600000,
    syncShift: 20,
    startIcount: 0,
    fields: ['cpu.*', 'cpu.eax'],
    groupShift: 4,
    ramPages: 1024,
    parent: null,
    snapshot: null,
    ...over,
  };
}

/** Maps come back with a null prototype (no prototype keys from untrusted input): compare as plain objects. */
function plain(v: MsgValue): MsgValue {
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
    const o: { [k: string]: MsgValue } = {};
    for (const k of Object.keys(v)) o[k] = plain(v[k]!);
    return o;
  }
  return v;
}

test('msgpack values round-trip, integers take their shortest form', () => {
  const values: MsgValue[] = [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1, 0.5, NaN, Infinity, '', 'x'.repeat(31), 'é'.repeat(200), 'y'.repeat(70000), true, false, null, new Uint8Array([1, 2, 3]), new Uint8Array(70000), [1, [2, [3]]], { a: 1, b: { c: 'd' } }, new Uint16Array([1, 65535]), new Uint32Array([0xffffffff]), new Int32Array([-5]), new Float64Array([1.5, -0])];
  for (const v of values) {
    const b = packValue(v);
    const back = unpackValue(b, 'test');
    if (typeof v === 'number' && Number.isNaN(v)) assert.ok(Number.isNaN(back as number));
    else assert.deepEqual(plain(back), v);
  }
  assert.equal(packValue(127).length, 1);
  assert.equal(packValue(-32).length, 1);
  assert.equal(packValue(200).length, 2);
  assert.equal(packValue(70000).length, 5);
  // msgpackr writes -0 as the integer 0; no state field depends on the sign of zero
  // (the canonical state encoding folds -0 into 0 too), and typed arrays keep it.
  assert.equal(Object.is(unpackValue(packValue(-0), 'test'), 0), true);
});

test('the writer is msgpackr: its bytes equal msgpackr pack() of the same value', () => {
  const v = [2, 1234, new Uint8Array([104, 105])];
  assert.deepEqual(Buffer.from(packValue(v)), pack(v));
});

test('the reader refuses oversized, deep, duplicate-key and malformed values, and reports truncation as NEED_MORE', () => {
  const r = (b: number[], limits = { maxBytes: 16, maxItems: 4, maxDepth: 2 }) => new MsgReader(new Uint8Array(b), limits).read();
  assert.throws(() => r([0xc4, 17, ...new Array(17).fill(0)]), /17-byte value exceeds the limit of 16 at byte 0/);
  assert.throws(() => r([0x95, 1, 2, 3, 4, 5]), /array of 5 items exceeds/);
  assert.throws(() => r([0x91, 0x91, 0x91, 1]), /nesting deeper than 2/);
  assert.throws(() => r([0x82, 0xa1, 0x61, 1, 0xa1, 0x61, 2]), /duplicate map key "a" at byte 4/);
  assert.throws(() => r([0x81, 1, 2]), /map key is not a string/);
  assert.throws(() => r([0xc1]), /invalid MessagePack type byte 0xc1/);
  assert.throws(() => r([0xa2, 0xff, 0xfe]), /not valid UTF-8/);
  assert.throws(() => r([0xd4, 9, 0]), /unknown extension type 9/);
  assert.throws(() => r([0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0]), /larger than 2\^53/);
  for (const b of [[0xcd, 1], [0xc4, 5, 1, 2], [0x92, 1], [0xdb, 0, 0]]) {
    assert.throws(() => r(b), (e) => e === NEED_MORE);
  }
  // A huge claimed length is refused before allocating anything.
  assert.throws(() => r([0xdd, 0xff, 0xff, 0xff, 0xff], { maxBytes: 16, maxItems: 1 << 20, maxDepth: 4 }), /exceeds the limit/);
});

test('a journal is standard MessagePack: msgpackr reads the same header and records', () => {
  const rec = recordToy({ seed: 31, instructions: 200_000 });
  const all = unpackMultiple(Buffer.from(rec.bytes)) as unknown[];
  const h = all[0] as Record<string, unknown>;
  assert.equal(h['magic'], 'rewind-journal');
  assert.equal(h['format'], JOURNAL_FORMAT);
  assert.equal(all.length, 1 + rec.journal.records);
  const kinds = all.slice(1).map((r) => (r as number[])[0]);
  assert.equal(kinds.filter((k) => k === REC.SYNC).length, rec.journal.syncs.length);
  assert.equal(kinds[kinds.length - 1], REC.END);
  // icounts are deltas: their running sum is the END icount.
  const sum = all.slice(1).reduce<number>((s, r) => s + (r as number[])[1]!, 0);
  assert.equal(sum, rec.journal.end!.icount);
});

test('record shapes: serial [2, d, bin], target omitted for 0; host clock [1, d, dNs]', () => {
  const sink = new MemorySink();
  const enc = new JournalEncoder(sink, header());
  enc.input({ kind: INPUT.SERIAL, icount: 10, target: 0, data: new Uint8Array([0x61]), value: 0 });
  enc.input({ kind: INPUT.NET_RX, icount: 300, target: 2, data: new Uint8Array(60), value: 0 });
  enc.input({ kind: INPUT.HOST_CLOCK, icount: 300, target: 0, data: null, value: 5_000_000 });
  enc.input({ kind: INPUT.HOST_CLOCK, icount: 400, target: 0, data: null, value: 6_000_000 });
  enc.end(1000, new Uint8Array(32), new Uint8Array(16));
  const all = unpackMultiple(Buffer.from(sink.bytes())) as unknown[];
  assert.deepEqual(all.slice(1, 5).map((r) => (r as unknown[]).map((x) => (x instanceof Uint8Array ? x.length : x))), [
    [2, 10, 1],
    [4, 290, 60, 2],
    [1, 0, 5_000_000],
    [1, 100, 1_000_000],
  ]);
  const j = decodeJournal(sink.bytes());
  assert.deepEqual(j.events.map((e) => [e.kind, e.icount, e.target, e.value]), [
    [2, 10, 0, 0],
    [4, 300, 2, 0],
    [1, 300, 0, 5_000_000],
    [1, 400, 0, 6_000_000],
  ]);
  assert.equal(j.end!.icount, 1000);
  assert.equal(j.truncated, null);
  // serial 1 byte: 6 bytes; 60-byte frame to NIC 2 after 290 instructions: 68; host clock samples: 8 each.
  assert.equal(enc.inputBytes, 6 + 68 + 8 + 8);
});

test('input records average well under 64 bytes', () => {
  const rec = recordToy({ seed: 17, instructions: 400_000, clockMode: 'host' });
  const enc = rec.rec.encoder;
  const perEvent = enc.inputBytes / enc.inputEvents;
  const frames = rec.journal.events.filter((e) => e.kind === INPUT.NET_RX);
  const payload = frames.reduce((n, e) => n + e.data!.length, 0);
  const overhead = (enc.inputBytes - payload) / enc.inputEvents;
  assert.ok(overhead < 16, `overhead per event ${overhead.toFixed(1)} bytes`);
  assert.ok(rec.journal.events.length > 0 && perEvent > 0);
});

test('header problems are one-line RewindErrors naming the problem', () => {
  const enc = (h: JournalHeader) => {
    const w = new MsgWriter();
    w.value(h as unknown as MsgValue);
    return w.bytes().slice();
  };
  const withMagic = (h: Record<string, MsgValue>) => packValue({ magic: 'rewind-journal', ...h });
  assert.throws(() => decodeJournal(new Uint8Array(0)), /journal is empty/);
  assert.throws(() => decodeJournal(packValue([1, 2])), /not a map/);
  assert.throws(() => decodeJournal(packValue({ magic: 'nope' })), /wrong magic/);
  assert.throws(() => decodeJournal(withMagic({ format: 99 })), /format version 99 is not supported \(this rewind reads version 1\)/);
  const good = header();
  assert.throws(() => decodeJournal(packValue({ magic: 'rewind-journal', ...(good as unknown as Record<string, MsgValue>), clockMode: 'sundial' })), /unknown clock mode "sundial"/);
  assert.throws(() => decodeJournal(packValue({ magic: 'rewind-journal', ...(good as unknown as Record<string, MsgValue>), syncShift: 2 })), /syncShift/);
  assert.throws(() => decodeJournal(enc(good).subarray(0, 20)), /header is truncated/);
  assert.throws(() => new JournalEncoder(new MemorySink(), { ...good, syncShift: 99 }), (e: unknown) => e instanceof RewindError && /syncShift/.test(e.message));
});

test('record problems name the record number and byte offset', () => {
  const base = new MemorySink();
  new JournalEncoder(base, header());
  const h = base.bytes();
  const withRecords = (...recs: MsgValue[]) => {
    const parts = [h, ...recs.map((r) => packValue(r))];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const err = (b: Uint8Array): string => {
    try {
      decodeJournal(b);
    } catch (e) {
      assert.ok(e instanceof RewindError);
      assert.ok(!e.message.includes('\n'));
      return e.message;
    }
    return 'no error';
  };
  assert.match(err(withRecords([99, 1])), new RegExp(`unknown record kind 99 \\(record 0, byte ${h.length}\\)`));
  assert.match(err(withRecords([2, 1, new Uint8Array([1])], 'x')), /record is not an array .*\(record 1, byte/);
  assert.match(err(withRecords([2, -1, new Uint8Array([1])])), /icount delta is not a non-negative integer/);
  assert.match(err(withRecords([2, 1, 'abc'])), /serial payload is not binary/);
  assert.match(err(withRecords([2, 1, new Uint8Array(0)])), /serial payload of 0 bytes/);
  assert.match(err(withRecords([2, 1, new Uint8Array(1), 0])), /target is not an integer in \[1, 255\]/);
  assert.match(err(withRecords([1, 1, 0.5])), /host-clock delta is not an integer/);
  assert.match(err(withRecords([16, 5, new Uint8Array(32), new Uint8Array(16), new Uint8Array(0), new Uint8Array(0)])), /not a multiple of 2\^20/);
  assert.match(err(withRecords([16, 2 ** 20, new Uint8Array(31), new Uint8Array(16), new Uint8Array(0), new Uint8Array(0)])), /SYNC state hash is 31 bytes, expected 32/);
  assert.match(err(withRecords([16, 2 ** 20, new Uint8Array(32), new Uint8Array(16), new Uint8Array([9, 0, 0, 0, 0, 0]), new Uint8Array(0)])), /field slot the header does not have/);
  const badGroup = new Uint8Array(12);
  badGroup[0] = 200;
  assert.match(err(withRecords([16, 2 ** 20, new Uint8Array(32), new Uint8Array(16), new Uint8Array(0), badGroup])), /RAM group beyond the machine RAM/);
  assert.match(err(withRecords([17, 1, new Uint8Array(32), new Uint8Array(16)], [2, 1, new Uint8Array(1)])), /data after the END record/);
});

test('a journal cut at any byte reads up to its last whole record and says it is truncated', () => {
  const rec = recordToy({ seed: 23, instructions: 60_000, syncShift: 12 });
  const full = rec.bytes;
  const hlen = rec.journal.headerBytes.length;
  let lastRecords = -1;
  for (let cut = hlen; cut < full.length; cut += 1 + (cut % 7)) {
    const j = decodeJournal(full.subarray(0, cut));
    assert.ok(j.truncated !== null, `cut at ${cut} is reported`);
    assert.equal(j.end, null);
    assert.ok(j.records >= lastRecords, 'monotonic');
    lastRecords = j.records;
    // What was read is a prefix of the full journal.
    for (let i = 0; i < j.events.length; i++) assert.equal(j.events[i]!.icount, rec.journal.events[i]!.icount);
  }
  for (let cut = 0; cut < hlen; cut += 13) assert.throws(() => decodeJournal(full.subarray(0, cut)), RewindError);
});

test('streaming in chunks of any size gives the same contents', () => {
  const rec = recordToy({ seed: 29, instructions: 100_000 });
  for (const size of [1, 7, 64, 4096]) {
    const d = new JournalDecoder();
    for (let o = 0; o < rec.bytes.length; o += size) d.push(rec.bytes.subarray(o, o + size));
    const j = d.finish();
    assert.equal(j.records, rec.journal.records);
    assert.equal(j.events.length, rec.journal.events.length);
    assert.deepEqual(j.end, rec.journal.end);
    assert.equal(j.truncated, null);
  }
});

test('fuzz: random mutations and truncations of a real journal only ever raise RewindError, quickly', () => {
  const rec = recordToy({ seed: 37, instructions: 80_000, syncShift: 12, inputEvery: 2000 });
  const base = rec.bytes;
  const rnd = prng(99);
  let errors = 0;
  let ok = 0;
  for (let iter = 0; iter < 3000; iter++) {
    const b = base.slice();
    const n = 1 + Math.floor(rnd() * 6);
    for (let k = 0; k < n; k++) {
      const at = Math.floor(rnd() * b.length);
      const op = rnd();
      if (op < 0.5) b[at] = Math.floor(rnd() * 256);
      else if (op < 0.7) b[at] ^= 1 << Math.floor(rnd() * 8);
      else if (op < 0.85) b[at] = [0xc0, 0xc1, 0xdd, 0xdf, 0xc6, 0xcf, 0xd3, 0xff, 0x7f, 0x00][Math.floor(rnd() * 10)]!;
      else b.fill(0xff, at, Math.min(b.length, at + 5));
    }
    const cut = rnd() < 0.3 ? Math.floor(rnd() * b.length) : b.length;
    try {
      const j = decodeJournal(b.subarray(0, cut));
      assert.ok(j.records >= 0);
      ok++;
    } catch (e) {
      if (!(e instanceof RewindError)) throw new Error(`iteration ${iter}: non-RewindError ${String(e)}`);
      assert.ok(!e.message.includes('\n'));
      errors++;
    }
  }
  assert.ok(errors > 100 && ok > 10, `both outcomes happen (errors ${errors}, ok ${ok})`);
});
