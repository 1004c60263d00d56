// Loads a conformance case file (FORMAT.md) and synthesizes the objects a cluster would hold:
// namespaces with the implied name label, one NAD per network with a CNI config, pods with
// Multus `networks` / `network-status` annotations (device-info for VF attachments). Every
// problem names the file, the line and the field (`cases/x.yaml:40: probes[3].to: ...`).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { AgentError } from '../api/errors.js';
import { err, ok, type Result } from '../api/result.js';
import {
  NETWORK_STATUS_ANNOTATION,
  NETWORKS_ANNOTATION,
  type MultiNetworkPolicy,
  type Namespace,
  type NetworkAttachmentDefinition,
  type Pod,
} from '../model/k8s.js';
import { parseNetworkStatus } from '../model/network-status.js';
import type { External, Family } from '../model/probe.js';
import { makeAjv } from '../model/schemas/ajv.js';
import { formatPath, parsePath, type PathSegment } from '../model/schemas/field-path.js';
import { parseIp } from '../model/schemas/ip.js';
import { firstProblem } from '../model/schemas/problem.js';
import type { Cluster } from '../model/snapshot.js';
import { validatePolicy } from '../model/validate.js';
import { deepFreeze, lineOf, locate, parseYaml, withNameLabel, yamlError, type YamlDoc } from '../source/manifest-files.js';
import {
  caseSchema,
  type CaseApply,
  type CaseDelete,
  type CaseProbe,
  type CaseRepresentor,
  type CaseStep,
  type ConformanceCase,
  type NetworkPrefix,
  type RawApply,
  type RawCase,
  type RawNamespace,
  type RawNetwork,
  type RawPod,
  type RawProbe,
} from './case.js';

const checkCase = makeAjv().compile<RawCase>(caseSchema);

const ACCELERATED_BRIDGE = 'accelerated-bridge';
const BOND = 'bond';
const FAMILY_BITS: Readonly<Record<Family, 4 | 6>> = { ipv4: 4, ipv6: 6 };

// ---------------------------------------------------------------------------------------
// deterministic identities (FNV-1a plus the murmur3 finalizer, so that similar keys such as
// `.../net1` and `.../net2` get unrelated values; stable across runs and machines)

