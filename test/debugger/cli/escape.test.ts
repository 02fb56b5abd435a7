import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EscapeFilter } from '../../../debugger/cli/escape.js';

test('the console escape: Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-C and all else pass, split across reads', () => {
  const f = new EscapeFilter();
  const a = f.feed(Uint8Array.from([0x68, 0x03, 0x0d]));
  assert.deepEqual([...a.forward], [0x68, 0x03, 0x0d]);
  assert.deepEqual(a.commands, []);
  const b = f.feed(Uint8Array.from([0x41, 0x01]));
  assert.deepEqual([...b.forward], [0x41]);
  assert.deepEqual(b.commands, [], 'the prefix waits for the next read');
  const c = f.feed(Uint8Array.from([0x01, 0x42, 0x01, 0x68, 0x01, 0x7a, 0x43, 0x01, 0x78, 0x44]));
  assert.deepEqual([...c.forward], [0x01, 0x42, 0x43, 0x44], 'Ctrl-A Ctrl-A is one Ctrl-A; Ctrl-A z is dropped');
  assert.deepEqual(c.commands, ['help', 'quit']);
  assert.deepEqual(f.feed(Uint8Array.from([0x01, 0x58])).commands, ['quit'], 'X works too');
});
