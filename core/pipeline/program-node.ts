// The pure pipeline end to end for one node: select -> render -> compile. Offline commands
// (render, trace, check) and the reconciler all go through here, so they cannot disagree.
import type { Endpoint } from '../model/attachment.js';
import type { RuleSet } from '../model/rules.js';
import type { Cluster } from '../model/snapshot.js';
import { buildIndex, type ClusterIndex } from './cluster-index.js';
import { compile, DEFAULT_COMPILE_OPTIONS, type CompileOptions, type Compiled } from './compile.js';
import { render } from './render.js';
import { select, type PureAdapter, type Skipped } from './select.js';

export interface EndpointProgram {
  readonly endpoint: Endpoint;
  readonly rules: RuleSet;
  readonly compiled: Compiled;
}

export interface NodeProgram {
  readonly index: ClusterIndex;
  readonly programs: readonly EndpointProgram[];
  readonly skipped: readonly Skipped[];
}

export function programNode(cluster: Cluster, nodeName: string, adapters: readonly PureAdapter[], opts: CompileOptions = DEFAULT_COMPILE_OPTIONS): NodeProgram {
  const index = buildIndex(cluster);
  const { endpoints, skipped } = select(index, nodeName, adapters);
  const programs = endpoints.map((endpoint) => {
    const rules = render(endpoint, index);
    return { endpoint, rules, compiled: compile(rules, opts) };
  });
  return { index, programs, skipped };
}
