/**
 * Robustness: a seeded storm of random register accesses (in word and in
 * dword I/O mode), random guest memory under the rings, well-formed and
 * random descriptors, and random frames never throws, never hangs, and is
 * deterministic (the same seed gives the same machine state hash).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHarness, bringUp, giveRx, putTx, IO, frame, MAC, TX_BUFS, BUF_STRIDE, type Harness } from './pcnet-harness.js';

function xorshift(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

export function storm(seed: number, steps: number, dwio: boolean): Harness {
  const h = makeHarness();
  const rnd = xorshift(seed);
  let style: 0 | 2 | 3 = 2;
  let nRx = 8;
  let nTx = 8;
  bringUp(h, { log2Rx: 3, log2Tx: 3 });
  const p = h.m.ports;
  const mem = h.m.memory;
  if (dwio) p.out32(IO + 0x10, 0);
  const rap = dwio ? 0x14 : 0x12;
  const wcsr = (n: number, v: number): void => {
    if (dwio) {
      p.out32(IO + rap, n);
      p.out32(IO + 0x10, v);
    } else h.wcsr(n, v);
  };
  const wbcr = (n: number, v: number): void => {
    if (dwio) {
      p.out32(IO + rap, n);
      p.out32(IO + 0x1c, v);
    } else h.wbcr(n, v);
  };
  for (let i = 0; i < steps; i++) {
    const r = rnd();
    switch (r % 12) {
      case 0: // scribble on the rings, the init block or the buffers
        mem.write32(0x10000 + (rnd() % 0x3000), rnd());
        break;
      case 1:
      case 2:
        h.rx(frame(rnd() & 1 ? MAC : 'ff:ff:ff:ff:ff:ff', rnd() % 1600, r));
        break;
      case 3: {
        const csrs = [0, 0, 0, 1, 2, 3, 4, 5, 8, 15, 47, 58, 72, 74, 76, 78, 112, 124];
        wcsr(csrs[rnd() % csrs.length]!, rnd() & 0xffff);
        break;
      }
      case 4:
        wbcr(rnd() % 40, rnd() & 0xffff);
        break;
      case 5:
        p.out16(IO + rap, rnd() & 0x7f);
        p.in16(IO + 0x10);
        p.in32(IO + (rnd() % 8) * 4);
        break;
      case 6:
        if ((rnd() & 7) === 0) p.in16(IO + 0x14), p.in32(IO + 0x18); // S_RESET in either mode
        break;
      case 7:
        h.m.run(rnd() % 300_000); // poll timer
        break;
      case 8: {
        const slot = rnd() % nTx;
        const len = 1 + (rnd() % 1600);
        const stp = rnd() & 3 ? 0x0200 : 0;
        const enp = rnd() & 3 ? 0x0100 : 0;
        putTx(h, style, slot, TX_BUFS + slot * BUF_STRIDE, len, 0x8000 | stp | enp);
        break;
      }
      case 9:
        giveRx(h, style, rnd() % nRx, 64 + (rnd() % 1600));
        break;
      case 10:
        wcsr(0, 0x0048);
        break;
      default:
        if (!dwio && (rnd() & 15) === 0) {
          style = ([0, 2, 3] as const)[rnd() % 3]!;
          const lr = rnd() % 4;
          const lt = rnd() % 4;
          nRx = 1 << lr;
          nTx = 1 << lt;
          bringUp(h, { log2Rx: lr, log2Tx: lt, style });
        } else wcsr(0, (rnd() & 3) === 0 ? 0x0043 : rnd() & 0x7f7f); // often a restart: INIT | STRT | IENA
    }
  }
  return h;
}

test('a seeded storm of register writes, descriptors, memory scribbles and frames never throws and is deterministic', () => {
  let sent = 0;
  let received = 0;
  for (const dwio of [false, true]) {
    for (const seed of [1, 2, 3, 0xdecafbad]) {
      const a = storm(seed, 3000, dwio);
      const b = storm(seed, 3000, dwio);
      assert.equal(a.m.stateHash(), b.m.stateHash(), `seed ${seed}`);
      assert.deepEqual(a.sent(), b.sent());
      sent += a.sent().length;
      received += a.nic.stats.rxFrames;
      const s = a.nic.saveState();
      a.nic.loadState(s);
      assert.deepEqual(a.nic.saveState(), s);
    }
  }
  // The storm must actually move frames, or it tests nothing.
  assert.ok(sent > 50, `frames sent: ${sent}`);
  assert.ok(received > 50, `frames received: ${received}`);
});
