/**
 * The table of subcommands: name, one-line summary, full help, and a runner.
 * A subcommand's module is imported only when it runs, so `rewind --help`
 * starts fast and does not load Ink or the engine.
 */
import { formatOptions, type OptSpec } from './args.js';
import type { CliIo } from './io.js';
import { MACHINE_OPTIONS, IO_OPTIONS, RECORD_OPTIONS, REPLAY_OPTIONS } from './options.js';

export interface Command {
  name: string;
  summary: string;
  help(): string;
  run(args: string[], io: CliIo): Promise<number>;
}

function helpText(usage: string[], description: string, sections: [string, OptSpec[]][], examples: string[], notes: string[] = []): string {
  const out = [`Usage: ${usage[0]}`, ...usage.slice(1).map((u) => `       ${u}`), '', description, ''];
  for (const [title, specs] of sections) out.push(`${title}:`, formatOptions(specs), '');
  for (const n of notes) out.push(n);
  if (notes.length) out.push('');
  out.push('Examples:', ...examples.map((e) => `  ${e}`), '');
  return out.join('\n');
}

const CONSOLE_NOTE =
  'With --serial stdio on a terminal, the console is raw: every key (Ctrl-C too) goes to the guest; Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A. With stdin piped, its bytes are typed into COM1.';
const EXIT_NOTE = 'Exit status: the guest\'s debug-exit status (port 0xF4) if it wrote one, 0 if it was stopped otherwise, 1 on an error, 2 on a usage mistake.';