function fnv1a(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0').slice(-width);

/** A UUID-shaped uid derived from `Kind/namespace/name`. */
export function caseUid(id: string): string {
  const [a, b, c, d] = [1, 2, 3, 4].map((s) => hex(fnv1a(id, s), 8)) as [string, string, string, string];
  return `${a}-${b.slice(0, 4)}-4${b.slice(5)}-8${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

/** A locally administered unicast MAC derived from `namespace/pod/interface`. */
const caseMac = (key: string): string => {
  const bytes = hex(fnv1a(key, 7), 8) + hex(fnv1a(key, 8), 2);
  return `02:${bytes.match(/../g)!.join(':')}`;
};

const ifaceName = (pod: RawPod, i: number): string => pod.interfaces?.[i]?.name ?? `net${i + 1}`;

/** Device identities of every pod interface of the case, assigned in order of appearance. */
interface Devices {
  readonly pci: ReadonlyMap<string, string>;
  readonly representor: ReadonlyMap<string, string>;
}

function assignDevices(pods: readonly RawPod[]): Devices {
  const pci = new Map<string, string>();
  const representor = new Map<string, string>();
  const taken = new Set<string>();
  for (const pod of pods) {
    for (let i = 0; i < (pod.interfaces ?? []).length; i++) {
      const key = `${pod.namespace}/${pod.name}/${ifaceName(pod, i)}`;
      if (pci.has(key)) continue;
      const n = pci.size;
      pci.set(key, `0000:${hex(0x10 + (n >> 8), 2)}:${hex((n >> 3) & 0x1f, 2)}.${n & 7}`);
      // "r" + 8 hex digits: 9 characters, within IFNAMSIZ; re-seeded on the rare collision
      let seed = 0;
      let name = `r${hex(fnv1a(key), 8)}`;
      while (taken.has(name)) name = `r${hex(fnv1a(key, ++seed), 8)}`;
      taken.add(name);
      representor.set(key, name);
    }
  }
  return { pci, representor };
}

// ---------------------------------------------------------------------------------------
// synthesis: case entries → Kubernetes objects

interface Synth {
  readonly node: string;
  readonly types: ReadonlyMap<string, string>;
  readonly devices: Devices;
  /** Bond networks → names of the address-less VF interfaces of the pods on them. */
  readonly links: ReadonlyMap<string, readonly string[]>;
}

function synthNamespace(raw: RawNamespace): Namespace {
  const ns: Namespace & { apiVersion: string } = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: raw.name, uid: caseUid(`Namespace/${raw.name}`), labels: { ...raw.labels } },
  };
  return withNameLabel(ns);
}

function synthNetwork(raw: RawNetwork, s: Synth): NetworkAttachmentDefinition {
  const key = `${raw.namespace}/${raw.name}`;
  const config: Record<string, unknown> = { cniVersion: '1.0.0', name: raw.name, type: raw.type };
  if (raw.type === BOND) config.links = (s.links.get(key) ?? []).map((name) => ({ name }));
  const nad: NetworkAttachmentDefinition & { apiVersion: string } = {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: raw.name, namespace: raw.namespace, uid: caseUid(`NetworkAttachmentDefinition/${key}`) },
    spec: { config: JSON.stringify(config) },
  };
  return nad;
}

function synthPod(raw: RawPod, s: Synth): Pod {
  const key = `${raw.namespace}/${raw.name}`;
  const interfaces = raw.interfaces ?? [];
  const status = interfaces.map((itf, i) => {
    const name = ifaceName(raw, i);
    const dev = `${key}/${name}`;
    return {
      name: itf.network,
      interface: name,
      ips: [...itf.ips],
      mac: caseMac(dev),
      dns: {},
      ...(s.types.get(itf.network) === ACCELERATED_BRIDGE
        ? {
            'device-info': {
              type: 'pci',
              version: '1.1.0',
              pci: { 'pci-address': s.devices.pci.get(dev), 'representor-device': s.devices.representor.get(dev) },
            },
          }
        : {}),
    };
  });
  const annotations =
    interfaces.length > 0
      ? {
          [NETWORKS_ANNOTATION]: interfaces.map((i) => i.network).join(','),
          [NETWORK_STATUS_ANNOTATION]: JSON.stringify(status),
        }
      : undefined;
  const pod: Pod & { apiVersion: string } = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: raw.name,
      namespace: raw.namespace,
      uid: caseUid(`Pod/${key}`),
      labels: { ...raw.labels },
      ...(annotations ? { annotations } : {}),
    },
    spec: {
      nodeName: raw.node ?? s.node,
      hostNetwork: raw.hostNetwork ?? false,
      containers: [
        {
          name: 'main',
          ports: (raw.containerPorts ?? []).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
        },
      ],
    },
    status: { phase: raw.phase ?? 'Running' },
  };
  return pod;
}

const synthProbe = (p: RawProbe): CaseProbe => ({
  from: p.from,
  to: p.to,
  network: p.network,
  family: p.family ?? 'ipv4',
  protocol: p.protocol ?? 'TCP',
  port: p.port,
  expect: p.expect,
  ...(p.note !== undefined ? { note: p.note } : {}),
});

function prefixOf(net: RawNetwork): NetworkPrefix {
  const p = net.prefix;
  if (p === undefined) return { ipv4: 24, ipv6: 64 };
  if (typeof p === 'number') return { ipv4: p <= 32 ? p : 24, ipv6: p };
  return { ipv4: p.ipv4 ?? 24, ipv6: p.ipv6 ?? 64 };
}

// ---------------------------------------------------------------------------------------
// replay: the declared state after the initial objects and after each step, with checks

interface Located<T> {
  readonly raw: T;
  readonly path: readonly PathSegment[];
}

interface State {
  readonly namespaces: Map<string, Located<RawNamespace>>;
  readonly networks: Map<string, Located<RawNetwork>>;
  readonly pods: Map<string, Located<RawPod>>;
  readonly policies: Map<string, Located<MultiNetworkPolicy>>;
  readonly externals: Map<string, Located<External>>;
}

const copyState = (s: State): State => ({
  namespaces: new Map(s.namespaces),
  networks: new Map(s.networks),
  pods: new Map(s.pods),
  policies: new Map(s.policies),
  externals: new Map(s.externals),
});

class Checker {
  readonly errors: AgentError[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly source: string,
    private readonly doc: YamlDoc,
    private readonly node: string,
  ) {}

  private push(e: AgentError): void {
    const id = JSON.stringify(e);
    if (this.seen.has(id)) return; // a broken reference is reported once, not after every step
    this.seen.add(id);
    this.errors.push(e);
  }

  fail(path: readonly PathSegment[], problem: string): void {
    const line = lineOf(this.doc, path);
    this.push({ code: 'file-invalid', source: this.source, ...(line !== undefined ? { line } : {}), field: formatPath(path), problem });
  }

  /**
   * Adds the objects of `apply` to `state` (replacing same-key objects when `replace`; a key
   * twice within one apply is always an error). Returns the valid policies, in order.
   */
  add(state: State, apply: RawApply, base: readonly PathSegment[], replace: boolean): MultiNetworkPolicy[] {
    const added = new Set<string>();
    const put = <T>(map: Map<string, Located<T>>, key: string, raw: T, path: PathSegment[], what: string): void => {
      const id = `${what} ${key}`;
      if (added.has(id) || (!replace && map.has(key))) this.fail([...path, 'name'], `duplicate ${id}`);
      added.add(id);
      map.set(key, { raw, path });
    };
    const policies: MultiNetworkPolicy[] = [];
    (apply.namespaces ?? []).forEach((n, i) => put(state.namespaces, n.name, n, [...base, 'namespaces', i], 'namespace'));
    (apply.networks ?? []).forEach((n, i) => put(state.networks, `${n.namespace}/${n.name}`, n, [...base, 'networks', i], 'network'));
    (apply.pods ?? []).forEach((p, i) => {
      const path = [...base, 'pods', i];
      const names = new Set<string>();
      (p.interfaces ?? []).forEach((_, k) => {
        const name = ifaceName(p, k);
        if (names.has(name)) this.fail([...path, 'interfaces', k], `interface name ${name} is used twice in the pod`);
        names.add(name);
      });
      put(state.pods, `${p.namespace}/${p.name}`, p, path, 'pod');
    });
    (apply.policies ?? []).forEach((obj, i) => {
      const path = [...base, 'policies', i];
      const r = validatePolicy(obj, this.source);
      if (!r.ok) {
        // the policy's field, as a path from the top of the case file
        const e = r.error;
        this.push(e.code === 'input-invalid' ? locate({ ...e, field: formatPath([...path, ...parsePath(e.field)]) }, this.doc, []) : e);
        return;
      }
      put(state.policies, `${r.value.metadata.namespace}/${r.value.metadata.name}`, r.value, path, 'policy');
      policies.push(r.value);
    });
    (apply.externals ?? []).forEach((x, i) => put(state.externals, x.name, x, [...base, 'externals', i], 'external'));
    return policies;
  }

  remove(state: State, step: readonly CaseDelete[], base: readonly PathSegment[]): void {
    step.forEach((d, i) => {
      const path = [...base, 'delete', i];
      if (d.kind === 'Namespace') {
        if (!state.namespaces.delete(d.name)) return this.fail(path, `namespace ${d.name} does not exist`);
        for (const map of [state.networks, state.pods, state.policies] as Map<string, unknown>[]) {
          for (const key of [...map.keys()]) if (key.startsWith(`${d.name}/`)) map.delete(key);
        }
        return;
      }
      if (d.namespace === undefined) return this.fail(path, `${d.kind} needs a namespace`);
      const key = `${d.namespace}/${d.name}`;
      const map = { Pod: state.pods, NetworkAttachmentDefinition: state.networks, MultiNetworkPolicy: state.policies }[d.kind] as Map<
        string,
        unknown
      >;
      if (!map.delete(key)) this.fail(path, `${d.kind} ${key} does not exist`);
    });
  }

  /** Every namespace and network an object names is declared. */
  references(state: State): void {
    const ns = (namespace: string, path: readonly PathSegment[]): void => {
      if (!state.namespaces.has(namespace)) this.fail(path, `namespace ${namespace} is not declared`);
    };
    const net = (network: string, path: readonly PathSegment[]): void => {
      if (!state.networks.has(network)) this.fail(path, `network ${network} is not declared`);
    };
    for (const { raw, path } of state.networks.values()) ns(raw.namespace, [...path, 'namespace']);
    for (const { raw, path } of state.pods.values()) {
      ns(raw.namespace, [...path, 'namespace']);
      (raw.interfaces ?? []).forEach((itf, k) => net(itf.network, [...path, 'interfaces', k, 'network']));
    }
    for (const { raw, path } of state.policies.values()) ns(raw.metadata.namespace, [...path, 'metadata', 'namespace']);
    for (const { raw, path } of state.externals.values()) net(raw.network, [...path, 'network']);
  }

  probes(state: State, probes: readonly RawProbe[], base: readonly PathSegment[]): void {
    probes.forEach((p, i) => {
      const path = [...base, i];
      if (!state.networks.has(p.network)) return this.fail([...path, 'network'], `network ${p.network} is not declared`);
      if (p.from === p.to) return this.fail([...path, 'to'], 'is the same endpoint as from');
      const family = FAMILY_BITS[p.family ?? 'ipv4'];
      let local = false;
      for (const end of ['from', 'to'] as const) {
        const ref = p[end];
        const ext = ref.startsWith('external/') ? state.externals.get(ref.slice('external/'.length)) : undefined;
        const pod = ref.startsWith('external/') ? undefined : state.pods.get(ref);
        if (!ext && !pod) {
          const what = ref.startsWith('external/') ? `external ${ref.slice('external/'.length)}` : `pod ${ref}`;
          this.fail([...path, end], `${what} is not declared`);
          continue;
        }
        const ips = ext
          ? ext.raw.network === p.network ? ext.raw.ips : []
          : (pod!.raw.interfaces ?? []).filter((itf) => itf.network === p.network).flatMap((itf) => itf.ips);
        if (!ips.some((ip) => parseIp(ip)?.family === family)) {
          const what = ext ? `external ${ext.raw.name}` : `pod ${ref}`;
          this.fail([...path, end], `${what} has no ${p.family ?? 'ipv4'} address on ${p.network}`);
        }
        if (pod && (pod.raw.node ?? this.node) === this.node && pod.raw.hostNetwork !== true) local = true;
      }
      if (!local) this.fail(path, `neither end is a pod on the case's node ${this.node}`);
    });
  }
}

