import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLabelValue, isPortName, isQualifiedName } from '../../../../core/model/schemas/syntax.js';
import { formatPath, parsePath } from '../../../../core/model/schemas/field-path.js';

test('qualified names (label keys)', () => {
  for (const k of ['app', 'a', 'A_b.c-D', 'example.com/app', 'k8s.v1.cni.cncf.io/policy-for', `${'a'.repeat(253)}/x`, 'x'.repeat(63)]) {
    assert.equal(isQualifiedName(k), true, k);
  }
  for (const k of ['', '-a', 'a-', '.a', 'a b', 'x'.repeat(64), 'Example.com/a', '/a', 'a/', 'a/b/c', `${'a'.repeat(254)}/x`, 'ex_ample.com/a']) {
    assert.equal(isQualifiedName(k), false, k);
  }
});

test('label values', () => {
  for (const v of ['', 'a', 'A-b_c.d', '1', 'v'.repeat(63)]) assert.equal(isLabelValue(v), true, v);
  for (const v of ['-a', 'a-', '_a', 'a b', 'a/b', 'v'.repeat(64)]) assert.equal(isLabelValue(v), false, v);
});

test('IANA service names (port names)', () => {
  for (const n of ['http', 'h2c', 'a1', '1a', 'web-8080', 'abcdefghijklmno']) assert.equal(isPortName(n), true, n);
  for (const n of ['', '80', 'HTTP', '-a', 'a-', 'a--b', 'abcdefghijklmnop', 'a_b', 'a.b']) assert.equal(isPortName(n), false, n);
});

test('field paths print and parse back', () => {
  const segs = ['spec', 'ingress', 0, 'from', 1, 'ipBlock', 'except', 0];
  assert.equal(formatPath(segs), 'spec.ingress[0].from[1].ipBlock.except[0]');
  assert.deepEqual(parsePath(formatPath(segs)), segs);
  const odd = ['metadata', 'annotations', 'k8s.v1.cni.cncf.io/policy-for'];
  assert.equal(formatPath(odd), 'metadata.annotations["k8s.v1.cni.cncf.io/policy-for"]');
  assert.deepEqual(parsePath(formatPath(odd)), odd);
  assert.deepEqual(parsePath(formatPath([0, 'device-info', 'a"b'])), [0, 'device-info', 'a"b']);
});
