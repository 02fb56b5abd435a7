/**
 * The TUI against a fake controller: a "machine" whose state is a pure
 * function of the icount, so every frame can be checked exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render } from 'ink-testing-library';
import { App } from '../../../debugger/tui/App.js';
import type { DebugController, DebugView, DisasmLine, StopInfo, ProgressReport } from '../../../debugger/tui/controller.js';
import { timelineCells } from '../../../debugger/tui/TimelineBar.js';
import { computeLayout, tailLines, flagNames, commas } from '../../../debugger/tui/format.js';

class FakeController implements DebugController {
  icount = 10;
  readonly end = 1000;
  readonly bps = new Set<number>();
  calls: string[] = [];
  eip(ic = this.icount) {
    return 0x1000 + ic * 2;
  }
  view(): DebugView {
    const ic = this.icount;
    return {
      title: 'fake.rwj',
      icount: ic,
      historyEnd: this.end,
      mode: 'protected',
      registers: [
        { name: 'eax', value: ic, digits: 8 },
        { name: 'ebx', value: 0x1234, digits: 8 },
        { name: 'ecx', value: 0, digits: 8 },
        { name: 'edx', value: 0, digits: 8 },
        { name: 'esi', value: 0, digits: 8 },
        { name: 'edi', value: 0, digits: 8 },
        { name: 'ebp', value: 0, digits: 8 },
        { name: 'esp', value: 0x8000, digits: 8 },
        { name: 'eip', value: this.eip(), digits: 8 },
        { name: 'cs', value: 8, digits: 4 },
        { name: 'ds', value: 0x10, digits: 4 },
        { name: 'ss', value: 0x10, digits: 4 },
      ],
      eflags: 0x246,
      eip: this.eip(),
      esp: 0x8000,
      serial: 'boot\n' + 'x'.repeat(Math.floor(ic / 100)) + (ic >= 500 ? '\nhalfway' : ''),
      marks: [
        { icount: 100, kind: 'irq' },
        { icount: 500, kind: 'serial' },
        { icount: 900, kind: 'exception' },
      ],
      breakpoints: this.bps,
    };
  }
  disassemble(addr: number, count: number): DisasmLine[] {
    return Array.from({ length: count }, (_, i) => ({ addr: addr + i * 2, bytes: '40 90', text: `inc eax ; #${(addr + i * 2 - 0x1000) / 2}`, symbol: addr + i * 2 === 0x1000 ? 'start' : null }));
  }
  disassembleBefore(addr: number, count: number): DisasmLine[] {
    return this.disassemble(Math.max(0x1000, addr - count * 2), Math.min(count, (addr - 0x1000) / 2));
  }
  readMemory(addr: number, length: number) {
    return Array.from({ length }, (_, i) => ((addr + i) & 0xff) as number | null);
  }
  symbolize(addr: number) {
    return addr === 0x07060504 ? 'main+4' : null;
  }
  private async move(to: number, what: string): Promise<StopInfo> {
    this.calls.push(what);
    this.icount = Math.max(0, Math.min(this.end, to));
    return { message: `${what} -> ${this.icount}` };
  }
  step(d: 1 | -1) {
    return this.move(this.icount + d, d > 0 ? 'step' : 'reverse-step');
  }
  next(d: 1 | -1) {
    return this.move(this.icount + 5 * d, d > 0 ? 'next' : 'reverse-next');
  }
  finish(d: 1 | -1) {
    return this.move(this.icount + 50 * d, d > 0 ? 'finish' : 'reverse-finish');
  }
  async cont(d: 1 | -1, onProgress: (p: ProgressReport) => void, signal: AbortSignal): Promise<StopInfo> {
    onProgress({ fraction: 0.5, icount: 500 });
    if (signal.aborted) return { message: 'interrupted' };
    return this.move(d > 0 ? this.end : 0, d > 0 ? 'continue' : 'reverse-continue');
  }
  seek(ic: number) {
    return this.move(ic, 'seek');
  }
  jumpToMark(_k: null, d: 1 | -1) {
    const marks = [100, 500, 900];
    const t = d > 0 ? marks.find((m) => m > this.icount) : [...marks].reverse().find((m) => m < this.icount);
    return this.move(t ?? this.icount, 'mark');
  }
  toggleBreakpoint(addr: number) {
    if (this.bps.has(addr)) this.bps.delete(addr);
    else this.bps.add(addr);
    return `breakpoint ${this.bps.has(addr) ? 'set' : 'cleared'} at ${addr.toString(16)}`;
  }
  async command(line: string) {
    this.calls.push(`cmd:${line}`);
    if (line.startsWith('bad')) throw new Error('unknown command "bad"');
    return `ran ${line}`;
  }
  speed() {
    return null;
  }
}

const tick = () => new Promise((r) => setImmediate(r));
async function settle() {
  for (let i = 0; i < 5; i++) await tick();
}

test('the first frame shows every panel at 80x24', async () => {
  const c = new FakeController();
  const ui = render(<App controller={c} env={{ NO_COLOR: '1' }} />);
  await settle();
  const f = ui.lastFrame()!;
  for (const s of ['Disassembly', 'Registers · protected', 'Memory · esp = 00008000', 'Stack', 'Serial (COM1) at this instant', 'icount 10 of 1,000', 'Press ? for help.']) {
    assert.ok(f.includes(s), `frame lacks ${s}:\n${f}`);
  }
  assert.match(f, / >00001014 {2}40 90/, 'current instruction marked');
  assert.match(f, /EAX 0000000a/);
  const lines = f.split('\n');
  const cols = ui.stdout.columns;
  assert.ok(lines.every((l) => l.length <= cols), `nothing wider than the terminal (${cols})`);
  ui.unmount();
});

test('stepping backwards and forwards changes the panels, with changed registers starred', async () => {
  const c = new FakeController();
  const ui = render(<App controller={c} env={{ NO_COLOR: '1' }} />);
  await settle();
  ui.stdin.write('s');
  await settle();
  let f = ui.lastFrame()!;
  assert.match(f, /EAX 0000000b\*/, f);
  assert.match(f, / >00001016/);
  assert.match(f, /step -> 11/);
  ui.stdin.write('S');
  await settle();
  ui.stdin.write('S');
  await settle();
  f = ui.lastFrame()!;
  assert.match(f, /EAX 00000009\*/);
  assert.match(f, /icount 9 of 1,000/);
  assert.deepEqual(c.calls, ['step', 'reverse-step', 'reverse-step']);
  for (const [key, call] of [['n', 'next'], ['N', 'reverse-next'], ['f', 'finish'], ['F', 'reverse-finish'], [']', 'mark']] as const) {
    ui.stdin.write(key);
    await settle();
    assert.equal(c.calls[c.calls.length - 1], call, key);
  }
  ui.unmount();
});

