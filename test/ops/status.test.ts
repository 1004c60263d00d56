// `status`: per representor, the attachments and policies, the installed filters with their
// offload state, and the drift with the tc lines that would repair it. Read-only.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { offlineResolver, sharedBlockLayout } from '../../core/agent/netdev-resolver.js';
import { Reconciler } from '../../core/agent/reconciler.js';
import { ClusterStore } from '../../core/watch/store.js';
import { configInput, parse } from '../../core/cli/args.js';
import { main } from '../../core/cli/main.js';
import { loadCluster, nodeOptions } from '../../core/cli/offline.js';
import { nodeStatus, statusCommand, statusLines, type NodeStatus } from '../../core/cli/status-command.js';
import { validateConfig, type AgentConfig } from '../../core/config.js';
import { diff } from '../../core/pipeline/diff.js';
import { programNode } from '../../core/pipeline/program-node.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { builtinAdapters } from '../fixtures/offline-adapters.js';
import { seedBase } from '../agent/harness.js';
import { FakeApiServer } from '../fake-apiserver/server.js';
import { kubeconfigYaml } from '../fake-apiserver/kubeconfig.js';

const cfgOf = (argv: string[]): AgentConfig => {
  const c = validateConfig(configInput(parse(argv).values));
  assert.ok(c.ok);
  return c.value;
};

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out, err };
}

test('status from manifests with nothing installed: every attachment, its representor and policies, all drifted, exit 1', async () => {
  const r = await cli(['status', '--manifests', 'examples/cluster', '--tc-driver', 'dry-run', '--hostname-override', 'worker-1']);
  assert.equal(r.code, 1, r.err.join('\n'));
  assert.equal(r.out[0], '# node worker-1 (driver dry-run): 5 representors, 0 in sync, 5 drifted, 0 problems');
  assert.deepEqual(r.out.filter((l) => l.startsWith('== ')).map((l) => l.split(':')[0]), ['== eth5', '== eth6', '== eth7', '== eth8', '== eth9']);
  assert.ok(r.out.includes('== eth5: payments/api-0/net1 on default/data-net'));
  assert.ok(r.out.includes('   ingress: isolated by payments/api-ingress'));
  assert.ok(r.out.includes('   installed: qdisc none, 0 filters of ours (0 in_hw, 0 not_in_hw); desired 13'));
  assert.ok(r.out.includes('     qdisc add dev eth5 clsact'));
});

async function installedDriver(cluster: Awaited<ReturnType<typeof loadCluster>>, adapters: Awaited<ReturnType<typeof builtinAdapters>>) {
  const driver = new DryRunTcDriver(pino({ level: 'silent' }));
  const np = programNode(cluster, 'worker-1', adapters);
  for (const p of np.programs) {
    const dev = p.endpoint.attachment.deviceInfo!.pci!['representor-device']!;
    const o = await driver.observe({ name: dev });
    assert.ok(o.ok);
    const r = await driver.apply({ name: dev }, diff(p.compiled.filters, o.value).plan);
    assert.ok(r.ok);
  }
  return { driver, np };
}

test('in sync, a deleted filter, a foreign edit of ours, offload flags and a stale representor are each reported', async () => {
  const cluster = await loadCluster(['examples/cluster']);
  const adapters = await builtinAdapters();
  const { driver } = await installedDriver(cluster, adapters);
  const observed = async (dev: string) => {
    const o = await driver.observe({ name: dev });
    assert.ok(o.ok);
    return o.value;
  };
  // eth5: someone deleted one of our filters
  const eth5 = await observed('eth5');
  driver.seed('eth5', { qdisc: 'clsact', filters: eth5.filters.slice(1) });
  // eth6: someone added a filter in our range
  const eth6 = await observed('eth6');
  const extra = { ...eth6.filters[0]!, handle: undefined, match: { ...eth6.filters[0]!.match, srcIp: '192.0.2.0/24' } };
  driver.seed('eth6', { qdisc: 'clsact', filters: [...eth6.filters, extra] });
  // eth7: the NIC offloaded all but one filter
  const eth7 = await observed('eth7');
  driver.seed('eth7', { qdisc: 'clsact', filters: eth7.filters.map((f, i) => ({ ...f, inHw: i !== 0 })) });
  // eth20: programmed by an earlier agent for a pod that is gone
  driver.seed('eth20', { qdisc: 'clsact', filters: eth7.filters.slice(0, 2).map(({ handle: _h, ...f }) => f) });

  const s: NodeStatus = await nodeStatus(cluster, 'worker-1', cfgOf([]), adapters, driver, offlineResolver, ['eth20', 'eth21']);
  const rep = (n: string) => s.representors.find((r) => r.representor === n)!;
  assert.deepEqual(s.representors.map((r) => r.representor), ['eth20', 'eth5', 'eth6', 'eth7', 'eth8', 'eth9'], 'eth21 has nothing of ours: not listed');
  assert.deepEqual(rep('eth8').repair, []);
  assert.deepEqual(rep('eth9').repair, []);
  assert.equal(rep('eth5').repair.length, 1);
  assert.match(rep('eth5').repair[0]!, /^filter add dev eth5 /);
  assert.equal(rep('eth6').repair.length, 1);
  assert.match(rep('eth6').repair[0]!, /^filter del dev eth6 .* handle \S+ flower$/);
  assert.deepEqual(rep('eth7').installed!.offload, { inHw: eth7.filters.length - 1, notInHw: 1, unknown: 0 });
  assert.equal(rep('eth7').repair.length, 0, 'offload state is not drift');
  assert.deepEqual(rep('eth20').attachments, []);
  assert.deepEqual(rep('eth20').repair.at(-1), 'qdisc del dev eth20 clsact');

  const lines = statusLines(s, 'dry-run');
  assert.equal(lines[0], '# node worker-1 (driver dry-run): 6 representors, 3 in sync, 3 drifted, 0 problems');
  assert.ok(lines.includes('== eth20: no attachment wants it (stale)'));
  assert.ok(lines.some((l) => /^ {3}installed: qdisc clsact, 17 filters of ours \(16 in_hw, 1 not_in_hw\); desired 17$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('     not_in_hw egress chain') || l.startsWith('     not_in_hw ingress chain')));
  assert.ok(lines.some((l) => l.startsWith('     in_hw     ')));
  assert.ok(lines.includes('   drift: 1 tc lines would repair it:'));
});

