// The cache: revisions, frozen snapshots, and a replace that announces only what differs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterStore } from '../../core/watch/store.js';
import { ClusterBuilder, mnp } from '../fixtures/cluster-builder.js';

const cluster = () =>
  new ClusterBuilder()
    .namespace('ns1')
    .nad('ns1/net1')
    .pod('ns1/a', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'] }] })
    .pod('ns1/b', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.2'] }] })
    .policy(mnp('ns1/p', { podSelector: {} }))
    .invalidPolicy({ namespace: 'ns1', name: 'bad', annotations: {}, field: 'spec', problem: 'broken' });

test('replace announces only the objects that differ, and a second identical replace nothing', () => {
  const s = new ClusterStore();
  const seen: string[] = [];
  s.onChange((kind, key) => seen.push(`${kind} ${key}`));
  assert.equal(s.replace(cluster().build()), 6);
  seen.length = 0;
  assert.equal(s.replace(cluster().build()), 0);
  assert.deepEqual(seen, []);
  const rev = s.rev;
  s.replace(cluster().remove('pod', 'ns1/b').pod('ns1/a', { labels: { x: 'y' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'] }] }).build());
  assert.deepEqual(seen.sort(), ['Pod ns1/a', 'Pod ns1/b']);
  assert.equal(s.rev, rev + 2);
});

test('a snapshot is frozen, keeps invalid policies apart, and is reused until the next change', () => {
  const s = new ClusterStore();
  s.replace(cluster().build());
  const a = s.snapshot();
  assert.equal(s.snapshot(), a);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.pods));
  assert.equal(a.policies.length, 1);
  assert.equal(a.invalidPolicies[0]?.name, 'bad');
  s.remove('Pod', 'ns1/a');
  const b = s.snapshot();
  assert.notEqual(b, a);
  assert.equal(b.rev, a.rev + 1);
  assert.deepEqual(b.pods.map((p) => p.metadata.name), ['b']);
  assert.equal(a.pods.length, 2, 'an older snapshot does not change');
});

test('removing an unknown key or putting the same object again is not a change', () => {
  const s = new ClusterStore();
  s.replace(cluster().build());
  const rev = s.rev;
  s.remove('Pod', 'ns1/nope');
  s.put('Pod', 'ns1/a', s.get('Pod', 'ns1/a')!);
  assert.equal(s.rev, rev);
});
