/**
 * String instructions and port I/O. A REP-prefixed string instruction runs
 * several iterations per call, each retiring as one instruction (icount + 1),
 * up to the slice's stop icount; it stops early when an event is pending
 * (an interrupt raised by the I/O it did, a data breakpoint) or TF is set,
 * and leaves EIP on itself so the next "instruction" is the next iteration.
 */
import type { Cpu } from '../cpu.js';
import { FLAG, SEG } from '../flags.js';
import { alu } from './alu.js';
import type { H } from './ops.js';

export const STR = { MOVS: 0, CMPS: 1, STOS: 2, LODS: 3, SCAS: 4, INS: 5, OUTS: 6 } as const;

function rdSz(c: Cpu, seg: number, off: number, size: number): number {
  return size === 1 ? c.rd8(seg, off) : size === 2 ? c.rd16(seg, off) : c.rd32(seg, off);
}
function wrSz(c: Cpu, seg: number, off: number, size: number, v: number): void {
  if (size === 1) c.wr8(seg, off, v);
  else if (size === 2) c.wr16(seg, off, v);
  else c.wr32(seg, off, v);
}
function acc(c: Cpu, size: number): number {
  return size === 1 ? c.reg8[0]! : size === 2 ? c.reg16[0]! : c.reg32[0]!;
}
function setAcc(c: Cpu, size: number, v: number): void {
  if (size === 1) c.reg8[0] = v;
  else if (size === 2) c.reg16[0] = v;
  else c.reg32[0] = v;
}

/** One iteration; returns true if a CMPS/SCAS found ZF set. */
function iter(c: Cpu, kind: number, size: number): boolean {
  const a32 = c.asz32;
  const d = c.flags & FLAG.DF ? -size : size;
  const si = a32 ? c.reg32[6]! : c.reg16[12]!;
  const di = a32 ? c.reg32[7]! : c.reg16[14]!;
  const bits = size === 1 ? 7 : size === 2 ? 15 : 31;
  let zf = false;
  switch (kind) {
    case STR.MOVS: {
      const v = rdSz(c, c.dataSeg(), si, size);
      wrSz(c, SEG.ES, di, size, v);
      break;
    }
    case STR.CMPS: {
      const a = rdSz(c, c.dataSeg(), si, size);
      const b = rdSz(c, SEG.ES, di, size);
      alu(c, 7, a, b, bits);
      zf = a === b;
      break;
    }
    case STR.STOS:
      wrSz(c, SEG.ES, di, size, acc(c, size));
      break;
    case STR.LODS:
      setAcc(c, size, rdSz(c, c.dataSeg(), si, size));
      break;
    case STR.SCAS: {
      const a = acc(c, size);
      const b = rdSz(c, SEG.ES, di, size);
      alu(c, 7, a, b, bits);
      zf = a === b;
      break;
    }
    case STR.INS: {
      const port = c.reg16[4]!;
      c.checkIo(port, size);
      // probe the destination before the port read (a faulting INS must not consume input)
      if (size === 1) c.linW(SEG.ES, di, 1);
      c.probeWrite(c.linW(SEG.ES, di, size), size);
      const v = size === 1 ? c.ports.in8(port) : size === 2 ? c.ports.in16(port) : c.ports.in32(port);
      wrSz(c, SEG.ES, di, size, v);
      break;
    }
    default: {
      const port = c.reg16[4]!;
      c.checkIo(port, size);
      const v = rdSz(c, c.dataSeg(), si, size);
      if (size === 1) c.ports.out8(port, v);
      else if (size === 2) c.ports.out16(port, v);
      else c.ports.out32(port, v);
      break;
    }
  }
  const usesSi = kind === STR.MOVS || kind === STR.CMPS || kind === STR.LODS || kind === STR.OUTS;
  const usesDi = kind !== STR.LODS && kind !== STR.OUTS;
  if (a32) {
    if (usesSi) c.reg32[6] = (si + d) | 0;
    if (usesDi) c.reg32[7] = (di + d) | 0;
  } else {
    if (usesSi) c.reg16[12] = si + d;
    if (usesDi) c.reg16[14] = di + d;
  }
  return zf;
}

/**
 * REP MOVS/STOS fast path (32-bit addressing, DF = 0, no access tracking):
 * does as many iterations as fit in the current source/destination pages
 * with direct TLB hits and limits checked for the whole run, updating
 * ECX/ESI/EDI. Returns the number of iterations done (0: take the slow path).
 */
