/**
 * Debian's i386 Linux as a rewind guest, for the tests and the benchmark:
 * the fixture images (fixtures/linux/out, built by `npm run fixtures:linux`),
 * the command lines, a driver that runs a PC until the serial console shows a
 * marker, types shell commands through COM1, and moves network frames
 * between the machine and the host's UDP backend.
 *
 * The boot to the shell prompt is long for an interpreter (a few 10^9
 * instructions, most of them the kernel's XZ decompressor), so the tests
 * share one: it is recorded once, and the journal, the machine snapshot at
 * the prompt and the console text are cached under fixtures/linux/out/cache
 * (git-ignored), keyed by the SHA-256 of the images, the command line and the
 * built engine (every .js file under the build's engine/ folder), so a cache
 * never outlives the code that made it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPc, type Pc } from '../../engine/pc.js';
import { INPUT, OUTPUT } from '../../engine/replay/boundary.js';
import { LiveBoundary } from '../../engine/replay/live-boundary.js';
import { MemorySink, decodeJournal, type JournalContents } from '../../engine/replay/journal.js';
import { startRecording, startReplay, type Recording, type Replay } from '../../engine/replay/session.js';
import { encodeSnapshot, decodeSnapshot } from '../../engine/replay/snapshot-codec.js';
import { STOP } from '../../engine/device.js';
import type { MachineSnapshot } from '../../engine/machine.js';
import type { ClockMode } from '../../engine/time/clock.js';
import { MemoryLogger } from '../../engine/log.js';
import { nativeSha256 } from '../../engine/host/native-hash.js';
import { repoRoot } from '../util.js';
import { tuneV8 } from '../../engine/host/v8-tuning.js';

tuneV8();

export const LINUX_OUT = join(repoRoot, 'fixtures', 'linux', 'out');
export const LINUX_CACHE = join(LINUX_OUT, 'cache');

/**
 * The default command line. `nokaslr`: the 686 kernel is built with
 * CONFIG_RANDOMIZE_BASE, and without it the decompressor moves the kernel by
 * an offset drawn from RDTSC/PIT entropy, so kernel addresses (System.map,
 * breakpoints) would change with the clock. The option is consumed by the
 * decompressor; the kernel proper does not know it and prints "Unknown kernel
 * command line parameters" (harmless, the same on hardware).
 * `acpi=off`: the machine is an i440FX/PIIX3 board without ACPI firmware
 * (no RSDP, no tables; IRQ routing is the PCI interrupt-line registers, set
 * as a BIOS would). Without the option the kernel searches for an RSDP and
 * reports "ACPI BIOS Error (bug): A valid RSDP was not found" before falling
 * back to exactly that; with it, it goes there directly.
 */
export const LINUX_CMDLINE = 'console=ttyS0 nokaslr acpi=off';
/**
 * The tests' and the benchmark's command line: the default plus
 * `cryptomgr.notests`, which skips the crypto manager's boot-time self-tests
 * of every algorithm the kernel registers (CONFIG_CRYPTO_MANAGER_DISABLE_TESTS
 * is off in Debian's build). They are pure computation (RSA/bignum, hashes,
 * ciphers against test vectors: ~10^9 instructions, 4.5 s of a 10.7 s boot
 * under QEMU) that exercises nothing of the machine's devices. It changes no
 * device, driver or kernel behaviour that the tests look at.
 */
export const LINUX_TEST_CMDLINE = `${LINUX_CMDLINE} cryptomgr.notests`;
/** What init.sh prints once the driver is loaded, just before the shell. */
export const LINUX_READY = 'rewind-guest-ready';
/** The shell prompt (PS1='rewind:\w# ' in /root; busybox ash does not abbreviate $HOME). */
export const LINUX_PROMPT = 'rewind:/root# ';
const MARKER_MAX = Math.max(LINUX_READY.length, LINUX_PROMPT.length);
/** Width of the serial "terminal" (busybox's line editor wraps its echo there: no TIOCGWINSZ on a serial line). */
const TERM_COLS = 80;
/** Guest RAM for the Linux tests and benchmark (as QEMU's -m 128). */
export const LINUX_RAM = 128 << 20;
/** A fixed wall-clock time at power-on, so virtual-clock runs are reproducible. */
export const LINUX_BOOT_MS = 1767225600000; // 2026-01-01T00:00:00Z
/** Upper bound for a boot to the prompt (a bound, not a goal: the boot takes ~3·10^9). */
export const LINUX_MAX_BOOT_ICOUNT = 12e9;

