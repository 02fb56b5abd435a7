/**
 * Real gdb (Debian's, batch mode) against the stub: break on a function,
 * continue, stepi, reverse-stepi, reverse-continue back to an earlier
 * breakpoint, a write watchpoint found in reverse, reverse-finish, and
 * register/memory reads that agree with the session API.
 *
 * The scenario runs against the toy machine (demo.elf) and the emulated PC
 * (demo-rom.rom: the same code as a ROM guest; skipped with a message while
 * the CPU is missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Session } from '../../../debugger/timeline/session.js';
import { GdbServer } from '../../../debugger/gdb/server.js';
import { SymbolTable } from '../../../debugger/timeline/symbols.js';
import { REG, type DebugTarget } from '../../../debugger/timeline/target.js';
import { MemoryLogger } from '../../../engine/log.js';
import { demoToyMachine, DEMO_ELF } from './demo-target.js';
import { realMachineDemoTarget, DEMO_ROM_ELF } from './real-machine-target.js';

const gdbPath = ((): string | null => {
  const r = spawnSync('gdb', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'gdb' : null;
})();

function runGdb(port: number, commands: string[], elf: string): Promise<string> {
  const args = ['-batch', '-nx', '-ex', 'set architecture i386', '-ex', 'set pagination off', '-ex', 'set confirm off', '-ex', 'set remotetimeout 30', '-ex', `target remote 127.0.0.1:${port}`];
  for (const c of commands) args.push('-ex', c);
  args.push(elf);
  return new Promise((resolve, reject) => {
    const p = spawn('gdb', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // A hung gdb must fail the test, not hang it.
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`gdb did not finish:\n${out}`));
    }, 120_000);
    p.on('error', reject);
    p.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

function line(out: string, tag: string): Record<string, number> {
  const m = new RegExp(`^${tag} (.*)$`, 'm').exec(out);
  assert.ok(m, `gdb output has no "${tag}" line:\n${out}`);
  const fields: Record<string, number> = {};
  for (const kv of m[1]!.trim().split(/\s+/)) {
    const [k, v] = kv.split('=') as [string, string];
    fields[k] = Number(v);
  }
  return fields;
}

async function scenario(target: DebugTarget, elf: string): Promise<void> {
  const symbols = SymbolTable.fromElf(readFileSync(elf));
  const session = new Session(target, { symbols });
  const logger = new MemoryLogger();
  const server = new GdbServer(session, { port: 0, logger });
  const port = await server.listen();
  const at = (n: string): number => symbols.lookup(n)!;
  try {
    const out = await runGdb(port, [
      'break helper',
      'continue',
      'printf "A ecx=%d pc=%u\\n", $ecx, $pc',
      'continue',
      'printf "B ecx=%d pc=%u\\n", $ecx, $pc',
      'stepi',
      'printf "C pc=%u\\n", $pc',
      'reverse-stepi',
      'printf "D pc=%u\\n", $pc',
      'reverse-continue',
      'printf "E ecx=%d pc=%u\\n", $ecx, $pc',
      'delete',
      'break finish_line',
      'continue',
      'printf "F pc=%u\\n", $pc',
      'delete',
      'watch *(int*)&counter',
      'reverse-continue',
      'printf "G ecx=%d pc=%u counter=%d\\n", $ecx, $pc, *(int*)&counter',
      'delete',
      'reverse-finish',
      'printf "H pc=%u\\n", $pc',
      'nexti',
      'printf "N pc=%u\\n", $pc',
      'reverse-nexti',
      'printf "P pc=%u\\n", $pc',
      'reverse-stepi',
      'printf "Q pc=%u\\n", $pc',
      'printf "R eip=%u esp=%u ecx=%u edx=%u eflags=%u cs=%u\\n", $eip, $esp, $ecx, $edx, $eflags, $cs',
      'printf "M b0=%u b1=%u b2=%u b3=%u\\n", *(unsigned char*)&counter, *((unsigned char*)&counter+1), *((unsigned char*)&counter+2), *((unsigned char*)&counter+3)',
      'monitor icount',
      'detach',
    ], elf);
    const helper = at('helper');
    assert.deepEqual(line(out, 'A'), { ecx: 0, pc: helper }, 'break on a function, continue');
    assert.deepEqual(line(out, 'B'), { ecx: 1, pc: helper }, 'continue to the second hit');
    assert.deepEqual(line(out, 'C'), { pc: helper + 6 }, 'stepi');
    assert.deepEqual(line(out, 'D'), { pc: helper }, 'reverse-stepi');
    assert.deepEqual(line(out, 'E'), { ecx: 0, pc: helper }, 'reverse-continue back to the earlier breakpoint');
    assert.deepEqual(line(out, 'F'), { pc: at('finish_line') });
    assert.deepEqual(line(out, 'G'), { ecx: 9, pc: helper + 8, counter: 36 }, 'write watchpoint found in reverse: on the writing instruction, before it ran');
    assert.match(out, /Old value = 45\s+New value = 36/);
    assert.deepEqual(line(out, 'H'), { pc: at('compute') + 6 }, 'reverse-finish: back to the call of helper');
    assert.deepEqual(line(out, 'N'), { pc: at('compute') + 11 }, 'nexti over the call');
    assert.deepEqual(line(out, 'P'), { pc: at('compute') + 6 }, 'reverse-nexti back over the call');
    assert.deepEqual(line(out, 'Q'), { pc: at('compute') + 3 }, 'reverse-stepi to the previous instruction');
    // gdb's view equals the session's at the same position.
    const r = line(out, 'R');
    assert.equal(r['eip'], session.reg(REG.EIP));
    assert.equal(r['esp'], session.reg(REG.ESP));
    assert.equal(r['ecx'], session.reg(REG.ECX));
    assert.equal(r['edx'], session.reg(REG.EDX));
    assert.equal(r['eflags'], session.reg(REG.EFLAGS));
    assert.equal(r['cs'], session.reg(REG.CS));
    const mem = session.readMemory(at('counter'), 4);
    assert.deepEqual(line(out, 'M'), { b0: mem[0], b1: mem[1], b2: mem[2], b3: mem[3] });
    assert.match(out, new RegExp(`icount ${session.position.icount}`));
    assert.ok(!logger.lines.some((l) => l.startsWith('warn')), `no warnings from the stub:\n${logger.lines.join('\n')}`);
  } finally {
    await server.close();
  }
}

test('real gdb against the stub on the toy machine', { skip: gdbPath ? false : 'gdb is not installed (apt-get install gdb)' }, async () => {
  await scenario(demoToyMachine(), DEMO_ELF);
});

test('real gdb against the stub on the emulated PC', async (t) => {
  if (!gdbPath) return t.skip('gdb is not installed (apt-get install gdb)');
  const target = await realMachineDemoTarget();
  if (typeof target === 'string') return t.skip(target);
  await scenario(target, DEMO_ROM_ELF);
});
