// The pure pipeline end to end for one node: select -> render -> compile. Offline commands
// (render, trace, check) and the reconciler all go through here, so they cannot disagree.
import type { Endpoint } from '../model/attachment.js';
import type { RuleSet } from '../model/rules.js';
import type { Cluster } from '../model/snapshot.js';
import { buildIndex, type ClusterIndex } from './cluster-index.js';
import { compile, type CompileOptions, type Compiled } from './compile.js';
import { encapsulationsFor, type EncapsulationSetting } from './encapsulations.js';
import { render } from './render.js';
import { select, type PureAdapter, type Skipped } from './select.js';

export interface EndpointProgram {
  readonly endpoint: Endpoint;
  readonly rules: RuleSet;
  readonly compiled: Compiled;
  /** The options this endpoint was compiled with (encapsulations resolved for its network). */
  readonly options: CompileOptions;
}

export type NodeOptions = Omit<CompileOptions, 'encapsulations'> & { readonly encapsulations: EncapsulationSetting };

export const DEFAULT_NODE_OPTIONS: NodeOptions = { stateful: true, ctZone: 0, encapsulations: 'auto' };

export interface NodeProgram {
  readonly index: ClusterIndex;
  readonly programs: readonly EndpointProgram[];
  readonly skipped: readonly Skipped[];
}

export function programNode(cluster: Cluster, nodeName: string, adapters: readonly PureAdapter[], opts: NodeOptions = DEFAULT_NODE_OPTIONS): NodeProgram {
  const index = buildIndex(cluster);
  const { endpoints, skipped } = select(index, nodeName, adapters);
  const programs = endpoints.map((endpoint) => {
    const rules = render(endpoint, index);
    const options = endpointOptions(endpoint, index, opts);
    return { endpoint, rules, compiled: compile(rules, options), options };
  });
  return { index, programs, skipped };
}

/** Compile options of one endpoint: the encapsulations follow its network (and its bond links'). */
export function endpointOptions(endpoint: Endpoint, index: ClusterIndex, opts: NodeOptions): CompileOptions {
  const a = endpoint.attachment;
  const nets = [a.network, ...(a.members ?? []).map((m) => m.network)].map((n) => index.networks.get(n));
  return { ...opts, encapsulations: encapsulationsFor(opts.encapsulations, nets) };
}
