// The agent as integration tests run it: real client-node informers against the fake API
// server, the real reconciler, the dry-run driver (in-memory kernel), short timings. And the
// oracle every test ends with: the driver's state equals a fresh full render of what the API
// server holds now (no stale rule, nothing missing).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { pino, type Logger } from 'pino';
import { Agent } from '../../core/agent/agent.js';
import { offlineResolver } from '../../core/agent/netdev-resolver.js';
import { Reconciler, type AppliedChange, type Failure, type NetdevResolver, type ReconcilerTiming, type Reporter, type SharedBlockLayout } from '../../core/agent/reconciler.js';
import type { TcDriver } from '../../core/api/tc-driver.js';
import type { MultiNetworkPolicy, Namespace, NetworkAttachmentDefinition, Pod } from '../../core/model/k8s.js';
import type { Cluster, InvalidPolicy } from '../../core/model/snapshot.js';
import { filterKey, type TcFilter } from '../../core/model/tc.js';
import { validatePolicy } from '../../core/model/validate.js';
import { DEFAULT_NODE_OPTIONS } from '../../core/pipeline/program-node.js';
import { programNode } from '../../core/pipeline/program-node.js';
import { ApiEventSink } from '../../core/report/api-event-sink.js';
import { EventReporter } from '../../core/report/events.js';
import { ApiSource } from '../../core/watch/api-source.js';
import { loadKubeConfig } from '../../core/watch/kubeconfig.js';
import { ClusterStore } from '../../core/watch/store.js';
import type { InformerTiming } from '../../core/watch/supervised-informer.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { observeState } from '../../drivers/dry-run/fake-kernel.js';
import { AcceleratedBridgeAdapter } from '../../plugins/accelerated-bridge/adapter.js';
import { FakeApiServer, type K8sObject } from '../fake-apiserver/server.js';

export const NODE = 'worker-1';
export const silent: Logger = pino({ level: process.env.TEST_LOG ?? 'silent' });

export const FAST_INFORMERS: InformerTiming = {
  backoff: { initialMs: 20, maxMs: 200 },
  watchdogMs: 400,
  listTimeoutMs: 2_000,
  shortWatchMs: 50,
};

export const FAST_RECONCILER: Partial<ReconcilerTiming> = {
  coalesceMs: 10,
  minIntervalMs: 20,
  resyncMs: 0,
  retry: { initialMs: 50, maxMs: 400 },
};

const noSysfs = { readFile: async () => undefined, readlink: async () => undefined, readdir: async () => [] };
export const adapter = new AcceleratedBridgeAdapter(noSysfs, silent);

// ---- objects ---------------------------------------------------------------------------

export function ns(name: string, labels: Record<string, string> = {}): K8sObject {
  return { metadata: { name, labels: { ...labels, 'kubernetes.io/metadata.name': name } } };
}

export function nad(key: string, type = 'accelerated-bridge'): K8sObject {
  const [namespace, name] = key.split('/') as [string, string];
  return { metadata: { name, namespace }, spec: { config: JSON.stringify({ cniVersion: '1.0.0', name, type }) } };
}

export interface PodOpts {
  readonly labels?: Record<string, string>;
  readonly node?: string;
  readonly phase?: string;
  /** [network, representor, ip] per secondary interface. */
  readonly nets: readonly (readonly [string, string, string])[];
  readonly ports?: readonly { name: string; containerPort: number }[];
}

