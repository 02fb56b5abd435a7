/**
 * Child process for the SIGKILL test: records the toy machine into a journal
 * file forever, printing "flushed N" after each flush to the OS, until the
 * parent kills it with SIGKILL.
 *
 * Usage: node record-child.js JOURNAL
 */
import { INPUT, ScriptedBoundary } from '../../../engine/replay/boundary.js';
import { startRecording } from '../../../engine/replay/session.js';
import { JournalFile } from '../../../engine/host/journal-file.js';
import { recordHeader } from '../../../engine/replay/session.js';
import { createToyPc, toyMachineConfig } from './toy-pc.js';
import { BOOT_MS, prng } from './toy-session.js';

const path = process.argv[2]!;
const toy = createToyPc(new ScriptedBoundary());
const opts = { bootWallMs: BOOT_MS, syncShift: 12, machineConfig: toyMachineConfig(toy.m), argv: ['record-child'] };
const file = new JournalFile(path, recordHeader(toy.m, opts), { flushIntervalMs: 5, flushBytes: 1 << 20 });
const rec = startRecording(toy.m, file.encoder, opts);
const rnd = prng(77);
let last = file.bytesWritten;
for (;;) {
  rec.runner.run(2000 + Math.floor(rnd() * 5000));
  rec.boundary.push(INPUT.SERIAL, 0, new Uint8Array([Math.floor(rnd() * 256)]));
  file.tick();
  if (file.bytesWritten !== last) {
    last = file.bytesWritten;
    process.stdout.write(`flushed ${last}\n`);
  }
}
