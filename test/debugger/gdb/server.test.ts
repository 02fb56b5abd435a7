import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Session } from '../../../debugger/timeline/session.js';
import { GdbServer } from '../../../debugger/gdb/server.js';
import { GDB_G_BYTES, GDB_REGS, targetXml } from '../../../debugger/gdb/target-xml.js';
import { hexLe32, encodePacket } from '../../../debugger/gdb/packets.js';
import { SymbolTable } from '../../../debugger/timeline/symbols.js';
import { REG } from '../../../debugger/timeline/target.js';
import { MemoryLogger } from '../../../engine/log.js';
import { GdbTestClient } from './client.js';
import { demoToyMachine, DEMO_ELF } from './demo-target.js';
import { readFileSync } from 'node:fs';

async function setup(historyEnd = Infinity) {
  const m = demoToyMachine(historyEnd);
  const symbols = SymbolTable.fromElf(readFileSync(DEMO_ELF));
  const session = new Session(m, { symbols });
  const logger = new MemoryLogger();
  let killed = 0;
  const server = new GdbServer(session, { port: 0, logger, onKill: () => killed++ });
  const port = await server.listen();
  const c = await GdbTestClient.open(port);
  return { m, session, server, port, c, logger, symbols, killed: () => killed };
}

const sym = (t: SymbolTable, n: string): number => t.lookup(n)!;

/** The demo with its main loop made endless (jnz main_loop becomes jmp main_loop), in a session replaying in 1000-instruction chunks. */
function loopForever(m: ReturnType<typeof demoToyMachine>): Session {
  const symbols = SymbolTable.fromElf(readFileSync(DEMO_ELF));
  const jnz = sym(symbols, 'main_loop') + 18;
  assert.equal(m.mem[jnz], 0x75);
  m.mem[jnz] = 0xeb;
  m.seek(0);
  return new Session(m, { symbols, chunk: 1000 });
}

test('handshake: qSupported, no-ack mode, target description, threads', async () => {
  const { c, server } = await setup();
  try {
    const sup = await c.req('qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386');
    for (const f of ['PacketSize=4000', 'ReverseStep+', 'ReverseContinue+', 'qXfer:features:read+', 'QStartNoAckMode+']) assert.ok(sup.split(';').includes(f), f);
    assert.equal(await c.req('vMustReplyEmpty'), '');
    assert.equal(await c.req('QStartNoAckMode'), 'OK');
    c.noAck = true;
    const acksBefore = c.acks;
    assert.equal(await c.req('Hg0'), 'OK');
    assert.equal(c.acks, acksBefore, 'no acks in no-ack mode');
    // Read the whole target description in small pieces.
    let xml = '';
    for (;;) {
      const part = await c.req(`qXfer:features:read:target.xml:${xml.length.toString(16)},100`);
      xml += part.slice(1);
      if (part[0] === 'l') break;
      assert.equal(part[0], 'm');
    }
    assert.equal(xml, targetXml());
    assert.match(xml, /<feature name="org.gnu.gdb.i386.core">/);
    assert.equal(await c.req('qXfer:features:read:other.xml:0,100'), 'E00');
    assert.equal(await c.req('qfThreadInfo'), 'm01');
    assert.equal(await c.req('qsThreadInfo'), 'l');
    assert.equal(await c.req('qC'), 'QC01');
    assert.equal(await c.req('qAttached'), '1');
    assert.equal(await c.req('T01'), 'OK');
    assert.equal(await c.req('vCont?'), 'vCont;c;C;s;S');
    assert.equal(await c.req('qTStatus'), '', 'unknown packets get the empty reply');
    assert.match(await c.req('?'), /^T05thread:01;/);
  } finally {
    c.close();
    await server.close();
  }
});

