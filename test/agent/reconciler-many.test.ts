// The reconciler with a driver that has observeMany / applyMany (the cmdline driver's shape):
// one call per step for every netdev of a pass, each netdev's failure its own.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { AppliedChange, Failure, Reconciler } from '../../core/agent/reconciler.js';
import { err, type Result } from '../../core/api/result.js';
import type { PlanFor, TcDriver } from '../../core/api/tc-driver.js';
import type { Netdev } from '../../core/model/attachment.js';
import type { Applied, Plan } from '../../core/model/plan.js';
import type { ObservedTc } from '../../core/model/tc.js';
import { ClusterStore } from '../../core/watch/store.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { ClusterBuilder, mnp } from '../fixtures/cluster-builder.js';
import { installed, reconcilerRig, sleep } from './harness.js';

/** The dry-run kernel behind observeMany / applyMany; single calls are counted so a test can see they are not used. */
class ManyDriver implements TcDriver {
  readonly name = 'dry-run';
  readonly calls: string[] = [];
  failApply = new Set<string>();
  throwApply = false;
  readonly inner = new DryRunTcDriver();
  observe(dev: Netdev): Promise<Result<ObservedTc>> {
    this.calls.push(`observe ${dev.name}`);
    return this.inner.observe(dev);
  }
  apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    this.calls.push(`apply ${dev.name}`);
    return this.inner.apply(dev, plan);
  }
  async observeMany(devs: readonly Netdev[]): Promise<Result<ObservedTc>[]> {
    this.calls.push(`observeMany ${devs.map((d) => d.name).sort().join(',')}`);
    return Promise.all(devs.map((d) => this.inner.observe(d)));
  }
  async applyMany(work: readonly PlanFor[]): Promise<Result<Applied>[]> {
    this.calls.push(`applyMany ${work.map((w) => w.dev.name).sort().join(',')}`);
    if (this.throwApply) throw new Error('driver bug');
    return Promise.all(work.map((w): Promise<Result<Applied>> => (this.failApply.has(w.dev.name) ? Promise.resolve(err({ code: 'tc-batch-failed', netdev: w.dev.name, line: 1, text: 'qdisc add dev x clsact', stderr: 'Error: Exclusivity flag on' })) : this.inner.apply(w.dev, w.plan))));
  }
}

/** Three isolated servers on eth1-eth3. */
function cluster(): ClusterStore {
  const b = new ClusterBuilder().namespace('ns1', {}).nad('ns1/net1');
  for (const i of [1, 2, 3]) b.pod(`ns1/server-${i}`, { labels: { app: 'server' }, interfaces: [{ network: 'ns1/net1', ips: [`10.0.0.${i}`], representor: `eth${i}` }] });
  b.policy(mnp('ns1/servers', { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'], ingress: [] }));
  const store = new ClusterStore();
  store.replace(b.build());
  return store;
}

const rigs: Reconciler[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.stop();
});

function rig(driver: TcDriver): { r: Reconciler; changes: AppliedChange[]; failures: Failure[] } {
  const t = reconcilerRig({ store: cluster(), driver });
  rigs.push(t.r);
  return t;
}

test('a pass over three netdevs makes one observeMany and one applyMany call, and no per-netdev call', async () => {
  const d = new ManyDriver();
  const t = rig(d);
  const pass = await t.r.runOnce();
  assert.deepEqual(d.calls, ['observeMany eth1,eth2,eth3', 'applyMany eth1,eth2,eth3']);
  assert.equal(pass.applied, 3);
  assert.deepEqual(t.changes.map((c) => c.netdev).sort(), ['eth1', 'eth2', 'eth3']);
  for (const n of ['eth1', 'eth2', 'eth3']) assert.ok(installed(d.inner, n).keys.length > 0, n);
  d.calls.length = 0;
  await t.r.runOnce();
  assert.deepEqual(d.calls, ['observeMany eth1,eth2,eth3'], 'a resync with nothing to do reads once and writes nothing');
});

test('one netdev failing inside applyMany fails alone: the others are applied and in sync, it is retried', async () => {
  const d = new ManyDriver();
  d.failApply.add('eth2');
  const t = rig(d);
  const pass = await t.r.runOnce();
  assert.equal(pass.applied, 2);
  assert.deepEqual(t.failures.map((f) => [f.netdev, f.stage, f.error?.code]), [['eth2', 'apply', 'tc-batch-failed']]);
  assert.deepEqual(pass.netdevs.filter((n) => !n.inSync).map((n) => n.netdev), ['eth2']);
  assert.deepEqual(installed(d.inner, 'eth2'), { qdisc: null, keys: [] });
  d.failApply.clear();
  d.calls.length = 0;
  await sleep(60); // past the first retry delay (40 ms)
  const retry = await t.r.runOnce(false);
  assert.equal(retry.visited, 1);
  assert.deepEqual(d.calls, ['observeMany eth2', 'applyMany eth2']);
  assert.ok(retry.netdevs.every((n) => n.inSync));
});

test('an applyMany that throws fails each of its netdevs as a bug, without ending the pass or the agent', async () => {
  const d = new ManyDriver();
  d.throwApply = true;
  const t = rig(d);
  const pass = await t.r.runOnce();
  assert.equal(pass.applied, 0);
  assert.deepEqual(t.failures.map((f) => [f.netdev, f.stage, f.message]).sort(), [1, 2, 3].map((i) => [`eth${i}`, 'bug', 'driver bug']));
  d.throwApply = false;
  await sleep(60);
  const again = await t.r.runOnce(false);
  assert.equal(again.applied, 3);
});

test('a driver without *Many whose apply throws synchronously fails that netdev as a bug; the pass goes on', async () => {
  const inner = new DryRunTcDriver();
  const driver: TcDriver = {
    name: 'dry-run',
    observe: (dev) => inner.observe(dev),
    apply: (dev, plan) => {
      if (dev.name === 'eth2') throw new Error('sync bug');
      return inner.apply(dev, plan);
    },
  };
  const { r, failures } = rig(driver);
  const pass = await r.runOnce();
  assert.equal(pass.applied, 2);
  assert.deepEqual(failures.map((f) => [f.netdev, f.stage, f.message]), [['eth2', 'bug', 'sync bug']]);
});
