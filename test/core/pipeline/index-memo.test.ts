// The IndexMemo (kept by the reconciler across passes) must only save work: an index built
// with it equals one built without, on every snapshot, and it reuses exactly the pods whose
// objects did not change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNetworkStatus } from '../../../core/model/network-status.js';
import type { Cluster } from '../../../core/model/snapshot.js';
import { buildIndex, IndexMemo, type ClusterIndex } from '../../../core/pipeline/cluster-index.js';
import { ClusterBuilder, mnp } from '../../fixtures/cluster-builder.js';

/** Everything the later stages read from an index, as plain data. */
function view(i: ClusterIndex): unknown {
  return {
    namespaces: [...i.namespaceLabels],
    pods: i.pods.map((p) => [p.key, p.pod, p.labels, p.eligible, p.statusError, p.containerPorts, p.statuses]),
    byNamespace: [...i.podsByNamespace].map(([ns, ps]) => [ns, ps.map((p) => p.key)]),
    addresses: [...i.addressesByNetwork].map(([net, as]) => [net, as.map((a) => [a.pod.key, a.ips])]),
    policies: [...i.policiesByNamespace].map(([ns, ps]) => [ns, ps.map((p) => [p.key, [...p.networks], p.podSelector, p.types, p.valid, p.invalid])]),
    networks: [...i.networks],
  };
}

const builder = (): ClusterBuilder =>
  new ClusterBuilder()
    .namespace('ns1', { team: 'a' })
    .nad('ns1/net1')
    .nad('ns1/net2')
    .pod('ns1/a', { labels: { app: 'a' }, containerPorts: [{ name: 'http', containerPort: 80 }], interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1', 'fd00::1'] }, { network: 'ns1/net1', ips: ['10.0.0.2'], iface: 'net9' }] })
    .pod('ns1/b', { labels: { app: 'b' }, interfaces: [{ network: 'ns1/net2', ips: ['10.1.0.1'] }] })
    .pod('ns1/pending', { phase: 'Pending', interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.3'] }] })
    .pod('ns1/broken', { networkStatus: '{not json' })
    .policy(mnp('ns1/p', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }] }, 'net1,net2'));

test('an index built with a memo equals one built without, snapshot after snapshot', () => {
  const b = builder();
  const memo = new IndexMemo();
  const snapshots: Cluster[] = [b.build()];
  snapshots.push(b.pod('ns1/b', { labels: { app: 'c' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.9'] }] }).build());
  snapshots.push(b.pod('ns1/new', { interfaces: [{ network: 'ns1/net2', ips: ['10.1.0.7'] }] }).build());
  const last = snapshots[snapshots.length - 1]!;
  snapshots.push({ ...last, pods: last.pods.filter((p) => p.metadata.name !== 'a') });
  for (const [n, c] of snapshots.entries()) assert.deepEqual(view(buildIndex(c, memo)), view(buildIndex(c)), `snapshot ${n}`);
});

test('a memo reuses the entry of an unchanged pod object and indexes a replaced one anew', () => {
  const b = builder();
  const memo = new IndexMemo();
  const first = b.build();
  const i1 = buildIndex(first, memo);
  const second = { ...first, pods: first.pods.map((p) => (p.metadata.name === 'b' ? { ...p, metadata: { ...p.metadata, labels: { app: 'z' } } } : p)) };
  const i2 = buildIndex(second, memo);
  const at = (i: ClusterIndex, key: string) => i.pods.find((p) => p.key === key)!;
  assert.equal(at(i2, 'ns1/a'), at(i1, 'ns1/a'), 'same pod object: same indexed entry');
  assert.notEqual(at(i2, 'ns1/b'), at(i1, 'ns1/b'), 'new pod object: indexed again');
  assert.deepEqual(at(i2, 'ns1/b').labels, { app: 'z' });
  const pol = (i: ClusterIndex) => i.policiesByNamespace.get('ns1')![0]!;
  assert.equal(pol(i2), pol(i1), 'same policy object: same indexed policy');
});

test("an indexed pod's statuses are its parsed network-status, made on first use", () => {
  const c = builder().build();
  const i = buildIndex(c, new IndexMemo());
  for (const p of i.pods) assert.deepEqual(p.statuses, parseNetworkStatus(p.pod).entries, p.key);
  assert.match(i.pods.find((p) => p.key === 'ns1/broken')!.statusError ?? '', /not valid JSON/);
});