test('registers and memory agree with the session; writes make a branch', async () => {
  const { c, server, session, m, symbols } = await setup();
  try {
    const g = await c.req('g');
    assert.equal(g.length, GDB_G_BYTES * 2);
    assert.equal(g.slice(8 * 8, 9 * 8), hexLe32(session.reg(REG.EIP)));
    assert.equal(g.slice(4 * 8, 5 * 8), hexLe32(session.reg(REG.ESP)));
    assert.match(g.slice(16 * 8, 16 * 8 + 20), /^x+$/, 'x87 registers are reported unavailable');
    assert.equal(await c.req('p8'), hexLe32(sym(symbols, '_start')));
    const cr0 = GDB_REGS.findIndex((r) => r.name === 'cr0');
    assert.equal(await c.req(`p${cr0.toString(16)}`), hexLe32(0x11));
    assert.equal(await c.req('p999'), 'E45');
    const helper = sym(symbols, 'helper');
    assert.equal(await c.req(`m${helper.toString(16)},6`), '8b150010100'.padEnd(12, '0').slice(0, 12));
    assert.equal(await c.req('m200000,4'), 'E14', 'unmapped memory');
    assert.equal((await c.req('m10fffe,8')).length, 4, 'partial reads return the mapped prefix');
    // Step a few instructions, then write in the past.
    for (let i = 0; i < 5; i++) assert.match(await c.req('s'), /^T05/);
    assert.match(await c.req('bs'), /^T05/);
    assert.equal(session.position.icount, 4);
    assert.equal(await c.req(`P0=${hexLe32(0x1234)}`), 'OK');
    assert.equal(m.onBranch, true);
    assert.equal(session.reg(REG.EAX), 0x1234);
    assert.equal(await c.req('M101000,4:01020304'), 'OK');
    assert.deepEqual([...session.readMemory(0x101000, 4)], [1, 2, 3, 4]);
    assert.equal(await c.req('X101004,2:\x05\x06'), 'OK');
    assert.deepEqual([...session.readMemory(0x101004, 2)], [5, 6]);
    const g2 = await c.req('g');
    assert.equal(await c.req('G' + g2), 'OK');
    assert.equal(await c.req('G00'), 'E01');
  } finally {
    c.close();
    await server.close();
  }
});

test('x87 registers come from the target when it models them, read-only', async () => {
  const m = demoToyMachine();
  const st = Array.from({ length: 8 }, (_, i) => Uint8Array.from({ length: 10 }, (_, k) => i * 16 + k));
  (m as unknown as { readFpu: () => unknown }).readFpu = () => ({ st, fctrl: 0x37f, fstat: 0x3800, ftag: 0xffff, fiseg: 8, fioff: 0x1234, foseg: 0x10, fooff: 0x5678, fop: 0x1d9 });
  const server = new GdbServer(new Session(m), { port: 0 });
  const c = await GdbTestClient.open(await server.listen());
  try {
    assert.equal(await c.req('p10'), '00010203040506070809', 'st0');
    assert.equal(await c.req('p17'), '70717273747576777879', 'st7');
    assert.equal(await c.req('p18'), hexLe32(0x37f), 'fctrl');
    assert.equal(await c.req('p19'), hexLe32(0x3800), 'fstat');
    assert.equal(await c.req('p1f'), hexLe32(0x1d9), 'fop');
    assert.equal(await c.req('p20'), 'x'.repeat(32), 'xmm0 unavailable');
    const g = await c.req('g');
    assert.equal(g.slice(16 * 8, 16 * 8 + 20), '00010203040506070809');
    assert.equal(await c.req('P18=7f030000'), 'E01', 'x87 writes are refused');
  } finally {
    c.close();
    await server.close();
  }
});

test('breakpoints, watchpoints and reverse execution over the wire', async () => {
  const { c, server, session, symbols } = await setup();
  try {
    const helper = sym(symbols, 'helper');
    const counter = sym(symbols, 'counter');
    assert.equal(await c.req(`Z0,${helper.toString(16)},1`), 'OK');
    const s1 = await c.req('c');
    assert.match(s1, /^T05swbreak:;thread:01;/);
    assert.ok(s1.includes(`08:${hexLe32(helper)};`), 'expedited eip');
    assert.match(await c.req('vCont;c'), /^T05swbreak:/);
    assert.equal(session.reg(REG.ECX), 1);
    assert.match(await c.req('bc'), /^T05swbreak:/);
    assert.equal(session.reg(REG.ECX), 0);
    assert.match(await c.req('bc'), /^T05replaylog:begin;/);
    assert.equal(session.position.icount, 0);
    assert.equal(await c.req(`z0,${helper.toString(16)},1`), 'OK');
    assert.equal(await c.req(`Z2,${counter.toString(16)},4`), 'OK');
    const w = await c.req('c');
    assert.match(w, new RegExp(`^T05watch:${counter.toString(16)};`));
    assert.equal(session.linearPc(), helper + 14, 'after the write');
    assert.match(await c.req('c'), /^T05watch:/);
    const bw = await c.req('bc');
    assert.match(bw, /^T05watch:/);
    assert.equal(session.linearPc(), helper + 8, 'reverse: on the writing instruction');
    assert.equal(await c.req(`z2,${counter.toString(16)},4`), 'OK');
    assert.equal(await c.req(`Z3,${sym(symbols, 'result').toString(16)},4`), 'OK');
    assert.match(await c.req('c'), /^T05replaylog:end;/, 'nothing reads result: runs to the end of the program');
    assert.equal(await c.req(`Z4,${sym(symbols, 'result').toString(16)},4`), 'OK');
    assert.match(await c.req('bc'), /^T05awatch:/);
    assert.equal(await c.req('Z1,100000,1'), 'OK');
    assert.match(await c.req('vCont;s:1'), /^T05/);
  } finally {
    c.close();
    await server.close();
  }
});

