// render: Kubernetes NetworkPolicy semantics per secondary network (DESIGN.md "Semantics",
// conformance FORMAT.md "Rules"). Each test names the rule it proves.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MultiNetworkPolicy, PolicyPeer } from '../../../core/model/k8s.js';
import { validatePolicy } from '../../../core/model/validate.js';
import { buildIndex, effectiveTypes } from '../../../core/pipeline/cluster-index.js';
import { render } from '../../../core/pipeline/render.js';
import { ClusterBuilder, endpoint, mnp } from '../../fixtures/cluster-builder.js';
import { allows, peersOf, renderOf } from './rules-helpers.js';

/**
 * ns1 (team=a) and ns2 (team=b); networks ns1/net1 and ns1/net2.
 * The target ns1/target (app=target) has 10.0.0.1 + fd00::1 on net1 and 10.1.0.1 on net2.
 */
function base(): ClusterBuilder {
  return new ClusterBuilder()
    .namespace('ns1', { team: 'a' })
    .namespace('ns2', { team: 'b' })
    .nad('ns1/net1')
    .nad('ns1/net2')
    .pod('ns1/target', {
      labels: { app: 'target' },
      containerPorts: [
        { name: 'http', containerPort: 8080, protocol: 'TCP' },
        { name: 'dns', containerPort: 53, protocol: 'UDP' },
      ],
      interfaces: [
        { network: 'ns1/net1', ips: ['10.0.0.1', 'fd00::1'] },
        { network: 'ns1/net2', ips: ['10.1.0.1'] },
      ],
    })
    .pod('ns1/client', { labels: { app: 'client' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.2', 'fd00::2'] }] })
    .pod('ns2/client', { labels: { app: 'client' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.3'] }] })
    .pod('ns1/db', { labels: { app: 'db', tier: 'back' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.4'] }] });
}

const egressTo = (to: PolicyPeer[] | undefined, ports?: MultiNetworkPolicy['spec']['egress'] extends readonly (infer R)[] | undefined ? R extends { ports?: infer P } ? P : never : never) =>
  ({ podSelector: { matchLabels: { app: 'target' } }, policyTypes: ['Egress'], egress: [{ ...(to ? { to } : {}), ...(ports ? { ports } : {}) }] }) as MultiNetworkPolicy['spec'];
const ingressFrom = (from: PolicyPeer[] | undefined, ports?: readonly { protocol?: 'TCP' | 'UDP' | 'SCTP'; port?: number | string; endPort?: number }[]) =>
  ({ podSelector: { matchLabels: { app: 'target' } }, policyTypes: ['Ingress'], ingress: [{ ...(from ? { from } : {}), ...(ports ? { ports } : {}) }] }) as MultiNetworkPolicy['spec'];
const denyAll = { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } as const satisfies MultiNetworkPolicy['spec'];

describe('policy-for: which networks a policy applies to', () => {
  test('a bare name means the network of that name in the policy namespace', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', denyAll, 'net1')).build());
    assert.deepEqual(rs.ingress?.policies, ['ns1/p']);
    assert.deepEqual(rs.egress?.policies, ['ns1/p']);
  });

  test('ns/name names a network in another namespace', () => {
    const c = base().nad('ns2/shared').pod('ns1/target', { labels: { app: 'target' }, interfaces: [{ network: 'ns2/shared', ips: ['10.9.0.1'] }] });
    assert.deepEqual(renderOf(c.policy(mnp('ns1/p', denyAll, 'ns2/shared')).build(), 'ns1/target', 'ns2/shared').ingress?.policies, ['ns1/p']);
    assert.equal(renderOf(c.policy(mnp('ns1/p', denyAll, 'shared')).build(), 'ns1/target', 'ns2/shared').ingress, null, 'bare "shared" means ns1/shared');
  });

  test('a comma-separated list applies to each network it names', () => {
    const c = base().policy(mnp('ns1/p', denyAll, 'net1, net2')).build();
    assert.notEqual(renderOf(c, 'ns1/target', 'ns1/net1', 'net1').ingress, null);
    assert.notEqual(renderOf(c, 'ns1/target', 'ns1/net2', 'net2').ingress, null);
  });

  test('a policy for another network does not touch this one', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', denyAll, 'net2')).build());
    assert.equal(rs.ingress, null);
    assert.equal(rs.egress, null);
  });

  test('no policy-for annotation: the policy applies to no secondary network', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', denyAll, null)).build());
    assert.equal(rs.ingress, null);
    assert.equal(rs.egress, null);
  });

  test('bug 13: empty entries and tabs in policy-for are ignored, the named networks still apply', () => {
    const c = base().policy(mnp('ns1/p', denyAll, ' ,\tnet1,, ns1/net2 ,')).build();
    assert.notEqual(renderOf(c, 'ns1/target', 'ns1/net1', 'net1').ingress, null);
    assert.notEqual(renderOf(c, 'ns1/target', 'ns1/net2', 'net2').ingress, null);
  });

  test('a policy in another namespace never applies, even for the same network', () => {
    const rs = renderOf(base().policy(mnp('ns2/p', denyAll, 'ns1/net1')).build());
    assert.equal(rs.ingress, null);
    assert.equal(rs.egress, null);
  });
});

describe('podSelector of the policy', () => {
  const sel = (podSelector: MultiNetworkPolicy['spec']['podSelector']) => mnp('ns1/p', { podSelector, policyTypes: ['Ingress'] });
  const rows: [string, MultiNetworkPolicy['spec']['podSelector'], boolean][] = [
    ['an empty podSelector selects every pod of the namespace', {}, true],
    ['matchLabels selects the labelled pod', { matchLabels: { app: 'target' } }, true],
    ['matchLabels does not select another pod', { matchLabels: { app: 'db' } }, false],
    ['bug 5: In with several values', { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'target'] }] }, true],
    ['bug 5: NotIn excludes the target', { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['target'] }] }, false],
    ['bug 5: NotIn on a missing key selects', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['back'] }] }, true],
    ['bug 5: Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['bug 5: DoesNotExist on a missing key selects', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, true],
    ['bug 5: DoesNotExist on a present key does not select', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    ['matchLabels AND matchExpressions', { matchLabels: { app: 'target' }, matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['target'] }] }, false],
  ];
  for (const [what, podSelector, selected] of rows) {
    test(`${what} -> ${selected ? 'isolated' : 'open'}`, () => {
      const rs = renderOf(base().policy(sel(podSelector)).build());
      assert.equal(rs.ingress !== null, selected);
    });
  }
});

