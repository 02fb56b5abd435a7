/**
 * Debugger figures on the longest recording we have: Debian's Linux booted
 * to the shell prompt (test/linux/linux-guest.ts; the boot journal is cached
 * under fixtures/linux/out/cache). Replayed behind MachineTarget with
 * checkpoints every 10^7 instructions (default 1 GiB cap; `--interval N` for
 * another spacing, e.g. the 2*10^6 that `rewind debug` and `rewind gdb` use), it measures
 * reverse-step latency (median, p99), reverse-continue to a breakpoint
 * 1.2*10^8 instructions back, seek, and the checkpoint memory.
 *
 * Not part of `npm run bench` (booting takes minutes). Run alone:
 *   node .build/NAME/test/bench/debugger-linux.js
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startReplay } from '../../engine/replay/session.js';
import { nativeSha256 } from '../../engine/host/native-hash.js';
import { createPc } from '../../engine/pc.js';
import { ScriptedBoundary } from '../../engine/replay/boundary.js';
import { MachineTarget } from '../../debugger/timeline/machine-target.js';
import { Session } from '../../debugger/timeline/session.js';
import { SymbolTable } from '../../debugger/timeline/symbols.js';
import { bootToPrompt, loadLinuxImages, LINUX_RAM, LINUX_BOOT_MS, LINUX_TEST_CMDLINE, LINUX_OUT } from '../linux/linux-guest.js';
import { tuneV8 } from '../../engine/host/v8-tuning.js';

tuneV8();

const now = (): number => performance.now();
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main(): Promise<void> {
  const images = loadLinuxImages();
  if (typeof images === 'string') {
    console.log(`skipped: ${images}`);
    return;
  }
  let t0 = now();
  const boot = bootToPrompt(images);
  console.log(`boot journal: ${boot.fresh ? 'recorded now' : 'from cache'} (${((now() - t0) / 1000).toFixed(1)} s), ${boot.promptIcount} instructions to the prompt`);
  const pc = createPc({ ramBytes: LINUX_RAM }, { boundary: new ScriptedBoundary([], LINUX_BOOT_MS) });
  pc.boot({ kind: 'linux', image: images.kernel, initrd: images.initrd, cmdline: LINUX_TEST_CMDLINE, name: 'vmlinuz' });
  const ia = process.argv.indexOf('--interval');
  const interval = ia > 0 ? Number(process.argv[ia + 1]) : 10_000_000;
  if (!Number.isInteger(interval) || interval <= 0) throw new Error(`--interval wants a positive whole number, got ${process.argv[ia + 1]}`);
  console.log(`checkpoint interval: ${interval}`);
  const rp = startReplay(pc.machine, boot.journal, { checkpointInterval: interval, sha256: nativeSha256 });
  const target = new MachineTarget(rp.runner);
  t0 = now();
  target.run(target.historyEnd, null);
  const end = target.historyEnd;
  console.log(`replay with checkpoints: ${((now() - t0) / 1000).toFixed(1)} s for ${end} instructions (${(end / ((now() - t0) / 1000) / 1e6).toFixed(1)} MIPS)`);
  const stats = rp.runner.checkpoints!.getStats();
  console.log(`checkpoints: ${stats.count}, ${(stats.bytes / 1048576).toFixed(0)} MiB of ${(stats.capBytes / 1048576).toFixed(0)} MiB cap`);
  let symbols: SymbolTable | null = null;
  try {
    symbols = SymbolTable.fromSystemMap(readFileSync(join(LINUX_OUT, 'System.map'), 'latin1'));
  } catch {
    symbols = null;
  }
  const s = new Session(target, { symbols, yieldFn: () => Promise.resolve() });
  const times: number[] = [];
  for (let k = 1; k <= 5; k++) {
    s.seek(Math.floor((end * k) / 6) + 7777);
    for (let i = 0; i < 40; i++) {
      const a = now();
      await s.reverseStep();
      times.push(now() - a);
    }
  }
  console.log(`reverse-step: median ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms, max ${Math.max(...times).toFixed(1)} ms (${times.length} steps at 5 places)`);
  const seeks: number[] = [];
  let seed = 9;
  for (let i = 0; i < 31; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const a = now();
    s.seek(seed % end);
    seeks.push(now() - a);
  }
  console.log(`seek to a random point: median ${pct(seeks, 50).toFixed(0)} ms, max ${Math.max(...seeks).toFixed(0)} ms (${seeks.length} seeks)`);
  const back = 120_000_000;
  const at = Math.max(target.historyStart, end - back);
  s.seek(at);
  const eip = s.linearPc();
  s.seek(end);
  s.addPoint({ type: 'break', addr: eip, condition: `icount == ${at}` });
  t0 = now();
  const r = await s.reverseContinue();
  const secs = (now() - t0) / 1000;
  console.log(`reverse-continue to a breakpoint ${((end - r.position.icount) / 1e6).toFixed(0)}M instructions back (${s.symbolize(eip)}): ${secs.toFixed(2)} s (${r.kind} at ${r.position.icount})`);
  const st2 = rp.runner.checkpoints!.getStats();
  console.log(`checkpoints after: ${st2.count}, ${(st2.bytes / 1048576).toFixed(0)} MiB`);
}

await main();
