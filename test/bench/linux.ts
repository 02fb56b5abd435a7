/**
 * `npm run bench:linux`: Debian's i386 Linux (fixtures/linux, the same kernel
 * and initramfs for everyone) booted to the busybox shell prompt by
 *
 *   rewind live      virtual clock, no journal
 *   rewind record    the same run, journalled (SYNC every 2^24 instructions)
 *   rewind replay    that journal replayed, every SYNC checked
 *   QEMU             Debian's qemu-system-i386, TCG, `-cpu pentium3 -m 128`
 *   v86              the npm package v86 (x86-to-wasm JIT) in this Node, with
 *                    Debian's SeaBIOS and VGA BIOS
 *
 * and prints instructions and seconds to the `rewind-guest-ready` marker and
 * to the prompt, then the time ratios rewind/peer. The peers are installed by
 * this script, not as dependencies: apt-get for qemu-system-x86 and seabios
 * (when missing; needs root), `npm install --prefix` into a temporary folder
 * for v86. Instructions: rewind counts retired instructions plus the idle
 * instructions it credits while the guest halts (see ARCHITECTURE.md); v86's
 * counter counts executed instructions only; QEMU does not report one.
 *
 * Usage: npm run bench:linux [-- --only rewind,qemu,v86] [--skip-replay] [--full]
 * (default command line: LINUX_TEST_CMDLINE, without the crypto self-tests)
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LinuxGuest, loadLinuxImages, replayGuest, LINUX_CMDLINE, LINUX_TEST_CMDLINE, LINUX_OUT, LINUX_PROMPT, LINUX_READY, LINUX_MAX_BOOT_ICOUNT, type LinuxImages } from '../linux/linux-guest.js';
import { tuneV8 } from '../../engine/host/v8-tuning.js';

tuneV8();

interface Row {
  who: string;
  readyS: number;
  promptS: number;
  readyIcount: number | null;
  promptIcount: number | null;
}

const args = process.argv.slice(2);
const only = (args[args.indexOf('--only') + 1] ?? '').split(',').filter((x) => args.includes('--only') && x);
const want = (w: string): boolean => only.length === 0 || only.includes(w);
/** --full: the default command line, crypto self-tests included (about twice the instructions). */
const cmdline = args.includes('--full') ? LINUX_CMDLINE : LINUX_TEST_CMDLINE;

/** Instructions per run() call: the granularity of the rewind timings (~0.05 s). */
const SLICE = 1_000_000;

function say(s: string): void {
  process.stderr.write(`bench:linux: ${s}\n`);
}

function rewindBoot(images: LinuxImages, mode: 'live' | 'record'): { row: Row; journal: ReturnType<LinuxGuest['finishRecording']> | null } {
  const g = new LinuxGuest(images, { cmdline });
  if (mode === 'record') g.startRecording(24);
  const t0 = performance.now();
  if (!g.runUntil(LINUX_READY, LINUX_MAX_BOOT_ICOUNT, 0, SLICE)) throw new Error(`rewind ${mode}: no ready marker`);
  const readyS = (performance.now() - t0) / 1000;
  if (!g.runUntil(LINUX_PROMPT, LINUX_MAX_BOOT_ICOUNT, g.text.indexOf(LINUX_READY), SLICE)) throw new Error(`rewind ${mode}: no prompt`);
  const promptS = (performance.now() - t0) / 1000;
  const row = { who: `rewind ${mode}`, readyS, promptS, readyIcount: g.readyIcount, promptIcount: g.promptIcount };
  return { row, journal: mode === 'record' ? g.finishRecording() : null };
}

function rewindReplay(images: LinuxImages, journal: NonNullable<ReturnType<typeof rewindBoot>['journal']>): Row {
  const g = replayGuest(images, journal, cmdline);
  const t0 = performance.now();
  let readyS = 0;
  for (;;) {
    const end = g.replay!.runner.run(SLICE).journalEnd;
    if (readyS === 0 && g.readyIcount >= 0) readyS = (performance.now() - t0) / 1000;
    if (end) break;
  }
  if (!g.replay!.boundary.endVerified) throw new Error('rewind replay: END not verified');
  return { who: 'rewind replay', readyS, promptS: (performance.now() - t0) / 1000, readyIcount: g.readyIcount, promptIcount: g.promptIcount };
}

function aptInstall(pkgs: string[]): boolean {
  const missing = pkgs.filter((p) => {
    try {
      execFileSync('dpkg', ['-s', p], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return true;
  if (process.getuid?.() !== 0) {
    say(`${missing.join(' ')} missing and not root: skipping (apt-get install -y ${missing.join(' ')})`);
    return false;
  }
  say(`installing ${missing.join(' ')} with apt-get`);
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  return true;
}

/** QEMU TCG: seconds from spawn to the marker and the prompt on its serial console. */
function qemu(): Promise<Row | null> {
  if (!aptInstall(['qemu-system-x86'])) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('qemu-system-i386', ['-M', 'pc', '-cpu', 'pentium3', '-m', '128', '-nographic', '-no-reboot', '-kernel', join(LINUX_OUT, 'vmlinuz'), '-initrd', join(LINUX_OUT, 'initramfs.cpio.gz'), '-append', cmdline, '-nic', 'user,model=pcnet'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let readyS = 0;
    const guard = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error('QEMU did not reach the prompt in 300 s'));
    }, 300_000);
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (readyS === 0 && out.includes(LINUX_READY)) readyS = (performance.now() - t0) / 1000;
      if (readyS > 0 && out.indexOf(LINUX_PROMPT, out.indexOf(LINUX_READY)) >= 0) {
        const promptS = (performance.now() - t0) / 1000;
        clearTimeout(guard);
        p.kill('SIGKILL');
        resolve({ who: 'QEMU (TCG)', readyS, promptS, readyIcount: null, promptIcount: null });
      }
    });
    p.on('error', (e) => {
      clearTimeout(guard);
      reject(e);
    });
  });
}

