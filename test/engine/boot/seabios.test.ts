/**
 * Unmodified firmware on the platform: Debian's SeaBIOS (package `seabios`,
 * /usr/share/seabios/bios.bin) runs its POST on the PC (engine/pc.ts) and
 * reports through its debug port 0x402 what it found: RAM size from the CMOS,
 * the PCI devices, PIRQ/ELCR setup, shadow RAM (it relocates itself), the
 * serial ports, the PS/2 keyboard, the e820 map, and finally that nothing is
 * bootable. Skips when the package is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createPc } from '../../../engine/pc.js';
import { ScriptedBoundary, OUTPUT } from '../../../engine/replay/boundary.js';

const BIOS = '/usr/share/seabios/bios.bin';

test('SeaBIOS completes POST on the PC devices', { skip: existsSync(BIOS) ? false : `${BIOS} is missing (apt-get install seabios)` }, () => {
  const pc = createPc({ ramBytes: 64 << 20 }, { boundary: new ScriptedBoundary([], Date.UTC(2026, 0, 1)) }, { kind: 'bios', image: new Uint8Array(readFileSync(BIOS)), name: 'bios.bin' });
  let log = '';
  pc.machine.onOutput = (kind, target, data) => {
    if (kind === OUTPUT.DEBUGCON && target === 1) for (const b of data) log += String.fromCharCode(b);
  };
  for (let i = 0; i < 100 && !log.includes('No bootable device'); i++) pc.machine.run(10_000_000);
  assert.match(log, /RamSize: 0x04000000 \[cmos\]/);
  assert.match(log, /Relocating init from/, 'shadow RAM through PAM');
  assert.match(log, /Found 3 PCI devices/);
  assert.match(log, /PCI: init bdf=00:00\.0 id=8086:1237/);
  assert.match(log, /PCI: init bdf=00:01\.0 id=8086:7000/);
  assert.match(log, /PIIX3\/PIIX4 init: elcr=00 0c/);
  assert.match(log, /Found 2 serial ports/);
  assert.match(log, /PS2 keyboard initialized/);
  assert.match(log, /e820 map has 5 items/);
  assert.match(log, /No bootable device/);
  assert.equal(pc.machine.resets, 0);
});
