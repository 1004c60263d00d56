// Scale measurement (not part of `npm test`): the agent's memory holding a generated cluster
// of 10 000 pods and 1 000 policies, and how many passes a burst of 1 000 pod events causes.
//
//   node --expose-gc --import tsx test/agent/scale.bench.ts [pods] [policies] [burst]
//
// The fake API server runs in a child process so that its own copy of the cluster does not
// count. The agent runs here exactly as in production (ApiSource informers, default reconciler
// timing), with the dry-run driver and netdevs named by network-status.
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Agent } from '../../core/agent/agent.js';
import { offlineResolver } from '../../core/agent/netdev-resolver.js';
import { DEFAULT_NODE_OPTIONS } from '../../core/pipeline/program-node.js';
import { programNode } from '../../core/pipeline/program-node.js';
import { noopEventSink } from '../../core/report/events.js';
import { ApiSource } from '../../core/watch/api-source.js';
import { loadKubeConfig } from '../../core/watch/kubeconfig.js';
import { ClusterStore } from '../../core/watch/store.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { AcceleratedBridgeAdapter } from '../../plugins/accelerated-bridge/adapter.js';
import { FakeApiServer } from '../fake-apiserver/server.js';
import { appOf, generateCluster, podObject } from './scale-cluster.js';

const args = process.argv.slice(2).filter((a) => a !== '--serve');
const [PODS, POLICIES, BURST] = [Number(args[0] ?? 10_000), Number(args[1] ?? 1_000), Number(args[2] ?? 1_000)];

// ---- the fake API server with the generated cluster (child process) ------------------

async function serve(): Promise<void> {
  const s = await FakeApiServer.start();
  for (const [resource, obj] of generateCluster(PODS, POLICIES)) s.apply(resource, obj);
  s.compact(); // the seeding is history nobody will ask for
  process.send!({ url: s.url });
  process.on('message', (m: { burst?: number; one?: boolean }) => {
    if (m.one) {
      s.apply('pods', podObject(4212, 7)); // one pod (worker-42, net-2) moves to app a7
      process.send!({ oneDone: true });
      return;
    }
    if (m.burst === undefined) return;
    // 1 000 pod events at once: pods move between apps (peers of some policies change).
    for (let k = 0; k < m.burst; k++) {
      const i = (k * 7919) % PODS;
      s.apply('pods', podObject(i, (appOf(i) + 1) % 50));
    }
    process.send!({ burstDone: true });
  });
  process.on('disconnect', () => void s.stop().then(() => process.exit(0)));
}

// ---- the agent (this process) -----------------------------------------------------------

const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function measure(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) console.error('note: run with --expose-gc for settled numbers');
  const child = fork(fileURLToPath(import.meta.url), ['--serve', String(PODS), String(POLICIES), String(BURST)], { execArgv: import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [] });
  const url = await new Promise<string>((r) => child.once('message', (m: { url: string }) => r(m.url)));

  const log = pino({ level: 'warn' });
  const noSysfs = { readFile: async () => undefined, readlink: async () => undefined, readdir: async () => [] };
  const kc = loadKubeConfig({ master: url });
  if (!kc.ok) throw new Error('kubeconfig');
  const store = new ClusterStore();
  const driver = new DryRunTcDriver();
  gc();
  const before = process.memoryUsage();

  const passMs: number[] = [];
  const t0 = Date.now();
  const agent = new Agent({
    nodeName: 'worker-1',
    store,
    source: new ApiSource(kc.value, store, log),
    adapters: [new AcceleratedBridgeAdapter(noSysfs, log)],
    driver,
    resolve: offlineResolver,
    nodeOptions: DEFAULT_NODE_OPTIONS,
    reporters: [{ passDone: (r) => void passMs.push(r.ms) }],
    events: noopEventSink,
    log,
  });
  await agent.start({ passes: false });
  await agent.whenSynced();
  const synced = Date.now() - t0;
  await sleep(500);
  gc();
  const cached = process.memoryUsage(); // the informer caches and the store: the cluster in memory
  const snap = store.snapshot();
  const tp = Date.now();
  programNode(snap, 'worker-1', [new AcceleratedBridgeAdapter(noSysfs, log)], DEFAULT_NODE_OPTIONS);
  const pureMs = Date.now() - tp; // select → render → compile for every local endpoint, no driver
  const t1 = Date.now();
  agent.reconciler.enable();
  const first = await agent.reconciler.whenFirstPassDone();
  const firstPassMs = Date.now() - t1;
  await sleep(500);
  gc();
  const held = process.memoryUsage(); // plus the programs and the dry-run driver's in-memory TC state

  // The burst.
  let changes = 0;
  store.onChange((kind) => kind === 'Pod' && changes++);
  const passes0 = agent.reconciler.stats.passes;
  const applies0 = agent.reconciler.stats.applies;
  const tb = Date.now();
  child.send({ burst: BURST });
  while (changes < BURST) await sleep(10);
  const delivered = Date.now() - tb;
  let last = agent.reconciler.stats.passes;
  for (;;) {
    await sleep(1500);
    if (agent.reconciler.stats.passes === last) break;
    last = agent.reconciler.stats.passes;
  }
  const passes = agent.reconciler.stats.passes - passes0;
  const applies = agent.reconciler.stats.applies - applies0;
  const rendered = agent.reconciler.stats.rendered;

  // One pod event: only the endpoints on that pod's network are re-rendered.
  const p1 = agent.reconciler.stats.passes;
  const r1 = agent.reconciler.stats.rendered;
  const c1 = agent.reconciler.stats.compiled;
  child.send({ one: true });
  while (agent.reconciler.stats.passes === p1) await sleep(10);
  const one = { passMs: passMs.at(-1), rendered: agent.reconciler.stats.rendered - r1, compiled: agent.reconciler.stats.compiled - c1 };
  void rendered;

  const result = {
    cluster: { pods: snap.pods.length, policies: snap.policies.length + snap.invalidPolicies.length, namespaces: snap.namespaces.length, networks: snap.networks.length },
    local: { endpoints: first.program.programs.length, netdevs: first.netdevs.length, filters: first.netdevs.reduce((n, d) => n + d.filters.length, 0) },
    timeMs: { listAndSync: synced, programNode: pureMs, firstPass: firstPassMs, burstPasses: passMs.slice(1) },
    memoryMB: {
      before: { rss: mb(before.rss), heapUsed: mb(before.heapUsed) },
      clusterCached: { rss: mb(cached.rss), heapUsed: mb(cached.heapUsed), rssDelta: mb(cached.rss - before.rss), heapDelta: mb(cached.heapUsed - before.heapUsed) },
      afterFirstPass: { rss: mb(held.rss), heapUsed: mb(held.heapUsed), rssDelta: mb(held.rss - before.rss), heapDelta: mb(held.heapUsed - before.heapUsed) },
    },
    burst: { podEvents: BURST, deliveredInMs: delivered, passes, netdevApplies: applies },
    onePodEvent: one,
  };
  console.log(JSON.stringify(result, null, 2));
  await agent.stop();
  child.disconnect();
}

if (process.argv.includes('--serve')) {
  await serve();
} else {
  await measure();
}
