import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MultiNetworkPolicy, PolicyPeer, PolicyPort } from '../../core/model/k8s.js';
import { clusterWithProbes, type GeneratedWorld } from './arbitraries.js';
import { cidrHasAddress } from './ip-math.js';
import { podAddresses, referenceVerdict } from './k8s-reference.js';

function peersOf(p: MultiNetworkPolicy): PolicyPeer[] {
  return [...(p.spec.ingress ?? []).flatMap((r) => r.from ?? []), ...(p.spec.egress ?? []).flatMap((r) => r.to ?? [])];
}
function portsOf(p: MultiNetworkPolicy): PolicyPort[] {
  return [...(p.spec.ingress ?? []).flatMap((r) => r.ports ?? []), ...(p.spec.egress ?? []).flatMap((r) => r.ports ?? [])];
}

test('200 generated worlds are evaluated by the reference without throwing', () => {
  fc.assert(
    fc.property(clusterWithProbes(), (w) => {
      for (const probe of w.probes) {
        const r = referenceVerdict(w.cluster, w.externals, w.node, probe);
        assert.ok(r.verdict === 'allow' || r.verdict === 'deny');
        assert.doesNotMatch(r.reason, /no ipv[46] address|does not exist/, 'probes only join ends that have addresses');
      }
    }),
    { numRuns: 200 },
  );
});

test('generated probes have a local pod end and generated policies are valid', () => {
  fc.assert(
    fc.property(clusterWithProbes(), (w: GeneratedWorld) => {
      const local = new Set(
        w.cluster.pods.filter((p) => p.spec.nodeName?.toLowerCase() === w.node).map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
      );
      for (const probe of w.probes) {
        assert.ok(local.has(probe.from) || local.has(probe.to), `${probe.from} -> ${probe.to}`);
        assert.notEqual(probe.from, probe.to);
      }
      for (const policy of w.cluster.policies) {
        for (const peer of peersOf(policy)) {
          const keys = Object.keys(peer);
          assert.ok(keys.length > 0, 'no empty peer');
          if (peer.ipBlock === undefined) continue;
          assert.deepEqual(keys, ['ipBlock'], 'ipBlock stands alone');
          const [net = '', bits = ''] = peer.ipBlock.cidr.split('/');
          for (const except of peer.ipBlock.except ?? []) {
            const [exNet = '', exBits = ''] = except.split('/');
            assert.ok(cidrHasAddress(peer.ipBlock.cidr, exNet) && Number(exBits) > Number(bits), `${except} strictly inside ${net}/${bits}`);
          }
        }
        for (const port of portsOf(policy)) {
          if (port.endPort !== undefined) assert.ok(typeof port.port === 'number' && port.endPort >= port.port);
        }
      }
    }),
    { numRuns: 200 },
  );
});

test('generated worlds exercise both verdicts, IPv6, externals and unenforced ends', () => {
  const worlds = fc.sample(clusterWithProbes(), { numRuns: 200, seed: 20240601 });
  let allow = 0;
  let deny = 0;
  let v6 = 0;
  let external = 0;
  let policies = 0;
  for (const w of worlds) {
    policies += w.cluster.policies.length;
    for (const probe of w.probes) {
      if (referenceVerdict(w.cluster, w.externals, w.node, probe).verdict === 'allow') allow++;
      else deny++;
      if (probe.family === 'ipv6') v6++;
      if (probe.from.startsWith('external/') || probe.to.startsWith('external/')) external++;
    }
  }
  const total = allow + deny;
  assert.ok(allow > total / 10 && deny > total / 10, `allow ${allow}, deny ${deny}`);
  assert.ok(v6 > 0 && external > 0 && policies > 100, `v6 ${v6}, external ${external}, policies ${policies}`);
  // every pod address lies in its network's subnet
  for (const w of worlds) {
    for (const pod of w.cluster.pods) {
      for (const ip of podAddresses(pod, 'ns-a/net1')) assert.ok(cidrHasAddress(ip.includes(':') ? 'fd00:1::/64' : '10.1.0.0/24', ip));
    }
  }
});
