/**
 * Runs the host-CPU integer oracle vectors (test/support/oracle-vectors.ts) on
 * rewind's CPU and compares every defined register, flag, memory byte and
 * exception.
 *
 * The test machine reproduces the environment the vectors were recorded in (a
 * 32-bit Linux process): protected mode at CPL 3 with IOPL 0; Linux's flat
 * user selectors (CS 0x23, DS/ES/SS 0x2B); the LDT the harness installs with
 * modify_ldt (a 16-bit code segment and limited, expand-down, read-only and
 * 16-bit data/stack segments); CR0.AM and WP set as Linux runs; paging on,
 * mapping at user level exactly what the recording process had (the data
 * windows, one of them read-only, and the code window), so accesses past a
 * window's edge raise #PF with the same CR2 and error code; an IDT whose gates
 * lead to ring 0 through a TSS, DPL 0 except #BP and #OF (DPL 3, as Linux sets
 * them). An exception is recognised by CS:EIP landing on its ring-0 handler
 * stub; the state at the fault/trap is then read back from the ring-0 frame.
 */
import { Machine } from '../../engine/machine.js';
import { Cpu, STEP } from '../../engine/cpu/cpu.js';
import { SEG } from '../../engine/cpu/flags.js';
import type { OracleCase, OracleFile } from './oracle-vectors.js';
import { oraclePattern } from './oracle-vectors.js';
import { undefinedFlags, undefinedDestBits } from './undefined-flags.js';

// System structures (supervisor pages), away from every address the vectors touch or expect unmapped.
const GDT = 0x00700000;
const IDT = 0x00701000;
const TSS = 0x00702000;
const HANDLERS = 0x00703000; // 16 bytes per vector
const LDT = 0x00704000;
const RING0_STACK_TOP = 0x00710000;
const PAGE_DIR = 0x00720000;
const PAGE_TABLES = 0x00721000; // one per 4 MiB
const USER_CS = 0x23;
const USER_DS = 0x2b;
const KERNEL_CS = 0x08;
const KERNEL_DS = 0x10;
const TSS_SEL = 0x18;
const LDT_SEL = 0x30;
/** The LDT the harness installs with modify_ldt (harness.c ldt_table): [base, limit, big, contents, readOnly, pageGranular]. */
const ORACLE_LDT: readonly (readonly [number, number, number, number, number, number])[] = [
  [0x00400000, 0x1fff, 0, 2, 0, 0], // 0x07: 16-bit code, for the 16-bit-code cases
  [0x00200000, 0x0fff, 1, 0, 0, 0], // 0x0F: data, limit 0xFFF
  [0x00200000, 0x1fff, 1, 0, 1, 0], // 0x17: read-only data
  [0x00200000, 0x0fff, 1, 1, 0, 0], // 0x1F: expand-down, 32-bit
  [0x00200000, 0x0fff, 0, 1, 0, 0], // 0x27: expand-down, 16-bit
  [0x00300000, 0xffff, 0, 0, 0, 0], // 0x2F: 16-bit stack
  [0x00300000, 0x07ff, 1, 1, 0, 0], // 0x37: expand-down 32-bit stack
  [0x00400000, 0x1fff, 1, 2, 0, 0], // 0x3F: readable 32-bit code
  [0x00200000, 0x00000, 1, 0, 0, 1], // 0x47: page-granular limit 0
  [0x00008000, 0x1fff, 0, 0, 0, 0], // 0x4F: 16-bit data at LOW
];
const CODE16_SEL = 0x07;
/** EFLAGS bits compared: the status flags, TF IF DF IOPL NT AC ID and bit 1 (RF and VM are not). */
const EFLAGS_COMPARED = 0x247fd7;
const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const ERROR_CODE_VECTORS = new Set([8, 10, 11, 12, 13, 14, 17]);

export interface CaseResult {
  readonly ok: boolean;
  /** One line per mismatch. */
  readonly problems: string[];
}

const h32 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');

function descriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo >>> 0, hi >>> 0];
}

/** The position of the ModRM byte (after prefixes and the opcode), or -1. */
function modrmIndex(code: Uint8Array): number {
  let i = 0;
  while (i < code.length && [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].includes(code[i]!)) i++;
  if (code[i] === 0x0f) i++;
  return i + 1 < code.length ? i + 1 : -1;
}

export class OracleRunner {
  readonly machine: Machine;
  readonly cpu: Cpu;
  private readonly file: OracleFile;
  private readonly pristine: Uint8Array[];
  private readonly expected: Uint8Array[];
  private readonly ignore: Uint8Array[];
  private readonly fill = new Uint8Array(0x100).fill(0xcc);

