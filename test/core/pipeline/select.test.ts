// select: which interfaces of this node's pods are enforced. Pure over the snapshot.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildIndex } from '../../../core/pipeline/cluster-index.js';
import { select, type Selection } from '../../../core/pipeline/select.js';
import type { Cluster } from '../../../core/model/snapshot.js';
import { acceleratedBridge, bond, ClusterBuilder, NODE } from '../../fixtures/cluster-builder.js';

const run = (c: Cluster, node = NODE, adapters = [acceleratedBridge]): Selection => select(buildIndex(c), node, adapters);
const keys = (s: Selection): string[] => s.endpoints.map((e) => e.key);
const reasons = (s: Selection): [string, string | undefined, string][] => s.skipped.map((k) => [k.pod, k.network, k.reason]);

const onePod = (spec: Parameters<ClusterBuilder['pod']>[1] = {}): ClusterBuilder =>
  new ClusterBuilder().nad('ns1/net1').pod('ns1/a', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'] }], ...spec });

describe('which pods are on this node', () => {
  const rows: [string, string, string, boolean][] = [
    ['the same name', 'worker-1', 'worker-1', true],
    ['bug 25: spec.nodeName in mixed case', 'Worker-1', 'worker-1', true],
    ['bug 25: own name in mixed case', 'worker-1', 'WORKER-1', true],
    ['nodeName is the FQDN of our short name', 'worker-1.lab.example', 'worker-1', true],
    ['deviation from upstream U1: two FQDNs sharing only the first label are different nodes', 'worker-1.lab-a.example', 'worker-1.lab-b.example', false],
    ['another node', 'worker-2', 'worker-1', false],
  ];
  for (const [what, podNode, self, local] of rows) {
    test(`${what} -> ${local ? 'selected' : 'not ours'}`, () => {
      const s = run(onePod({ node: podNode }).build(), self);
      assert.deepEqual(keys(s), local ? ['ns1/a/net1'] : []);
      assert.deepEqual(s.skipped, [], 'a pod of another node is not even a skip');
    });
  }

  test('an unscheduled pod (no nodeName) is on no node', () => {
    const c = onePod().build();
    const unscheduled = { ...c, pods: c.pods.map((p) => ({ ...p, spec: { ...p.spec, nodeName: undefined } })) } as Cluster;
    assert.deepEqual(keys(run(unscheduled)), []);
  });
});

describe('only Running, non-hostNetwork pods are targets', () => {
  for (const phase of ['Pending', 'Succeeded', 'Failed', 'Unknown']) {
    test(`a ${phase} pod is skipped as not-running`, () => {
      const s = run(onePod({ phase }).build());
      assert.deepEqual(keys(s), []);
      assert.deepEqual(reasons(s), [['ns1/a', undefined, 'not-running']]);
      assert.match(s.skipped[0]!.detail, new RegExp(phase));
    });
  }

  test('a hostNetwork pod is skipped as host-network, even when Running', () => {
    const s = run(onePod({ hostNetwork: true }).build());
    assert.deepEqual(keys(s), []);
    assert.deepEqual(reasons(s), [['ns1/a', undefined, 'host-network']]);
  });
});

describe('network-status', () => {
  test('each secondary interface on a handled network is an endpoint; the default network is not', () => {
    const c = new ClusterBuilder()
      .nad('ns1/net1')
      .nad('ns1/net2')
      .pod('ns1/a', { uid: 'u-1', interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'] }, { network: 'ns1/net2', ips: ['10.1.0.1', 'fd01::1'], iface: 'data0' }] })
      .build();
    const s = run(c);
    assert.deepEqual(keys(s), ['ns1/a/data0', 'ns1/a/net1']);
    assert.deepEqual(s.skipped, []);
    const data0 = s.endpoints[0]!;
    assert.deepEqual(data0.pod, { namespace: 'ns1', name: 'a', uid: 'u-1' });
    assert.equal(data0.attachment.network, 'ns1/net2');
    assert.equal(data0.attachment.adapter, 'accelerated-bridge');
    assert.deepEqual(data0.attachment.ips, ['10.1.0.1', 'fd01::1']);
  });

  test('device-info with representor-device (what accelerated-bridge CNI writes) is carried to the attachment', () => {
    const s = run(onePod({ interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], pci: null, representor: 'eth7' }] }).build());
    assert.deepEqual(s.endpoints[0]?.attachment.deviceInfo?.pci, { 'representor-device': 'eth7' });
  });

  test('bug 12: a bare network name in network-status is in the pod namespace', () => {
    const s = run(onePod({ interfaces: [{ network: 'net1', ips: ['10.0.0.1'] }] }).build());
    assert.deepEqual(keys(s), ['ns1/a/net1']);
    assert.equal(s.endpoints[0]!.attachment.network, 'ns1/net1');
  });

  test('an unparsable network-status annotation skips the pod with the reason', () => {
    const s = run(onePod({ networkStatus: '[{"name": ' }).build());
    assert.deepEqual(keys(s), []);
    assert.deepEqual(reasons(s), [['ns1/a', undefined, 'network-status-invalid']]);
  });

  test('a pod without secondary interfaces gives nothing and no skip', () => {
    const s = run(onePod({ interfaces: [] }).build());
    assert.deepEqual(s, { endpoints: [], skipped: [] });
  });

  test('an entry without device-info cannot be enforced: attachment-invalid, naming the field', () => {
    const s = run(onePod({ interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], deviceInfo: null }] }).build());
    assert.deepEqual(reasons(s), [['ns1/a', 'ns1/net1', 'attachment-invalid']]);
    assert.match(s.skipped[0]!.detail, /device-info/);
  });
});

