/**
 * Diagnostic CLI (not a test): node .build/NAME/test/engine/cpu/x87/oracle-diag.js [family-substring] [maxShown]
 * (X87_VECTORS=file selects another vector file, e.g. one made with gen.mjs --seed N --out file)
 * Prints pass rates per family and the first failing cases.
 */
import { X87 } from '../../../../engine/cpu/x87/x87.js';
import { repoRoot } from '../../../util.js';
import { FakeBus, loadVectors, runCase, describeInput } from './oracle-runner.js';

const all = process.argv[2] === 'all';
const filter = all ? '' : process.argv[2] ?? '';
const maxShown = Number(process.argv[3] ?? 5);
const cases = loadVectors(repoRoot, process.env['X87_VECTORS']);
const bus = new FakeBus();
const x = new X87(bus);
const stats = new Map<string, { n: number; exact: number; ulp: number; fail: number }>();
let shown = 0;
for (const c of cases) {
  if (filter && !c.family.includes(filter)) continue;
  const s = stats.get(c.family) ?? { n: 0, exact: 0, ulp: 0, fail: 0 };
  stats.set(c.family, s);
  s.n++;
  let r;
  try { r = runCase(c, bus, x); } catch (e) { s.fail++; if (shown++ < maxShown) console.log(`${c.family} THROW ${(e as Error).stack}\n  ${describeInput(c)}`); continue; }
  s[r.verdict]++;
  if (r.verdict === 'fail' && shown++ < maxShown) console.log(`${c.family}: ${r.diffs.join('; ')}\n  ${describeInput(c)}`);
}
let tn = 0, tf = 0;
for (const [f, s] of [...stats].sort()) {
  tn += s.n; tf += s.fail;
  if (s.fail || filter || all) console.log(`${f.padEnd(18)} ${s.n} cases, ${s.exact} exact, ${s.ulp} within 1 ulp, ${s.fail} FAIL`);
}
console.log(`total ${tn}, failing ${tf}`);
