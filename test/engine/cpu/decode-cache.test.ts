/**
 * The decoded-instruction cache (engine/cpu/decode/decode-cache.ts) changes
 * how often an instruction is parsed, never what it does:
 *  - random instruction streams (biased to the pre-decoded families, with
 *    prefixes, every ModRM/SIB form, stores into the code itself) end in the
 *    same state with the cache on and off, through run() and through step();
 *  - self-modifying code is seen at once: a patched immediate, a page that
 *    was written through the TLB before it held code, DMA-style writes;
 *  - a page where code and data are written together stops being cached for
 *    a while and still runs exactly; code patched now and then stays cached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { protectedMode, type TestMachine } from './helpers.js';
import { rng, randomCode, setupRandom as setup } from './random-code.js';
import { DC_THRASH_WINDOW, DC_NOCACHE_SPAN } from '../../../engine/cpu/decode/decode-cache.js';

const CODE = 0x10000;

function fingerprint(t: TestMachine): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(t.cpu.saveState(), (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v)));
  h.update(t.m.memory.mem.subarray(0, 4 << 20));
  return h.digest('hex');
}

for (const bits of [32, 16] as const) {
  test(`decode cache: random ${bits}-bit code ends in the same state with the cache on and off (run and step)`, () => {
    let cachedSlots = 0;
    let compiled = 0;
    for (let round = 0; round < 60; round++) {
      const code = randomCode(rng(round * 7919 + bits), 3000, bits);
      const states: string[] = [];
      for (const [mode, on, blocks] of [['run', false, 0], ['run', true, 0], ['step', false, 0], ['step', true, 0], ['run', true, 1]] as const) {
        const t = setup(bits, code, rng(round + 1));
        t.cpu.decodeCacheEnabled = on;
        t.cpu.blockThreshold = blocks;
        // Loop over the code a few times so that cached slots are reused.
        const loops = bits === 32 ? 3 : 2;
        for (let l = 0; l < loops; l++) {
          const target = t.cpu.icount + 700;
          if (mode === 'step') {
            // step() also returns after delivering an event: step until the same icount
            for (let i = 0; i < 5000 && t.cpu.icount < target && !t.cpu.stopRequested; i++) t.cpu.step();
          } else t.cpu.run(target);
        }
        if (on) cachedSlots += t.cpu.dcTag32.filter((x) => x >= 0).length + t.cpu.dcTag16.filter((x) => x >= 0).length;
        if (blocks) compiled += t.cpu.dcBlk.filter((b) => b !== null).length;
        states.push(`${t.cpu.icount} ${fingerprint(t)}`);
      }
      assert.equal(states[1], states[0], `round ${round}: run() with the cache differs from the byte-fetching path`);
      assert.equal(states[3], states[2], `round ${round}: step() with the cache differs from the byte-fetching path`);
      assert.equal(states[4], states[0], `round ${round}: run() with compiled blocks differs from the byte-fetching path`);
    }
    assert.ok(cachedSlots > 1000, `the cache was used (${cachedSlots} slots filled)`);
    assert.ok(compiled > 100, `blocks were compiled (${compiled})`);
  });
}

/** Little 32-bit assembler helpers for the hand-written guests below. */
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

test('compiled blocks: branches inside a block and loops back to its start stop at every icount exactly', () => {
  // 10000: mov ecx,60 / L: test cl,1 / jz E / add eax,ecx / jmp J / E: sub ebx,ecx / J: mov [12000],eax / dec ecx / jnz L / hlt
  const code = [0xb9, ...le32(60), 0xf6, 0xc1, 0x01, 0x74, 0x04, 0x01, 0xc8, 0xeb, 0x02, 0x29, 0xcb, 0x89, 0x05, ...le32(CODE + 0x2000), 0x49, 0x75, 0xec, 0xf4];
  const a = protectedMode(new Uint8Array(code));
  const b = protectedMode(new Uint8Array(code));
  a.cpu.blockThreshold = 1; // compile at the first execution
  b.cpu.blockThreshold = 0; // never
  const r = rng(5);
  let steps = 0;
  while (!b.cpu.halted && steps++ < 2000) {
    const stop = b.cpu.icount + 1 + ((r() * 9) | 0);
    a.cpu.run(stop);
    b.cpu.run(stop);
    assert.equal(a.cpu.icount, b.cpu.icount);
    assert.equal(fingerprint(a), fingerprint(b), `state at icount ${b.cpu.icount}`);
  }
  assert.equal(a.cpu.halted, true);
  assert.equal(a.cpu.reg32[0], 30 * 30); // the odd counts 59..1
  assert.equal(a.cpu.reg32[3], -(30 * 31)); // the even counts 60..2
  assert.ok(a.cpu.dcBlk.some((f) => f !== null), 'blocks were compiled');
});

