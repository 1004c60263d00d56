// What enters the cache from the API: trimmed to the fields the engine reads, validated like
// manifests; an invalid policy is kept as an InvalidPolicy, other invalid objects are not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admit } from '../../core/watch/admit.js';
import { backoffDelay } from '../../core/watch/backoff.js';
import { trimObject } from '../../core/watch/trim.js';

const rawPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'p',
    namespace: 'ns1',
    uid: 'u1',
    resourceVersion: '7',
    labels: { app: 'x' },
    annotations: { 'k8s.v1.cni.cncf.io/network-status': '[]', 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":true}' },
    managedFields: [{ manager: 'kubelet' }],
    creationTimestamp: '2026-01-01T00:00:00Z',
  },
  spec: {
    nodeName: 'worker-1',
    hostNetwork: false,
    volumes: [{ name: 'v' }],
    containers: [{ name: 'c', image: 'img', env: [{ name: 'A', value: 'b' }], ports: [{ name: 'http', containerPort: 80, protocol: 'TCP', hostPort: 8080 }] }],
  },
  status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready' }] },
};

test('a pod keeps only the fields the engine reads, frozen', () => {
  const t = trimObject('Pod', rawPod);
  assert.deepEqual(t, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns1', uid: 'u1', resourceVersion: '7', labels: { app: 'x' }, annotations: { 'k8s.v1.cni.cncf.io/network-status': '[]' } },
    spec: { nodeName: 'worker-1', hostNetwork: false, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] }] },
    status: { phase: 'Running' },
  });
  assert.ok(Object.isFrozen((t as { metadata: object }).metadata));
});

test('a policy keeps its whole spec and only the policy-for annotation', () => {
  const raw = {
    apiVersion: 'k8s.cni.cncf.io/v1beta1',
    kind: 'MultiNetworkPolicy',
    metadata: { name: 'p', namespace: 'ns1', annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'net1', other: 'x' }, generation: 3 },
    spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] },
  };
  assert.deepEqual(trimObject('MultiNetworkPolicy', raw), { ...raw, metadata: { name: 'p', namespace: 'ns1', annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'net1' } } });
});

test('an invalid policy from the API becomes an InvalidPolicy, with the object and field in the error', () => {
  const a = admit(
    'MultiNetworkPolicy',
    { apiVersion: 'k8s.cni.cncf.io/v1beta1', kind: 'MultiNetworkPolicy', metadata: { name: 'bad', namespace: 'ns1' }, spec: { podSelector: { matchLabels: { app: 'x' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 0 }] }] } },
    'https://api/apis/k8s.cni.cncf.io/v1beta1/multi-networkpolicies',
  );
  assert.ok(a.ok);
  assert.equal(a.key, 'ns1/bad');
  assert.deepEqual(Object.keys(a.value).sort(), ['annotations', 'field', 'name', 'namespace', 'podSelector', 'policyTypes', 'problem']);
  assert.equal(a.error?.code, 'input-invalid');
  assert.match(JSON.stringify(a.error), /MultiNetworkPolicy ns1\/bad.*spec\.ingress\[0\]\.ports\[0\]\.port/);
});

test('an invalid pod is refused with its key, so a cached copy can be dropped', () => {
  const a = admit('Pod', { ...rawPod, spec: { ...rawPod.spec, containers: [{ name: 'c', ports: [{ containerPort: 70000 }] }] } }, 'api');
  assert.equal(a.ok, false);
  assert.equal(a.key, 'ns1/p');
  assert.match(JSON.stringify(a.error), /containerPort/);
});

test('a valid pod is admitted under namespace/name', () => {
  const a = admit('Pod', rawPod, 'api');
  assert.ok(a.ok && a.key === 'ns1/p' && a.error === undefined);
});

test('backoff doubles from the initial delay up to the cap', () => {
  const b = { initialMs: 100, maxMs: 1000 };
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(b, n)), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoffDelay(b, 100), 1000, 'no overflow for many attempts');
  assert.ok(backoffDelay(b, 3, 0.99) < 800 && backoffDelay(b, 3, 0.99) >= 640, 'jitter shortens by at most 20%');
});
