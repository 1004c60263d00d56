import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NETWORK_STATUS_ANNOTATION,
  POLICY_FOR_ANNOTATION,
  type ContainerPort,
  type MultiNetworkPolicy,
  type Namespace,
  type PolicyPort,
  type Pod,
} from '../../core/model/k8s.js';
import type { External, Probe } from '../../core/model/probe.js';
import type { Cluster } from '../../core/model/snapshot.js';
import { referenceVerdict } from './k8s-reference.js';

const NODE = 'node-a';
const NET = 'ns1/net1';

interface PodOpts {
  labels?: Record<string, string>;
  node?: string;
  phase?: string;
  hostNetwork?: boolean;
  ports?: ContainerPort[];
  status?: unknown[];
}

function pod(ref: string, ips: string[], opts: PodOpts = {}): Pod {
  const [namespace = '', name = ''] = ref.split('/');
  const status = opts.status ?? [{ name: NET, interface: 'net1', ips }];
  return {
    metadata: { namespace, name, labels: opts.labels ?? { name }, annotations: { [NETWORK_STATUS_ANNOTATION]: JSON.stringify(status) } },
    spec: { nodeName: opts.node ?? NODE, hostNetwork: opts.hostNetwork ?? false, containers: [{ name: 'c', ports: opts.ports ?? [] }] },
    status: { phase: opts.phase ?? 'Running' },
  };
}

function policy(ref: string, spec: MultiNetworkPolicy['spec'], policyFor: string | null = NET): MultiNetworkPolicy {
  const [namespace = '', name = ''] = ref.split('/');
  const annotations: Record<string, string> = policyFor === null ? {} : { [POLICY_FOR_ANNOTATION]: policyFor };
  return { metadata: { namespace, name, annotations }, spec };
}

const ns = (name: string, labels: Record<string, string> = {}): Namespace => ({ metadata: { name, labels } });

// ns1: server (10.0.0.1), client (10.0.0.2), other (10.0.0.3); ns2: remote (10.0.0.4)
const basePods = (): Pod[] => [
  pod('ns1/server', ['10.0.0.1', 'fd00::1'], { ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }),
  pod('ns1/client', ['10.0.0.2', 'fd00::2'], { ports: [{ name: 'http', containerPort: 9090 }] }),
  pod('ns1/other', ['10.0.0.3']),
  pod('ns2/remote', ['10.0.0.4'], { labels: { name: 'remote', role: 'client' } }),
];

function cluster(policies: MultiNetworkPolicy[], pods: Pod[] = basePods(), namespaces: Namespace[] = [ns('ns1', { team: 'a' }), ns('ns2', { team: 'b' })]): Cluster {
  return { namespaces, pods, networks: [], policies, invalidPolicies: [] };
}

const externals: External[] = [{ name: 'gw', network: NET, ips: ['10.0.0.254', 'fd00::fe'] }];

function probe(from: string, to: string, over: Partial<Probe> = {}): Probe {
  return { from, to, network: NET, family: 'ipv4', protocol: 'TCP', port: 80, ...over };
}

function verdict(c: Cluster, p: Probe, node = NODE): string {
  return referenceVerdict(c, externals, node, p).verdict;
}

const denyAllIngress = (ref = 'ns1/deny') => policy(ref, { podSelector: { matchLabels: { name: 'server' } }, policyTypes: ['Ingress'] });

test('with no policy everything is allowed', () => {
  assert.equal(verdict(cluster([]), probe('ns1/client', 'ns1/server')), 'allow');
});

test('an ingress policy with no rules isolates its pod; others stay open', () => {
  const c = cluster([denyAllIngress()]);
  assert.equal(verdict(c, probe('ns1/client', 'ns1/server')), 'deny');
  assert.equal(verdict(c, probe('ns1/server', 'ns1/client')), 'allow');
  assert.match(referenceVerdict(c, externals, NODE, probe('ns1/client', 'ns1/server')).reason, /isolated by ns1\/deny/);
});

