/**
 * The `rewind` command. Each subcommand lives in its own module under
 * debugger/cli/commands and is loaded on demand; errors are one line on
 * stderr and a non-zero exit: 2 for a usage mistake (bad or missing
 * argument), 1 for anything else a user can cause (unreadable image, bad
 * journal, divergence).
 */
import { RewindError, ERR } from '../../engine/errors.js';
import { COMMANDS, mainHelp } from './commands.js';
import { processIo, type CliIo } from './io.js';

export const VERSION = '0.1.0';

/** Exit statuses of the CLI itself (a guest's debug-exit status passes through `run`). */
export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, INTERNAL: 70 } as const;

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0]) return main([rest[0], '--help'], io);
    io.stdout.write(mainHelp());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`rewind ${VERSION}\n`);
    return EXIT.OK;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.stderr.write(`rewind: unknown command "${name}" (try: rewind --help)\n`);
    return EXIT.USAGE;
  }
  const dashdash = rest.indexOf('--');
  const opts = dashdash >= 0 ? rest.slice(0, dashdash) : rest;
  if (opts.includes('--help') || opts.includes('-h')) {
    io.stdout.write(cmd.help());
    return EXIT.OK;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof RewindError) {
      io.stderr.write(`rewind: ${e.message.split('\n')[0]}\n`);
      return e.code === ERR.ARGUMENT ? EXIT.USAGE : EXIT.ERROR;
    }
    throw e;
  }
}
