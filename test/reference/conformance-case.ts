// Reads a conformance case (/work/shared/conformance/FORMAT.md) into the engine's model
// types: namespaces, NADs, pods with a synthesized network-status annotation, policies,
// externals, and the probes of each round (the initial state, then one round per step).
import { parse } from 'yaml';
import {
  NETWORK_STATUS_ANNOTATION,
  type ContainerPort,
  type MultiNetworkPolicy,
  type Namespace,
  type NetworkAttachmentDefinition,
  type Pod,
} from '../../core/model/k8s.js';
import type { External, Family, Probe, Verdict } from '../../core/model/probe.js';
import type { Cluster } from '../../core/model/snapshot.js';

interface CaseNamespace { name: string; labels?: Record<string, string> }
interface CaseNetwork { namespace: string; name: string; type: string }
interface CaseInterface { network: string; ips?: string[]; name?: string }
interface CasePod {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  node?: string;
  hostNetwork?: boolean;
  phase?: string;
  containerPorts?: ContainerPort[];
  interfaces?: CaseInterface[];
}
interface CaseProbe { from: string; to: string; network: string; family?: Family; protocol?: Probe['protocol']; port: number; expect: Verdict; note?: string }
interface CaseObjects { namespaces?: CaseNamespace[]; networks?: CaseNetwork[]; pods?: CasePod[]; policies?: MultiNetworkPolicy[]; externals?: External[] }
interface CaseStep { description?: string; apply?: CaseObjects; delete?: { kind: string; namespace?: string; name: string }[]; probes?: CaseProbe[] }
interface CaseFile extends CaseObjects { name: string; node: string; probes?: CaseProbe[]; steps?: CaseStep[] }

export interface ExpectedProbe {
  readonly probe: Probe;
  readonly expect: Verdict;
}

export interface CaseRound {
  readonly description: string;
  readonly cluster: Cluster;
  readonly externals: readonly External[];
  readonly probes: readonly ExpectedProbe[];
}

export interface LoadedCase {
  readonly name: string;
  readonly node: string;
  readonly rounds: readonly CaseRound[];
}

function toNamespace(n: CaseNamespace): Namespace {
  return { kind: 'Namespace', metadata: { name: n.name, labels: { ...(n.labels ?? {}) } } };
}

function toNetwork(n: CaseNetwork): NetworkAttachmentDefinition {
  return {
    kind: 'NetworkAttachmentDefinition',
    metadata: { namespace: n.namespace, name: n.name },
    spec: { config: JSON.stringify({ cniVersion: '0.4.0', name: n.name, type: n.type }) },
  };
}

function toPod(p: CasePod, node: string): Pod {
  const status = (p.interfaces ?? []).map((iface, i) => ({
    name: iface.network,
    interface: iface.name ?? `net${i + 1}`,
    ips: iface.ips ?? [],
  }));
  return {
    kind: 'Pod',
    metadata: {
      namespace: p.namespace,
      name: p.name,
      uid: `uid-${p.namespace}-${p.name}`,
      labels: { ...(p.labels ?? {}) },
      annotations: { [NETWORK_STATUS_ANNOTATION]: JSON.stringify(status) },
    },
    spec: {
      nodeName: p.node ?? node,
      hostNetwork: p.hostNetwork ?? false,
      containers: [{ name: 'main', ports: p.containerPorts ?? [] }],
    },
    status: { phase: p.phase ?? 'Running' },
  };
}

function toProbe(p: CaseProbe): ExpectedProbe {
  return {
    probe: { from: p.from, to: p.to, network: p.network, family: p.family ?? 'ipv4', protocol: p.protocol ?? 'TCP', port: p.port },
    expect: p.expect,
  };
}

/** Replace-or-add by key, keeping the order of first appearance. */
function upsert<T>(list: T[], items: readonly T[], key: (t: T) => string): T[] {
  const out = [...list];
  for (const item of items) {
    const i = out.findIndex((x) => key(x) === key(item));
    if (i >= 0) out[i] = item;
    else out.push(item);
  }
  return out;
}

const nsName = (o: { metadata: { namespace?: string; name: string } }): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export function loadCase(text: string): LoadedCase {
  const doc = parse(text) as CaseFile;
  const node = doc.node;
  let namespaces: Namespace[] = (doc.namespaces ?? []).map(toNamespace);
  let networks: NetworkAttachmentDefinition[] = (doc.networks ?? []).map(toNetwork);
  let pods: Pod[] = (doc.pods ?? []).map((p) => toPod(p, node));
  let policies: MultiNetworkPolicy[] = [...(doc.policies ?? [])];
  let externals: External[] = [...(doc.externals ?? [])];

  const snapshot = (description: string, probes: readonly CaseProbe[]): CaseRound => ({
    description,
    cluster: { namespaces, networks, pods, policies, invalidPolicies: [] },
    externals,
    probes: probes.map(toProbe),
  });

  const rounds: CaseRound[] = [snapshot('initial state', doc.probes ?? [])];
  for (const [i, step] of (doc.steps ?? []).entries()) {
    const apply = step.apply ?? {};
    namespaces = upsert(namespaces, (apply.namespaces ?? []).map(toNamespace), (n) => n.metadata.name);
    networks = upsert(networks, (apply.networks ?? []).map(toNetwork), nsName);
    pods = upsert(pods, (apply.pods ?? []).map((p) => toPod(p, node)), nsName);
    policies = upsert(policies, apply.policies ?? [], nsName);
    externals = upsert(externals, apply.externals ?? [], (e) => e.name);
    for (const d of step.delete ?? []) {
      const target = `${d.namespace ?? ''}/${d.name}`;
      if (d.kind === 'Namespace') {
        namespaces = namespaces.filter((n) => n.metadata.name !== d.name);
        networks = networks.filter((n) => n.metadata.namespace !== d.name);
        pods = pods.filter((p) => p.metadata.namespace !== d.name);
        policies = policies.filter((p) => p.metadata.namespace !== d.name);
      } else if (d.kind === 'Pod') {
        pods = pods.filter((p) => nsName(p) !== target);
      } else if (d.kind === 'NetworkAttachmentDefinition') {
        networks = networks.filter((n) => nsName(n) !== target);
      } else if (d.kind === 'MultiNetworkPolicy') {
        policies = policies.filter((p) => nsName(p) !== target);
      }
    }
    rounds.push(snapshot(step.description ?? `step ${i + 1}`, step.probes ?? []));
  }
  return { name: doc.name, node, rounds };
}