test('addresses come from network-status; a bare entry name means the pod namespace', () => {
  const server = pod('ns1/server', [], {
    status: [
      { name: 'ns1/other-net', interface: 'net2', ips: ['10.0.0.1'] },
      { name: 'net1', interface: 'net1', ips: ['fd00::9', '10.0.0.9', '10.0.0.10'] },
    ],
  });
  const allowClientBlock = (cidr: string) =>
    policy('ns1/p', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr } }] }] });
  const pods = [server, ...basePods().slice(1)];
  assert.equal(verdict(cluster([allowClientBlock('10.0.0.9/32')], pods), probe('ns1/client', 'ns1/server')), 'allow');
  assert.equal(verdict(cluster([allowClientBlock('10.0.0.10/32')], pods), probe('ns1/client', 'ns1/server')), 'deny', 'first address of the family is used');
  assert.equal(verdict(cluster([allowClientBlock('fd00::9/128')], pods), probe('ns1/client', 'ns1/server', { family: 'ipv6' })), 'allow');
});

test('an end without an address of the family on the network is a deny with a reason', () => {
  const r = referenceVerdict(cluster([]), externals, NODE, probe('ns1/other', 'ns1/server', { family: 'ipv6' }));
  assert.equal(r.verdict, 'deny');
  assert.match(r.reason, /no ipv6 address/);
});

test('only pods on this node are enforced, node names compared case-insensitively', () => {
  const elsewhere = basePods().map((p) => (p.metadata.name === 'server' ? { ...p, spec: { ...p.spec, nodeName: 'node-b' } } : p));
  assert.equal(verdict(cluster([denyAllIngress()], elsewhere), probe('ns1/client', 'ns1/server')), 'allow');
  const upper = basePods().map((p) => (p.metadata.name === 'server' ? { ...p, spec: { ...p.spec, nodeName: 'NODE-A' } } : p));
  assert.equal(verdict(cluster([denyAllIngress()], upper), probe('ns1/client', 'ns1/server')), 'deny');
});

test('pods that are not Running, or hostNetwork, are not policy targets', () => {
  for (const opts of [{ phase: 'Pending' }, { hostNetwork: true }]) {
    const pods = [pod('ns1/server', ['10.0.0.1'], opts), ...basePods().slice(1)];
    assert.equal(verdict(cluster([denyAllIngress()], pods), probe('ns1/client', 'ns1/server')), 'allow', JSON.stringify(opts));
  }
});

test('pods that are not Running, or hostNetwork, do not match selector peers but do match ipBlocks', () => {
  const bySelector = policy('ns1/p', { podSelector: { matchLabels: { name: 'server' } }, ingress: [{ from: [{ podSelector: {} }] }] });
  const byBlock = policy('ns1/p', { podSelector: { matchLabels: { name: 'server' } }, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.2/32' } }] }] });
  for (const opts of [{ phase: 'Succeeded' }, { hostNetwork: true }]) {
    const pods = [basePods()[0] as Pod, pod('ns1/client', ['10.0.0.2'], opts)];
    assert.equal(verdict(cluster([bySelector], pods), probe('ns1/client', 'ns1/server')), 'deny');
    assert.equal(verdict(cluster([byBlock], pods), probe('ns1/client', 'ns1/server')), 'allow');
  }
});

test('a policy applies only in its own namespace', () => {
  const c = cluster([policy('ns2/deny', { podSelector: {}, policyTypes: ['Ingress'] }, NET)]);
  assert.equal(verdict(c, probe('ns1/client', 'ns1/server')), 'allow');
  assert.equal(verdict(c, probe('ns1/client', 'ns2/remote')), 'deny');
});

test('podSelector: matchLabels AND matchExpressions with every operator', () => {
  const sel = (podSelector: MultiNetworkPolicy['spec']['podSelector']) => cluster([policy('ns1/p', { podSelector, policyTypes: ['Ingress'] })]);
  const toServer = probe('ns1/client', 'ns1/server');
  assert.equal(verdict(sel({ matchLabels: { name: 'server' } }), toServer), 'deny');
  assert.equal(verdict(sel({ matchLabels: { name: 'server', tier: 'x' } }), toServer), 'allow', 'all labels must match');
  assert.equal(verdict(sel({ matchExpressions: [{ key: 'name', operator: 'In', values: ['a', 'server'] }] }), toServer), 'deny');
  assert.equal(verdict(sel({ matchExpressions: [{ key: 'name', operator: 'In', values: ['a'] }] }), toServer), 'allow');
  assert.equal(verdict(sel({ matchExpressions: [{ key: 'name', operator: 'NotIn', values: ['server'] }] }), toServer), 'allow');
  assert.equal(verdict(sel({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['x'] }] }), toServer), 'deny', 'NotIn matches a pod without the key');
  assert.equal(verdict(sel({ matchExpressions: [{ key: 'name', operator: 'Exists' }] }), toServer), 'deny');
  assert.equal(verdict(sel({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }), toServer), 'allow');
  assert.equal(verdict(sel({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }), toServer), 'deny');
  assert.equal(verdict(sel({ matchExpressions: [{ key: 'name', operator: 'DoesNotExist' }] }), toServer), 'allow');
  assert.equal(
    verdict(sel({ matchLabels: { name: 'server' }, matchExpressions: [{ key: 'name', operator: 'NotIn', values: ['server'] }] }), toServer),
    'allow',
    'matchLabels AND matchExpressions',
  );
});