  constructor(file: OracleFile) {
    this.file = file;
    this.machine = new Machine({ ramBytes: 8 * 1024 * 1024 }, { createCpu: (m) => new Cpu(m) });
    this.cpu = this.machine.cpu as Cpu;
    const mem = this.machine.memory;
    // GDT: null, ring-0 code/data, TSS, ring-3 code (0x23) and data (0x2B); accessed bits preset
    const gdt = [
      [0, 0],
      descriptor(0, 0xfffff, 0x9b, 0xc),
      descriptor(0, 0xfffff, 0x93, 0xc),
      descriptor(TSS, 0x67, 0x8b, 0x0),
      descriptor(0, 0xfffff, 0xfb, 0xc),
      descriptor(0, 0xfffff, 0xf3, 0xc),
      descriptor(LDT, ORACLE_LDT.length * 8 - 1, 0x82, 0x0),
    ];
    ORACLE_LDT.forEach(([base, limit, big, contents, ro, pages], i) => {
      // as Linux's modify_ldt builds them: present, DPL 3, accessed; type from contents/read_exec_only
      const type = contents === 2 ? 0x8 | (ro ? 0 : 2) | 1 : (contents === 1 ? 4 : 0) | (ro ? 0 : 2) | 1;
      const [lo, hi] = descriptor(base, limit, 0xf0 | type, (pages << 3) | (big << 2));
      mem.write32(LDT + i * 8, lo | 0);
      mem.write32(LDT + i * 8 + 4, hi | 0);
    });
    gdt.forEach(([lo, hi], i) => {
      mem.write32(GDT + i * 8, lo! | 0);
      mem.write32(GDT + i * 8 + 4, hi! | 0);
    });
    for (let v = 0; v < 256; v++) {
      const off = HANDLERS + v * 16;
      const dpl = v === 3 || v === 4 ? 3 : 0;
      mem.write32(IDT + v * 8, ((KERNEL_CS << 16) | (off & 0xffff)) | 0);
      mem.write32(IDT + v * 8 + 4, ((off & 0xffff0000) | 0x8e00 | (dpl << 13)) | 0);
    }
    for (let i = 0; i < 256 * 16; i++) mem.write8(HANDLERS + i, 0xf4);
    for (let i = 0; i < 0x68; i += 4) mem.write32(TSS + i, 0);
    mem.write32(TSS + 4, RING0_STACK_TOP);
    mem.write32(TSS + 8, KERNEL_DS);
    mem.write32(TSS + 0x64, 0x00680000); // I/O map base beyond the limit: no I/O bitmap
    // the windows start as the pattern, the code window as INT3s
    this.pristine = file.windows.map(([base, size]) => {
      const b = new Uint8Array(size!);
      for (let k = 0; k < size!; k++) b[k] = oraclePattern(base! + k);
      mem.writeBytes(base!, b);
      return b;
    });
    this.expected = file.windows.map(([, size]) => new Uint8Array(size!));
    this.ignore = file.windows.map(([, size]) => new Uint8Array(size!));
    mem.writeBytes(file.codeBase, new Uint8Array(file.codeSize).fill(0xcc));
    // page tables: the system structures (supervisor), the windows and the code window (user), nothing else
    const map = (linAddr: number, size: number, user: boolean, writable = true): void => {
      for (let a = linAddr; a < linAddr + size; a += 0x1000) {
        const pdi = a >>> 22;
        const pt = PAGE_TABLES + pdi * 0x1000;
        mem.write32(PAGE_DIR + pdi * 4, pt | 0x7);
        mem.write32(pt + ((a >>> 12) & 0x3ff) * 4, (a | 0x1 | (writable ? 0x2 : 0) | (user ? 0x4 : 0)) | 0);
      }
    };
    map(GDT, 0x5000, false); // GDT, IDT, TSS, handler stubs, LDT
    map(RING0_STACK_TOP - 0x1000, 0x1000, false);
    for (const [base, size, readOnly] of file.windows) map(base!, size!, true, readOnly !== 1);
    map(file.codeBase, file.codeSize, true);
    const cpu = this.cpu;
    cpu.cr3 = PAGE_DIR;
    cpu.cr0 = 0x80050011 | 0; // PG | AM | WP | ET | PE, as Linux runs user code (AM: EFLAGS.AC enables #AC at CPL 3)
    cpu.flushTlb(true);
  }