test('status --output json with everything installed is in sync and exits 0', async () => {
  const cluster = await loadCluster(['examples/cluster']);
  const adapters = await builtinAdapters();
  const { driver } = await installedDriver(cluster, adapters);
  const out: string[] = [];
  const code = await statusCommand(cfgOf(['--manifests', 'examples/cluster', '--tc-driver', 'dry-run']), { node: 'worker-1', output: 'json' }, (l) => out.push(l), { wired: { adapters, driver } });
  assert.equal(code, 0);
  const s = JSON.parse(out.join('\n')) as NodeStatus;
  assert.equal(s.representors.length, 5);
  assert.ok(s.representors.every((r) => r.repair.length === 0 && r.installed!.filters.length === r.desired));
  assert.deepEqual(s.representors.find((r) => r.representor === 'eth5')!.attachments.map((a) => a.endpoint), ['payments/api-0/net1']);
});

test('status against the API server (kubeconfig) lists and stops, and shows its attachments', async () => {
  const server = await FakeApiServer.start();
  seedBase(server);
  try {
    const dir = await mkdtemp(join(tmpdir(), 'mnp-status-'));
    await writeFile(join(dir, 'kubeconfig'), kubeconfigYaml(server.url));
    const r = await cli(['status', '--kubeconfig', join(dir, 'kubeconfig'), '--tc-driver', 'dry-run', '--node', 'worker-1']);
    assert.equal(r.code, 1, r.err.join('\n'));
    assert.ok(r.out.includes('== eth1: ns1/server/net1 on ns1/net1'), r.out.join('\n'));
    assert.ok(r.out.includes('   ingress: isolated by ns1/allow-clients'));
    assert.equal(server.watchCount(), 0);
  } finally {
    await server.stop();
  }
});

test('status refuses an unknown --output', async () => {
  const r = await cli(['status', '--manifests', 'examples/cluster', '--tc-driver', 'dry-run', '--output', 'yaml']);
  assert.equal(r.code, 2);
  assert.deepEqual(r.err, ['multi-networkpolicy-tc: --output must be text or json, not yaml']);
});

test('status --layout shared-block: one entry per switch block with its ports; nothing installed is drift (binds first), installed is in sync, a filter deleted from the block is one `filter add block` line', async () => {
  const argv = ['--manifests', 'examples/shared-block', '--tc-driver', 'dry-run', '--layout', 'shared-block', '--uplink', 'p0'];
  const cfg = cfgOf(argv);
  const cluster = await loadCluster(['examples/shared-block']);
  const adapters = await builtinAdapters();
  const driver = new DryRunTcDriver(pino({ level: 'silent' }));
  const layout = sharedBlockLayout(null, 'p0');
  const before = await nodeStatus(cluster, 'worker-1', cfg, adapters, driver, offlineResolver, [], layout);
  assert.equal(before.representors.length, 1);
  const b = before.representors[0]!;
  const index = Number(/^block:(\d+)$/.exec(b.representor)![1]);
  assert.ok(b.ports!.includes('p0') && b.ports!.length >= 3, `ports ${b.ports}`);
  assert.ok(b.attachments.length >= 2);
  assert.match(b.repair[0]!, /^qdisc add dev \S+ ingress_block \d+ clsact$/);
  assert.equal(b.repair.filter((l) => l.startsWith(`filter add block ${index} `)).length, b.desired);

  // the agent installs it (same driver, same layout)
  const store = new ClusterStore();
  store.replace(cluster);
  const r = new Reconciler({ store, nodeName: 'worker-1', adapters, nodeOptions: nodeOptions(cfg), driver, resolve: offlineResolver, log: pino({ level: 'silent' }), layout, timing: { resyncMs: 0 } });
  assert.equal((await r.runOnce()).failed, 0);
  const synced = await nodeStatus(cluster, 'worker-1', cfg, adapters, driver, offlineResolver, [], layout);
  assert.deepEqual(synced.representors[0]!.repair, []);
  assert.equal(synced.representors[0]!.installed!.filters.length, b.desired);

  const target = { name: b.representor, block: { index, ports: b.ports! } };
  const o = await driver.observe(target);
  assert.ok(o.ok);
  driver.seedBlock(index, { filters: o.value.filters.slice(1).map(({ handle: _h, ...f }) => f) });
  const out: string[] = [];
  assert.equal(await statusCommand(cfg, { node: 'worker-1', output: 'text' }, (l) => out.push(l), { wired: { adapters, driver } }), 1);
  assert.ok(out.includes(`== ${b.representor} (ports ${b.ports!.join(', ')}): ${b.attachments.map((a) => `${a.endpoint} on ${a.network}`).join(', ')}`), out.join('\n'));
  assert.ok(out.includes('   drift: 1 tc lines would repair it:'), out.join('\n'));
  assert.ok(out.some((l) => l.startsWith(`     filter add block ${index} `)));
});
