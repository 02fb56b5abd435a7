/**
 * The block compiler: a run of pre-decoded instructions that has executed
 * often (JIT_THRESHOLD times at its first instruction) is compiled into one
 * JavaScript function, so the run costs one call instead of one dispatch per
 * instruction, and each instruction's decoded operands are constants V8 can
 * fold. The function's text is assembled from the same handler bodies as
 * exec/pre-fast.ts (PRE_TEMPLATES, generated from one source); a test runs
 * random code with blocks, with single pre-decoded instructions and on the
 * byte-fetching path and requires identical states.
 *
 * What a block is: a straight run of instructions of one page with
 * pre-decoded handlers, starting at a cached slot, ending at a CALL, a RET,
 * a JMP that leaves it, before an instruction without a template (it then
 * runs on the ordinary path), at the page end, or after BLOCK_MAX
 * instructions. A branch (Jcc or JMP) to a later instruction of the block is
 * a forward jump inside the function, and one to the block's first
 * instruction loops inside it, so if/else shapes and small loops cost one
 * call; a branch anywhere else leaves the block when taken. It is keyed by
 * its first slot and dropped with it (refilled slot, written page, flush).
 *
 * Exactness (the interpreter's rules, instruction by instruction):
 *  - the caller enters a block only with no event pending and at least as
 *    many instructions left in the slice as the block has (no path through
 *    it is longer); a loop back to its start checks that again;
 *  - before an instruction that touches memory, `icount` and `instrEip` are
 *    stored (a fault restarts it with the right count; a device sees the
 *    right time); after it, a pending event (an interrupt raised by MMIO, a
 *    data breakpoint, or a write that dropped decoded code, which raises
 *    `eventsPending` too) ends the block with EIP at the next instruction;
 *  - instructions that touch only registers cannot fault or raise events, so
 *    they carry no bookkeeping;
 *  - EIP is relative to the block's entry EIP (the same physical code may be
 *    reached through several linear addresses).
 */
import type { Cpu } from '../cpu.js';
import { FLAG, ARITH_FLAGS } from '../flags.js';
import { imulS32, mulFlags, shift, inc, dec } from '../exec/alu.js';
import { PRE_FNS, PRE_TEMPLATES, type PreFn } from '../exec/pre-fast.js';

/** A compiled block: runs from entry EIP `e0`; the slice ends at icount `stop`. */
export type BlockFn = (c: Cpu, e0: number, stop: number) => void;

export const BLOCK_MAX = 48;
/** How far past a JMP the block goes on looking for its target (bytes). */
const JMP_REACH = 128;

const nameOf = new Map<PreFn, string>();
/** Handlers that touch only registers (no fault, no event, no memory write). */
function regOnly(name: string): boolean {
  return (name.endsWith('_reg') && !name.startsWith('push') && !name.startsWith('pop')) || name.startsWith('lea_') || name === 'inc_Rd' || name === 'dec_Rd';
}
/** JMP and Jcc with a 32-bit displacement: their target is known when the block is compiled. */
function isJump(name: string): boolean {
  return /^j[a-z]+_Jd$/.test(name);
}

const CONSTS = { CF: FLAG.CF, OF: FLAG.OF, AF: FLAG.AF, LOGIC_LAZY: FLAG.PF | FLAG.ZF | FLAG.SF, ARITH_FLAGS, SS: 2 };

function eaText(c: Cpu, s: number): string {
  const base = c.dcBase[s]!;
  const idx = c.dcIdx[s]!;
  const parts: string[] = [];
  if (base < 8) parts.push(`c.reg32[${base}]`);
  if (idx < 8) parts.push(c.dcScale[s]! ? `(c.reg32[${idx}] << ${c.dcScale[s]!})` : `c.reg32[${idx}]`);
  const disp = c.dcDisp[s]!;
  if (disp !== 0 || parts.length === 0) parts.push(`(${disp})`);
  const sum = parts.join(' + ');
  return c.dcMask[s] === -1 ? `((${sum}) | 0)` : `((${sum}) & 65535)`;
}

/** The condition of a Jcc template (`if (COND) { ...jump... }`, as gen-pre-fast.py writes them). */
function condOf(name: string): string {
  const t = PRE_TEMPLATES[name]!;
  const tail = ') {   const t = (c.eip + $I) | 0;   if (t >>> 0 > c.csFetchHi) c.jumpFault();   c.eip = t; }';
  if (!t.startsWith('if (') || !t.endsWith(tail)) throw new Error(`block-compiler: template ${name} has an unexpected shape`);
  return t.slice(4, t.length - tail.length);
}

/** A template split at its placeholders (odd indices), once per handler. */
const templateParts = new Map<string, string[]>();
function partsOf(name: string): string[] {
  let p = templateParts.get(name);
  if (p === undefined) templateParts.set(name, (p = PRE_TEMPLATES[name]!.split(/(\$EA|\$M|\$R|\$I|\$S|\$L)/)));
  return p;
}

interface Insn {
  name: string;
  body: string;
  rel: number;
  next: number;
  /** Branch target relative to the block's start (JMP/Jcc), else -1. */
  target: number;
}

/**
 * Compiles the block starting at mem offset `off` (slot `s`, already filled).
 * Returns null when its first instruction has no template. `decode(off, s)`
 * fills a slot (the CPU's decodeSlot); `mask` maps offsets to slots.
 */