  private enterUserMode(c: OracleCase): void {
    const cpu = this.cpu;
    cpu.gdtrBase = GDT;
    cpu.gdtrLimit = 7 * 8 - 1;
    cpu.ldtr = LDT_SEL;
    cpu.ldtrBase = LDT;
    cpu.ldtrLimit = ORACLE_LDT.length * 8 - 1;
    cpu.idtrBase = IDT;
    cpu.idtrLimit = 256 * 8 - 1;
    cpu.tr = TSS_SEL;
    cpu.trBase = TSS;
    cpu.trLimit = 0x67;
    cpu.trAttr = 0x8b;
    cpu.halted = false;
    cpu.pendingDbTrap = 0;
    cpu.inhibitUntil = 0;
    cpu.setEflags(c.eflagsIn);
    if (c.ctx.m16) cpu.setSegCache(SEG.CS, CODE16_SEL, this.file.codeBase, this.file.codeSize - 1, 0x00fb);
    else cpu.setSegCache(SEG.CS, USER_CS, 0, -1, 0xc0fb);
    for (const s of [SEG.ES, SEG.SS, SEG.DS]) cpu.setSegCache(s, USER_DS, 0, -1, 0xc0f3);
    cpu.setSegCache(SEG.FS, 0, 0, 0, 0);
    cpu.setSegCache(SEG.GS, 0, 0, 0, 0);
    cpu.setCpl(3);
    cpu.modeChanged();
    const [es = 0, ds = 0, ss = 0] = c.ctx.seg ?? [];
    if (es) cpu.loadSegment(SEG.ES, es);
    if (ds) cpu.loadSegment(SEG.DS, ds);
    if (ss) cpu.loadSegment(SEG.SS, ss);
    for (let i = 0; i < 8; i++) cpu.reg32[i] = c.regsIn[i]! | 0;
    const at = c.ctx.at ?? this.file.insnAddr;
    cpu.eip = c.ctx.m16 ? at - this.file.codeBase : at;
  }

