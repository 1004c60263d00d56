// One supervised client-node ListWatch against the fake API server: the gaps client-node 1.4
// leaves (no restart after errors, no timeouts, a hot loop on instantly closed watches) closed.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { listFunctions } from '../../core/watch/api-source.js';
import { loadKubeConfig } from '../../core/watch/kubeconfig.js';
import { SupervisedInformer, type InformerTiming } from '../../core/watch/supervised-informer.js';
import { trimObject } from '../../core/watch/trim.js';
import { FakeApiServer } from '../fake-apiserver/server.js';
import { silent, sleep, until } from '../agent/harness.js';

const TIMING: InformerTiming = { backoff: { initialMs: 50, maxMs: 400 }, watchdogMs: 10_000, listTimeoutMs: 300, shortWatchMs: 100 };

let server: FakeApiServer;
let informer: SupervisedInformer<KubernetesObject> | undefined;
let names: Set<string>;
beforeEach(async () => {
  server = await FakeApiServer.start();
  server.apply('namespaces', { metadata: { name: 'a' } });
  names = new Set();
});
afterEach(async () => {
  await informer?.stop();
  informer = undefined;
  await server.stop();
});

function start(timing = TIMING): SupervisedInformer<KubernetesObject> {
  const kc = loadKubeConfig({ master: server.url });
  assert.ok(kc.ok);
  informer = new SupervisedInformer<KubernetesObject>(
    'Namespace',
    '/api/v1/namespaces',
    kc.value,
    listFunctions(kc.value).Namespace,
    (raw) => trimObject('Namespace', raw) as KubernetesObject,
    { upsert: (o) => names.add(o.metadata!.name!), remove: (o) => names.delete(o.metadata!.name!) },
    timing,
    silent,
  );
  informer.start();
  return informer;
}

const watchRequests = (): number => server.requests.filter((r) => r.resource === 'namespaces' && r.watch).length;

test('watches closed at once, again and again, are re-watched with growing delays, not in a hot loop', async () => {
  const i = start();
  await i.whenSynced();
  server.closeNextWatches('namespaces', 1000);
  server.closeWatches();
  await sleep(800);
  const n = watchRequests();
  assert.ok(n <= 8, `${n} watch requests in 800 ms`);
  assert.ok(n >= 3, 'it keeps trying');
});

test('a list that never answers times out and is retried', async () => {
  server.hangList('namespaces', 1);
  const i = start();
  await until('synced after the retry', () => i.synced, 3000);
  assert.equal(server.requests.filter((r) => r.resource === 'namespaces' && !r.watch).length, 2);
  assert.ok(names.has('a'));
  assert.equal(i.stats.errors, 1);
});

test('a 500 on the watch is retried with backoff and the informer recovers', async () => {
  server.failWatch('namespaces', 2);
  const i = start();
  await i.whenSynced();
  server.apply('namespaces', { metadata: { name: 'b' } });
  await until('b seen', () => names.has('b'), 3000);
  assert.equal(i.stats.errors, 2);
  assert.equal(server.requests.filter((r) => r.resource === 'namespaces' && !r.watch).length, 1, 'resumed without a relist');
});

test('after stop nothing restarts and no error is reported', async () => {
  const i = start();
  await until('the watch is open', () => server.watchCount('namespaces') === 1);
  await i.stop();
  const n = server.requests.length;
  server.closeWatches();
  await sleep(300);
  assert.equal(server.requests.length, n);
  assert.equal(i.stats.errors, 0, 'the AbortError of our own stop is not an error');
});

test('watch requests ask for bookmarks, and bookmarks keep the watchdog quiet', async () => {
  const i = start({ ...TIMING, watchdogMs: 200 });
  await i.whenSynced();
  const timer = setInterval(() => server.bookmark(), 50);
  await sleep(600);
  clearInterval(timer);
  assert.equal(i.stats.restarts, 0);
  assert.equal(server.requests.find((r) => r.watch)?.query['allowWatchBookmarks'], 'true');
});

test('a large list is read in pages of 500, every object arrives', async () => {
  for (let n = 0; n < 1200; n++) server.apply('namespaces', { metadata: { name: `n${n}` } });
  const i = start();
  await i.whenSynced();
  assert.equal(names.size, 1201);
  const pages = server.requests.filter((r) => r.resource === 'namespaces' && !r.watch);
  assert.deepEqual(pages.map((p) => p.query['limit']), ['500', '500', '500']);
  assert.deepEqual(pages.map((p) => p.query['continue']), [undefined, pages[1]!.query['continue'], pages[2]!.query['continue']]);
  assert.ok(pages[2]!.query['continue']);
});