test('policy-for: comma separated, trimmed, empty entries ignored, bare name = policy namespace', () => {
  const spec = { podSelector: {}, policyTypes: ['Ingress' as const] };
  const toServer = probe('ns1/client', 'ns1/server');
  for (const text of ['net1', 'ns1/net1', ' ns9/x , net1 ', ',,ns1/net1,', 'other,  ns1/net1']) {
    assert.equal(verdict(cluster([policy('ns1/p', spec, text)]), toServer), 'deny', text);
  }
  for (const text of ['net2', 'ns2/net1', '', ' , ', 'ns1/net1x']) {
    assert.equal(verdict(cluster([policy('ns1/p', spec, text)]), toServer), 'allow', text);
  }
  assert.equal(verdict(cluster([policy('ns1/p', spec, null)]), toServer), 'allow', 'no annotation: no network');
  // bare name in another namespace's policy means that namespace's network
  const remote = probe('ns1/client', 'ns2/remote');
  assert.equal(verdict(cluster([policy('ns2/p', spec, 'net1')]), remote), 'allow');
  assert.equal(verdict(cluster([policy('ns2/p', spec, 'ns1/net1')]), remote), 'deny');
});

test('policyTypes default: Ingress, plus Egress only when egress is a non-empty list', () => {
  const sel = { matchLabels: { name: 'client' } };
  const out = probe('ns1/client', 'ns1/server');
  const inbound = probe('ns1/server', 'ns1/client');
  const egressOnlyToOther = [{ to: [{ podSelector: { matchLabels: { name: 'other' } } }] }];
  const withEgress = cluster([policy('ns1/p', { podSelector: sel, egress: egressOnlyToOther })]);
  assert.equal(verdict(withEgress, out), 'deny', 'egress isolated');
  assert.equal(verdict(withEgress, inbound), 'deny', 'ingress isolated too');
  const emptyEgress = cluster([policy('ns1/p', { podSelector: sel, egress: [] })]);
  assert.equal(verdict(emptyEgress, out), 'allow', 'egress: [] does not add Egress');
  assert.equal(verdict(emptyEgress, inbound), 'deny');
  const emptyTypes = cluster([policy('ns1/p', { podSelector: sel, policyTypes: [], egress: egressOnlyToOther })]);
  assert.equal(verdict(emptyTypes, out), 'deny', 'policyTypes: [] is the default');
});

test('rules of a type not in policyTypes are ignored', () => {
  const c = cluster([policy('ns1/p', { podSelector: { matchLabels: { name: 'server' } }, policyTypes: ['Egress'], ingress: [{ from: [{ ipBlock: { cidr: '10.9.0.0/16' } }] }] })]);
  assert.equal(verdict(c, probe('ns1/client', 'ns1/server')), 'allow', 'ingress not isolated');
  assert.equal(verdict(c, probe('ns1/server', 'ns1/client')), 'deny', 'egress isolated with no rules');
});

test('allowed traffic is the union of all rules of all applicable policies', () => {
  const sel = { matchLabels: { name: 'server' } };
  const fromName = (name: string) => ({ from: [{ podSelector: { matchLabels: { name } } }] });
  const c = cluster([
    policy('ns1/a', { podSelector: sel, ingress: [fromName('client')] }),
    policy('ns1/b', { podSelector: {}, ingress: [fromName('nobody'), { from: [{ ipBlock: { cidr: '10.0.0.254/32' } }] }] }),
  ]);
  assert.equal(verdict(c, probe('ns1/client', 'ns1/server')), 'allow');
  assert.equal(verdict(c, probe('external/gw', 'ns1/server')), 'allow');
  assert.equal(verdict(c, probe('ns1/other', 'ns1/server')), 'deny');
});

