// An independent evaluator of Kubernetes NetworkPolicy semantics, applied to
// MultiNetworkPolicy on one secondary network. It answers "may this probe connect?"
// straight from the rules, knowing nothing of the agent's renderer or compiler, so tests
// can compare the agent's answer with it. Plain loops on purpose: it must be easy to read
// against the rules (DESIGN.md "Semantics", conformance/FORMAT.md "Rules").
import type { Cluster } from '../../core/model/snapshot.js';
import type { External, Probe, Verdict } from '../../core/model/probe.js';
import {
  NAMESPACE_NAME_LABEL,
  NETWORK_STATUS_ANNOTATION,
  POLICY_FOR_ANNOTATION,
  type LabelSelector,
  type MultiNetworkPolicy,
  type PolicyPeer,
  type PolicyPort,
  type Pod,
} from '../../core/model/k8s.js';
import { cidrHasAddress, familyOf } from './ip-math.js';

export interface ReferenceVerdict {
  readonly verdict: Verdict;
  readonly reason: string;
}

type Direction = 'Ingress' | 'Egress';

/** One end of a probe: a pod or an external host, with the address the probe uses. */
type End =
  | { readonly kind: 'pod'; readonly pod: Pod; readonly address: string }
  | { readonly kind: 'external'; readonly external: External; readonly address: string };

// ---- selectors ----------------------------------------------------------------------

export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const matchLabels = selector.matchLabels ?? {};
  for (const key of Object.keys(matchLabels)) {
    if (labels[key] !== matchLabels[key]) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    const value = labels[req.key];
    const values = req.values ?? [];
    if (req.operator === 'In') {
      if (!has || value === undefined || !values.includes(value)) return false;
    } else if (req.operator === 'NotIn') {
      if (has && value !== undefined && values.includes(value)) return false;
    } else if (req.operator === 'Exists') {
      if (!has) return false;
    } else if (req.operator === 'DoesNotExist') {
      if (has) return false;
    } else {
      return false; // an unknown operator selects nothing
    }
  }
  return true;
}

function namespaceLabels(cluster: Cluster, name: string): Record<string, string> {
  let labels: Record<string, string> = {};
  for (const ns of cluster.namespaces) {
    if (ns.metadata.name === name) labels = { ...(ns.metadata.labels ?? {}) };
  }
  labels[NAMESPACE_NAME_LABEL] = name;
  return labels;
}

// ---- pods and addresses ---------------------------------------------------------------

/** Running and not hostNetwork: the only pods that are policy targets and selector peers. */
export function isPolicyPod(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && pod.spec.hostNetwork !== true;
}

function isOnNode(pod: Pod, node: string): boolean {
  const nodeName = pod.spec.nodeName;
  return nodeName !== undefined && nodeName.toLowerCase() === node.toLowerCase();
}

/** `ns/name` of a network-status entry; a bare name means the pod's namespace. */
function qualifiedNetwork(name: string, namespace: string): string {
  return name.includes('/') ? name : `${namespace}/${name}`;
}

/** The pod's addresses on `network`, in annotation order. */
export function podAddresses(pod: Pod, network: string): string[] {
  const text = pod.metadata.annotations?.[NETWORK_STATUS_ANNOTATION];
  if (text === undefined) return [];
  let entries: unknown;
  try {
    entries = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(entries)) return [];
  const addresses: string[] = [];
  for (const entry of entries as { name?: unknown; ips?: unknown }[]) {
    if (typeof entry?.name !== 'string' || !Array.isArray(entry.ips)) continue;
    if (qualifiedNetwork(entry.name, pod.metadata.namespace) !== network) continue;
    for (const ip of entry.ips) if (typeof ip === 'string') addresses.push(ip);
  }
  return addresses;
}

function firstOfFamily(addresses: readonly string[], family: string): string | undefined {
  for (const a of addresses) if (familyOf(a) === family) return a;
  return undefined;
}

