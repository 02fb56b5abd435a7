/**
 * THE opcode table: one declarative list of every IA-32 integer opcode this
 * CPU knows, feeding the executor (buildDispatch: a packed table of 1024
 * handlers, every slot filled), the length decoder and the disassembler
 * (decode/decoder.ts, disasm.ts).
 *
 * Each entry: opcode (0x000-0x0FF one-byte map, 0x100-0x1FF the 0F map),
 * optional ModRM reg field for group members, the mnemonic ("a|b" = the
 * 16-bit | 32-bit operand-size spelling), the operand specification in SDM
 * notation (Eb Ev Gb Gv Ib Iv Ibs Iw Jb Jv Ap Mp M Ob Ov Sw Cd Dd Rd Xb Xv
 * Yb Yv Zb Zv, fixed registers such as AL eAX DX CL 1, and segment names),
 * the handler (or [16-bit, 32-bit] handlers) and whether LOCK is allowed.
 */
import type { Cpu } from '../cpu.js';
import { SEG, EXC } from '../flags.js';
import * as O from '../exec/ops.js';
import * as C from '../exec/control.js';
import * as S from '../exec/string.js';
import * as Y from '../exec/system.js';
import * as F from '../exec/alu-fast.js';
import { daa, das, aaa, aas, aam, aad } from '../exec/alu.js';

export type Handler = (c: Cpu) => void;

export interface OpEntry {
  op: number;
  reg: number;
  mn: string;
  ops: string;
  h16: Handler;
  h32: Handler;
  lock: boolean;
}

export const OPS: OpEntry[] = [];

function e(op: number, mn: string, ops: string, h: Handler | [Handler, Handler], opt: { reg?: number; lock?: boolean } = {}): void {
  const [h16, h32] = Array.isArray(h) ? h : [h, h];
  OPS.push({ op, reg: opt.reg ?? -1, mn, ops, h16, h32, lock: opt.lock ?? false });
}
function both<T>(f: (is32: boolean) => T): [T, T] {
  return [f(false), f(true)];
}

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const SHIFTS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];
const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];

