/**
 * V8 settings the emulator's speed depends on, set once by each entry point
 * (the `rewind` CLI, the benchmarks, the Linux test harness) before the CPU
 * gets hot.
 *
 * --max-inlined-bytecode-size-cumulative: a compiled block
 * (engine/cpu/decode/block-compiler.ts) calls the CPU's memory accessors
 * (rd32, wr32, ...) once per memory operand; with V8's default budget (920
 * bytes of inlined bytecode per function) most of those calls stay calls.
 * 5000 lets V8 inline them: the Linux decompressor runs 64 -> 80 MIPS.
 * The flag changes only what V8 optimizes, never what code computes.
 */
import { setFlagsFromString } from 'node:v8';

let tuned = false;

export function tuneV8(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString('--max-inlined-bytecode-size-cumulative=5000');
}
