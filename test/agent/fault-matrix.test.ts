// The fault matrix: real client-node informers against the fake API server, the agent's
// reconciler and the dry-run driver. Every test injects one fault or change and ends with the
// driver state equal to a fresh full render of what the server holds (no stale rule, nothing
// missing), plus a check that the fault really happened the way the test name says.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { FakeApiServer } from '../fake-apiserver/server.js';
import { installed, nad, pod, policy, seedBase, sleep, startHarness, until, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const lists = (s: FakeApiServer, r: Parameters<FakeApiServer['list']>[0]): number => s.requests.filter((q) => q.resource === r && !q.watch && q.method === 'GET').length;
const watches = (s: FakeApiServer, r: Parameters<FakeApiServer['list']>[0]): number => s.requests.filter((q) => q.resource === r && q.watch).length;

/** ns1/client moves out of the server's allowed peers: eth1's program changes. */
function relabelClient(s: FakeApiServer, app = 'none'): void {
  const c = s.get('pods', 'ns1/client')!;
  s.apply('pods', { ...c, metadata: { ...c.metadata, labels: { app } } });
}

test('watch closed by the server: the informer re-watches from its last version and sees the next change', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  const before = installed(h.driver, 'eth1').keys;
  const watchesBefore = watches(h.server, 'pods');
  h.server.closeWatches();
  relabelClient(h.server);
  await h.converged();
  assert.notDeepEqual(installed(h.driver, 'eth1').keys, before, 'the change reached eth1');
  assert.ok(watches(h.server, 'pods') > watchesBefore, 'pods were watched again');
  assert.equal(lists(h.server, 'pods'), 1, 'a closed stream resumes without a relist');
});

test('410 Gone: a watch from a compacted version relists, and a pod deleted meanwhile loses its rules', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  assert.ok(installed(h.driver, 'eth1').keys.length > 0);
  h.server.silence('pods'); // the DELETED event is never streamed
  h.server.delete('pods', 'ns1/server');
  h.server.compact('pods');
  h.server.closeWatches('pods');
  await h.converged();
  assert.equal(installed(h.driver, 'eth1').qdisc, null, 'rules and qdisc removed from eth1');
  assert.equal(lists(h.server, 'pods'), 2, 'the 410 made the informer relist');
});

test('410 Gone as an ERROR event in the stream also relists', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  h.server.goneAs = 'event';
  h.server.silence('pods');
  relabelClient(h.server);
  h.server.expireWatches('pods');
  await h.converged();
  assert.ok(lists(h.server, 'pods') >= 2, 'relisted after the ERROR 410');
});

test('500 on list: the informer retries with backoff until the list succeeds', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  h.server.failList('policies', 3);
  const p = h.server.get('policies', 'ns1/allow-clients')!;
  h.server.silence('policies');
  h.server.apply('policies', { ...p, spec: { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'], ingress: [] } });
  h.server.compact('policies');
  h.server.closeWatches('policies'); // re-watch → 410 → relist → 500, 500, 500 → list
  await h.converged();
  assert.equal(lists(h.server, 'policies'), 5, 'the initial list, three failed ones, then one that worked');
  assert.ok(h.source.stats().MultiNetworkPolicy.errors >= 3);
});

test('silent watch: the watchdog restarts a watch that delivers nothing', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  const restarts = h.source.stats().Pod.restarts;
  h.server.silence('pods'); // half-open: connected, nothing arrives (not even bookmarks)
  relabelClient(h.server);
  await h.converged();
  assert.ok(h.source.stats().Pod.restarts > restarts, 'the pod watch was restarted by the watchdog');
  assert.equal(lists(h.server, 'pods'), 1, 'resumed from its version: the missed event was replayed');
});

test('API unreachable for a while then back: informers back off, reconnect and converge', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  const errors = h.source.stats().Pod.errors;
  await h.server.refuse();
  relabelClient(h.server); // changed while the agent cannot see it
  await sleep(400);
  assert.ok(h.source.stats().Pod.errors > errors, 'connection errors were seen');
  const before = installed(h.driver, 'eth1').keys;
  await h.server.restore();
  await h.converged();
  assert.notDeepEqual(installed(h.driver, 'eth1').keys, before);
});

