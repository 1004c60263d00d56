import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closingLine, failureLine, parseOutcomes, tally, type Outcome } from './results.js';

const probe = (pass: boolean): Outcome => ({ kind: 'probe', suite: 'c', file: 'c.yaml', step: null, probe: 0, from: 'a/x', to: 'a/y', network: 'a/n', family: 'ipv4', protocol: 'TCP', port: 80, expect: 'deny', got: pass ? 'deny' : 'allow', pass, detail: 'reply, 3 ms', attempts: 1 });

test('the closing line counts probes and checks, in the format of check', () => {
  const out: Outcome[] = [probe(true), probe(false), { kind: 'check', suite: 'zero-gap', name: 'x', pass: true, detail: '' }, { kind: 'info', suite: 'zero-gap', text: 'counts' }];
  assert.equal(closingLine(tally(out)), '2 passed, 1 failed');
});

test('a failed probe names the case, the ends, and both verdicts', () => {
  assert.equal(failureLine(probe(false) as never), 'FAIL c probe 0: a/x -> a/y TCP/80 ipv4 on a/n: expected deny, got allow: reply, 3 ms');
});

test('a results file cut off mid-line (the VM died) still yields the complete lines', () => {
  const text = `${JSON.stringify(probe(true))}\n{"kind":"pro`;
  assert.equal(parseOutcomes(text).length, 1);
});
