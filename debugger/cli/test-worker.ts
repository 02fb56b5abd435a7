/**
 * Worker thread for `rewind test`: checks the recordings it is sent, one at a
 * time, and posts each result back.
 */
import { parentPort } from 'node:worker_threads';
import { checkRecording } from './check-recording.js';

const port = parentPort;
if (port) {
  port.on('message', (msg: { path: string; cwd: string } | null) => {
    if (msg === null) {
      port.close();
      return;
    }
    void checkRecording(msg.path, msg.cwd).then((r) => port.postMessage(r));
  });
}