test('object deleted while the watch was down: the relist removes it and its rules', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  await h.server.refuse();
  h.server.delete('pods', 'ns1/server'); // a local pod with rules on eth1
  h.server.compact(); // the DELETED event is gone from the history: only a relist can tell
  await sleep(200);
  await h.server.restore();
  await h.converged();
  assert.deepEqual(installed(h.driver, 'eth1'), { qdisc: null, keys: [] });
  assert.equal(h.store.get('Pod', 'ns1/server'), undefined);
});

test('NAD after pod: an interface whose network appears later is enforced once it does', async () => {
  h = await startHarness((s) => {
    seedBase(s);
    s.apply('pods', pod('ns1/late', { labels: { app: 'late' }, nets: [['ns1/net2', 'eth4', '10.1.0.4']] }));
    s.apply('policies', policy('ns1/deny-late', 'ns1/net2', { podSelector: { matchLabels: { app: 'late' } }, policyTypes: ['Ingress', 'Egress'] }));
  });
  await h.converged();
  assert.equal(installed(h.driver, 'eth4').qdisc, null, 'no NAD yet: not enforced');
  h.server.apply('nads', nad('ns1/net2'));
  await h.converged();
  assert.ok(installed(h.driver, 'eth4').keys.length > 0, 'enforced after the NAD was created');
});

test('pod relabelled: a target that is no longer selected loses its rules; a peer that no longer matches leaves the allowed set', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  const withClient = installed(h.driver, 'eth1').keys;
  relabelClient(h.server);
  await h.converged();
  assert.notDeepEqual(installed(h.driver, 'eth1').keys, withClient, 'the peer left eth1s allowed set');
  const s = h.server.get('pods', 'ns1/server')!;
  h.server.apply('pods', { ...s, metadata: { ...s.metadata, labels: { app: 'not-selected' } } });
  await h.converged();
  assert.equal(installed(h.driver, 'eth1').qdisc, null, 'no policy selects it: everything of ours removed');
});

test('namespace relabelled: a namespaceSelector peer follows the namespace labels', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  const before = installed(h.driver, 'eth1').keys;
  assert.ok(before.some((k) => k.includes('10.0.0.9/32')), 'ns2/other is allowed through its namespace');
  const n = h.server.get('namespaces', 'ns2')!;
  h.server.apply('namespaces', { ...n, metadata: { ...n.metadata, labels: { team: 'c', 'kubernetes.io/metadata.name': 'ns2' } } });
  await h.converged();
  assert.ok(!installed(h.driver, 'eth1').keys.some((k) => k.includes('10.0.0.9/32')), 'no longer allowed');
});

test('policy deleted: the pods it isolated lose our filters and qdisc', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  h.server.delete('policies', 'ns1/allow-clients');
  await h.converged();
  assert.deepEqual(installed(h.driver, 'eth1'), { qdisc: null, keys: [] });
});

test('pod deleted: its representor loses our filters, and our qdisc where nothing else uses it', async () => {
  h = await startHarness((s) => {
    seedBase(s);
    s.apply('pods', pod('ns1/server-2', { labels: { app: 'server' }, nets: [['ns1/net1', 'eth5', '10.0.0.5']] }));
  });
  await h.converged();
  // Another tool's filter on eth5 keeps the qdisc alive.
  h.driver.seed('eth5', {
    qdisc: 'clsact',
    filters: h.driver.state('eth5').filters.flatMap((k) => (k.flower ? [k.flower] : [])),
    foreign: [{ hook: 'ingress', chain: 0, pref: 1, protocol: 'ip', kind: 'u32' }],
  });
  h.server.delete('pods', 'ns1/server');
  h.server.delete('pods', 'ns1/server-2');
  await h.converged();
  assert.deepEqual(installed(h.driver, 'eth1'), { qdisc: null, keys: [] });
  assert.deepEqual(installed(h.driver, 'eth5'), { qdisc: 'clsact', keys: [] }, 'qdisc kept for the foreign filter');
  assert.equal(h.driver.state('eth5').filters.length, 1, 'the foreign filter is untouched');
});

