// Lookups that every stage needs, built once per snapshot so that rendering one endpoint
// does not rescan the cluster: namespace labels, eligible pods and their addresses per
// network, policies per namespace with their networks.
import type { NetworkAttachment, NetworkStatusEntry } from '../model/attachment.js';
import type { ContainerPort, LabelSelector, MultiNetworkPolicy, Pod, PolicyType } from '../model/k8s.js';
import { NAMESPACE_NAME_LABEL } from '../model/k8s.js';
import { toNetworkAttachment } from '../model/nad.js';
import { parseNetworkStatus, type NetworkStatus } from '../model/network-status.js';
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
  readonly pods = new WeakMap<Pod, LazyStatusPod>();
  readonly policies = new WeakMap<MultiNetworkPolicy | InvalidPolicy, IndexedPolicy>();
  /** Network names of the pods' addresses, one copy each (see NameTable). */
  readonly names = new NameTable();
}

/**
 * One copy of each network name. parseNetworkStatus builds every pod's `namespace/name` anew
 * (a concatenation of two fresh strings, ~100 bytes); there are few networks and many pods.
 * Bounded like core/watch/intern.ts: past the limit it starts over, so names of deleted
 * networks are not kept forever.
 */
export class NameTable {
  private readonly names = new Map<string, string>();

  constructor(private readonly limit = 10_000) {}

  get(name: string): string {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    if (this.names.size >= this.limit) this.names.clear();
    this.names.set(name, name);
    return name;
  }
}

/** A pod's addresses on one network: also the entry addressesByNetwork lists for it. */
interface NetworkPodAddress extends PodAddress {
  readonly network: string;
}

/**
 * An indexed pod whose parsed network-status entries are made on first use: only the pods of
 * this node are ever asked for them (select), and keeping the entries of every pod of the
 * cluster in an IndexMemo cost ~1.5 kB per pod (96 MB at 50 000 pods). The addresses, which
 * every peer lookup needs, are kept instead, as the PodAddress entries of addressesByNetwork
 * (one object for a pod on one network, the usual case; an array for several).
 */
class LazyStatusPod implements IndexedPod {
  readonly key: string;
  readonly labels: Labels;
  readonly eligible: boolean;
  readonly statusError?: string;
  readonly containerPorts: readonly ContainerPort[];
  private parsed: readonly NetworkStatusEntry[] | undefined;
  // a private name, not a property: an IndexedPod reads the same with or without it
  #addresses: NetworkPodAddress | readonly NetworkPodAddress[] | undefined;

  constructor(readonly pod: Pod, status: NetworkStatus, names: NameTable | undefined) {
    this.key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    this.labels = pod.metadata.labels ?? {};
    this.eligible = pod.status?.phase === 'Running' && pod.spec.hostNetwork !== true;
    if (status.error !== undefined) this.statusError = status.error;
    this.containerPorts = containerPorts(pod);
    const perNetwork = new Map<string, string[]>();
    for (const s of status.entries) if (s.default !== true) perNetwork.set(s.name, [...(perNetwork.get(s.name) ?? []), ...(s.ips ?? [])]);
    const addresses = [...perNetwork].filter(([, ips]) => ips.length > 0).map(([net, ips]): NetworkPodAddress => ({ pod: this, ips: exact(ips), network: names ? names.get(net) : net }));
    this.#addresses = addresses.length === 0 ? undefined : addresses.length === 1 ? addresses[0] : exact(addresses);
  }

  get statuses(): readonly NetworkStatusEntry[] {
    return (this.parsed ??= parseNetworkStatus(this.pod).entries);
  }

  /** Lists the pod's addresses under each network (default network left out), in network-status order. */
  addTo(byNetwork: Map<string, PodAddress[]>): void {
    const a = this.#addresses;
    if (a === undefined) return;
    if (isArray(a)) for (const x of a) push(byNetwork, x.network, x);
    else push(byNetwork, a.network, a);
  }
}

const isArray = Array.isArray as (x: unknown) => x is readonly NetworkPodAddress[];

const NONE: readonly never[] = Object.freeze([]);

/**
 * A copy without spare capacity: arrays built by push, filter or flatMap keep room to grow
 * (a one-element array takes ~150 bytes), which over 50 000 memo entries was 23 MB.
 */
function exact<T>(xs: readonly T[]): readonly T[] {
  return xs.length === 0 ? NONE : xs.slice();
}

/**
 * The ports of all containers. One container's list is kept as it is: the store's objects
 * are frozen and their equal port lists one shared copy (core/watch/intern.ts).
 */
function containerPorts(pod: Pod): readonly ContainerPort[] {
  const lists = (pod.spec.containers ?? []).map((c) => c.ports ?? NONE).filter((ps) => ps.length > 0);
  return lists.length === 0 ? NONE : lists.length === 1 ? lists[0]! : exact(lists.flat());
}

function indexPod(pod: Pod, names?: NameTable): LazyStatusPod {
  return new LazyStatusPod(pod, parseNetworkStatus(pod), names);
}

export function buildIndex(cluster: Cluster, memo?: IndexMemo): ClusterIndex {
  const namespaceLabels = new Map<string, Labels>();
  for (const ns of cluster.namespaces) {
    namespaceLabels.set(ns.metadata.name, { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: ns.metadata.name });
  }

  const indexed = cluster.pods.map((pod): LazyStatusPod => {
    if (!memo) return indexPod(pod);
    let e = memo.pods.get(pod);
    if (!e) memo.pods.set(pod, (e = indexPod(pod, memo.names)));
    return e;
  });
  indexed.sort(byKey);
  const pods: readonly IndexedPod[] = indexed;

  const podsByNamespace = new Map<string, IndexedPod[]>();
  const addressesByNetwork = new Map<string, PodAddress[]>();
  for (const p of indexed) {
    push(podsByNamespace, p.pod.metadata.namespace, p);
    if (!p.eligible) continue;
    p.addTo(addressesByNetwork);
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
