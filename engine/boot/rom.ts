/**
 * Firmware images: a BIOS (or a test guest built as one) mapped the way the
 * chipset decodes it, the last 128 KiB below 1 MiB and the whole image below
 * 4 GiB. Execution starts at the reset vector 0xFFFFFFF0 with the CPU's
 * power-on state; there is no entry state to apply.
 */
import { RewindError, ERR, argError, describe } from '../errors.js';
import type { PhysMemory } from '../memory/phys-memory.js';

export const BIOS_MIN_BYTES = 64 * 1024;
export const BIOS_MAX_BYTES = 16 * 1024 * 1024;

/** Checks and maps a BIOS image. `name` names it in errors. */
export function loadBios(memory: PhysMemory, image: Uint8Array, name = 'BIOS image'): void {
  if (!(image instanceof Uint8Array)) throw argError(`${name} must be given as bytes (a Uint8Array), got ${describe(image)}`);
  const n = image.length;
  if (n < BIOS_MIN_BYTES || n > BIOS_MAX_BYTES || n % BIOS_MIN_BYTES !== 0) {
    throw new RewindError(ERR.IMAGE, `${name} is ${n} bytes; a BIOS image must be a multiple of 64 KiB, from 64 KiB to 16 MiB`);
  }
  // The reset vector (16 bytes below the top) must hold code: all 0x00 or all 0xFF there is an empty image.
  const tail = image.subarray(n - 16);
  if (tail.every((b) => b === 0xff) || tail.every((b) => b === 0)) {
    throw new RewindError(ERR.IMAGE, `${name} has no code at its reset vector (the last 16 bytes are blank)`);
  }
  memory.mapBios(image);
}
