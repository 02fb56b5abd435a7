/**
 * The `rewind` command. Each subcommand lives in its own module under
 * debugger/cli/commands and is loaded on demand; errors are one line on
 * stderr and a non-zero exit.
 */
import { COMMANDS, mainHelp } from './commands.js';

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`rewind ${VERSION}\n`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`rewind: unknown command "${name}" (try: rewind --help)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.help);
    return 0;
  }
  return cmd.run(rest);
}

export const VERSION = '0.1.0';