export interface LinuxImages {
  kernel: Uint8Array;
  initrd: Uint8Array;
  kernelSha256: string;
  initrdSha256: string;
  /** The kernel release, e.g. 6.1.0-50-686. */
  release: string;
}

/** The fixture images, or a one-line reason why they are not there (tests skip with it). */
export function loadLinuxImages(): LinuxImages | string {
  const manifest = join(LINUX_OUT, 'manifest.json');
  if (!existsSync(manifest)) return 'Linux fixtures absent: run `npm run fixtures:linux` (Debian, root for the first run)';
  const m = JSON.parse(readFileSync(manifest, 'utf8')) as { kernel: { release: string }; files: { kernel: { name: string; sha256: string }; initrd: { name: string; sha256: string } } };
  const kernel = new Uint8Array(readFileSync(join(LINUX_OUT, m.files.kernel.name)));
  const initrd = new Uint8Array(readFileSync(join(LINUX_OUT, m.files.initrd.name)));
  const ks = sha256Hex(kernel);
  const is = sha256Hex(initrd);
  if (ks !== m.files.kernel.sha256 || is !== m.files.initrd.sha256) return 'Linux fixtures do not match their manifest: run `npm run fixtures:linux` again';
  return { kernel, initrd, kernelSha256: ks, initrdSha256: is, release: m.kernel.release };
}

export function sha256Hex(b: Uint8Array | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** SHA-256 over the built engine (every .js under engine/ beside this build's test/), for cache keys. */
export function engineBuildHash(): string {
  const engineDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'engine');
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.js')) h.update(name).update(readFileSync(p));
    }
  };
  walk(engineDir);
  return h.digest('hex');
}

export interface LinuxGuestOptions {
  cmdline?: string;
  mac?: string;
  /** A snapshot to start from instead of booting (a machine of the same configuration). */
  from?: MachineSnapshot;
  /** Guest clock mode (default virtual; a virtual-mode snapshot restores into a host-mode PC: the clock's state is the same). */
  clockMode?: ClockMode;
}

export interface TxFrame {
  icount: number;
  frame: Uint8Array;
}

/**
 * One PC running the Linux guest on a live boundary (virtual clock: the run
 * is a function of the inputs and their icounts only). `text` is everything
 * COM1 printed; `tx` every frame the NIC transmitted.
 */
export class LinuxGuest {
  readonly pc: Pc;
  readonly boundary: LiveBoundary;
  readonly logger = new MemoryLogger();
  text = '';
  readonly tx: TxFrame[] = [];
  /** Called with every transmitted frame (e.g. to send it to the UDP backend). */
  onTx: (frame: Uint8Array) => void = () => {};
  /** Icount at which COM1 completed the ready marker and then the first prompt (-1: not yet). */
  readyIcount = -1;
  promptIcount = -1;
  /** Set when recording or replaying: runs go through the Runner. */
  recording: Recording | null = null;
  replay: Replay | null = null;

  constructor(images: LinuxImages, opts: LinuxGuestOptions = {}, boundary: LiveBoundary = new LiveBoundary(LINUX_BOOT_MS)) {
    this.boundary = boundary;
    this.pc = createPc({ ramBytes: LINUX_RAM, ...(opts.mac !== undefined ? { mac: opts.mac } : {}), ...(opts.clockMode !== undefined ? { clockMode: opts.clockMode } : {}) }, { boundary, logger: this.logger });
    if (opts.from) {
      this.pc.machine.restore(opts.from);
      boundary.lastDeliverIcount = this.pc.machine.icount - 1;
    } else {
      this.pc.boot({ kind: 'linux', image: images.kernel, initrd: images.initrd, cmdline: opts.cmdline ?? LINUX_TEST_CMDLINE, name: 'vmlinuz' });
    }
    this.pc.machine.onOutput = (kind, target, data) => {
      if (kind === OUTPUT.SERIAL && target === 0) {
        this.text += Buffer.from(data).toString('latin1');
        if (this.promptIcount < 0) this.noteMarkers(data.length);
      }
      else if (kind === OUTPUT.NET_TX) {
        this.tx.push({ icount: this.pc.machine.icount, frame: data.slice() });
        this.onTx(data);
      }
    };
  }