test('node name case: spec.nodeName is compared case-insensitively', async () => {
  h = await startHarness(
    (s) => {
      seedBase(s);
      s.apply('pods', pod('ns1/server-3', { labels: { app: 'server' }, node: 'WORKER-1', nets: [['ns1/net1', 'eth6', '10.0.0.6']] }));
      s.apply('pods', pod('ns1/server-4', { labels: { app: 'server' }, node: 'worker-10', nets: [['ns1/net1', 'eth7', '10.0.0.7']] }));
    },
    { node: 'Worker-1' },
  );
  await h.converged();
  assert.ok(installed(h.driver, 'eth6').keys.length > 0, 'WORKER-1 is this node');
  assert.ok(installed(h.driver, 'eth1').keys.length > 0, 'worker-1 is this node');
  assert.equal(installed(h.driver, 'eth7').qdisc, null, 'worker-10 is not');
});

test('an invalid policy from the API fails closed and gets a Warning event naming the field', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  h.server.apply(
    'policies',
    policy('ns1/broken', 'ns1/net1', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 70000 }] }] }),
  );
  await h.converged();
  assert.ok(installed(h.driver, 'eth2').keys.length > 0, 'ns1/client is isolated by the invalid policy');
  await until('a PolicyInvalid event', () =>
    h!.server.events.some((e) => (e as { reason?: string; message?: string }).reason === 'PolicyInvalid' && /ns1\/broken.*spec\.ingress\[0\]\.ports\[0\]\.port/.test((e as { message: string }).message)),
  );
});

test('an interface removed from a running pod loses our filters on its representor', async () => {
  h = await startHarness((s) => {
    seedBase(s);
    s.apply('nads', nad('ns1/net2'));
    s.apply('pods', pod('ns1/dual', { labels: { app: 'server' }, nets: [['ns1/net1', 'eth5', '10.0.0.5'], ['ns1/net2', 'eth6', '10.1.0.6']] }));
    s.apply('policies', policy('ns1/net2-deny', 'ns1/net2', { podSelector: {}, policyTypes: ['Ingress'] }));
  });
  await h.converged();
  assert.ok(installed(h.driver, 'eth6').keys.length > 0);
  h.server.apply('pods', pod('ns1/dual', { labels: { app: 'server' }, nets: [['ns1/net1', 'eth5', '10.0.0.5']] }));
  await h.converged();
  assert.deepEqual(installed(h.driver, 'eth6'), { qdisc: null, keys: [] });
  assert.ok(installed(h.driver, 'eth5').keys.length > 0, 'the remaining interface keeps its rules');
});

test('stop leaves the rules in place, and a restarted agent adopts them without a gap', async () => {
  h = await startHarness(seedBase);
  await h.converged();
  const { server, driver } = h;
  await h.agent.stop();
  const installedBefore = installed(driver, 'eth1');
  assert.ok(installedBefore.keys.length > 0, 'rules stay after stop');
  const applies = driver.history.length;
  await h.stop(); // also stops the server: bring it back, same objects, same versions
  await server.restore();
  h = await startHarness(() => undefined, { server, driver, adopt: ['eth1', 'eth2', 'eth3'] });
  await h.converged();
  assert.equal(driver.history.length, applies, 'the restarted agent changed nothing');
  assert.deepEqual(installed(driver, 'eth1'), installedBefore);
  await h.stop();
  h = undefined;
  await server.stop();
});
