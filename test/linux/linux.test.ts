/**
 * Debian's i386 Linux end to end on rewind (issue 9): the stock 686 kernel and
 * busybox from Debian bookworm (fixtures/linux, `npm run fixtures:linux`).
 *
 * - The boot to the shell prompt is recorded once (cached per engine build
 *   under fixtures/linux/out/cache, see linux-guest.ts): the kernel sees the
 *   CPU, PIT, RTC, both UARTs, PCI and the PCnet card, and prints no
 *   emulation-caused warning.
 * - From the machine at the prompt: commands typed on COM1; a ping to a
 *   responder on the UDP backend with the traffic in a pcap; two rewind
 *   machines pinging each other over the virtual switch; a session (typed
 *   commands and a ping) recorded and replayed exactly.
 * - REWIND_LINUX_FULL=1 also replays the whole recorded boot and checks every
 *   SYNC (as long again as the boot).
 *
 * Skips with a message when the fixtures are absent (or REWIND_LINUX_SKIP=1).
 * Cost: one boot to the prompt when the cache is cold (~2.8·10^9
 * instructions: about 5 minutes at the CPU's ~10 MIPS of this writing), then
 * seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PingResponder } from '../engine/host/net-udp-responder.js';
import { LinuxGuest, bootToPrompt, loadLinuxImages, macBytes, ipBytes, replayGuest, LINUX_PROMPT, type CachedBoot, type LinuxImages } from './linux-guest.js';
import { attachUdp, capture, icmpType, pump, readPcap } from './net-pump.js';
import { startReplay } from '../../engine/replay/session.js';
import type { JournalContents } from '../../engine/replay/journal.js';
import { MachineTarget } from '../../debugger/timeline/machine-target.js';
import { Session } from '../../debugger/timeline/session.js';
import { SymbolTable } from '../../debugger/timeline/symbols.js';
import { LINUX_OUT } from './linux-guest.js';

const loaded = loadLinuxImages();
const skip = process.env['REWIND_LINUX_SKIP'] === '1' ? 'REWIND_LINUX_SKIP=1' : typeof loaded === 'string' ? loaded : false;
const images = typeof loaded === 'string' ? null : (loaded as LinuxImages);
const full = process.env['REWIND_LINUX_FULL'] === '1';

let boot: CachedBoot | null = null;
function theBoot(): CachedBoot {
  boot ??= bootToPrompt(images!);
  return boot;
}

/** A guest at the shell prompt (restored from the boot's snapshot). */
function atPrompt(mac?: string): LinuxGuest {
  return new LinuxGuest(images!, { from: theBoot().snapshot, ...(mac !== undefined ? { mac } : {}) });
}

test('Linux boots to the shell prompt and sees the CPU, timers, UARTs, PCI and the PCnet card', { skip }, () => {
  const b = theBoot();
  const t = b.text;
  assert.ok(b.readyIcount > 0 && b.readyIcount < b.promptIcount, `ready at ${b.readyIcount}, prompt at ${b.promptIcount}`);
  assert.match(t, /Linux version 6\.\d+\.\d+-\d+-686 /);
  // CPU: our P6 profile (family 6 model 3), TSC clocksource.
  assert.match(t, /tsc: Detected \d+\.\d+ MHz processor/);
  assert.match(t, /microcode: sig=0x633, pf=0x0, revision=0x0/);
  // Timers and clocks: the PIT calibrates the TSC; the RTC sets the clock to our boot time.
  assert.match(t, /tsc: Fast TSC calibration using PIT/);
  assert.match(t, /rtc_cmos rtc_cmos: setting system clock to 2026-01-01T00:00/);
  // Both UARTs as 16550A.
  assert.match(t, /ttyS0 at I\/O 0x3f8 \(irq = 4, base_baud = 115200\) is a 16550A/);
  assert.match(t, /ttyS1 at I\/O 0x2f8 \(irq = 3, base_baud = 115200\) is a 16550A/);
  // PCI: the i440FX, the PIIX3 and the PCnet (vendor 1022 device 2000).
  assert.match(t, /pci 0000:00:00\.0: \[8086:1237\]/);
  assert.match(t, /pci 0000:00:01\.0: \[8086:7000\]/);
  assert.match(t, /pci 0000:00:03\.0: \[1022:2000\]/);
  // The stock pcnet32 driver binds.
  assert.match(t, /pcnet32: PCnet\/PCI II 79C970A at 0xc000/);
  assert.match(t, /eth0: registered as PCnet\/PCI II 79C970A/);
  // The P6 performance counters work (no APIC: counting without sampling interrupts).
  assert.match(t, /p6 PMU driver\.[\s\S]{0,300}\.\.\. generic registers: +2\r?\n/);
  assert.doesNotMatch(t, /Broken PMU hardware|Failed to access perfctr msr/);
  // No emulation-caused trouble.
  assert.doesNotMatch(t, /unchecked MSR access|Oops|BUG:|WARNING:|Call Trace|Kernel panic|segfault/);
  assert.ok(t.includes(LINUX_PROMPT));
});