// ---- one-byte map ----
for (let i = 0; i < 8; i++) {
  const b = i << 3;
  const lk = i !== 7;
  e(b, ALU[i]!, 'Eb,Gb', F.ALU_EG.b[i]!, { lock: lk });
  e(b + 1, ALU[i]!, 'Ev,Gv', [F.ALU_EG.w[i]!, F.ALU_EG.d[i]!], { lock: lk });
  e(b + 2, ALU[i]!, 'Gb,Eb', F.ALU_GE.b[i]!);
  e(b + 3, ALU[i]!, 'Gv,Ev', [F.ALU_GE.w[i]!, F.ALU_GE.d[i]!]);
  e(b + 4, ALU[i]!, 'AL,Ib', O.aluALIb(i));
  e(b + 5, ALU[i]!, 'eAX,Iv', both((w) => O.aluAXIv(i, w)));
}
e(0x06, 'push', 'ES', both((w) => O.pushSeg(SEG.ES, w)));
e(0x07, 'pop', 'ES', both((w) => O.popSeg(SEG.ES, w)));
e(0x0e, 'push', 'CS', both((w) => O.pushSeg(SEG.CS, w)));
e(0x16, 'push', 'SS', both((w) => O.pushSeg(SEG.SS, w)));
e(0x17, 'pop', 'SS', both((w) => O.popSeg(SEG.SS, w)));
e(0x1e, 'push', 'DS', both((w) => O.pushSeg(SEG.DS, w)));
e(0x1f, 'pop', 'DS', both((w) => O.popSeg(SEG.DS, w)));
e(0x27, 'daa', '', daa);
e(0x2f, 'das', '', das);
e(0x37, 'aaa', '', aaa);
e(0x3f, 'aas', '', aas);
for (let r = 0; r < 8; r++) {
  e(0x40 + r, 'inc', 'Zv', [F.INCDEC.inc16[r]!, F.INCDEC.inc32[r]!]);
  e(0x48 + r, 'dec', 'Zv', [F.INCDEC.dec16[r]!, F.INCDEC.dec32[r]!]);
  e(0x50 + r, 'push', 'Zv', [O.pushReg(r, false), F.PUSH_R32[r]!]);
  e(0x58 + r, 'pop', 'Zv', [O.popReg(r, false), F.POP_R32[r]!]);
}
e(0x60, 'pusha|pushad', '', both(O.pusha));
e(0x61, 'popa|popad', '', both(O.popa));
e(0x62, 'bound', 'Gv,Ma', both(O.bound));
e(0x63, 'arpl', 'Ew,Gw', Y.arpl);
e(0x68, 'push', 'Iv', both((w) => O.pushImm(false, w)));
e(0x69, 'imul', 'Gv,Ev,Iv', both((w) => O.imulGvEv(2, w)));
e(0x6a, 'push', 'Ibs', both((w) => O.pushImm(true, w)));
e(0x6b, 'imul', 'Gv,Ev,Ibs', both((w) => O.imulGvEv(1, w)));
e(0x6c, 'insb', 'Yb,DX', S.stringOp(S.STR.INS, 1));
e(0x6d, 'insw|insd', 'Yv,DX', [S.stringOp(S.STR.INS, 2), S.stringOp(S.STR.INS, 4)]);
e(0x6e, 'outsb', 'DX,Xb', S.stringOp(S.STR.OUTS, 1));
e(0x6f, 'outsw|outsd', 'DX,Xv', [S.stringOp(S.STR.OUTS, 2), S.stringOp(S.STR.OUTS, 4)]);
for (let cc = 0; cc < 16; cc++) e(0x70 + cc, 'j' + CC[cc], 'Jb', F.JCC_JB[cc]!);
for (let i = 0; i < 8; i++) {
  e(0x80, ALU[i]!, 'Eb,Ib', O.grp1Eb, { reg: i, lock: i !== 7 });
  e(0x81, ALU[i]!, 'Ev,Iv', [F.ALU_EIZ.w[i]!, F.ALU_EIZ.d[i]!], { reg: i, lock: i !== 7 });
  e(0x82, ALU[i]!, 'Eb,Ib', O.grp1Eb, { reg: i, lock: i !== 7 });
  e(0x83, ALU[i]!, 'Ev,Ibs', [F.ALU_EIB.w[i]!, F.ALU_EIB.d[i]!], { reg: i, lock: i !== 7 });
}
e(0x84, 'test', 'Eb,Gb', O.test_EbGb);
e(0x85, 'test', 'Ev,Gv', [O.test_EvGv(false), F.test_EdGd]);
e(0x86, 'xchg', 'Eb,Gb', O.xchg_EbGb, { lock: true });
e(0x87, 'xchg', 'Ev,Gv', both(O.xchg_EvGv), { lock: true });
e(0x88, 'mov', 'Eb,Gb', O.mov_EbGb);
e(0x89, 'mov', 'Ev,Gv', [O.mov_EvGv_16, O.mov_EvGv_32]);
e(0x8a, 'mov', 'Gb,Eb', O.mov_GbEb);
e(0x8b, 'mov', 'Gv,Ev', [O.mov_GvEv_16, O.mov_GvEv_32]);
e(0x8c, 'mov', 'Ew,Sw', O.mov_EwSw);
e(0x8d, 'lea', 'Gv,M', [O.lea(false), F.lea_GdM]);
e(0x8e, 'mov', 'Sw,Ew', O.mov_SwEw);
e(0x8f, 'pop', 'Ev', both(O.pop_Ev), { reg: 0 });
e(0x90, 'nop', '', O.nop);
for (let r = 1; r < 8; r++) e(0x90 + r, 'xchg', 'Zv,eAX', both((w) => O.xchgAx(r, w)));
e(0x98, 'cbw|cwde', '', both(O.cbw));
e(0x99, 'cwd|cdq', '', both(O.cwd));
e(0x9a, 'call', 'Ap', both(C.callAp));
e(0x9b, 'fwait', '', (c) => c.x87.fwait());
e(0x9c, 'pushf|pushfd', '', both(O.pushf));
e(0x9d, 'popf|popfd', '', both(O.popf));
e(0x9e, 'sahf', '', O.sahf);
e(0x9f, 'lahf', '', O.lahf);
e(0xa0, 'mov', 'AL,Ob', O.movMoffs(false, true, false));
e(0xa1, 'mov', 'eAX,Ov', both((w) => O.movMoffs(false, false, w)));
e(0xa2, 'mov', 'Ob,AL', O.movMoffs(true, true, false));
e(0xa3, 'mov', 'Ov,eAX', both((w) => O.movMoffs(true, false, w)));
e(0xa4, 'movsb', 'Yb,Xb', S.stringOp(S.STR.MOVS, 1));
e(0xa5, 'movsw|movsd', 'Yv,Xv', [S.stringOp(S.STR.MOVS, 2), S.stringOp(S.STR.MOVS, 4)]);
e(0xa6, 'cmpsb', 'Xb,Yb', S.stringOp(S.STR.CMPS, 1));
e(0xa7, 'cmpsw|cmpsd', 'Xv,Yv', [S.stringOp(S.STR.CMPS, 2), S.stringOp(S.STR.CMPS, 4)]);
e(0xa8, 'test', 'AL,Ib', O.test_ALIb);
e(0xa9, 'test', 'eAX,Iv', [O.test_AXIv(false), F.test_EAXId]);
e(0xaa, 'stosb', 'Yb,AL', S.stringOp(S.STR.STOS, 1));
e(0xab, 'stosw|stosd', 'Yv,eAX', [S.stringOp(S.STR.STOS, 2), S.stringOp(S.STR.STOS, 4)]);
e(0xac, 'lodsb', 'AL,Xb', S.stringOp(S.STR.LODS, 1));
e(0xad, 'lodsw|lodsd', 'eAX,Xv', [S.stringOp(S.STR.LODS, 2), S.stringOp(S.STR.LODS, 4)]);
e(0xae, 'scasb', 'AL,Yb', S.stringOp(S.STR.SCAS, 1));
e(0xaf, 'scasw|scasd', 'eAX,Yv', [S.stringOp(S.STR.SCAS, 2), S.stringOp(S.STR.SCAS, 4)]);
for (let r = 0; r < 8; r++) {
  e(0xb0 + r, 'mov', 'Zb,Ib', O.movRegImm8(r));
  e(0xb8 + r, 'mov', 'Zv,Iv', [O.movRegImm(r, false), F.MOV_R32_ID[r]!]);
}
for (let i = 0; i < 8; i++) {
  e(0xc0, SHIFTS[i]!, 'Eb,Ib', O.grp2Eb(2), { reg: i });
  e(0xc1, SHIFTS[i]!, 'Ev,Ib', [O.grp2Ev(2, false), F.SHIFT32.Ib[i] ?? O.grp2Ev(2, true)], { reg: i });
  e(0xd0, SHIFTS[i]!, 'Eb,1', O.grp2Eb(0), { reg: i });
  e(0xd1, SHIFTS[i]!, 'Ev,1', [O.grp2Ev(0, false), F.SHIFT32['1'][i] ?? O.grp2Ev(0, true)], { reg: i });
  e(0xd2, SHIFTS[i]!, 'Eb,CL', O.grp2Eb(1), { reg: i });
  e(0xd3, SHIFTS[i]!, 'Ev,CL', [O.grp2Ev(1, false), F.SHIFT32.CL[i] ?? O.grp2Ev(1, true)], { reg: i });
}
e(0xc2, 'ret', 'Iw', both((w) => C.retNear(true, w)));
e(0xc3, 'ret', '', both((w) => C.retNear(false, w)));
e(0xc4, 'les', 'Gv,Mp', both((w) => C.loadFar(SEG.ES, w, 0xc4)));
e(0xc5, 'lds', 'Gv,Mp', both((w) => C.loadFar(SEG.DS, w, 0xc5)));
e(0xc6, 'mov', 'Eb,Ib', O.mov_EbIb, { reg: 0 });
e(0xc7, 'mov', 'Ev,Iv', both(O.mov_EvIv), { reg: 0 });
e(0xc8, 'enter', 'Iw,Ib', both(O.enter));
e(0xc9, 'leave', '', both(O.leave));
e(0xca, 'retf|retf', 'Iw', both((w) => C.retFar(true, w)));
e(0xcb, 'retf|retf', '', both((w) => C.retFar(false, w)));
e(0xcc, 'int3', '', C.int3);
e(0xcd, 'int', 'Ib', C.int_Ib);
e(0xce, 'into', '', C.into);
e(0xcf, 'iret|iretd', '', both(C.iret));
e(0xd4, 'aam', 'Ib', (c) => aam(c, c.fetch8()));
e(0xd5, 'aad', 'Ib', (c) => aad(c, c.fetch8()));
e(0xd6, 'salc', '', O.salc);
e(0xd7, 'xlat', 'XLAT', O.xlat);
for (let i = 0; i < 8; i++) e(0xd8 + i, 'fpu', 'FPU', (c) => c.x87.esc(0xd8 + i));
e(0xe0, 'loopne', 'Jb', C.loop(0));
e(0xe1, 'loope', 'Jb', C.loop(1));
e(0xe2, 'loop', 'Jb', C.loop(2));
e(0xe3, 'jcxz|jecxz', 'Jb', C.loop(3));
e(0xe4, 'in', 'AL,Ib', S.inOp(1, false));
e(0xe5, 'in', 'eAX,Ib', [S.inOp(2, false), S.inOp(4, false)]);
e(0xe6, 'out', 'Ib,AL', S.outOp(1, false));
e(0xe7, 'out', 'Ib,eAX', [S.outOp(2, false), S.outOp(4, false)]);
e(0xe8, 'call', 'Jv', both(C.callFull));
e(0xe9, 'jmp', 'Jv', both(C.jmpFull));
e(0xea, 'jmp', 'Ap', both(C.jmpAp));
e(0xeb, 'jmp', 'Jb', C.jmp8);
e(0xec, 'in', 'AL,DX', S.inOp(1, true));
e(0xed, 'in', 'eAX,DX', [S.inOp(2, true), S.inOp(4, true)]);
e(0xee, 'out', 'DX,AL', S.outOp(1, true));
e(0xef, 'out', 'DX,eAX', [S.outOp(2, true), S.outOp(4, true)]);
e(0xf1, 'int1', '', C.int1);
e(0xf4, 'hlt', '', Y.hlt);
e(0xf5, 'cmc', '', O.cmc);
e(0xf6, 'test', 'Eb,Ib', O.grp3Eb, { reg: 0 });
e(0xf6, 'test', 'Eb,Ib', O.grp3Eb, { reg: 1 });
e(0xf6, 'not', 'Eb', O.grp3Eb, { reg: 2, lock: true });
e(0xf6, 'neg', 'Eb', O.grp3Eb, { reg: 3, lock: true });
e(0xf6, 'mul', 'Eb', O.grp3Eb, { reg: 4 });
e(0xf6, 'imul', 'Eb', O.grp3Eb, { reg: 5 });
e(0xf6, 'div', 'Eb', O.grp3Eb, { reg: 6 });
e(0xf6, 'idiv', 'Eb', O.grp3Eb, { reg: 7 });
e(0xf7, 'test', 'Ev,Iv', both(O.grp3Ev), { reg: 0 });
e(0xf7, 'test', 'Ev,Iv', both(O.grp3Ev), { reg: 1 });
e(0xf7, 'not', 'Ev', both(O.grp3Ev), { reg: 2, lock: true });
e(0xf7, 'neg', 'Ev', both(O.grp3Ev), { reg: 3, lock: true });
e(0xf7, 'mul', 'Ev', both(O.grp3Ev), { reg: 4 });
e(0xf7, 'imul', 'Ev', both(O.grp3Ev), { reg: 5 });
e(0xf7, 'div', 'Ev', both(O.grp3Ev), { reg: 6 });
e(0xf7, 'idiv', 'Ev', both(O.grp3Ev), { reg: 7 });
e(0xf8, 'clc', '', O.clc);
e(0xf9, 'stc', '', O.stc);
e(0xfa, 'cli', '', O.cli);
e(0xfb, 'sti', '', O.sti);
e(0xfc, 'cld', '', O.cld);
e(0xfd, 'std', '', O.std);
e(0xfe, 'inc', 'Eb', O.grp4Eb, { reg: 0, lock: true });
e(0xfe, 'dec', 'Eb', O.grp4Eb, { reg: 1, lock: true });
e(0xff, 'inc', 'Ev', both((w) => (c: Cpu) => grp5IncDec(c, w, false)), { reg: 0, lock: true });
e(0xff, 'dec', 'Ev', both((w) => (c: Cpu) => grp5IncDec(c, w, true)), { reg: 1, lock: true });
e(0xff, 'call', 'Ev', both(C.callEv), { reg: 2 });
e(0xff, 'call', 'Mp', both(C.callEp), { reg: 3 });
e(0xff, 'jmp', 'Ev', both(C.jmpEv), { reg: 4 });
e(0xff, 'jmp', 'Mp', both(C.jmpEp), { reg: 5 });
e(0xff, 'push', 'Ev', both(O.push_Ev), { reg: 6 });

