// render: Kubernetes NetworkPolicy semantics for one endpoint. Output per direction is
// null (open) or the union of grants of every applicable policy. Pure.
//
// Fail-closed rules: an invalid policy still isolates what it may select but allows
// nothing; a named port that cannot be resolved, or a selector peer that matches no pod,
// allows nothing; nothing we cannot express is ever widened.
import type { Endpoint } from '../model/attachment.js';
import { canonicalCidr, contains, formatNet, parseCidr, subtract, type Net } from '../model/cidr.js';
import type { PolicyPeer, PolicyPort, PolicyType } from '../model/k8s.js';
import type { Diagnostic, DirectionRules, Grant, PortSpec, RuleSet } from '../model/rules.js';
import type { ClusterIndex, IndexedPod, IndexedPolicy, PodAddress } from './cluster-index.js';
import { selects } from './labels.js';

const ALL_ADDRESSES = ['0.0.0.0/0', '::/0'];

export function render(ep: Endpoint, index: ClusterIndex): RuleSet {
  const diagnostics: Diagnostic[] = [];
  const target = index.podsByNamespace.get(ep.pod.namespace)?.find((p) => p.pod.metadata.name === ep.pod.name);
  const applicable = (index.policiesByNamespace.get(ep.pod.namespace) ?? []).filter(
    (pol) => pol.networks.has(ep.attachment.network) && (pol.podSelector === undefined || selects(pol.podSelector, target?.labels ?? {})),
  );
  for (const pol of applicable) {
    if (pol.invalid) {
      diagnostics.push({
        severity: 'error',
        id: 'policy-invalid',
        policy: pol.key,
        field: pol.invalid.field,
        detail: `${pol.invalid.problem}; it isolates ${pol.types.join(' and ')} and allows nothing`,
      });
    }
  }
  const direction = (type: PolicyType): DirectionRules | null => {
    const isolating = applicable.filter((pol) => pol.types.includes(type));
    if (isolating.length === 0) return null;
    const grants: Grant[] = [];
    for (const pol of isolating) {
      const rules = type === 'Ingress' ? pol.valid?.spec.ingress : pol.valid?.spec.egress;
      (rules ?? []).forEach((rule, i) => {
        const peers = type === 'Ingress' ? (rule as { from?: readonly PolicyPeer[] }).from : (rule as { to?: readonly PolicyPeer[] }).to;
        grants.push(...ruleGrants({ pol, ruleIndex: i, type, peers, ports: rule.ports, ep, target, index, diagnostics }));
      });
    }
    return { policies: isolating.map((p) => p.key), grants };
  };
  return {
    endpoint: ep.key,
    network: ep.attachment.network,
    ingress: direction('Ingress'),
    egress: direction('Egress'),
    diagnostics,
  };
}

interface RuleInput {
  readonly pol: IndexedPolicy;
  readonly ruleIndex: number;
  readonly type: PolicyType;
  readonly peers: readonly PolicyPeer[] | undefined;
  readonly ports: readonly PolicyPort[] | undefined;
  readonly ep: Endpoint;
  readonly target: IndexedPod | undefined;
  readonly index: ClusterIndex;
  readonly diagnostics: Diagnostic[];
}

type PeerSet = { readonly kind: 'all' } | { readonly kind: 'cidrs'; readonly cidrs: readonly string[] } | { readonly kind: 'pods'; readonly pods: readonly PodAddress[] };