function bulkRun(c: Cpu, kind: number, size: number, count: number, budget: number): number {
  const di = c.reg32[7]!;
  let n = Math.min(count, budget, Math.floor((0x1000 - ((c.segBase[SEG.ES]! + di) & 0xfff)) / size));
  let srcIdx = -1;
  let si = 0;
  let srcSeg = 0;
  if (kind === STR.MOVS) {
    si = c.reg32[6]!;
    srcSeg = c.dataSeg();
    n = Math.min(n, Math.floor((0x1000 - ((c.segBase[srcSeg]! + si) & 0xfff)) / size));
  }
  if (n < 2) return 0;
  const bytes = n * size;
  // segment limits for the whole run (else the slow path faults at the exact iteration)
  const dOff = di >>> 0;
  if (dOff < c.segLo[SEG.ES]! || dOff + bytes - 1 > c.segHiW[SEG.ES]!) return 0;
  const dLin = (c.segBase[SEG.ES]! + di) | 0;
  const need = c.tlbNeed;
  const we = c.tlbW[dLin >>> 12]!;
  if ((we & need) !== need) return 0;
  const dstIdx = (we & ~3) * 1024 + (dLin & 0xfff);
  if (kind === STR.MOVS) {
    const sOff = si >>> 0;
    if (sOff < c.segLo[srcSeg]! || sOff + bytes - 1 > c.segHiR[srcSeg]!) return 0;
    const sLin = (c.segBase[srcSeg]! + si) | 0;
    const re = c.tlbR[sLin >>> 12]!;
    if ((re & need) !== need) return 0;
    srcIdx = (re & ~3) * 1024 + (sLin & 0xfff);
    // forward copies that overlap behind the destination replicate bytes: leave those to the slow path
    if (dstIdx > srcIdx && dstIdx < srcIdx + bytes) return 0;
    c.mem.copyWithin(dstIdx, srcIdx, srcIdx + bytes);
    c.reg32[6] = (si + bytes) | 0;
  } else if (size === 1) {
    c.mem.fill(c.reg8[0]!, dstIdx, dstIdx + bytes);
  } else if (size === 2) {
    const v = c.reg16[0]!;
    for (let i = 0; i < bytes; i += 2) {
      c.mem[dstIdx + i] = v;
      c.mem[dstIdx + i + 1] = v >>> 8;
    }
  } else {
    const v = c.reg32[0]!;
    if ((dstIdx & 3) === 0) c.mem32.fill(v, dstIdx >>> 2, (dstIdx + bytes) >>> 2);
    else
      for (let i = 0; i < bytes; i += 4) {
        c.mem[dstIdx + i] = v;
        c.mem[dstIdx + i + 1] = v >>> 8;
        c.mem[dstIdx + i + 2] = v >>> 16;
        c.mem[dstIdx + i + 3] = v >>> 24;
      }
  }
  c.reg32[7] = (di + bytes) | 0;
  c.reg32[1] = (count - n) | 0;
  return n;
}

export function stringOp(kind: number, size: number): H {
  const cond = kind === STR.CMPS || kind === STR.SCAS;
  const bulk = kind === STR.MOVS || kind === STR.STOS;
  return (c) => {
    if (c.rep === 0) {
      iter(c, kind, size);
      return;
    }
    const a32 = c.asz32;
    let count = a32 ? c.reg32[1]! >>> 0 : c.reg16[2]!;
    if (count === 0) return;
    let budget = c.stopIcount - c.icount;
    if (budget < 1 || c.flags & FLAG.TF) budget = 1;
    const repe = c.rep === 0xf3;
    if (bulk && a32 && (c.flags & FLAG.DF) === 0 && !c.noTlbFill && count > 1) {
      // Fast path: whole runs of iterations inside one source and one destination page.
      const done = bulkRun(c, kind, size, count, budget);
      if (done > 0) {
        count -= done;
        budget -= done;
        c.icount += done;
        if (count === 0) {
          c.icount--;
          return;
        }
        if (budget <= 0 || c.eventsPending) {
          c.eip = c.instrEip;
          c.icount--;
          return;
        }
      }
    }
    for (;;) {
      const zf = iter(c, kind, size);
      count = a32 ? (count - 1) >>> 0 : (count - 1) & 0xffff;
      if (a32) c.reg32[1] = count;
      else c.reg16[2] = count;
      c.icount++;
      if (count === 0 || (cond && zf !== repe)) break;
      if (--budget <= 0 || c.eventsPending) {
        c.eip = c.instrEip;
        break;
      }
    }
    c.icount--;
  };
}

// ---------------------------------------------------------------------------
// IN/OUT
// ---------------------------------------------------------------------------

/** IN AL/eAX, Ib|DX */
export function inOp(size: number, viaDx: boolean): H {
  return (c) => {
    const port = viaDx ? c.reg16[4]! : c.fetch8();
    c.checkIo(port, size);
    if (size === 1) c.reg8[0] = c.ports.in8(port);
    else if (size === 2) c.reg16[0] = c.ports.in16(port);
    else c.reg32[0] = c.ports.in32(port);
  };
}
export function outOp(size: number, viaDx: boolean): H {
  return (c) => {
    const port = viaDx ? c.reg16[4]! : c.fetch8();
    c.checkIo(port, size);
    if (size === 1) c.ports.out8(port, c.reg8[0]!);
    else if (size === 2) c.ports.out16(port, c.reg16[0]!);
    else c.ports.out32(port, c.reg32[0]!);
  };
}