test('Linux: the shell runs commands typed on the serial console', { skip }, () => {
  const g = atPrompt();
  assert.equal(g.command('echo $((6*7))').trim(), '42');
  const cpuinfo = g.command('cat /proc/cpuinfo');
  assert.match(cpuinfo, /vendor_id\s+: GenuineIntel/);
  assert.match(cpuinfo, /cpu family\s+: 6/);
  assert.match(cpuinfo, /model\s+: 3\n/);
  const flags = /flags\s+: (.*)/.exec(cpuinfo)?.[1]?.split(' ') ?? [];
  for (const f of ['fpu', 'tsc', 'cx8', 'cmov', 'pge', 'pse', 'sep']) assert.ok(flags.includes(f), `cpuinfo flags lack ${f}: ${flags.join(' ')}`);
  // pcnet32 takes its interrupt (IRQ 11, level, through the PIIX3 PIRQ route) when the link goes up.
  assert.doesNotMatch(g.command('cat /proc/interrupts'), /eth0/);
  g.command('ip link set eth0 up');
  assert.match(g.command('cat /proc/interrupts'), /^\s*11:\s+\d+\s+XT-PIC\s+eth0$/m);
  assert.match(g.command('ls /sys/class/net'), /eth0/);
  // The System.map decoded from the image (fixtures/linux/kallsyms.mjs) is what the running kernel reports.
  const map = readFileSync(join(LINUX_OUT, 'System.map'), 'utf8');
  const kallsyms = g.command("grep -E ' (start_kernel|icmp_rcv|n_tty_receive_buf|schedule)$' /proc/kallsyms");
  const lines = kallsyms.trim().split('\n').map((l) => l.trim());
  assert.equal(lines.length, 4, kallsyms);
  for (const l of lines) assert.ok(map.includes(`${l}\n`), `System.map lacks ${JSON.stringify(l)}`);
});

test('Linux pings a responder on the UDP backend; the traffic is in the pcap', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rewind-linux-'));
  const g = atPrompt();
  const ng = await attachUdp(g);
  const responder = await PingResponder.open({ peerPort: ng.backend.port, mac: macBytes('02:00:00:00:00:02'), ip: ipBytes('10.0.2.2') });
  ng.backend.connect(responder.port);
  const pcap = capture(g, join(dir, 'ping.pcap'));
  try {
    g.command('ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up');
    const from = g.text.length;
    g.type('ping -c 3 10.0.2.2\n');
    const ok = await pump([ng], () => g.text.indexOf(LINUX_PROMPT, from) >= 0, 3e9);
    const out = g.text.slice(from);
    assert.ok(ok, `ping did not finish: ${JSON.stringify(out)}`);
    assert.match(out, /3 packets transmitted, 3 packets received, 0% packet loss/);
    assert.equal(responder.stats.echoReplies, 3);
    assert.ok(responder.stats.arpReplies >= 1);
    pcap.close();
    const frames = readPcap(new Uint8Array(readFileSync(join(dir, 'ping.pcap'))));
    assert.equal(frames.filter((f) => icmpType(f) === 8).length, 3, 'echo requests in the pcap');
    assert.equal(frames.filter((f) => icmpType(f) === 0).length, 3, 'echo replies in the pcap');
  } finally {
    pcap.close();
    await responder.close();
    await ng.backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two rewind machines running Linux ping each other over the virtual switch', { skip }, async () => {
  const a = atPrompt();
  const b = atPrompt();
  const na = await attachUdp(a);
  const nb = await attachUdp(b, na.backend.port);
  na.backend.connect(nb.backend.port);
  try {
    // Same snapshot, so give the second machine its own station address (set while the link is down: pcnet32 programs it on open).
    a.command('ip addr add 10.0.3.1/24 dev eth0 && ip link set eth0 up');
    b.command('ip link set eth0 address 52:54:00:12:34:57 && ip addr add 10.0.3.2/24 dev eth0 && ip link set eth0 up');
    const from = a.text.length;
    a.type('ping -c 2 10.0.3.2\n');
    const ok = await pump([na, nb], () => a.text.indexOf(LINUX_PROMPT, from) >= 0, 3e9);
    const out = a.text.slice(from);
    assert.ok(ok, `ping did not finish: ${JSON.stringify(out)}`);
    assert.match(out, /2 packets transmitted, 2 packets received, 0% packet loss/);
    assert.equal(b.tx.filter((f) => icmpType(f.frame) === 0).length, 2, 'B sent two echo replies');
    assert.deepEqual([...b.tx.find((f) => icmpType(f.frame) === 0)!.frame.subarray(6, 12)], [...macBytes('52:54:00:12:34:57')]);
  } finally {
    await na.backend.close();
    await nb.backend.close();
  }
});

