// What the kernel holds against what the pipeline wants, through the agent's own driver.
import { describeError } from '../../../core/api/errors.js';
import { adapterResolver } from '../../../core/agent/netdev-resolver.js';
import type { Cluster } from '../../../core/model/snapshot.js';
import { filterKey, type TcFilter } from '../../../core/model/tc.js';
import { diff } from '../../../core/pipeline/diff.js';
import { programNode } from '../../../core/pipeline/program-node.js';
import type { Wiring } from './lab-agent.js';

/** Netdev → the filters the pipeline wants on it for `cluster` (the reconciler's step 1). */
export async function desired(w: Wiring, cluster: Cluster, node: string): Promise<Map<string, readonly TcFilter[]>> {
  const np = programNode({ ...cluster }, node, w.adapters, w.compile);
  const resolve = adapterResolver(w.adapters);
  const out = new Map<string, readonly TcFilter[]>();
  for (const p of np.programs) {
    const devs = await resolve(p.endpoint);
    if (!devs.ok) throw new Error(`${p.endpoint.key}: ${describeError(devs.error)}`);
    for (const d of devs.value) out.set(d.name, p.compiled.filters);
  }
  return out;
}

/** Per netdev, the plan that would still be needed (empty when the kernel matches). */
export async function pending(w: Wiring, want: ReadonlyMap<string, readonly TcFilter[]>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const [dev, filters] of want) {
    const o = await w.driver.observe({ name: dev });
    if (!o.ok) {
      out.set(dev, [`observe failed: ${describeError(o.error)}`]);
      continue;
    }
    const ops = diff(filters, o.value).plan.ops.map((op) => op.op);
    if (ops.length > 0) out.set(dev, ops);
  }
  return out;
}

/** Every owned filter of the netdevs with its handle: equal snapshots mean nothing was touched. */
export async function snapshot(w: Wiring, devs: Iterable<string>): Promise<string[]> {
  const out: string[] = [];
  for (const dev of devs) {
    const o = await w.driver.observe({ name: dev });
    if (!o.ok) throw new Error(`observe ${dev}: ${describeError(o.error)}`);
    out.push(`${dev} qdisc ${o.value.qdisc}`, ...o.value.filters.map((f) => `${dev} ${filterKey(f)} handle ${f.handle}`));
  }
  return out.sort();
}

export function opCounts(ops: readonly string[]): string {
  const n = new Map<string, number>();
  for (const o of ops) n.set(o, (n.get(o) ?? 0) + 1);
  return [...n].map(([k, v]) => `${v} ${k}`).join(', ');
}
