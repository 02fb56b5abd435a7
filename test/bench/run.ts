/**
 * `npm run bench`: runs every test/bench/*.bench.js file (each exports
 * `async function bench(): Promise<{name, value, unit}[]>`) and prints one table.
 * Usage: node dist/test/bench/run.js [filter...]
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tuneV8 } from '../../engine/host/v8-tuning.js';

tuneV8();

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no *.bench.js files matched');
  process.exit(1);
}
const rows: [string, string, string][] = [];
let failed = false;
for (const f of files) {
  try {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { bench?: () => Promise<BenchResult[]> };
    if (typeof mod.bench !== 'function') throw new Error('does not export bench()');
    for (const r of await mod.bench()) rows.push([r.name, r.value.toFixed(r.value >= 100 ? 0 : 1), r.unit]);
  } catch (e) {
    failed = true;
    rows.push([f, 'error', e instanceof Error ? e.message : String(e)]);
  }
}
const w0 = Math.max(9, ...rows.map((r) => r[0].length));
const w1 = Math.max(5, ...rows.map((r) => r[1].length));
console.log(`${'benchmark'.padEnd(w0)}  ${'value'.padStart(w1)}  unit`);
for (const r of rows) console.log(`${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2]}`);
process.exit(failed ? 1 : 0);
