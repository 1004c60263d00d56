// fast-check arbitraries for small random clusters, valid MultiNetworkPolicies and probes,
// for property tests that compare the agent with the reference evaluator. Everything is
// drawn from tiny vocabularies so that selectors, blocks and ports actually hit things.
//
// Addressing: network n (1-based) is 10.n.0.0/24 and fd00:n::/64; pod i (0-based) is host
// i+1 on every network it joins, externals are hosts 9 and 10. ipBlocks are cut from these.
import fc from 'fast-check';
import {
  NETWORK_STATUS_ANNOTATION,
  POLICY_FOR_ANNOTATION,
  type ContainerPort,
  type EgressRule,
  type IngressRule,
  type L4Protocol,
  type LabelSelector,
  type LabelSelectorRequirement,
  type MultiNetworkPolicy,
  type Namespace,
  type NetworkAttachmentDefinition,
  type Pod,
  type PolicyPeer,
  type PolicyPort,
  type PolicyType,
} from '../../core/model/k8s.js';
import type { External, Family, Probe } from '../../core/model/probe.js';
import type { Cluster } from '../../core/model/snapshot.js';

export const NODE = 'node-a';
export const NAMESPACES = ['ns-a', 'ns-b', 'ns-c'] as const;
export const POD_LABEL_KEYS = ['app', 'tier'] as const;
export const LABEL_VALUES = ['x', 'y'] as const;
export const NS_LABEL_KEY = 'team';
export const NS_LABEL_VALUES = ['red', 'blue'] as const;
export const PORT_NAMES = ['http', 'dns', 'metrics'] as const;
export const PORTS = [53, 80, 443, 5555, 8080] as const;
export const PROTOCOLS: readonly L4Protocol[] = ['TCP', 'UDP', 'SCTP'];

export interface GeneratedWorld {
  readonly cluster: Cluster;
  readonly externals: readonly External[];
  readonly node: string;
  readonly probes: readonly Probe[];
}

interface Net {
  readonly index: number; // 1-based, picks the subnet
  readonly namespace: string;
  readonly name: string;
}
const netKey = (n: Net): string => `${n.namespace}/${n.name}`;

const v4 = (net: number, host: number): string => `10.${net}.0.${host}`;
const v6 = (net: number, host: number): string => `fd00:${net}::${host.toString(16)}`;

// ---- labels and selectors -------------------------------------------------------------

const podLabels = (): fc.Arbitrary<Record<string, string>> =>
  fc.record({ app: fc.constantFrom(...LABEL_VALUES), tier: fc.constantFrom(...LABEL_VALUES) }, { requiredKeys: [] });

function requirement(keys: readonly string[], values: readonly string[]): fc.Arbitrary<LabelSelectorRequirement> {
  return fc.oneof(
    fc.record({
      key: fc.constantFrom(...keys),
      operator: fc.constantFrom<'In' | 'NotIn'>('In', 'NotIn'),
      values: fc.subarray([...values], { minLength: 1 }),
    }),
    fc.record({ key: fc.constantFrom(...keys), operator: fc.constantFrom<'Exists' | 'DoesNotExist'>('Exists', 'DoesNotExist') }),
  );
}

function selector(keys: readonly string[], values: readonly string[]): fc.Arbitrary<LabelSelector> {
  const matchLabels = fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), { maxKeys: 2 });
  const general = fc.record({ matchLabels, matchExpressions: fc.array(requirement(keys, values), { maxLength: 2 }) }, { requiredKeys: [] });
  const oneLabel = fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...values)).map(([k, v]) => ({ matchLabels: { [k]: v } }));
  // Mostly wide selectors, so that policies select pods and peers match often enough.
  return fc.oneof({ arbitrary: fc.constant({}), weight: 2 }, { arbitrary: oneLabel, weight: 3 }, { arbitrary: general, weight: 3 });
}

const podSelector = (): fc.Arbitrary<LabelSelector> => selector(POD_LABEL_KEYS, LABEL_VALUES);

/** Namespace selectors use the team label and the implied name label. */
const namespaceSelector = (): fc.Arbitrary<LabelSelector> =>
  fc.oneof(
    selector([NS_LABEL_KEY], NS_LABEL_VALUES),
    fc.record({ matchLabels: fc.record({ 'kubernetes.io/metadata.name': fc.constantFrom(...NAMESPACES) }) }),
  );

// ---- peers --------------------------------------------------------------------------------

