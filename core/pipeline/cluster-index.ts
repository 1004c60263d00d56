// Lookups that every stage needs, built once per snapshot so that rendering one endpoint
// does not rescan the cluster: namespace labels, eligible pods and their addresses per
// network, policies per namespace with their networks.
import type { NetworkAttachment, NetworkStatusEntry } from '../model/attachment.js';
import type { ContainerPort, LabelSelector, MultiNetworkPolicy, Pod, PolicyType } from '../model/k8s.js';
import { NAMESPACE_NAME_LABEL } from '../model/k8s.js';
import { toNetworkAttachment } from '../model/nad.js';
import { parseNetworkStatus } from '../model/network-status.js';
import { policyNetworks } from '../model/policy-for.js';
import type { Cluster, InvalidPolicy } from '../model/snapshot.js';
import type { Labels } from './labels.js';

export interface IndexedPod {
  readonly key: string;
  readonly pod: Pod;
  readonly labels: Labels;
  /** Running and not hostNetwork: a policy target and a selectable peer. */
  readonly eligible: boolean;
  readonly statuses: readonly NetworkStatusEntry[];
  readonly statusError?: string;
  readonly containerPorts: readonly ContainerPort[];
}

export interface PodAddress {
  readonly pod: IndexedPod;
  readonly ips: readonly string[];
}

export interface IndexedPolicy {
  readonly key: string;
  readonly namespace: string;
  readonly networks: ReadonlySet<string>;
  /** undefined: the policy's own selector is invalid, so it is taken to select every pod (fail closed). */
  readonly podSelector: LabelSelector | undefined;
  readonly types: readonly PolicyType[];
  readonly valid: MultiNetworkPolicy | undefined;
  readonly invalid: InvalidPolicy | undefined;
}

export interface ClusterIndex {
  readonly namespaceLabels: ReadonlyMap<string, Labels>;
  readonly pods: readonly IndexedPod[];
  readonly podsByNamespace: ReadonlyMap<string, readonly IndexedPod[]>;
  /** Eligible pods with at least one address on the network, by `namespace/name` of the network. */
  readonly addressesByNetwork: ReadonlyMap<string, readonly PodAddress[]>;
  readonly policiesByNamespace: ReadonlyMap<string, readonly IndexedPolicy[]>;
  readonly networks: ReadonlyMap<string, NetworkAttachment>;
}

/** Kubernetes' defaulting: Ingress always, Egress when the spec has egress rules. */
export function effectiveTypes(spec: MultiNetworkPolicy['spec']): PolicyType[] {
  if (spec.policyTypes && spec.policyTypes.length > 0) return [...new Set(spec.policyTypes)];
  return spec.egress && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

const byKey = <T extends { key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

export function buildIndex(cluster: Cluster): ClusterIndex {
  const namespaceLabels = new Map<string, Labels>();
  for (const ns of cluster.namespaces) {
    namespaceLabels.set(ns.metadata.name, { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: ns.metadata.name });
  }

  const pods: IndexedPod[] = cluster.pods
    .map((pod): IndexedPod => {
      const parsed = parseNetworkStatus(pod);
      const eligible = pod.status?.phase === 'Running' && pod.spec.hostNetwork !== true;
      return {
        key: `${pod.metadata.namespace}/${pod.metadata.name}`,
        pod,
        labels: pod.metadata.labels ?? {},
        eligible,
        statuses: parsed.entries,
        ...(parsed.error !== undefined ? { statusError: parsed.error } : {}),
        containerPorts: (pod.spec.containers ?? []).flatMap((c) => c.ports ?? []),
      };
    })
    .sort(byKey);

  const podsByNamespace = new Map<string, IndexedPod[]>();
  const addressesByNetwork = new Map<string, PodAddress[]>();
  for (const p of pods) {
    push(podsByNamespace, p.pod.metadata.namespace, p);
    if (!p.eligible) continue;
    const perNetwork = new Map<string, string[]>();
    for (const s of p.statuses) if (s.default !== true) perNetwork.set(s.name, [...(perNetwork.get(s.name) ?? []), ...(s.ips ?? [])]);
    for (const [net, ips] of perNetwork) if (ips.length > 0) push(addressesByNetwork, net, { pod: p, ips });
  }

  const policiesByNamespace = new Map<string, IndexedPolicy[]>();
  for (const policy of cluster.policies) {
    const namespace = policy.metadata.namespace;
    push(policiesByNamespace, namespace, {
      key: `${namespace}/${policy.metadata.name}`,
      namespace,
      networks: new Set(policyNetworks(policy)),
      podSelector: policy.spec.podSelector,
      types: effectiveTypes(policy.spec),
      valid: policy,
      invalid: undefined,
    });
  }
  for (const bad of cluster.invalidPolicies) {
    const asPolicy = { metadata: { name: bad.name, namespace: bad.namespace, annotations: bad.annotations } } as MultiNetworkPolicy;
    push(policiesByNamespace, bad.namespace, {
      key: `${bad.namespace}/${bad.name}`,
      namespace: bad.namespace,
      networks: new Set(policyNetworks(asPolicy)),
      podSelector: bad.podSelector,
      types: bad.policyTypes && bad.policyTypes.length > 0 ? [...bad.policyTypes] : ['Ingress', 'Egress'],
      valid: undefined,
      invalid: bad,
    });
  }
  for (const list of policiesByNamespace.values()) list.sort(byKey);

  const networks = new Map<string, NetworkAttachment>();
  for (const nad of cluster.networks) {
    const n = toNetworkAttachment(nad);
    networks.set(n.key, n);
  }

  return { namespaceLabels, pods, podsByNamespace, addressesByNetwork, policiesByNamespace, networks };
}