function findEnd(ref: string, cluster: Cluster, externals: readonly External[], probe: Probe): End | string {
  if (ref.startsWith('external/')) {
    const name = ref.slice('external/'.length);
    for (const external of externals) {
      if (external.name !== name || external.network !== probe.network) continue;
      const address = firstOfFamily(external.ips, probe.family);
      if (address !== undefined) return { kind: 'external', external, address };
    }
    return `${ref} has no ${probe.family} address on ${probe.network}`;
  }
  for (const pod of cluster.pods) {
    if (`${pod.metadata.namespace}/${pod.metadata.name}` !== ref) continue;
    const address = firstOfFamily(podAddresses(pod, probe.network), probe.family);
    if (address !== undefined) return { kind: 'pod', pod, address };
    return `${ref} has no ${probe.family} address on ${probe.network}`;
  }
  return `${ref} does not exist`;
}

// ---- which policies apply ---------------------------------------------------------------

/** Networks named by the policy-for annotation, each as `ns/name`. */
export function policyNetworks(policy: MultiNetworkPolicy): string[] {
  const text = policy.metadata.annotations?.[POLICY_FOR_ANNOTATION];
  if (text === undefined) return [];
  const networks: string[] = [];
  for (const part of text.split(',')) {
    const name = part.trim();
    if (name === '') continue;
    networks.push(qualifiedNetwork(name, policy.metadata.namespace));
  }
  return networks;
}

export function policyTypesOf(policy: MultiNetworkPolicy): Direction[] {
  const declared = policy.spec.policyTypes;
  if (declared !== undefined && declared.length > 0) return [...declared];
  const types: Direction[] = ['Ingress'];
  if (policy.spec.egress !== undefined && policy.spec.egress.length > 0) types.push('Egress');
  return types;
}

function appliesTo(policy: MultiNetworkPolicy, pod: Pod, network: string): boolean {
  if (policy.metadata.namespace !== pod.metadata.namespace) return false;
  if (!selectorMatches(policy.spec.podSelector, pod.metadata.labels ?? {})) return false;
  return policyNetworks(policy).includes(network);
}

// ---- peers and ports ------------------------------------------------------------------

function peerMatches(peer: PolicyPeer, policy: MultiNetworkPolicy, remote: End, cluster: Cluster): boolean {
  if (peer.ipBlock !== undefined) {
    if (!cidrHasAddress(peer.ipBlock.cidr, remote.address)) return false;
    for (const except of peer.ipBlock.except ?? []) {
      if (cidrHasAddress(except, remote.address)) return false;
    }
    return true;
  }
  if (peer.podSelector === undefined && peer.namespaceSelector === undefined) return false;
  // Selector peers are pods: an external never matches, nor a pod that is not a policy pod.
  if (remote.kind !== 'pod' || !isPolicyPod(remote.pod)) return false;
  const pod = remote.pod;
  if (peer.namespaceSelector !== undefined) {
    if (!selectorMatches(peer.namespaceSelector, namespaceLabels(cluster, pod.metadata.namespace))) return false;
  } else if (pod.metadata.namespace !== policy.metadata.namespace) {
    return false; // podSelector alone: pods of the policy's own namespace
  }
  if (peer.podSelector !== undefined && !selectorMatches(peer.podSelector, pod.metadata.labels ?? {})) return false;
  return true;
}

/** A named port resolves against the destination pod's container ports (name and protocol). */
function portMatches(entry: PolicyPort, probe: Probe, destination: Pod | null): boolean {
  const protocol = entry.protocol ?? 'TCP';
  if (protocol !== probe.protocol) return false;
  if (entry.port === undefined) return true;
  if (typeof entry.port === 'number') {
    const end = entry.endPort ?? entry.port;
    return probe.port >= entry.port && probe.port <= end;
  }
  if (destination === null) return false;
  for (const container of destination.spec.containers ?? []) {
    for (const cp of container.ports ?? []) {
      if (cp.name === entry.port && (cp.protocol ?? 'TCP') === protocol && cp.containerPort === probe.port) return true;
    }
  }
  return false;
}

// ---- one direction of one pod -----------------------------------------------------------

/** A rule of either direction: `from` or `to` as `peers`. */
interface Rule {
  readonly peers?: readonly PolicyPeer[];
  readonly ports?: readonly PolicyPort[];
}

