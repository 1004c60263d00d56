import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabelSelector } from '../../../core/model/k8s.js';
import { selects } from '../../../core/pipeline/labels.js';

const labels = { app: 'web', tier: 'front', empty: '' };

const rows: [string, LabelSelector, Readonly<Record<string, string>>, boolean][] = [
  ['an empty selector selects a pod with labels', {}, labels, true],
  ['an empty selector selects a pod without labels', {}, {}, true],
  ['empty matchLabels and matchExpressions select all', { matchLabels: {}, matchExpressions: [] }, {}, true],
  ['matchLabels: equal value', { matchLabels: { app: 'web' } }, labels, true],
  ['matchLabels: other value', { matchLabels: { app: 'db' } }, labels, false],
  ['matchLabels: missing key', { matchLabels: { zone: 'a' } }, labels, false],
  ['matchLabels: every pair must match', { matchLabels: { app: 'web', tier: 'back' } }, labels, false],
  ['matchLabels: an empty value matches an empty label', { matchLabels: { empty: '' } }, labels, true],
  ['matchLabels: an empty value does not match a missing key', { matchLabels: { zone: '' } }, labels, false],
  ['In: value in the list', { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'web'] }] }, labels, true],
  ['In: value not in the list', { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'cache'] }] }, labels, false],
  ['In: missing key never matches', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, labels, false],
  ['In with several values (upstream bug 5 rejected this)', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, labels, true],
  ['NotIn: value in the list', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, labels, false],
  ['NotIn: value not in the list', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] }, labels, true],
  ['NotIn: a missing key matches', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, labels, true],
  ['Exists: present key', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels, true],
  ['Exists: present key with an empty value', { matchExpressions: [{ key: 'empty', operator: 'Exists' }] }, labels, true],
  ['Exists: missing key', { matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, labels, false],
  ['DoesNotExist: missing key matches', { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, labels, true],
  ['DoesNotExist: present key', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels, false],
  ['DoesNotExist on a pod without labels', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, {}, true],
  ['matchLabels AND matchExpressions: both hold', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] }, labels, true],
  ['matchLabels AND matchExpressions: expression fails', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels, false],
  ['matchLabels AND matchExpressions: labels fail', { matchLabels: { app: 'db' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels, false],
  ['every expression must hold', { matchExpressions: [{ key: 'app', operator: 'Exists' }, { key: 'zone', operator: 'Exists' }] }, labels, false],
  ['a label named like an Object prototype key is not inherited', { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, {}, false],
  ['a prototype key does not satisfy matchLabels', { matchLabels: { toString: 'x' } }, {}, false],
];

for (const [what, sel, l, want] of rows) {
  test(`${what} -> ${want ? 'selected' : 'not selected'}`, () => assert.equal(selects(sel, l), want));
}
