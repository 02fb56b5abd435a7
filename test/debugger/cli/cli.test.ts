/**
 * The rewind CLI in-process: help, every usage mistake as one line and exit
 * status 2 (1 for bad files), run of self-checking guests (exit status and
 * summary), --until-serial, record -> replay with piped serial input, info on
 * complete and truncated journals, snapshots and go-live branches, and
 * `rewind test` over passing and failing recordings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, copyFileSync, readFileSync, writeFileSync, existsSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, GUESTS } from './cli-harness.js';
import { COMMANDS } from '../../../debugger/cli/commands.js';
import { JournalEncoder, MemorySink, decodeJournal } from '../../../engine/replay/journal.js';

const ROM = (n: string): string => join(GUESTS, `${n}.rom`);

function oneLine(s: string): void {
  assert.equal(s.split('\n').filter((l) => l.length > 0).length, 1, `exactly one line on stderr: ${JSON.stringify(s)}`);
  assert.match(s, /^rewind: /);
  assert.doesNotMatch(s, /\n\s+at /, 'no stack trace');
}

test('help: the command list, and usage, options and examples for every command', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${c.name} `, 'm'));
  for (const c of COMMANDS) {
    const h = await runCli([c.name, '--help']);
    assert.equal(h.code, 0, c.name);
    assert.match(h.stdout, /^Usage: rewind /, c.name);
    assert.match(h.stdout, /\nExamples:\n  /, c.name);
  }
  const run = (await runCli(['run', '-h'])).stdout;
  for (const o of ['--bios FILE', '--kernel FILE', '--initrd FILE', '--append TEXT', '--flat FILE@ADDR', '--multiboot FILE', '--module', '--memory MIB', '--clock MODE', '--serial', '--nic', '--mac', '--pcap PATH', '--max-instructions N', '--until-serial TEXT', '--quiet']) assert.ok(run.includes(o), `run --help mentions ${o}`);
  assert.match(run, /Ctrl-A x quits/);
  assert.equal((await runCli([])).code, 2, 'no command is a usage error');
  assert.match((await runCli(['--version'])).stdout, /^rewind \d+\.\d+\.\d+\n$/);
});

test('usage mistakes: one line naming the problem, exit status 2; unreadable or unknown files: exit status 1', async (t) => {
  const dir = tempDir(t);
  const junk = join(dir, 'junk.bin');
  writeFileSync(junk, 'not a rom, not a journal');
  const cases: [string[], RegExp, number][] = [
    [['frobnicate'], /unknown command "frobnicate"/, 2],
    [['run'], /nothing to boot/, 2],
    [['run', '--memroy', '5', ROM('rm-alu')], /unknown option --memroy/, 2],
    [['run', '--memory', '0', ROM('rm-alu')], /--memory must be between 1 and 3584/, 2],
    [['run', '--bios', ROM('rm-alu'), '--kernel', ROM('rm-alu')], /choose one of --bios, --kernel/, 2],
    [['run', ROM('rm-alu'), ROM('rm-alu')], /unexpected argument/, 2],
    [['run', '--flat', junk], /--flat must be FILE@ADDR/, 2],
    [['run', '--flat', `${junk}@0x7c00`, '--entry', 'long'], /--entry must be real/, 2],
    [['run', '--initrd', junk, ROM('rm-alu')], /--initrd needs --kernel/, 2],
    [['run', ROM('rm-alu'), '--serial', 'tcp:1'], /--serial must be stdio, file:PATH or none/, 2],
    [['run', ROM('rm-alu'), '--clock', 'wall'], /--clock must be one of host, virtual/, 2],
    [['run', ROM('rm-alu'), '--nic', 'tcp:5'], /--nic must look like udp:PORT/, 2],
    [['run', ROM('rm-alu'), '--mac', '01:00:5e:00:00:01'], /multicast/, 2],
    [['run', ROM('rm-alu'), '--max-instructions', 'lots'], /--max-instructions needs an integer/, 2],
    [['run', join(dir, 'missing.rom')], /cannot read BIOS image .*missing\.rom: ENOENT/, 1],
    [['run', junk], /multiple of 64 KiB/, 1],
    [['run', '--kernel', junk], /junk\.bin/, 1],
    [['record', ROM('rm-alu')], /record needs -o FILE/, 2],
    [['record', '-o', join(dir, 'x.rwj'), ROM('rm-alu'), '--expect', 'colour:red'], /unknown expectation "colour"/, 2],
    [['record', '-o', join(dir, 'x.rwj'), ROM('rm-alu'), '--expect', 'reaches:nowhere', '--symbols', join(GUESTS, 'demo.sym')], /no such symbol/, 2],
    [['replay'], /replay needs a journal FILE/, 2],
    [['replay', join(dir, 'none.rwj')], /cannot open journal .*none\.rwj: ENOENT/, 1],
    [['replay', junk], /junk\.bin: /, 1],
    [['info', junk], /junk\.bin: /, 1],
    [['snapshot', 'take'], /unknown snapshot subcommand "take"/, 2],
    [['snapshot', 'save', junk], /snapshot save needs --at ICOUNT/, 2],
    [['test', dir], /no journals \(\*\.rwj\) found/, 2],
    [['test', join(dir, 'nothing-here')], /no such file or folder/, 2],
    [['debug', join(dir, 'x.rwj')], /rewind debug needs a terminal/, 1],
    [['gdb', junk, '--port', '70000'], /--port must be between 0 and 65535/, 2],
    [['demo', 'extra'], /demo takes no arguments/, 2],
  ];
  for (const [argv, re, code] of cases) {
    const r = await runCli(argv);
    assert.equal(r.code, code, `${argv.join(' ')}: ${r.stderr}`);
    oneLine(r.stderr);
    assert.match(r.stderr, re, argv.join(' '));
  }
});

test('run: a self-checking guest passes, its exit status is the process status, and the summary says why it stopped', async () => {
  const r = await runCli(['run', ROM('rm-alu'), '--clock', 'virtual']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /PASS rm-alu \(107 checks\)/);
  oneLine(r.stderr);
  assert.match(r.stderr, /^rewind: guest exited with status 0 \(debug-exit port 0xf4 <- 0x0\); [\d,]+ instructions, [\d.]+ (us|ms|s) guest time, [\d.]+ MIPS, last POST code 0x01\n$/);
  // The summary's instruction count is the guest's (virtual time: 10 ns each).
  const n = Number(/; ([\d,]+) instructions/.exec(r.stderr)![1]!.replace(/,/g, ''));
  assert.ok(n > 1000);
  assert.equal((await runCli(['run', ROM('rm-alu'), '--clock', 'virtual', '--quiet'])).stderr, '');
});

test('run --flat: a raw binary at 0x7c00 in real mode, its debug-exit value becomes the exit status', async (t) => {
  const dir = tempDir(t);
  const bin = join(dir, 'exit3.bin');
  // mov al,'H'; out 0xe9,al; mov al,3; out 0xf4,al; hlt
  writeFileSync(bin, Uint8Array.of(0xb0, 0x48, 0xe6, 0xe9, 0xb0, 0x03, 0xe6, 0xf4, 0xf4));
  const r = await runCli(['run', '--flat', `${bin}@0x7c00`, '--clock', 'virtual']);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, 'H');
  assert.match(r.stderr, /^rewind: guest exited with status 3 \(debug-exit port 0xf4 <- 0x3\); [45] instructions, /);
  const pm = await runCli(['run', '--flat', `${bin}@0x100000`, '--entry', 'real:ffff:10', '--clock', 'virtual', '--quiet']);
  assert.equal(pm.code, 3, 'real:CS:IP entry reaches the code at 1 MiB through the HMA');
});

test('run --max-instructions stops a guest that would run on, and a guest halted with interrupts off is stopped, not waited for', async (t) => {
  const r = await runCli(['run', ROM('bench-alu'), '--clock', 'virtual', '--max-instructions', '100000']);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /instruction limit reached; 100,000 instructions/);
  const dir = tempDir(t);
  const bin = join(dir, 'cli-hlt.bin');
  writeFileSync(bin, Uint8Array.of(0xfa, 0xf4)); // cli; hlt
  const h = await runCli(['run', '--flat', `${bin}@0x7c00`, '--clock', 'virtual', '--serial', 'none']);
  assert.equal(h.code, 0);
  assert.match(h.stderr, /guest halted with interrupts disabled; 2 instructions/);
});

test('run --until-serial stops as soon as the text appears on COM1', async () => {
  const r = await runCli(['run', ROM('demo'), '--clock', 'virtual', '--until-serial', "'quit' ends."]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /rewind demo: a line-echo service\. Type a line; 'quit' ends\./);
  // The stop takes effect within a few instructions of the output (the CPU's fast loop ends at its next check).
  assert.ok(r.stdout.length < 80, JSON.stringify(r.stdout));
  assert.match(r.stderr, /^rewind: serial output contains "'quit' ends\."; /);
});

test('run --serial file:PATH writes COM1 to the file, 0xE9 still to stdout', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'com1.txt');
  const r = await runCli(['run', ROM('dev-uart'), '--clock', 'virtual', '--serial', `file:${out}`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(out, 'latin1'), /uart: hello through THRE interrupts/);
  assert.doesNotMatch(r.stdout, /uart: hello/);
  assert.match(r.stdout, /PASS dev-uart/);
});

async function recordEcho(dir: string, extra: string[] = []): Promise<{ journal: string; rec: { code: number; stdout: string; stderr: string } }> {
  const journal = join(dir, 'echo.rwj');
  // Virtual clock (unless a test asks for host): the piped bytes arrive at the same
  // instruction count relative to the timer every time, so the demo's race (a byte
  // lost when it lands in a window after a tick) goes the same way on every run.
  // The limit is a safety net should a byte of "quit" ever be lost.
  const clock = extra.includes('--clock') ? [] : ['--clock', 'virtual'];
  const rec = await runCli(['record', '-o', journal, ROM('demo'), '--sync-exp', '14', '--max-instructions', '20M', ...clock, ...extra], { stdin: 'hello\rtime travel\rquit\r' });
  return { journal, rec };
}

test('record -> replay: typed serial input is journaled; the replay prints the same output and ends on the recorded state', async (t) => {
  const dir = tempDir(t);
  const { journal, rec } = await recordEcho(dir);
  assert.equal(rec.code, 0, rec.stderr);
  assert.match(rec.stdout, /echo: hello {2}\(5 chars/);
  assert.match(rec.stdout, /echo: time travel/);
  assert.match(rec.stdout, /bye\r\n$/);
  assert.ok(existsSync(journal) && !existsSync(`${journal}.partial`), 'closed cleanly');
  assert.match(rec.stderr, /journal .*echo\.rwj \(\d+ inputs, \d+ bytes\)/);
  const rp = await runCli(['replay', journal]);
  assert.equal(rp.code, 0, rp.stderr);
  assert.equal(rp.stdout, rec.stdout, 'same serial output');
  assert.match(rp.stderr, /^rewind: reproduced the recording: \d+ SYNC checks and the final state [0-9a-f]{16}\.\.\. match; guest exited with status 0/);
  // The image is found through the recorded relative path; a moved journal needs --image or --bundle.
  const moved = join(dir, 'moved.rwj');
  copyFileSync(journal, moved);
  // Deeper than the recording, so the recorded relative path no longer leads to the image.
  const other = join(tempDir(t), 'a', 'b', 'c');
  mkdirSync(other, { recursive: true });
  const lost = join(other, 'lost.rwj');
  copyFileSync(journal, lost);
  const miss = await runCli(['replay', lost]);
  assert.equal(miss.code, 1);
  assert.match(miss.stderr, /image demo\.rom not found .*give --image demo\.rom=PATH/);
  const given = await runCli(['replay', lost, '--image', `demo.rom=${ROM('demo')}`, '--serial', 'none']);
  assert.equal(given.code, 0, given.stderr);
  copyFileSync(ROM('demo'), join(other, 'demo.rom'));
  const beside = await runCli(['replay', lost, '--serial', 'none']);
  assert.equal(beside.code, 0, `an image of the recorded name beside the journal is found: ${beside.stderr}`);
  const wrong = await runCli(['replay', lost, '--image', `demo.rom=${ROM('rm-alu')}`]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /image demo\.rom does not match the recording/);
});

test('record --bundle: the journal replays with nothing beside it', async (t) => {
  const dir = tempDir(t);
  const { journal } = await recordEcho(dir, ['--bundle']);
  const other = tempDir(t);
  copyFileSync(journal, join(other, 'alone.rwj'));
  const rp = await runCli(['replay', join(other, 'alone.rwj'), '--serial', 'none']);
  assert.equal(rp.code, 0, rp.stderr);
  const info = await runCli(['info', join(other, 'alone.rwj')]);
  assert.match(info.stdout, /demo\.rom +65,536 bytes {2}sha256 [0-9a-f]{64} {2}\(bundled\)/);
  assert.match(info.stdout, /^clock +virtual$/m);
});

test('info: header, images, inputs by kind, length; a truncated journal says so and still replays to its last record', async (t) => {
  const dir = tempDir(t);
  const { journal } = await recordEcho(dir, ['--clock', 'host']);
  const info = await runCli(['info', journal]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /^status +complete \(closed cleanly\)$/m);
  assert.match(info.stdout, /^clock +host$/m);
  assert.match(info.stdout, /"mac":"52:54:00:12:34:56"/);
  assert.match(info.stdout, /"boot":\{"kind":"bios","image":"demo\.rom"\}/);
  assert.match(info.stdout, /^command +rewind record -o .*echo\.rwj .*demo\.rom --sync-exp 14 --max-instructions 20M --clock host$/m);
  assert.match(info.stdout, /^inputs +.*serial 1 \(23 bytes\)/m);
  assert.match(info.stdout, /^instructions +[\d,]+ \(icount 0 to [\d,]+\)$/m);
  assert.match(info.stdout, /^final state +[0-9a-f]{64}$/m);
  const json = JSON.parse((await runCli(['info', journal, '--json'])).stdout) as Record<string, unknown>;
  assert.equal((json['events'] as Record<string, number>)['serial'], 1);
  assert.equal(json['clockMode'], 'host');

  const cut = join(dir, 'cut.rwj');
  copyFileSync(journal, cut);
  truncateSync(cut, statSync(cut).size - 7);
  const ti = await runCli(['info', cut]);
  assert.equal(ti.code, 0, ti.stderr);
  assert.match(ti.stdout, /^status +journal is truncated: \d+ bytes of an incomplete record at byte \d+ after \d+ whole records/m);
  assert.match(ti.stdout, /^final state +unknown \(no END record\)$/m);
  const tr = await runCli(['replay', cut, '--serial', 'none']);
  assert.equal(tr.code, 0, tr.stderr);
  assert.match(tr.stderr, /^rewind: note: journal is truncated/);
  assert.match(tr.stderr, /end of a partial journal \(no END record\)/);
});

test('snapshot save -> replay --from resumes with the checks intact; go-live-at records a branch that replays', async (t) => {
  const dir = tempDir(t);
  const { journal, rec } = await recordEcho(dir);
  const end = Number(/; ([\d,]+) instructions/.exec(rec.stderr)![1]!.replace(/,/g, ''));
  const mid = Math.floor(end / 2);
  const snap = join(dir, 'mid.snap');
  const s = await runCli(['snapshot', 'save', journal, '--at', String(mid), '-o', snap]);
  assert.equal(s.code, 0, s.stderr);
  assert.match((await runCli(['snapshot', 'info', snap])).stdout, new RegExp(`icount +${mid.toLocaleString('en-US')}`));
  const from = await runCli(['replay', journal, '--from', snap]);
  assert.equal(from.code, 0, from.stderr);
  assert.match(from.stderr, /reproduced the recording/);
  assert.ok(rec.stdout.endsWith(from.stdout) && from.stdout.length < rec.stdout.length, 'the output from the middle on');
  const bad = await runCli(['snapshot', 'save', journal, '--at', String(end + 1), '-o', snap]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--at \d+ is outside the journal/);

  const branch = join(dir, 'branch.rwj');
  const gl = await runCli(['replay', journal, '--go-live-at', String(mid), '-o', branch, '--serial', 'stdio'], { stdin: 'quit\r' });
  assert.equal(gl.code, 0, gl.stderr);
  assert.match(gl.stderr, new RegExp(`live from icount ${mid}: guest exited with status 0`));
  const bi = await runCli(['info', branch]);
  assert.match(bi.stdout, new RegExp(`branch of +[0-9a-f]{16}\\.\\.\\. at icount ${mid.toLocaleString('en-US')}`));
  const br = await runCli(['replay', branch]);
  assert.equal(br.code, 0, br.stderr);
  assert.match(br.stderr, /reproduced the recording/);
  assert.match(br.stdout, /bye\r\n$/);
});

test('rewind test: one line per recording, the failed expectation with its icount, and "N passed, M failed"', async (t) => {
  const dir = tempDir(t);
  const pass = await runCli(['record', '-o', join(dir, 'a-pass.rwj'), ROM('rm-alu'), '--clock', 'virtual', '--expect', 'exit:0', '--expect', 'no-exception:6']);
  assert.equal(pass.code, 0, pass.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'a-pass.expect.json'), 'utf8')), { exit: 0, noException: [6] });
  const failRec = await runCli(['record', '-o', join(dir, 'b-fail.rwj'), ROM('pm-exceptions'), '--clock', 'virtual', '--expect', 'no-exception:6']);
  assert.equal(failRec.code, 0, failRec.stderr);
  const reach = await runCli(
    ['record', '-o', join(dir, 'c-reach.rwj'), ROM('demo'), '--clock', 'virtual', '--expect', 'reaches:handle_char.eol', '--expect', 'serial-contains:echo: hi', '--expect', 'exit:0'],
    { stdin: 'hi\rquit\r' },
  );
  assert.equal(reach.code, 0, reach.stderr);
  assert.match(readFileSync(join(dir, 'c-reach.expect.json'), 'utf8'), /"symbol": "handle_char.eol"/);
  const r = await runCli(['test', dir, '--jobs', '2']);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 4, r.stdout);
  assert.match(lines[0]!, /^PASS {2}.*a-pass\.rwj {2}[\d,]+ instructions, \d+ syncs, exit:0 no-exception:6, /);
  assert.match(lines[1]!, /^FAIL {2}.*b-fail\.rwj {2}expect no-exception:6: #UD at icount [\d,]+ \(EIP 0x[0-9a-f]+\)$/);
  assert.match(lines[2]!, /^PASS {2}.*c-reach\.rwj .*reaches:handle_char\.eol/);
  assert.equal(lines[3], '2 passed, 1 failed');
  // A recording whose expectation changed after the fact fails and says where.
  writeFileSync(join(dir, 'a-pass.expect.json'), JSON.stringify({ exit: 1 }));
  const one = await runCli(['test', join(dir, 'a-pass.rwj'), '--jobs', '1']);
  assert.equal(one.code, 1);
  assert.match(one.stdout, /^FAIL {2}.*a-pass\.rwj {2}expect exit:1: the guest exited with status 0 at icount [\d,]+\n0 passed, 1 failed\n$/);
});

test('replay reports a divergence: where, what, and exit status 1', async (t) => {
  const dir = tempDir(t);
  const { journal } = await recordEcho(dir);
  // Rewrite the journal with one SYNC's state hash and field hashes altered, as a
  // replay that went wrong in that window would see it.
  const c = decodeJournal(new Uint8Array(readFileSync(journal)));
  assert.ok(c.syncs.length >= 3);
  const victim = 2;
  const sink = new MemorySink();
  const enc = new JournalEncoder(sink, c.header);
  let ev = 0;
  c.syncs.forEach((s, i) => {
    while (ev < s.eventIndex) enc.input(c.events[ev++]!);
    const state = s.stateHash.slice();
    if (i === victim) state[0] ^= 1;
    enc.sync(s.icount, state, s.outHash, s.fieldDelta, s.groupDelta);
  });
  while (ev < c.events.length) enc.input(c.events[ev++]!);
  enc.end(c.end!.icount, c.end!.stateHash, c.end!.outHash);
  enc.flush();
  const bad = join(dir, 'bad.rwj');
  writeFileSync(bad, sink.bytes());
  const r = await runCli(['replay', bad, '--serial', 'none']);
  assert.equal(r.code, 1);
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, new RegExp(`^rewind: replay diverged from the recording between icount ${c.syncs[victim - 1]!.icount} and ${c.syncs[victim]!.icount}: `));
  assert.ok(lines.some((l) => /^ {2}window: icount \d+ \.\. \d+ \(journal record \d+\)$/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /^ {2}state hash: recorded [0-9a-f]{16}\.\.\., replayed [0-9a-f]{16}\.\.\.$/.test(l)), r.stderr);
  const tr = await runCli(['test', bad]);
  assert.match(tr.stdout, new RegExp(`^FAIL {2}.*bad\\.rwj {2}replay diverged between icount ${c.syncs[victim - 1]!.icount} and ${c.syncs[victim]!.icount}: `, 'm'));
});