function rulesOf(policy: MultiNetworkPolicy, direction: Direction): Rule[] {
  const rules: Rule[] = [];
  if (direction === 'Ingress') {
    for (const r of policy.spec.ingress ?? []) rules.push({ peers: r.from, ports: r.ports });
  } else {
    for (const r of policy.spec.egress ?? []) rules.push({ peers: r.to, ports: r.ports });
  }
  return rules;
}

interface DirectionAnswer {
  readonly allowed: boolean;
  readonly reason: string;
}

function directionAllows(
  target: Pod,
  direction: Direction,
  remote: End,
  probe: Probe,
  cluster: Cluster,
): DirectionAnswer {
  const who = `${target.metadata.namespace}/${target.metadata.name} ${direction.toLowerCase()}`;
  const isolating: MultiNetworkPolicy[] = [];
  for (const policy of cluster.policies) {
    if (appliesTo(policy, target, probe.network) && policyTypesOf(policy).includes(direction)) isolating.push(policy);
  }
  if (isolating.length === 0) return { allowed: true, reason: `${who}: not isolated` };

  // The pod that receives the connection, for named ports. Only Running, non-hostNetwork
  // pods count as pods at all (DESIGN.md), so a named port never resolves on another kind.
  let destination: Pod | null = null;
  if (direction === 'Ingress') destination = target;
  else if (remote.kind === 'pod' && isPolicyPod(remote.pod)) destination = remote.pod;

  for (const policy of isolating) {
    const rules = rulesOf(policy, direction);
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as Rule;
      const peers = rule.peers;
      let peerOk = peers === undefined || peers.length === 0;
      for (const peer of peers ?? []) {
        if (peerMatches(peer, policy, remote, cluster)) peerOk = true;
      }
      if (!peerOk) continue;
      let portOk = rule.ports === undefined || rule.ports.length === 0;
      for (const entry of rule.ports ?? []) {
        if (portMatches(entry, probe, destination)) portOk = true;
      }
      if (portOk) {
        return { allowed: true, reason: `${who}: allowed by ${policy.metadata.namespace}/${policy.metadata.name} ${direction.toLowerCase()}[${i}]` };
      }
    }
  }
  const names = isolating.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ');
  return { allowed: false, reason: `${who}: isolated by ${names}, no rule allows ${remote.address} ${probe.protocol}/${probe.port}` };
}

// ---- the verdict ----------------------------------------------------------------------------

/**
 * allow iff (the source is not enforced here, or its egress allows the destination) and
 * (the destination is not enforced here, or its ingress allows the source). Enforced here
 * = a pod on `node` that is Running and not hostNetwork. Replies of an allowed connection
 * are allowed, so the answer covers the whole exchange.
 */
export function referenceVerdict(cluster: Cluster, externals: readonly External[], node: string, probe: Probe): ReferenceVerdict {
  const from = findEnd(probe.from, cluster, externals, probe);
  if (typeof from === 'string') return { verdict: 'deny', reason: from };
  const to = findEnd(probe.to, cluster, externals, probe);
  if (typeof to === 'string') return { verdict: 'deny', reason: to };

  const reasons: string[] = [];
  if (from.kind === 'pod' && isOnNode(from.pod, node) && isPolicyPod(from.pod)) {
    const egress = directionAllows(from.pod, 'Egress', to, probe, cluster);
    reasons.push(egress.reason);
    if (!egress.allowed) return { verdict: 'deny', reason: egress.reason };
  } else {
    reasons.push(`${probe.from}: egress not enforced on ${node}`);
  }
  if (to.kind === 'pod' && isOnNode(to.pod, node) && isPolicyPod(to.pod)) {
    const ingress = directionAllows(to.pod, 'Ingress', from, probe, cluster);
    reasons.push(ingress.reason);
    if (!ingress.allowed) return { verdict: 'deny', reason: ingress.reason };
  } else {
    reasons.push(`${probe.to}: ingress not enforced on ${node}`);
  }
  return { verdict: 'allow', reason: reasons.join('; ') };
}
