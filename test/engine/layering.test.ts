/**
 * The layering rule (ARCHITECTURE.md): engine/ never imports debugger/, and
 * engine code outside engine/host never touches the host: no Date,
 * performance, Math.random, timers, process, or node: modules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { repoRoot } from '../util.js';

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

/** Strips comments and string contents so that prose about `Date` does not count. */
export function codeOnly(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:[^'\\\n]|\\.)*'/g, "''")
    .replace(/"(?:[^"\\\n]|\\.)*"/g, '""')
    .replace(/`(?:[^`\\]|\\.)*`/g, '``');
}

const FORBIDDEN: [RegExp, string][] = [
  [/\bDate\b/, 'Date'],
  [/\bperformance\b/, 'performance'],
  [/\bMath\.random\b/, 'Math.random'],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask|clearTimeout|clearInterval)\b/, 'timers'],
  [/\bprocess\b/, 'process'],
  [/\brequire\s*\(/, 'require'],
];

export function violations(root: string): string[] {
  const found: string[] = [];
  const engine = join(root, 'engine');
  for (const file of sources(engine)) {
    const rel = relative(root, file).split(sep).join('/');
    const raw = readFileSync(file, 'utf8');
    const imports = [...raw.matchAll(/(?:import|export)[^'"]*from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]!);
    for (const spec of imports) {
      if (/(^|\/)debugger\//.test(spec) || spec.includes('../debugger')) found.push(`${rel}: imports ${spec} (engine must not depend on debugger)`);
    }
    if (rel.startsWith('engine/host/')) continue;
    for (const spec of imports) {
      if (spec.startsWith('node:') || ['fs', 'path', 'os', 'crypto', 'child_process', 'net', 'dgram', 'timers', 'worker_threads'].includes(spec)) {
        found.push(`${rel}: imports ${spec} (only engine/host may use Node modules)`);
      }
    }
    const code = codeOnly(raw);
    for (const [re, what] of FORBIDDEN) if (re.test(code)) found.push(`${rel}: uses ${what} (only engine/host may touch the host)`);
  }
  return found;
}

test('engine/ obeys the layering rule', () => {
  assert.deepEqual(violations(repoRoot), []);
});

test('the layering check catches violations', () => {
  const bad = codeOnly("import x from 'node:fs';\nconst t = Date.now(); // Date in a comment is fine\n");
  assert.ok(/\bDate\b/.test(bad));
  assert.ok(!/\bperformance\b/.test(codeOnly('// performance matters\nconst s = "performance";')));
});
