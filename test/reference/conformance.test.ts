// The reference evaluator agrees with every `expect` of the shared conformance cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCase } from './conformance-case.js';
import { referenceVerdict } from './k8s-reference.js';

const CASES = new URL('../../../shared/conformance/cases/', import.meta.url).pathname;
const files = readdirSync(CASES).filter((f) => f.endsWith('.yaml')).sort();

test('the conformance cases and all their probes are found', () => {
  assert.ok(files.length >= 14, `only ${files.length} case files in ${CASES}`);
  let probes = 0;
  for (const file of files) {
    for (const round of loadCase(readFileSync(join(CASES, file), 'utf8')).rounds) probes += round.probes.length;
  }
  assert.ok(probes >= 58, `only ${probes} probes`);
});

for (const file of files) {
  test(`reference evaluator agrees with ${file}`, () => {
    const c = loadCase(readFileSync(join(CASES, file), 'utf8'));
    const mismatches: string[] = [];
    let count = 0;
    for (const round of c.rounds) {
      for (const { probe, expect } of round.probes) {
        count++;
        const got = referenceVerdict(round.cluster, round.externals, c.node, probe);
        if (got.verdict !== expect) {
          mismatches.push(`${round.description}: ${probe.from} -> ${probe.to} ${probe.protocol}/${probe.port}: expected ${expect}, got ${got.verdict} (${got.reason})`);
        }
      }
    }
    assert.ok(count > 0, 'a case without probes checks nothing');
    assert.deepEqual(mismatches, []);
  });
}
