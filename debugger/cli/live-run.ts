/**
 * Running a PC live against the host: the serial console (raw terminal or
 * piped stdin), the UDP network backend, the pcap file, host-clock pacing
 * (engine/host LiveLoop), signals and the stop conditions. Used by `run`,
 * `record` and `replay --go-live-at`.
 */
import { STOP } from '../../engine/device.js';
import { INPUT } from '../../engine/replay/boundary.js';
import type { LiveBoundary } from '../../engine/replay/live-boundary.js';
import type { Runner, RunnerResult } from '../../engine/replay/runner.js';
import type { Pc } from '../../engine/pc.js';
import { HostClock, LiveLoop } from '../../engine/host/host-clock.js';
import type { JournalFile } from '../../engine/host/journal-file.js';
import { attachFrameInput } from '../../engine/host/live-input.js';
import { NetUdpBackend, parseNicSpec } from '../../engine/host/net-udp.js';
import { PcapWriter } from '../../engine/host/pcap.js';
import { RawTerminal, withSignals } from '../../engine/host/terminal.js';
import { RewindError, ERR } from '../../engine/errors.js';
import { ProgressLine, commas, formatNs, type CliIo } from './io.js';
import { EscapeFilter, ESCAPE_HELP } from './escape.js';
import { OutputRouter, type SerialSpec } from './output.js';

export interface LiveRunOptions {
  io: CliIo;
  pc: Pc;
  runner: Runner;
  live: LiveBoundary;
  serial: SerialSpec;
  nic?: string | undefined;
  pcap?: string | undefined;
  /** Stop after this many more instructions. */
  maxInstructions?: number | undefined;
  untilSerial?: string | undefined;
  journal?: JournalFile | null;
  /** Keep the COM1 transcript (expectations). */
  keepTranscript?: boolean;
  /** No progress line. */
  quiet?: boolean;
}

export interface LiveRunResult {
  result: RunnerResult;
  router: OutputRouter;
  startIcount: number;
  hostMs: number;
  /** Host ms the loop spent waiting (for host time or input): not counted in MIPS. */
  waitedMs: number;
}

const IF_FLAG = 0x200;

export async function runLive(o: LiveRunOptions): Promise<LiveRunResult> {
  const { io, pc, runner, live } = o;
  const m = pc.machine;
  const startIcount = m.icount;
  const router = new OutputRouter(io, o.serial, o.untilSerial ?? null, o.keepTranscript ?? false);
  router.attach(m);

  const hostClock = m.config.clockMode === 'host' ? new HostClock(m.clock.nowNs(m.icount)) : null;
  const loop = new LiveLoop(runner, live, {
    hostClock,
    journal: o.journal ?? null,
    untilIcount: o.maxInstructions !== undefined ? startIcount + o.maxInstructions : Infinity,
  });

  let net: NetUdpBackend | null = null;
  let pcap: PcapWriter | null = null;
  let raw: RawTerminal | null = null;
  let detachStdin: (() => void) | null = null;
  let watchdog: ReturnType<typeof setInterval> | null = null;
  let hostStop: string | null = null;
  const t0 = Date.now();
  try {
    if (o.nic !== undefined) {
      if (!pc.nic) throw new RewindError(ERR.CONFIG, '--nic needs the PCnet card (remove --no-nic)');
      const spec = parseNicSpec(o.nic);
      net = await NetUdpBackend.open(spec.peerPort !== undefined ? { port: spec.port, peerPort: spec.peerPort } : { port: spec.port });
      const n = net;
      attachFrameInput(live, loop, n, 0);
      router.onFrame = (frame) => n.send(frame);
    }
    if (o.pcap !== undefined) {
      if (!pc.nic) throw new RewindError(ERR.CONFIG, '--pcap needs the PCnet card (remove --no-nic)');
      const p = PcapWriter.create(o.pcap, { baseNs: live.wallClockAtBoot() * 1e6 });
      pcap = p;
      pc.nic.tap = (_dir, frame, ns) => p.write(ns, frame);
    }

    let inputs = net !== null;
    if (o.serial.kind === 'stdio') {
      const stdin = io.stdin;
      raw = RawTerminal.enter(stdin);
      const filter = raw ? new EscapeFilter() : null;
      const onData = (chunk: Buffer | string): void => {
        let bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
        if (filter) {
          const r = filter.feed(bytes);
          bytes = r.forward;
          for (const c of r.commands) {
            if (c === 'quit') {
              hostStop = 'quit from the console (Ctrl-A x)';
              loop.stop();
            } else io.stderr.write(`\r\n[rewind] ${ESCAPE_HELP}\r\n`);
          }
        }
        if (bytes.length > 0) {
          live.push(INPUT.SERIAL, 0, bytes);
          loop.wake();
        }
      };
      stdin.on('data', onData);
      stdin.resume();
      detachStdin = () => {
        stdin.off('data', onData);
        stdin.pause();
      };
      inputs = true;
      if (raw) io.stderr.write(`[rewind] ${ESCAPE_HELP}\r\n`);
    }

    // A guest halted with interrupts off can never run again (we have no NMI
    // source), and one halted with nothing scheduled and no input source
    // attached would wait forever: stop, and say why.
    // A progress line on stderr when it is a terminal and the guest's console is not on it.
    const consoleOnTerminal = o.serial.kind === 'stdio' && io.stdout.isTTY === true;
    const progress = new ProgressLine(io, o.quiet !== true && !consoleOnTerminal);
    let lastIcount = m.icount;
    let lastMs = Date.now();
    let mips = 0;
    watchdog = setInterval(() => {
      if (progress.enabled) {
        const now = Date.now();
        if (now - lastMs >= 1000) {
          mips = (m.icount - lastIcount) / ((now - lastMs) * 1000);
          lastIcount = m.icount;
          lastMs = now;
        }
        progress.update(() => `running: ${commas(m.icount)} instructions, ${formatNs(m.clock.nowNs(m.icount))} guest time, ${mips.toFixed(1)} MIPS${router.serialBytes ? `, ${commas(router.serialBytes)} bytes of serial output` : ''}`);
      }
      const cpu = pc.cpu;
      if (!cpu.halted) return;
      if ((cpu.getEflags() & IF_FLAG) === 0 && live.pendingInputs === 0) {
        hostStop = 'guest halted with interrupts disabled';
        loop.stop();
      } else if (!inputs && m.scheduler.nextDueIcount === Infinity && live.pendingInputs === 0) {
        hostStop = 'guest halted with nothing scheduled and no input attached';
        loop.stop();
      }
    }, 100);


    const result = await withSignals(
      io.signals,
      (sig) => {
        hostStop = `interrupted by ${sig}`;
        loop.stop();
      },
      () => loop.run(),
    );
    progress.clear();
    if (result.reason === STOP.REQUESTED && hostStop !== null) result.detail = hostStop;
    return { result, router, startIcount, hostMs: Date.now() - t0, waitedMs: loop.waitedMs };
  } finally {
    if (watchdog) clearInterval(watchdog);
    detachStdin?.();
    raw?.restore();
    if (raw) io.stderr.write('\r\n');
    router.close();
    pcap?.close();
    if (pc.nic) pc.nic.tap = null;
    await net?.close();
  }
}
