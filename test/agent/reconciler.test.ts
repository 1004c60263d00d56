// The reconciler on its own: a ClusterStore fed directly, the dry-run driver behind a
// recording wrapper. What a pass observes and applies, retries, adoption after a restart,
// drift repair, coalescing.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { offlineResolver } from '../../core/agent/netdev-resolver.js';
import { Reconciler, type AppliedChange, type Failure, type NetdevResolver, type ReconcilerTiming } from '../../core/agent/reconciler.js';
import { err, type Result } from '../../core/api/result.js';
import type { TcDriver } from '../../core/api/tc-driver.js';
import type { Netdev } from '../../core/model/attachment.js';
import type { Applied, Plan } from '../../core/model/plan.js';
import { filterKey, type ObservedTc } from '../../core/model/tc.js';
import { programNode } from '../../core/pipeline/program-node.js';
import { DEFAULT_NODE_OPTIONS } from '../../core/pipeline/program-node.js';
import { ClusterStore } from '../../core/watch/store.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { ClusterBuilder, mnp, NODE } from '../fixtures/cluster-builder.js';
import { adapter, installed, reconcilerRig, sleep, until } from './harness.js';

/** Counts what the reconciler asks of the driver; can make applies fail. */
class RecordingDriver implements TcDriver {
  readonly name = 'dry-run';
  readonly observed: string[] = [];
  readonly applied: string[] = [];
  failApplies = new Map<string, number>();
  constructor(readonly inner = new DryRunTcDriver()) {}
  observe(dev: Netdev): Promise<Result<ObservedTc>> {
    this.observed.push(dev.name);
    return this.inner.observe(dev);
  }
  async apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    const left = this.failApplies.get(dev.name) ?? 0;
    if (left > 0) {
      this.failApplies.set(dev.name, left - 1);
      return err({ code: 'tc-batch-failed', netdev: dev.name, line: 1, text: 'qdisc add', stderr: 'RTNETLINK answers: Operation not permitted' });
    }
    this.applied.push(dev.name);
    return this.inner.apply(dev, plan);
  }
}

