import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildIndex } from '../../../core/pipeline/cluster-index.js';
import { ClusterBuilder, mnp } from '../../fixtures/cluster-builder.js';

test('namespace labels always carry kubernetes.io/metadata.name = the real name', () => {
  const idx = buildIndex(new ClusterBuilder().namespace('ns1', { team: 'a', 'kubernetes.io/metadata.name': 'spoofed' }).build());
  assert.deepEqual(idx.namespaceLabels.get('ns1'), { team: 'a', 'kubernetes.io/metadata.name': 'ns1' });
});

test('addresses by network: eligible pods only, default network left out, several interfaces on one network merged', () => {
  const c = new ClusterBuilder()
    .nad('ns1/net1')
    .pod('ns1/a', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'] }, { network: 'ns1/net1', ips: ['10.0.0.2'], iface: 'net9' }] })
    .pod('ns1/pending', { phase: 'Pending', interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.3'] }] })
    .pod('ns1/host', { hostNetwork: true, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.4'] }] })
    .pod('ns1/none', { interfaces: [{ network: 'ns1/net1', ips: [] }] })
    .build();
  const idx = buildIndex(c);
  assert.deepEqual(
    [...idx.addressesByNetwork].map(([net, list]) => [net, list.map((a) => [a.pod.key, a.ips])]),
    [['ns1/net1', [['ns1/a', ['10.0.0.1', '10.0.0.2']]]]],
  );
  assert.deepEqual(idx.pods.map((p) => [p.key, p.eligible]), [['ns1/a', true], ['ns1/host', false], ['ns1/none', true], ['ns1/pending', false]]);
});

test('container ports of every container are collected; a broken network-status is recorded', () => {
  const c = new ClusterBuilder().pod('ns1/a', { containerPorts: [{ name: 'http', containerPort: 80 }], networkStatus: 'nope' }).build();
  const pod = c.pods[0]!;
  const twoContainers = { ...pod, spec: { ...pod.spec, containers: [...(pod.spec.containers ?? []), { name: 'side', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' as const }] }] } };
  const idx = buildIndex({ ...c, pods: [twoContainers] });
  assert.deepEqual(idx.pods[0]!.containerPorts.map((p) => p.name), ['http', 'dns']);
  assert.match(idx.pods[0]!.statusError ?? '', /not valid JSON/);
});

test('policies are indexed per namespace, sorted, with their networks and effective types', () => {
  const c = new ClusterBuilder()
    .policy(mnp('ns1/b', { podSelector: {}, egress: [{}] }, 'net1, other/net2'), mnp('ns1/a', { podSelector: {} }, null))
    .invalidPolicy({ namespace: 'ns1', name: 'c', annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'net1' }, field: 'spec', problem: 'broken' })
    .build();
  const list = buildIndex(c).policiesByNamespace.get('ns1')!;
  assert.deepEqual(
    list.map((p) => [p.key, [...p.networks], p.types, p.invalid !== undefined]),
    [
      ['ns1/a', [], ['Ingress'], false],
      ['ns1/b', ['ns1/net1', 'other/net2'], ['Ingress', 'Egress'], false],
      ['ns1/c', ['ns1/net1'], ['Ingress', 'Egress'], true],
    ],
  );
  assert.equal(list[2]!.podSelector, undefined, 'an invalid policy without a valid selector selects every pod');
});
