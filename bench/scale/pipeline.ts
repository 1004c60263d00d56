// Scale of the pure pipeline: a generated cluster (generate.ts) admitted into the agent's
// store exactly as the informers do (trim, validate), then
//   1. select → render → compile for node-0 from scratch (programNode, stage by stage);
//   2. the reconciler as the agent runs it (incremental program, diff, apply to an in-memory
//      driver): a first full pass, then one pod relabelled, one policy edited, one namespace
//      relabelled — each applied and reverted `repeat` times — counting the attachments
//      re-rendered and recompiled, the netdevs touched and the filter ops sent.
//
//   node <build>/bench/scale/pipeline.js [--quick] [--repeat N] [--json] [--profile-dir DIR]
//
// --profile-dir writes full.cpuprofile and incremental.cpuprofile (the phases only).
//
// `npm run bench` runs it as compiled JavaScript (bench/run.ts builds the tree first).
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { offlineResolver } from '../../core/agent/netdev-resolver.js';
import { Reconciler, type PassResult } from '../../core/agent/reconciler.js';
import { buildIndex } from '../../core/pipeline/cluster-index.js';
import { compile } from '../../core/pipeline/compile.js';
import { DEFAULT_NODE_OPTIONS, endpointOptions } from '../../core/pipeline/program-node.js';
import { render } from '../../core/pipeline/render.js';
import { select } from '../../core/pipeline/select.js';
import { Interner } from '../../core/watch/intern.js';
import { ClusterStore } from '../../core/watch/store.js';
import type { K8sObject, Resource } from '../../test/fake-apiserver/server.js';
import { builtinAdapters } from '../../test/fixtures/offline-adapters.js';
import { PhaseProfiler } from '../lib/profiler.js';
import { median } from '../lib/table.js';
import { apiObjects, FULL_SCALE, generate, LOCAL_NODE, QUICK_SCALE, type ScaleParams } from './generate.js';
import { put, putAll } from './load.js';
import { MemoryTcDriver, zeroCounts, type DriverCounts } from './memory-driver.js';

export interface FullRun {
  readonly indexMs: number;
  readonly selectMs: number;
  readonly renderMs: number;
  readonly compileMs: number;
  readonly totalMs: number;
}

export interface ChangeRun {
  readonly change: string;
  readonly detail: string;
  /** Median over the repeats of the pass that applies the change. */
  readonly passMs: number;
  readonly passMsAll: readonly number[];
  readonly rendered: number;
  readonly compiled: number;
  readonly netdevsVisited: number;
  readonly netdevsApplied: number;
  readonly ops: DriverCounts;
}

export interface PipelineResult {
  readonly params: ScaleParams;
  readonly runtime: string;
  readonly cluster: { pods: number; policies: number; namespaces: number; networks: number };
  readonly admitMs: number;
  readonly local: { endpoints: number; filters: number; netdevs: number };
  readonly full: FullRun;
  readonly fullRuns: readonly FullRun[];
  readonly firstPassMs: number;
  readonly noChangePassMs: number;
  readonly changes: readonly ChangeRun[];
  readonly heapUsedMB: number;
}

const labelsOf = (o: K8sObject): Record<string, string> => o.metadata['labels'] as Record<string, string>;

