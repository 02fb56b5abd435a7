/**
 * Option tables shared by the subcommands (kept free of engine imports so
 * `--help` loads nothing heavy).
 */
import type { OptSpec } from './args.js';

/** What to boot and how the PC is configured: recorded in the journal header. */
export const MACHINE_OPTIONS: OptSpec[] = [
  { name: 'bios', type: 'string', arg: 'FILE', help: 'BIOS/ROM image mapped below 1 MiB and 4 GiB; the CPU starts at the reset vector (also: a positional IMAGE)' },
  { name: 'kernel', type: 'string', arg: 'FILE', help: 'Linux bzImage, booted directly with the 32-bit boot protocol' },
  { name: 'initrd', type: 'string', arg: 'FILE', help: 'initial ramdisk for --kernel' },
  { name: 'append', type: 'string', arg: 'TEXT', help: 'kernel command line for --kernel or --multiboot' },
  { name: 'flat', type: 'string', arg: 'FILE@ADDR', help: 'raw binary loaded at physical ADDR (e.g. boot.bin@0x7c00)' },
  { name: 'entry', type: 'string', arg: 'SPEC', help: 'entry state for --flat: real, real:CS:IP, pm32 or pm32:EIP (default real below 1 MiB, pm32 above)' },
  { name: 'multiboot', type: 'string', arg: 'FILE', help: 'multiboot v1 kernel (ELF32 or a.out kludge)' },
  { name: 'module', type: 'list', arg: 'FILE[,CMDLINE]', help: 'multiboot module (repeatable)' },
  { name: 'memory', type: 'int', arg: 'MIB', help: 'RAM in MiB', default: 128, min: 1, max: 3584 },
  { name: 'clock', type: 'string', arg: 'MODE', help: 'host (default for run and record): guest time and the RTC follow the host clock (journaled); virtual (default for debug): time from the instruction count only', choices: ['host', 'virtual'] },
  { name: 'mac', type: 'string', arg: 'MAC', help: 'PCnet station address (default 52:54:00:12:34:56); two machines on one switch need different ones' },
  { name: 'no-nic', type: 'bool', help: 'leave the PCnet card out of the PC' },
];

/** Host-side I/O of a live run. */
export const IO_OPTIONS: OptSpec[] = [
  { name: 'serial', type: 'string', arg: 'stdio|file:PATH|none', help: 'COM1: stdio = this terminal (raw mode, Ctrl-A x quits) or piped stdin/stdout', default: 'stdio' },
  { name: 'nic', type: 'string', arg: 'udp:PORT[:PEER]', help: 'connect the PCnet to a UDP virtual switch on 127.0.0.1' },
  { name: 'pcap', type: 'string', arg: 'PATH', help: 'write every frame sent and received to a pcap file' },
  { name: 'max-instructions', type: 'int', arg: 'N', help: 'stop after N instructions', min: 1 },
  { name: 'until-serial', type: 'string', arg: 'TEXT', help: 'stop as soon as the serial output contains TEXT' },
  { name: 'quiet', type: 'bool', help: 'no summary line and no progress (guest output is still printed)' },
];

export const RECORD_OPTIONS: OptSpec[] = [
  { name: 'output', type: 'string', arg: 'FILE', help: 'the journal to write (FILE.partial until closed cleanly); -o FILE' },
  { name: 'bundle', type: 'bool', help: 'embed the guest images (compressed) so the journal replays anywhere' },
  { name: 'sync-exp', type: 'int', arg: 'N', help: 'a SYNC record (state hash) every 2^N instructions', default: 24, min: 8, max: 40 },
  { name: 'expect', type: 'list', arg: 'EXPECTATION', help: 'write FILE.expect.json for `rewind test`: exit:N, serial-contains:TEXT, no-exception:V, reaches:SYMBOL (repeatable)' },
  { name: 'symbols', type: 'string', arg: 'FILE', help: 'symbols (ELF or nm/System.map) for reaches: (default IMAGE.sym or IMAGE.elf beside the image)' },
];

export const REPLAY_OPTIONS: OptSpec[] = [
  { name: 'serial', type: 'string', arg: 'stdio|file:PATH|none', help: 'where the replayed COM1 output goes', default: 'stdio' },
  { name: 'pcap', type: 'string', arg: 'PATH', help: 'write the replayed frames to a pcap file' },
  { name: 'realtime', type: 'bool', help: 'pace the replay to the recorded guest time instead of running flat out' },
  { name: 'until', type: 'int', arg: 'ICOUNT', help: 'stop at this instruction count', min: 0 },
  { name: 'image', type: 'list', arg: 'NAME=PATH', help: 'where to find an image the journal names (repeatable)' },
  { name: 'from', type: 'string', arg: 'SNAPSHOT', help: 'resume from a snapshot taken during a replay of this journal (rewind snapshot save)' },
  { name: 'go-live-at', type: 'int', arg: 'ICOUNT', help: 'leave the journal at ICOUNT and continue live (with --serial stdio, --nic)', min: 0 },
  { name: 'output', type: 'string', arg: 'FILE', help: 'with --go-live-at: record the live continuation as a branch journal' },
  { name: 'nic', type: 'string', arg: 'udp:PORT[:PEER]', help: 'with --go-live-at: the UDP virtual switch to join' },
  { name: 'max-instructions', type: 'int', arg: 'N', help: 'with --go-live-at: stop after N more instructions', min: 1 },
  { name: 'until-serial', type: 'string', arg: 'TEXT', help: 'stop as soon as the serial output contains TEXT' },
  { name: 'quiet', type: 'bool', help: 'no summary line and no progress' },
];

/** `-o FILE` is accepted as `--output FILE`. */
export function expandShort(argv: string[]): string[] {
  return argv.map((a) => (a === '-o' ? '--output' : a));
}
