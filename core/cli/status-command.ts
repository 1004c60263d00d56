// `status`: what this node enforces right now. For every local attachment: its representor,
// the policies that apply to it, the filters installed there with their offload state
// (`in_hw`), and any drift between what is installed and what the policies say (with the tc
// lines that would repair it). Read-only: it observes through the driver, never applies.
// Exit 0 when everything is in sync, 1 when something drifted or could not be checked.
import { hostname } from 'node:os';
import { describeError } from '../api/errors.js';
import type { Sysfs } from '../api/ports.js';
import type { TcDriver } from '../api/tc-driver.js';
import type { CniAdapter } from '../api/cni-adapter.js';
import { wire } from '../agent/container.js';
import { discoverRepresentors } from '../agent/discover.js';
import { createLogger } from '../agent/logger.js';
import { adapterResolver, offlineResolver } from '../agent/netdev-resolver.js';
import type { NetdevResolver } from '../agent/reconciler.js';
import type { AgentConfig } from '../config.js';
import type { Cluster } from '../model/snapshot.js';
import type { ObservedTc, TcFilter } from '../model/tc.js';
import { diff } from '../pipeline/diff.js';
import { programNode, type EndpointProgram } from '../pipeline/program-node.js';
import { ClusterStore } from '../watch/store.js';
import { ExecaExec } from '../../drivers/shared/execa-exec.js';
import { toBatchLines } from '../../drivers/tc-cmdline/batch.js';
import { NodeSysfs } from '../../plugins/sysfs/node-sysfs.js';
import { ruleSetLines } from './format.js';
import { loadCluster, nodeOptions, UsageError } from './offline.js';

export interface StatusDeps {
  /** Adapters and driver already wired (tests); otherwise wired from the flags. */
  readonly wired?: { readonly adapters: readonly CniAdapter[]; readonly driver: TcDriver };
  readonly sysfs?: Sysfs;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

interface Offload {
  readonly inHw: number;
  readonly notInHw: number;
  readonly unknown: number;
}

export interface RepresentorStatus {
  readonly representor: string;
  readonly attachments: readonly { readonly endpoint: string; readonly network: string; readonly rules: readonly string[] }[];
  readonly desired: number;
  readonly installed?: { readonly qdisc: string | null; readonly filters: readonly { readonly filter: string; readonly inHw?: boolean }[]; readonly offload: Offload; readonly foreign: ObservedTc['foreign'] };
  /** The tc lines that would make the installed program equal to the desired one; [] = in sync. */
  readonly repair: readonly string[];
  readonly problem?: string;
}

export interface NodeStatus {
  readonly node: string;
  readonly representors: readonly RepresentorStatus[];
  readonly unresolved: readonly { readonly endpoint: string; readonly problem: string }[];
  readonly skipped: readonly { readonly pod: string; readonly network?: string; readonly reason: string; readonly detail: string }[];
}

const filterText = (dev: string, f: TcFilter): string => {
  const prefix = `filter add dev ${dev} `;
  const [line] = toBatchLines({ name: dev }, { ops: [{ op: 'add', filter: f }] });
  return `${line!.slice(prefix.length)}${f.handle !== undefined ? ` (handle ${f.handle})` : ''}`;
};

export async function nodeStatus(cluster: Cluster, node: string, cfg: AgentConfig, adapters: readonly CniAdapter[], driver: TcDriver, resolve: NetdevResolver, discovered: readonly string[]): Promise<NodeStatus> {
  const program = programNode(cluster, node, adapters, nodeOptions(cfg));
  const byDev = new Map<string, EndpointProgram[]>();
  const unresolved: NodeStatus['unresolved'][number][] = [];
  for (const p of program.programs) {
    const devs = await resolve(p.endpoint);
    if (!devs.ok) unresolved.push({ endpoint: p.endpoint.key, problem: describeError(devs.error) });
    else for (const d of devs.value) byDev.set(d.name, [...(byDev.get(d.name) ?? []), p]);
  }
  // Representors the agent may have programmed that no attachment wants: anything of ours there is stale.
  for (const d of discovered) if (!byDev.has(d)) byDev.set(d, []);
  const representors: RepresentorStatus[] = [];
  for (const [dev, programs] of [...byDev].sort(([a], [b]) => a.localeCompare(b))) {
    const attachments = programs.map((p) => ({ endpoint: p.endpoint.key, network: p.endpoint.attachment.network, rules: ruleSetLines(p.rules) }));
    const keys = new Set(programs.map((p) => JSON.stringify(p.compiled.filters)));
    const desired = programs[0]?.compiled.filters ?? [];
    const base = { representor: dev, attachments, desired: desired.length };
    if (keys.size > 1) {
      representors.push({ ...base, repair: [], problem: `claimed by ${attachments.map((a) => a.endpoint).join(', ')} with different programs; the agent leaves it as it is` });
      continue;
    }
    const observed = await driver.observe({ name: dev });
    if (!observed.ok) {
      representors.push({ ...base, repair: [], problem: describeError(observed.error) });
      continue;
    }
    const o = observed.value;
    if (programs.length === 0 && o.filters.length === 0) continue; // a discovered representor with nothing of ours
    const d = diff(desired, o);
    const count = (v: boolean | undefined) => o.filters.filter((f) => f.inHw === v).length;
    representors.push({
      ...base,
      installed: {
        qdisc: o.qdisc,
        filters: o.filters.map((f) => ({ filter: filterText(dev, f), ...(f.inHw !== undefined ? { inHw: f.inHw } : {}) })),
        offload: { inHw: count(true), notInHw: count(false), unknown: count(undefined) },
        foreign: o.foreign,
      },
      repair: toBatchLines({ name: dev }, d.plan),
      ...(d.unavailable ? { problem: d.unavailable } : {}),
    });
  }
  return { node, representors, unresolved, skipped: program.skipped.map((s) => ({ pod: s.pod, ...(s.network ? { network: s.network } : {}), reason: s.reason, detail: s.detail })) };
}

/** The cluster from --manifests, or from the API server (one list of each kind, then stop). */
async function clusterFrom(cfg: AgentConfig, env: StatusDeps['env']): Promise<Cluster> {
  if (cfg.manifests !== undefined) return loadCluster(cfg.manifests);
  const { loadKubeConfig, preflight } = await import('../watch/kubeconfig.js');
  const { ApiSource } = await import('../watch/api-source.js');
  const kc = loadKubeConfig({ ...(cfg.kubeconfig !== undefined ? { kubeconfig: cfg.kubeconfig } : {}), ...(cfg.master !== undefined ? { master: cfg.master } : {}), ...(env ? { env } : {}) });
  if (!kc.ok) throw new UsageError(describeError(kc.error));
  const pre = await preflight(kc.value, 15_000);
  if (!pre.ok) throw new UsageError(describeError(pre.error));
  const store = new ClusterStore();
  const source = new ApiSource(kc.value, store, createLogger({ verbosity: cfg.verbosity, level: 'warn', destination: process.stderr }));
  await source.start();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([source.whenSynced(), new Promise((_, reject) => (timer = setTimeout(() => reject(new UsageError('the API server did not list every kind within 60 s')), 60_000)))]);
    return store.snapshot();
  } finally {
    clearTimeout(timer);
    await source.stop();
  }
}