export const COMMANDS: Command[] = [
  {
    name: 'run',
    summary: 'boot a PC and run it live (no recording)',
    help: () =>
      helpText(
        ['rewind run [IMAGE] [options]'],
        'Boots a PC (CPU, PIC, PIT, two UARTs, RTC, i8042, PCI, PCnet) and runs it against the host. Prints COM1 and the 0xE9 console, and on exit a one-line summary on stderr: why it stopped, instructions, guest time, MIPS, last POST code.',
        [['Machine', MACHINE_OPTIONS], ['Host I/O', IO_OPTIONS]],
        [
          'rewind run fixtures/guests/rm-alu.rom                 # a self-checking guest; exit status = its verdict',
          'rewind run fixtures/guests/demo.rom                   # the demo: type lines, Ctrl-A x to quit',
          'rewind run --kernel vmlinuz --initrd initramfs.cpio.gz --append console=ttyS0',
          'rewind run --flat boot.bin@0x7c00 --clock virtual --max-instructions 10M',
          'rewind run IMG --nic udp:5555:5556 --mac 52:54:00:00:00:02 --pcap net.pcap',
        ],
        [CONSOLE_NOTE, EXIT_NOTE],
      ),
    run: async (a, io) => (await import('./commands/run.js')).run(a, io),
  },
  {
    name: 'record',
    summary: 'run live and record a journal that replays exactly',
    help: () =>
      helpText(
        ['rewind record -o FILE [IMAGE] [run options] [--bundle] [--sync-exp N] [--expect E]...'],
        'Runs exactly as `rewind run` and writes everything that crosses the nondeterminism boundary (host clock, serial input, received frames, boot time) to FILE, stamped with instruction counts, plus a state hash every 2^N instructions. FILE is FILE.partial until closed cleanly.',
        [['Recording', RECORD_OPTIONS], ['Machine', MACHINE_OPTIONS], ['Host I/O', IO_OPTIONS]],
        [
          'rewind record -o demo.rwj fixtures/guests/demo.rom',
          "printf 'hello\\rquit\\r' | rewind record -o echo.rwj --bundle fixtures/guests/demo.rom --expect serial-contains:bye",
          'rewind record -o alu.rwj fixtures/guests/rm-alu.rom --expect exit:0 --expect no-exception:6',
        ],
        [CONSOLE_NOTE, EXIT_NOTE],
      ),
    run: async (a, io) => (await import('./commands/run.js')).record(a, io),
  },
  {
    name: 'replay',
    summary: 'replay a journal exactly (or branch off it and go live)',
    help: () =>
      helpText(
        ['rewind replay FILE [options]'],
        'Rebuilds the recorded PC (images beside the journal, bundled, or given with --image) and replays the journal with no host input, checking every SYNC state hash and, at the end, the final state and the guest output. On a mismatch it stops and reports the instruction window and what differs. A partial (truncated) journal replays to its last whole record.',
        [['Options', REPLAY_OPTIONS]],
        [
          'rewind replay demo.rwj',
          'rewind replay demo.rwj --serial none --until 5000000',
          'rewind replay demo.rwj --go-live-at 3000000 -o branch.rwj   # continue live from there, recording a branch',
          'rewind replay linux.rwj --from mid.snap                     # resume from a snapshot',
        ],
        ['Exit status: 0 when the replay reproduced the recording, 1 on divergence or error; with --go-live-at, as `rewind run`.'],
      ),
    run: async (a, io) => (await import('./commands/replay.js')).replay(a, io),
  },
  {
    name: 'info',
    summary: 'describe a journal: header, images, events, length',
    help: () =>
      helpText(['rewind info FILE [--json]'], 'Prints a journal\'s header (format, machine, clock mode, command line, boot time), its images with SHA-256, input events by kind, SYNC records, instruction count, guest duration, and whether it was closed cleanly or is partial/truncated.', [['Options', INFO_OPTIONS]], ['rewind info demo.rwj', 'rewind info crash.rwj.partial']),
    run: async (a, io) => (await import('./commands/info.js')).info(a, io),
  },
  {
    name: 'snapshot',
    summary: 'save a snapshot of a replay at an instruction count; describe one',
    help: () =>
      helpText(
        ['rewind snapshot save FILE --at ICOUNT -o SNAPSHOT [--image NAME=PATH]', 'rewind snapshot info SNAPSHOT'],
        'save replays FILE to ICOUNT and writes the whole machine state with its journal position, so `rewind replay FILE --from SNAPSHOT` resumes there (checks intact) and `--go-live-at` can branch from it. info describes a snapshot file.',
        [['Options', SNAPSHOT_OPTIONS]],
        ['rewind snapshot save linux.rwj --at 500000000 -o boot.snap', 'rewind replay linux.rwj --from boot.snap', 'rewind snapshot info boot.snap'],
      ),
    run: async (a, io) => (await import('./commands/snapshot.js')).snapshot(a, io),
  },
  {
    name: 'test',
    summary: 'replay recordings and check their expectations (regression tests)',
    help: () =>
      helpText(
        ['rewind test [PATH...] [--jobs N]'],
        'Replays every journal (*.rwj) under the given files and folders (default recordings/), in parallel across CPU cores, and checks each: every SYNC, the final state hash and guest output, and NAME.expect.json beside it if present (exit status, serial output contains, no exception N, EIP reaches a symbol). One line per recording, then "N passed, M failed".',
        [['Options', TEST_OPTIONS]],
        ['rewind test', 'rewind test recordings/demo.rwj', 'rewind test --jobs 1 my-recordings/'],
        ['Exit status: 0 when all passed, 1 when any failed.'],
      ),
    run: async (a, io) => (await import('./commands/test.js')).testCommand(a, io),
  },
  {
    name: 'debug',
    summary: 'the terminal debugger on a recording or a live run',
    help: () =>
      helpText(
        ['rewind debug FILE [--symbols FILE]', 'rewind debug [IMAGE] [run options] [--symbols FILE]'],
        'Opens the time-travel debugger (registers, disassembly, memory, stack, serial console, timeline) on a recording, or on a live run that is recorded as it goes. Press ? inside for the keys.',
        [['Options', DEBUG_OPTIONS]],
        ['rewind debug recordings/demo.rwj', 'rewind debug recordings/demo.rwj --at end', 'rewind debug fixtures/guests/demo.rom --clock virtual -o live.rwj'],
      ),
    run: async (a, io) => {
      interactiveInk();
      return (await import('./commands/debug.js')).debug(a, io);
    },
  },
  {
    name: 'gdb',
    summary: 'serve a recording (or a live run) to gdb, with reverse execution',
    help: () =>
      helpText(
        ['rewind gdb FILE [--port N] [--symbols FILE]', 'rewind gdb [IMAGE] [run options] [--port N]'],
        'Starts a GDB remote stub on 127.0.0.1 for a recording (or a live, always-recording run). gdb can step, continue and watch in both directions (reverse-stepi, reverse-continue). Runs until gdb detaches or kills.',
        [['Options', GDB_OPTIONS]],
        ['rewind gdb recordings/demo.rwj --port 1234', 'gdb -ex "target remote :1234" -ex "symbol-file fixtures/guests/demo.elf"'],
      ),
    run: async (a, io) => (await import('./commands/gdb.js')).gdb(a, io),
  },
  {
    name: 'demo',
    summary: 'open the debugger on the bundled demo recording',
    help: () => helpText(['rewind demo'], 'Opens `rewind debug` on recordings/demo.rwj, a recorded run of the demo guest that lost a byte (see fixtures/guests/README.md, "The demo").', [], ['rewind demo']),
    run: async (a, io) => {
      interactiveInk();
      return (await import('./commands/debug.js')).demo(a, io);
    },
  },
];

