import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { SymbolTable } from '../../../debugger/timeline/symbols.js';
import { DEMO_ELF } from '../gdb/demo-target.js';
import { RewindError } from '../../../engine/errors.js';

test('ELF32 symbol table of the demo guest', () => {
  const t = SymbolTable.fromElf(readFileSync(DEMO_ELF));
  assert.equal(t.lookup('_start'), 0x10000c);
  assert.equal(t.lookup('helper'), 0x100044);
  assert.equal(t.lookup('nope'), null);
  assert.equal(t.format(0x100044), 'helper');
  assert.equal(t.format(0x10004c), 'helper+0x8');
  assert.equal(t.format(0x101004), 'result');
  assert.equal(t.format(0x10), null);
});

test('System.map', () => {
  const t = SymbolTable.fromSystemMap('c1000000 T _text\nc1000000 T startup_32\nc1001000 t do_one\n\nc1002000 D some_data\nffffffff81000000 T x86_64_thing\n');
  assert.equal(t.lookup('startup_32'), 0xc1000000);
  assert.equal(t.format(0xc1001010), 'do_one+0x10');
  assert.equal(t.format(0xc1000004), '_text+0x4');
  assert.equal(t.lookup('x86_64_thing'), null);
  assert.throws(() => SymbolTable.fromSystemMap('c1000000 T a\nthis is not a map\n'), /line 2: expected "ADDRESS TYPE NAME"/);
});

test('bad ELF files are rejected with one clear message', () => {
  const elf = readFileSync(DEMO_ELF);
  assert.throws(() => SymbolTable.fromElf(Buffer.from('not an elf at all, no no no no no no no no no no no no no')), /not an ELF file/);
  const c64 = Buffer.from(elf);
  c64[4] = 2;
  assert.throws(() => SymbolTable.fromElf(c64), /not a 32-bit ELF/);
  const trunc = Buffer.from(elf.subarray(0, 200));
  assert.throws(() => SymbolTable.fromElf(trunc), (e: unknown) => e instanceof RewindError && /out of bounds/.test(e.message));
  // Fuzz: random corruption never throws anything but a RewindError.
  let s = 3;
  for (let i = 0; i < 300; i++) {
    const b = Buffer.from(elf);
    for (let k = 0; k < 8; k++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      b[s % b.length] = s >>> 24;
    }
    try {
      SymbolTable.fromElf(b);
    } catch (e) {
      assert.ok(e instanceof RewindError, String(e));
    }
  }
});

test('load() tells ELF from System.map and reports unreadable files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rewind-sym-'));
  const map = join(dir, 'System.map');
  writeFileSync(map, '00100000 T start\n');
  assert.equal(SymbolTable.load(map).lookup('start'), 0x100000);
  assert.equal(SymbolTable.load(DEMO_ELF).lookup('helper'), 0x100044);
  assert.throws(() => SymbolTable.load(join(dir, 'missing')), /cannot read symbol file/);
});