// ---------------------------------------------------------------------------------------
// entry points

/** Parses and checks a case; `source` names the file in messages and must end in `<name>.yaml`. */
export function parseCase(text: string, source: string): Result<ConformanceCase, readonly AgentError[]> {
  const fileError = (problem: string, line?: number, field?: string): AgentError => ({
    code: 'file-invalid',
    source,
    ...(line !== undefined ? { line } : {}),
    ...(field !== undefined ? { field } : {}),
    problem,
  });
  const docs = parseYaml(text).filter((d) => d.doc.contents !== null || d.doc.errors.length > 0);
  const d = docs[0];
  if (d === undefined) return err([fileError('holds no case')]);
  if (docs.length > 1) return err([fileError(`holds ${docs.length} YAML documents; a case file holds one`)]);
  const syntax = yamlError(d);
  if (syntax) return err([fileError(syntax.problem, syntax.line)]);
  const data: unknown = d.doc.toJS();
  if (!checkCase(data)) {
    const p = firstProblem(checkCase.errors, data);
    return err([fileError(p.problem, lineOf(d, p.path), formatPath(p.path) || '(case)')]);
  }
  const raw = data;
  const c = new Checker(source, d, raw.node);
  const stem = basename(source).replace(/\.ya?ml$/, '');
  if (stem !== basename(source) && raw.name !== stem) c.fail(['name'], `must equal the file name ${stem}`);

  const initial: State = { namespaces: new Map(), networks: new Map(), pods: new Map(), policies: new Map(), externals: new Map() };
  const policies = c.add(initial, raw, [], false);
  c.references(initial);
  c.probes(initial, raw.probes, ['probes']);
  let state = initial;
  const steps = raw.steps ?? [];
  const stepPolicies: MultiNetworkPolicy[][] = [];
  steps.forEach((step, s) => {
    const applied = copyState(state);
    stepPolicies.push(c.add(applied, step.apply ?? {}, ['steps', s, 'apply'], true));
    c.remove(applied, step.delete ?? [], ['steps', s]);
    if (!step.apply && !step.delete) c.fail(['steps', s], 'a step needs apply or delete');
    c.references(applied);
    c.probes(applied, step.probes ?? [], ['steps', s, 'probes']);
    state = applied;
  });
  if (c.errors.length > 0) return err(c.errors);

  // Everything a case declares, initial objects first, for identities stable across steps.
  const allNetworks = [...(raw.networks ?? []), ...steps.flatMap((s) => s.apply?.networks ?? [])];
  const allPods = [...(raw.pods ?? []), ...steps.flatMap((s) => s.apply?.pods ?? [])];
  const types = new Map(allNetworks.map((n) => [`${n.namespace}/${n.name}`, n.type]));
  const links = new Map<string, string[]>();
  for (const [key, type] of types) {
    if (type !== BOND) continue;
    const names = new Set<string>();
    for (const pod of allPods.filter((p) => (p.interfaces ?? []).some((i) => i.network === key))) {
      (pod.interfaces ?? []).forEach((itf, i) => {
        if (itf.ips.length === 0 && types.get(itf.network) === ACCELERATED_BRIDGE) names.add(ifaceName(pod, i));
      });
    }
    links.set(key, [...names]);
  }
  const synth: Synth = { node: raw.node, types, devices: assignDevices(allPods), links };

  const cluster: Cluster = {
    namespaces: (raw.namespaces ?? []).map(synthNamespace),
    networks: (raw.networks ?? []).map((n) => synthNetwork(n, synth)),
    pods: (raw.pods ?? []).map((p) => synthPod(p, synth)),
    policies,
    invalidPolicies: [],
  };
  const loaded: ConformanceCase = {
    name: raw.name,
    description: raw.description,
    node: raw.node,
    cluster,
    externals: raw.externals ?? [],
    probes: raw.probes.map(synthProbe),
    steps: steps.map(
      (step, s): CaseStep => ({
        description: step.description,
        apply: {
          namespaces: (step.apply?.namespaces ?? []).map(synthNamespace),
          networks: (step.apply?.networks ?? []).map((n) => synthNetwork(n, synth)),
          pods: (step.apply?.pods ?? []).map((p) => synthPod(p, synth)),
          policies: stepPolicies[s] ?? [],
          externals: step.apply?.externals ?? [],
        },
        delete: step.delete ?? [],
        probes: (step.probes ?? []).map(synthProbe),
      }),
    ),
    prefixes: Object.fromEntries(allNetworks.map((n) => [`${n.namespace}/${n.name}`, prefixOf(n)])),
  };
  return ok(deepFreeze(loaded));
}