function ruleGrants(r: RuleInput): Grant[] {
  const field = `spec.${r.type === 'Ingress' ? 'ingress' : 'egress'}[${r.ruleIndex}]`;
  const peerSets: PeerSet[] = !r.peers || r.peers.length === 0 ? [{ kind: 'all' }] : r.peers.map((p) => peerSet(p, r));
  const numeric = (r.ports ?? []).filter((p) => typeof p.port !== 'string');
  const named = (r.ports ?? []).filter((p): p is PolicyPort & { port: string } => typeof p.port === 'string');
  const base = { policy: r.pol.key, rule: r.ruleIndex };
  const grants: Grant[] = [];

  const cidrsOf = (ps: PeerSet): string[] =>
    ps.kind === 'all' ? ALL_ADDRESSES : ps.kind === 'cidrs' ? [...ps.cidrs] : ps.pods.flatMap((a) => a.ips.map(hostCidr));
  const allPeers = [...new Set(peerSets.flatMap(cidrsOf))].filter((c) => c !== '');

  if (!r.ports || r.ports.length === 0) {
    if (allPeers.length > 0) grants.push({ ...base, peers: allPeers, ports: 'all' });
    return grants;
  }
  const numericSpecs = numeric.map(toPortSpec);
  if (r.type === 'Ingress') {
    // the destination is the target pod itself: one resolution for every peer
    const resolved = named.flatMap((p) => resolveNamed(p, r.target?.containerPorts ?? []));
    for (const p of named) {
      if (resolveNamed(p, r.target?.containerPorts ?? []).length === 0) {
        r.diagnostics.push({ severity: 'warning', id: 'named-port-unresolved', policy: r.pol.key, field: `${field}.ports`, detail: `named port '${p.port}' (${p.protocol ?? 'TCP'}) is not a containerPort of ${r.ep.pod.namespace}/${r.ep.pod.name}; it allows nothing` });
      }
    }
    const ports = dedupePorts([...numericSpecs, ...resolved]);
    if (allPeers.length > 0 && ports.length > 0) grants.push({ ...base, peers: allPeers, ports });
    return grants;
  }
  // Egress: numeric ports apply to every peer; a named port is resolved against each
  // destination pod, so it only ever allows traffic to pods (an ipBlock peer contributes the
  // pods whose address lies in it; other addresses cannot have a named port).
  if (numericSpecs.length > 0 && allPeers.length > 0) grants.push({ ...base, peers: allPeers, ports: dedupePorts(numericSpecs) });
  if (named.length > 0) {
    // the pods a named port can resolve on, with the addresses by which they are peers:
    // selected pods, every pod for "all peers", and pods whose address lies in an ipBlock
    const podPeers = new Map<string, { pod: PodAddress['pod']; ips: Set<string> }>();
    const add = (a: PodAddress, ips: readonly string[]) => {
      const cur = podPeers.get(a.pod.key) ?? { pod: a.pod, ips: new Set<string>() };
      for (const ip of ips) cur.ips.add(ip);
      podPeers.set(a.pod.key, cur);
    };
    const onNetwork = r.index.addressesByNetwork.get(r.ep.attachment.network) ?? [];
    for (const ps of peerSets) {
      if (ps.kind === 'pods') for (const a of ps.pods) add(a, a.ips);
      else if (ps.kind === 'all') for (const a of onNetwork) add(a, a.ips);
      else {
        const nets = ps.cidrs.map(parseCidr).filter((n): n is Net => n !== undefined);
        for (const a of onNetwork) {
          const inside = a.ips.filter((ip) => {
            const h = parseCidr(ip);
            return h !== undefined && nets.some((n) => contains(n, h));
          });
          if (inside.length > 0) add(a, inside);
        }
      }
    }
    for (const [, { pod, ips }] of [...podPeers].sort(([x], [y]) => (x < y ? -1 : 1))) {
      const ports = dedupePorts(named.flatMap((p) => resolveNamed(p, pod.containerPorts)));
      if (ports.length > 0) grants.push({ ...base, peers: [...ips].map(hostCidr).sort(), ports });
    }
  }
  return grants;
}

function peerSet(peer: PolicyPeer, r: RuleInput): PeerSet {
  if (peer.ipBlock) {
    const net = parseCidr(peer.ipBlock.cidr);
    if (!net) return { kind: 'cidrs', cidrs: [] };
    const holes = (peer.ipBlock.except ?? []).map(parseCidr).filter((n): n is Net => n !== undefined);
    return { kind: 'cidrs', cidrs: subtract(net, holes).map(formatNet) };
  }
  const namespaces = peer.namespaceSelector
    ? [...r.index.namespaceLabels].filter(([, labels]) => selects(peer.namespaceSelector!, labels)).map(([ns]) => ns)
    : [r.pol.namespace];
  const nsSet = new Set(namespaces);
  const pods = (r.index.addressesByNetwork.get(r.ep.attachment.network) ?? []).filter(
    (a) => nsSet.has(a.pod.pod.metadata.namespace) && (!peer.podSelector || selects(peer.podSelector, a.pod.labels)),
  );
  return { kind: 'pods', pods };
}

const hostCidr = (ip: string): string => canonicalCidr(ip) ?? '';

function toPortSpec(p: PolicyPort): PortSpec {
  const protocol = p.protocol ?? 'TCP';
  if (p.port === undefined) return { protocol };
  const start = p.port as number;
  return { protocol, start, end: p.endPort ?? start };
}

function resolveNamed(p: PolicyPort & { port: string }, containerPorts: IndexedPod['containerPorts']): PortSpec[] {
  const protocol = p.protocol ?? 'TCP';
  return containerPorts
    .filter((c) => c.name === p.port && (c.protocol ?? 'TCP') === protocol)
    .map((c) => ({ protocol, start: c.containerPort, end: c.containerPort }));
}

function dedupePorts(ports: readonly PortSpec[]): PortSpec[] {
  const seen = new Map<string, PortSpec>();
  for (const p of ports) seen.set(`${p.protocol}:${p.start ?? ''}-${p.end ?? ''}`, p);
  return [...seen.values()];
}
