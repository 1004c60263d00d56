// The node program, recomputed only where a change can matter. The stages are the same pure
// functions programNode() chains (buildIndex → select → render → compile), so the result is
// the same as a full recomputation (a test checks this); the cache only skips work:
//
//   change                              endpoints re-rendered
//   MultiNetworkPolicy ns/x             those in namespace ns (a policy only applies to its own namespace)
//   Pod ns/p (add, update, delete)      ns/p's own, and those on any network p has (or had) an address on
//                                       (a pod is a peer only through its address on the same network)
//   Namespace (labels, added, deleted)  those with an isolating policy that has a namespaceSelector
//                                       peer whose choice of that namespace changed (a namespace's
//                                       labels matter nowhere else)
//   NAD, anything unclear               all
//
// A re-rendered endpoint whose rules come out the same keeps its compiled program. The
// cluster index is rebuilt every pass, but from per-object parts kept in an IndexMemo (a pod's
// network-status is parsed once per object, not once per pass).
import { createHash } from 'node:crypto';
import type { Endpoint } from '../model/attachment.js';
import { NAMESPACE_NAME_LABEL, type Namespace, type PolicyPeer, type Pod } from '../model/k8s.js';
import { parseNetworkStatus } from '../model/network-status.js';
import type { RuleSet } from '../model/rules.js';
import type { Snapshot } from '../model/snapshot.js';
import { filterKey, type TcFilter } from '../model/tc.js';
import { buildIndex, IndexMemo, type ClusterIndex } from '../pipeline/cluster-index.js';
import { selects, type Labels } from '../pipeline/labels.js';
import { compile, type CompileOptions, type Compiled } from '../pipeline/compile.js';
import { endpointOptions, type EndpointProgram, type NodeOptions, type NodeProgram } from '../pipeline/program-node.js';
import { render } from '../pipeline/render.js';
import { select, type PureAdapter } from '../pipeline/select.js';
import type { Cached } from '../watch/admit.js';
import type { Kind } from '../watch/kinds.js';

/** What changed since the last pass, coarsely. */
export interface ChangeScope {
  all: boolean;
  readonly namespaces: Set<string>;
  readonly networks: Set<string>;
  readonly pods: Set<string>;
  /** Namespaces whose labels changed, or that came or went (labels undefined: absent). */
  readonly namespaceLabels: NamespaceChange[];
}

export interface NamespaceChange {
  readonly before: Labels | undefined;
  readonly after: Labels | undefined;
}

export const emptyScope = (): ChangeScope => ({ all: false, namespaces: new Set(), networks: new Set(), pods: new Set(), namespaceLabels: [] });

export const isEmptyScope = (s: ChangeScope): boolean => !s.all && s.namespaces.size === 0 && s.networks.size === 0 && s.pods.size === 0 && s.namespaceLabels.length === 0;

/** A namespace's labels as selectors see them (buildIndex adds the name label the same way). */
function namespaceLabels(v: Cached | undefined): Labels | undefined {
  if (v === undefined) return undefined;
  const ns = v as Namespace;
  return { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: ns.metadata.name };
}

/** Networks a pod has an address on, or undefined when its network-status cannot be read. */
function podNetworks(v: Cached | undefined): string[] | undefined {
  if (v === undefined) return [];
  const st = parseNetworkStatus(v as Pod);
  if (st.error !== undefined) return undefined;
  return st.entries.filter((e) => e.default !== true && (e.ips?.length ?? 0) > 0).map((e) => e.name);
}

/** Adds one store change to `scope`. */
export function noteChange(scope: ChangeScope, kind: Kind, key: string, before: Cached | undefined, after: Cached | undefined): void {
  switch (kind) {
    case 'MultiNetworkPolicy':
      scope.namespaces.add(key.slice(0, key.indexOf('/')));
      return;
    case 'Pod': {
      scope.pods.add(key);
      const nets = [podNetworks(before), podNetworks(after)];
      if (nets.some((n) => n === undefined)) scope.all = true;
      else for (const n of nets.flat()) scope.networks.add(n!);
      return;
    }
    case 'Namespace':
      scope.namespaceLabels.push({ before: namespaceLabels(before), after: namespaceLabels(after) });
      return;
    default:
      scope.all = true;
  }
}

interface Entry {
  readonly attachment: string;
  readonly options: CompileOptions;
  readonly rules: RuleSet;
  readonly rulesKey: string;
  readonly compiled: Compiled;
  /** A digest of the compiled filters: equal keys, equal programs ('' for no filters). */
  readonly programKey: string;
}

export interface IncrementalResult {
  readonly program: NodeProgram;
  /** Endpoint key → program key. */
  readonly keys: ReadonlyMap<string, string>;
  readonly rendered: number;
  readonly compiled: number;
}

