import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequest, type GdbRequest } from '../../../debugger/gdb/requests.js';

const table: [string, GdbRequest | string][] = [
  ['?', { kind: 'haltReason' }],
  ['g', { kind: 'readRegisters' }],
  ['G0011', { kind: 'writeRegisters', data: Uint8Array.of(0, 0x11) }],
  ['p8', { kind: 'readRegister', reg: 8 }],
  ['P8=44001000', { kind: 'writeRegister', reg: 8, data: Uint8Array.of(0x44, 0, 0x10, 0) }],
  ['m100044,4', { kind: 'readMemory', addr: 0x100044, length: 4 }],
  ['M1000,2:abcd', { kind: 'writeMemory', addr: 0x1000, data: Uint8Array.of(0xab, 0xcd) }],
  ['X1000,3:a}b', { kind: 'writeMemory', addr: 0x1000, data: Uint8Array.of(0x61, 0x7d, 0x62) }],
  ['c', { kind: 'continue', addr: null }],
  ['c1000', { kind: 'continue', addr: 0x1000 }],
  ['s', { kind: 'step', addr: null }],
  ['bc', { kind: 'reverseContinue' }],
  ['bs', { kind: 'reverseStep' }],
  ['vCont?', { kind: 'vContQuery' }],
  ['vCont;s:1;c', { kind: 'vCont', actions: [{ action: 's', thread: '1' }, { action: 'c', thread: null }] }],
  ['vCont;C05:p1.-1', { kind: 'vCont', actions: [{ action: 'c', thread: 'p1.-1', signal: 5 }] }],
  ['vCont;r1000,1010:1', { kind: 'vCont', actions: [{ action: 'r', thread: '1', start: 0x1000, end: 0x1010 }] }],
  ['Z0,100044,1', { kind: 'insertBreak', type: 0, addr: 0x100044, length: 1 }],
  ['z2,101000,4', { kind: 'removeBreak', type: 2, addr: 0x101000, length: 4 }],
  ['Z4,101000,8;X1,0', { kind: 'insertBreak', type: 4, addr: 0x101000, length: 8 }],
  ['qSupported:multiprocess+;swbreak+;xmlRegisters=i386', { kind: 'supported', features: ['multiprocess+', 'swbreak+', 'xmlRegisters=i386'] }],
  ['qSupported', { kind: 'supported', features: [] }],
  ['QStartNoAckMode', { kind: 'startNoAck' }],
  ['qXfer:features:read:target.xml:0,ffb', { kind: 'xferFeatures', annex: 'target.xml', offset: 0, length: 0xffb }],
  ['qAttached', { kind: 'attached' }],
  ['qAttached:1', { kind: 'attached' }],
  ['qC', { kind: 'currentThread' }],
  ['qfThreadInfo', { kind: 'threadInfoFirst' }],
  ['qsThreadInfo', { kind: 'threadInfoNext' }],
  ['qOffsets', { kind: 'offsets' }],
  ['qSymbol::', { kind: 'symbol' }],
  ['qRcmd,69636f756e74', { kind: 'monitor', command: 'icount' }],
  ['D', { kind: 'detach' }],
  ['D;1', { kind: 'detach' }],
  ['k', { kind: 'kill' }],
  ['vKill;1', { kind: 'kill' }],
  ['vMustReplyEmpty', { kind: 'mustReplyEmpty' }],
  ['Hg0', { kind: 'setThread', op: 'g', thread: '0' }],
  ['Hc-1', { kind: 'setThread', op: 'c', thread: '-1' }],
  ['T1', { kind: 'threadAlive', thread: '1' }],
  ['qTStatus', { kind: 'unknown', packet: 'qTStatus' }],
  ['vFile:setfs:0', { kind: 'unknown', packet: 'vFile:setfs:0' }],
  ['', { kind: 'unknown', packet: '' }],
  ['!', { kind: 'unknown', packet: '!' }],
  ['bx', { kind: 'unknown', packet: 'bx' }],
  // malformed -> the error names the problem
  ['?x', 'takes no arguments'],
  ['G', 'hex register data'],
  ['Gxyz', 'hex register data'],
  ['p', 'hex register number'],
  ['p123456789', 'hex register number'],
  ['P8', 'REG=HEXVALUE'],
  ['m100044', 'ADDR,LENGTH'],
  ['m1,ffffffff', 'exceeds'],
  ['m123456789,1', 'ADDR,LENGTH'],
  ['M1000,2:ab', 'does not match'],
  ['M1000,2', 'ADDR,LENGTH:DATA'],
  ['X1000,3:ab', 'does not match'],
  ['cxyz', 'optional hex address'],
  ['Z5,1000,1', 'TYPE,ADDR,KIND'],
  ['Z2,1000,0', 'out of range'],
  ['Z0,1000', 'TYPE,ADDR,KIND'],
  ['H', 'thread id'],
  ['Hg!', 'bad thread id'],
  ['qXfer:features:read:target.xml', 'ANNEX:OFFSET,LENGTH'],
  ['qRcmd,6', 'hex-encoded'],
  ['vCont;', 'unknown action'],
  ['vCont;x', 'unknown action'],
  ['vCont;s:!', 'bad thread id'],
  ['vCont;Cxx', 'bad signal'],
  ['vCont;r1', 'START,END'],
];

test('request parser table', () => {
  for (const [packet, want] of table) {
    const got = parseRequest(packet);
    if (typeof want === 'string') {
      assert.equal(got.kind, 'malformed', `${JSON.stringify(packet)} should be malformed`);
      assert.match((got as { error: string }).error, new RegExp(want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), packet);
    } else assert.deepEqual(got, want, packet);
  }
});

test('fuzz: the parser is total on random and mutated packets', () => {
  let s = 1;
  const r = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const seeds = table.map(([p]) => p);
  for (let i = 0; i < 20000; i++) {
    let p = seeds[Math.floor(r() * seeds.length)]!;
    const edits = 1 + Math.floor(r() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(r() * (p.length + 1));
      const c = String.fromCharCode(r() < 0.5 ? Math.floor(r() * 128) : ',:;=0123456789abcdef-'.charCodeAt(Math.floor(r() * 21)));
      p = r() < 0.5 ? p.slice(0, at) + c + p.slice(at) : p.slice(0, at) + p.slice(at + 1);
    }
    const req = parseRequest(p);
    assert.equal(typeof req.kind, 'string');
  }
});