describe('policyTypes', () => {
  test('Kubernetes defaulting: absent policyTypes and no egress -> Ingress only (bug 1: upstream denied all egress)', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', { podSelector: {} })).build());
    assert.deepEqual(rs.ingress, { policies: ['ns1/p'], grants: [] });
    assert.equal(rs.egress, null);
  });

  test('absent policyTypes and an empty egress list -> Ingress only', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', { podSelector: {}, egress: [] })).build());
    assert.notEqual(rs.ingress, null);
    assert.equal(rs.egress, null);
  });

  test('absent policyTypes and a non-empty egress list -> Ingress and Egress', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.4/32' } }] }] })).build());
    assert.deepEqual(rs.ingress, { policies: ['ns1/p'], grants: [] }, 'no ingress rules: deny all ingress');
    assert.equal(allows(rs.egress, '10.0.0.4'), true);
    assert.equal(allows(rs.egress, '10.0.0.2'), false);
  });

  test('an empty policyTypes list is defaulted like an absent one', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', { podSelector: {}, policyTypes: [], egress: [{}] })).build());
    assert.notEqual(rs.ingress, null);
    assert.equal(allows(rs.egress, '192.0.2.1'), true);
  });

  test('bug 1: egress rules of a policy with policyTypes [Ingress] are ignored', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', { podSelector: {}, policyTypes: ['Ingress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.4/32' } }] }] })).build());
    assert.notEqual(rs.ingress, null);
    assert.equal(rs.egress, null, 'egress stays open');
  });

  test('bug 1: ingress rules of a policy with policyTypes [Egress] are ignored', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', { podSelector: {}, policyTypes: ['Egress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.4/32' } }] }] })).build());
    assert.equal(rs.ingress, null, 'ingress stays open');
    assert.deepEqual(rs.egress, { policies: ['ns1/p'], grants: [] });
  });

  test('a direction is isolated when some applicable policy has that type, by any policy', () => {
    const c = base().policy(mnp('ns1/a', { podSelector: {}, policyTypes: ['Ingress'] }), mnp('ns1/b', { podSelector: {}, policyTypes: ['Egress'] })).build();
    const rs = renderOf(c);
    assert.deepEqual(rs.ingress?.policies, ['ns1/a']);
    assert.deepEqual(rs.egress?.policies, ['ns1/b']);
  });

  const defaults: [string, MultiNetworkPolicy['spec'], string[]][] = [
    ['nothing', { podSelector: {} }, ['Ingress']],
    ['ingress only', { podSelector: {}, ingress: [{}] }, ['Ingress']],
    ['egress: []', { podSelector: {}, egress: [] }, ['Ingress']],
    ['egress: [{}]', { podSelector: {}, egress: [{}] }, ['Ingress', 'Egress']],
    ['policyTypes []', { podSelector: {}, policyTypes: [], egress: [{}] }, ['Ingress', 'Egress']],
    ['explicit Egress', { podSelector: {}, policyTypes: ['Egress'] }, ['Egress']],
    ['explicit both, duplicated', { podSelector: {}, policyTypes: ['Egress', 'Ingress', 'Egress'] }, ['Egress', 'Ingress']],
  ];
  for (const [what, spec, want] of defaults) {
    test(`effectiveTypes: ${what} -> ${want.join('+')}`, () => assert.deepEqual(effectiveTypes(spec), want));
  }
});

