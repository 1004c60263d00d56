// The informers hand admit() objects they have already trimmed (and client-node caches):
// admit must then keep that very object, so the store and the informer cache share one copy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admit } from '../../core/watch/admit.js';
import { trimObject } from '../../core/watch/trim.js';

const raw = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'a', namespace: 'ns1', uid: 'u', resourceVersion: '7', labels: { app: 'a' }, managedFields: [{ manager: 'kubelet' }], annotations: { 'k8s.v1.cni.cncf.io/network-status': '[]', other: 'x' } },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }] },
  status: { phase: 'Running', podIP: '10.0.0.1' },
};

test('an already trimmed object is admitted as it is: the store keeps the informer cache\'s copy', () => {
  const trimmed = trimObject('Pod', raw);
  const a = admit('Pod', trimmed, 'test', true);
  assert.ok(a.ok);
  assert.equal(a.value, trimmed);
});

test('a raw object is still trimmed: fields the engine does not read are gone', () => {
  const a = admit('Pod', raw, 'test');
  assert.ok(a.ok);
  assert.notEqual(a.value, raw);
  assert.deepEqual(a.value, trimObject('Pod', raw));
  assert.equal((a.value as { metadata: { managedFields?: unknown } }).metadata.managedFields, undefined);
});