describe('NetworkAttachmentDefinitions', () => {
  test('bug 11: a NAD created after the pod: the endpoint appears as soon as the snapshot has it', () => {
    const before = new ClusterBuilder().pod('ns1/a', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'] }] });
    const s1 = run(before.build());
    assert.deepEqual(keys(s1), []);
    assert.deepEqual(reasons(s1), [['ns1/a', 'ns1/net1', 'no-network']]);
    const s2 = run(before.nad('ns1/net1').build());
    assert.deepEqual(keys(s2), ['ns1/a/net1']);
    assert.deepEqual(s2.skipped, []);
  });

  test('a NAD whose CNI type no adapter handles is skipped with the type in the reason', () => {
    const s = run(new ClusterBuilder().nad('ns1/net1', 'sriov').pod('ns1/a', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'] }] }).build());
    assert.deepEqual(reasons(s), [['ns1/a', 'ns1/net1', 'not-handled']]);
    assert.match(s.skipped[0]!.detail, /'sriov'/);
  });

  test('a conflist NAD is typed by its first plugin', () => {
    const c = new ClusterBuilder()
      .rawNad('ns1/net1', JSON.stringify({ cniVersion: '1.0.0', name: 'net1', plugins: [{ type: 'accelerated-bridge' }, { type: 'tuning' }] }))
      .pod('ns1/a', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'] }] })
      .build();
    assert.deepEqual(keys(run(c)), ['ns1/a/net1']);
  });

  test('a NAD with an unreadable config has no type and is not handled', () => {
    const c = new ClusterBuilder().rawNad('ns1/net1', '{not json').pod('ns1/a', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'] }] }).build();
    assert.deepEqual(reasons(run(c)), [['ns1/a', 'ns1/net1', 'not-handled']]);
  });

  test('with no adapters configured nothing is handled', () => {
    assert.deepEqual(reasons(run(onePod().build(), NODE, [])), [['ns1/a', 'ns1/net1', 'not-handled']]);
  });
});

describe('bonds', () => {
  const bonded = () =>
    new ClusterBuilder()
      .nad('ns1/accel-a')
      .nad('ns1/accel-b')
      .nad('ns1/bond-net', 'bond', { mode: 'active-backup', links: [{ name: 'net1' }, { name: 'net2' }] })
      .pod('ns1/a', {
        interfaces: [
          { network: 'ns1/accel-a', ips: [], iface: 'net1' },
          { network: 'ns1/accel-b', ips: [], iface: 'net2' },
          { network: 'ns1/bond-net', ips: ['10.5.0.1'], iface: 'bond0', deviceInfo: null },
        ],
      });

  test('bond members are skipped and enforced through their bond', () => {
    const s = run(bonded().build(), NODE, [acceleratedBridge, bond]);
    assert.deepEqual(keys(s), ['ns1/a/bond0']);
    assert.deepEqual(reasons(s), [
      ['ns1/a', 'ns1/accel-a', 'bond-member'],
      ['ns1/a', 'ns1/accel-b', 'bond-member'],
    ]);
    assert.deepEqual(s.endpoints[0]!.attachment.members?.map((m) => m.interface), ['net1', 'net2']);
  });

  test('without the bond adapter the bond is not handled and its links are endpoints of their own', () => {
    const s = run(bonded().build(), NODE, [acceleratedBridge]);
    assert.deepEqual(keys(s), ['ns1/a/net1', 'ns1/a/net2']);
    assert.deepEqual(reasons(s), [['ns1/a', 'ns1/bond-net', 'not-handled']]);
  });
});

test('endpoints are sorted by key whatever the pod order', () => {
  const b = new ClusterBuilder().nad('ns1/net1');
  for (const name of ['c', 'a', 'b']) b.pod(`ns1/${name}`, { interfaces: [{ network: 'ns1/net1', ips: [] }] });
  const c = b.build();
  assert.deepEqual(keys(run(c)), ['ns1/a/net1', 'ns1/b/net1', 'ns1/c/net1']);
  assert.deepEqual(run({ ...c, pods: [...c.pods].reverse() }), run(c));
});
