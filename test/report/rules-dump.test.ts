// --pod-rules-path: upstream's layout, deterministic content, written only on change, stale
// files and pod directories removed, a failed netdev keeps its previous file.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { offlineResolver } from '../../core/agent/netdev-resolver.js';
import { Reconciler } from '../../core/agent/reconciler.js';
import { err, type Result } from '../../core/api/result.js';
import type { TcDriver } from '../../core/api/tc-driver.js';
import type { Applied } from '../../core/model/plan.js';
import { DEFAULT_NODE_OPTIONS } from '../../core/pipeline/program-node.js';
import { RulesDump, rulesFileName } from '../../core/report/rules-dump.js';
import { ClusterStore } from '../../core/watch/store.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { ClusterBuilder, mnp, NODE } from '../fixtures/cluster-builder.js';
import { adapter, silent, sleep } from '../agent/harness.js';

function cluster(): ClusterBuilder {
  return new ClusterBuilder()
    .namespace('ns1')
    .nad('ns1/net1')
    .nad('ns1/net2')
    .pod('ns1/a', { uid: 'uid-a', labels: { app: 'a' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], representor: 'eth1' }, { network: 'ns1/net2', ips: ['10.1.0.1'], representor: 'eth2' }] })
    .pod('ns1/b', { uid: 'uid-b', labels: { app: 'b' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.2'], representor: 'eth3' }] })
    .policy(mnp('ns1/p', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }] }, 'net1'));
}

async function setup(driver: TcDriver = new DryRunTcDriver()) {
  const root = join(await mkdtemp(join(tmpdir(), 'mnp-rules-')), 'deep', 'rules');
  const store = new ClusterStore();
  store.replace(cluster().build());
  const r = new Reconciler({
    store,
    nodeName: NODE,
    adapters: [adapter],
    nodeOptions: DEFAULT_NODE_OPTIONS,
    driver,
    resolve: offlineResolver,
    log: silent,
    timing: { resyncMs: 0 },
    reporters: [new RulesDump(root, silent)],
  });
  return { root, store, r };
}

test('files are <path>/<podUID>/<network with / as ->-<netdev>.rules, in a directory created recursively', async () => {
  const { root, r } = await setup();
  await r.runOnce();
  assert.deepEqual((await readdir(root)).sort(), ['uid-a', 'uid-b']);
  assert.deepEqual((await readdir(join(root, 'uid-a'))).sort(), ['ns1-net1-eth1.rules', 'ns1-net2-eth2.rules']);
  assert.equal(rulesFileName('default/accel-net', 'eth5'), 'default-accel-net-eth5.rules');
  const text = await readFile(join(root, 'uid-a', 'ns1-net1-eth1.rules'), 'utf8');
  const lines = text.split('\n');
  assert.equal(lines[0], '# ns1/a net1 on ns1/net1 -> eth1');
  assert.ok(lines.includes('# ingress: isolated by ns1/p'));
  assert.ok(lines.includes('qdisc: clsact'));
  const filters = lines.slice(lines.indexOf('filters:') + 1).filter((l) => l !== '');
  assert.ok(filters.length > 0);
  assert.ok(filters.every((l) => /^(ingress|egress) chain \d+ pref \d+ protocol \S+ flower/.test(l)), 'our filter lines, without "filter add dev"');
  assert.ok(filters.some((l) => l.includes('src_ip 10.0.0.2/32')));
  const open = await readFile(join(root, 'uid-b', 'ns1-net1-eth3.rules'), 'utf8');
  assert.match(open, /qdisc: none\nfilters:\n$/, 'no policy: nothing installed, as upstream prints it');
});

test('content is deterministic and a file is rewritten only when it changes', async () => {
  const { root, store, r } = await setup();
  await r.runOnce();
  const path = join(root, 'uid-a', 'ns1-net2-eth2.rules');
  const t1 = (await stat(path)).mtimeMs;
  const other = join(root, 'uid-a', 'ns1-net1-eth1.rules');
  const before = await readFile(other, 'utf8');
  await sleep(20);
  store.replace(cluster().pod('ns1/b', { uid: 'uid-b', labels: { app: 'b' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.99'], representor: 'eth3' }] }).build());
  await r.runOnce();
  assert.equal((await stat(path)).mtimeMs, t1, 'unchanged program: not written');
  assert.notEqual(await readFile(other, 'utf8'), before, 'changed program: rewritten');
  // A restarted agent (fresh memory) finds identical content on disk and does not write either.
  const t2 = (await stat(other)).mtimeMs;
  await sleep(20);
  const restarted = new Reconciler({ store, nodeName: NODE, adapters: [adapter], nodeOptions: DEFAULT_NODE_OPTIONS, driver: new DryRunTcDriver(), resolve: offlineResolver, log: silent, timing: { resyncMs: 0 }, reporters: [new RulesDump(root, silent)] });
  await restarted.runOnce();
  assert.equal((await stat(other)).mtimeMs, t2);
  assert.equal((await stat(path)).mtimeMs, t1);
});

test('files of an interface that went away and directories of pods that went away are removed', async () => {
  const { root, store, r } = await setup();
  await mkdir(join(root, 'uid-gone'), { recursive: true });
  await writeFile(join(root, 'uid-gone', 'x-eth9.rules'), 'old');
  await writeFile(join(root, 'README'), 'a file that is not ours stays');
  await r.runOnce();
  assert.deepEqual((await readdir(root)).sort(), ['README', 'uid-a', 'uid-b']);
  store.replace(
    cluster()
      .remove('pod', 'ns1/b')
      .pod('ns1/a', { uid: 'uid-a', labels: { app: 'a' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], representor: 'eth1' }] })
      .build(),
  );
  await r.runOnce();
  assert.deepEqual((await readdir(root)).sort(), ['README', 'uid-a']);
  assert.deepEqual(await readdir(join(root, 'uid-a')), ['ns1-net1-eth1.rules']);
});

test('a netdev whose apply failed keeps its previous file', async () => {
  const inner = new DryRunTcDriver();
  let failing = false;
  const driver: TcDriver = {
    name: 'dry-run',
    observe: (d) => inner.observe(d),
    apply: async (d, p): Promise<Result<Applied>> => (failing && d.name === 'eth1' ? err({ code: 'tc-exec-failed', netdev: d.name, command: '-batch -', stderr: 'boom' }) : inner.apply(d, p)),
  };
  const { root, store, r } = await setup(driver);
  await r.runOnce();
  const path = join(root, 'uid-a', 'ns1-net1-eth1.rules');
  const before = await readFile(path, 'utf8');
  failing = true;
  store.replace(cluster().pod('ns1/b', { uid: 'uid-b', labels: { app: 'b' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.99'], representor: 'eth3' }] }).build());
  const res = await r.runOnce(false);
  assert.equal(res.failed, 1);
  assert.equal(await readFile(path, 'utf8'), before);
  await r.stop();
});
