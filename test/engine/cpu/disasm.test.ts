/**
 * The disassembler against objdump (binutils): instruction length for every
 * random byte sequence and the text of every integer instruction, in 32- and
 * 16-bit code (prefixes 66/67 give the data16/addr16 forms), up to the
 * normalisations documented in engine/cpu/disasm.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disassemble } from '../../../engine/cpu/disasm.js';

function hasObjdump(): boolean {
  try {
    execFileSync('objdump', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const PREFIX = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

/** EVEX/VEX/XOP encodings (62/C4/C5/8F + register ModRM) are not IA-32 P6 instructions. */
function isVexLike(b: Uint8Array): boolean {
  let i = 0;
  while (i < b.length && PREFIX.has(b[i]!)) i++;
  const op = b[i]!;
  return (op === 0x62 || op === 0xc4 || op === 0xc5 || op === 0x8f) && b[i + 1]! >= 0xc0;
}

function normObjdump(t: string, mode: 32 | 16): string {
  let x = t.trim().replace(/\s+/g, ' ').replace(/\bbnd /g, 'repnz ').replace(/\bxrelease /g, 'repz ').replace(/\bxacquire /g, 'repnz ');
  // prefixes without effect, wherever objdump lists them
  x = x.replace(/\b(fs|gs|ss|ds|es|cs|data16|data32|addr16|addr32) (?=[a-z(])/g, '').replace(/\b(repnz |repz )+(?=(repnz|repz) )/g, '');
  // 16-bit branch targets wrap at 64 KiB on the CPU
  if (mode === 16) x = x.replace(/^((?:rep[nz]* )?(?:j[a-z]+|loop[a-z]*|call|jcxz|jecxz) )0x1([0-9a-f]{4})$/, (_m, a: string, h: string) => a + '0x' + (parseInt(h, 16).toString(16)));
  return x;
}

function compare(mode: 32 | 16, seed: number, n: number): { lenBad: string[]; textBad: string[]; textChecked: number } {
  let s = seed;
  const rnd = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) & 0xff;
  };
  const buf = new Uint8Array(n * 16).fill(0x90);
  for (let i = 0; i < n; i++) for (let k = 0; k < 15; k++) buf[i * 16 + k] = rnd();
  const dir = mkdtempSync(join(tmpdir(), 'rewind-dis-'));
  let out: string;
  try {
    writeFileSync(join(dir, 'c.bin'), buf);
    out = execFileSync('objdump', ['-D', '-b', 'binary', '-m', mode === 32 ? 'i386' : 'i8086', '-M', 'intel', '--insn-width=16', join(dir, 'c.bin')], { maxBuffer: 1 << 28 }).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const obj = new Map<number, { len: number; text: string }>();
  for (const l of out.split('\n')) {
    const m = /^\s+([0-9a-f]+):\t([0-9a-f ]+)\t?(.*)$/.exec(l);
    if (m) obj.set(parseInt(m[1]!, 16), { len: m[2]!.trim().split(' ').length, text: normObjdump(m[3] ?? '', mode) });
  }
  const lenBad: string[] = [];
  const textBad: string[] = [];
  let textChecked = 0;
  for (let i = 0; i < n; i++) {
    const at = i * 16;
    const o = obj.get(at);
    if (!o) continue; // objdump resynchronised elsewhere (previous slot ran into this one)
    const bytes = buf.subarray(at, at + 16);
    if (isVexLike(bytes)) continue;
    const d = disassemble(bytes, mode === 32, at);
    const hexb = Array.from(bytes.subarray(0, Math.max(o.len, d.length))).map((x) => x.toString(16).padStart(2, '0')).join(' ');
    // documented normalisation: SIMD/XOP encodings objdump rejects as "(bad)"
    if (o.text === '(bad)' && (d.text.startsWith('(unsupported') || (mode === 16 && /^(6[67] )*8f/.test(hexb) && d.text === '(bad)'))) continue;
    if (d.length !== o.len) {
      lenBad.push(`${hexb}: objdump ${o.len} "${o.text}", rewind ${d.length} "${d.text}"`);
      continue;
    }
    if (/^(fpu|\(unsupported)|\(bad\)/.test(d.text) || /\(bad\)|st\(|xmm|mm\d|^f/.test(o.text)) continue;
    textChecked++;
    if (d.text.replace(/\s+/g, ' ').replace(/\b(repnz |repz )+(?=(repnz|repz) )/g, '') !== o.text) textBad.push(`${hexb}: objdump "${o.text}", rewind "${d.text}"`);
  }
  return { lenBad, textBad, textChecked };
}

const skip = hasObjdump() ? false : 'objdump is not installed';

for (const mode of [32, 16] as const) {
  test(`disassembler agrees with objdump in ${mode}-bit code (random corpus)`, { skip }, () => {
    const r = compare(mode, mode === 32 ? 0x1234567 : 0x7654321, 6000);
    assert.deepEqual(r.lenBad.slice(0, 10), [], `length differs on ${r.lenBad.length} sequences`);
    assert.ok(r.textChecked > 3000, `only ${r.textChecked} integer instructions compared`);
    assert.deepEqual(r.textBad.slice(0, 10), [], `text differs on ${r.textBad.length} of ${r.textChecked}`);
  });
}

test('disassembler: symbols for branch targets, fixed examples', () => {
  const d = disassemble(new Uint8Array([0xe8, 0x00, 0x00, 0x00, 0x00]), true, 0x1000, (a) => (a === 0x1005 ? 'main' : null));
  assert.deepEqual(d, { length: 5, text: 'call   0x1005 <main>' });
  assert.equal(disassemble(new Uint8Array([0x8b, 0x44, 0x24, 0x08]), true).text, 'mov    eax,DWORD PTR [esp+0x8]');
  assert.equal(disassemble(new Uint8Array([0x8b, 0x46, 0x04]), false).text, 'mov    ax,WORD PTR [bp+0x4]');
  assert.equal(disassemble(new Uint8Array([0xf3, 0xa5]), true).text, 'rep movs DWORD PTR es:[edi],DWORD PTR ds:[esi]');
  assert.equal(disassemble(new Uint8Array([0x0f]), true).text, '(bad)');
});

test('x87: every ESC opcode and ModRM has objdump\'s length; P6 #UD encodings are "(bad)"', { skip }, () => {
  // each slot: ESC, ModRM, a 32-bit displacement's worth of bytes (mod 10/rm 100 takes SIB + disp32)
  const buf = new Uint8Array(8 * 256 * 8).fill(0x90);
  for (let op = 0; op < 8; op++) for (let m = 0; m < 256; m++) buf.set([0xd8 + op, m, 0x11, 0x22, 0x33, 0x44, 0x55], (op * 256 + m) * 8);
  const dir = mkdtempSync(join(tmpdir(), 'rewind-dis-'));
  let out: string;
  try {
    writeFileSync(join(dir, 'x.bin'), buf);
    out = execFileSync('objdump', ['-D', '-b', 'binary', '-m', 'i386', '-M', 'intel', '--insn-width=16', join(dir, 'x.bin')], { maxBuffer: 1 << 26 }).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const obj = new Map<number, { len: number; text: string }>();
  for (const l of out.split('\n')) {
    const m = /^\s+([0-9a-f]+):\t([0-9a-f ]+)\t?(.*)$/.exec(l);
    if (m) obj.set(parseInt(m[1]!, 16), { len: m[2]!.trim().split(' ').length, text: m[3]!.trim() });
  }
  // objdump's "(bad)" that a P6 executes: the undocumented aliases
  const alias = (op: number, m: number): boolean =>
    (op === 0xd9 && m >= 0xd8 && m <= 0xdf) || (op === 0xdc && m >= 0xd0 && m <= 0xdf) || (op === 0xdd && m >= 0xc8 && m <= 0xcf) ||
    (op === 0xde && m >= 0xd0 && m <= 0xd7) || (op === 0xdf && m >= 0xc8 && m <= 0xdf);
  const bad: string[] = [];
  let undef = 0;
  for (let op = 0xd8; op <= 0xdf; op++) {
    for (let m = 0; m < 256; m++) {
      const at = ((op - 0xd8) * 256 + m) * 8;
      const o = obj.get(at)!;
      const d = disassemble(buf.subarray(at, at + 8), true, at);
      const what = `${op.toString(16)} ${m.toString(16)}: objdump ${o.len} "${o.text}", rewind ${d.length} "${d.text}"`;
      if (d.length !== o.len) { bad.push(what); continue; }
      const oBad = o.text.startsWith('(bad)');
      // objdump knows SSE3's FISTTP and the 287XL's FRSTPM; neither exists on a P6
      const oP6Bad = oBad ? !alias(op, m) : /^(fisttp|frstpm)/.test(o.text);
      if ((d.text === '(bad)') !== oP6Bad) bad.push(what);
      if (d.text === '(bad)') undef++;
    }
  }
  assert.deepEqual(bad, []);
  // memory forms D9/1, DB/1/4/6, DD/1/5, DF/1: 7 x 24 ModRMs; register forms: D9 12, DA 31, DB 11, DD 16, DE 7, DF 15
  assert.equal(undef, 7 * 24 + 92);
});
