// The reconciler in the shared-block layout, against the dry-run driver's fake kernel: one
// block per switch with every port bound, a no-op pass that writes nothing, a removal that
// empties the block, a port held by someone else's qdisc (reported, retried, untouched),
// and a representor whose switch cannot be told.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { sharedBlockLayout } from '../../core/agent/netdev-resolver.js';
import type { Reconciler, SharedBlockLayout } from '../../core/agent/reconciler.js';
import { ok } from '../../core/api/result.js';
import { filterKey } from '../../core/model/tc.js';
import { isOwned } from '../../core/pipeline/layout.js';
import { blockIndexFor } from '../../core/pipeline/program-switch.js';
import { ClusterStore } from '../../core/watch/store.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { ClusterBuilder, mnp } from '../fixtures/cluster-builder.js';
import { reconcilerRig } from './harness.js';

const base = (): ClusterBuilder =>
  new ClusterBuilder()
    .namespace('ns1', { team: 'a' })
    .nad('ns1/net1')
    .pod('ns1/server', { labels: { app: 'server' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], representor: 'eth1' }] })
    .pod('ns1/client', { labels: { app: 'client' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.9'], representor: 'eth3' }] })
    .policy(mnp('ns1/servers', { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] }));

const BLOCK = `block:${blockIndexFor('uplink:up0')}`;
const rigs: Reconciler[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.stop();
});

function storeOf(b: ClusterBuilder): ClusterStore {
  const store = new ClusterStore();
  store.replace(b.build());
  return store;
}

function rig(b: ClusterBuilder, layout: SharedBlockLayout = sharedBlockLayout(null, 'up0')) {
  const store = storeOf(b);
  const driver = new DryRunTcDriver();
  for (const d of ['eth1', 'eth3', 'up0']) driver.seed(d, { qdisc: null });
  const { r, changes, failures } = reconcilerRig({ store, driver, layout });
  rigs.push(r);
  return { store, driver, r, changes, failures };
}

/** The same cluster under the per-port layout (no `layout`), on `driver`. */
function perPortRig(b: ClusterBuilder, driver: DryRunTcDriver): Reconciler {
  const { r } = reconcilerRig({ store: storeOf(b), driver });
  rigs.push(r);
  return r;
}

/** The block's filters of ours, as the driver observes them. */
async function owned(driver: DryRunTcDriver, name: string) {
  const r = await driver.observe({ name, block: { index: Number(name.slice('block:'.length)), ports: ['eth1'] } });
  assert.ok(r.ok);
  return r.value.filters.filter((f) => isOwned(f.hook, f.chain, f.pref));
}

test('one block for the switch: every port bound to it, the program in the block, nothing on the ports own hooks', async () => {
  const t = rig(base());
  const r = await t.r.runOnce();
  assert.equal(r.failed, 0);
  assert.deepEqual(r.netdevs.map((n) => n.netdev), [BLOCK]);
  const index = blockIndexFor('uplink:up0');
  for (const d of ['eth1', 'eth3', 'up0']) assert.equal(t.driver.state(d).ingressBlock, index, `${d} is bound`);
  const mine = await owned(t.driver, BLOCK);
  assert.ok(mine.length > 0);
  assert.ok(mine.some((f) => f.match.indev === undefined && f.match.dstIp === '10.0.0.1/32'), 'the server ingress is keyed on its address');
  for (const d of ['eth1', 'eth3']) assert.deepEqual(t.driver.state(d).filters, [], `${d} own hooks carry nothing`);
});

test('a second pass with nothing changed observes and writes nothing new', async () => {
  const t = rig(base());
  await t.r.runOnce();
  const applies = t.driver.history.length;
  const r = await t.r.runOnce();
  assert.equal(r.applied, 0);
  assert.equal(t.driver.history.length, applies);
});

test('when no policy isolates anyone any more, the block is emptied and the ports stay bound', async () => {
  const t = rig(base());
  await t.r.runOnce();
  t.store.replace(new ClusterBuilder().namespace('ns1', { team: 'a' }).nad('ns1/net1').pod('ns1/server', { labels: { app: 'server' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], representor: 'eth1' }] }).build());
  const r = await t.r.runOnce(false);
  assert.equal(r.failed, 0);
  assert.deepEqual(await owned(t.driver, BLOCK), []);
  assert.equal(t.driver.state('eth1').ingressBlock, blockIndexFor('uplink:up0'));
});

test('a port held by a foreign ingress qdisc is never touched; the rest is programmed and the block is reported and retried', async () => {
  const t = rig(base());
  t.driver.seed('up0', { qdisc: 'ingress', foreign: [{ hook: 'ingress', chain: 0, pref: 1, protocol: 'ip', kind: 'u32' }] });
  const r = await t.r.runOnce();
  assert.equal(t.driver.state('up0').qdisc, 'ingress');
  assert.equal(t.driver.state('up0').ingressBlock, undefined);
  assert.equal(t.driver.state('eth1').ingressBlock, blockIndexFor('uplink:up0'));
  assert.ok((await owned(t.driver, BLOCK)).length > 0, 'the bound ports are policed meanwhile');
  assert.equal(r.unavailable.length, 1);
  assert.match(r.unavailable[0]!.problem, /up0/);
  assert.ok(t.failures.some((f) => f.netdev === BLOCK && f.retryInMs > 0), 'retried with backoff');
});

