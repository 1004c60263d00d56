// The rules dump shows each filter's offload state as the kernel reported it (in_hw /
// not_in_hw) on the last read; the full pass after an apply reads the new filters back.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { offlineResolver } from '../../core/agent/netdev-resolver.js';
import { Reconciler } from '../../core/agent/reconciler.js';
import type { Result } from '../../core/api/result.js';
import type { TcDriver } from '../../core/api/tc-driver.js';
import type { Netdev } from '../../core/model/attachment.js';
import type { Applied, Plan } from '../../core/model/plan.js';
import type { ObservedTc } from '../../core/model/tc.js';
import { DEFAULT_NODE_OPTIONS } from '../../core/pipeline/program-node.js';
import { RulesDump } from '../../core/report/rules-dump.js';
import { ClusterStore } from '../../core/watch/store.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { ClusterBuilder, mnp, NODE } from '../fixtures/cluster-builder.js';
import { adapter, silent } from '../agent/harness.js';

/** The dry-run kernel, reporting like an mlx5 representor: only the ingress hook offloads. */
class OffloadingDriver implements TcDriver {
  readonly name = 'offloading';
  private readonly inner = new DryRunTcDriver();
  async observe(dev: Netdev): Promise<Result<ObservedTc>> {
    const o = await this.inner.observe(dev);
    if (!o.ok) return o;
    return { ok: true, value: { ...o.value, filters: o.value.filters.map((f) => ({ ...f, inHw: f.hook === 'ingress' })) } };
  }
  apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    return this.inner.apply(dev, plan);
  }
}

test('each filter line of the rules dump carries the offload state read back from the kernel', async () => {
  const root = await mkdtemp(join(tmpdir(), 'mnp-offload-'));
  const store = new ClusterStore();
  store.replace(
    new ClusterBuilder()
      .namespace('ns1')
      .nad('ns1/net1')
      .pod('ns1/a', { uid: 'uid-a', labels: { app: 'a' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], representor: 'eth1' }] })
      .pod('ns1/b', { uid: 'uid-b', labels: { app: 'b' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.2'], representor: 'eth3' }] })
      .policy(mnp('ns1/p', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'b' } } }] }] }, 'net1'))
      .build(),
  );
  const r = new Reconciler({ store, nodeName: NODE, adapters: [adapter], nodeOptions: DEFAULT_NODE_OPTIONS, driver: new OffloadingDriver(), resolve: offlineResolver, log: silent, timing: { resyncMs: 0 }, reporters: [new RulesDump(root, silent)] });
  await r.runOnce(); // installs
  await r.runOnce(); // a full pass reads the installed filters and their offload state back
  const [file] = await readdir(join(root, 'uid-a'));
  const text = await readFile(join(root, 'uid-a', file!), 'utf8');
  const lines = text.split('\n').filter((l) => /^(ingress|egress) chain/.test(l));
  assert.ok(lines.length > 0);
  for (const l of lines) assert.match(l, l.startsWith('ingress') ? /  # in_hw$/ : /  # not_in_hw$/, l);
});
