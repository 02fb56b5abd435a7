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
 * What a block is: instructions of one page with pre-decoded handlers,
 * starting at a cached slot, ending after an unconditional control transfer
 * (a conditional branch leaves the block only when taken), before an
 * instruction without a template (it then runs on the ordinary path), at the
 * page end, or after BLOCK_MAX instructions. It is keyed by its first slot
 * and dropped with it (refilled slot, written page, flush).
 *
 * Exactness (the interpreter's rules, instruction by instruction):
 *  - the caller enters a block only with no event pending and at least as
 *    many instructions left in the slice as the block has;
 *  - before an instruction that touches memory, `icount` and `instrEip` are
 *    stored (a fault restarts it with the right count; a device sees the
 *    right time); after it, a pending event (an interrupt raised by MMIO, a
 *    data breakpoint) or a write to a page holding decoded code (`dcGen`
 *    moved) ends the block with EIP at the next instruction;
 *  - instructions that touch only registers cannot fault or raise events, so
 *    they carry no bookkeeping;
 *  - EIP is relative to the block's entry EIP (the same physical code may be
 *    reached through several linear addresses).
 */
import type { Cpu } from '../cpu.js';
import { FLAG, ARITH_FLAGS } from '../flags.js';
import { imulS32, mulFlags, shift, inc, dec } from '../exec/alu.js';
import { PRE_FNS, PRE_TEMPLATES, type PreFn } from '../exec/pre-fast.js';

/** A compiled block: runs from entry EIP `e0`; `g0` is `cpu.dcGen` at entry. */
export type BlockFn = (c: Cpu, e0: number, g0: number) => void;

export const BLOCK_MAX = 48;

const nameOf = new Map<PreFn, string>();
/** Handlers that touch only registers (no fault, no event, no memory write). */
function regOnly(name: string): boolean {
  return (name.endsWith('_reg') && !name.startsWith('push') && !name.startsWith('pop')) || name.startsWith('lea_') || name === 'inc_Rd' || name === 'dec_Rd';
}
function isCond(name: string): boolean {
  return /^j[a-z]+_Jd$/.test(name) && name !== 'jmp_Jd';
}
function isControl(name: string): boolean {
  return /^j[a-z]+_Jd$/.test(name) || name === 'call_Jd' || name === 'ret_near32';
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

/**
 * Compiles the block starting at mem offset `off` (slot `s`, already filled).
 * Returns null when its first instruction has no template. `decode(off, s)`
 * fills a slot (the CPU's decodeSlot); `mask` maps offsets to slots.
 */
export function compileBlock(c: Cpu, off: number, mask: number, decode: (off: number, s: number) => boolean): { fn: BlockFn; count: number } | null {
  if (nameOf.size === 0) for (const [name, f] of Object.entries(PRE_FNS)) nameOf.set(f, name);
  const pageEnd = off - (off & 0xfff) + 0x1000;
  const tags = c.dcTag;
  const src: string[] = ['const ic = c.icount;'];
  let rel = 0;
  let n = 0;
  let p = off;
  let ended = false;
  while (n < BLOCK_MAX && p < pageEnd) {
    const s = p & mask;
    if (tags[s] !== p && !decode(p, s)) break;
    const name = nameOf.get(c.dcFn[s]!);
    const len = c.dcLen[s]!;
    if (name === undefined || len === 0) break;
    const t = PRE_TEMPLATES[name]!;
    const next = rel + len;
    const body = t
      .replace(/\$EA/g, () => eaText(c, s))
      .replace(/\$M/g, String(c.dcM[s]!))
      .replace(/\$R/g, String(c.dcR[s]!))
      .replace(/\$I/g, `(${c.dcImm[s]!})`)
      .replace(/\$S/g, String(c.dcSeg[s]!))
      .replace(/\$L/g, `i${n}`);
    if (isCond(name)) {
      // A conditional branch leaves the block when taken; not taken, the block goes on.
      src.push(`c.icount = ic + ${n}; c.instrEip = (e0 + ${rel}) | 0; c.eip = (e0 + ${next}) | 0;`);
      src.push(`i${n}: { ${body} }`);
      src.push(`if (c.eip !== ((e0 + ${next}) | 0)) { c.icount = ic + ${n + 1}; return; }`);
    } else if (isControl(name)) {
      src.push(`c.icount = ic + ${n}; c.instrEip = (e0 + ${rel}) | 0; c.eip = (e0 + ${next}) | 0;`);
      src.push(`i${n}: { ${body} }`);
      src.push(`c.icount = ic + ${n + 1};`);
      n++;
      ended = true;
      break;
    }
    if (isCond(name)) {
      // (a branch touches no memory: no event can be pending)
    } else if (regOnly(name)) {
      src.push(`i${n}: { ${body} }`);
    } else {
      src.push(`c.icount = ic + ${n}; c.instrEip = (e0 + ${rel}) | 0;`);
      src.push(`i${n}: { ${body} }`);
      src.push(`if (c.eventsPending || c.dcGen !== g0) { c.icount = ic + ${n + 1}; c.eip = (e0 + ${next}) | 0; return; }`);
    }
    n++;
    rel = next;
    p = off + rel;
  }
  if (n === 0) return null;
  if (!ended) src.push(`c.icount = ic + ${n}; c.eip = (e0 + ${rel}) | 0;`);
  const names = Object.keys(CONSTS);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(...names, 'imulS32', 'mulFlags', 'shift', 'inc', 'dec', `return function block(c, e0, g0) {\n${src.join('\n')}\n};`) as (...a: unknown[]) => BlockFn;
  const fn = factory(...names.map((k) => CONSTS[k as keyof typeof CONSTS]), imulS32, mulFlags, shift, inc, dec);
  return { fn, count: n };
}
