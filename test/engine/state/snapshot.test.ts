import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sha256, toHex, Sha256 } from '../../../engine/state/sha256.js';
import { encodeCanonical, cloneState, StateRegistry, computeStateHash, PageDigests, num, bytes, intoTyped, type Snapshotable, type StateRecord } from '../../../engine/state/snapshot.js';
import { PhysMemory } from '../../../engine/memory/phys-memory.js';

test('SHA-256 matches node:crypto for every length around block boundaries', () => {
  for (const len of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4096, 100_003]) {
    const d = new Uint8Array(len);
    for (let i = 0; i < len; i++) d[i] = (i * 131 + len) & 0xff;
    assert.equal(toHex(sha256(d)), createHash('sha256').update(d).digest('hex'), `length ${len}`);
  }
  const s = new Sha256();
  s.update(new Uint8Array([1, 2, 3]));
  s.update(new Uint8Array(100).fill(7));
  const all = new Uint8Array([1, 2, 3, ...new Uint8Array(100).fill(7)]);
  assert.equal(toHex(s.digest()), createHash('sha256').update(all).digest('hex'), 'streaming == one-shot');
});

test('canonical encoding ignores key order and distinguishes types', () => {
  const a = encodeCanonical({ x: 1, y: [true, null, 'hi'], z: new Uint8Array([1, 2]) });
  const b = encodeCanonical({ z: new Uint8Array([1, 2]), y: [true, null, 'hi'], x: 1 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(encodeCanonical({ x: 1 }), encodeCanonical({ x: '1' }));
  assert.notDeepEqual(encodeCanonical(new Uint8Array([1, 0])), encodeCanonical(new Uint16Array([1])));
  assert.deepEqual(encodeCanonical(-0), encodeCanonical(0));
  assert.deepEqual(encodeCanonical(NaN), encodeCanonical(0 / 0));
  assert.equal(new Uint8Array(new Float64Array([1]).buffer)[7], 0x3f, 'host is little-endian, as the encoding assumes');
});

test('cloneState does not alias typed arrays', () => {
  const live = new Uint32Array([1, 2]);
  const c = cloneState({ r: live, n: { k: [live] } } as StateRecord);
  live[0] = 99;
  assert.equal((c['r'] as Uint32Array)[0], 1);
});

class Reg implements Snapshotable {
  readonly stateName: string;
  readonly stateVersion = 2;
  regs = new Uint32Array(4);
  mode = 0;
  constructor(name: string) {
    this.stateName = name;
  }
  saveState(): StateRecord {
    return { regs: this.regs, mode: this.mode };
  }
  loadState(s: StateRecord): void {
    intoTyped(s, 'regs', this.regs);
    this.mode = num(s, 'mode');
  }
}

test('a registry saves and restores every component; bad records fail clearly', () => {
  const r = new StateRegistry();
  const a = new Reg('a');
  const b = new Reg('b');
  r.add(a);
  r.add(b);
  assert.throws(() => r.add(new Reg('a')), /two components are both named "a"/);
  a.regs[1] = 7;
  b.mode = 3;
  const saved = r.save();
  a.regs[1] = 0;
  b.mode = 0;
  r.load(saved);
  assert.equal(a.regs[1], 7);
  assert.equal(b.mode, 3);
  assert.deepEqual(r.save(), saved);
  assert.throws(() => r.load({ a: saved['a']! }), /no state for "b"/);
  assert.throws(() => r.load({ ...saved, a: { v: 9, s: saved['a']!.s } }), /version 9, newer/);
  assert.throws(() => r.load({ ...saved, a: { v: 2, s: { regs: new Uint32Array(3), mode: 0 } } }), /not a Uint32Array\(4\)/);
  assert.throws(() => num({}, 'x'), /"x" is missing/);
  assert.throws(() => bytes({ x: new Uint8Array(2) }, 'x', 3), /not 3 byte/);
});

test('the state hash changes when any register, device field or RAM byte changes', () => {
  const mem = new PhysMemory({ ramBytes: 4 * 1024 * 1024 });
  const pages = new PageDigests(mem);
  const r = new StateRegistry();
  const cpu = new Reg('cpu');
  r.add(cpu);
  const h0 = computeStateHash(r.save(), pages);
  assert.equal(computeStateHash(r.save(), pages), h0, 'stable');
  cpu.regs[3] = 1;
  const h1 = computeStateHash(r.save(), pages);
  assert.notEqual(h1, h0);
  cpu.regs[3] = 0;
  assert.equal(computeStateHash(r.save(), pages), h0, 'equal states, equal hashes');
  for (const addr of [0, 0x1234, 0x3fffff]) {
    mem.write8(addr, 1);
    const h = computeStateHash(r.save(), pages);
    assert.notEqual(h, h0, `byte at 0x${addr.toString(16)}`);
    mem.write8(addr, 0);
    assert.equal(computeStateHash(r.save(), pages), h0, `restoring 0x${addr.toString(16)} restores the hash`);
  }
});

test('page digests are kept incrementally and equal a from-scratch computation', () => {
  const mem = new PhysMemory({ ramBytes: 2 * 1024 * 1024 });
  const inc = new PageDigests(mem);
  inc.refresh();
  for (let i = 0; i < 200; i++) {
    mem.write8((i * 7919 * 13) % mem.ramBytes, i);
    if (i % 50 === 0) inc.refresh();
  }
  inc.refresh();
  const fresh = new PageDigests(mem);
  fresh.refresh();
  assert.deepEqual(inc.digests, fresh.digests);
  const zero = createHash('sha256').update(new Uint8Array(4096)).digest();
  assert.deepEqual(Buffer.from(fresh.digests.subarray(32 * 500, 32 * 501)), zero, 'untouched pages have the zero-page digest');
});