/**
 * The filters' keys joined, as a SHA-256 digest: the joined text is ~13 kB per endpoint (2.6
 * million characters at 200 attachments), and the reconciler keeps a key per netdev and per
 * block for as long as the program stands.
 */
function programKey(filters: readonly TcFilter[]): string {
  if (filters.length === 0) return '';
  const h = createHash('sha256');
  for (const f of filters) h.update(filterKey(f)).update('\n');
  return h.digest('base64');
}

const rulesKeyOf = (rs: RuleSet): string => JSON.stringify([rs.ingress, rs.egress, rs.diagnostics]);

export class ProgramCache {
  private readonly entries = new Map<string, Entry>();
  private readonly memo = new IndexMemo();

  constructor(
    private readonly nodeName: string,
    private readonly adapters: readonly PureAdapter[],
    private readonly opts: NodeOptions,
  ) {}

  /** The node program for `snapshot`; endpoints outside `scope` reuse their cached program. */
  program(snapshot: Snapshot, scope: ChangeScope): IncrementalResult {
    const all = scope.all;
    const index = buildIndex(snapshot, this.memo);
    const nsPeers = all ? new Set<string>() : policiesSeeingNamespaceChanges(index, scope.namespaceLabels);
    const { endpoints, skipped } = select(index, this.nodeName, this.adapters);
    const programs: EndpointProgram[] = [];
    const keys = new Map<string, string>();
    let rendered = 0;
    let compiledCount = 0;
    const live = new Set<string>();
    for (const endpoint of endpoints) {
      live.add(endpoint.key);
      const attachment = JSON.stringify(endpoint.attachment);
      let e = this.entries.get(endpoint.key);
      if (!e || e.attachment !== attachment || all || affected(endpoint, scope) || seesNamespaceChange(e.rules, nsPeers)) {
        const rules = render(endpoint, index);
        rendered++;
        const options = endpointOptions(endpoint, index, this.opts);
        const rulesKey = rulesKeyOf(rules) + JSON.stringify(options);
        if (e && e.rulesKey === rulesKey) {
          e = { ...e, attachment, rules };
        } else {
          const compiled = compile(rules, options);
          compiledCount++;
          e = { attachment, options, rules, rulesKey, compiled, programKey: programKey(compiled.filters) };
        }
        this.entries.set(endpoint.key, e);
      }
      programs.push({ endpoint, rules: e.rules, compiled: e.compiled, options: e.options });
      keys.set(endpoint.key, e.programKey);
    }
    for (const k of this.entries.keys()) if (!live.has(k)) this.entries.delete(k);
    return { program: { index, programs, skipped }, keys, rendered, compiled: compiledCount };
  }
}

function affected(ep: Endpoint, scope: ChangeScope): boolean {
  return scope.namespaces.has(ep.pod.namespace) || scope.networks.has(ep.attachment.network) || scope.pods.has(`${ep.pod.namespace}/${ep.pod.name}`);
}

/**
 * `Ingress:ns/pol` / `Egress:ns/pol` for every policy with a namespaceSelector peer in that
 * direction whose choice of a changed namespace differs before and after the change.
 */
function policiesSeeingNamespaceChanges(index: ClusterIndex, changes: readonly NamespaceChange[]): Set<string> {
  const out = new Set<string>();
  const moved = changes.filter((c) => JSON.stringify(sorted(c.before)) !== JSON.stringify(sorted(c.after)));
  if (moved.length === 0) return out;
  const chosen = (sel: NonNullable<PolicyPeer['namespaceSelector']>, l: Labels | undefined): boolean => l !== undefined && selects(sel, l);
  const sees = (peers: readonly PolicyPeer[] | undefined): boolean =>
    (peers ?? []).some((p) => p.namespaceSelector !== undefined && moved.some((c) => chosen(p.namespaceSelector!, c.before) !== chosen(p.namespaceSelector!, c.after)));
  for (const list of index.policiesByNamespace.values()) {
    for (const pol of list) {
      const spec = pol.valid?.spec;
      if (!spec) continue; // an invalid policy allows nothing, whatever the labels
      if ((spec.ingress ?? []).some((r) => sees(r.from))) out.add(`Ingress:${pol.key}`);
      if ((spec.egress ?? []).some((r) => sees(r.to))) out.add(`Egress:${pol.key}`);
    }
  }
  return out;
}

const sorted = (l: Labels | undefined): [string, string][] | undefined => (l === undefined ? undefined : Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** The endpoint's last rules came from a policy whose namespaceSelector peers changed. */
function seesNamespaceChange(rules: RuleSet, keys: ReadonlySet<string>): boolean {
  if (keys.size === 0) return false;
  return (rules.ingress?.policies ?? []).some((k) => keys.has(`Ingress:${k}`)) || (rules.egress?.policies ?? []).some((k) => keys.has(`Egress:${k}`));
}