  private noteMarkers(added: number): void {
    const tailFrom = Math.max(0, this.text.length - added - MARKER_MAX);
    if (this.readyIcount < 0) {
      if (this.text.indexOf(LINUX_READY, tailFrom) >= 0) this.readyIcount = this.icount;
    } else if (this.text.indexOf(LINUX_PROMPT, tailFrom) >= 0) this.promptIcount = this.icount;
  }

  get icount(): number {
    return this.pc.machine.icount;
  }

  /** Starts recording from now into memory (a branch with a snapshot if the machine is not at power-on). */
  startRecording(syncShift = 26): Recording {
    const m = this.pc.machine;
    const sink = new MemorySink();
    const parent = m.icount > 0 ? { journal: 'linux-boot', icount: m.icount } : null;
    this.recording = startRecording(m, sink, { bootWallMs: LINUX_BOOT_MS, syncShift, checkpointInterval: 0, sha256: nativeSha256, machineConfig: { guest: 'linux' }, parent });
    (this.recording as { sink?: MemorySink }).sink = sink;
    // The record boundary replaces the live one.
    m.boundary = this.recording.boundary;
    (this as { boundary: LiveBoundary }).boundary = this.recording.boundary;
    return this.recording;
  }

  /** Ends the recording and returns the decoded journal. */
  finishRecording(): JournalContents {
    const rec = this.recording;
    if (!rec) throw new Error('not recording');
    rec.runner.finishRecording();
    return decodeJournal((rec as { sink?: MemorySink }).sink!.bytes());
  }

  /** Runs up to `budget` instructions; returns the stop reason. */
  step(budget: number): string {
    if (this.replay) return this.replay.runner.run(budget).reason;
    if (this.recording) return this.recording.runner.run(budget).reason;
    return this.pc.machine.run(budget).reason;
  }

  /** Runs until COM1 has printed `marker` after offset `from`, or `maxIcount`. Returns whether it appeared. */
  runUntil(marker: string, maxIcount: number, from = 0, slice = 10_000_000): boolean {
    while (this.icount < maxIcount) {
      if (this.text.indexOf(marker, from) >= 0) return true;
      const r = this.step(Math.min(slice, maxIcount - this.icount));
      if (r !== STOP.BUDGET && r !== STOP.UNTIL && r !== STOP.HALTED) throw new Error(`guest stopped: ${r}`);
      if (r === STOP.HALTED && this.boundary.pendingInputs === 0) return this.text.indexOf(marker, from) >= 0;
    }
    return this.text.indexOf(marker, from) >= 0;
  }

  /** Types `line` into COM1 (a live input: journalled when recording). */
  type(line: string): void {
    this.boundary.push(INPUT.SERIAL, 0, new Uint8Array(Buffer.from(line, 'latin1')));
  }

  /** Types a shell command and runs until the next prompt; returns what the command printed. */
  command(cmd: string, maxInstructions = 2e9): string {
    const from = this.text.length;
    this.type(`${cmd}\n`);
    if (!this.runUntil(`\n${LINUX_PROMPT}`, this.icount + maxInstructions, from)) throw new Error(`no prompt after ${JSON.stringify(cmd)}; console tail: ${JSON.stringify(this.text.slice(-400))}`);
    return this.outputOf(cmd, from);
  }

  /** What `cmd`, typed at the prompt when COM1 had printed `from` characters, printed before the next prompt. */
  outputOf(cmd: string, from: number): string {
    const out = this.text.slice(from);
    // Drop the echoed command: one line per TERM_COLS columns after the prompt.
    let at = 0;
    for (let lines = Math.floor((LINUX_PROMPT.length + cmd.length) / TERM_COLS) + 1; lines > 0; lines--) at = out.indexOf('\n', at) + 1;
    const body = out.slice(at);
    return body.slice(0, body.lastIndexOf(LINUX_PROMPT)).replace(/\r/g, '');
  }

  /** Delivers a received frame (a live input). */
  receive(frame: Uint8Array): void {
    this.boundary.push(INPUT.NET_RX, 0, frame);
  }
}

export interface CachedBoot {
  /** The journal of the boot from power-on to the prompt. */
  journal: JournalContents;
  /** The machine at the prompt (the journal's end). */
  snapshot: MachineSnapshot;
  /** COM1 output of the boot. */
  text: string;
  /** Icount at which the ready marker and the prompt appeared. */
  readyIcount: number;
  promptIcount: number;
  /** Whether this process booted (false: read from the cache). */
  fresh: boolean;
}