test('monitor commands', async () => {
  const { c, server, session } = await setup();
  try {
    const hex = (s: string): string => Buffer.from(s).toString('hex');
    assert.equal(await c.req('qRcmd,' + hex('seek 20')), 'OK');
    assert.equal(session.position.icount, 20);
    c.console = '';
    assert.equal(await c.req('qRcmd,' + hex('icount')), 'OK');
    assert.equal(c.console, 'icount 20\n');
    c.console = '';
    assert.equal(await c.req('qRcmd,' + hex('where')), 'OK');
    assert.match(c.console, /eip (compute|helper|main_loop|_start)/);
    assert.equal(await c.req('qRcmd,' + hex('events')), 'OK');
    assert.equal(await c.req('qRcmd,' + hex('help')), 'OK');
    c.console = '';
    assert.equal(await c.req('qRcmd,' + hex('catch io 0xe9')), 'OK');
    assert.match(c.console, /event 1 on io port 0xe9/);
    assert.match(await c.req('c'), /^T05/);
    assert.equal(session.linearPc() > 0x100000, true);
    assert.equal(await c.req('qRcmd,' + hex('points')), 'OK');
    assert.equal(await c.req('qRcmd,' + hex('delete 1')), 'OK');
    assert.equal(await c.req('qRcmd,' + hex('last-write counter 4')), 'OK');
    assert.equal(await c.req('qRcmd,' + hex('seek x')), 'E01');
    assert.equal(await c.req('qRcmd,' + hex('catch nothing')), 'E01');
    c.console = '';
    assert.equal(await c.req('qRcmd,' + hex('frobnicate')), 'OK');
    assert.match(c.console, /unknown monitor command/);
  } finally {
    c.close();
    await server.close();
  }
});

test('a long monitor seek keeps gdb alive: progress as O packets before the final OK, paced by the clock', async () => {
  const m = demoToyMachine(200_000);
  const session = loopForever(m);
  let clockMs = 0;
  let clockStep = 0;
  const server = new GdbServer(session, { port: 0, keepAliveMs: 1000, now: () => (clockMs += clockStep) });
  const c = await GdbTestClient.open(await server.listen());
  const hex = (s: string): string => Buffer.from(s).toString('hex');
  try {
    // Each slice of 1000 instructions "takes" 400 ms: a keep-alive every third slice.
    clockStep = 400;
    assert.equal(await c.req('qRcmd,' + hex('seek 150000')), 'OK');
    assert.equal(session.position.icount, 150_000);
    const lines = c.console.trimEnd().split('\n');
    const progress = lines.filter((l) => l.startsWith('rewind: seek: '));
    // 150 slices, one line per 1000 ms of the clock (two or three slices).
    assert.ok(progress.length >= 40 && progress.length <= 75, `${progress.length} progress lines`);
    const at = progress.map((l) => Number(/at icount ([\d,]+)/.exec(l)![1]!.replace(/,/g, '')));
    assert.ok(at.every((v, i) => i === 0 || v > at[i - 1]!), 'progress moves forward');
    assert.match(progress[0]!, /^rewind: seek: [\d,]+ of 150,000 instructions replayed \(\d+%\), at icount [\d,]+, from 0$/);
    // Every O packet came before the reply; the result line is the last one.
    assert.match(lines[lines.length - 1]!, /^seek at icount 150000/);
    assert.equal(lines.length, progress.length + 1);

    // A fast clock-wise seek (the clock does not move): only the result.
    clockStep = 0;
    c.console = '';
    assert.equal(await c.req('qRcmd,' + hex('seek 10000')), 'OK');
    assert.match(c.console, /^seek at icount 10000[^\n]*\n$/);

    // Ctrl-C during a seek (here: right behind it) cancels it; the position stays.
    c.console = '';
    c.raw(Buffer.concat([encodePacket('qRcmd,' + hex('seek 190000'), false), Buffer.from([3])]));
    assert.equal(await c.reply(), 'OK');
    assert.match(c.console, /seek interrupted; position unchanged/);
    assert.equal(session.position.icount, 10_000);
    assert.match(await c.req('s'), /^T05/, 'still serving');
  } finally {
    c.close();
    await server.close();
  }
});