test('from/to absent or empty allows all peers; ports absent or empty allow all ports and protocols', () => {
  const sel = { matchLabels: { name: 'server' } };
  for (const rule of [{}, { from: [] }, { ports: [] }, { from: [], ports: [] }]) {
    const c = cluster([policy('ns1/p', { podSelector: sel, ingress: [rule] })]);
    for (const p of [probe('ns2/remote', 'ns1/server', { protocol: 'SCTP', port: 9 }), probe('external/gw', 'ns1/server', { protocol: 'UDP', port: 53 })]) {
      assert.equal(verdict(c, p), 'allow', JSON.stringify(rule));
    }
  }
});

test('ipBlock: the cidr contains the address and no except does; families never mix', () => {
  const block = (cidr: string, except?: string[]) =>
    cluster([policy('ns1/p', { podSelector: { matchLabels: { name: 'server' } }, ingress: [{ from: [{ ipBlock: { cidr, ...(except ? { except } : {}) } }] }] })]);
  assert.equal(verdict(block('10.0.0.0/24'), probe('ns1/client', 'ns1/server')), 'allow');
  assert.equal(verdict(block('10.0.0.0/24', ['10.0.0.2/32']), probe('ns1/client', 'ns1/server')), 'deny');
  assert.equal(verdict(block('10.0.0.0/24', ['10.0.0.2/32']), probe('ns1/other', 'ns1/server')), 'allow');
  assert.equal(verdict(block('10.0.0.0/30', ['10.0.0.0/31']), probe('ns1/other', 'ns1/server')), 'allow');
  assert.equal(verdict(block('10.0.0.0/31'), probe('ns1/other', 'ns1/server')), 'deny');
  assert.equal(verdict(block('fd00::/64'), probe('ns1/client', 'ns1/server', { family: 'ipv6' })), 'allow');
  assert.equal(verdict(block('fd00::/64'), probe('ns1/client', 'ns1/server')), 'deny');
  assert.equal(verdict(block('0.0.0.0/0'), probe('ns1/client', 'ns1/server', { family: 'ipv6' })), 'deny');
});

test('podSelector alone selects pods of the policy namespace only', () => {
  const c = cluster([policy('ns1/p', { podSelector: { matchLabels: { name: 'server' } }, ingress: [{ from: [{ podSelector: {} }] }] })]);
  assert.equal(verdict(c, probe('ns1/client', 'ns1/server')), 'allow');
  assert.equal(verdict(c, probe('ns2/remote', 'ns1/server')), 'deny');
  assert.equal(verdict(c, probe('external/gw', 'ns1/server')), 'deny', 'an external is no pod');
});

test('namespaceSelector alone selects all pods of matching namespaces; {} = every namespace', () => {
  const nsSel = (namespaceSelector: object) =>
    cluster([policy('ns1/p', { podSelector: { matchLabels: { name: 'server' } }, ingress: [{ from: [{ namespaceSelector }] }] })]);
  assert.equal(verdict(nsSel({ matchLabels: { team: 'b' } }), probe('ns2/remote', 'ns1/server')), 'allow');
  assert.equal(verdict(nsSel({ matchLabels: { team: 'b' } }), probe('ns1/client', 'ns1/server')), 'deny');
  assert.equal(verdict(nsSel({}), probe('ns1/client', 'ns1/server')), 'allow');
  assert.equal(verdict(nsSel({}), probe('ns2/remote', 'ns1/server')), 'allow');
  assert.equal(verdict(nsSel({ matchLabels: { 'kubernetes.io/metadata.name': 'ns2' } }), probe('ns2/remote', 'ns1/server')), 'allow', 'implied name label');
  assert.equal(verdict(nsSel({ matchLabels: { team: 'zzz' } }), probe('ns2/remote', 'ns1/server')), 'deny', 'matching no namespace allows nothing');
  assert.equal(verdict(nsSel({}), probe('external/gw', 'ns1/server')), 'deny');
});

test('podSelector and namespaceSelector together must both match', () => {
  const both = (podName: string, team: string) =>
    cluster([policy('ns1/p', { podSelector: { matchLabels: { name: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { name: podName } }, namespaceSelector: { matchLabels: { team } } }] }] })]);
  assert.equal(verdict(both('remote', 'b'), probe('ns2/remote', 'ns1/server')), 'allow');
  assert.equal(verdict(both('remote', 'a'), probe('ns2/remote', 'ns1/server')), 'deny');
  assert.equal(verdict(both('client', 'b'), probe('ns2/remote', 'ns1/server')), 'deny');
});