/** Reads and parses a case file; every error found. */
export async function loadCase(path: string): Promise<Result<ConformanceCase, readonly AgentError[]>> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => e);
  if (text instanceof Error) {
    return err([{ code: 'file-invalid', source: path, problem: text.code === 'ENOENT' ? 'no such file or directory' : text.message }]);
  }
  return parseCase(text, path);
}

/** Reads and parses a case file; the first error found. */
export async function loadCaseFile(path: string): Promise<Result<ConformanceCase>> {
  const r = await loadCase(path);
  return r.ok ? r : err(r.error[0] as AgentError);
}

/** The cluster and externals after a step: apply creates or replaces, then delete. */
export function applyStep(
  cluster: Cluster,
  externals: readonly External[],
  step: Pick<CaseStep, 'apply' | 'delete'>,
): { cluster: Cluster; externals: readonly External[] } {
  const a: CaseApply = step.apply;
  const ns = (o: { metadata: { namespace?: string } }): string => o.metadata.namespace ?? '';
  const upsert = <T>(list: readonly T[], add: readonly T[], key: (x: T) => string): T[] => {
    const replaced = new Map(add.map((x) => [key(x), x]));
    const kept = list.map((x) => replaced.get(key(x)) ?? x);
    const present = new Set(list.map(key));
    return [...kept, ...add.filter((x) => !present.has(key(x)))];
  };
  const nsKey = (o: { metadata: { name: string; namespace?: string } }): string => `${ns(o)}/${o.metadata.name}`;
  let namespaces = upsert(cluster.namespaces, a.namespaces.map(withNameLabel), (n) => n.metadata.name);
  let networks = upsert(cluster.networks, a.networks, nsKey);
  let pods = upsert(cluster.pods, a.pods, nsKey);
  let policies = upsert(cluster.policies, a.policies, nsKey);
  let invalidPolicies = cluster.invalidPolicies;
  for (const d of step.delete) {
    if (d.kind === 'Namespace') {
      namespaces = namespaces.filter((n) => n.metadata.name !== d.name);
      networks = networks.filter((o) => ns(o) !== d.name);
      pods = pods.filter((o) => ns(o) !== d.name);
      policies = policies.filter((o) => ns(o) !== d.name);
      invalidPolicies = invalidPolicies.filter((p) => p.namespace !== d.name);
      continue;
    }
    const key = `${d.namespace ?? ''}/${d.name}`;
    if (d.kind === 'Pod') pods = pods.filter((o) => nsKey(o) !== key);
    else if (d.kind === 'NetworkAttachmentDefinition') networks = networks.filter((o) => nsKey(o) !== key);
    else policies = policies.filter((o) => nsKey(o) !== key);
  }
  return deepFreeze({
    cluster: { namespaces, networks, pods, policies, invalidPolicies },
    externals: upsert(externals, a.externals, (x) => x.name),
  });
}

/** Representor netdev name → the pod interface it stands for, over the case and its steps. */
export function caseRepresentors(c: ConformanceCase): ReadonlyMap<string, CaseRepresentor> {
  const out = new Map<string, CaseRepresentor>();
  for (const pod of [...c.cluster.pods, ...c.steps.flatMap((s) => s.apply.pods)]) {
    for (const e of parseNetworkStatus(pod).entries) {
      const rep = e['device-info']?.pci?.['representor-device'];
      if (rep !== undefined && e.interface !== undefined) {
        out.set(rep, { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, interface: e.interface, network: e.name });
      }
    }
  }
  return out;
}