import { inc, dec } from '../exec/alu.js';
function grp5IncDec(c: Cpu, is32: boolean, isDec: boolean): void {
  const m = c.modrm;
  const size = is32 ? 31 : 15;
  if (m >= 0xc0) {
    if (is32) c.reg32[m & 7] = isDec ? dec(c, c.reg32[m & 7]!, size) : inc(c, c.reg32[m & 7]!, size);
    else c.reg16[(m & 7) << 1] = isDec ? dec(c, c.reg16[(m & 7) << 1]!, size) : inc(c, c.reg16[(m & 7) << 1]!, size);
    return;
  }
  const off = c.ea(m);
  if (is32) {
    const v = c.rmw32(c.eaSeg, off);
    c.wrRmw32(isDec ? dec(c, v, size) : inc(c, v, size));
  } else {
    const v = c.rmw16(c.eaSeg, off);
    c.wrRmw16(isDec ? dec(c, v, size) : inc(c, v, size));
  }
}

// ---- two-byte map (0F xx) ----
const T = 0x100;
e(T + 0x00, 'sldt', 'Ew', Y.grp6, { reg: 0 });
e(T + 0x00, 'str', 'Ew', Y.grp6, { reg: 1 });
e(T + 0x00, 'lldt', 'Ew', Y.grp6, { reg: 2 });
e(T + 0x00, 'ltr', 'Ew', Y.grp6, { reg: 3 });
e(T + 0x00, 'verr', 'Ew', Y.grp6, { reg: 4 });
e(T + 0x00, 'verw', 'Ew', Y.grp6, { reg: 5 });
e(T + 0x01, 'sgdt', 'M', Y.grp7, { reg: 0 });
e(T + 0x01, 'sidt', 'M', Y.grp7, { reg: 1 });
e(T + 0x01, 'lgdt', 'M', Y.grp7, { reg: 2 });
e(T + 0x01, 'lidt', 'M', Y.grp7, { reg: 3 });
e(T + 0x01, 'smsw', 'Ew', Y.grp7, { reg: 4 });
e(T + 0x01, 'lmsw', 'Ew', Y.grp7, { reg: 6 });
e(T + 0x01, 'invlpg', 'M', Y.grp7, { reg: 7 });
e(T + 0x02, 'lar', 'Gv,Ew', both((w) => Y.larLsl(false, w)));
e(T + 0x03, 'lsl', 'Gv,Ew', both((w) => Y.larLsl(true, w)));
e(T + 0x06, 'clts', '', Y.clts);
e(T + 0x08, 'invd', '', Y.invd);
e(T + 0x09, 'wbinvd', '', Y.invd);
e(T + 0x0b, 'ud2', '', Y.ud2);
for (let i = 0x19; i <= 0x1f; i++) e(T + i, 'nop', 'Ev', both((w) => (c: Cpu) => hintNop(c, w)));
e(T + 0x20, 'mov', 'Rd,Cd', Y.movCr(false));
e(T + 0x21, 'mov', 'Rd,Dd', Y.movDr(false));
e(T + 0x22, 'mov', 'Cd,Rd', Y.movCr(true));
e(T + 0x23, 'mov', 'Dd,Rd', Y.movDr(true));
e(T + 0x30, 'wrmsr', '', Y.wrmsr);
e(T + 0x31, 'rdtsc', '', Y.rdtsc);
e(T + 0x32, 'rdmsr', '', Y.rdmsr);
e(T + 0x33, 'rdpmc', '', Y.rdpmc);
e(T + 0x34, 'sysenter', '', Y.sysenter);
e(T + 0x35, 'sysexit', '', Y.sysexit);
for (let cc = 0; cc < 16; cc++) {
  e(T + 0x40 + cc, 'cmov' + CC[cc], 'Gv,Ev', both((w) => O.cmovcc(cc, w)));
  e(T + 0x80 + cc, 'j' + CC[cc], 'Jv', both((w) => C.jccFull(cc, w)));
  e(T + 0x90 + cc, 'set' + CC[cc], 'Eb', F.SETCC[cc]!);
}
e(T + 0xa0, 'push', 'FS', both((w) => O.pushSeg(SEG.FS, w)));
e(T + 0xa1, 'pop', 'FS', both((w) => O.popSeg(SEG.FS, w)));
e(T + 0xa2, 'cpuid', '', Y.cpuid);
e(T + 0xa3, 'bt', 'Ev,Gv', both((w) => O.bitTest(0, false, w)));
e(T + 0xa4, 'shld', 'Ev,Gv,Ib', both((w) => O.shxd(true, false, w)));
e(T + 0xa5, 'shld', 'Ev,Gv,CL', both((w) => O.shxd(true, true, w)));
e(T + 0xa8, 'push', 'GS', both((w) => O.pushSeg(SEG.GS, w)));
e(T + 0xa9, 'pop', 'GS', both((w) => O.popSeg(SEG.GS, w)));
e(T + 0xab, 'bts', 'Ev,Gv', both((w) => O.bitTest(1, false, w)), { lock: true });
e(T + 0xac, 'shrd', 'Ev,Gv,Ib', both((w) => O.shxd(false, false, w)));
e(T + 0xad, 'shrd', 'Ev,Gv,CL', both((w) => O.shxd(false, true, w)));
e(T + 0xaf, 'imul', 'Gv,Ev', both((w) => O.imulGvEv(0, w)));
e(T + 0xb0, 'cmpxchg', 'Eb,Gb', O.cmpxchg(true, false), { lock: true });
e(T + 0xb1, 'cmpxchg', 'Ev,Gv', both((w) => O.cmpxchg(false, w)), { lock: true });
e(T + 0xb2, 'lss', 'Gv,Mp', both((w) => C.loadFar(SEG.SS, w, 0x0fb2)));
e(T + 0xb3, 'btr', 'Ev,Gv', both((w) => O.bitTest(2, false, w)), { lock: true });
e(T + 0xb4, 'lfs', 'Gv,Mp', both((w) => C.loadFar(SEG.FS, w, 0x0fb4)));
e(T + 0xb5, 'lgs', 'Gv,Mp', both((w) => C.loadFar(SEG.GS, w, 0x0fb5)));
e(T + 0xb6, 'movzx', 'Gv,Eb', both((w) => O.movzx(true, w, false)));
e(T + 0xb7, 'movzx', 'Gv,Ew', both((w) => O.movzx(false, w, false)));
e(T + 0xba, 'bt', 'Ev,Ib', both((w) => O.bitTest(0, true, w)), { reg: 4 });
e(T + 0xba, 'bts', 'Ev,Ib', both((w) => O.bitTest(1, true, w)), { reg: 5, lock: true });
e(T + 0xba, 'btr', 'Ev,Ib', both((w) => O.bitTest(2, true, w)), { reg: 6, lock: true });
e(T + 0xba, 'btc', 'Ev,Ib', both((w) => O.bitTest(3, true, w)), { reg: 7, lock: true });
e(T + 0xbb, 'btc', 'Ev,Gv', both((w) => O.bitTest(3, false, w)), { lock: true });
e(T + 0xbc, 'bsf', 'Gv,Ev', both((w) => O.bitScan(false, w)));
e(T + 0xbd, 'bsr', 'Gv,Ev', both((w) => O.bitScan(true, w)));
e(T + 0xbe, 'movsx', 'Gv,Eb', both((w) => O.movzx(true, w, true)));
e(T + 0xbf, 'movsx', 'Gv,Ew', both((w) => O.movzx(false, w, true)));
e(T + 0xc0, 'xadd', 'Eb,Gb', O.xadd(true, false), { lock: true });
e(T + 0xc1, 'xadd', 'Ev,Gv', both((w) => O.xadd(false, w)), { lock: true });
e(T + 0xc7, 'cmpxchg8b', 'Mq', O.cmpxchg8b, { reg: 1, lock: true });
for (let r = 0; r < 8; r++) e(T + 0xc8 + r, 'bswap', 'Zd', O.bswap(r));
void REG32;

