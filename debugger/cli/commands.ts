/**
 * The table of subcommands: name, one-line summary, full help, and a runner.
 * A subcommand's module is imported only when it runs, so `rewind --help`
 * starts fast and does not load Ink.
 */
export interface Command {
  name: string;
  summary: string;
  help: string;
  run(args: string[]): Promise<number>;
}

export const COMMANDS: Command[] = [];

export function mainHelp(): string {
  const lines = [
    'rewind: a deterministic record/replay debugger for IA-32 PCs',
    '',
    'Usage: rewind <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '',
    'Run `rewind <command> --help` for a command\'s options and examples.',
    '',
  ];
  if (COMMANDS.length === 0) lines.splice(4, 2, 'Commands: none yet (this build has the engine backbone only).');
  return lines.join('\n');
}
