#!/usr/bin/env node
// The `rewind` executable: runs the CLI and turns errors into one line and an exit status.
import { RewindError, ERR } from '../../engine/errors.js';
import { main, EXIT } from './main.js';
import { tuneV8 } from '../../engine/host/v8-tuning.js';

tuneV8();

// A reader that goes away (`rewind info x | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof RewindError) process.stderr.write(`rewind: ${err.message}\n`);
    else process.stderr.write(`rewind: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = err instanceof RewindError ? (err.code === ERR.ARGUMENT ? EXIT.USAGE : EXIT.ERROR) : EXIT.INTERNAL;
  },
);