test('Ctrl-C interrupts a long continue at once with T02', async () => {
  const m = demoToyMachine();
  const session = loopForever(m);
  const server = new GdbServer(session, { port: 0 });
  const c = await GdbTestClient.open(await server.listen());
  try {
    c.raw(encodePacket('c', false));
    // Wait until the machine is clearly running, then interrupt.
    while (m.icount < 20000) await new Promise((r) => setImmediate(r));
    c.raw('\x03');
    assert.match(await c.reply(), /^T02/);
    assert.match(await c.req('s'), /^T05/, 'still serving');
  } finally {
    c.close();
    await server.close();
  }
});

test('Ctrl-C sent together with a resume stops it at once, forward and in reverse', async () => {
  const { c, server, session } = await setup();
  try {
    assert.match(await c.req('c'), /^T05replaylog:end;/);
    const end = session.position;
    c.raw(Buffer.concat([encodePacket('bc', false), Buffer.from([3])]));
    assert.match(await c.reply(), /^T02/);
    assert.deepEqual(session.position, end, 'a cancelled reverse-continue leaves the position unchanged');
    session.seek(10);
    c.raw(Buffer.concat([encodePacket('c', false), Buffer.from([3])]));
    assert.match(await c.reply(), /^T02/);
    assert.equal(session.position.icount, 10);
    assert.match(await c.req('bs'), /^T05/, 'and the next command runs normally');
    assert.equal(session.position.icount, 9);
  } finally {
    c.close();
    await server.close();
  }
});

test('malformed, oversized and garbage input gets errors and log lines, never a crash', async () => {
  const { c, server, logger } = await setup();
  try {
    assert.equal(await c.req('m100044'), 'E01');
    assert.equal(await c.req('Z9,1,1'), 'E01');
    c.raw('$g#00');
    await new Promise((r) => setTimeout(r, 0));
    c.raw('garbage');
    c.raw('$' + 'a'.repeat(0x4100) + '#00');
    assert.equal(await c.reply(), 'E01', 'oversized packet');
    assert.match(await c.req('?'), /^T05/);
    assert.ok(c.nacks >= 1, 'bad checksum is nacked');
    assert.ok(logger.lines.some((l) => l.includes('malformed packet')));
    assert.ok(logger.lines.some((l) => l.includes('checksum mismatch')));
    assert.ok(logger.lines.some((l) => l.includes('longer than')));
  } finally {
    c.close();
    await server.close();
  }
});

test('fuzz: random packets and bytes never crash or hang the server', async () => {
  const { c, server } = await setup(5000);
  let s = 42;
  const r = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const seeds = ['g', 'G00', 'p8', 'P8=00000000', 'm100000,10', 'M101000,1:00', 'X101000,1:a', 'c', 's', 'bs', 'bc', 'Z0,100044,1', 'z0,100044,1', 'Z2,101000,4', 'z2,101000,4', 'vCont;s', 'qXfer:features:read:target.xml:0,10', 'qRcmd,69636f756e74', 'H', 'T', '?', 'qSupported'];
  try {
    for (let i = 0; i < 1500; i++) {
      let p = seeds[Math.floor(r() * seeds.length)]!;
      if (r() < 0.7) {
        const at = Math.floor(r() * (p.length + 1));
        p = p.slice(0, at) + String.fromCharCode(32 + Math.floor(r() * 95)) + p.slice(at + 1);
      }
      // Detach and kill end the session: not what this test is about.
      if (/^(D|k|vKill)/.test(p)) continue;
      // Resumes stay short: the history ends at 5000.
      const reply = await c.req(p);
      assert.equal(typeof reply, 'string');
      if (r() < 0.1) {
        const junk = Buffer.alloc(Math.floor(r() * 64));
        for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(r() * 256) & ~0x24 & 0xff;
        c.raw(junk.filter((b) => b !== 0x24 && b !== 0x03));
      }
    }
    assert.match(await c.req('?'), /^T0/);
  } finally {
    c.close();
    await server.close();
  }
});

test('detach and kill close the connection; the server takes the next debugger', async () => {
  const { c, server, port, killed } = await setup();
  try {
    c.raw(encodePacket('D', false));
    assert.equal(await c.reply(), 'OK');
    await c.waitClosed();
    const c2 = await GdbTestClient.open(port);
    assert.match(await c2.req('?'), /^T05/);
    c2.raw(encodePacket('k', false));
    await c2.waitClosed();
    assert.equal(killed(), 1);
  } finally {
    await server.close();
  }
});

test('listens on 127.0.0.1 only and rejects a bad port', async () => {
  const { server, c } = await setup();
  try {
    const addr = (server as unknown as { server: { address(): { address: string } } }).server.address();
    assert.equal(addr.address, '127.0.0.1');
  } finally {
    c.close();
    await server.close();
  }
  assert.throws(() => new GdbServer(new Session(demoToyMachine()), { port: 70000 }), /port/);
});