describe('union of rules and policies', () => {
  test('two rules of one policy: either one allows', () => {
    const spec = { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.4/32' } }], ports: [{ port: 80 }] }, { to: [{ ipBlock: { cidr: '10.0.0.2/32' } }], ports: [{ port: 443 }] }] } as const;
    const rs = renderOf(base().policy(mnp('ns1/p', spec)).build());
    assert.equal(allows(rs.egress, '10.0.0.4', 'TCP', 80), true);
    assert.equal(allows(rs.egress, '10.0.0.2', 'TCP', 443), true);
    assert.equal(allows(rs.egress, '10.0.0.4', 'TCP', 443), false, 'rules are not mixed');
    assert.equal(allows(rs.egress, '10.0.0.2', 'TCP', 80), false, 'rules are not mixed');
  });

  test('two policies: a deny-all and an allow -> the allow holds (union, sorted policy list)', () => {
    const c = base().policy(mnp('ns1/z-deny', denyAll), mnp('ns1/a-allow', egressTo([{ ipBlock: { cidr: '10.0.0.0/24' } }]))).build();
    const rs = renderOf(c);
    assert.deepEqual(rs.egress?.policies, ['ns1/a-allow', 'ns1/z-deny']);
    assert.equal(allows(rs.egress, '10.0.0.9'), true);
    assert.equal(allows(rs.egress, '10.1.0.9'), false);
  });

  test('an empty rule ({}) allows every peer on every port', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}] })).build());
    assert.deepEqual(rs.ingress?.grants.map((g) => [g.peers, g.ports]), [[['0.0.0.0/0', '::/0'], 'all']]);
  });

  test('from: [] is the same as from absent: every peer', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [], ports: [{ port: 22 }] }] })).build());
    assert.equal(allows(rs.ingress, '198.51.100.7', 'TCP', 22), true);
    assert.equal(allows(rs.ingress, '2001:db8::7', 'TCP', 22), true);
    assert.equal(allows(rs.ingress, '198.51.100.7', 'TCP', 23), false);
  });
});