export const INFO_OPTIONS: OptSpec[] = [{ name: 'json', type: 'bool', help: 'print the description as JSON' }];
export const SNAPSHOT_OPTIONS: OptSpec[] = [
  { name: 'at', type: 'int', arg: 'ICOUNT', help: 'instruction count to snapshot at', min: 0 },
  { name: 'output', type: 'string', arg: 'SNAPSHOT', help: 'snapshot file to write (-o)' },
  { name: 'image', type: 'list', arg: 'NAME=PATH', help: 'where to find an image the journal names' },
  { name: 'quiet', type: 'bool', help: 'no progress or summary' },
];
export const TEST_OPTIONS: OptSpec[] = [
  { name: 'jobs', type: 'int', arg: 'N', help: 'replays in parallel (default: CPU cores)', min: 1, max: 256 },
  { name: 'verbose', type: 'bool', help: 'list the checks made for each recording' },
];
export const DEBUG_OPTIONS: OptSpec[] = [
  { name: 'at', type: 'string', arg: 'ICOUNT|end', help: 'start at this instruction count (or the end of the recording)' },
  { name: 'symbols', type: 'string', arg: 'FILE', help: 'symbols (ELF or nm/System.map; default IMAGE.sym/.elf beside the image)' },
  { name: 'image', type: 'list', arg: 'NAME=PATH', help: 'where to find an image the journal names' },
  { name: 'output', type: 'string', arg: 'FILE', help: 'live: write the recording to FILE (-o) as it runs' },
  ...MACHINE_OPTIONS,
];
export const GDB_OPTIONS: OptSpec[] = [{ name: 'port', type: 'int', arg: 'N', help: 'TCP port on 127.0.0.1 (0 = any free port)', default: 1234, min: 0, max: 65535 }, ...DEBUG_OPTIONS];

export function mainHelp(): string {
  return [
    'rewind: a deterministic record/replay debugger for IA-32 PCs',
    '',
    'Usage: rewind <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '',
    "Run `rewind <command> --help` for a command's options and examples.",
    '',
  ].join('\n');
}

/**
 * Ink renders only the final frame when it thinks it runs in CI (is-in-ci reads
 * CI / CONTINUOUS_INTEGRATION when Ink is first imported). The debugger on a
 * real terminal must draw live whatever the environment says, so before Ink is
 * loaded, a TTY switches that detection off for this process.
 */
function interactiveInk(): void {
  if (!process.stdout.isTTY) return;
  for (const key of ['CI', 'CONTINUOUS_INTEGRATION']) if (key in process.env) process.env[key] = 'false';
}