test('continue, the serial console rewinds with the position, and the timeline marks events', async () => {
  const c = new FakeController();
  const ui = render(<App controller={c} env={{ NO_COLOR: '1' }} />);
  await settle();
  assert.ok(!ui.lastFrame()!.includes('halfway'));
  ui.stdin.write('c');
  await settle();
  let f = ui.lastFrame()!;
  assert.ok(f.includes('halfway'), 'serial output as of the end');
  assert.match(f, /icount 1,000 of 1,000/);
  ui.stdin.write('C');
  await settle();
  f = ui.lastFrame()!;
  assert.ok(!f.includes('halfway'), 'serial output rewound');
  assert.match(f, /─i─/);
  assert.match(f, /!/);
  ui.unmount();
});

test('breakpoints toggle at the cursor; the command line runs commands and shows errors', async () => {
  const c = new FakeController();
  const ui = render(<App controller={c} env={{ NO_COLOR: '1' }} />);
  await settle();
  ui.stdin.write('\u001B[B'); // cursor down one line
  await settle();
  ui.stdin.write('b');
  await settle();
  assert.ok(c.bps.has(0x1016), [...c.bps].join());
  assert.match(ui.lastFrame()!, /▸\* 00001016/);
  for (const ch of ':info regs') ui.stdin.write(ch);
  await settle();
  assert.match(ui.lastFrame()!, /:info regs█/);
  ui.stdin.write('\r');
  await settle();
  assert.match(ui.lastFrame()!, /ran info regs/);
  for (const ch of ':bad') ui.stdin.write(ch);
  ui.stdin.write('\r');
  await settle();
  assert.match(ui.lastFrame()!, /unknown command "bad"/);
  for (const ch of ':goto 700') ui.stdin.write(ch);
  ui.stdin.write('\r');
  await settle();
  assert.equal(c.icount, 700);
  for (const ch of ':mem 0x40') ui.stdin.write(ch);
  ui.stdin.write('\r');
  await settle();
  assert.match(ui.lastFrame()!, /Memory · 0x40 = 00000040/);
  assert.match(ui.lastFrame()!, /00000040 40 41 42/);
  ui.unmount();
});

test('a command and its Enter arriving in one chunk run the command', async () => {
  const c = new FakeController();
  const ui = render(<App controller={c} env={{ NO_COLOR: '1' }} />);
  await settle();
  ui.stdin.write(':goto 321\r');
  await settle();
  assert.equal(c.icount, 321);
  ui.stdin.write(':');
  ui.stdin.write('print eax\r');
  await settle();
  assert.match(ui.lastFrame()!, /ran print eax/);
  ui.unmount();
});

test('the help overlay lists the keys and closes on any key', async () => {
  const ui = render(<App controller={new FakeController()} env={{ NO_COLOR: '1' }} />);
  await settle();
  ui.stdin.write('?');
  await settle();
  assert.match(ui.lastFrame()!, /rewind keys/);
  assert.match(ui.lastFrame()!, /reverse-continue/);
  ui.stdin.write('x');
  await settle();
  assert.ok(!ui.lastFrame()!.includes('rewind keys'));
  ui.unmount();
});

test('layout and formatting helpers', () => {
  const l = computeLayout(24, 80);
  assert.equal(l.leftWidth + l.rightWidth, 80);
  assert.equal(l.disasmRows + l.memoryRows + l.serialRows + 4, 24);
  assert.equal(l.regsRows + l.stackRows, l.disasmRows + l.memoryRows);
  const big = computeLayout(50, 160);
  assert.ok(big.disasmRows > l.disasmRows && big.rightWidth === 40);
  assert.deepEqual(computeLayout(10, 40), l, '80x24 is the minimum');
  assert.deepEqual(tailLines('a\nbcdef\ng\n', 3, 3), ['bcd', 'ef', 'g']);
  assert.equal(flagNames(0x246), 'ZF IF PF'.split(' ').sort((a, b) => ['OF', 'DF', 'IF', 'TF', 'SF', 'ZF', 'AF', 'PF', 'CF'].indexOf(a) - ['OF', 'DF', 'IF', 'TF', 'SF', 'ZF', 'AF', 'PF', 'CF'].indexOf(b)).join(' '));
  assert.equal(commas(1234567), '1,234,567');
  const cells = timelineCells([{ icount: 0, kind: 'irq' }, { icount: 1, kind: 'exception' }, { icount: 99, kind: 'net' }], 100, 10);
  assert.deepEqual(cells, ['exception', null, null, null, null, null, null, null, null, 'net']);
});
