import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../../debugger/timeline/session.js';
import { serveGdb } from '../../../debugger/gdb/serve.js';
import { encodePacket } from '../../../debugger/gdb/packets.js';
import { GdbTestClient } from './client.js';
import { demoToyMachine } from './demo-target.js';

test('serveGdb prints how to connect and resolves when gdb kills the session', async () => {
  const lines: string[] = [];
  const svc = await serveGdb(new Session(demoToyMachine()), { port: 0, print: (l) => lines.push(l), symbolFile: 'demo.elf' });
  assert.match(lines[0]!, new RegExp(`listening on 127\\.0\\.0\\.1:${svc.port}$`));
  assert.match(lines[1]!, /target remote 127\.0\.0\.1:\d+' demo\.elf/);
  const c = await GdbTestClient.open(svc.port);
  assert.match(await c.req('?'), /^T05/);
  c.raw(encodePacket('k', false));
  assert.equal(await svc.done, 'killed');
  await svc.close();
});
