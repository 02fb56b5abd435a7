/**
 * The x87 against this repository's host-CPU vectors (fixtures/oracle/x87):
 * every case must match bit for bit — registers, control, status and tag
 * words, FIP/FCS/FOP/FDP/FDS, EFLAGS and memory — except that the
 * transcendental instructions may differ from the host by 1 ulp (and then in
 * C1 and, across the denormal boundary, in the tag).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X87 } from '../../../../engine/cpu/x87/x87.js';
import { repoRoot } from '../../../util.js';
import { FakeBus, loadVectors, runCase, describeInput, TRANSCENDENTAL } from './oracle-runner.js';

const cases = loadVectors(repoRoot);

test('the oracle has tens of thousands of cases over every family', () => {
  assert.ok(cases.length >= 50000, `only ${cases.length} cases`);
  const families = new Set(cases.map((c) => c.family));
  for (const f of ['d8-reg0', 'dc-mem6-m64r', 'de-mem7-m16i', 'fld-m80', 'fbld', 'fbstp', 'fistp-m64', 'fcomi', 'fucomip', 'fcmov-db3',
    'fprem', 'fprem1', 'fsqrt', 'frndint', 'fscale', 'fxtract', 'fxam', 'fsin', 'fptan', 'fpatan', 'f2xm1', 'fyl2x', 'fyl2xp1',
    'fnsave16', 'frstor32', 'fldenv16', 'fnstenv32', 'fldcw']) {
    assert.ok(families.has(f), `family ${f} missing`);
  }
});

const byFamily = new Map<string, typeof cases>();
for (const c of cases) {
  const l = byFamily.get(c.family) ?? [];
  l.push(c);
  byFamily.set(c.family, l);
}

for (const [family, list] of [...byFamily].sort()) {
  test(`oracle: ${family} (${list.length} cases)`, () => {
    const bus = new FakeBus();
    const x = new X87(bus);
    const failures: string[] = [];
    for (const c of list) {
      const r = runCase(c, bus, x);
      if (r.verdict === 'fail' && failures.length < 5) failures.push(`${r.diffs.join('; ')}\n    ${describeInput(c)}`);
      if (r.verdict === 'ulp') assert.ok(TRANSCENDENTAL.has(family), 'ulp allowance used outside the transcendentals');
    }
    assert.deepEqual(failures, [], `${family}: mismatches with the host CPU`);
  });
}