test('decode cache: a loop that patches its own immediate sees the new value at once', () => {
  // 10000: mov ecx,3 / 10005: mov eax,0x11111111 / add ebx,eax / mov dword [10006],0x22222222 / dec ecx / jnz 10005 / hlt
  const code = [0xb9, ...le32(3), 0xb8, ...le32(0x11111111), 0x01, 0xc3, 0xc7, 0x05, ...le32(CODE + 6), ...le32(0x22222222), 0x49];
  code.push(0x75, (CODE + 5 - (CODE + code.length + 2)) & 0xff, 0xf4);
  for (const on of [true, false]) {
    const t = protectedMode(new Uint8Array(code));
    t.cpu.decodeCacheEnabled = on;
    t.cpu.reg32[3] = 0;
    t.cpu.run(t.cpu.icount + 100);
    assert.equal(t.cpu.halted, true);
    assert.equal(t.cpu.reg32[3]! >>> 0, 0x55555555, `cache ${on ? 'on' : 'off'}`);
  }
});

test('decode cache: a page written through the TLB before it held code is invalidated when written again', () => {
  const P = 0x20000;
  const code: number[] = [];
  const movByte = (addr: number, v: number): void => void code.push(0xc6, 0x05, ...le32(addr), v);
  const call = (target: number): void => {
    const next = CODE + code.length + 5;
    code.push(0xe8, ...le32((target - next) | 0));
  };
  movByte(P, 0x40); // inc eax   (fills a TLB write entry for the page)
  movByte(P + 1, 0xc3); // ret
  call(P); // the page now holds decoded code
  movByte(P, 0x48); // dec eax: must reach the code
  call(P);
  movByte(P, 0x40);
  call(P);
  call(P);
  code.push(0xf4);
  const t = protectedMode(new Uint8Array(code));
  t.cpu.reg32[0] = 0;
  t.cpu.run(t.cpu.icount + 100);
  assert.equal(t.cpu.halted, true);
  assert.equal(t.cpu.reg32[0], 2); // +1 -1 +1 +1
  assert.equal(t.m.memory.codePages[P >>> 12], 1, 'the page holds decoded code again');
});

test('decode cache: code rewritten from outside the CPU (DMA, loaders) runs as written', () => {
  const t = protectedMode(new Uint8Array([0xb8, ...le32(1), 0xf4])); // mov eax,1 / hlt
  t.cpu.run(t.cpu.icount + 10);
  assert.equal(t.cpu.reg32[0], 1);
  t.m.memory.writeBytes(CODE + 1, new Uint8Array(le32(7)));
  t.cpu.halted = false;
  t.cpu.eip = CODE;
  t.cpu.run(t.cpu.icount + 10);
  assert.equal(t.cpu.reg32[0], 7);
});

test('decode cache: a page where code and data are written together stops being cached and stays exact', () => {
  // 10000: mov ecx,200 / L: add dword [10800],ecx / dec ecx / jnz L / mov eax,[10800] / hlt
  const code = [0xb9, ...le32(200), 0x01, 0x0d, ...le32(CODE + 0x800), 0x49, 0x75, 0xf7, 0xa1, ...le32(CODE + 0x800), 0xf4];
  const t = protectedMode(new Uint8Array(code));
  t.cpu.run(t.cpu.icount + 2000);
  assert.equal(t.cpu.halted, true);
  assert.equal(t.cpu.reg32[0], (200 * 201) / 2);
  assert.equal(t.cpu.dcNoCache[CODE >>> 12], 1, 'the page is no longer cached');
});