test('a Linux session (typed commands and a ping) records and replays exactly', { skip }, async () => {
  const g = atPrompt();
  g.startRecording(24);
  const recText = g.text.length;
  const ng = await attachUdp(g);
  const responder = await PingResponder.open({ peerPort: ng.backend.port, mac: macBytes('02:00:00:00:00:02'), ip: ipBytes('10.0.2.2') });
  ng.backend.connect(responder.port);
  let journal;
  try {
    g.command('uname -r; ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up');
    const from = g.text.length;
    g.type('ping -c 2 10.0.2.2\n');
    assert.ok(await pump([ng], () => g.text.indexOf(LINUX_PROMPT, from) >= 0, 3e9), 'ping finished');
    assert.match(g.text.slice(from), /2 packets received/);
    g.command('cat /proc/net/dev | grep eth0');
    journal = g.finishRecording();
  } finally {
    await responder.close();
    await ng.backend.close();
  }
  sessionJournal = journal;
  assert.ok(journal.events.length > 0 && journal.syncs.length > 0);
  assert.ok(journal.events.some((e) => e.kind === 4), 'received frames are journalled');
  const rp = replayGuest(images!, journal);
  while (!rp.replay!.runner.run(10_000_000).journalEnd);
  assert.equal(rp.icount, g.icount);
  assert.match(rp.text, /2 packets received/);
  assert.equal(rp.text, g.text.slice(recText));
  assert.ok(rp.tx.length >= 4, `${rp.tx.length} frames sent`);
  assert.deepEqual(rp.tx.map((f) => [f.icount, Buffer.from(f.frame).toString('hex')]), g.tx.map((f) => [f.icount, Buffer.from(f.frame).toString('hex')]));
  assert.equal(rp.pc.stateHash(), g.pc.stateHash());
  assert.equal(rp.replay!.boundary.syncsVerified, journal.syncs.length);
  assert.equal(rp.replay!.boundary.endVerified, true);
});

let sessionJournal: JournalContents | null = null;

test('the debugger opens the Linux recording and reverse-continues to a kernel function from System.map', { skip }, async (t) => {
  if (!sessionJournal) return t.skip('needs the recorded session of the previous test');
  const g = new LinuxGuest(images!, {});
  const rp = startReplay(g.pc.machine, sessionJournal, { checkpointInterval: 5_000_000 });
  const target = new MachineTarget(rp.runner);
  target.run(target.historyEnd, null);
  const symbols = SymbolTable.fromSystemMap(readFileSync(join(LINUX_OUT, 'System.map'), 'utf8'));
  const session = new Session(target, { symbols, yieldFn: () => Promise.resolve() });
  const icmpRcv = symbols.lookup('icmp_rcv')!;
  assert.ok(icmpRcv > 0xc1000000);
  session.addBreakpointAt('icmp_rcv');
  const end = session.position.icount;
  const r = await session.reverseContinue();
  assert.equal(r.kind, 'breakpoint', r.message);
  assert.equal(session.linearPc(), icmpRcv);
  assert.ok(session.position.icount < end);
  assert.match(session.symbolize(session.linearPc()), /^icmp_rcv/);
  // And once more, further back: the previous echo reply.
  const first = session.position.icount;
  const r2 = await session.reverseContinue();
  assert.equal(r2.kind, 'breakpoint', r2.message);
  assert.ok(session.position.icount < first);
});

test('the recorded Linux boot replays exactly (REWIND_LINUX_FULL=1)', { skip: skip || (full ? false : 'set REWIND_LINUX_FULL=1 to replay the whole boot (as long again as the boot itself)') }, () => {
  const b = theBoot();
  const rp = replayGuest(images!, b.journal);
  while (!rp.replay!.runner.run(10_000_000).journalEnd);
  assert.equal(rp.icount, b.snapshot.icount);
  assert.equal(rp.readyIcount, b.readyIcount);
  assert.equal(rp.promptIcount, b.promptIcount);
  assert.equal(rp.text, b.text);
  assert.equal(rp.pc.stateHash(), (() => {
    const g = new LinuxGuest(images!, { from: b.snapshot });
    return g.pc.stateHash();
  })());
  assert.equal(rp.replay!.boundary.syncsVerified, b.journal.syncs.length);
  assert.equal(rp.replay!.boundary.endVerified, true);
});
