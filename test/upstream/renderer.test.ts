// Upstream renderer catalog R2-R15 (policyrules_test.go, reference section 6.1), ported to our
// render. Upstream's rules were Pass/Drop lists; ours are allow-only grants, so each case
// asserts the same verdicts (and, where it helps, the exact peers and ports). Upstream only
// rendered egress; its fixtures are policyTypes [Egress], so ingress must stay open.
// R1 (RenderIngress "not implemented") does not apply: ingress is rendered (see render.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RuleSet } from '../../core/model/rules.js';
import type { Cluster } from '../../core/model/snapshot.js';
import type { PortSpec } from '../../core/model/rules.js';
import { allows, peersOf, renderOf } from '../core/pipeline/rules-helpers.js';
import { NET, policies, withSources, world } from './fixtures.js';

const target = (c: Cluster, iface = 'net1', ns = 'target', net = NET): RuleSet => renderOf(c, `${ns}/target-pod`, net, iface);
const P: PortSpec[] = [
  { protocol: 'TCP', start: 6666, end: 6666 },
  { protocol: 'UDP', start: 7777, end: 7777 },
  { protocol: 'TCP', start: 8888, end: 8888 },
];
const portsOf = (rs: RuleSet) => rs.egress?.grants.map((g) => g.ports);

/** 10.17.0.0/16 minus 10.17.0.0/24, any port: the verdicts of upstream's [{/16 Pass}, {/24 Drop}]. */
function assertBlockMinusExcept(rs: RuleSet, port = 80, protocol: 'TCP' | 'UDP' = 'TCP'): void {
  assert.equal(allows(rs.egress, '10.17.0.1', protocol, port), false, 'inside the except');
  assert.equal(allows(rs.egress, '10.17.0.255', protocol, port), false, 'inside the except');
  assert.equal(allows(rs.egress, '10.17.1.1', protocol, port), true);
  assert.equal(allows(rs.egress, '10.17.255.254', protocol, port), true);
  assert.equal(allows(rs.egress, '10.18.0.1', protocol, port), false, 'outside the block');
}

