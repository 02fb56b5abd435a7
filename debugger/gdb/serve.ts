/**
 * What `rewind gdb` runs once it has a session: listen on 127.0.0.1, tell the
 * user how to connect, serve debuggers one at a time until one sends `k`
 * (kill) or the caller closes.
 */
import type { Logger } from '../../engine/log.js';
import type { Session } from '../timeline/session.js';
import { GdbServer } from './server.js';

export interface ServeGdbOptions {
  /** TCP port; 0 picks a free one (printed). */
  port: number;
  logger?: Logger;
  /** Where the "listening" lines go (default: nowhere). */
  print?: (line: string) => void;
  /** ELF with symbols to suggest in the connect line. */
  symbolFile?: string;
}

export interface GdbService {
  port: number;
  server: GdbServer;
  /** Resolves when a debugger kills the session (`k`) or close() is called. */
  done: Promise<'killed' | 'closed'>;
  close(): Promise<void>;
}

export async function serveGdb(session: Session, opts: ServeGdbOptions): Promise<GdbService> {
  let finish: (why: 'killed' | 'closed') => void = () => {};
  const done = new Promise<'killed' | 'closed'>((resolve) => (finish = resolve));
  const server = new GdbServer(session, { port: opts.port, ...(opts.logger ? { logger: opts.logger } : {}), onKill: () => finish('killed') });
  const port = await server.listen();
  const print = opts.print ?? (() => {});
  print(`rewind gdb: listening on 127.0.0.1:${port}`);
  print(`  connect with: gdb -ex 'set architecture i386' -ex 'target remote 127.0.0.1:${port}'${opts.symbolFile ? ` ${opts.symbolFile}` : ''}`);
  print('  reverse execution: reverse-stepi, reverse-continue, reverse-finish; monitor help for rewind commands');
  return {
    port,
    server,
    done,
    close: async () => {
      await server.close();
      finish('closed');
    },
  };
}
