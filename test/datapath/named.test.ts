import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NAMED_TESTS, selectNamed } from './guest/named.js';

test('--named all runs the named tests of the run’s layout: the per-port hook tests only per-port, offload only shared-block', () => {
  const perPort = selectNamed('all', 'per-port');
  const block = selectNamed('all', 'shared-block');
  for (const t of ['no-rules-baseline', 'double-ct', 'ownership', 'zero-gap', 'switchdev', 'forged-source']) assert.ok(perPort.includes(t), t);
  assert.ok(!perPort.includes('offload'));
  assert.deepEqual(block.sort(), ['forged-source', 'no-rules-baseline', 'offload']);
  for (const name of [...perPort, ...block]) assert.ok(NAMED_TESTS[name], name);
});

test('--named none runs nothing, and a list is taken as given (a test of the other layout is then a failed check)', () => {
  assert.deepEqual(selectNamed('none', 'shared-block'), []);
  assert.deepEqual(selectNamed('zero-gap,offload', 'per-port'), ['zero-gap', 'offload']);
});