export function pod(key: string, o: PodOpts): K8sObject {
  const [namespace, name] = key.split('/') as [string, string];
  const status = [
    { name: 'cbr0', interface: 'eth0', ips: ['10.244.0.9'], default: true },
    ...o.nets.map(([network, rep, ip], i) => ({
      name: network,
      interface: `net${i + 1}`,
      ips: [ip],
      'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': `0000:03:00.${i + 2}`, 'representor-device': rep } },
    })),
  ];
  return {
    metadata: {
      name,
      namespace,
      uid: `uid-${namespace}-${name}`,
      labels: o.labels ?? {},
      annotations: { 'k8s.v1.cni.cncf.io/network-status': JSON.stringify(status), 'k8s.v1.cni.cncf.io/networks': o.nets.map((n) => n[0]).join(',') },
      managedFields: [{ manager: 'kubelet', fieldsV1: { big: 'x'.repeat(200) } }],
    },
    spec: { nodeName: o.node ?? NODE, containers: [{ name: 'main', image: 'img', ...(o.ports ? { ports: o.ports } : {}) }] },
    status: { phase: o.phase ?? 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export function policy(key: string, policyFor: string, spec: Record<string, unknown>): K8sObject {
  const [namespace, name] = key.split('/') as [string, string];
  return { metadata: { name, namespace, annotations: { 'k8s.v1.cni.cncf.io/policy-for': policyFor } }, spec };
}

/** The cluster most fault tests start from: a server pod whose ingress allows clients by pod and by namespace selector. */
export function seedBase(s: FakeApiServer): void {
  s.apply('namespaces', ns('ns1', { team: 'a' }));
  s.apply('namespaces', ns('ns2', { team: 'b' }));
  s.apply('nads', nad('ns1/net1'));
  s.apply('pods', pod('ns1/server', { labels: { app: 'server' }, nets: [['ns1/net1', 'eth1', '10.0.0.1']] }));
  s.apply('pods', pod('ns1/client', { labels: { app: 'client' }, nets: [['ns1/net1', 'eth2', '10.0.0.2']] }));
  s.apply('pods', pod('ns2/other', { labels: { app: 'client' }, node: 'worker-2', nets: [['ns1/net1', 'eth3', '10.0.0.9']] }));
  s.apply(
    'policies',
    policy('ns1/allow-clients', 'ns1/net1', {
      podSelector: { matchLabels: { app: 'server' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }, { namespaceSelector: { matchLabels: { team: 'b' } } }] }],
    }),
  );
}

// ---- the oracle ------------------------------------------------------------------------

/** What the API server holds, as the engine would read it. */
export function clusterOf(s: FakeApiServer): Cluster {
  const policies: MultiNetworkPolicy[] = [];
  const invalidPolicies: InvalidPolicy[] = [];
  for (const p of s.list('policies')) {
    const r = validatePolicy(p, 'oracle');
    if (r.ok) policies.push(r.value);
    else invalidPolicies.push(r.invalid);
  }
  return {
    namespaces: s.list('namespaces') as unknown as Namespace[],
    pods: s.list('pods') as unknown as Pod[],
    networks: s.list('nads') as unknown as NetworkAttachmentDefinition[],
    policies,
    invalidPolicies,
  };
}

/** netdev → the filter keys a fresh full render wants on it. */
export async function freshRender(s: FakeApiServer, node = NODE): Promise<Map<string, string[]>> {
  const np = programNode(clusterOf(s), node, [adapter], DEFAULT_NODE_OPTIONS);
  const out = new Map<string, string[]>();
  for (const p of np.programs) {
    const devs = await offlineResolver(p.endpoint);
    assert.ok(devs.ok, 'every test endpoint names its representor');
    for (const d of devs.value) out.set(d.name, p.compiled.filters.map(filterKey).sort());
  }
  return out;
}

export function installed(driver: DryRunTcDriver, netdev: string): { qdisc: string | null; keys: string[] } {
  const o = observeState(driver.state(netdev));
  return { qdisc: o.qdisc, keys: o.filters.map((f: TcFilter) => filterKey(f)).sort() };
}

/** Differences between the driver's state and a fresh render; empty when converged. */
export async function divergence(s: FakeApiServer, driver: DryRunTcDriver, node = NODE): Promise<string[]> {
  const want = await freshRender(s, node);
  const touched = new Set([...want.keys(), ...driver.history.map((h) => h.netdev)]);
  const problems: string[] = [];
  for (const dev of [...touched].sort()) {
    const have = installed(driver, dev);
    const keys = want.get(dev) ?? [];
    const missing = keys.filter((k) => !have.keys.includes(k));
    const stale = have.keys.filter((k) => !keys.includes(k));
    if (missing.length > 0) problems.push(`${dev}: ${missing.length} missing (${missing[0]})`);
    if (stale.length > 0) problems.push(`${dev}: ${stale.length} stale (${stale[0]})`);
    const foreign = driver.state(dev).filters.length - have.keys.length;
    if (keys.length === 0 && have.qdisc !== null && foreign === 0) problems.push(`${dev}: qdisc ${have.qdisc} left although nothing uses it`);
    if (keys.length > 0 && have.qdisc === null) problems.push(`${dev}: no qdisc`);
  }
  return problems;
}

