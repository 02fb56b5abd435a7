/**
 * Runs SingleStepTests-format CPU vectors (`*.json` / `*.json.gz`).
 *
 *   npm run conformance -- DIR [FILTER...]
 *
 * prints, per opcode file and in total, "N passed, M failed" and the first
 * failing case in detail. The 80286-real set is compared with the masks in
 * masks.ts (see ../shared/conformance/README.md).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine } from '../../engine/machine.js';
import { Cpu } from '../../engine/cpu/cpu.js';
import { SEG } from '../../engine/cpu/flags.js';
import { BY_OPCODE, PREFIXES } from '../../engine/cpu/decode/opcodes.js';
import { UNDEFINED_FLAGS, FLAGS_HIGH } from './masks.js';

interface Regs {
  [k: string]: number;
}
interface Vector {
  name: string;
  bytes: number[];
  initial: { regs: Regs; ram: [number, number][] };
  final: { regs: Regs; ram: [number, number][] };
  exception?: { number: number; flag_address: number };
}

export interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  firstFailure: string | null;
}

const SKIP = 'skip: the 286 reports a real-mode stack-segment limit violation as #GP (13), a P6 as #SS (12)';
const REG_ORDER = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const SEG_NAMES: [string, number][] = [['es', SEG.ES], ['cs', SEG.CS], ['ss', SEG.SS], ['ds', SEG.DS]];

/**
 * Vectors skipped, with the reason (the 286 and a P6 really differ here).
 * Returns null to run the vector.
 */
export function skipReason(v: Vector): string | null {
  const r = v.initial.regs;
  // An instruction that runs past IP 0xFFFF wraps on the 286; a P6 raises #GP at the segment limit.
  if (r['ip']! + v.bytes.length > 0x10000) return 'instruction wraps past IP 0xFFFF';
  const op0 = v.bytes.find((b) => !PREFIXES.has(b))!;
  const body = v.bytes.length - 1; // without the HLT that follows
  // The 286 limits instructions to 10 bytes (#GP beyond); a P6 allows 15.
  if (body > 10 && v.exception?.number === 13) return 'instruction longer than the 286 limit of 10 bytes';
  // A 286 string instruction faulting on a word at offset 0xFFFF has already advanced SI/DI; a P6 has not.
  if (v.exception?.number === 13 && ((op0 >= 0xa4 && op0 <= 0xa7) || (op0 >= 0xaa && op0 <= 0xaf) || (op0 >= 0x6c && op0 <= 0x6f))) return '286 string-instruction fault quirk';
  // MOV to/from FS/GS (Sreg 4, 5) do not exist on the 286 (#UD there).
  if (op0 === 0x8c || op0 === 0x8e) {
    const m = v.bytes[v.bytes.indexOf(op0) + 1]!;
    if (((m >> 3) & 7) >= 4) return 'FS/GS do not exist on the 286';
  }
  // LOCK on an instruction that cannot take it: the 286 ignores the prefix, a P6 raises #UD.
  let i = 0;
  let lock = false;
  while (i < v.bytes.length && PREFIXES.has(v.bytes[i]!)) {
    if (v.bytes[i] === 0xf0) lock = true;
    i++;
  }
  if (lock) {
    const op = v.bytes[i] === 0x0f ? 0x100 | v.bytes[i + 1]! : v.bytes[i]!;
    const modrm = v.bytes[op >= 0x100 ? i + 2 : i + 1] ?? 0xc0;
    const list = BY_OPCODE[op];
    const ok = !!list && modrm < 0xc0 && list.some((x) => x.lock && (x.reg < 0 || x.reg === ((modrm >> 3) & 7)));
    if (!ok) return 'LOCK prefix on a non-lockable form (#UD on a P6, ignored by the 286)';
  }
  return null;
}

export function loadVectors(path: string): Vector[] {
  let data = readFileSync(path);
  if (path.endsWith('.gz')) data = gunzipSync(data);
  return JSON.parse(data.toString('utf8')) as Vector[];
}

export class ConformanceRunner {
  readonly machine: Machine;
  readonly cpu: Cpu;
  constructor() {
    this.machine = new Machine({ ramBytes: 2 * 1024 * 1024 }, { createCpu: (m) => new Cpu(m) });
    this.cpu = this.machine.cpu as Cpu;
  }