describe('upstream renderer catalog (egress)', () => {
  test('R2: a policy in another namespace than the pod does not apply: both directions open', () => {
    const rs = target(world('default').policy(policies.ipBlockNoPorts()).build(), 'net1', 'default');
    assert.equal(rs.egress, null);
    assert.equal(rs.ingress, null);
  });

  test('R3: default deny (no egress rules, policyTypes [Egress]): egress isolated with nothing allowed, ingress open', () => {
    const rs = target(world().policy(policies.defaultDeny()).build());
    assert.deepEqual(rs.egress, { policies: ['target/ipblock-policy-allow'], grants: [] });
    assert.equal(rs.ingress, null);
  });

  test('R4: default allow (egress: [{}]): every address, every port', () => {
    const rs = target(world().policy(policies.defaultAllow()).build());
    assert.deepEqual(rs.egress?.grants.map((g) => [g.peers, g.ports]), [[['0.0.0.0/0', '::/0'], 'all']]);
    assert.equal(rs.ingress, null);
  });

  test('R5: ipBlock without ports: the block minus its except, every port', () => {
    const rs = target(world().policy(policies.ipBlockNoPorts()).build());
    assertBlockMinusExcept(rs);
    assertBlockMinusExcept(rs, 53, 'UDP');
    assert.deepEqual(portsOf(rs), ['all']);
  });

  test('R6: ipBlock with ports [TCP 6666, UDP 7777, 8888 (TCP by default)]', () => {
    const rs = target(world().policy(policies.ipBlockWithPorts()).build());
    assertBlockMinusExcept(rs, 6666);
    assertBlockMinusExcept(rs, 7777, 'UDP');
    assertBlockMinusExcept(rs, 8888);
    assert.equal(allows(rs.egress, '10.17.1.1', 'UDP', 6666), false);
    assert.deepEqual(portsOf(rs), [P]);
  });

  test('R7: two ipBlock rules, each with two except ranges and its own ports', () => {
    const rs = target(world().policy(policies.ipBlockMultipleRules()).build());
    for (const ip of ['10.17.0.1', '10.17.1.1', '20.17.0.1', '20.17.1.1']) assert.equal(allows(rs.egress, ip, 'TCP', 6666), false, ip);
    assert.equal(allows(rs.egress, '10.17.2.1', 'UDP', 1), true, 'rule 1 has no ports');
    assert.equal(allows(rs.egress, '20.17.2.1', 'TCP', 6666), true);
    assert.equal(allows(rs.egress, '20.17.2.1', 'TCP', 6667), false, 'rule 2 is TCP 6666 only');
  });

  test('R8: two ipBlock peers in one rule share its ports', () => {
    const rs = target(world().policy(policies.ipBlockMultiplePeers()).build());
    for (const ip of ['10.17.5.5', '20.17.5.5']) {
      assert.equal(allows(rs.egress, ip, 'TCP', 6666), true, ip);
      assert.equal(allows(rs.egress, ip, 'TCP', 80), false, ip);
    }
    for (const ip of ['10.17.0.5', '20.17.0.5']) assert.equal(allows(rs.egress, ip, 'TCP', 6666), false, ip);
  });

  test('R9: podSelector + namespaceSelector without ports: only source-pod-1 (app=source)', () => {
    const rs = target(withSources(world(), 'source', 'not-a-source').policy(policies.selectorNoPorts()).build());
    assert.deepEqual(peersOf(rs.egress), ['192.168.1.3/32']);
    assert.deepEqual(portsOf(rs), ['all']);
  });

  test('R10: podSelector {} in namespace source with ports: both sources on [TCP 6666, UDP 7777, TCP 8888]', () => {
    const rs = target(withSources(world(), 'source', 'source').policy(policies.selectorWithPorts()).build());
    assert.deepEqual(rs.egress?.grants.map((g) => [g.peers, g.ports]), [[['192.168.1.3/32', '192.168.1.4/32'], P]]);
  });

  test('R11: two selector rules: source-1 on every port, source-2 on TCP 6666', () => {
    const rs = target(withSources(world(), 'source-1', 'source-2').policy(policies.selectorMultipleRules()).build());
    assert.deepEqual(rs.egress?.grants.map((g) => [g.peers, g.ports]), [
      [['192.168.1.3/32'], 'all'],
      [['192.168.1.4/32'], [{ protocol: 'TCP', start: 6666, end: 6666 }]],
    ]);
  });

  test('R12: two selector peers in one rule: both on TCP 6666', () => {
    const rs = target(withSources(world(), 'source-1', 'source-2').policy(policies.selectorMultiplePeers()).build());
    assert.deepEqual(peersOf(rs.egress), ['192.168.1.3/32', '192.168.1.4/32']);
    assert.equal(allows(rs.egress, '192.168.1.3', 'TCP', 6666), true);
    assert.equal(allows(rs.egress, '192.168.1.4', 'TCP', 6666), true);
    assert.equal(allows(rs.egress, '192.168.1.4', 'TCP', 80), false);
  });

  test('R13: two policies on one interface: the union of both', () => {
    const rs = target(withSources(world(), 'source', 'other').policy(policies.selectorNoPorts(), policies.ipBlockNoPorts()).build());
    assert.deepEqual(rs.egress?.policies, ['target/ipblock-policy', 'target/selector-policy']);
    assert.equal(allows(rs.egress, '192.168.1.3', 'UDP', 9), true);
    assert.equal(allows(rs.egress, '192.168.1.4', 'UDP', 9), false);
    assertBlockMinusExcept(rs);
  });

  test('R14: two interfaces on the same network: each gets the same rules', () => {
    const c = world('target', [
      { network: NET, iface: 'net1', pci: '0000:03:00.4', ips: ['192.168.1.2'] },
      { network: NET, iface: 'net2', pci: '0000:03:00.5', ips: ['192.168.1.3'] },
    ])
      .policy(policies.ipBlockNoPorts())
      .build();
    const one = target(c, 'net1');
    const two = target(c, 'net2');
    assert.equal(one.endpoint, 'target/target-pod/net1');
    assert.equal(two.endpoint, 'target/target-pod/net2');
    assert.deepEqual(one.egress, two.egress);
    assertBlockMinusExcept(one);
  });

  test('R15: two interfaces on two networks named by one policy-for list: each gets the rules', () => {
    const c = world('target', [
      { network: 'target/accel-net1', iface: 'net1', ips: ['192.168.1.2'] },
      { network: 'target/accel-net2', iface: 'net2', ips: ['192.168.2.2'] },
    ])
      .nad('target/accel-net1')
      .nad('target/accel-net2')
      .policy(policies.ipBlockNoPorts('accel-net1,accel-net2'))
      .build();
    assertBlockMinusExcept(target(c, 'net1', 'target', 'target/accel-net1'));
    assertBlockMinusExcept(target(c, 'net2', 'target', 'target/accel-net2'));
  });
});

