// Filter economy: filters and (chain, pref) pairs our compiler installs for reference
// policies, beside what upstream's layout needs for the same policy (bench/upstream-layout.ts).
// Each count is split into what any policy costs (ours: ARP, conntrack, replies, neighbour
// discovery, catch-all drops, commits; upstream: its default drops) and what carries the policy.
// Run: node --import tsx bench/filter-economy.ts [--json]
import { NETWORK_STATUS_ANNOTATION, type MultiNetworkPolicy, type Pod } from '../core/model/k8s.js';
import type { Cluster } from '../core/model/snapshot.js';
import type { TcFilter } from '../core/model/tc.js';
import { REPLY_STATE } from '../core/pipeline/compile.js';
import { DEFAULT_NODE_OPTIONS, programNode, type NodeOptions } from '../core/pipeline/program-node.js';
import { selects } from '../core/pipeline/labels.js';
import { builtinAdapters } from '../test/fixtures/offline-adapters.js';
import { upstreamLayoutOf } from './upstream-layout.js';

const NET = 'default/net1';

function pod(ns: string, name: string, ips: string[], labels: Record<string, string>, node = 'node-a'): Pod {
  const status = [{ name: NET, interface: 'net1', ips, 'device-info': { type: 'pci', pci: { 'pci-address': '0000:03:00.2', 'representor-device': `r-${name}`.slice(0, 15) } } }];
  return { metadata: { namespace: ns, name, uid: `${ns}-${name}`, labels, annotations: { [NETWORK_STATUS_ANNOTATION]: JSON.stringify(status) } }, spec: { nodeName: node }, status: { phase: 'Running' } };
}

// the target, 8 dual-stack clients in its namespace, and 4 team namespaces of 10 pods each
// (half of them frontends) whose addresses are spread over a /16, as an IPAM hands them out
const target = pod('app', 'target', ['10.0.0.5', 'fd00::5'], { role: 'server' });
const clients = Array.from({ length: 8 }, (_, i) => pod('app', `client-${i}`, [`10.0.1.${10 + i}`, `fd00:1::${(10 + i).toString(16)}`], { role: 'client' }, 'node-b'));
const TEAM_NS = ['team-1', 'team-2', 'team-3', 'team-4'];
const teamPods = TEAM_NS.flatMap((ns, n) => Array.from({ length: 10 }, (_, i) => pod(ns, `web-${i}`, [`10.0.${16 + 7 * n + (i % 3)}.${20 + 13 * i}`], { tier: i % 2 ? 'frontend' : 'backend' }, 'node-c')));
const PODS = [target, ...clients, ...teamPods];

const policy = (name: string, spec: MultiNetworkPolicy['spec']): MultiNetworkPolicy => ({
  apiVersion: 'k8s.cni.cncf.io/v1beta1',
  kind: 'MultiNetworkPolicy',
  metadata: { namespace: 'app', name, annotations: { 'k8s.v1.cni.cncf.io/policy-for': NET } },
  spec,
});

export interface Reference {
  readonly title: string;
  /** Every policy here applies to the target pod. */
  readonly policies: readonly MultiNetworkPolicy[];
}

export const REFERENCE_POLICIES: readonly Reference[] = [
  {
    title: 'upstream worked example: egress TCP 6666 to 10.17.0.0/16 except 10.17.0.0/24',
    policies: [policy('worked', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'TCP', port: 6666 }], to: [{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/24'] } }] }] })],
  },
  {
    title: 'ingress from 8 dual-stack client pods on 3 TCP ports',
    policies: [policy('clients', { podSelector: { matchLabels: { role: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 80 }, { port: 443 }, { port: 8443 }] }] })],
  },
  {
    title: 'both directions: ingress from 8 clients on 2 ports, egress to 3 CIDRs on DNS and HTTPS',
    policies: [
      policy('both', {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 80 }, { port: 443 }] }],
        egress: [{ to: [{ ipBlock: { cidr: '10.96.0.0/16' } }, { ipBlock: { cidr: '192.168.0.0/24' } }, { ipBlock: { cidr: 'fd00:96::/64' } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }, { protocol: 'TCP', port: 443 }] }],
      }),
    ],
  },
  {
    title: 'ingress TCP 5000-5900 from anywhere (port range)',
    policies: [policy('range', { podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP', port: 5000, endPort: 5900 }] }] })],
  },
  {
    title: 'default deny, both directions',
    policies: [policy('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
  },
  {
    title: 'ingress from the frontends of 4 team namespaces (20 pods) on 2 TCP ports',
    policies: [policy('teams', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: TEAM_NS }] }, podSelector: { matchLabels: { tier: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 8080 }, { protocol: 'TCP', port: 8443 }] }] })],
  },
  {
    title: 'egress to 5 ipBlocks (2 with except) on TCP 443',
    policies: [
      policy('blocks', {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '172.16.0.0/12', except: ['172.16.5.0/24'] } }, { ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }, { ipBlock: { cidr: '203.0.113.0/24' } }, { ipBlock: { cidr: '198.51.100.0/24' } }, { ipBlock: { cidr: '100.64.0.0/10' } }], ports: [{ protocol: 'TCP', port: 443 }] }],
      }),
    ],
  },
  {
    title: 'three policies on one pod: default deny, ingress from clients on 8080, egress DNS to one server',
    policies: [
      policy('p1-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
      policy('p2-web', { podSelector: { matchLabels: { role: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }] }),
      policy('p3-dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.96.0.10/32' } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }] }),
    ],
  },
];

export interface Count {
  readonly filters: number;
  /** (hook, chain, pref) tables. */
  readonly prefs: number;
  /** Of `filters`, those any policy costs, whatever it allows. */
  readonly fixed: number;
}