test('a selector peer matching no pod allows nothing, also with ports', () => {
  const c = cluster([policy('ns1/p', { podSelector: { matchLabels: { name: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { name: 'ghost' } } }], ports: [{ port: 80 }] }] })]);
  assert.equal(verdict(c, probe('ns1/client', 'ns1/server')), 'deny');
});

test('ports: protocol defaults to TCP, a protocol-only entry allows every port of it, endPort is inclusive', () => {
  const withPorts = (ports: PolicyPort[]) =>
    cluster([policy('ns1/p', { podSelector: { matchLabels: { name: 'server' } }, ingress: [{ ports }] })]);
  const to = (protocol: Probe['protocol'], port: number) => probe('ns1/client', 'ns1/server', { protocol, port });
  assert.equal(verdict(withPorts([{ port: 80 }]), to('TCP', 80)), 'allow');
  assert.equal(verdict(withPorts([{ port: 80 }]), to('UDP', 80)), 'deny', 'default protocol is TCP');
  assert.equal(verdict(withPorts([{ protocol: 'UDP' }]), to('UDP', 12345)), 'allow');
  assert.equal(verdict(withPorts([{ protocol: 'UDP' }]), to('TCP', 12345)), 'deny');
  assert.equal(verdict(withPorts([{ protocol: 'SCTP', port: 9 }]), to('SCTP', 9)), 'allow');
  const range = withPorts([{ port: 5000, endPort: 5900 }]);
  assert.equal(verdict(range, to('TCP', 4999)), 'deny');
  assert.equal(verdict(range, to('TCP', 5000)), 'allow');
  assert.equal(verdict(range, to('TCP', 5900)), 'allow');
  assert.equal(verdict(range, to('TCP', 5901)), 'deny');
});

test('a named port resolves against the destination pod: the target for ingress, the peer for egress', () => {
  const ingress = cluster([policy('ns1/p', { podSelector: { matchLabels: { name: 'server' } }, ingress: [{ ports: [{ port: 'http' }, { port: 'dns', protocol: 'UDP' }] }] })]);
  assert.equal(verdict(ingress, probe('ns1/client', 'ns1/server', { port: 8080 })), 'allow', "the server's http");
  assert.equal(verdict(ingress, probe('ns1/client', 'ns1/server', { port: 9090 })), 'deny', "the client's http is not the destination's");
  assert.equal(verdict(ingress, probe('ns1/client', 'ns1/server', { protocol: 'UDP', port: 53 })), 'allow');
  assert.equal(verdict(ingress, probe('ns1/client', 'ns1/server', { protocol: 'TCP', port: 53 })), 'deny', 'name and protocol must both match');

  const egress = cluster([policy('ns1/p', { podSelector: { matchLabels: { name: 'other' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })]);
  assert.equal(verdict(egress, probe('ns1/other', 'ns1/server', { port: 8080 })), 'allow');
  assert.equal(verdict(egress, probe('ns1/other', 'ns1/client', { port: 9090 })), 'allow');
  assert.equal(verdict(egress, probe('ns1/other', 'ns1/client', { port: 8080 })), 'deny');
  assert.equal(verdict(egress, probe('ns1/other', 'external/gw', { port: 8080 })), 'deny', 'an external has no named ports');
  const unresolved = cluster([policy('ns1/p', { podSelector: { matchLabels: { name: 'server' } }, ingress: [{ ports: [{ port: 'metrics' }] }] })]);
  assert.equal(verdict(unresolved, probe('ns1/client', 'ns1/server', { port: 8080 })), 'deny', 'unresolvable: matches nothing');
});

test('allow needs the source egress and the destination ingress; unenforced ends do not count', () => {
  const c = cluster([
    policy('ns1/e', { podSelector: { matchLabels: { name: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { name: 'server' } } }] }] }),
    policy('ns1/i', { podSelector: { matchLabels: { name: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { name: 'other' } } }] }] }),
  ]);
  assert.equal(verdict(c, probe('ns1/client', 'ns1/server')), 'deny', 'egress allows, ingress does not');
  assert.equal(verdict(c, probe('ns1/other', 'ns1/server')), 'allow');
  assert.equal(verdict(c, probe('ns1/client', 'ns1/other')), 'deny', 'egress does not allow');
  assert.equal(verdict(c, probe('external/gw', 'ns1/other')), 'allow', 'an external source has no egress here');
  assert.equal(verdict(c, probe('ns1/client', 'external/gw')), 'deny');
  assert.equal(verdict(c, probe('ns1/client', 'ns1/server'), 'node-b'), 'allow', 'nothing is enforced on another node');
});
