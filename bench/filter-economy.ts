// Filter economy: filters and (chain, pref) pairs our compiler installs for reference
// policies, beside what upstream's layout needs for the same policy (bench/upstream-layout.ts),
// and beside a proposal that would cut more (port chains whenever they save filters, below).
// Run: node --import tsx bench/filter-economy.ts [--json]
import { NETWORK_STATUS_ANNOTATION, type MultiNetworkPolicy, type Pod } from '../core/model/k8s.js';
import type { Cluster } from '../core/model/snapshot.js';
import type { TcFilter } from '../core/model/tc.js';
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
}

export interface EconomyRow {
  readonly title: string;
  readonly ours: Count;
  /** The same program had every shared port set its own chain when that saves filters (a proposal). */
  readonly portChained: Count;
  readonly upstream: Count;
}

const tables = (fs: readonly TcFilter[]): number => new Set(fs.map((f) => `${f.hook}/${f.chain}/${f.pref}`)).size;

/**
 * What compile would emit if a group of address atoms that share a port set always jumped to
 * a port chain when that saves filters (compile only does so when it also saves hardware
 * tables, FILTERS_PER_TABLE). Computed from the compiled program: verdict-chain allow
 * filters that carry ports are grouped by address atom; atoms with equal port sets would
 * keep one `goto` each, and the chain holds each port once per protocol variant plus a drop.
 */
export function portChainedCount(filters: readonly TcFilter[]): Count {
  const portOf = (f: TcFilter): string | undefined => (f.match.ipProto !== undefined && f.match.icmpType === undefined ? `${f.match.ipProto}:${f.match.dstPort ? `${f.match.dstPort.start}-${f.match.dstPort.end}` : '*'}` : undefined);
  const variantOf = (f: TcFilter): string => `${f.protocol}/${f.match.vlanEthType ?? ''}/${f.match.cvlanEthType ?? ''}`;
  const atoms = new Map<string, { hook: string; variant: string; pref: number; ports: Set<string> }>();
  for (const f of filters) {
    if (f.chain !== 10000 || portOf(f) === undefined || f.actions.some((a) => a.kind === 'goto' || a.kind === 'drop')) continue;
    const key = `${f.hook}|${variantOf(f)}|${f.match.ctState ?? ''}|${f.match.srcIp ?? ''}|${f.match.dstIp ?? ''}`;
    const a = atoms.get(key) ?? { hook: f.hook, variant: variantOf(f), pref: f.pref, ports: new Set<string>() };
    a.ports.add(portOf(f)!);
    atoms.set(key, a);
  }
  const groups = new Map<string, { atoms: number; variants: Set<string>; prefs: Set<number>; ports: number }>();
  for (const a of atoms.values()) {
    const k = `${a.hook}|${[...a.ports].sort().join(',')}`;
    const g = groups.get(k) ?? { atoms: 0, variants: new Set<string>(), prefs: new Set<number>(), ports: a.ports.size };
    g.atoms++;
    g.variants.add(a.variant);
    g.prefs.add(a.pref);
    groups.set(k, g);
  }
  let saved = 0;
  let newTables = 0;
  for (const g of groups.values()) {
    const inline = g.atoms * g.ports;
    const factored = g.atoms + g.variants.size * g.ports + 1;
    if (factored < inline) {
      saved += inline - factored;
      newTables += g.prefs.size + 1;
    }
  }
  return { filters: filters.length - saved, prefs: tables(filters) + newTables };
}

export async function filterEconomy(opts: NodeOptions = DEFAULT_NODE_OPTIONS): Promise<EconomyRow[]> {
  const adapters = await builtinAdapters(['accelerated-bridge']);
  return REFERENCE_POLICIES.map(({ title, policies }) => {
    const cluster: Cluster = {
      namespaces: ['app', 'default', ...TEAM_NS].map((name) => ({ metadata: { name } })),
      networks: [{ metadata: { namespace: 'default', name: 'net1' }, spec: { config: '{"type":"accelerated-bridge"}' } }],
      pods: PODS,
      policies,
      invalidPolicies: [],
    };
    const prog = programNode(cluster, 'node-a', adapters, opts).programs.find((x) => x.endpoint.pod.name === 'target')!;
    const filters = prog.compiled.filters;
    const upstream = upstreamLayoutOf(policies, (peer) => {
      const namespaces = peer.namespaceSelector ? ['app', ...TEAM_NS].filter((ns) => selects(peer.namespaceSelector!, { 'kubernetes.io/metadata.name': ns })) : ['app'];
      const matched = PODS.filter((x) => namespaces.includes(x.metadata.namespace) && (!peer.podSelector || selects(peer.podSelector, x.metadata.labels ?? {})));
      const ips = matched.flatMap((x) => (JSON.parse(x.metadata.annotations![NETWORK_STATUS_ANNOTATION]!) as { ips: string[] }[])[0]!.ips);
      return { v4: ips.filter((i) => !i.includes(':')).length, v6: ips.filter((i) => i.includes(':')).length };
    });
    return { title, ours: { filters: filters.length, prefs: tables(filters) }, portChained: portChainedCount(filters), upstream };
  });
}

export const ECONOMY_SETTINGS: readonly { readonly label: string; readonly opts: NodeOptions }[] = [
  { label: 'default: stateful, encapsulations auto (network without a VLAN trunk: untagged policed, tagged dropped)', opts: DEFAULT_NODE_OPTIONS },
  { label: "stateful, untagged + 802.1Q policed (upstream's coverage; auto on a trunked network)", opts: { ...DEFAULT_NODE_OPTIONS, encapsulations: ['untagged', '802.1Q'] } },
  { label: 'stateful, untagged + 802.1Q + QinQ policed', opts: { ...DEFAULT_NODE_OPTIONS, encapsulations: ['untagged', '802.1Q', '802.1ad'] } },
];

export function economyTable(rows: readonly EconomyRow[]): string {
  const r2 = (x: number): string => x.toFixed(2);
  const lines = [
    '| policy | ours filters | upstream filters | ratio | ours chain/pref pairs | upstream prefs | with port chains: filters | ratio | chain/pref pairs |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.title} | ${r.ours.filters} | ${r.upstream.filters} | ${r2(r.ours.filters / r.upstream.filters)} | ${r.ours.prefs} | ${r.upstream.prefs} | ${r.portChained.filters} | ${r2(r.portChained.filters / r.upstream.filters)} | ${r.portChained.prefs} |`);
  }
  const sum = (f: (r: EconomyRow) => number): number => rows.reduce((n, r) => n + f(r), 0);
  lines.push(`| **all reference policies** | **${sum((r) => r.ours.filters)}** | **${sum((r) => r.upstream.filters)}** | **${r2(sum((r) => r.ours.filters) / sum((r) => r.upstream.filters))}** | ${sum((r) => r.ours.prefs)} | ${sum((r) => r.upstream.prefs)} | **${sum((r) => r.portChained.filters)}** | **${r2(sum((r) => r.portChained.filters) / sum((r) => r.upstream.filters))}** | ${sum((r) => r.portChained.prefs)} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = [];
  for (const s of ECONOMY_SETTINGS) results.push({ label: s.label, rows: await filterEconomy(s.opts) });
  if (process.argv.includes('--json')) console.log(JSON.stringify(results));
  else for (const r of results) console.log(`\n${r.label}\n${economyTable(r.rows)}`);
}
