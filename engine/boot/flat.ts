/**
 * Flat binaries: raw bytes copied to a physical address, entered in real
 * mode at CS:IP or in 32-bit flat protected mode at EIP.
 */
import { RewindError, ERR, argError, describe } from '../errors.js';
import type { PhysMemory } from '../memory/phys-memory.js';
import { type EntryState, type EntryRegs, protected32Entry, BOOT_GDT_ADDR } from './entry-state.js';

export type FlatEntry =
  | { mode: 'real'; cs?: number; ip?: number; ss?: number; sp?: number; regs?: EntryRegs }
  | { mode: 'protected32'; eip?: number; regs?: EntryRegs };

/**
 * Loads `image` at `loadAddr`. Real mode defaults: CS = loadAddr >> 4,
 * IP = loadAddr & 15, DS = ES = SS = CS, SP = 0xFFFE (loadAddr must be below
 * 1 MiB). Protected mode defaults: EIP = loadAddr, flat segments, ESP = loadAddr.
 */
export function loadFlat(memory: PhysMemory, image: Uint8Array, loadAddr: number, entry: FlatEntry, name = 'flat binary'): EntryState {
  if (!(image instanceof Uint8Array)) throw argError(`${name} must be given as bytes (a Uint8Array), got ${describe(image)}`);
  if (!Number.isInteger(loadAddr) || loadAddr < 0) throw argError(`load address must be a non-negative integer, got ${String(loadAddr)}`);
  if (image.length === 0) throw new RewindError(ERR.IMAGE, `${name} is empty`);
  memory.loadIntoRam(loadAddr, image, name);
  const desc = `${name}: ${image.length} bytes at 0x${loadAddr.toString(16)}`;
  if (entry.mode === 'real') {
    const cs = entry.cs ?? loadAddr >>> 4;
    const ip = entry.ip ?? (entry.cs === undefined ? loadAddr & 15 : (loadAddr - cs * 16) >>> 0);
    if (cs > 0xffff || ip > 0xffff) throw argError(`real-mode entry ${cs.toString(16)}:${ip.toString(16)} is out of range (load below 1 MiB or give CS:IP)`);
    const ss = entry.ss ?? cs;
    return {
      mode: 'real', eip: ip, cs, ds: cs, es: cs, fs: cs, gs: cs, ss,
      regs: { esp: entry.sp ?? 0xfffe, ...entry.regs }, eflags: 0x2, gdt: null,
      description: `${desc}, real mode ${cs.toString(16).padStart(4, '0')}:${ip.toString(16).padStart(4, '0')}`,
    };
  }
  if (loadAddr < BOOT_GDT_ADDR + 32 && loadAddr + image.length > BOOT_GDT_ADDR) {
    throw argError(`${name} at 0x${loadAddr.toString(16)} would overlap the boot GDT at 0x${BOOT_GDT_ADDR.toString(16)}; load it elsewhere`);
  }
  const eip = entry.eip ?? loadAddr;
  return protected32Entry(memory, eip, { esp: loadAddr, ...entry.regs }, `${desc}, 32-bit protected mode at 0x${eip.toString(16)}`);
}