test('decode cache: code patched now and then (Linux patching its text) stays cached; an uncached page is tried again later', () => {
  // 10000: mov ebx,40 / O: mov ecx,N / I: dec ecx / jnz I / add dword [10800],ebx / dec ebx / jnz O / mov eax,[10800] / hlt
  // Each store drops the page's decoded code, but the stores are DC_THRASH_WINDOW+ instructions apart.
  const n = (DC_THRASH_WINDOW >> 1) + 10;
  const code = [0xbb, ...le32(40), 0xb9, ...le32(n), 0x49, 0x75, 0xfd, 0x01, 0x1d, ...le32(CODE + 0x800), 0x4b, 0x75, 0xef, 0xa1, ...le32(CODE + 0x800), 0xf4];
  const t = protectedMode(new Uint8Array(code));
  t.cpu.run(t.cpu.icount + 50 * 2 * n);
  assert.equal(t.cpu.halted, true);
  assert.equal(t.cpu.reg32[0], (40 * 41) / 2);
  assert.equal(t.cpu.dcNoCache[CODE >>> 12], 0, 'stores far apart do not make the page uncached');
  assert.equal(t.m.memory.codePages[CODE >>> 12], 1);

  // A page that thrashes is uncached for DC_NOCACHE_SPAN instructions, then cached again.
  // 10000: L: add dword [10800],ecx / jmp L
  const u = protectedMode(new Uint8Array([0x01, 0x0d, ...le32(CODE + 0x800), 0xeb, 0xf8]));
  u.cpu.run(u.cpu.icount + 1000);
  assert.equal(u.cpu.dcNoCache[CODE >>> 12], 1, 'the thrashing page is no longer cached');
  const until = u.cpu.dcWriteAt[CODE >>> 12]!;
  assert.ok(until > u.cpu.icount && until <= u.cpu.icount + DC_NOCACHE_SPAN);
  u.cpu.run(until - 1);
  assert.equal(u.cpu.dcNoCache[CODE >>> 12], 1);
  u.cpu.run(until + 2);
  assert.equal(u.cpu.dcNoCache[CODE >>> 12], 0, 'and is tried again');
  assert.equal(u.m.memory.codePages[CODE >>> 12], 1);
  u.cpu.run(u.cpu.icount + 1000);
  assert.equal(u.cpu.dcNoCache[CODE >>> 12], 1, 'it thrashes again, so it is uncached again');
});

test('decode cache: a snapshot restore runs the restored code, not what was cached', () => {
  const t = protectedMode(new Uint8Array([0xb8, ...le32(1), 0xf4]));
  const snap = t.m.snapshot();
  t.cpu.run(t.cpu.icount + 10);
  assert.equal(t.cpu.reg32[0], 1);
  // Different code at the same address, then back to the snapshot's bytes.
  t.m.memory.mem.set(le32(5), CODE + 1); // a raw write, as a restore does
  t.m.restore(snap);
  t.cpu.run(t.cpu.icount + 10);
  assert.equal(t.cpu.reg32[0], 1);
});

test('decode cache: restores that rewrite a code page (seeks) do not make it uncached', () => {
  const t = protectedMode(new Uint8Array([0xb8, ...le32(1), 0xf4]));
  const snap = t.m.snapshot();
  for (let i = 0; i < 40; i++) {
    t.cpu.run(t.cpu.icount + 10);
    assert.equal(t.cpu.reg32[0], 1);
    t.m.memory.writeBytes(CODE + 1, new Uint8Array(le32(100 + i))); // outside run(): not the guest's store
    t.m.restore(snap);
  }
  assert.equal(t.cpu.dcNoCache[CODE >>> 12], 0);
  assert.equal(t.m.memory.codePages[CODE >>> 12], 0, 'the last restore dropped the page');
  t.cpu.run(t.cpu.icount + 10);
  assert.equal(t.m.memory.codePages[CODE >>> 12], 1, 'and it is cached again');
});
