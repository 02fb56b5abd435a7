/**
 * `rewind gdb`: a GDB remote stub on 127.0.0.1 serving a recording (or a live,
 * always-recording run), with reverse execution. Runs until gdb kills or
 * detaches, or the process is interrupted.
 */
import { argError } from '../../../engine/errors.js';
import { withSignals } from '../../../engine/host/terminal.js';
import { GdbServer } from '../../gdb/server.js';
import { parseArgs } from '../args.js';
import { GDB_OPTIONS } from '../commands.js';
import type { CliIo } from '../io.js';
import { expandShort } from '../options.js';
import { openSession, seekToStart } from '../debug-session.js';

export async function gdb(argv: string[], io: CliIo): Promise<number> {
  const { opts, positional } = parseArgs(expandShort(argv), GDB_OPTIONS);
  if (positional.length > 1) throw argError(`unexpected argument ${JSON.stringify(positional[1])}`);
  const s = await openSession(opts, positional, io);
  try {
    seekToStart(s, opts);
  } catch (e) {
    await s.close();
    throw e;
  }
  let finish: () => void = () => {};
  const ended = new Promise<string>((res) => {
    finish = () => res('');
  });
  let why = 'gdb detached';
  const server = new GdbServer(s.session, {
    port: opts['port'] as number,
    onKill: () => {
      why = 'gdb killed the target';
      finish();
    },
    onDisconnect: () => finish(),
  });
  const port = await server.listen();
  io.stderr.write(`rewind: gdb stub for ${s.title} listening on 127.0.0.1:${port} (in gdb: target remote :${port}${s.symbolsPath ? `, symbol-file ${s.symbolsPath.replace(/\.(sym|map)$/, '.elf')}` : ''})\n`);
  try {
    await withSignals(io.signals, (sig) => {
      why = `interrupted by ${sig}`;
      finish();
    }, () => ended);
  } finally {
    await server.close();
    await s.close();
  }
  io.stderr.write(`rewind: ${why}; stopped at icount ${s.target.icount}\n`);
  return 0;
}