/**
 * The recorded boot to the shell prompt with `cmdline`, from the cache or
 * by booting now (several minutes at ~10 MIPS) and caching the result.
 */
export function bootToPrompt(images: LinuxImages, cmdline = LINUX_TEST_CMDLINE): CachedBoot {
  const key = sha256Hex(`${images.kernelSha256}\n${images.initrdSha256}\n${cmdline}\n${engineBuildHash()}`).slice(0, 16);
  const dir = join(LINUX_CACHE, `boot-${key}`);
  if (existsSync(join(dir, 'done.json'))) {
    const meta = JSON.parse(readFileSync(join(dir, 'done.json'), 'utf8')) as { readyIcount: number; promptIcount: number };
    return {
      journal: decodeJournal(new Uint8Array(readFileSync(join(dir, 'boot.journal')))),
      snapshot: decodeSnapshot(new Uint8Array(readFileSync(join(dir, 'prompt.snap'))), 'cached Linux snapshot'),
      text: readFileSync(join(dir, 'console.txt'), 'latin1'),
      ...meta,
      fresh: false,
    };
  }
  const g = new LinuxGuest(images, { cmdline });
  const rec = g.startRecording();
  if (!g.runUntil(LINUX_READY, LINUX_MAX_BOOT_ICOUNT)) throw new Error(`Linux did not reach ${LINUX_READY} in ${LINUX_MAX_BOOT_ICOUNT} instructions; console tail: ${JSON.stringify(g.text.slice(-600))}`);
  if (!g.runUntil(LINUX_PROMPT, LINUX_MAX_BOOT_ICOUNT, g.text.indexOf(LINUX_READY))) throw new Error(`no shell prompt; console tail: ${JSON.stringify(g.text.slice(-600))}`);
  // Let the shell settle in its read() (the CPU halts waiting for input).
  g.runUntil('\u0000never', g.icount + 20_000_000);
  const { readyIcount, promptIcount } = g;
  void rec;
  const journal = g.finishRecording();
  const snapshot = g.pc.machine.snapshot();
  const bytes = (g.recording as { sink?: MemorySink }).sink!.bytes();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'boot.journal'), bytes);
  writeFileSync(join(dir, 'prompt.snap'), encodeSnapshot(snapshot));
  writeFileSync(join(dir, 'console.txt'), g.text, 'latin1');
  writeFileSync(join(dir, 'done.json.partial'), JSON.stringify({ readyIcount, promptIcount, cmdline }));
  renameSync(join(dir, 'done.json.partial'), join(dir, 'done.json'));
  pruneBootCache(KEEP_BOOT_CACHES);
  return { journal, snapshot, text: g.text, readyIcount, promptIcount, fresh: true };
}

/** Boot caches kept (each ~35 MB; every engine build makes a new one). */
const KEEP_BOOT_CACHES = 3;

/** Removes all but the `keep` most recently written boot caches. */
function pruneBootCache(keep: number): void {
  const dirs = readdirSync(LINUX_CACHE)
    .filter((d) => d.startsWith('boot-') && existsSync(join(LINUX_CACHE, d, 'done.json')))
    .map((d) => ({ d, t: statSync(join(LINUX_CACHE, d, 'done.json')).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { d } of dirs.slice(keep)) rmSync(join(LINUX_CACHE, d), { recursive: true, force: true });
}

/** A replay of `journal` on a fresh PC (booted from power-on, or restored from the journal's snapshot). */
export function replayGuest(images: LinuxImages, journal: JournalContents, cmdline = LINUX_TEST_CMDLINE): LinuxGuest {
  const g = new LinuxGuest(images, { cmdline, clockMode: journal.header.clockMode });
  g.replay = startReplay(g.pc.machine, journal, { checkpointInterval: 0, sha256: nativeSha256 });
  return g;
}

/** Splits a MAC written aa:bb:.. into bytes. */
export function macBytes(mac: string): Uint8Array {
  return new Uint8Array(mac.split(':').map((x) => parseInt(x, 16)));
}

export function ipBytes(ip: string): Uint8Array {
  return new Uint8Array(ip.split('.').map(Number));
}