/** Two local servers (eth1, eth2) and a client (eth3) on ns1/net1; a policy isolates servers. */
function base(): ClusterBuilder {
  return new ClusterBuilder()
    .namespace('ns1', { team: 'a' })
    .nad('ns1/net1')
    .pod('ns1/server-1', { labels: { app: 'server', shard: '1' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], representor: 'eth1' }] })
    .pod('ns1/server-2', { labels: { app: 'server', shard: '2' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.2'], representor: 'eth2' }] })
    .pod('ns1/client', { labels: { app: 'client' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.9'], representor: 'eth3' }] })
    .policy(mnp('ns1/servers', { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] }));
}

interface Rig {
  readonly store: ClusterStore;
  readonly driver: RecordingDriver;
  readonly r: Reconciler;
  readonly changes: AppliedChange[];
  readonly failures: Failure[];
}

const rigs: Reconciler[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.stop();
});

function rig(b: ClusterBuilder, o: { driver?: RecordingDriver; timing?: Partial<ReconcilerTiming>; resolve?: NetdevResolver; store?: ClusterStore } = {}): Rig {
  const store = o.store ?? new ClusterStore();
  if (!o.store) store.replace(b.build());
  const driver = o.driver ?? new RecordingDriver();
  const { r, changes, failures } = reconcilerRig({ store, driver, ...(o.resolve ? { resolve: o.resolve } : {}), ...(o.timing ? { timing: o.timing } : {}) });
  store.onChange(() => r.markDirty());
  rigs.push(r);
  return { store, driver, r, changes, failures };
}

test('a change observes and applies only the netdevs whose program changed', async () => {
  const t = rig(base());
  await t.r.runOnce();
  assert.deepEqual([...t.driver.applied].sort(), ['eth1', 'eth2'], 'the client is not isolated: nothing to install on eth3');
  t.driver.observed.length = 0;
  t.driver.applied.length = 0;
  // Narrow the policy to shard 1: eth2 loses its rules, eth1's program is unchanged.
  t.store.replace(base().policy(mnp('ns1/servers', { podSelector: { matchLabels: { shard: '1' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] })).build());
  await t.r.runOnce(false);
  assert.deepEqual(t.driver.observed, ['eth2']);
  assert.deepEqual(t.driver.applied, ['eth2']);
  assert.deepEqual(installed(t.driver.inner, 'eth2'), { qdisc: null, keys: [] });
});

test('a change that alters no program observes nothing', async () => {
  const t = rig(base());
  await t.r.runOnce();
  t.driver.observed.length = 0;
  t.store.replace(base().pod('ns1/remote', { node: 'worker-9', labels: { app: 'other' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.50'] }] }).build());
  const r = await t.r.runOnce(false);
  assert.equal(r.visited, 0);
  assert.deepEqual(t.driver.observed, []);
});

test('a failed apply leaves the previous rules in force, is reported, and is retried with backoff until it works', async () => {
  const t = rig(base());
  t.r.enable();
  await t.r.whenFirstPassDone();
  const before = installed(t.driver.inner, 'eth1');
  t.driver.failApplies.set('eth1', 2);
  // The client moves to another address: eth1's allowed peers change.
  t.store.replace(base().pod('ns1/client', { labels: { app: 'client' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.77'], representor: 'eth3' }] }).build());
  await until('two failures', () => t.failures.filter((f) => f.netdev === 'eth1').length >= 1);
  assert.deepEqual(installed(t.driver.inner, 'eth1'), before, 'previous rules still in force');
  await until('eth1 applied after the retries', () => installed(t.driver.inner, 'eth1').keys.some((k) => k.includes('10.0.0.77')));
  const f = t.failures.filter((x) => x.netdev === 'eth1');
  assert.deepEqual(
    f.map((x) => x.attempt),
    [1, 2],
  );
  assert.ok(f[1]!.retryInMs > f[0]!.retryInMs, 'backoff grows');
  assert.equal(f[0]!.stage, 'apply');
  assert.match(f[0]!.message, /Operation not permitted/);
});

test('a restart adopts what is installed without a gap: the first pass applies nothing', async () => {
  const first = rig(base());
  await first.r.runOnce();
  await first.r.stop();
  const applies = first.driver.applied.length;
  const second = rig(base(), { driver: first.driver });
  second.r.adopt([{ name: 'eth1' }, { name: 'eth2' }, { name: 'eth3' }, { name: 'eth9' }]);
  const r = await second.r.runOnce();
  assert.equal(first.driver.applied.length, applies, 'no op at all on restart');
  assert.equal(r.visited, 4, 'every adopted netdev was observed');
  assert.equal(r.applied, 0);
});

test('a pod deleted while the agent was down loses its rules in the first pass after the restart', async () => {
  const first = rig(base());
  await first.r.runOnce();
  await first.r.stop();
  const second = rig(base().remove('pod', 'ns1/server-2'), { driver: first.driver });
  second.r.adopt([{ name: 'eth1' }, { name: 'eth2' }, { name: 'eth3' }]);
  await second.r.runOnce();
  assert.deepEqual(installed(first.driver.inner, 'eth2'), { qdisc: null, keys: [] });
  assert.ok(installed(first.driver.inner, 'eth1').keys.length > 0, 'the live pod keeps its rules');
  assert.equal(second.changes.length, 1);
  assert.deepEqual(second.changes[0]!.endpoints, [], 'reported as a removal');
});

test('a netdev programmed in this run is cleaned when its pod goes away', async () => {
  const t = rig(base());
  await t.r.runOnce();
  t.store.replace(base().remove('pod', 'ns1/server-1').build());
  await t.r.runOnce(false);
  assert.deepEqual(installed(t.driver.inner, 'eth1'), { qdisc: null, keys: [] });
});

test('the periodic resync observes every netdev and repairs drift', async () => {
  const t = rig(base(), { timing: { resyncMs: 60 } });
  t.r.enable();
  await t.r.whenFirstPassDone();
  const want = installed(t.driver.inner, 'eth1');
  // Someone deletes one of our filters behind the agent's back.
  const st = t.driver.inner.state('eth1');
  t.driver.inner.seed('eth1', { qdisc: 'clsact', filters: st.filters.slice(1).flatMap((k) => (k.flower ? [k.flower] : [])) });
  assert.notDeepEqual(installed(t.driver.inner, 'eth1'), want);
  await until('drift repaired', () => t.changes.some((c) => c.netdev === 'eth1' && c.drift));
  assert.deepEqual(installed(t.driver.inner, 'eth1'), want);
});

test('a burst of 1 000 changes is coalesced into a few passes', async () => {
  const t = rig(base(), { timing: { coalesceMs: 50, minIntervalMs: 200 } });
  t.r.enable();
  await t.r.whenFirstPassDone();
  const passes = t.r.stats.passes;
  const b = base();
  for (let i = 0; i < 1000; i++) b.pod(`ns1/burst-${i}`, { node: 'worker-2', labels: { app: 'client' }, interfaces: [{ network: 'ns1/net1', ips: [`10.1.${i >> 8}.${i & 255}`] }] });
  const pods = b.build().pods.filter((p) => p.metadata.name.startsWith('burst-'));
  for (const [i, p] of pods.entries()) {
    t.store.put('Pod', `ns1/${p.metadata.name}`, p);
    if (i % 50 === 0) await sleep(5); // events arrive over ~100 ms, as from a watch
  }
  await until('quiet', async () => {
    const n = t.r.stats.passes;
    await sleep(300);
    return n === t.r.stats.passes;
  });
  const ran = t.r.stats.passes - passes;
  assert.ok(ran >= 1 && ran <= 4, `${ran} passes for 1000 changes`);
  const want = programNode(t.store.snapshot(), NODE, [adapter], DEFAULT_NODE_OPTIONS).programs.find((p) => p.endpoint.pod.name === 'server-1')!;
  assert.deepEqual(installed(t.driver.inner, 'eth1').keys, want.compiled.filters.map(filterKey).sort(), 'the last change is in');
});

test('an endpoint whose representor cannot be found is reported and retried, and others proceed', async () => {
  let fail = 2;
  const resolve: NetdevResolver = async (ep) => {
    if (ep.pod.name === 'server-1' && fail > 0) {
      fail--;
      return err({ code: 'representor-not-found', device: '0000:03:00.2', cause: 'VF not yet there' });
    }
    return offlineResolver(ep);
  };
  const t = rig(base(), { resolve });
  t.r.enable();
  await until('eth1 programmed after the retries', () => installed(t.driver.inner, 'eth1').keys.length > 0);
  assert.ok(installed(t.driver.inner, 'eth2').keys.length > 0);
  const f = t.failures.filter((x) => x.stage === 'resolve');
  assert.equal(f.length, 2);
  assert.match(f[0]!.message, /no VF representor for device 0000:03:00.2: VF not yet there/);
});

test('two endpoints claiming one netdev with different programs: it is left alone and reported', async () => {
  const t = rig(base().pod('ns1/dup', { labels: { app: 'other' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.5'], representor: 'eth1' }] }));
  const r = await t.r.runOnce();
  assert.ok(!t.driver.observed.includes('eth1'));
  assert.equal(r.netdevs.some((n) => n.netdev === 'eth1'), false);
  assert.match(t.failures.find((f) => f.stage === 'conflict')!.message, /eth1 is claimed by ns1\/dup\/net1, ns1\/server-1\/net1/);
});

test('stop waits for the pass in progress and schedules nothing after', async () => {
  const t = rig(base());
  t.r.enable();
  await t.r.whenFirstPassDone();
  await t.r.stop();
  const passes = t.r.stats.passes;
  t.store.replace(base().remove('pod', 'ns1/server-1').build());
  await sleep(50);
  assert.equal(t.r.stats.passes, passes);
  assert.ok(installed(t.driver.inner, 'eth1').keys.length > 0, 'rules stay after stop');
});
