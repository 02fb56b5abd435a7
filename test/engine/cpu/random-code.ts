/**
 * Random instruction streams for differential CPU tests: mostly the integer
 * families the decode cache pre-decodes (ALU, MOV, TEST, LEA, group 1/2/3,
 * MOVZX/MOVSX, IMUL, Jcc, JMP, PUSH/POP/INC/DEC, small counted loops), with
 * prefixes and every ModRM/SIB form, and register values that point into the
 * code so stores patch it.
 */
import { protectedMode, realMode, type TestMachine } from './helpers.js';

const CODE = 0x10000;

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}


/** Random code built mostly from the instruction families the cache pre-decodes. */
export function randomCode(r: () => number, n: number, bits: 16 | 32): Uint8Array {
  const out: number[] = [];
  const byte = (): number => (r() * 256) | 0;
  const pick = <T>(xs: readonly T[]): T => xs[(r() * xs.length) | 0]!;
  const modrmTail = (reg = (r() * 8) | 0): void => {
    const mod = (r() * 4) | 0;
    const rm = (r() * 8) | 0;
    out.push((mod << 6) | (reg << 3) | rm);
    if (mod === 3) return;
    if (bits === 32) {
      if (rm === 4) {
        const sib = byte();
        out.push(sib);
        if ((sib & 7) === 5 && mod === 0) out.push(byte(), byte(), byte(), byte());
      }
      if (rm === 5 && mod === 0) out.push(byte(), byte(), byte(), byte());
      if (mod === 1) out.push(byte());
      if (mod === 2) out.push(byte(), byte(), byte(), byte());
    } else {
      if (rm === 6 && mod === 0) out.push(byte(), byte());
      if (mod === 1) out.push(byte());
      if (mod === 2) out.push(byte(), byte());
    }
  };
  const imm = (k: number): void => {
    for (let i = 0; i < k; i++) out.push(byte());
  };
  const modrmOps = [0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x10, 0x11, 0x13, 0x18, 0x19, 0x1b, 0x20, 0x21, 0x23, 0x28, 0x29, 0x2b, 0x30, 0x31, 0x33, 0x38, 0x39, 0x3a, 0x3b, 0x84, 0x85, 0x88, 0x89, 0x8a, 0x8b, 0x8d];
  while (out.length < n) {
    const k = r();
    if (r() < 0.15) out.push(pick([0x66, 0x67, 0x3e, 0x26, 0x64, 0x36]));
    if (k < 0.45) {
      out.push(pick(modrmOps));
      modrmTail();
    } else if (k < 0.55) {
      const op = pick([0x80, 0x81, 0x83, 0xc6, 0xc7, 0xf6, 0xf7, 0xc1, 0xd1, 0xd3, 0x69, 0x6b]);
      out.push(op);
      modrmTail();
      imm(op === 0x81 || op === 0xc7 || op === 0xf7 || op === 0x69 ? 4 : op === 0xd1 || op === 0xd3 ? 0 : 1);
    } else if (k < 0.6) {
      out.push(0x0f, pick([0xb6, 0xb7, 0xbe, 0xbf, 0xaf, 0x90, 0x94, 0x97, 0x9c, 0x9f]));
      modrmTail();
    } else if (k < 0.65) {
      const op = pick([0xc0, 0xd0, 0xd2, 0xff]);
      out.push(op);
      modrmTail(op === 0xff ? (r() * 2) | 0 : (r() * 8) | 0);
      if (op === 0xc0) imm(1);
    } else if (k < 0.75) {
      out.push(pick([0x04, 0x05, 0x0c, 0x2d, 0x3c, 0x3d, 0xa8, 0xa9, 0xb0, 0xb3, 0xb8, 0xbe, 0x68, 0x6a]));
      imm(4);
    } else if (k < 0.85) {
      out.push(pick([0x40, 0x43, 0x48, 0x4e, 0x50, 0x53, 0x58, 0x5b, 0x90, 0xf8, 0xf9, 0xfc]));
    } else if (k < 0.91) {
      // short forward branches keep the stream mostly straight-line
      out.push(0x70 + ((r() * 16) | 0), (r() * 12) | 0);
    } else if (k < 0.92) {
      out.push(0xeb, (r() * 12) | 0);
    } else if (k < 0.93) {
      // a small counted loop: mov ecx,n / L: inc/add reg / dec ecx / jnz L (blocks loop inside themselves)
      const body = [pick([0x40, 0x42, 0x43, 0x46]), ...(r() < 0.5 ? [0x01, pick([0xc0, 0xc2, 0xc3, 0xc6, 0xc7])] : [])];
      out.push(0xb9, 1 + ((r() * 9) | 0), 0, 0, 0, ...body, 0x49, 0x75, (-(body.length + 3)) & 0xff);
    } else {
      out.push(0x0f, 0x80 + ((r() * 16) | 0), (r() * 12) | 0, 0, 0, 0);
    }
  }
  return new Uint8Array(out);
}

export function setupRandom(bits: 16 | 32, code: Uint8Array, r: () => number): TestMachine {
  const t = bits === 32 ? protectedMode(code) : realMode(code);
  for (let i = 0; i < 8; i++) {
    if (i === 4) continue;
    // Some registers point into the code page, so stores patch code that has run.
    const near = bits === 32 ? CODE + ((r() * 0x1000) | 0) : 0x1000 + ((r() * 0x1000) | 0);
    t.cpu.reg32[i] = r() < 0.5 ? near : (r() * 0x100000000) | 0;
  }
  return t;
}