export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(15);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Reconciler-only tests: coalescing and retries short enough to wait for, no resync. */
export const QUICK_RECONCILER: Partial<ReconcilerTiming> = { coalesceMs: 5, minIntervalMs: 10, resyncMs: 0, retry: { initialMs: 40, maxMs: 200 } };

/**
 * A Reconciler for NODE on `store` and `driver` (accelerated-bridge, representors from
 * network-status), with QUICK_RECONCILER timing, keeping what it reports. The caller stops it.
 */
export function reconcilerRig(o: {
  readonly store: ClusterStore;
  readonly driver: TcDriver;
  readonly resolve?: NetdevResolver;
  readonly layout?: SharedBlockLayout;
  readonly timing?: Partial<ReconcilerTiming>;
}): { r: Reconciler; changes: AppliedChange[]; failures: Failure[] } {
  const changes: AppliedChange[] = [];
  const failures: Failure[] = [];
  const r = new Reconciler({
    store: o.store,
    nodeName: NODE,
    adapters: [adapter],
    nodeOptions: DEFAULT_NODE_OPTIONS,
    driver: o.driver,
    resolve: o.resolve ?? offlineResolver,
    log: silent,
    timing: { ...QUICK_RECONCILER, ...o.timing },
    reporters: [{ applied: (c) => changes.push(c), failed: (f) => failures.push(f) }],
    ...(o.layout ? { layout: o.layout } : {}),
  });
  return { r, changes, failures };
}

// ---- the harness -----------------------------------------------------------------------

export interface Harness {
  readonly server: FakeApiServer;
  readonly driver: DryRunTcDriver;
  readonly store: ClusterStore;
  readonly source: ApiSource;
  readonly agent: Agent;
  /** Waits until the driver state equals a fresh full render (asserts on timeout). */
  converged(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  readonly node?: string;
  readonly driver?: DryRunTcDriver;
  readonly server?: FakeApiServer;
  readonly informers?: InformerTiming;
  readonly reconciler?: Partial<ReconcilerTiming>;
  readonly reporters?: readonly Reporter[];
  /** Bookmarks keep idle watches from looking silent to the watchdog (as a real apiserver's do). */
  readonly bookmarkEveryMs?: number;
  readonly adopt?: readonly string[];
}

export async function startHarness(seed: (s: FakeApiServer) => void, o: HarnessOptions = {}): Promise<Harness> {
  const server = o.server ?? (await FakeApiServer.start());
  if (!o.server) seed(server);
  const node = o.node ?? NODE;
  const kc = loadKubeConfig({ master: server.url });
  assert.ok(kc.ok);
  const store = new ClusterStore();
  const source = new ApiSource(kc.value, store, silent, o.informers ?? FAST_INFORMERS);
  const driver = o.driver ?? new DryRunTcDriver();
  const events = new ApiEventSink(kc.value, node, silent);
  const agent = new Agent({
    nodeName: node,
    store,
    source,
    adapters: [adapter],
    driver,
    resolve: offlineResolver,
    ...(o.adopt ? { discover: async () => o.adopt!.map((name) => ({ name })) } : {}),
    nodeOptions: DEFAULT_NODE_OPTIONS,
    reporters: [new EventReporter(events, node), ...(o.reporters ?? [])],
    events,
    log: silent,
    timing: o.reconciler ?? FAST_RECONCILER,
  });
  const started = await agent.start();
  assert.ok(started.ok);
  const bookmarks = setInterval(() => server.bookmark(), o.bookmarkEveryMs ?? 100);
  const h: Harness = {
    server,
    driver,
    store,
    source,
    agent,
    async converged(timeoutMs = 5_000) {
      let last: string[] = [];
      try {
        await until(
          'the driver state to equal a fresh full render',
          async () => {
            last = await divergence(server, driver, node);
            return last.length === 0 && agent.isReady;
          },
          timeoutMs,
        );
      } catch (e) {
        assert.fail(`${(e as Error).message}: ${last.join('; ')}`);
      }
    },
    async stop() {
      clearInterval(bookmarks);
      await agent.stop();
      if (!o.server) await server.stop();
    },
  };
  return h;
}
