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

/**
 * The per-object part of an index, kept across snapshots by whoever indexes many of them (the
 * reconciler): parsing every pod's network-status again on every pass was most of a pass's
 * time at 50 000 pods (docs/performance.md). Keyed by object identity, which is sound because
 * snapshots hold frozen objects that the store replaces, never edits: an object seen before
 * indexes exactly as it did then. Entries go when their objects do (WeakMap).
 */
export class IndexMemo {
  readonly pods = new WeakMap<Pod, IndexedPodEntry>();
  readonly policies = new WeakMap<MultiNetworkPolicy | InvalidPolicy, IndexedPolicy>();
}

interface IndexedPodEntry {
  readonly indexed: IndexedPod;
  /** Addresses per network (default network left out), in network-status order. */
  readonly addresses: readonly (readonly [string, readonly string[]])[];
}

/**
 * An indexed pod whose parsed network-status entries are made on first use: only the pods of
 * this node are ever asked for them (select), and keeping the entries of every pod of the
 * cluster in an IndexMemo cost ~1.5 kB per pod (96 MB at 50 000 pods). The addresses, which
 * every peer lookup needs, are kept instead.
 */
class LazyStatusPod implements IndexedPod {
  readonly key: string;
  readonly labels: Labels;
  readonly eligible: boolean;
  readonly statusError?: string;
  readonly containerPorts: readonly ContainerPort[];
  private parsed: readonly NetworkStatusEntry[] | undefined;

  constructor(readonly pod: Pod, error: string | undefined) {
    this.key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    this.labels = pod.metadata.labels ?? {};
    this.eligible = pod.status?.phase === 'Running' && pod.spec.hostNetwork !== true;
    if (error !== undefined) this.statusError = error;
    this.containerPorts = exact((pod.spec.containers ?? []).flatMap((c) => c.ports ?? []));
  }

  get statuses(): readonly NetworkStatusEntry[] {
    return (this.parsed ??= parseNetworkStatus(this.pod).entries);
  }
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * A copy without spare capacity: arrays built by push, filter or flatMap keep room to grow
 * (a one-element array takes ~150 bytes), which over 50 000 memo entries was 23 MB.
 */
function exact<T>(xs: readonly T[]): readonly T[] {
  return xs.length === 0 ? NONE : xs.slice();
}

function indexPod(pod: Pod): IndexedPodEntry {
  const parsed = parseNetworkStatus(pod);
  const perNetwork = new Map<string, string[]>();
  for (const s of parsed.entries) if (s.default !== true) perNetwork.set(s.name, [...(perNetwork.get(s.name) ?? []), ...(s.ips ?? [])]);
  const addresses = [...perNetwork].filter(([, ips]) => ips.length > 0).map(([net, ips]) => [net, exact(ips)] as const);
  return { indexed: new LazyStatusPod(pod, parsed.error), addresses: exact(addresses) };
}

export function buildIndex(cluster: Cluster, memo?: IndexMemo): ClusterIndex {
  const namespaceLabels = new Map<string, Labels>();
  for (const ns of cluster.namespaces) {
    namespaceLabels.set(ns.metadata.name, { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: ns.metadata.name });
  }

  const entries = cluster.pods.map((pod): IndexedPodEntry => {
    if (!memo) return indexPod(pod);
    let e = memo.pods.get(pod);
    if (!e) memo.pods.set(pod, (e = indexPod(pod)));
    return e;
  });
  entries.sort((a, b) => byKey(a.indexed, b.indexed));
  const pods = entries.map((e) => e.indexed);

  const podsByNamespace = new Map<string, IndexedPod[]>();
  const addressesByNetwork = new Map<string, PodAddress[]>();
  for (const { indexed: p, addresses } of entries) {
    push(podsByNamespace, p.pod.metadata.namespace, p);
    if (!p.eligible) continue;
    for (const [net, ips] of addresses) push(addressesByNetwork, net, { pod: p, ips });
  }

  const policiesByNamespace = new Map<string, IndexedPolicy[]>();
  const remember = (p: MultiNetworkPolicy | InvalidPolicy, make: () => IndexedPolicy): IndexedPolicy => {
    if (!memo) return make();
    let e = memo.policies.get(p);
    if (!e) memo.policies.set(p, (e = make()));
    return e;
  };
  for (const policy of cluster.policies) {
    const namespace = policy.metadata.namespace;
    push(policiesByNamespace, namespace, remember(policy, () => ({
      key: `${namespace}/${policy.metadata.name}`,
      namespace,
      networks: new Set(policyNetworks(policy)),
      podSelector: policy.spec.podSelector,
      types: effectiveTypes(policy.spec),
      valid: policy,
      invalid: undefined,
    })));
  }
  for (const bad of cluster.invalidPolicies) {
    const asPolicy = { metadata: { name: bad.name, namespace: bad.namespace, annotations: bad.annotations } } as MultiNetworkPolicy;
    push(policiesByNamespace, bad.namespace, remember(bad, () => ({
      key: `${bad.namespace}/${bad.name}`,
      namespace: bad.namespace,
      networks: new Set(policyNetworks(asPolicy)),
      podSelector: bad.podSelector,
      types: bad.policyTypes && bad.policyTypes.length > 0 ? [...bad.policyTypes] : ['Ingress', 'Egress'],
      valid: undefined,
      invalid: bad,
    })));
  }
  for (const list of policiesByNamespace.values()) list.sort(byKey);

  const networks = new Map<string, NetworkAttachment>();
  for (const nad of cluster.networks) {
    const n = toNetworkAttachment(nad);
    networks.set(n.key, n);
  }

  return { namespaceLabels, pods, podsByNamespace, addressesByNetwork, policiesByNamespace, networks };
}
