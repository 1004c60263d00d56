// `status`: what this node enforces right now. For every local attachment: its representor,
// the policies that apply to it, the filters installed there with their offload state
// (`in_hw`), and any drift between what is installed and what the policies say (with the tc
// lines that would repair it). With --layout shared-block the same per switch's block (with
// its ports) instead of per representor. Read-only: it observes through the driver, never applies.
// Exit 0 when everything is in sync, 1 when something drifted or could not be checked.
import { hostname } from 'node:os';
import { describeError } from '../api/errors.js';
import type { Sysfs } from '../api/ports.js';
import type { TcDriver } from '../api/tc-driver.js';
import type { CniAdapter } from '../api/cni-adapter.js';
import { wire } from '../agent/container.js';
import { discoverRepresentors } from '../agent/discover.js';
import { createLogger } from '../agent/logger.js';
import { BlockPrograms, type SharedBlockLayout } from '../agent/block-programs.js';
import { adapterResolver, offlineResolver, sharedBlockLayout } from '../agent/netdev-resolver.js';
import type { NetdevResolver } from '../agent/reconciler.js';
import type { Netdev } from '../model/attachment.js';
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
  /** The representor, or `block:N` in the shared-block layout. */
  readonly representor: string;
  /** A block's ports (the shared-block layout). */
  readonly ports?: readonly string[];
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

/** A filter as its `tc filter add` line reads after the target (`dev X` or `block N`). */
const filterText = (target: Netdev, f: TcFilter): string => {
  const [line] = toBatchLines(target, { ops: [{ op: 'add', filter: f }] });
  const prefix = target.block ? `filter add block ${target.block.index} ` : `filter add dev ${target.name} `;
  return `${line!.slice(prefix.length)}${f.handle !== undefined ? ` (handle ${f.handle})` : ''}`;
};

/** What one target wants: its programs (several endpoints: a bond's netdev, a block) and filters. */
interface Wanted {
  readonly target: Netdev;
  readonly programs: readonly EndpointProgram[];
  readonly filters: readonly TcFilter[];
  /** Endpoints that want different programs on one netdev. */
  readonly conflict?: boolean;
}

/** `layout`: the shared-block layout's switch lookup (absent: per-port). */
export async function nodeStatus(cluster: Cluster, node: string, cfg: AgentConfig, adapters: readonly CniAdapter[], driver: TcDriver, resolve: NetdevResolver, discovered: readonly string[], layout?: SharedBlockLayout): Promise<NodeStatus> {
  const program = programNode(cluster, node, adapters, nodeOptions(cfg));
  const byDev = new Map<string, EndpointProgram[]>();
  const devsOf = new Map<string, readonly Netdev[]>();
  const unresolved: NodeStatus['unresolved'][number][] = [];
  for (const p of program.programs) {
    const devs = await resolve(p.endpoint);
    if (!devs.ok) unresolved.push({ endpoint: p.endpoint.key, problem: describeError(devs.error) });
    else {
      devsOf.set(p.endpoint.key, devs.value);
      for (const d of devs.value) byDev.set(d.name, [...(byDev.get(d.name) ?? []), p]);
    }
  }
  const wanted: Wanted[] = [];
  if (layout) {
    const b = await new BlockPrograms(layout, nodeOptions(cfg)).wants(program.programs, devsOf, new Map(), true);
    for (const u of b.unresolved) unresolved.push({ endpoint: u.endpoint.key, problem: u.problem });
    for (const w of b.wants) wanted.push({ target: w.target, programs: w.programs, filters: w.filters });
  } else {
    // Representors the agent may have programmed that no attachment wants: anything of ours there is stale.
    for (const d of discovered) if (!byDev.has(d)) byDev.set(d, []);
    for (const [dev, programs] of byDev) {
      const conflict = new Set(programs.map((p) => JSON.stringify(p.compiled.filters))).size > 1;
      wanted.push({ target: { name: dev }, programs, filters: programs[0]?.compiled.filters ?? [], conflict });
    }
  }
  const representors: RepresentorStatus[] = [];
  for (const w of wanted.sort((a, b) => a.target.name.localeCompare(b.target.name))) {
    const s = await targetStatus(w, driver, !layout);
    if (s) representors.push(s);
  }
  return { node, representors, unresolved, skipped: program.skipped.map((s) => ({ pod: s.pod, ...(s.network ? { network: s.network } : {}), reason: s.reason, detail: s.detail })) };
}

/** One target observed and compared; undefined for a discovered representor with nothing of ours. */
async function targetStatus(w: Wanted, driver: TcDriver, perPort: boolean): Promise<RepresentorStatus | undefined> {
  const { target, programs, filters: desired } = w;
  const attachments = programs.map((p) => ({ endpoint: p.endpoint.key, network: p.endpoint.attachment.network, rules: ruleSetLines(p.rules) }));
  const base = { representor: target.name, ...(target.block ? { ports: target.block.ports } : {}), attachments, desired: desired.length };
  if (w.conflict) return { ...base, repair: [], problem: `claimed by ${attachments.map((a) => a.endpoint).join(', ')} with different programs; the agent leaves it as it is` };
  const observed = await driver.observe(target);
  if (!observed.ok) return { ...base, repair: [], problem: describeError(observed.error) };
  const o = observed.value;
  if (programs.length === 0 && o.filters.length === 0 && o.ingressBlock === undefined) return undefined;
  const d = diff(desired, o, { releaseAgentBlocks: perPort });
  const count = (v: boolean | undefined) => o.filters.filter((f) => f.inHw === v).length;
  return {
    ...base,
    installed: {
      qdisc: o.qdisc,
      filters: o.filters.map((f) => ({ filter: filterText(target, f), ...(f.inHw !== undefined ? { inHw: f.inHw } : {}) })),
      offload: { inHw: count(true), notInHw: count(false), unknown: count(undefined) },
      foreign: o.foreign,
    },
    repair: toBatchLines(target, d.plan),
    ...(d.unavailable ? { problem: d.unavailable } : {}),
  };
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
  const layout = cfg.layout === 'shared-block' ? sharedBlockLayout(dryRun ? null : wired.adapters, cfg.uplink) : undefined;
  const s = await nodeStatus(cluster, node, cfg, wired.adapters, wired.driver, dryRun ? offlineResolver : adapterResolver(wired.adapters), discovered, layout);
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
    lines.push(`== ${r.representor}${r.ports ? ` (ports ${r.ports.join(', ')})` : ''}: ${who}`);
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