describe('ipBlock and except', () => {
  test('except narrows its own peer', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/24'] } }]))).build());
    assert.equal(allows(rs.egress, '10.17.0.5'), false);
    assert.equal(allows(rs.egress, '10.17.1.5'), true);
    assert.equal(allows(rs.egress, '10.17.255.255'), true);
  });

  test('bug 2: another peer of the same rule allowing an excepted address still allows it', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/24'] } }, { ipBlock: { cidr: '10.17.0.0/28' } }]))).build());
    assert.equal(allows(rs.egress, '10.17.0.5'), true);
    assert.equal(allows(rs.egress, '10.17.0.20'), false);
  });

  test('bug 2: another rule allowing an excepted address on its ports still allows it there', () => {
    const spec = {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/24'] } }] }, { to: [{ ipBlock: { cidr: '10.17.0.0/24' } }], ports: [{ port: 53, protocol: 'UDP' }] }],
    } as const;
    const rs = renderOf(base().policy(mnp('ns1/p', spec)).build());
    assert.equal(allows(rs.egress, '10.17.0.5', 'UDP', 53), true);
    assert.equal(allows(rs.egress, '10.17.0.5', 'TCP', 80), false);
  });

  test('bug 2: another policy allowing an excepted address still allows it', () => {
    const c = base().policy(mnp('ns1/a', egressTo([{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/24'] } }])), mnp('ns1/b', egressTo([{ podSelector: { matchLabels: { app: 'db' } } }]))).build();
    const rs = renderOf(c);
    assert.equal(allows(rs.egress, '10.0.0.4'), true, 'db (10.0.0.4) is in the except range of ns1/a but allowed by ns1/b');
    assert.equal(allows(rs.egress, '10.0.0.2'), false);
  });

  test('the except range leaves the cidr as disjoint allow prefixes, never a deny', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/24'] } }], [{ port: 6666 }]))).build());
    assert.deepEqual(rs.egress?.grants, [
      {
        policy: 'ns1/p',
        rule: 0,
        peers: ['10.17.1.0/24', '10.17.2.0/23', '10.17.4.0/22', '10.17.8.0/21', '10.17.16.0/20', '10.17.32.0/19', '10.17.64.0/18', '10.17.128.0/17'],
        ports: [{ protocol: 'TCP', start: 6666, end: 6666 }],
      },
    ]);
  });

  test('an ipBlock cidr with host bits is taken as its network', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ ipBlock: { cidr: '10.17.3.4/16' } }]))).build());
    assert.deepEqual(peersOf(rs.egress), ['10.17.0.0/16']);
  });

  test('IPv6 ipBlock with except', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ ipBlock: { cidr: 'fd00::/64', except: ['fd00::/65'] } }]))).build());
    assert.equal(allows(rs.egress, 'fd00::1'), false);
    assert.equal(allows(rs.egress, 'fd00::8000:0:0:1'), true);
    assert.equal(allows(rs.egress, '10.0.0.1'), false, 'an IPv6 block allows no IPv4');
  });
});

