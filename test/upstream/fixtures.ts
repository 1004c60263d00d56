// The upstream renderer fixtures (pkg/policyrules/testutil/policies.go, described in
// shared/reference/upstream-behaviour.md section 6.1), rebuilt as MultiNetworkPolicies for our
// engine. Upstream tested an Egress-only world: every fixture has policyTypes [Egress].
// Upstream set the policy networks directly to "accel-net"; here the policy-for annotation
// says "accel-net" in namespace "target", i.e. the network target/accel-net.
import type { EgressRule, LabelSelector, MultiNetworkPolicy, PolicyPort } from '../../core/model/k8s.js';
import { ClusterBuilder, mnp, type InterfaceSpec } from '../fixtures/cluster-builder.js';

export const NET = 'target/accel-net';

const egress = (key: string, podSelector: LabelSelector, rules: readonly EgressRule[] | undefined, policyFor = 'accel-net'): MultiNetworkPolicy =>
  mnp(key, { podSelector, policyTypes: ['Egress'], ...(rules !== undefined ? { egress: rules } : {}) }, policyFor);

const appTarget = { matchLabels: { app: 'target' } };
const nsSource = { matchLabels: { 'kubernetes.io/metadata.name': 'source' } };
const P: PolicyPort[] = [
  { protocol: 'TCP', port: 6666 },
  { protocol: 'UDP', port: 7777 },
  { port: 8888 },
];

export const policies = {
  defaultAllow: () => egress('target/ipblock-policy-allow', {}, [{}]),
  defaultDeny: () => egress('target/ipblock-policy-allow', {}, undefined),
  ipBlockNoPorts: (policyFor = 'accel-net') => egress('target/ipblock-policy', appTarget, [{ to: [{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/24'] } }] }], policyFor),
  ipBlockWithPorts: () => egress('target/ipblock-policy', {}, [{ ports: P, to: [{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/24'] } }] }]),
  ipBlockMultipleRules: () =>
    egress('target/ipblock-policy', appTarget, [
      { to: [{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/24', '10.17.1.0/24'] } }] },
      { ports: [{ protocol: 'TCP', port: 6666 }], to: [{ ipBlock: { cidr: '20.17.0.0/16', except: ['20.17.0.0/24', '20.17.1.0/24'] } }] },
    ]),
  ipBlockMultiplePeers: () =>
    egress('target/ipblock-policy', appTarget, [
      {
        ports: [{ protocol: 'TCP', port: 6666 }],
        to: [{ ipBlock: { cidr: '10.17.0.0/16', except: ['10.17.0.0/24'] } }, { ipBlock: { cidr: '20.17.0.0/16', except: ['20.17.0.0/24'] } }],
      },
    ]),
  selectorNoPorts: () => egress('target/selector-policy', appTarget, [{ to: [{ podSelector: { matchLabels: { app: 'source' } }, namespaceSelector: nsSource }] }]),
  selectorWithPorts: () => egress('target/selector-policy', appTarget, [{ ports: P, to: [{ podSelector: {}, namespaceSelector: nsSource }] }]),
  selectorMultipleRules: () =>
    egress('target/selector-policy', {}, [
      { to: [{ podSelector: { matchLabels: { app: 'source-1' } }, namespaceSelector: nsSource }] },
      { ports: [{ protocol: 'TCP', port: 6666 }], to: [{ podSelector: { matchLabels: { app: 'source-2' } }, namespaceSelector: nsSource }] },
    ]),
  selectorMultiplePeers: () =>
    egress('target/selector-policy', appTarget, [
      {
        ports: [{ protocol: 'TCP', port: 6666 }],
        to: [
          { podSelector: { matchLabels: { app: 'source-1' } }, namespaceSelector: {} },
          { podSelector: { matchLabels: { app: 'source-2' } }, namespaceSelector: {} },
        ],
      },
    ]),
};

/** Namespaces target and source, the NAD, and the default target pod (192.168.1.2 on net1). */
export function world(targetNs = 'target', targetInterfaces: readonly InterfaceSpec[] = [{ network: NET, iface: 'net1', pci: '0000:03:00.4', ips: ['192.168.1.2'] }]): ClusterBuilder {
  return new ClusterBuilder()
    .namespace('target')
    .namespace('source')
    .namespace('default')
    .nad(NET)
    .pod(`${targetNs}/target-pod`, { labels: { app: 'target' }, interfaces: targetInterfaces });
}

/** source/source-pod-1 (192.168.1.3) and source/source-pod-2 (192.168.1.4) with the given app labels. */
export function withSources(b: ClusterBuilder, app1: string, app2: string): ClusterBuilder {
  return b
    .pod('source/source-pod-1', { labels: { app: app1 }, interfaces: [{ network: NET, iface: 'net1', pci: '0000:03:00.5', ips: ['192.168.1.3'] }] })
    .pod('source/source-pod-2', { labels: { app: app2 }, interfaces: [{ network: NET, iface: 'net1', pci: '0000:03:00.6', ips: ['192.168.1.4'] }] });
}