export function compileBlock(c: Cpu, off: number, mask: number, decode: (off: number, s: number) => boolean): { fn: BlockFn; count: number } | null {
  if (nameOf.size === 0) for (const [name, f] of Object.entries(PRE_FNS)) nameOf.set(f, name);
  const pageEnd = off - (off & 0xfff) + 0x1000;
  const tags = c.dcTag;
  // 1. The instructions, in address order.
  const ins: Insn[] = [];
  let rel = 0;
  let reach = 0; // the block goes on at least to here (a JMP's forward target)
  while (ins.length < BLOCK_MAX && off + rel < pageEnd) {
    const p = off + rel;
    const s = p & mask;
    if (tags[s] !== p && !decode(p, s)) break;
    const name = nameOf.get(c.dcFn[s]!);
    const len = c.dcInfo[s]! & 0xff;
    if (name === undefined || len === 0) break;
    const next = rel + len;
    const parts = partsOf(name);
    let body = parts[0]!;
    for (let k = 1; k < parts.length; k += 2) {
      const ph = parts[k]!;
      body +=
        (ph === '$EA' ? eaText(c, s) : ph === '$M' ? String(c.dcM[s]!) : ph === '$R' ? String(c.dcR[s]!) : ph === '$I' ? `(${c.dcImm[s]!})` : ph === '$S' ? String(c.dcSeg[s]!) : `i${ins.length}`) +
        parts[k + 1]!;
    }
    const target = isJump(name) ? next + c.dcImm[s]! : -1;
    ins.push({ name, body, rel, next, target });
    rel = next;
    if (name === 'call_Jd' || name === 'ret_near32') break;
    if (name === 'jmp_Jd') {
      // Go on past a short forward JMP (its target may be in the block); stop at any other.
      if (target > next && target - next <= JMP_REACH) reach = Math.max(reach, target);
      else if (rel >= reach) break;
    }
  }
  if (ins.length === 0) return null;
  // 2. Branches inside the block: forward to an instruction of it, or back to its start.
  const indexAt = new Map<number, number>();
  ins.forEach((x, i) => indexAt.set(x.rel, i));
  const inner = ins.map((x, i) => (x.target >= 0 && (x.target === 0 || (indexAt.get(x.target) ?? -1) > i) ? indexAt.get(x.target)! : -1));
  // Drop what follows the last instruction that can run (after a JMP out, unless a forward jump lands there).
  let last = ins.length - 1;
  for (let i = 0; i < ins.length; i++) {
    const x = ins[i]!;
    const ends = x.name === 'call_Jd' || x.name === 'ret_near32' || (x.name === 'jmp_Jd' && inner[i]! <= 0);
    if (ends && !inner.some((j, k) => k < i && j > i)) {
      last = i;
      break;
    }
  }
  ins.length = last + 1;
  inner.length = last + 1;
  const n = ins.length;
  const loops = inner.includes(0);
  const targets = [...new Set(inner.filter((j) => j > 0))].sort((a, b) => b - a);
  // 3. The function text.
  const src: string[] = [loops ? 'let ic = c.icount;\ntop: for (;;) {' : 'let ic = c.icount;'];
  for (const j of targets) src.push(`t${j}: {`);
  for (let i = 0; i < n; i++) {
    if (targets.includes(i)) src.push('}');
    const x = ins[i]!;
    const { name, body, rel: r, next } = x;
    const j = inner[i]!;
    if (isJump(name)) {
      const cond = name === 'jmp_Jd' ? 'true' : condOf(name);
      // A branch with its target known: only the taken path does anything. A
      // target inside the page is inside the CS limit (a page is cached only
      // when all of it is), so only one outside it is checked.
      let taken: string;
      if (j > 0) taken = `ic += ${i + 1 - j}; break t${j};`;
      else if (j === 0) taken = `if (stop - (ic + ${i + 1}) < ${n}) { c.icount = ic + ${i + 1}; c.eip = e0; return; } ic += ${i + 1}; continue top;`;
      else {
        const po = (off & 0xfff) + x.target;
        const check = po >= 0 && po < 0x1000 ? '' : `if (t >>> 0 > c.csFetchHi) { c.icount = ic + ${i}; c.instrEip = (e0 + ${r}) | 0; c.eip = (e0 + ${next}) | 0; c.jumpFault(); } `;
        taken = `const t = (e0 + ${x.target}) | 0; ${check}c.icount = ic + ${i + 1}; c.eip = t; return;`;
      }
      src.push(cond === 'true' ? `{ ${taken} }` : `if (${cond}) { ${taken} }`);
      continue;
    }
    if (name === 'call_Jd' || name === 'ret_near32') {
      src.push(`c.icount = ic + ${i}; c.instrEip = (e0 + ${r}) | 0; c.eip = (e0 + ${next}) | 0;`);
      src.push(`i${i}: { ${body} }`);
      src.push(`c.icount = ic + ${i + 1}; return;`);
    } else if (regOnly(name)) {
      src.push(`i${i}: { ${body} }`);
    } else {
      src.push(`c.icount = ic + ${i}; c.instrEip = (e0 + ${r}) | 0;`);
      src.push(`i${i}: { ${body} }`);
      src.push(`if (c.eventsPending) { c.icount = ic + ${i + 1}; c.eip = (e0 + ${next}) | 0; return; }`);
    }
  }
  const lastIns = ins[n - 1]!;
  const fallsOff = !(lastIns.name === 'call_Jd' || lastIns.name === 'ret_near32' || lastIns.name === 'jmp_Jd');
  if (fallsOff) src.push(`c.icount = ic + ${n}; c.eip = (e0 + ${lastIns.next}) | 0; return;`);
  if (loops) src.push('}');
  const names = Object.keys(CONSTS);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(...names, 'imulS32', 'mulFlags', 'shift', 'inc', 'dec', `return function block(c, e0, stop) {\n${src.join('\n')}\n};`) as (...a: unknown[]) => BlockFn;
  const fn = factory(...names.map((k) => CONSTS[k as keyof typeof CONSTS]), imulS32, mulFlags, shift, inc, dec);
  return { fn, count: n };
}
