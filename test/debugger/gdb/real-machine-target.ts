/**
 * The gdb demo guest on the emulated PC, as a DebugTarget. Returns a string
 * (the reason) when the pieces needed are not there yet, so tests can skip
 * with a clear message.
 */
import type { DebugTarget } from '../../../debugger/timeline/target.js';

export async function realMachineDemoTarget(): Promise<DebugTarget | string> {
  return 'the emulated PC cannot boot the multiboot demo guest through the debugger yet (needs engine/pc.ts with multiboot loading and debugger/timeline/machine-target.ts); the same scenario runs on the toy machine';
}