export interface EconomyRow {
  readonly title: string;
  readonly ours: Count;
  readonly upstream: Count;
}

const tables = (fs: readonly TcFilter[]): number => new Set(fs.map((f) => `${f.hook}/${f.chain}/${f.pref}`)).size;

/**
 * Filters that do not depend on what the policy allows: the entry chain (ARP, neighbour
 * discovery, the conntrack dispatch or the drop of a sealed hook, an open hook's commits),
 * replies and neighbour discovery in the verdict chain, and catch-all drops.
 */
export function isFixed(f: TcFilter): boolean {
  if (f.chain === 0) return true;
  if (f.match.ctState === REPLY_STATE || f.match.icmpType !== undefined) return true;
  return f.protocol === 'all' && Object.keys(f.match).length === 0;
}

/** The cluster of a reference policy: the target alone on node-a, every peer elsewhere. */
export function referenceCluster(policies: readonly MultiNetworkPolicy[]): Cluster {
  return {
    namespaces: ['app', 'default', ...TEAM_NS].map((name) => ({ metadata: { name } })),
    networks: [{ metadata: { namespace: 'default', name: 'net1' }, spec: { config: '{"type":"accelerated-bridge"}' } }],
    pods: PODS,
    policies: [...policies],
    invalidPolicies: [],
  };
}

/** The target's compiled program for every reference policy, with upstream's count beside it. */
export async function referencePrograms(opts: NodeOptions = DEFAULT_NODE_OPTIONS): Promise<{ title: string; filters: readonly TcFilter[]; upstream: Count }[]> {
  const adapters = await builtinAdapters(['accelerated-bridge']);
  return REFERENCE_POLICIES.map(({ title, policies }) => {
    const cluster = referenceCluster(policies);
    const prog = programNode(cluster, 'node-a', adapters, opts).programs.find((x) => x.endpoint.pod.name === 'target')!;
    const upstream = upstreamLayoutOf(policies, (peer) => {
      const namespaces = peer.namespaceSelector ? ['app', ...TEAM_NS].filter((ns) => selects(peer.namespaceSelector!, { 'kubernetes.io/metadata.name': ns })) : ['app'];
      const matched = PODS.filter((x) => namespaces.includes(x.metadata.namespace) && (!peer.podSelector || selects(peer.podSelector, x.metadata.labels ?? {})));
      const ips = matched.flatMap((x) => (JSON.parse(x.metadata.annotations![NETWORK_STATUS_ANNOTATION]!) as { ips: string[] }[])[0]!.ips);
      return { v4: ips.filter((i) => !i.includes(':')).length, v6: ips.filter((i) => i.includes(':')).length };
    });
    return { title, filters: prog.compiled.filters, upstream };
  });
}

export async function filterEconomy(opts: NodeOptions = DEFAULT_NODE_OPTIONS): Promise<EconomyRow[]> {
  return (await referencePrograms(opts)).map(({ title, filters, upstream }) => ({ title, ours: { filters: filters.length, prefs: tables(filters), fixed: filters.filter(isFixed).length }, upstream }));
}

export const ECONOMY_SETTINGS: readonly { readonly label: string; readonly opts: NodeOptions }[] = [
  { label: 'default: stateful, encapsulations auto (network without a VLAN trunk: untagged policed, tagged dropped)', opts: DEFAULT_NODE_OPTIONS },
  { label: "stateful, untagged + 802.1Q policed (upstream's coverage; auto on a trunked network)", opts: { ...DEFAULT_NODE_OPTIONS, encapsulations: ['untagged', '802.1Q'] } },
  { label: 'stateful, untagged + 802.1Q + QinQ policed', opts: { ...DEFAULT_NODE_OPTIONS, encapsulations: ['untagged', '802.1Q', '802.1ad'] } },
];

export function economyTable(rows: readonly EconomyRow[]): string {
  const r2 = (x: number): string => x.toFixed(2);
  const parts = (c: Count): string => `${c.filters} (${c.fixed} + ${c.filters - c.fixed})`;
  const policyRatio = (o: Count, u: Count): string => (u.filters - u.fixed === 0 ? '-' : r2((o.filters - o.fixed) / (u.filters - u.fixed)));
  const lines = [
    '| policy | ours: filters (fixed + policy) | upstream: filters (default drops + policy) | ratio | policy filters only: ratio | ours chain/pref pairs | upstream prefs |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) lines.push(`| ${r.title} | ${parts(r.ours)} | ${parts(r.upstream)} | ${r2(r.ours.filters / r.upstream.filters)} | ${policyRatio(r.ours, r.upstream)} | ${r.ours.prefs} | ${r.upstream.prefs} |`);
  const sum = (pick: (r: EconomyRow) => Count): Count => rows.reduce((a, r) => ({ filters: a.filters + pick(r).filters, prefs: a.prefs + pick(r).prefs, fixed: a.fixed + pick(r).fixed }), { filters: 0, prefs: 0, fixed: 0 });
  const o = sum((r) => r.ours);
  const u = sum((r) => r.upstream);
  lines.push(`| **all reference policies** | **${parts(o)}** | **${parts(u)}** | **${r2(o.filters / u.filters)}** | **${policyRatio(o, u)}** | ${o.prefs} | ${u.prefs} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = [];
  for (const s of ECONOMY_SETTINGS) results.push({ label: s.label, rows: await filterEconomy(s.opts) });
  if (process.argv.includes('--json')) console.log(JSON.stringify(results));
  else for (const r of results) console.log(`\n${r.label}\n${economyTable(r.rows)}`);
}