export async function statusCommand(cfg: AgentConfig, args: { readonly node: string | undefined; readonly output: string }, out: (s: string) => void, deps: StatusDeps = {}): Promise<number> {
  if (args.output !== 'text' && args.output !== 'json') throw new UsageError(`--output must be text or json, not ${args.output}`);
  // Not yet: status compares per-representor programs; a block's program is in the rules dump.
  if (cfg.layout === 'shared-block') throw new UsageError('status reads the per-port layout only; with --layout shared-block read the rules dump (--pod-rules-path) or `tc filter show block N`');
  const node = (args.node ?? cfg.hostnameOverride ?? hostname()).trim();
  const sysfs = deps.sysfs ?? new NodeSysfs('/');
  let wired = deps.wired;
  if (!wired) {
    const w = await wire(cfg, { logger: createLogger({ verbosity: cfg.verbosity, level: 'warn', destination: process.stderr }), exec: new ExecaExec(), sysfs });
    if (!w.ok) throw new UsageError(describeError(w.error));
    wired = w.value;
  }
  const cluster = await clusterFrom(cfg, deps.env);
  const dryRun = wired.driver.name === 'dry-run';
  const discovered = dryRun ? [] : (await discoverRepresentors(sysfs).catch(() => [])).map((d) => d.name);
  const s = await nodeStatus(cluster, node, cfg, wired.adapters, wired.driver, dryRun ? offlineResolver : adapterResolver(wired.adapters), discovered);
  const bad = s.unresolved.length + s.representors.filter((r) => r.repair.length > 0 || r.problem !== undefined).length;
  if (args.output === 'json') out(JSON.stringify(s, null, 2));
  else for (const l of statusLines(s, wired.driver.name)) out(l);
  return bad === 0 ? 0 : 1;
}

export function statusLines(s: NodeStatus, driver: string): string[] {
  const drifted = s.representors.filter((r) => r.repair.length > 0).length;
  const problems = s.representors.filter((r) => r.problem !== undefined).length + s.unresolved.length;
  const lines = [`# node ${s.node} (driver ${driver}): ${s.representors.length} representors, ${s.representors.length - drifted} in sync, ${drifted} drifted, ${problems} problems`];
  for (const x of s.skipped) lines.push(`# skipped ${x.pod}${x.network ? ` ${x.network}` : ''}: ${x.reason} (${x.detail})`);
  for (const u of s.unresolved) lines.push(`!! ${u.endpoint}: ${u.problem}`);
  for (const r of s.representors) {
    lines.push('');
    const who = r.attachments.length === 0 ? 'no attachment wants it (stale)' : r.attachments.map((a) => `${a.endpoint} on ${a.network}`).join(', ');
    lines.push(`== ${r.representor}: ${who}`);
    for (const a of r.attachments) for (const l of a.rules) lines.push(`   ${l}`);
    if (r.problem !== undefined) lines.push(`   !! ${r.problem}`);
    const i = r.installed;
    if (i) {
      const foreign = i.foreign.ingress + i.foreign.egress;
      lines.push(`   installed: qdisc ${i.qdisc ?? 'none'}, ${i.filters.length} filters of ours (${i.offload.inHw} in_hw, ${i.offload.notInHw} not_in_hw${i.offload.unknown ? `, ${i.offload.unknown} unknown` : ''})${foreign ? `, ${foreign} foreign` : ''}; desired ${r.desired}`);
      for (const f of i.filters) lines.push(`     ${f.inHw === true ? 'in_hw    ' : f.inHw === false ? 'not_in_hw' : '?        '} ${f.filter}`);
    }
    if (r.repair.length === 0) lines.push('   in sync');
    else {
      lines.push(`   drift: ${r.repair.length} tc lines would repair it:`);
      for (const l of r.repair) lines.push(`     ${l}`);
    }
  }
  return lines;
}
