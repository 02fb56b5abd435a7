/**
 * The gdb demo guest (fixtures/guests/gdb/demo.elf) on the toy machine: a
 * DebugTarget with symbols that real gdb can be pointed at before the
 * emulator's CPU exists.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToyMachine } from '../timeline/toy-machine.js';
import { repoRoot } from '../../util.js';

export const DEMO_ELF = join(repoRoot, 'fixtures', 'guests', 'gdb', 'demo.elf');

export function demoToyMachine(historyEnd = Infinity): ToyMachine {
  const m = new ToyMachine({ memBytes: 0x110000, checkpointInterval: 64, historyEnd });
  return m.loadElf(readFileSync(DEMO_ELF));
}
