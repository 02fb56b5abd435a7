import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, parseIntArg, formatOptions, type OptSpec } from '../../../debugger/cli/args.js';
import { RewindError } from '../../../engine/errors.js';

const specs: OptSpec[] = [
  { name: 'memory', type: 'int', help: 'RAM in MiB', default: 128, min: 1, max: 3584 },
  { name: 'serial', type: 'string', help: 'serial', choices: ['stdio', 'none'], default: 'stdio' },
  { name: 'realtime', type: 'bool', help: 'pace' },
  { name: 'append', type: 'string', help: 'cmdline' },
  { name: 'expect', type: 'list', help: 'expectation' },
  { name: 'speed', type: 'number', help: 'x', min: 0 },
];

test('parses every option form and keeps positionals in order', () => {
  const p = parseArgs(['a.jnl', '--memory', '64', '--serial=none', '--realtime', '--append', 'console=ttyS0 quiet', 'b', '--expect', 'x', '--expect=y', '--speed', '1.5'], specs);
  assert.deepEqual(p.positional, ['a.jnl', 'b']);
  assert.deepEqual(p.opts, { memory: 64, serial: 'none', realtime: true, append: 'console=ttyS0 quiet', expect: ['x', 'y'], speed: 1.5 });
  assert.deepEqual(parseArgs(['--no-realtime', '--', '--memory'], specs).positional, ['--memory']);
  assert.equal(parseArgs([], specs).opts['memory'], 128);
});

test('integers accept hex, suffixes and underscores, and are range-checked', () => {
  assert.equal(parseIntArg('x', '0x7c00'), 0x7c00);
  assert.equal(parseIntArg('x', '1_000_000'), 1000000);
  assert.equal(parseIntArg('x', '64k'), 65536);
  assert.equal(parseIntArg('x', '2M'), 2 * 1024 * 1024);
  assert.throws(() => parseIntArg('x', '12abc'), /--x needs an integer, got "12abc"/);
  assert.throws(() => parseArgs(['--memory', '0'], specs), /--memory must be between 1 and 3584, got 0/);
});

test('mistakes are one clear line naming the option', () => {
  const cases: [string[], RegExp][] = [
    [['--memroy', '5'], /unknown option --memroy/],
    [['--mem', '5'], /did you mean --memory\?/],
    [['--memory'], /--memory needs a value/],
    [['--serial', 'tcp'], /--serial must be one of stdio, none, got "tcp"/],
    [['--realtime=yes'], /--realtime takes no value/],
    [['-m', '5'], /unknown option -m/],
    [['--speed', 'fast'], /--speed needs a number >= 0, got "fast"/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => parseArgs(argv, specs), (e: unknown) => e instanceof RewindError && re.test(e.message) && !e.message.includes('\n'), argv.join(' '));
  }
});

test('help lists every option with its default', () => {
  const h = formatOptions(specs);
  assert.match(h, /--memory INT\s+RAM in MiB \(default 128\)/);
  assert.match(h, /--realtime\s+pace/);
});