function hintNop(c: Cpu, _is32: boolean): void {
  const m = c.fetch8();
  if (m < 0xc0) c.ea(m);
}

// ---------------------------------------------------------------------------
// Prefixes and dispatch
// ---------------------------------------------------------------------------

export const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);

/** Lookup: entries by opcode index (0-0x1ff) and reg (-1 for non-group). */
export const BY_OPCODE: (OpEntry[] | undefined)[] = new Array(0x200);
for (const x of OPS) (BY_OPCODE[x.op] ??= []).push(x);

/** Does opcode index `op` (0-0x1ff) take a ModRM byte? */
export function hasModrm(op: number): boolean {
  const list = BY_OPCODE[op];
  if (!list) return false;
  const x = list[0]!;
  if (x.reg >= 0) return true;
  return /(^|,)(E[bwdv]|G[bwv]|M[a-z]?|Sw|Cd|Dd|Rd)(,|$)/.test(x.ops) || x.ops === 'FPU';
}

/** Builds the packed dispatch table: [0,256) 1-byte/16-bit, [256,512) 1-byte/32-bit, [512,768) 0F/16, [768,1024) 0F/32. */
export function buildDispatch(): Handler[] {
  const t: Handler[] = new Array(1024);
  const undef = (idx: number): Handler => (c) => c.undefinedOpcode(idx);
  for (let i = 0; i < 1024; i++) {
    const opIdx = (i & 0xff) | (i >= 512 ? 0x100 : 0);
    t[i] = undef(opIdx >= 0x100 ? 0x0f00 | (opIdx & 0xff) : opIdx);
  }
  for (let op = 0; op < 0x200; op++) {
    const list = BY_OPCODE[op];
    if (!list) continue;
    const base = op >= 0x100 ? 512 + (op & 0xff) : op;
    const isGroup = list[0]!.reg >= 0;
    for (const sz of [0, 1]) {
      if (!isGroup) {
        t[base + sz * 256] = sz ? list[0]!.h32 : list[0]!.h16;
        continue;
      }
      const sub: Handler[] = [];
      const udIdx = op >= 0x100 ? 0x0f00 | (op & 0xff) : op;
      for (let r = 0; r < 8; r++) {
        const x = list.find((y) => y.reg === r);
        sub.push(x ? (sz ? x.h32 : x.h16) : (c: Cpu) => c.undefinedOpcode(udIdx));
      }
      t[base + sz * 256] = (c) => {
        const m = c.fetch8();
        c.modrm = m;
        sub[(m >> 3) & 7]!(c);
      };
    }
  }
  // 32-bit group dispatchers with direct (inlinable) calls for the hottest groups
  t[0x83 + 256] = F.grp83_d;
  t[0x81 + 256] = F.grp81_d;
  t[0xc1 + 256] = F.grpC1_d;
  t[0xd1 + 256] = F.grpD1_d;
  t[0xd3 + 256] = F.grpD3_d;
  // prefixes
  const seg = (s: number): Handler => (c) => {
    c.segOvr = s;
    c.prefixed = true;
    c.notePrefix();
    const op = c.fetch8();
    c.ops[op | c.osz]!(c);
  };
  const opsize: Handler = (c) => {
    c.osz = c.code32 ? 0 : 256;
    c.prefixed = true;
    c.notePrefix();
    const op = c.fetch8();
    c.ops[op | c.osz]!(c);
  };
  const addrsize: Handler = (c) => {
    c.asz32 = !c.code32;
    c.prefixed = true;
    c.notePrefix();
    const op = c.fetch8();
    c.ops[op | c.osz]!(c);
  };
  const rep = (kind: number): Handler => (c) => {
    c.rep = kind;
    c.prefixed = true;
    c.notePrefix();
    const op = c.fetch8();
    c.ops[op | c.osz]!(c);
  };
  const twoByte: Handler = (c) => {
    const op = c.fetch8();
    c.ops[512 + (op | c.osz)]!(c);
  };
  for (const sz of [0, 256]) {
    t[0x26 + sz] = seg(SEG.ES);
    t[0x2e + sz] = seg(SEG.CS);
    t[0x36 + sz] = seg(SEG.SS);
    t[0x3e + sz] = seg(SEG.DS);
    t[0x64 + sz] = seg(SEG.FS);
    t[0x65 + sz] = seg(SEG.GS);
    t[0x66 + sz] = opsize;
    t[0x67 + sz] = addrsize;
    t[0xf0 + sz] = lockPrefix;
    t[0xf2 + sz] = rep(0xf2);
    t[0xf3 + sz] = rep(0xf3);
    t[0x0f + sz] = twoByte;
  }
  return t;
}

/** LOCK: looks ahead to the opcode and ModRM; #UD unless a lockable instruction with a memory destination. */
function lockPrefix(c: Cpu): void {
  const start = c.eip;
  let op = c.fetch8();
  while (PREFIXES.has(op)) op = c.fetch8();
  if (op === 0x0f) op = 0x100 | c.fetch8();
  const list = BY_OPCODE[op];
  let ok = false;
  if (list && list.some((x) => x.lock)) {
    const m = c.fetch8();
    if (m < 0xc0) {
      const r = (m >> 3) & 7;
      ok = list[0]!.reg < 0 ? list[0]!.lock : list.some((x) => x.reg === r && x.lock);
    }
  }
  if (!ok) c.fault(EXC.UD, -1);
  c.eip = start;
  c.lock = true;
  c.prefixed = true;
  c.notePrefix();
  const next = c.fetch8();
  c.ops[next | c.osz]!(c);
}
