// Per-port vs shared-block layout, side by side in one run: filters, (chain, pref) tables,
// and what an offloading NIC would hold, for the reference policies of filter-economy.ts
// (one target pod on the node) and for a generated node (many pods, one switch).
// Run: node --import tsx bench/layouts.ts [--quick] [--json]
import 'reflect-metadata';
import { offlineNetdevs } from '../core/cli/offline.js';
import type { TcFilter } from '../core/model/tc.js';
import { DEFAULT_NODE_OPTIONS, programNode, type NodeProgram } from '../core/pipeline/program-node.js';
import { programSwitches, standInSwitch } from '../core/pipeline/program-switch.js';
import { ClusterStore } from '../core/watch/store.js';
import { builtinAdapters } from '../test/fixtures/offline-adapters.js';
import { REFERENCE_POLICIES, referenceCluster } from './filter-economy.js';
import { apiObjects, generate, LOCAL_NODE, QUICK_SCALE, FULL_SCALE } from './scale/generate.js';
import { putAll } from './scale/load.js';

export interface LayoutCount {
  readonly filters: number;
  readonly tables: number;
  /**
   * Rules a switchdev NIC would hold: per-port, the ingress-hook filters (the egress hook is
   * never offloaded); shared block, every filter once per bound port, except `indev` filters,
   * which the driver keeps to their own port (mlx5e_flower_parse_meta).
   */
  readonly hwRules: number;
}

export interface LayoutRow {
  readonly title: string;
  readonly perPort: LayoutCount;
  readonly block: LayoutCount;
  /** Ports bound to the block (uplink included). */
  readonly ports: number;
}

const tables = (fs: readonly TcFilter[]): number => new Set(fs.map((f) => `${f.hook}/${f.chain}/${f.pref}`)).size;

/** Both layouts of one node; the block on one stand-in switch (uplink + the node's representors). */
export function compare(title: string, np: NodeProgram): LayoutRow {
  const reps = new Map(np.programs.map((p) => [p.endpoint.key, offlineNetdevs(p.endpoint.attachment)]));
  const sw = standInSwitch('uplink', [...reps.values()].flat());
  const perPortFilters = np.programs.flatMap((p) => p.compiled.filters.map((f) => ({ f, dev: reps.get(p.endpoint.key)![0]! })));
  const perPort: LayoutCount = {
    filters: perPortFilters.length,
    tables: new Set(perPortFilters.map(({ f, dev }) => `${dev}/${f.hook}/${f.chain}/${f.pref}`)).size,
    hwRules: perPortFilters.filter(({ f }) => f.hook === 'ingress').length,
  };
  const switches = programSwitches(np.programs, (ep) => reps.get(ep.key)?.map((rep) => ({ rep, eswitch: sw })), { stateful: DEFAULT_NODE_OPTIONS.stateful, ctZoneBase: 0 });
  const filters = switches.flatMap((s) => s.compiled.filters);
  const ports = switches[0]?.block.ports.length ?? 1;
  const block: LayoutCount = { filters: filters.length, tables: tables(filters), hwRules: filters.reduce((n, f) => n + (f.match.indev !== undefined ? 1 : ports), 0) };
  return { title, perPort, block, ports };
}

export async function layoutRows(quick: boolean): Promise<LayoutRow[]> {
  const adapters = await builtinAdapters(['accelerated-bridge']);
  const rows = REFERENCE_POLICIES.map(({ title, policies }) => compare(title, programNode(referenceCluster(policies), 'node-a', adapters, DEFAULT_NODE_OPTIONS)));
  const params = quick ? QUICK_SCALE : FULL_SCALE;
  const store = new ClusterStore();
  putAll(store, apiObjects(generate(params)));
  const np = programNode(store.snapshot(), LOCAL_NODE, adapters, DEFAULT_NODE_OPTIONS);
  rows.push(compare(`generated node: ${np.programs.length} attachments (${params.pods} pods, ${params.policies} policies)`, np));
  return rows;
}

export function layoutTable(rows: readonly LayoutRow[]): string {
  const lines = [
    '| node program | per-port filters | per-port tables | per-port rules offloadable (ingress hook) | shared-block filters | shared-block tables | shared-block rules in hardware (ports) |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) lines.push(`| ${r.title} | ${r.perPort.filters} | ${r.perPort.tables} | ${r.perPort.hwRules} | ${r.block.filters} | ${r.block.tables} | ${r.block.hwRules} (${r.ports}) |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await layoutRows(process.argv.includes('--quick'));
  console.log(process.argv.includes('--json') ? JSON.stringify(rows) : layoutTable(rows));
}