  /** Runs one vector; returns null on success or a description of the difference. */
  runOne(v: Vector, fileKey: string): string | null {
    const cpu = this.cpu;
    const mem = this.machine.memory;
    cpu.reset();
    cpu.stopRequested = false;
    const ir = v.initial.regs;
    for (let i = 0; i < 8; i++) cpu.reg16[i << 1] = ir[REG_ORDER[i]!]!;
    for (const [n, s] of SEG_NAMES) cpu.loadSegment(s, ir[n]!);
    cpu.eip = ir['ip']!;
    cpu.setEflags(ir['flags']!);
    for (const [a, b] of v.initial.ram) mem.write8(a, b);
    const start = cpu.icount;
    cpu.run(start + 1); // the instruction under test (or its exception delivery)
    if (v.exception?.number === 13 && cpu.lastException === 12) return SKIP;
    if (!cpu.halted) cpu.run(start + 200000);
    if (!cpu.halted) return `did not reach HLT (EIP ${cpu.eip.toString(16)})`;
    const want: Regs = { ...ir, ...v.final.regs };
    const undef = UNDEFINED_FLAGS[fileKey] ?? 0;
    const flagMask = ~(FLAGS_HIGH | undef) & 0xffff;
    const diffs: string[] = [];
    for (let i = 0; i < 8; i++) {
      const got = cpu.reg16[i << 1]!;
      if (got !== want[REG_ORDER[i]!]) diffs.push(`${REG_ORDER[i]} want ${hex(want[REG_ORDER[i]!]!)} got ${hex(got)}`);
    }
    for (const [n, s] of SEG_NAMES) {
      const got = cpu.segSel[s]!;
      if (got !== want[n]) diffs.push(`${n} want ${hex(want[n]!)} got ${hex(got)}`);
    }
    if ((cpu.eip & 0xffff) !== want['ip']) diffs.push(`ip want ${hex(want['ip']!)} got ${hex(cpu.eip)}`);
    const gotFlags = cpu.getEflags() & 0xffff;
    if ((gotFlags & flagMask) !== (want['flags']! & flagMask)) diffs.push(`flags want ${hex(want['flags']!)} got ${hex(gotFlags)} (compared ${hex(flagMask)})`);
    // The flags image pushed by PUSHF/INT/an exception: first word below the initial SS:SP.
    // (`exception.flag_address` is the even-aligned address, off by one when SP is odd.)
    const pushesFlags = v.exception !== undefined || fileKey === '9C';
    const fa = (ir['ss']! << 4) + ((ir['sp']! - 2) & 0xffff);
    const faHi = (ir['ss']! << 4) + ((ir['sp']! - 1) & 0xffff);
    for (const [a, b] of v.final.ram) {
      let got = mem.read8(a);
      let exp = b;
      if (pushesFlags && (a === fa || a === faHi)) {
        const m = a === fa ? flagMask & 0xff : (flagMask >>> 8) & 0xff;
        got &= m;
        exp &= m;
      }
      if (got !== exp) diffs.push(`[${hex(a)}] want ${hex(exp)} got ${hex(got)}`);
    }
    return diffs.length ? diffs.join('; ') : null;
  }

  runFile(path: string): FileResult {
    const file = path.split('/').pop()!;
    const key = file.replace(/\.json(\.gz)?$/, '');
    const vectors = loadVectors(path);
    const res: FileResult = { file: key, passed: 0, failed: 0, skipped: 0, firstFailure: null };
    for (const v of vectors) {
      if (skipReason(v) !== null) {
        res.skipped++;
        continue;
      }
      let d: string | null;
      try {
        d = this.runOne(v, key);
      } catch (e) {
        d = `host exception: ${e instanceof Error ? e.stack : String(e)}`;
      }
      if (d === SKIP) res.skipped++;
      else if (d === null) res.passed++;
      else {
        res.failed++;
        if (res.firstFailure === null) {
          res.firstFailure = `${v.name} [${v.bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')}] initial ${JSON.stringify(v.initial.regs)}${v.exception ? ` exception ${v.exception.number}` : ''}: ${d}`;
        }
      }
    }
    return res;
  }
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}

export function conformanceFiles(dir: string, filters: string[] = []): string[] {
  return readdirSync(dir)
    .filter((f) => /\.json(\.gz)?$/.test(f))
    .filter((f) => filters.length === 0 || filters.some((x) => f.startsWith(x)))
    .sort()
    .map((f) => join(dir, f));
}

function main(): void {
  const [dir, ...filters] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: npm run conformance -- DIR [FILE-PREFIX...]');
    process.exit(2);
  }
  let files: string[];
  try {
    files = conformanceFiles(dir, filters);
  } catch (e) {
    console.error(`conformance: cannot read ${dir}: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  }
  if (files.length === 0) {
    console.error(`conformance: no *.json or *.json.gz files in ${dir}`);
    process.exit(2);
  }
  const runner = new ConformanceRunner();
  let p = 0;
  let f = 0;
  let s = 0;
  let firstFailure: string | null = null;
  let minPct = 100;
  let minFile = '';
  for (const path of files) {
    const r = runner.runFile(path);
    p += r.passed;
    f += r.failed;
    s += r.skipped;
    const pct = r.passed + r.failed ? (100 * r.passed) / (r.passed + r.failed) : 100;
    if (pct < minPct) {
      minPct = pct;
      minFile = r.file;
    }
    console.log(`${r.file.padEnd(8)} ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}`);
    if (r.firstFailure && firstFailure === null) firstFailure = `${r.file}: ${r.firstFailure}`;
    if (r.firstFailure && process.env['CONF_VERBOSE']) console.log(`   first failure: ${r.firstFailure}`);
  }
  console.log(`total: ${p} passed, ${f} failed, ${s} skipped (${((100 * p) / Math.max(1, p + f)).toFixed(2)}%); lowest file ${minFile} at ${minPct.toFixed(1)}%`);
  if (firstFailure) console.log(`first failure: ${firstFailure}`);
  process.exit(f === 0 ? 0 : 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
