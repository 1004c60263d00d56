// The incremental node program must always equal a full recomputation (programNode): after
// every one of hundreds of random changes, every endpoint's rules and filters are compared.
// And it must actually save work: a pod change re-renders only endpoints on its networks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyScope, noteChange, ProgramCache } from '../../core/agent/incremental-program.js';
import type { MultiNetworkPolicy, Namespace, NetworkAttachmentDefinition, Pod } from '../../core/model/k8s.js';
import { filterKey } from '../../core/model/tc.js';
import { DEFAULT_NODE_OPTIONS, programNode } from '../../core/pipeline/program-node.js';
import { ClusterStore } from '../../core/watch/store.js';
import { ClusterBuilder, mnp, NODE } from '../fixtures/cluster-builder.js';
import { adapter } from './harness.js';

/** xorshift: the same sequence on every run, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const APPS = ['a', 'b', 'c'];
const NETS = ['ns1/net1', 'ns1/net2', 'ns2/net3'];
const NSES = ['ns1', 'ns2', 'ns3'];

function randomPod(r: () => number, name: string, i: number): Pod {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const nets = NETS.filter(() => r() < 0.5);
  const b = new ClusterBuilder().pod(name, {
    labels: { app: pick(APPS) },
    node: r() < 0.5 ? NODE : 'worker-2',
    phase: r() < 0.9 ? 'Running' : 'Pending',
    containerPorts: r() < 0.5 ? [{ name: 'http', containerPort: 8080 + Math.floor(r() * 3), protocol: 'TCP' }] : [],
    interfaces: nets.map((network, k) => ({ network, ips: [`10.${k}.${i % 250}.${1 + Math.floor(r() * 200)}`], representor: `e${i}n${k}` })),
  });
  return b.build().pods[0]!;
}

function randomPolicy(r: () => number, key: string): MultiNetworkPolicy {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const peer = () =>
    r() < 0.4
      ? { podSelector: { matchLabels: { app: pick(APPS) } } }
      : r() < 0.7
        ? { namespaceSelector: { matchLabels: { team: pick(['x', 'y']) } } }
        : { namespaceSelector: { matchLabels: { team: pick(['x', 'y']) } }, podSelector: { matchLabels: { app: pick(APPS) } } };
  const ports = r() < 0.3 ? [{ port: 'http' as const }] : r() < 0.6 ? [{ protocol: 'TCP' as const, port: 80 }] : undefined;
  const ns = key.split('/')[0]!;
  const nets = NETS.filter((n) => r() < 0.6).map((n) => (n.startsWith(`${ns}/`) ? n.slice(ns.length + 1) : n));
  return mnp(
    key,
    {
      podSelector: r() < 0.2 ? {} : { matchLabels: { app: pick(APPS) } },
      policyTypes: r() < 0.5 ? ['Ingress'] : ['Ingress', 'Egress'],
      ingress: [{ from: [peer(), peer()], ...(ports ? { ports } : {}) }],
      egress: [{ to: [peer()] }],
    },
    nets.join(','),
  );
}

function namespaceObj(name: string, team: string): Namespace {
  return { kind: 'Namespace', metadata: { name, labels: { team } } };
}

function nadObj(key: string, trunk: boolean): NetworkAttachmentDefinition {
  const [namespace, name] = key.split('/') as [string, string];
  return { kind: 'NetworkAttachmentDefinition', metadata: { namespace, name }, spec: { config: JSON.stringify({ cniVersion: '1.0.0', name, type: 'accelerated-bridge', ...(trunk ? { trunk: [{ id: 10 }] } : {}) }) } };
}

function compare(store: ClusterStore, cache: ProgramCache, scope: ReturnType<typeof emptyScope>, step: string): void {
  const snap = store.snapshot();
  const inc = cache.program(snap, scope).program;
  const full = programNode(snap, NODE, [adapter], DEFAULT_NODE_OPTIONS);
  assert.deepEqual(inc.programs.map((p) => p.endpoint.key), full.programs.map((p) => p.endpoint.key), `${step}: endpoints`);
  assert.deepEqual(inc.skipped, full.skipped, `${step}: skipped`);
  full.programs.forEach((f, i) => {
    const p = inc.programs[i]!;
    assert.deepEqual(p.rules, f.rules, `${step}: rules of ${f.endpoint.key}`);
    assert.deepEqual(p.compiled.filters.map(filterKey), f.compiled.filters.map(filterKey), `${step}: filters of ${f.endpoint.key}`);
    assert.deepEqual(p.options, f.options, `${step}: options of ${f.endpoint.key}`);
  });
}

test('after each of 400 random changes the incremental program equals a full recomputation', () => {
  const r = rng(20261129);
  const store = new ClusterStore();
  let scope = emptyScope();
  store.onChange((kind, key, before, after) => noteChange(scope, kind, key, before, after));
  const cache = new ProgramCache(NODE, [adapter], DEFAULT_NODE_OPTIONS);
  for (const n of NSES) store.put('Namespace', n, namespaceObj(n, r() < 0.5 ? 'x' : 'y'));
  for (const k of NETS) store.put('NetworkAttachmentDefinition', k, nadObj(k, false));
  const podKeys = Array.from({ length: 24 }, (_, i) => `${NSES[i % 3]}/p${i}`);
  const polKeys = Array.from({ length: 8 }, (_, i) => `${NSES[i % 3]}/pol${i}`);
  podKeys.forEach((k, i) => store.put('Pod', k, randomPod(r, k, i)));
  polKeys.forEach((k) => store.put('MultiNetworkPolicy', k, randomPolicy(r, k)));
  scope.all = true;
  compare(store, cache, scope, 'initial');
  for (let step = 0; step < 400; step++) {
    scope = emptyScope();
    const x = r();
    let what: string;
    if (x < 0.45) {
      const i = Math.floor(r() * podKeys.length);
      if (r() < 0.15) {
        store.remove('Pod', podKeys[i]!);
        what = `delete pod ${podKeys[i]}`;
      } else {
        store.put('Pod', podKeys[i]!, randomPod(r, podKeys[i]!, i));
        what = `change pod ${podKeys[i]}`;
      }
    } else if (x < 0.75) {
      const k = polKeys[Math.floor(r() * polKeys.length)]!;
      if (r() < 0.15) store.remove('MultiNetworkPolicy', k);
      else store.put('MultiNetworkPolicy', k, randomPolicy(r, k));
      what = `change policy ${k}`;
    } else if (x < 0.9) {
      const n = NSES[Math.floor(r() * NSES.length)]!;
      store.put('Namespace', n, namespaceObj(n, r() < 0.5 ? 'x' : 'y'));
      what = `relabel namespace ${n}`;
    } else {
      const k = NETS[Math.floor(r() * NETS.length)]!;
      if (r() < 0.3) store.remove('NetworkAttachmentDefinition', k);
      else store.put('NetworkAttachmentDefinition', k, nadObj(k, r() < 0.5));
      what = `change NAD ${k}`;
    }
    compare(store, cache, scope, `step ${step} (${what})`);
  }
});

test('a pod change re-renders only the endpoints on its networks; an unrelated one none', () => {
  const b = new ClusterBuilder()
    .namespace('ns1')
    .nad('ns1/net1')
    .nad('ns1/net2')
    .pod('ns1/a', { labels: { app: 'a' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], representor: 'eth1' }] })
    .pod('ns1/b', { labels: { app: 'a' }, interfaces: [{ network: 'ns1/net2', ips: ['10.1.0.1'], representor: 'eth2' }] })
    .pod('ns1/c', { labels: { app: 'a' }, interfaces: [{ network: 'ns1/net2', ips: ['10.1.0.2'], representor: 'eth3' }] })
    .policy(mnp('ns1/p', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] }, 'net1,net2'));
  const store = new ClusterStore();
  let scope = emptyScope();
  store.onChange((kind, key, before, after) => noteChange(scope, kind, key, before, after));
  store.replace(b.build());
  const cache = new ProgramCache(NODE, [adapter], DEFAULT_NODE_OPTIONS);
  scope.all = true;
  assert.equal(cache.program(store.snapshot(), scope).rendered, 3);

  scope = emptyScope();
  store.replace(b.pod('ns1/peer', { node: 'worker-2', interfaces: [{ network: 'ns1/net2', ips: ['10.1.0.9'] }] }).build());
  const r1 = cache.program(store.snapshot(), scope);
  assert.equal(r1.rendered, 2, 'only the net2 endpoints');
  assert.equal(r1.compiled, 2, 'their peers changed');

  scope = emptyScope();
  store.replace(b.pod('ns1/peer', { node: 'worker-2', labels: { x: 'y' }, interfaces: [{ network: 'ns1/net2', ips: ['10.1.0.9'] }] }).build());
  const r2 = cache.program(store.snapshot(), scope);
  assert.equal(r2.rendered, 2);
  assert.equal(r2.compiled, 0, 'same rules: compiled programs reused');

  scope = emptyScope();
  const r3 = cache.program(store.snapshot(), scope);
  assert.equal(r3.rendered, 0, 'nothing changed: nothing rendered');
});
