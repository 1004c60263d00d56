// Upstream's operational bugs (reference/upstream-behaviour.md §8, 10-23), each shown fixed
// with the real components: reconciler + dry-run kernel, cmdline parser, diff, flags.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { offlineResolver } from '../../core/agent/netdev-resolver.js';
import { Reconciler } from '../../core/agent/reconciler.js';
import { validateConfig } from '../../core/config.js';
import { configInput, parse } from '../../core/cli/args.js';
import { wire } from '../../core/agent/container.js';
import { describeError } from '../../core/api/errors.js';
import { diff } from '../../core/pipeline/diff.js';
import { DEFAULT_NODE_OPTIONS } from '../../core/pipeline/program-node.js';
import { RulesDump } from '../../core/report/rules-dump.js';
import { ClusterStore } from '../../core/watch/store.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { parseFilters, parseQdiscs } from '../../drivers/tc-cmdline/parse.js';
import { ClusterBuilder, mnp, NODE } from '../fixtures/cluster-builder.js';
import { adapter, silent } from '../agent/harness.js';
import { pino } from 'pino';

const cluster = () =>
  new ClusterBuilder()
    .namespace('ns1')
    .nad('ns1/net1')
    .pod('ns1/a', { uid: 'uid-a', labels: { app: 'a' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], representor: 'eth1' }] })
    .pod('ns1/b', { uid: 'uid-b', labels: { app: 'b' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.2'], representor: 'eth3' }] })
    .policy(mnp('ns1/p', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }] }, 'net1'));

function reconciler(store: ClusterStore, driver: DryRunTcDriver, reporters: RulesDump[] = []) {
  return new Reconciler({ store, nodeName: NODE, adapters: [adapter], nodeOptions: DEFAULT_NODE_OPTIONS, driver, resolve: offlineResolver, log: silent, timing: { resyncMs: 0 }, reporters });
}

test('bug 10: a deleted pod loses its filters and our qdisc (upstream left them on the representor)', async () => {
  const store = new ClusterStore();
  store.replace(cluster().build());
  const driver = new DryRunTcDriver();
  const r = reconciler(store, driver);
  await r.runOnce();
  const before = await driver.observe({ name: 'eth1' });
  assert.ok(before.ok && before.value.filters.length > 0 && before.value.qdisc === 'clsact');
  store.replace(cluster().remove('pod', 'ns1/a').build());
  await r.runOnce();
  const after = await driver.observe({ name: 'eth1' });
  assert.ok(after.ok);
  assert.deepEqual([after.value.qdisc, after.value.filters.length], [null, 0]);
});

test('bug 14: non-flower and foreign filters on the representor never make the read fail; clsact is recognised', () => {
  const q = parseQdiscs([{ kind: 'clsact', handle: 'ffff:', parent: 'ffff:fff1' }], 'eth1');
  assert.ok(q.ok);
  assert.equal(q.value, 'clsact');
  const f = parseFilters(
    [
      { protocol: 'all', pref: 1, kind: 'u32', chain: 0, options: { fh: '800::800', actions: [{ kind: 'mirred' }] } },
      { protocol: 'ip', pref: 2, kind: 'bpf', chain: 0, options: { handle: 1 } },
      { protocol: 'ip', pref: 200, kind: 'flower', chain: 0, options: { handle: 1, keys: { dst_ip: '10.0.0.1' }, actions: [{ kind: 'mirred' }] } },
    ],
    'ingress',
    'eth1',
  );
  assert.ok(f.ok, !f.ok ? describeError(f.error) : '');
  assert.deepEqual(f.value, { owned: [], foreign: 3 });
});

test('bug 15 and 17: filters outside the owned chains and prefs are never deleted, even at upstream\'s prefs', () => {
  const foreign = { hook: 'ingress' as const, chain: 0, pref: 300, protocol: 'ip' as const, match: {}, actions: [{ kind: 'drop' as const }], handle: 1 };
  const { plan } = diff([], { qdisc: 'clsact', filters: [foreign], foreign: { ingress: 1, egress: 0 } });
  assert.deepEqual(plan.ops, []);
});

test('bug 20: --master alone is accepted, and a --tc-driver typo stops startup instead of failing each sync', async () => {
  const cfg = validateConfig(configInput(parse(['--master', 'https://10.0.0.1:6443', '--tc-driver', 'cmdlin']).values));
  assert.ok(cfg.ok, !cfg.ok ? cfg.error : '');
  assert.equal(cfg.value.master, 'https://10.0.0.1:6443');
  const w = await wire(cfg.value, { logger: pino({ level: 'silent' }), exec: { run: () => Promise.reject(new Error('no')) }, sysfs: { readFile: async () => undefined, readlink: async () => undefined, readdir: async () => [] } });
  assert.ok(!w.ok);
  assert.match(describeError(w.error), /cmdlin: unknown --tc-driver value/);
});

test('bug 20 and 23: --pod-rules-path is created recursively, and files of a removed interface go away', async () => {
  const root = join(await mkdtemp(join(tmpdir(), 'mnp-bug23-')), 'not', 'yet', 'there');
  const store = new ClusterStore();
  store.replace(cluster().pod('ns1/a', { uid: 'uid-a', labels: { app: 'a' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], representor: 'eth1' }, { network: 'ns1/net1', ips: ['10.0.0.9'], representor: 'eth9' }] }).build());
  const r = reconciler(store, new DryRunTcDriver(), [new RulesDump(root, silent)]);
  await r.runOnce();
  assert.deepEqual((await readdir(join(root, 'uid-a'))).sort(), ['ns1-net1-eth1.rules', 'ns1-net1-eth9.rules']);
  store.replace(cluster().build());
  await r.runOnce();
  assert.deepEqual(await readdir(join(root, 'uid-a')), ['ns1-net1-eth1.rules']);
});

test('bug 21: a resync with nothing changed writes nothing', async () => {
  const store = new ClusterStore();
  store.replace(cluster().build());
  const driver = new DryRunTcDriver();
  const r = reconciler(store, driver);
  await r.runOnce();
  const applied = driver.history.length;
  await r.runOnce(true);
  await r.runOnce(true);
  assert.equal(driver.history.length, applied, 'no plan applied by the full passes');
});