describe('upstream renderer fixtures where upstream was wrong', () => {
  test('bug 2: except does not override another peer\'s allow (source pod inside the except range)', () => {
    // R13 with the source pod moved into 10.17.0.0/24: upstream's Drop at pref 100 would win
    const c = world()
      .pod('source/source-pod-1', { labels: { app: 'source' }, interfaces: [{ network: NET, ips: ['10.17.0.9'] }] })
      .policy(policies.selectorNoPorts(), policies.ipBlockNoPorts())
      .build();
    const rs = target(c);
    assert.equal(allows(rs.egress, '10.17.0.9', 'TCP', 22), true);
    assert.equal(allows(rs.egress, '10.17.0.10', 'TCP', 22), false);
  });

  test('bug 3: R10 with no source pod: the ports are allowed to nobody (upstream allowed them to everyone)', () => {
    const rs = target(world().policy(policies.selectorWithPorts()).build());
    assert.deepEqual(rs.egress?.grants, []);
    assert.equal(allows(rs.egress, '8.8.8.8', 'TCP', 6666), false);
  });

  test('bug 1: R3 without policyTypes is an ingress deny-all and leaves egress open (upstream denied egress)', () => {
    const p = policies.defaultDeny();
    const noTypes = { ...p, spec: { podSelector: p.spec.podSelector } };
    const rs = target(world().policy(noTypes).build());
    assert.equal(rs.egress, null);
    assert.deepEqual(rs.ingress?.grants, []);
  });

  test('bug 4: R6 with a named port and SCTP next to TCP 6666 allows exactly TCP 6666 and SCTP 7777', () => {
    const p = policies.ipBlockWithPorts();
    const ports = [{ protocol: 'TCP' as const, port: 6666 }, { protocol: 'SCTP' as const, port: 7777 }, { port: 'http' }];
    const withNamed = { ...p, spec: { ...p.spec, egress: [{ ...p.spec.egress![0]!, ports }] } };
    const rs = target(world().policy(withNamed).build());
    assert.equal(allows(rs.egress, '10.17.1.1', 'TCP', 6666), true);
    assert.equal(allows(rs.egress, '10.17.1.1', 'SCTP', 7777), true);
    assert.equal(allows(rs.egress, '10.17.1.1', 'TCP', 80), false, 'the named port does not widen to all ports');
    assert.equal(allows(rs.egress, '10.17.1.1', 'UDP', 53), false);
  });

  test('bug 5: R9 with a NotIn selector (upstream rejected every operator but single-value In)', () => {
    const p = policies.selectorNoPorts();
    const notIn = { ...p, spec: { ...p.spec, egress: [{ to: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn' as const, values: ['not-a-source'] }] }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'source' } } }] }] } };
    const rs = target(withSources(world(), 'source', 'not-a-source').policy(notIn).build());
    assert.deepEqual(peersOf(rs.egress), ['192.168.1.3/32']);
  });

  test('bug 12: R9 with source pods whose network-status names the network without namespace', () => {
    // the source pods live in "source", so a bare "accel-net" there means source/accel-net, not target/accel-net
    const c = world()
      .nad('source/accel-net')
      .pod('source/source-pod-1', { labels: { app: 'source' }, interfaces: [{ network: 'accel-net', ips: ['192.168.1.3'] }] })
      .pod('target/peer', { labels: { app: 'source' }, interfaces: [{ network: 'accel-net', ips: ['192.168.1.9'] }] })
      .policy(policies.selectorNoPorts(), policies.defaultDeny())
      .build();
    assert.deepEqual(peersOf(target(c).egress), [], 'source-pod-1 is on source/accel-net, another network');
    const sameNs = target(
      world()
        .pod('target/peer', { labels: { app: 'source' }, interfaces: [{ network: 'accel-net', ips: ['192.168.1.9'] }] })
        .policy({ ...policies.selectorNoPorts(), spec: { ...policies.selectorNoPorts().spec, egress: [{ to: [{ podSelector: { matchLabels: { app: 'source' } } }] }] } })
        .build(),
    );
    assert.deepEqual(peersOf(sameNs.egress), ['192.168.1.9/32'], 'a bare name in the target namespace is target/accel-net');
  });
});