/** `host` masked to `prefix`, in the subnet of network `net`. Hosts are < 256, so only the last byte/group varies. */
function cidrOf(family: Family, net: number, host: number, prefix: number): string {
  if (family === 'ipv4') {
    const keep = prefix - 24; // bits of the last byte that stay
    const masked = keep <= 0 ? 0 : host & ((0xff << (8 - keep)) & 0xff);
    return `${v4(net, masked)}/${prefix}`;
  }
  const keep = prefix - 112; // bits of the last 16-bit group that stay
  const masked = keep <= 0 ? 0 : host & ((0xffff << (16 - keep)) & 0xffff);
  return masked === 0 ? `fd00:${net}::/${prefix}` : `${v6(net, masked)}/${prefix}`;
}

const V4_PREFIXES = [24, 28, 29, 30, 31, 32];
const V6_PREFIXES = [64, 120, 124, 126, 127, 128];

function ipBlock(netCount: number): fc.Arbitrary<PolicyPeer> {
  return fc
    .record({
      net: fc.integer({ min: 1, max: netCount }),
      family: fc.constantFrom<Family>('ipv4', 'ipv4', 'ipv6'),
      host: fc.integer({ min: 1, max: 10 }),
      prefixIndex: fc.nat({ max: V4_PREFIXES.length - 1 }),
      except: fc.option(fc.record({ host: fc.integer({ min: 1, max: 10 }), longer: fc.integer({ min: 1, max: 5 }) }), { nil: undefined }),
    })
    .map(({ net, family, host, prefixIndex, except }) => {
      const prefixes = family === 'ipv4' ? V4_PREFIXES : V6_PREFIXES;
      const prefix = prefixes[prefixIndex] as number;
      const cidr = cidrOf(family, net, host, prefix);
      const longerIndex = prefixIndex + (except?.longer ?? 0);
      if (except === undefined || longerIndex >= prefixes.length) return { ipBlock: { cidr } };
      // An except must lie strictly inside the cidr: use a host of the same block.
      const inside = cidrOf(family, net, except.host, prefix) === cidr ? except.host : host;
      return { ipBlock: { cidr, except: [cidrOf(family, net, inside, prefixes[longerIndex] as number)] } };
    });
}

function peer(netCount: number): fc.Arbitrary<PolicyPeer> {
  return fc.oneof(
    fc.record({ podSelector: podSelector() }),
    fc.record({ namespaceSelector: namespaceSelector() }),
    fc.record({ podSelector: podSelector(), namespaceSelector: namespaceSelector() }),
    ipBlock(netCount),
  );
}

// ---- ports --------------------------------------------------------------------------------

/** TCP-heavy, like the probes, so that port entries and probes meet. */
const weightedProtocol = (): fc.Arbitrary<L4Protocol> => fc.constantFrom<L4Protocol>('TCP', 'TCP', 'TCP', 'UDP', 'UDP', 'SCTP');

const protocolOpt = (): fc.Arbitrary<{ protocol?: L4Protocol }> =>
  fc.option(weightedProtocol(), { nil: undefined }).map((p) => (p === undefined ? {} : { protocol: p }));

function policyPort(): fc.Arbitrary<PolicyPort> {
  return fc.oneof(
    protocolOpt(), // protocol only, or nothing at all (all TCP ports)
    fc.tuple(protocolOpt(), fc.constantFrom(...PORTS)).map(([p, port]) => ({ ...p, port })),
    fc.tuple(protocolOpt(), fc.constantFrom(...PORTS), fc.constantFrom(0, 1, 400, 5000)).map(([p, port, width]) => ({ ...p, port, endPort: port + width })),
    fc.tuple(protocolOpt(), fc.constantFrom(...PORT_NAMES)).map(([p, port]) => ({ ...p, port })),
  );
}

// ---- rules and policies ---------------------------------------------------------------------

function rule(netCount: number): fc.Arbitrary<{ peers?: PolicyPeer[]; ports?: PolicyPort[] }> {
  return fc.record(
    { peers: fc.array(peer(netCount), { maxLength: 2 }), ports: fc.array(policyPort(), { maxLength: 2 }) },
    { requiredKeys: [] },
  );
}

