/**
 * The TUI's controller over a real recording: the demo-style flow on a
 * committed guest (rm-alu prints on port 0xE9 and COM1), replayed through the
 * timeline Session with checkpoints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from 'ink-testing-library';
import { createPc } from '../../../engine/pc.js';
import { ScriptedBoundary, OUTPUT } from '../../../engine/replay/boundary.js';
import { MemorySink, decodeJournal } from '../../../engine/replay/journal.js';
import { startRecording, startReplay } from '../../../engine/replay/session.js';
import { STOP } from '../../../engine/device.js';
import { MachineTarget } from '../../../debugger/timeline/machine-target.js';
import { Session } from '../../../debugger/timeline/session.js';
import { SessionController, OutputLog } from '../../../debugger/tui/session-controller.js';
import { App } from '../../../debugger/tui/App.js';
import { guestImage } from '../../support/guest-runner.js';

const BOOT_MS = 1767225600000;
const GUEST = 'rm-alu';

function open(ctlOpts: { clock?: () => number } = {}) {
  const image = guestImage(GUEST);
  const mk = () => createPc({ ramBytes: 16 << 20, nic: false }, { boundary: new ScriptedBoundary([], BOOT_MS) }, { kind: 'bios', image, name: GUEST });
  const recPc = mk();
  const sink = new MemorySink();
  const rec = startRecording(recPc.machine, sink, { bootWallMs: BOOT_MS, syncShift: 12, machineConfig: { guest: GUEST } });
  let r;
  do r = rec.runner.run(1_000_000, 5_000_000);
  while (r.reason === STOP.BUDGET);
  rec.runner.finishRecording();
  const journal = decodeJournal(sink.bytes());

  const pc = mk();
  const log = new OutputLog();
  pc.machine.onOutput = (kind, _t, data) => {
    if (kind === OUTPUT.DEBUGCON || kind === OUTPUT.SERIAL) log.appendSerial(pc.machine.icount, data);
  };
  const rp = startReplay(pc.machine, journal, { checkpointInterval: 500 });
  const target = new MachineTarget(rp.runner);
  target.run(target.historyEnd, null); // one pass: checkpoints and the output log
  pc.machine.onOutput = () => {};
  const session = new Session(target, { yieldFn: () => Promise.resolve() });
  session.seek(0);
  return { session, log, ctl: new SessionController(session, { title: `${GUEST}.rwj`, log, ...ctlOpts }), end: target.historyEnd };
}

test('the controller shows the guest at any instant, and the console rewinds with it', async () => {
  const { ctl, log, end } = open();
  const v0 = ctl.view();
  assert.equal(v0.icount, 0);
  assert.equal(v0.eip, 0xfffffff0, 'reset vector: CS base 0xFFFF0000 after RESET');
  assert.equal(v0.mode, 'real mode');
  assert.equal(v0.serial, '', 'nothing printed yet at icount 0');
  const full = log.serialAt(end + 1);
  assert.match(full, /PASS rm-alu/);
  await ctl.seek(end);
  assert.equal(ctl.view().serial, full);
  // Half-way through, the console shows only what had been printed by then.
  const half = Math.floor(end / 2);
  await ctl.seek(half);
  assert.ok(full.startsWith(ctl.view().serial) && ctl.view().serial.length < full.length);
  // Step forward, then back: the same registers.
  const before = ctl.view();
  await ctl.step(1);
  await ctl.step(-1);
  assert.deepEqual(ctl.view().registers, before.registers);
  assert.equal(ctl.view().icount, half);
});

test('breakpoints and commands drive the session', async () => {
  const { ctl, session } = open();
  const eip = ctl.view().eip;
  assert.match(ctl.toggleBreakpoint(eip), /^breakpoint 1 at 0xfffffff0/);
  assert.ok(ctl.view().breakpoints.has(eip));
  assert.match(ctl.toggleBreakpoint(eip), /removed/);
  assert.match(await ctl.command('print eax + 1'), /^eax \+ 1 = 0x/);
  assert.match(await ctl.command('goto 100'), /seek/);
  assert.equal(session.target.icount, 100);
  assert.match(await ctl.command('watch 0x500 2 w'), /^watchpoint 2: write of 2 byte\(s\) at 0x00000500/);
  assert.match(await ctl.command('catch exception 6'), /catchpoint 3/);
  assert.match(await ctl.command('points'), /2 hits=0 · 3 hits=0/);
  assert.match(await ctl.command('delete all'), /deleted 2/);
  await assert.rejects(ctl.command('frobnicate'), /unknown command "frobnicate"/);
  await assert.rejects(ctl.command('delete 99'), /no point "99"/);
});

test('the TUI renders the real session and steps backwards and forwards', async () => {
  const { ctl } = open();
  await ctl.seek(200);
  const ui = render(<App controller={ctl} env={{ NO_COLOR: '1' }} />);
  const settle = async () => {
    for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r));
  };
  await settle();
  const f0 = ui.lastFrame()!;
  assert.match(f0, /icount 200 of/);
  assert.match(f0, /Registers · real mode/);
  ui.stdin.write('s');
  await settle();
  assert.match(ui.lastFrame()!, /icount 201 of/);
  ui.stdin.write('S');
  await settle();
  ui.stdin.write('S');
  await settle();
  assert.match(ui.lastFrame()!, /icount 199 of/);
  ui.unmount();
});

const settle = async (): Promise<void> => {
  for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r));
};

test('the status bar shows the speed of the last run, measured with the clock the opener passes', async () => {
  // A clock that moves 25 ms per reading: a run read at its start and end lasts 25 ms.
  let ms = 0;
  const { ctl, end } = open({ clock: () => (ms += 25) });
  await ctl.seek(200);
  const ui = render(<App controller={ctl} env={{ NO_COLOR: '1' }} now={() => 0} />);
  await settle();
  const first = ui.lastFrame()!.split('\n')[0]!;
  assert.match(first, /icount 200 \/ /);
  assert.doesNotMatch(first, /MIPS/, 'no speed before a run');
  ui.stdin.write('c');
  for (let i = 0; i < 50 && !/end of recorded history|guest exit/.test(ui.lastFrame()!); i++) await settle();
  const status = ui.lastFrame()!.split('\n')[0]!;
  // (end - 200) instructions in 25 ms.
  const mips = ((end - 200) * 1000) / 25 / 1e6;
  assert.ok(status.includes(` · ${mips.toFixed(1)} MIPS`), status);
  // Without a clock (and no speed source) the controller reports none.
  assert.equal(open().ctl.speed(), null);
  ui.unmount();
});

test('a live session: after stepping back the status bar and timeline still show the recorded end (the frontier)', async () => {
  const image = guestImage(GUEST);
  const pc = createPc({ ramBytes: 16 << 20, nic: false }, { boundary: new ScriptedBoundary([], BOOT_MS) }, { kind: 'bios', image, name: GUEST });
  const rec = startRecording(pc.machine, new MemorySink(), { bootWallMs: BOOT_MS, syncShift: 12, machineConfig: { guest: GUEST }, checkpointInterval: 500 });
  const target = new MachineTarget(rec.runner, { record: rec.boundary, startIcount: 0, fields: rec.encoder.header.fields });
  const session = new Session(target, { yieldFn: () => Promise.resolve() });
  const ctl = new SessionController(session, { title: `live: ${GUEST}`, log: new OutputLog() });
  await session.runTo(3000);
  assert.equal(target.historyEnd, Infinity);
  const ui = render(<App controller={ctl} env={{ NO_COLOR: '1' }} />);
  await settle();
  assert.match(ui.lastFrame()!, /live: rm-alu · icount 3,000 \/ 3,000 /);
  ui.stdin.write('S');
  await settle();
  ui.stdin.write('S');
  await settle();
  const f = ui.lastFrame()!;
  assert.match(f, /live: rm-alu · icount 2,998 \/ 3,000 /);
  assert.match(f, /icount 2,998 of 3,000/, 'the timeline spans the recorded history');
  assert.equal(ctl.view().historyEnd, 3000);
  ui.unmount();
});
