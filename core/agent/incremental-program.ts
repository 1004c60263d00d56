// The node program, recomputed only where a change can matter. The stages are the same pure
// functions programNode() chains (buildIndex → select → render → compile), so the result is
// the same as a full recomputation (a test checks this); the cache only skips work:
//
//   change                              endpoints re-rendered
//   MultiNetworkPolicy ns/x             those in namespace ns (a policy only applies to its own namespace)
//   Pod ns/p (add, update, delete)      ns/p's own, and those on any network p has (or had) an address on
//                                       (a pod is a peer only through its address on the same network)
//   Namespace, NAD, anything unclear    all
//
// A re-rendered endpoint whose rules come out the same keeps its compiled program.
import type { Endpoint } from '../model/attachment.js';
import type { Pod } from '../model/k8s.js';
import { parseNetworkStatus } from '../model/network-status.js';
import type { RuleSet } from '../model/rules.js';
import type { Snapshot } from '../model/snapshot.js';
import { filterKey } from '../model/tc.js';
import { buildIndex } from '../pipeline/cluster-index.js';
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
}

export const emptyScope = (): ChangeScope => ({ all: false, namespaces: new Set(), networks: new Set(), pods: new Set() });

export const isEmptyScope = (s: ChangeScope): boolean => !s.all && s.namespaces.size === 0 && s.networks.size === 0 && s.pods.size === 0;

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
  /** The compiled filters as one string: equal strings, equal programs. */
  readonly programKey: string;
}

export interface IncrementalResult {
  readonly program: NodeProgram;
  /** Endpoint key → program key. */
  readonly keys: ReadonlyMap<string, string>;
  readonly rendered: number;
  readonly compiled: number;
}

const rulesKeyOf = (rs: RuleSet): string => JSON.stringify([rs.ingress, rs.egress, rs.diagnostics]);

export class ProgramCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly nodeName: string,
    private readonly adapters: readonly PureAdapter[],
    private readonly opts: NodeOptions,
  ) {}

  /** The node program for `snapshot`; endpoints outside `scope` reuse their cached program. */
  program(snapshot: Snapshot, scope: ChangeScope): IncrementalResult {
    const all = scope.all;
    const index = buildIndex(snapshot);
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
      if (!e || e.attachment !== attachment || all || affected(endpoint, scope)) {
        const rules = render(endpoint, index);
        rendered++;
        const options = endpointOptions(endpoint, index, this.opts);
        const rulesKey = rulesKeyOf(rules) + JSON.stringify(options);
        if (e && e.rulesKey === rulesKey) {
          e = { ...e, attachment, rules };
        } else {
          const compiled = compile(rules, options);
          compiledCount++;
          e = { attachment, options, rules, rulesKey, compiled, programKey: compiled.filters.map(filterKey).join('\n') };
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