export async function pipelineBench(params: ScaleParams, repeat: number, profileDir?: string): Promise<PipelineResult> {
  const prof = new PhaseProfiler(profileDir);
  const gen = generate(params);
  const adapters = await builtinAdapters(['accelerated-bridge']);
  const store = new ClusterStore();
  const a0 = performance.now();
  const interner = new Interner(); // as the API source trims
  putAll(store, apiObjects(gen), interner); // in the order the informers' initial lists deliver them
  const admitMs = performance.now() - a0;
  const snap = store.snapshot();

  // 1. from scratch, stage by stage (what programNode does)
  const fullRuns: FullRun[] = [];
  await prof.start();
  let endpoints = 0;
  let filters = 0;
  for (let k = 0; k < repeat; k++) {
    const t0 = performance.now();
    const index = buildIndex(snap);
    const t1 = performance.now();
    const sel = select(index, LOCAL_NODE, adapters);
    const t2 = performance.now();
    const rules = sel.endpoints.map((ep) => render(ep, index));
    const t3 = performance.now();
    const compiled = sel.endpoints.map((ep, i) => compile(rules[i]!, endpointOptions(ep, index, DEFAULT_NODE_OPTIONS)));
    const t4 = performance.now();
    endpoints = sel.endpoints.length;
    filters = compiled.reduce((n, c) => n + c.filters.length, 0);
    fullRuns.push({ indexMs: t1 - t0, selectMs: t2 - t1, renderMs: t3 - t2, compileMs: t4 - t3, totalMs: t4 - t0 });
  }
  await prof.stop('full');
  const pickMedian = (runs: readonly FullRun[]): FullRun => {
    const m = median(runs.map((r) => r.totalMs));
    return runs.reduce((best, r) => (Math.abs(r.totalMs - m) < Math.abs(best.totalMs - m) ? r : best));
  };

  // 2. the reconciler: first pass, then incremental ones
  const driver = new MemoryTcDriver();
  const reconciler = new Reconciler({
    store,
    nodeName: LOCAL_NODE,
    adapters,
    nodeOptions: DEFAULT_NODE_OPTIONS,
    driver,
    resolve: offlineResolver,
    log: pino({ level: 'silent' }),
    timing: { resyncMs: 0 },
  });
  const f0 = performance.now();
  const first = await reconciler.runOnce(true);
  const firstPassMs = performance.now() - f0;
  if (first.failed > 0) throw new Error(`first pass: ${first.failed} failures`);
  const n0 = performance.now();
  await reconciler.runOnce(false);
  const noChangePassMs = performance.now() - n0;

  const pass = async (): Promise<{ r: PassResult; ms: number; rendered: number; compiled: number; ops: DriverCounts }> => {
    const s = { ...reconciler.stats };
    const c = { ...driver.counts };
    const t = performance.now();
    const r = await reconciler.runOnce(false);
    const ms = performance.now() - t;
    const ops = zeroCounts();
    for (const k of Object.keys(ops) as (keyof DriverCounts)[]) ops[k] = driver.counts[k] - c[k];
    return { r, ms, rendered: reconciler.stats.rendered - s.rendered, compiled: reconciler.stats.compiled - s.compiled, ops };
  };

  // The changed objects, picked from the seeded cluster so that each one matters to node-0:
  // a remote pod that is a peer of a local attachment, a policy that applies to one, and a
  // shared-services namespace (the kind that other namespaces' selectors name).
  const programs = first.program.programs;
  const peerAddrs = new Set<string>();
  const applied = new Set<string>();
  for (const p of programs) {
    for (const dir of [p.rules.ingress, p.rules.egress]) {
      for (const k of dir?.policies ?? []) applied.add(k);
      for (const g of dir?.grants ?? []) for (const c of g.peers) if (c.endsWith('/32') || c.endsWith('/128')) peerAddrs.add(c.slice(0, c.indexOf('/')));
    }
  }
  const ipsOf = (o: K8sObject): string[] => {
    const st = (o.metadata as { annotations?: Record<string, string> }).annotations?.['k8s.v1.cni.cncf.io/network-status'];
    return st ? (JSON.parse(st) as { ips?: string[]; default?: boolean }[]).filter((e) => !e.default).flatMap((e) => e.ips ?? []) : [];
  };
  const peer = gen.pods.find((p) => !p.local && ipsOf(p.object).some((ip) => peerAddrs.has(ip)));
  if (!peer) throw new Error('no remote pod is a peer of a local attachment');
  const relabelled = structuredClone(peer.object);
  const labels = labelsOf(relabelled);
  delete labels['app']; // out of every selector that names app or tier ("app Exists" included)
  labels['tier'] = 'moved';

  const ruleOf = (p: K8sObject) => {
    const spec = p['spec'] as { ingress?: { from?: unknown[]; ports?: unknown[] }[]; egress?: { to?: unknown[]; ports?: unknown[] }[] };
    const r = spec.ingress?.[0] ?? spec.egress?.[0];
    return r && r.ports && ((r as { from?: unknown[] }).from ?? (r as { to?: unknown[] }).to) ? r : undefined;
  };
  const policy = gen.policies.find((p) => applied.has(`${p.metadata.namespace}/${p.metadata.name}`) && ruleOf(p) !== undefined);
  if (!policy) throw new Error('no policy with ports applies to a local attachment');
  const edited = structuredClone(policy);
  const rule = ruleOf(edited)!;
  rule.ports = [...rule.ports!, { protocol: 'TCP', port: 8081 }];

  // a shared-services namespace whose workers are peers of node-0 (through the policies that
  // let `purpose In (monitoring, logging)` namespaces in), else the first shared-services one
  const workerAddrs = (ns: string): string[] => gen.pods.filter((p) => p.namespace === ns && labelsOf(p.object)['tier'] === 'worker').flatMap((p) => ipsOf(p.object));
  const shared = gen.namespaces.filter((n) => labelsOf(n)['purpose'] !== undefined);
  const ns = shared.find((n) => workerAddrs(n.metadata.name).some((ip) => peerAddrs.has(ip))) ?? shared[0]!;
  const nsEdited = structuredClone(ns);
  const nsLabels = labelsOf(nsEdited);
  delete nsLabels['purpose'];
  nsLabels['team'] = 'team-moved';

  const changes: { change: string; detail: string; resource: Resource; before: K8sObject; after: K8sObject }[] = [
    { change: 'one pod relabelled', detail: `${peer.namespace}/${peer.name}, a remote peer of node-0: app label removed, tier changed`, resource: 'pods', before: peer.object, after: relabelled },
    { change: 'one policy edited', detail: `${policy.metadata.namespace}/${policy.metadata.name}, applied on node-0: a port added to its first rule`, resource: 'policies', before: policy, after: edited },
    { change: 'one namespace relabelled', detail: `${ns.metadata.name}, a shared-services namespace: purpose label removed, team changed`, resource: 'namespaces', before: ns, after: nsEdited },
  ];
  const runs: ChangeRun[] = [];
  await prof.start();
  for (const c of changes) {
    const times: number[] = [];
    let firstApply: Awaited<ReturnType<typeof pass>> | undefined;
    for (let k = 0; k < repeat; k++) {
      put(store, c.resource, c.after, interner);
      const p = await pass();
      times.push(p.ms);
      firstApply ??= p;
      put(store, c.resource, c.before, interner);
      await pass();
    }
    const p = firstApply!;
    runs.push({ change: c.change, detail: c.detail, passMs: median(times), passMsAll: times, rendered: p.rendered, compiled: p.compiled, netdevsVisited: p.r.visited, netdevsApplied: p.r.applied, ops: p.ops });
  }
  await prof.stop('incremental');
  (globalThis as { gc?: () => void }).gc?.();
  return {
    params,
    runtime: `node ${process.version}, ${import.meta.url.endsWith('.ts') ? 'TypeScript through tsx' : 'compiled JavaScript (tsc)'}`,
    cluster: { pods: snap.pods.length, policies: snap.policies.length + snap.invalidPolicies.length, namespaces: snap.namespaces.length, networks: snap.networks.length },
    admitMs,
    local: { endpoints, filters, netdevs: first.netdevs.length },
    full: pickMedian(fullRuns),
    fullRuns,
    firstPassMs,
    noChangePassMs,
    changes: runs,
    heapUsedMB: process.memoryUsage().heapUsed / 1048576,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, repeat: { type: 'string' }, json: { type: 'boolean', default: false }, 'profile-dir': { type: 'string' } } });
  const params = values.quick ? QUICK_SCALE : FULL_SCALE;
  const r = await pipelineBench(params, Number(values.repeat ?? (values.quick ? 3 : 5)), values['profile-dir']);
  if (values.json) console.log(JSON.stringify(r));
  else console.log(JSON.stringify(r, null, 2));
}