/** v86 in this Node process, installed into a temporary folder. */
async function v86(): Promise<Row | null> {
  if (!aptInstall(['seabios'])) return null;
  const dir = mkdtempSync(join(tmpdir(), 'rewind-bench-v86-'));
  try {
    say('installing v86 from npm into a temporary folder');
    execFileSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--silent', 'v86'], { stdio: 'ignore' });
    const pkg = join(dir, 'node_modules', 'v86');
    const mod = (await import(pathToFileURL(join(pkg, 'build', 'libv86.mjs')).href)) as { V86: new (o: object) => V86Like };
    const buf = (p: string): ArrayBuffer => {
      const b = readFileSync(p);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
    };
    const emu = new mod.V86({
      wasm_path: join(pkg, 'build', 'v86.wasm'),
      memory_size: 128 << 20,
      vga_memory_size: 2 << 20,
      bios: { buffer: buf('/usr/share/seabios/bios.bin') },
      vga_bios: { buffer: buf('/usr/share/seabios/vgabios-stdvga.bin') },
      bzimage: { buffer: buf(join(LINUX_OUT, 'vmlinuz')) },
      initrd: { buffer: buf(join(LINUX_OUT, 'initramfs.cpio.gz')) },
      cmdline,
      autostart: true,
      disable_keyboard: true,
      disable_mouse: true,
      disable_speaker: true,
    });
    return await new Promise<Row>((resolve, reject) => {
      let t0 = performance.now();
      let out = '';
      let readyS = 0;
      let readyIcount = 0;
      const guard = setTimeout(() => {
        void emu.destroy();
        reject(new Error(`v86 did not reach the prompt in 300 s; console tail: ${JSON.stringify(out.slice(-300))}`));
      }, 300_000);
      emu.add_listener('emulator-started', () => {
        t0 = performance.now();
      });
      emu.add_listener('serial0-output-byte', (b: number) => {
        out += String.fromCharCode(b);
        if (readyS === 0 && out.endsWith(LINUX_READY)) {
          readyS = (performance.now() - t0) / 1000;
          readyIcount = emu.get_instruction_counter();
        }
        if (readyS > 0 && out.endsWith(LINUX_PROMPT)) {
          const promptS = (performance.now() - t0) / 1000;
          const promptIcount = emu.get_instruction_counter();
          clearTimeout(guard);
          void emu.destroy();
          resolve({ who: 'v86', readyS, promptS, readyIcount, promptIcount });
        }
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface V86Like {
  add_listener(ev: string, f: (x: number) => void): void;
  get_instruction_counter(): number;
  destroy(): Promise<void>;
}

const fmtI = (n: number | null): string => (n === null ? 'n/a' : `${(n / 1e9).toFixed(3)}e9`);

async function main(): Promise<void> {
  const images = loadLinuxImages();
  if (typeof images === 'string') {
    say(images);
    process.exit(1);
  }
  if (!existsSync(join(LINUX_OUT, 'vmlinuz'))) throw new Error('no kernel');
  const rows: Row[] = [];
  if (want('rewind')) {
    say('rewind live boot...');
    rows.push(rewindBoot(images, 'live').row);
    say('rewind record boot...');
    const rec = rewindBoot(images, 'record');
    rows.push(rec.row);
    if (!args.includes('--skip-replay')) {
      say('rewind replay...');
      rows.push(rewindReplay(images, rec.journal!));
    }
  }
  if (want('qemu')) {
    say('QEMU...');
    const r = await qemu().catch((e: Error) => (say(`QEMU failed: ${e.message}`), null));
    if (r) rows.push(r);
  }
  if (want('v86')) {
    say('v86...');
    const r = await v86().catch((e: Error) => (say(`v86 failed: ${e.message}`), null));
    if (r) rows.push(r);
  }
  console.log(`Linux ${images.release} to the shell prompt (${cmdline})`);
  console.log(`${'who'.padEnd(16)} ${'ready s'.padStart(9)} ${'prompt s'.padStart(9)} ${'ready instr'.padStart(12)} ${'prompt instr'.padStart(12)}`);
  for (const r of rows) console.log(`${r.who.padEnd(16)} ${r.readyS.toFixed(2).padStart(9)} ${r.promptS.toFixed(2).padStart(9)} ${fmtI(r.readyIcount).padStart(12)} ${fmtI(r.promptIcount).padStart(12)}`);
  const live = rows.find((r) => r.who === 'rewind live');
  if (live) {
    for (const peer of rows.filter((r) => !r.who.startsWith('rewind'))) {
      console.log(`rewind live / ${peer.who}: ${(live.promptS / peer.promptS).toFixed(1)}x the time to the prompt`);
    }
  }
  process.exit(0);
}

await main();
