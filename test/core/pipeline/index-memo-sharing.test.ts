// What the IndexMemo keeps per pod is small (docs/performance.md, "Agent memory"): its
// addresses are built once as the entries addressesByNetwork lists, a single container's
// port list is the pod's own, network names are one copy. None of it may change what an
// index says (index-memo.test.ts compares whole indexes).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../../../core/model/k8s.js';
import { buildIndex, IndexMemo, NameTable } from '../../../core/pipeline/cluster-index.js';
import { ClusterBuilder } from '../../fixtures/cluster-builder.js';

const cluster = () =>
  new ClusterBuilder()
    .namespace('ns1')
    .nad('ns1/net1')
    .nad('ns1/net2')
    .pod('ns1/a', { containerPorts: [{ name: 'http', containerPort: 80 }], interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'] }] })
    .pod('ns1/b', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.2', 'fd00::2'] }, { network: 'ns1/net2', ips: ['10.1.0.2'] }] })
    .build();

test('with a memo, the address entries of an unchanged pod are the same objects pass after pass', () => {
  const c = cluster();
  const memo = new IndexMemo();
  const first = buildIndex(c, memo).addressesByNetwork;
  const second = buildIndex(c, memo).addressesByNetwork;
  for (const net of ['ns1/net1', 'ns1/net2']) {
    assert.ok(first.get(net)!.length > 0);
    first.get(net)!.forEach((a, i) => assert.equal(second.get(net)![i], a, `${net} entry ${i}`));
  }
  assert.deepEqual(second.get('ns1/net1')!.map((a) => [a.pod.key, a.ips]), [['ns1/a', ['10.0.0.1']], ['ns1/b', ['10.0.0.2', 'fd00::2']]]);
  assert.deepEqual(second.get('ns1/net2')!.map((a) => [a.pod.key, a.ips]), [['ns1/b', ['10.1.0.2']]]);
  for (const a of second.get('ns1/net1')!) assert.equal(a.pod, buildIndex(c, memo).pods.find((p) => p.key === a.pod.key), 'an entry points at the indexed pod');
});

test("an indexed pod shows no field beyond IndexedPod's (its addresses are private)", () => {
  const p = buildIndex(cluster(), new IndexMemo()).pods[0]!;
  assert.deepEqual(Object.keys(p).sort(), ['containerPorts', 'eligible', 'key', 'labels', 'parsed', 'pod', 'statusError'].sort());
});

test("one container's port list is the pod's own array; several containers' are joined in order", () => {
  const c = cluster();
  const a = buildIndex(c, new IndexMemo()).pods.find((p) => p.key === 'ns1/a')!;
  assert.equal(a.containerPorts, a.pod.spec.containers![0]!.ports, 'not a copy');
  const two: Pod = { ...a.pod, spec: { ...a.pod.spec, containers: [{ name: 'x', ports: [{ containerPort: 1 }] }, { name: 'y' }, { name: 'z', ports: [{ name: 'p', containerPort: 2 }] }] } };
  const joined = buildIndex({ ...c, pods: [two] }).pods[0]!.containerPorts;
  assert.deepEqual(joined, [{ containerPort: 1 }, { name: 'p', containerPort: 2 }]);
  assert.deepEqual(buildIndex({ ...c, pods: [{ ...two, spec: { ...two.spec, containers: [{ name: 'x' }] } }] }).pods[0]!.containerPorts, []);
});

test('a name table gives back the first equal string, and starts over when full', () => {
  const t = new NameTable(2);
  const a = ['ns', 'net'].join('/');
  assert.equal(t.get(a), 'ns/net');
  assert.equal(t.get(`ns/${'net'}`), 'ns/net');
  assert.equal(t.get('x/1'), 'x/1');
  assert.equal(t.get('x/2'), 'x/2', 'past the limit: the table starts over');
  assert.equal(t.get('ns/net'), 'ns/net');
});
