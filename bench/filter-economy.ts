// Filter economy: filters and (chain, pref) pairs our compiler installs for reference
// policies, beside what upstream's layout needs for the same policy (bench/upstream-layout.ts).
// Run: node --import tsx bench/filter-economy.ts
import { NETWORK_STATUS_ANNOTATION, type MultiNetworkPolicy, type Pod } from '../core/model/k8s.js';
import type { Cluster } from '../core/model/snapshot.js';
import { DEFAULT_NODE_OPTIONS, programNode, type NodeOptions } from '../core/pipeline/program-node.js';
import { selects } from '../core/pipeline/labels.js';
import { builtinAdapters } from '../test/fixtures/offline-adapters.js';
import { upstreamLayout } from './upstream-layout.js';

const NET = 'default/net1';

function pod(name: string, ips: string[], labels: Record<string, string>, node = 'node-a'): Pod {
  const status = [{ name: NET, interface: 'net1', ips, 'device-info': { type: 'pci', pci: { 'pci-address': '0000:03:00.2', 'representor-device': `r-${name}`.slice(0, 15) } } }];
  return { metadata: { namespace: 'app', name, uid: name, labels, annotations: { [NETWORK_STATUS_ANNOTATION]: JSON.stringify(status) } }, spec: { nodeName: node }, status: { phase: 'Running' } };
}

const clients = Array.from({ length: 8 }, (_, i) => pod(`client-${i}`, [`10.0.1.${10 + i}`, `fd00:1::${(10 + i).toString(16)}`], { role: 'client' }, 'node-b'));
const target = pod('target', ['10.0.0.5', 'fd00::5'], { role: 'server' });

const policy = (name: string, spec: MultiNetworkPolicy['spec']): MultiNetworkPolicy => ({
  apiVersion: 'k8s.cni.cncf.io/v1beta1',
  kind: 'MultiNetworkPolicy',
  metadata: { namespace: 'app', name, annotations: { 'k8s.v1.cni.cncf.io/policy-for': NET } },
  spec,
});

export const REFERENCE_POLICIES: readonly { readonly title: string; readonly policy: MultiNetworkPolicy }[] = [
  {
    title: 'upstream worked example: egress TCP 6666 to 10.17.0.0/16 except 10.17.0.0/24',
    policy: policy('worked', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ protocol: 'TCP', port: 6666 }], to: [{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/24'] } }] }] }),
  },
  {
    title: 'ingress from 8 dual-stack client pods on 3 TCP ports',
    policy: policy('clients', { podSelector: { matchLabels: { role: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 80 }, { port: 443 }, { port: 8443 }] }] }),
  },
  {
    title: 'both directions: ingress from 8 clients on 2 ports, egress to 3 CIDRs on DNS and HTTPS',
    policy: policy('both', {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }], ports: [{ port: 80 }, { port: 443 }] }],
      egress: [{ to: [{ ipBlock: { cidr: '10.96.0.0/16' } }, { ipBlock: { cidr: '192.168.0.0/24' } }, { ipBlock: { cidr: 'fd00:96::/64' } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }, { protocol: 'TCP', port: 443 }] }],
    }),
  },
  {
    title: 'ingress TCP 5000-5900 from anywhere (port range)',
    policy: policy('range', { podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP', port: 5000, endPort: 5900 }] }] }),
  },
  {
    title: 'default deny, both directions',
    policy: policy('deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
  },
];

export async function filterEconomy(opts: NodeOptions = DEFAULT_NODE_OPTIONS) {
  const adapters = await builtinAdapters(['accelerated-bridge']);
  return REFERENCE_POLICIES.map(({ title, policy: p }) => {
    const cluster: Cluster = {
      namespaces: [{ metadata: { name: 'app' } }, { metadata: { name: 'default' } }],
      networks: [{ metadata: { namespace: 'default', name: 'net1' }, spec: { config: '{"type":"accelerated-bridge"}' } }],
      pods: [target, ...clients],
      policies: [p],
      invalidPolicies: [],
    };
    const prog = programNode(cluster, 'node-a', adapters, opts).programs.find((x) => x.endpoint.pod.name === 'target')!;
    const filters = prog.compiled.filters;
    const ours = { filters: filters.length, prefs: new Set(filters.map((f) => `${f.hook}/${f.chain}/${f.pref}`)).size };
    const up = upstreamLayout(p, (peer) => {
      const matched = [target, ...clients].filter((x) => peer.podSelector && selects(peer.podSelector, x.metadata.labels ?? {}));
      const ips = matched.flatMap((x) => (JSON.parse(x.metadata.annotations![NETWORK_STATUS_ANNOTATION]!) as { ips: string[] }[])[0]!.ips);
      return { v4: ips.filter((i) => !i.includes(':')).length, v6: ips.filter((i) => i.includes(':')).length };
    });
    return { title, ours, upstream: up };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [label, opts] of [
    ['default: stateful, encapsulations auto (network without a VLAN trunk: untagged policed, tagged dropped)', DEFAULT_NODE_OPTIONS],
    ['stateful, untagged + 802.1Q policed (upstream\'s coverage; auto on a trunked network)', { ...DEFAULT_NODE_OPTIONS, encapsulations: ['untagged', '802.1Q'] }],
    ['stateful, untagged + 802.1Q + QinQ policed', { ...DEFAULT_NODE_OPTIONS, encapsulations: ['untagged', '802.1Q', '802.1ad'] }],
  ] as [string, NodeOptions][]) {
    console.log(`\n${label}`);
    console.log('| policy | ours filters | upstream filters | ratio | ours chain/pref pairs | upstream prefs |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const r of await filterEconomy(opts)) {
      console.log(`| ${r.title} | ${r.ours.filters} | ${r.upstream.filters} | ${(r.ours.filters / r.upstream.filters).toFixed(2)} | ${r.ours.prefs} | ${r.upstream.prefs} |`);
    }
  }
}
