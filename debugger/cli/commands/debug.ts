/**
 * `rewind debug` (the Ink terminal debugger on a recording or a live,
 * always-recording run) and `rewind demo` (the same on recordings/demo.rwj).
 *
 * For a recording, a first pass replays it once to index the guest's serial
 * output and the timeline marks (inputs, interrupts, exceptions, frames) by
 * instruction count, so the serial panel shows the console as it was at any
 * point and the timeline can jump between events. A live run fills the same
 * index as it goes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RewindError, ERR, argError } from '../../../engine/errors.js';
import { INPUT, OUTPUT } from '../../../engine/replay/boundary.js';
import { startReplay } from '../../../engine/replay/session.js';
import { nativeSha256 } from '../../../engine/host/native-hash.js';
import type { Cpu } from '../../../engine/cpu/cpu.js';
import { disassemble } from '../../../engine/cpu/disasm.js';
import type { SymbolTable } from '../../timeline/symbols.js';
import type { MarkKind } from '../../tui/controller.js';
import { OutputLog, SessionController, type DisassembleFn } from '../../tui/session-controller.js';
import { parseArgs } from '../args.js';
import { DEBUG_OPTIONS } from '../commands.js';
import { ProgressLine, commas, type CliIo } from '../io.js';
import { expandShort } from '../options.js';
import { journalEnd, machineForJournal, openJournal, replayLoop } from '../journal-open.js';
import { openSession, looksLikeJournal, seekToStart } from '../debug-session.js';
import { relative, resolve } from 'node:path';

/** At most this many timeline marks are kept (the timeline bar buckets them anyway). */
const MAX_MARKS = 200_000;

/** One replay pass indexing serial output and timeline marks. */
export async function indexRecording(file: string, images: string[] | undefined, io: CliIo, log: OutputLog): Promise<void> {
  const j = openJournal(file, io.cwd);
  const { pc } = machineForJournal(j, images, io.cwd);
  const m = pc.machine;
  const cpu = pc.cpu as Cpu;
  let marks = 0;
  const mark = (icount: number, kind: MarkKind): void => {
    if (marks++ < MAX_MARKS) log.mark(icount, kind);
  };
  m.onOutput = (kind, target, data) => {
    if (kind === OUTPUT.SERIAL && target === 0) log.appendSerial(m.icount, data);
    else if (kind === OUTPUT.NET_TX) mark(m.icount, 'net');
  };
  for (const ev of j.contents.events) {
    if (ev.kind === INPUT.SERIAL || ev.kind === INPUT.KEYBOARD) mark(ev.icount, 'serial');
    else if (ev.kind === INPUT.NET_RX) mark(ev.icount, 'net');
  }
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
    if (acked) mark(cpu.icount, 'irq');
    else if (!soft && vector !== 3 && vector !== 4) mark(cpu.icount, 'exception');
    acked = false;
    deliver.call(cpu, vector, err, soft, retEip);
  };
  const rp = startReplay(m, j.contents, { sha256: nativeSha256 });
  const end = journalEnd(j.contents);
  const progress = new ProgressLine(io);
  await replayLoop(rp.runner, end, () => progress.update(() => `indexing ${file}: icount ${commas(m.icount)} of ${commas(end)}`));
  progress.clear();
  log.marks.sort((a, b) => a.icount - b.icount);
}

/**
 * The engine's disassembler in the TUI's shape. EIP for relative targets: the
 * linear address in 32-bit code (flat segments), its low 16 bits in 16-bit
 * code (CS bases are multiples of 64 KiB in real mode almost always).
 */
function tuiDisassembler(symbols: SymbolTable | null): DisassembleFn {
  const lookup = symbols ? (addr: number): string | null => symbols.format(addr) : null;
  return (bytes, linAddr, is32) => disassemble(bytes, is32, is32 ? linAddr >>> 0 : linAddr & 0xffff, lookup);
}

export async function debug(argv: string[], io: CliIo): Promise<number> {
  const { opts, positional } = parseArgs(expandShort(argv), DEBUG_OPTIONS);
  if (positional.length > 1) throw argError(`unexpected argument ${JSON.stringify(positional[1])}`);
  if (!io.stdin.isTTY || typeof io.stdin.setRawMode !== 'function') throw new RewindError(ERR.CONFIG, 'rewind debug needs a terminal (stdin is not a TTY); use rewind gdb or rewind replay from scripts');
  const s = await openSession(opts, positional, io);
  const log = new OutputLog();
  if (!s.live) {
    await indexRecording(positional[0]!, opts['image'] as string[] | undefined, io, log);
  } else {
    const m = s.pc.machine;
    m.onOutput = (kind, target, data) => {
      if (kind === OUTPUT.SERIAL && target === 0) log.appendSerial(m.icount, data);
      else if (kind === OUTPUT.NET_TX) log.mark(m.icount, 'net');
    };
  }
  seekToStart(s, opts);
  const controller = new SessionController(s.session, { title: s.title, log, disassemble: tuiDisassembler(s.session.symbols), clock: () => performance.now() });
  const React = await import('react');
  const { render } = await import('ink');
  const { App } = await import('../../tui/App.js');
  const ink = render(React.createElement(App, { controller, env: io.env }), {
    stdout: io.stdout as NodeJS.WriteStream,
    stdin: io.stdin as unknown as NodeJS.ReadStream,
    stderr: io.stderr as NodeJS.WriteStream,
    exitOnCtrlC: false,
  });
  try {
    await ink.waitUntilExit();
  } finally {
    ink.unmount();
    await s.close();
  }
  return 0;
}

/** The repository (or installed package) root: where recordings/ is. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'rewind') return dir;
    const up = dirname(dir);
    if (up === dir) throw new RewindError(ERR.CONFIG, 'cannot find the rewind package folder (with recordings/)');
    dir = up;
  }
}

export const DEMO_RECORDING = 'recordings/demo.rwj';

export async function demo(argv: string[], io: CliIo): Promise<number> {
  if (argv.length) throw argError(`demo takes no arguments (got ${JSON.stringify(argv[0])})`);
  const path = join(packageRoot(), DEMO_RECORDING);
  if (!existsSync(path)) throw new RewindError(ERR.CONFIG, `the demo recording ${path} is missing`);
  if (!looksLikeJournal(resolve(path))) throw new RewindError(ERR.CONFIG, `${path} is not a rewind journal`);
  const rel = relative(io.cwd, path);
  return debug([rel.startsWith('..') ? path : rel], io);
}
