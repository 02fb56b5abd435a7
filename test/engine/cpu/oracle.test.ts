/**
 * rewind's CPU against the host-CPU integer oracle: ~40,000 single
 * instructions recorded natively (fixtures/oracle/int, see build.mjs there),
 * replayed at CPL 3 in flat 32-bit protected mode. Every register, defined
 * flag, memory byte of the windows and exception must match; the flags (and
 * results) the SDM leaves undefined are masked (test/support/undefined-flags.ts).
 *
 * Prints per-mnemonic pass/fail counts and the first failures in detail.
 * REWIND_ORACLE_VERBOSE=1 prints every failing case; REWIND_ORACLE_ONLY=REGEX
 * runs only the cases whose key (`mnemonic` or `mnemonic@group`) matches, for
 * debugging (the test then says so).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from '../../util.js';
import { loadOracleVectors, type OracleCase } from '../../support/oracle-vectors.js';
import { OracleRunner } from '../../support/oracle-runner.js';

const file = loadOracleVectors(join(repoRoot, 'fixtures', 'oracle', 'int', 'vectors.json.gz'));

/**
 * Differences that are rewind bugs, found by this oracle and reported to the
 * CPU's owner; listed so that npm test stays green while they are open, and
 * matched narrowly (any other difference fails the test). When one no longer
 * reproduces, the test says so: delete its entry.
 */
/**
 * Differences from the host CPU that are rewind bugs not yet fixed, each matched
 * narrowly so anything else still fails. Empty: the five the oracle first found
 * (split RMW CR2, ENTER's final probe, MOV SS shadow, #AC, BSWAP r16) are fixed.
 */
const KNOWN_REWIND_BUGS: { id: string; why: string; match: (c: OracleCase, problems: readonly string[]) => boolean }[] = [];

test(`rewind matches the host CPU (${file.host.cpu}) on every integer oracle vector`, () => {
  const runner = new OracleRunner(file);
  const verbose = process.env['REWIND_ORACLE_VERBOSE'] === '1';
  const stats = new Map<string, { pass: number; fail: number; first: string | null }>();
  const failures: string[] = [];
  const known = new Map<string, { count: number; first: string | null }>(KNOWN_REWIND_BUGS.map((k) => [k.id, { count: 0, first: null }]));
  const only = process.env['REWIND_ORACLE_ONLY'];
  const onlyRe = only ? new RegExp(only) : null;
  if (onlyRe) console.log(`REWIND_ORACLE_ONLY=${only}: running a subset of the oracle vectors`);
  for (const c of file.cases) {
    if (onlyRe && !onlyRe.test(c.ctx.g ? `${c.m}@${c.ctx.g}` : c.m)) continue;
    const r = runner.run(c);
    const bug = r.ok ? undefined : KNOWN_REWIND_BUGS.find((k) => k.match(c, r.problems));
    if (bug !== undefined) {
      const k = known.get(bug.id)!;
      k.count++;
      k.first ??= `${runner.describe(c)}\n    ${r.problems.join('\n    ')}`;
      continue;
    }
    const key = c.ctx.g ? `${c.m}@${c.ctx.g}` : c.m;
    let s = stats.get(key);
    if (!s) stats.set(key, (s = { pass: 0, fail: 0, first: null }));
    if (r.ok) s.pass++;
    else {
      s.fail++;
      const detail = `${runner.describe(c)}\n    ${r.problems.join('\n    ')}`;
      if (s.first === null) s.first = detail;
      if (verbose) failures.push(detail);
    }
  }
  let pass = 0, fail = 0;
  const lines: string[] = [];
  for (const [m, s] of [...stats].sort((a, b) => a[0].localeCompare(b[0]))) {
    pass += s.pass;
    fail += s.fail;
    lines.push(`${m.padEnd(16)} ${String(s.pass).padStart(5)} passed ${String(s.fail).padStart(5)} failed`);
  }
  const firsts = [...stats].filter(([, s]) => s.first !== null).map(([m, s]) => `${m}: ${s.first}`);
  const nKnown = [...known.values()].reduce((a, k) => a + k.count, 0);
  const report = [`host-CPU oracle: ${pass} passed, ${fail} failed, ${nKnown} known rewind bugs, of ${file.cases.length} (${file.host.cpu})`, ...lines,
    ...(firsts.length ? ['first failure per mnemonic:', ...firsts] : []), ...(verbose ? ['all failures:', ...failures] : [])].join('\n');
  const knownLines = KNOWN_REWIND_BUGS.map((k) => {
    const n = known.get(k.id)!;
    return n.count === 0
      ? onlyRe ? `known rewind bug ${k.id}: not seen in this subset` : `known rewind bug ${k.id}: no longer reproduces -- delete its entry in KNOWN_REWIND_BUGS`
      : `known rewind bug ${k.id} (${n.count} cases): ${k.why}\n  e.g. ${n.first}`;
  });
  console.log([report, ...knownLines].join('\n'));
  assert.equal(fail, 0, `${fail} oracle cases failed; first failures:\n${firsts.slice(0, 20).join('\n')}`);
});