test('a representor that reports no switch, without --uplink: its endpoint is reported and nothing is programmed for it', async () => {
  const t = rig(base(), { eswitchOf: async () => ok(null) });
  const r = await t.r.runOnce();
  assert.equal(r.netdevs.length, 0);
  assert.ok(t.failures.some((f) => f.stage === 'resolve' && /reports no eswitch/.test(f.message)));
});

test('representors on two switches: two blocks, each with its own conntrack zone', async () => {
  const sw = (name: string) => ({ id: name === 'eth1' ? 'sw-a' : 'sw-b', uplink: name === 'eth1' ? 'pa' : 'pb', ports: name === 'eth1' ? ['eth1', 'pa'] : ['eth3', 'pb'] });
  const t = rig(base().policy(mnp('ns1/clients', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'] })), { eswitchOf: async (_ep, rep) => ok(sw(rep.name)) });
  for (const d of ['pa', 'pb']) t.driver.seed(d, { qdisc: null });
  const r = await t.r.runOnce();
  assert.equal(r.failed, 0);
  const names = r.netdevs.map((n) => n.netdev).sort();
  assert.deepEqual(names, [`block:${blockIndexFor('sw-a')}`, `block:${blockIndexFor('sw-b')}`].sort());
  const zones = r.netdevs.map((n) => [...new Set(n.filters.flatMap((f) => f.actions.flatMap((a) => (a.kind === 'ct' ? [a.zone] : []))))]);
  assert.deepEqual(zones.map((z) => z.length), [1, 1]);
  assert.notEqual(zones[0]![0], zones[1]![0]);
});

test('moving a node from per-port to shared-block: representors adopted with per-port programs end bound to the block, with their own programs gone', async () => {
  // the per-port programs an earlier agent (--layout per-port) left on eth1 and eth3
  const perPort = perPortRig(base(), new DryRunTcDriver());
  const before = await perPort.runOnce();
  const t = rig(base());
  for (const n of before.netdevs) t.driver.seed(n.netdev, { qdisc: 'clsact', filters: [...n.filters] });
  assert.ok(t.driver.state('eth1').filters.length > 0, 'eth1 starts with its per-port program');
  t.r.adopt([{ name: 'eth1' }, { name: 'eth3' }]);
  const r = await t.r.runOnce();
  assert.equal(r.failed, 0, JSON.stringify(t.failures));
  const index = blockIndexFor('uplink:up0');
  for (const d of ['eth1', 'eth3', 'up0']) assert.equal(t.driver.state(d).ingressBlock, index, `${d} is bound after the first pass`);
  for (const d of ['eth1', 'eth3']) assert.deepEqual(t.driver.state(d).filters, [], `${d} keeps nothing of its per-port program`);
  const again = await t.r.runOnce();
  assert.equal(again.applied, 0, 'and the next full pass finds nothing to do');
});

test('moving a node from shared-block back to per-port: every port is released (the adopted uplink too), the block goes away, the server gets its per-port program', async () => {
  const t = rig(base());
  await t.r.runOnce();
  const index = blockIndexFor('uplink:up0');
  assert.equal(t.driver.state('up0').ingressBlock, index);
  const perPort = perPortRig(base(), t.driver);
  perPort.adopt([{ name: 'eth1' }, { name: 'eth3' }], [{ name: 'up0' }]);
  const r = await perPort.runOnce();
  assert.equal(r.failed, 0);
  for (const d of ['eth1', 'eth3', 'up0']) assert.equal(t.driver.state(d).ingressBlock, undefined, `${d} is no longer bound`);
  const server = r.netdevs.find((n) => n.netdev === 'eth1')!;
  const eth1 = await t.driver.observe({ name: 'eth1' });
  assert.ok(eth1.ok);
  assert.deepEqual([eth1.value.qdisc, eth1.value.ingressBlock, eth1.value.foreign], ['clsact', undefined, { ingress: 0, egress: 0 }]);
  assert.deepEqual(eth1.value.filters.map(filterKey).sort(), server.filters.map(filterKey).sort(), 'eth1 carries its per-port program');
  for (const d of ['eth3', 'up0']) assert.equal(t.driver.state(d).qdisc, null, `${d}: its clsact was deleted, nothing put back`);
  const block = await t.driver.observe({ name: `block:${index}`, block: { index, ports: ['eth1'] } });
  assert.ok(block.ok);
  assert.deepEqual(block.value.filters, [], 'the block, with no port left, is gone');
  assert.equal((await perPort.runOnce()).applied, 0, 'the next full pass finds nothing to do');
});