  /** Runs one case and compares; leaves the machine ready for the next. */
  run(c: OracleCase): CaseResult {
    const cpu = this.cpu;
    const mem = this.machine.memory;
    const problems: string[] = [];
    // the instruction; bytes past the end of the code window are not there (unmapped page)
    const insn = c.ctx.at ?? this.file.insnAddr;
    const codeEnd = this.file.codeBase + this.file.codeSize;
    mem.writeBytes(insn, c.code.subarray(0, Math.max(0, Math.min(c.code.length, codeEnd - insn))));
    for (const p of c.patches) mem.writeBytes(p.linAddr, p.bytes);
    this.enterUserMode(c);

    // execute: one instruction (a REP string instruction: every iteration)
    const rep = c.code.some((b, i) => (b === 0xf3 || b === 0xf2) && i < c.code.length - 1) && ['movs', 'cmps', 'stos', 'lods', 'scas'].includes(c.m);
    const startCs = c.ctx.m16 ? CODE16_SEL : USER_CS;
    const startEip = cpu.eip;
    let r = cpu.step();
    for (let n = 0; rep && r === STEP.INSTRUCTION && cpu.eip === startEip && cpu.segSel[SEG.CS] === startCs && n < 4096; n++) r = cpu.step();
    // The native run stopped at the first INT3 of the fill after the instruction. When the
    // instruction rewrote those bytes (self-modifying code), run what it wrote, as the CPU did.
    const codeLin = (): number => (cpu.segBase[SEG.CS]! + cpu.eip) >>> 0;
    for (let n = 0; n < 64 && r === STEP.INSTRUCTION && cpu.segSel[SEG.CS] !== KERNEL_CS && cpu.pendingDbTrap === 0; n++) {
      const lin = codeLin();
      if (lin < this.file.codeBase || lin >= this.file.codeBase + this.file.codeSize || mem.read8(lin) === 0xcc) break;
      r = cpu.step();
    }
    // a single-step trap the instruction left pending is delivered before anything else
    if (cpu.pendingDbTrap !== 0 && cpu.segSel[SEG.CS] !== KERNEL_CS) cpu.step();
    const wantCs = c.ctx.cs ?? startCs;

    // what happened
    const regs = new Uint32Array(8);
    for (let i = 0; i < 8; i++) regs[i] = cpu.reg32[i]! >>> 0;
    let eip = cpu.eip >>> 0;
    let eflags = cpu.getEflags() >>> 0;
    let exc: number[] | null = null;
    if (cpu.segSel[SEG.CS] === KERNEL_CS && eip >= HANDLERS && eip < HANDLERS + 256 * 16 && (eip - HANDLERS) % 16 === 0) {
      const vector = (eip - HANDLERS) / 16;
      let sp = cpu.reg32[4]! >>> 0;
      let err = 0;
      if (ERROR_CODE_VECTORS.has(vector)) { err = mem.read32(sp) >>> 0; sp += 4; }
      eip = mem.read32(sp) >>> 0;
      const cs = mem.read32(sp + 4) & 0xffff;
      eflags = mem.read32(sp + 8) >>> 0;
      regs[4] = mem.read32(sp + 12) >>> 0;
      const ss = mem.read32(sp + 16) & 0xffff;
      const wantSs = c.ctx.ss ?? ((c.ctx.seg ?? [])[2] || USER_DS);
      if (cs !== wantCs || ss !== wantSs) problems.push(`exception frame CS:SS ${cs.toString(16)}:${ss.toString(16)}, expected ${wantCs.toString(16)}:${wantSs.toString(16)}`);
      exc = vector === 14 ? [vector, err, cpu.cr2 >>> 0] : [vector, err];
    } else if (cpu.segSel[SEG.CS] !== wantCs) {
      problems.push(`cs ${cpu.segSel[SEG.CS]!.toString(16)} at ${h32(eip)}, expected ${wantCs.toString(16)}`);
    }

    // exception
    const wantExc = c.exc;
    // registers (the SDM-undefined destination masked)
    const ctx = { opSize: c.size, count: c.ctx.count, srcZero: c.ctx.srcZero };
    const want = Uint32Array.from(c.regsOut);
    const undefBits = wantExc === null ? undefinedDestBits(c.m, ctx) : 0;
    let undefMemDest = -1;
    if (undefBits !== 0) {
      const mi = modrmIndex(c.code);
      let reg = -1;
      if (c.m === 'bswap') reg = c.code[c.code.length - 1]! & 7;
      else if (c.m === 'bsf' || c.m === 'bsr' || c.m === 'lar') reg = (c.code[mi]! >> 3) & 7;
      else if (mi >= 0 && (c.code[mi]! & 0xc0) === 0xc0) reg = c.code[mi]! & 7;
      else undefMemDest = c.ctx.addr ?? -1;
      if (reg >= 0) want[reg] = ((want[reg]! & ~undefBits) | (regs[reg]! & undefBits)) >>> 0;
    }
    // Implementation-specific state at a fault, which the SDM does not pin down:
    //  - POPA that faults part-way: AMD leaves the registers already popped
    //    modified (the instruction stays restartable: ESP is unchanged);
    //  - far RET/CALL whose stack access straddles into an unmapped page: which
    //    of its accesses faults first (hence CR2) is the implementation's order.
    //  - ENTER with a 32-bit operand on a 16-bit stack: Intel's pseudo-code sets EBP to the
    //    zero-extended SP (FrameTemp := SP); AMD copies all of ESP: EBP[31:16] masked.
    if (wantExc !== null && c.m === 'popa') for (let i = 0; i < 8; i++) if (i !== 4) want[i] = regs[i]!;
    //    Likewise the upper half of the frame pointer it pushes when the nesting level is >= 1.
    const extraIgnore: number[] = [];
    if (c.m === 'enter' && !c.code.includes(0x66) !== !!c.ctx.m16 && (c.ctx.seg ?? [])[2] === 0x2f) {
      want[5] = ((want[5]! & 0xffff) | (regs[5]! & 0xffff0000)) >>> 0;
      const level = c.code[c.code.length - 1]! & 0x1f;
      if (level >= 1) {
        const slot = (c.regsIn[4]! - 4 * level - 4) & 0xffff;
        extraIgnore.push(0x00300000 + ((slot + 2) & 0xffff), 0x00300000 + ((slot + 3) & 0xffff));
      }
    }
    if (wantExc !== null && exc !== null && wantExc[0] === 14 && (c.m === 'retf' || c.m === 'callf')) exc[2] = wantExc[2]!;
    // #PF error code bit 4 (instruction fetch) exists only with NX paging (the host's); rewind's
    // 32-bit paging has no NX, so that bit is not compared.
    const excText = (e: readonly number[] | null): string =>
      e === null ? 'none' : `vector ${e[0]} err ${(e[0] === 14 ? e[1]! & ~0x10 : e[1]!).toString(16)}${e.length > 2 ? ` cr2 ${h32(e[2]!)}` : ''}`;
    if (excText(exc) !== excText(wantExc)) problems.push(`exception ${excText(exc)}, expected ${excText(wantExc)}`);

    for (let i = 0; i < 8; i++) {
      if (want[i] !== regs[i]) problems.push(`${REG_NAMES[i]} ${h32(regs[i]!)}, expected ${h32(want[i]!)}`);
    }
    if (eip !== c.eipOut) problems.push(`eip ${h32(eip)}, expected ${h32(c.eipOut)}`);
    const undef = wantExc === null ? undefinedFlags(c.m, ctx) : 0;
    const fmask = EFLAGS_COMPARED & ~undef;
    if (((eflags ^ c.eflagsOut) & fmask) !== 0) {
      problems.push(`eflags ${h32(eflags)}, expected ${h32(c.eflagsOut)} (differ ${h32((eflags ^ c.eflagsOut) & fmask)}, undefined ${h32(undef)} masked)`);
    }
    if (exc === null) {
      const [wes, wds] = c.ctx.sr ?? [USER_DS, USER_DS];
      const wss = c.ctx.ss ?? ((c.ctx.seg ?? [])[2] || USER_DS);
      if (cpu.segSel[SEG.SS] !== wss) problems.push(`ss ${cpu.segSel[SEG.SS]!.toString(16)}, expected ${wss.toString(16)}`);
      if (cpu.segSel[SEG.ES] !== wes || cpu.segSel[SEG.DS] !== wds) {
        problems.push(`es:ds ${cpu.segSel[SEG.ES]!.toString(16)}:${cpu.segSel[SEG.DS]!.toString(16)}, expected ${wes.toString(16)}:${wds.toString(16)}`);
      }
    }

    // memory: every window byte (a native compare of the window first)
    const ram = mem.mem;
    this.file.windows.forEach(([base = 0, size = 0], w) => {
      const touched = c.patches.some((p) => p.linAddr < base + size && p.linAddr + p.bytes.length > base) ||
        [...c.diffs.keys()].some((a) => a >= base && a < base + size);
      const e = touched ? this.expected[w]! : this.pristine[w]!;
      if (touched) {
        e.set(this.pristine[w]!);
        for (const p of c.patches) {
          for (let i = 0; i < p.bytes.length; i++) {
            const a = p.linAddr + i;
            if (a >= base && a < base + size) e[a - base] = p.bytes[i]!;
          }
        }
        for (const [a, v] of c.diffs) if (a >= base && a < base + size) e[a - base] = v;
      }
      const same = Buffer.from(ram.buffer, ram.byteOffset + base, size).equals(Buffer.from(e.buffer, e.byteOffset, size));
      if (!same) {
        const ig = this.ignore[w]!;
        ig.fill(0);
        for (const a of c.ctx.um ?? []) if (a >= base && a < base + size) ig[a - base] = 1;
        for (const a of extraIgnore) if (a >= base && a < base + size) ig[a - base] = 1;
        if (undefMemDest >= base && undefMemDest < base + size) ig.fill(1, undefMemDest - base, Math.min(size, undefMemDest - base + c.size / 8));
        let bad = 0;
        for (let k = 0; k < size; k++) {
          if (ram[base + k] !== e[k] && ig[k] === 0) {
            if (bad < 4) problems.push(`mem[${h32(base + k)}] ${ram[base + k]!.toString(16)}, expected ${e[k]!.toString(16)}`);
            bad++;
          }
        }
        if (bad > 4) problems.push(`... ${bad} bytes differ in the window at ${h32(base)}`);
      }
      // restore the window for the next case
      if (touched || !same) ram.set(this.pristine[w]!, base);
    });
    // the instruction and whatever it wrote around it
    const lo = Math.max(this.file.codeBase, insn - 0x40);
    mem.writeBytes(lo, this.fill.subarray(0, Math.min(codeEnd, insn + 0xc0) - lo));
    return { ok: problems.length === 0, problems };
  }

  /** A readable description of a case's inputs, for failure reports. */
  describe(c: OracleCase): string {
    const bytes = [...c.code].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const regs = REG_NAMES.map((n, i) => `${n}=${h32(c.regsIn[i]!)}`).join(' ');
    const patches = c.patches.map((p) => `[${h32(p.linAddr)}]=${[...p.bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`).join(' ');
    return `#${c.index} ${c.m}/${c.size} bytes ${bytes} | ${regs} eflags=${h32(c.eflagsIn)}${patches ? ` | mem ${patches}` : ''}${Object.keys(c.ctx).length ? ` | ctx ${JSON.stringify(c.ctx)}` : ''}`;
  }
}
