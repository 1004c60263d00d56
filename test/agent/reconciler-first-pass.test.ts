// whenFirstPassDone() is readiness. It must not keep the first pass's result (its snapshot and
// index) for the life of the agent: asked later, it answers with the newest pass.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { offlineResolver } from '../../core/agent/netdev-resolver.js';
import { Reconciler } from '../../core/agent/reconciler.js';
import { emptyCluster } from '../../core/model/snapshot.js';
import { DEFAULT_NODE_OPTIONS } from '../../core/pipeline/program-node.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { adapter, NODE, silent } from './harness.js';

test('whenFirstPassDone waits for the first pass, and later gives the newest pass instead of pinning the first', async () => {
  let rev = 1;
  const r = new Reconciler({
    store: { snapshot: () => ({ ...emptyCluster(), rev }) },
    nodeName: NODE,
    adapters: [adapter],
    nodeOptions: DEFAULT_NODE_OPTIONS,
    driver: new DryRunTcDriver(),
    resolve: offlineResolver,
    log: silent,
    timing: { resyncMs: 0 },
  });
  let ready = false;
  const waiting = r.whenFirstPassDone().then((p) => {
    ready = true;
    return p;
  });
  await new Promise((res) => setTimeout(res, 10));
  assert.equal(ready, false, 'no pass yet');
  await r.runOnce();
  assert.equal((await waiting).rev, 1, 'the first pass resolves the waiters');
  rev = 2;
  await r.runOnce();
  assert.equal((await r.whenFirstPassDone()).rev, 2, 'asked later: the newest pass');
  await r.stop();
});
