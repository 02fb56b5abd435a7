/**
 * One regression check: replay a recording and hold it to its expectations.
 * Runs in a worker thread for `rewind test` (test-worker.ts), or in-process.
 *
 * Checked always: every SYNC state hash, and at the END record the final
 * state hash and the running hash of all guest output (serial, 0xE9, frames).
 * Checked when NAME.expect.json says so: the guest's exit status, text in the
 * COM1 output, CPU exceptions that must not happen, addresses EIP must reach.
 * Exceptions are seen by wrapping this machine's Cpu.deliver (external
 * interrupts are told apart by the PIC acknowledge that precedes them, INT n
 * by its flag); addresses through the CPU's debug hooks, which are removed
 * once every address has been reached.
 */
import { STOP } from '../../engine/device.js';
import { DivergenceError } from '../../engine/replay/divergence.js';
import { startReplay } from '../../engine/replay/session.js';
import { nativeSha256 } from '../../engine/host/native-hash.js';
import { RewindError } from '../../engine/errors.js';
import type { Cpu } from '../../engine/cpu/cpu.js';
import type { CliIo } from './io.js';
import { commas } from './io.js';
import { OutputRouter } from './output.js';
import { journalEnd, machineForJournal, openJournal, replayLoop } from './journal-open.js';
import { describeExpectations, expectPath, readExpectations } from './expect.js';

export interface CheckResult {
  path: string;
  ok: boolean;
  /** The failed expectation and where (null when ok). */
  failure: string | null;
  icount: number;
  syncs: number;
  /** Expectations checked, as written on the command line (exit:0, ...). */
  checked: string[];
  ms: number;
}

const EXC_NAMES = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', 'coprocessor segment overrun', '#TS', '#NP', '#SS', '#GP', '#PF', 'reserved', '#MF', '#AC', '#MC', '#XM'];

const sinkIo: CliIo = {
  stdout: { write: () => true },
  stderr: { write: () => true },
  stdin: undefined as unknown as CliIo['stdin'],
  env: {},
  cwd: '/',
  signals: false,
};

export async function checkRecording(path: string, cwd: string): Promise<CheckResult> {
  const t0 = Date.now();
  const res: CheckResult = { path, ok: false, failure: null, icount: 0, syncs: 0, checked: [], ms: 0 };
  const fail = (msg: string): CheckResult => {
    res.failure = msg;
    res.ms = Date.now() - t0;
    return res;
  };
  try {
    const j = openJournal(path, cwd);
    if (j.note) return fail(`the journal is not complete: ${j.note}`);
    const exp = readExpectations(expectPath(j.path)) ?? {};
    res.checked = describeExpectations(exp);
    const { pc } = machineForJournal(j, undefined, cwd);
    const m = pc.machine;
    const cpu = pc.cpu as Cpu;
    const router = new OutputRouter(sinkIo, { kind: 'none' }, null, (exp.serialContains?.length ?? 0) > 0);
    router.attach(m);

    // Exceptions: the first icount of each vector we must not see.
    const forbidden = new Set(exp.noException ?? []);
    let exception: { vector: number; icount: number; eip: number } | null = null;
    if (forbidden.size > 0) {
      let acked = false;
      const ack = cpu.intAck;
      cpu.intAck = {
        acknowledge: () => {
          acked = true;
          return ack.acknowledge();
        },
      } as typeof ack;
      const deliver = cpu.deliver;
      cpu.deliver = function (vector: number, err: number, soft: boolean, retEip: number): void {
        const external = acked;
        acked = false;
        if (!external && !soft && vector !== 3 && vector !== 4 && forbidden.has(vector) && exception === null) exception = { vector, icount: cpu.icount, eip: cpu.eip };
        deliver.call(cpu, vector, err, soft, retEip);
      };
    }
    // Addresses EIP must reach: first icount of each.
    const targets = new Map<number, string>((exp.reaches ?? []).map((r) => [r.addr >>> 0, r.symbol]));
    const reached = new Map<number, number>();
    if (targets.size > 0) {
      cpu.debugHooks = {
        breakpoint: (lin: number) => {
          if (targets.has(lin) && !reached.has(lin)) {
            reached.set(lin, cpu.icount);
            // All reached: stop before this instruction so the hooks come off and the fast loop takes over.
            if (reached.size === targets.size) {
              m.requestStop(STOP.BREAKPOINT, 'expectations reached');
              return true;
            }
          }
          return false;
        },
        access: () => {},
      };
    }
    const rp = startReplay(m, j.contents, { sha256: nativeSha256 });
    const end = journalEnd(j.contents);
    let r;
    try {
      for (;;) {
        r = await replayLoop(rp.runner, end, () => {});
        if (r.reason !== STOP.BREAKPOINT) break;
        cpu.debugHooks = null;
      }
    } catch (e) {
      if (e instanceof DivergenceError) return fail(`replay diverged between icount ${e.report.sinceIcount} and ${e.report.icount}: ${e.message.replace(/^.*?: /, '')}`);
      throw e;
    }
    res.icount = m.icount;
    res.syncs = rp.boundary.syncsVerified;
    for (const [addr, sym] of targets) {
      if (!reached.has(addr)) return fail(`expect reaches:${sym}: EIP never reached 0x${addr.toString(16)} by icount ${commas(m.icount)}`);
    }
    if (!rp.boundary.endVerified) return fail(`the replay stopped at icount ${m.icount} (${r.reason}) before the END record at ${end}`);
    const at = `icount ${commas(m.icount)}`;
    if (exp.exit !== undefined) {
      if (r.reason !== STOP.EXIT) return fail(`expect exit:${exp.exit}: the guest did not exit (replay ended at ${at})`);
      if (r.exitCode !== exp.exit) return fail(`expect exit:${exp.exit}: the guest exited with status ${r.exitCode} at ${at}`);
    }
    if (exception !== null) {
      const e = exception as { vector: number; icount: number; eip: number };
      return fail(`expect no-exception:${e.vector}: ${EXC_NAMES[e.vector] ?? `vector ${e.vector}`} at icount ${commas(e.icount)} (EIP 0x${(e.eip >>> 0).toString(16)})`);
    }
    for (const s of exp.serialContains ?? []) {
      if (!router.transcriptText().includes(s)) return fail(`expect serial-contains:${JSON.stringify(s)}: not in the ${commas(router.serialBytes)} bytes of serial output up to ${at}`);
    }
    res.ok = true;
    res.ms = Date.now() - t0;
    return res;
  } catch (e) {
    if (e instanceof RewindError) return fail(e.message);
    return fail(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}