const ingressRule = (netCount: number): fc.Arbitrary<IngressRule> =>
  rule(netCount).map((r) => ({ ...(r.peers ? { from: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) }));
const egressRule = (netCount: number): fc.Arbitrary<EgressRule> =>
  rule(netCount).map((r) => ({ ...(r.peers ? { to: r.peers } : {}), ...(r.ports ? { ports: r.ports } : {}) }));

const POLICY_TYPES: readonly (readonly PolicyType[])[] = [['Ingress'], ['Egress'], ['Ingress', 'Egress'], ['Egress', 'Ingress'], []];

/** The policy-for text: some networks, each bare or qualified, odd separators; or absent. */
function policyFor(namespace: string, nets: readonly Net[]): fc.Arbitrary<string | undefined> {
  const names = [...nets.map(netKey), ...nets.map(netKey), 'ns-a/missing'];
  const entry = fc.tuple(fc.constantFrom(...names), fc.boolean()).map(([key, bare]) => {
    const [ns, name] = key.split('/');
    return bare && ns === namespace ? (name as string) : key;
  });
  const text = fc
    .tuple(fc.array(entry, { minLength: 1, maxLength: 2 }), fc.constantFrom(',', ', ', ' , ', ',,'), fc.constantFrom('', ' ', ', '))
    .map(([entries, sep, edge]) => `${edge}${entries.join(sep)}${edge}`);
  return fc.option(text, { nil: undefined, freq: 8 });
}

function policy(index: number, nets: readonly Net[], namespaces: readonly string[]): fc.Arbitrary<MultiNetworkPolicy> {
  return fc.constantFrom(...namespaces).chain((namespace) =>
    fc
      .record({
        podSelector: podSelector(),
        policyTypes: fc.option(fc.constantFrom(...POLICY_TYPES), { nil: undefined }),
        ingress: fc.option(fc.array(ingressRule(nets.length), { maxLength: 2 }), { nil: undefined }),
        egress: fc.option(fc.array(egressRule(nets.length), { maxLength: 2 }), { nil: undefined }),
        policyFor: policyFor(namespace, nets),
      })
      .map(({ podSelector, policyTypes, ingress, egress, policyFor }): MultiNetworkPolicy => ({
        apiVersion: 'k8s.cni.cncf.io/v1beta1',
        kind: 'MultiNetworkPolicy',
        metadata: {
          namespace,
          name: `pol-${index}`,
          annotations: policyFor === undefined ? {} : { [POLICY_FOR_ANNOTATION]: policyFor },
        },
        spec: {
          podSelector,
          ...(policyTypes !== undefined ? { policyTypes: [...policyTypes] } : {}),
          ...(ingress !== undefined ? { ingress } : {}),
          ...(egress !== undefined ? { egress } : {}),
        },
      })),
  );
}

// ---- pods, externals, namespaces ------------------------------------------------------------

const containerPort = (): fc.Arbitrary<ContainerPort> =>
  fc
    .record({
      name: fc.option(fc.constantFrom(...PORT_NAMES), { nil: undefined }),
      containerPort: fc.constantFrom(...PORTS),
      protocol: fc.option(fc.constantFrom(...PROTOCOLS), { nil: undefined }),
    })
    .map((p) => ({ containerPort: p.containerPort, ...(p.name ? { name: p.name } : {}), ...(p.protocol ? { protocol: p.protocol } : {}) }));

function pod(index: number, nets: readonly Net[], namespaces: readonly string[]): fc.Arbitrary<Pod> {
  // Pods 0 and 1 are running locally on the first network, so every world has a probe.
  const anchored = index < 2;
  return fc
    .record({
      namespace: fc.constantFrom(...namespaces),
      labels: podLabels(),
      node: anchored ? fc.constant(NODE) : fc.constantFrom(NODE, NODE, NODE, 'NODE-A', 'node-b'),
      phase: anchored ? fc.constant('Running') : fc.constantFrom('Running', 'Running', 'Running', 'Pending', 'Succeeded'),
      hostNetwork: anchored ? fc.constant(false) : fc.constantFrom(false, false, false, true),
      ports: fc.uniqueArray(containerPort(), { maxLength: 3, selector: (p) => p.name ?? `${p.containerPort}/${p.protocol ?? 'TCP'}` }),
      joins: fc.array(fc.boolean(), { minLength: nets.length, maxLength: nets.length }),
      hasV6: fc.array(fc.boolean(), { minLength: nets.length, maxLength: nets.length }),
      bareNames: fc.boolean(),
    })
    .map(({ namespace, labels, node, phase, hostNetwork, ports, joins, hasV6, bareNames }) => {
      const status: { name: string; interface: string; ips: string[] }[] = [];
      nets.forEach((net, n) => {
        if (n > 0 && !joins[n]) return; // everyone joins the first network
        const ips = [v4(net.index, index + 1), ...(hasV6[n] ? [v6(net.index, index + 1)] : [])];
        const name = bareNames && net.namespace === namespace ? net.name : netKey(net);
        status.push({ name, interface: `net${status.length + 1}`, ips });
      });
      return {
        kind: 'Pod' as const,
        metadata: {
          namespace,
          name: `pod-${index}`,
          uid: `uid-${index}`,
          labels,
          annotations: { [NETWORK_STATUS_ANNOTATION]: JSON.stringify(status) },
        },
        spec: { nodeName: node, hostNetwork, containers: [{ name: 'main', ports }] },
        status: { phase },
      };
    });
}

function external(index: number, nets: readonly Net[]): fc.Arbitrary<External> {
  return fc.record({ net: fc.constantFrom(...nets), withV6: fc.boolean() }).map(({ net, withV6 }) => ({
    name: `ext-${index}`,
    network: netKey(net),
    ips: [v4(net.index, 9 + index), ...(withV6 ? [v6(net.index, 9 + index)] : [])],
  }));
}

const namespaceObject = (name: string): fc.Arbitrary<Namespace> =>
  fc.option(fc.constantFrom(...NS_LABEL_VALUES), { nil: undefined }).map((team): Namespace => ({
    kind: 'Namespace',
    metadata: { name, labels: team === undefined ? {} : { [NS_LABEL_KEY]: team } },
  }));

const nadObject = (net: Net): NetworkAttachmentDefinition => ({
  kind: 'NetworkAttachmentDefinition',
  metadata: { namespace: net.namespace, name: net.name },
  spec: { config: JSON.stringify({ cniVersion: '0.4.0', name: net.name, type: 'accelerated-bridge' }) },
});

// ---- probes ---------------------------------------------------------------------------------

interface Candidate {
  readonly from: string;
  readonly to: string;
  readonly network: string;
  readonly family: Family;
}

function addressesOn(pod: Pod, network: string): string[] {
  const status = JSON.parse(pod.metadata.annotations?.[NETWORK_STATUS_ANNOTATION] ?? '[]') as { name: string; ips: string[] }[];
  const ips: string[] = [];
  for (const s of status) {
    const key = s.name.includes('/') ? s.name : `${pod.metadata.namespace}/${s.name}`;
    if (key === network) ips.push(...s.ips);
  }
  return ips;
}

/** Every (from, to, network, family) where both ends have an address and one end is a local pod. */
function candidates(pods: readonly Pod[], externals: readonly External[], nets: readonly Net[]): Candidate[] {
  const ends: { ref: string; local: boolean; ips: (network: string) => string[] }[] = [
    ...pods.map((p) => ({
      ref: `${p.metadata.namespace}/${p.metadata.name}`,
      local: (p.spec.nodeName ?? '').toLowerCase() === NODE,
      ips: (network: string) => addressesOn(p, network),
    })),
    ...externals.map((e) => ({ ref: `external/${e.name}`, local: false, ips: (network: string) => (e.network === network ? [...e.ips] : []) })),
  ];
  const out: Candidate[] = [];
  for (const from of ends) {
    for (const to of ends) {
      if (from === to || (!from.local && !to.local)) continue;
      for (const net of nets) {
        for (const family of ['ipv4', 'ipv6'] as const) {
          const has = (ips: string[]) => ips.some((ip) => ip.includes(':') === (family === 'ipv6'));
          if (has(from.ips(netKey(net))) && has(to.ips(netKey(net)))) out.push({ from: from.ref, to: to.ref, network: netKey(net), family });
        }
      }
    }
  }
  return out;
}

function probes(list: readonly Candidate[]): fc.Arbitrary<Probe[]> {
  const probePort = fc.constantFrom(...PORTS, 6000);
  return fc.array(
    fc.record({ c: fc.constantFrom(...list), protocol: weightedProtocol(), port: probePort }).map(({ c, protocol, port }) => ({ ...c, protocol, port })),
    { minLength: 1, maxLength: 8 },
  );
}

// ---- the world --------------------------------------------------------------------------------

/** A cluster of 2-3 namespaces, 1-2 networks, 3-6 pods, 0-2 externals, 1-5 policies, and 1-8 probes. */
export function clusterWithProbes(): fc.Arbitrary<GeneratedWorld> {
  return fc
    .record({ nsCount: fc.integer({ min: 2, max: 3 }), netCount: fc.integer({ min: 1, max: 2 }), podCount: fc.integer({ min: 3, max: 6 }) })
    .chain(({ nsCount, netCount, podCount }) => {
      const namespaces = NAMESPACES.slice(0, nsCount);
      // net1 lives in ns-a, net2 in ns-b, so policy-for sees both bare and qualified names.
      const nets: Net[] = [{ index: 1, namespace: 'ns-a', name: 'net1' }];
      if (netCount > 1) nets.push({ index: 2, namespace: 'ns-b', name: 'net2' });
      return fc.record({
        namespaces: fc.tuple(...namespaces.map(namespaceObject)),
        pods: fc.tuple(...Array.from({ length: podCount }, (_, i) => pod(i, nets, namespaces))),
        externals: fc.integer({ min: 0, max: 2 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => external(i, nets)))),
        policies: fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => policy(i, nets, namespaces)))),
        nets: fc.constant(nets),
      });
    })
    .chain(({ namespaces, pods, externals, policies, nets }) =>
      probes(candidates(pods, externals, nets)).map((list) => ({
        cluster: { namespaces, pods, networks: nets.map(nadObject), policies, invalidPolicies: [] },
        externals,
        node: NODE,
        probes: list,
      })),
    );
}