describe('selector peers', () => {
  test('a podSelector peer selects pods of the policy namespace only', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ podSelector: { matchLabels: { app: 'client' } } }]))).build());
    assert.deepEqual(peersOf(rs.egress), ['10.0.0.2/32', 'fd00::2/128']);
  });

  test('namespaceSelector {} selects pods of every namespace', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ podSelector: { matchLabels: { app: 'client' } }, namespaceSelector: {} }]))).build());
    assert.deepEqual(peersOf(rs.egress), ['10.0.0.2/32', '10.0.0.3/32', 'fd00::2/128']);
  });

  test('namespaceSelector alone selects every pod of the matching namespaces', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ namespaceSelector: { matchLabels: { team: 'b' } } }]))).build());
    assert.deepEqual(peersOf(rs.egress), ['10.0.0.3/32']);
  });

  test('podSelector AND namespaceSelector in one peer', () => {
    const c = base().pod('ns2/db', { labels: { app: 'db' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.30'] }] });
    const rs = renderOf(c.policy(mnp('ns1/p', egressTo([{ podSelector: { matchLabels: { app: 'db' } }, namespaceSelector: { matchLabels: { team: 'b' } } }]))).build());
    assert.deepEqual(peersOf(rs.egress), ['10.0.0.30/32']);
  });

  test('podSelector and namespaceSelector in two peers are an OR', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ podSelector: { matchLabels: { app: 'db' } } }, { namespaceSelector: { matchLabels: { team: 'b' } } }]))).build());
    assert.deepEqual(peersOf(rs.egress), ['10.0.0.3/32', '10.0.0.4/32']);
  });

  test('bug 5: matchExpressions on a namespaceSelector (NotIn on kubernetes.io/metadata.name)', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['ns1'] }] } }]))).build());
    assert.deepEqual(peersOf(rs.egress), ['10.0.0.3/32']);
  });

  test('bug 5: matchExpressions on a peer podSelector (In with two values, DoesNotExist)', () => {
    const c = base().policy(mnp('ns1/p', egressTo([{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['client', 'db'] }, { key: 'tier', operator: 'DoesNotExist' }] } }]))).build();
    assert.deepEqual(peersOf(renderOf(c).egress), ['10.0.0.2/32', 'fd00::2/128']);
  });

  test('bug 3: a selector peer matching no pod allows nothing, also with ports', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ podSelector: { matchLabels: { app: 'nobody' } } }], [{ port: 5555 }]))).build());
    assert.deepEqual(rs.egress, { policies: ['ns1/p'], grants: [] });
    assert.equal(allows(rs.egress, '192.0.2.1', 'TCP', 5555), false);
  });

  test('bug 3: a selector peer matching no pod, next to one that matches, adds nothing', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ podSelector: { matchLabels: { app: 'nobody' } } }, { podSelector: { matchLabels: { app: 'db' } } }], [{ port: 5555 }]))).build());
    assert.deepEqual(peersOf(rs.egress), ['10.0.0.4/32']);
  });

  test('only Running, non-hostNetwork pods are peers; pods on other nodes are', () => {
    const c = base()
      .pod('ns1/pending', { labels: { app: 'client' }, phase: 'Pending', interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.7'] }] })
      .pod('ns1/done', { labels: { app: 'client' }, phase: 'Succeeded', interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.8'] }] })
      .pod('ns1/hostnet', { labels: { app: 'client' }, hostNetwork: true, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.9'] }] })
      .pod('ns1/remote', { labels: { app: 'client' }, node: 'worker-2', interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.10'] }] });
    const rs = renderOf(c.policy(mnp('ns1/p', egressTo([{ podSelector: { matchLabels: { app: 'client' } } }]))).build());
    assert.deepEqual(peersOf(rs.egress), ['10.0.0.10/32', '10.0.0.2/32', 'fd00::2/128']);
  });

  test("a peer matches only by its address on the SAME network, never by another network's address", () => {
    const c = base().pod('ns1/elsewhere', { labels: { app: 'client' }, interfaces: [{ network: 'ns1/net2', ips: ['10.1.0.9'] }] });
    const built = c.policy(mnp('ns1/p', egressTo([{ podSelector: { matchLabels: { app: 'client' } } }]), 'net1,net2')).build();
    assert.deepEqual(peersOf(renderOf(built, 'ns1/target', 'ns1/net1', 'net1').egress), ['10.0.0.2/32', 'fd00::2/128']);
    assert.deepEqual(peersOf(renderOf(built, 'ns1/target', 'ns1/net2', 'net2').egress), ['10.1.0.9/32']);
  });

  test('the cluster default network address of a peer is never used', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', egressTo([{ podSelector: { matchLabels: { app: 'client' } } }]))).build());
    assert.equal(peersOf(rs.egress).includes('10.244.0.1/32'), false);
  });

  test('bug 12: a peer whose network-status names the network without namespace is matched', () => {
    const c = base().pod('ns1/bare', { labels: { app: 'client' }, interfaces: [{ network: 'net1', ips: ['10.0.0.50'] }] });
    const rs = renderOf(c.policy(mnp('ns1/p', egressTo([{ podSelector: { matchLabels: { app: 'client' } } }]))).build());
    assert.ok(peersOf(rs.egress).includes('10.0.0.50/32'));
  });

  test('dual stack: a pod peer contributes its IPv4 and IPv6 addresses', () => {
    const rs = renderOf(base().policy(mnp('ns1/p', ingressFrom([{ podSelector: { matchLabels: { app: 'client' } } }]))).build());
    assert.equal(allows(rs.ingress, '10.0.0.2'), true);
    assert.equal(allows(rs.ingress, 'fd00::2'), true);
    assert.equal(allows(rs.ingress, 'fd00::3'), false);
  });
});

describe('ports', () => {
  const ports = (p: readonly { protocol?: 'TCP' | 'UDP' | 'SCTP'; port?: number | string; endPort?: number }[]) => renderOf(base().policy(mnp('ns1/p', ingressFrom(undefined, p))).build()).ingress;

  test('protocol defaults to TCP', () => {
    const d = ports([{ port: 80 }]);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 80), true);
    assert.equal(allows(d, '10.0.0.2', 'UDP', 80), false);
  });

  test('SCTP is supported (bug 4: upstream dropped it and widened the rule)', () => {
    const d = ports([{ protocol: 'SCTP', port: 7777 }]);
    assert.equal(allows(d, '10.0.0.2', 'SCTP', 7777), true);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 7777), false);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 80), false);
  });

  test('bug 4: a protocol-only entry allows every port of that protocol and nothing else', () => {
    const d = ports([{ protocol: 'UDP' }]);
    assert.equal(allows(d, '10.0.0.2', 'UDP', 1), true);
    assert.equal(allows(d, '10.0.0.2', 'UDP', 65535), true);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 80), false);
  });

  test('endPort makes an inclusive range', () => {
    const d = ports([{ port: 5000, endPort: 5900 }]);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 4999), false);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 5000), true);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 5900), true);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 5901), false);
  });

  test('ports at the edges 1 and 65535', () => {
    const d = ports([{ port: 1 }, { port: 65535, protocol: 'UDP' }]);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 1), true);
    assert.equal(allows(d, '10.0.0.2', 'UDP', 65535), true);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 65535), false);
  });

  test('ingress named port is resolved on the target pod (protocol must match)', () => {
    const d = ports([{ port: 'http' }, { port: 'dns', protocol: 'UDP' }]);
    assert.deepEqual(d?.grants[0]?.ports, [
      { protocol: 'TCP', start: 8080, end: 8080 },
      { protocol: 'UDP', start: 53, end: 53 },
    ]);
  });

  test('bug 4: an unresolved named port allows nothing, with a diagnostic', () => {
    const c = base().policy(mnp('ns1/p', ingressFrom(undefined, [{ port: 'http', protocol: 'UDP' }]))).build();
    const rs = renderOf(c);
    assert.deepEqual(rs.ingress, { policies: ['ns1/p'], grants: [] });
    assert.deepEqual(rs.diagnostics.map((d) => [d.id, d.policy, d.field]), [['named-port-unresolved', 'ns1/p', 'spec.ingress[0].ports']]);
  });

  test('bug 4: an unresolved named port next to a numeric one does not widen: only the numeric port', () => {
    const d = ports([{ port: 'nope' }, { port: 443 }]);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 443), true);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 80), false);
    assert.equal(allows(d, '10.0.0.2', 'UDP', 53), false);
  });

  test('bug 6: a port string that looks numeric ("0x50") is a port name, never port 80', () => {
    const d = ports([{ port: '0x50' }]);
    assert.equal(allows(d, '10.0.0.2', 'TCP', 80), false);
  });

  test('egress named ports are resolved per destination pod', () => {
    const c = base()
      .pod('ns1/server-a', { labels: { app: 'server' }, containerPorts: [{ name: 'http', containerPort: 8080 }], interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.5'] }] })
      .pod('ns1/server-b', { labels: { app: 'server' }, containerPorts: [{ name: 'http', containerPort: 9090 }], interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.6'] }] })
      .pod('ns1/server-c', { labels: { app: 'server' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.7'] }] });
    const rs = renderOf(c.policy(mnp('ns1/p', egressTo([{ podSelector: { matchLabels: { app: 'server' } } }], [{ port: 'http' }]))).build());
    assert.equal(allows(rs.egress, '10.0.0.5', 'TCP', 8080), true);
    assert.equal(allows(rs.egress, '10.0.0.5', 'TCP', 9090), false);
    assert.equal(allows(rs.egress, '10.0.0.6', 'TCP', 9090), true);
    assert.equal(allows(rs.egress, '10.0.0.6', 'TCP', 8080), false);
    assert.equal(allows(rs.egress, '10.0.0.7', 'TCP', 8080), false, 'server-c has no port named http');
  });

  test('egress named port with no "to": every pod on the network that names the port', () => {
    const c = base().pod('ns2/server', { labels: { app: 'server' }, containerPorts: [{ name: 'http', containerPort: 8081 }], interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.40'] }] });
    const rs = renderOf(c.policy(mnp('ns1/p', egressTo(undefined, [{ port: 'http' }]))).build());
    assert.equal(allows(rs.egress, '10.0.0.40', 'TCP', 8081), true);
    assert.equal(allows(rs.egress, '10.0.0.1', 'TCP', 8080), true, 'the target itself names http 8080');
    assert.equal(allows(rs.egress, '192.0.2.1', 'TCP', 8081), false, 'a non-pod address cannot resolve a name');
  });

  test('egress named port to an ipBlock: only pods inside the block (not in its except) that name the port', () => {
    const c = base()
      .pod('ns2/web', { labels: { app: 'web' }, containerPorts: [{ name: 'http', containerPort: 8081 }], interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.40'] }] })
      .pod('ns2/web-excepted', { labels: { app: 'web' }, containerPorts: [{ name: 'http', containerPort: 8082 }], interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.130'] }] })
      .pod('ns2/web-outside', { labels: { app: 'web' }, containerPorts: [{ name: 'http', containerPort: 8083 }], interfaces: [{ network: 'ns1/net1', ips: ['10.0.1.40'] }] });
    const rs = renderOf(c.policy(mnp('ns1/p', egressTo([{ ipBlock: { cidr: '10.0.0.0/24', except: ['10.0.0.128/25'] } }], [{ port: 'http' }]))).build());
    assert.equal(allows(rs.egress, '10.0.0.40', 'TCP', 8081), true);
    assert.equal(allows(rs.egress, '10.0.0.1', 'TCP', 8080), true, 'the target itself is in the block and names http 8080');
    assert.equal(allows(rs.egress, '10.0.0.130', 'TCP', 8082), false, 'in the except range');
    assert.equal(allows(rs.egress, '10.0.1.40', 'TCP', 8083), false, 'outside the block');
    assert.equal(allows(rs.egress, '10.0.0.99', 'TCP', 8081), false, 'an address of no pod cannot resolve a name');
    assert.equal(allows(rs.egress, '10.0.0.2', 'TCP', 8081), false, 'a pod in the block without the port name');
  });
});

describe('invalid policies fail closed', () => {
  const bad = (over: Partial<Parameters<ClusterBuilder['invalidPolicy']>[0]>) => ({
    namespace: 'ns1',
    name: 'broken',
    annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'net1' },
    field: 'spec.ingress[0].ports[0].port',
    problem: 'must be between 1 and 65535',
    ...over,
  });

  test('an invalid policy isolates its declared types and allows nothing, with a diagnostic naming the field', () => {
    const rs = renderOf(base().policy(mnp('ns1/ok', ingressFrom([{ ipBlock: { cidr: '10.0.0.0/24' } }]))).invalidPolicy(bad({ policyTypes: ['Egress'] })).build());
    assert.deepEqual(rs.egress, { policies: ['ns1/broken'], grants: [] });
    assert.deepEqual(rs.ingress?.policies, ['ns1/ok']);
    assert.equal(rs.diagnostics.length, 1);
    assert.equal(rs.diagnostics[0]?.severity, 'error');
    assert.equal(rs.diagnostics[0]?.policy, 'ns1/broken');
    assert.equal(rs.diagnostics[0]?.field, 'spec.ingress[0].ports[0].port');
  });

  test('an invalid policy whose types are unknown isolates both directions', () => {
    const rs = renderOf(base().invalidPolicy(bad({})).build());
    assert.deepEqual(rs.ingress, { policies: ['ns1/broken'], grants: [] });
    assert.deepEqual(rs.egress, { policies: ['ns1/broken'], grants: [] });
  });

  test('an invalid policy with an invalid selector selects every pod of its namespace', () => {
    const rs = renderOf(base().invalidPolicy(bad({ policyTypes: ['Ingress'] })).build(), 'ns1/db');
    assert.notEqual(rs.ingress, null);
  });

  test('an invalid policy with a valid selector isolates only the pods it selects', () => {
    const c = base().invalidPolicy(bad({ podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] })).build();
    assert.notEqual(renderOf(c, 'ns1/db').ingress, null);
    assert.equal(renderOf(c).ingress, null);
    assert.deepEqual(renderOf(c).diagnostics, []);
  });

  test('an invalid policy for another network does not touch this one', () => {
    const rs = renderOf(base().invalidPolicy(bad({ annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'net2' } })).build());
    assert.equal(rs.ingress, null);
    assert.equal(rs.egress, null);
  });

  test('bug 6: a bad except entry makes the policy invalid and fail closed, never widening the block', () => {
    const raw = mnp('ns1/p', egressTo([{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/33'] } }]));
    const v = validatePolicy(raw, 'test');
    assert.equal(v.ok, false);
    if (v.ok) return;
    const rs = renderOf(base().invalidPolicy(v.invalid).build());
    assert.deepEqual(rs.egress, { policies: ['ns1/p'], grants: [] });
    assert.equal(rs.ingress, null, 'policyTypes [Egress] is still known');
    assert.match(rs.diagnostics[0]?.field ?? '', /except/);
  });

  test('bug 6: a bad ipBlock cidr makes the policy invalid and fail closed', () => {
    const v = validatePolicy(mnp('ns1/p', egressTo([{ ipBlock: { cidr: '10.17.0.0' } }, { ipBlock: { cidr: '10.0.0.0/8' } }])), 'test');
    assert.equal(v.ok, false);
    if (v.ok) return;
    const rs = renderOf(base().invalidPolicy(v.invalid).build());
    assert.deepEqual(rs.egress?.grants, []);
  });
});

describe('output', () => {
  test('the rule set names the endpoint and its network', () => {
    const c = base().build();
    const rs = render(endpoint('ns1/target', 'ns1/net1', 'net1'), buildIndex(c));
    assert.equal(rs.endpoint, 'ns1/target/net1');
    assert.equal(rs.network, 'ns1/net1');
  });

  test('no applicable policy: both directions open, no diagnostics', () => {
    assert.deepEqual(renderOf(base().build()), { endpoint: 'ns1/target/net1', network: 'ns1/net1', ingress: null, egress: null, diagnostics: [] });
  });

  test('bug 22: the result does not depend on the order of policies, pods or namespaces', () => {
    const c = base()
      .pod('ns2/db', { labels: { app: 'db' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.30'] }] })
      .policy(
        mnp('ns1/b', egressTo([{ podSelector: { matchLabels: { app: 'client' } }, namespaceSelector: {} }], [{ port: 80 }, { port: 'http' }])),
        mnp('ns1/a', egressTo([{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/24'] } }, { podSelector: {} }])),
        mnp('ns1/c', ingressFrom([{ namespaceSelector: {} }], [{ port: 'http' }])),
      )
      .build();
    const reversed = { ...c, namespaces: [...c.namespaces].reverse(), pods: [...c.pods].reverse(), policies: [...c.policies].reverse() };
    assert.deepEqual(renderOf(reversed), renderOf(c));
  });
});
