import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_COMPILE_OPTIONS } from '../../../core/pipeline/compile.js';
import { programNode } from '../../../core/pipeline/program-node.js';
import { acceleratedBridge, ClusterBuilder, mnp } from '../../fixtures/cluster-builder.js';

const cluster = () =>
  new ClusterBuilder()
    .nad('ns1/net1')
    .pod('ns1/server', { labels: { app: 'server' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'] }] })
    .pod('ns1/client', { labels: { app: 'client' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.2'] }] })
    .pod('ns1/remote', { labels: { app: 'client' }, node: 'worker-2', interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.3'] }] })
    .pod('ns1/waiting', { phase: 'Pending', interfaces: [{ network: 'ns1/net1', ips: [] }] })
    .policy(mnp('ns1/server-in', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 80 }] }] }))
    .build();

test('select -> render -> compile for every local endpoint; skips are passed through', () => {
  const np = programNode(cluster(), 'worker-1', [acceleratedBridge]);
  assert.deepEqual(np.programs.map((p) => p.endpoint.key), ['ns1/client/net1', 'ns1/server/net1']);
  assert.deepEqual(np.skipped.map((s) => [s.pod, s.reason]), [['ns1/waiting', 'not-running']]);
  const [client, server] = np.programs;
  assert.deepEqual(client!.compiled.filters, [], 'the client is selected by no policy');
  assert.deepEqual(server!.rules.ingress?.grants.map((g) => g.peers), [['10.0.0.2/32', '10.0.0.3/32']], 'the remote client is a peer too');
  assert.ok(server!.compiled.filters.some((f) => f.hook === 'egress' && f.match.srcIp === '10.0.0.2/31' && f.match.dstPort?.start === 80), 'adjacent peers aggregated');
});

test('compile options reach compile', () => {
  const np = programNode(cluster(), 'worker-1', [acceleratedBridge], { ...DEFAULT_COMPILE_OPTIONS, stateful: false, encapsulations: ['untagged'] });
  const filters = np.programs.flatMap((p) => p.compiled.filters);
  assert.ok(filters.length > 0);
  assert.ok(filters.every((f) => f.actions.every((a) => a.kind !== 'ct') && f.protocol !== '802.1Q'));
});

test('deterministic over object order', () => {
  const c = cluster();
  const shuffled = { ...c, pods: [...c.pods].reverse(), namespaces: [...c.namespaces].reverse() };
  const strip = (np: ReturnType<typeof programNode>) => ({ programs: np.programs, skipped: np.skipped });
  assert.deepEqual(strip(programNode(shuffled, 'worker-1', [acceleratedBridge])), strip(programNode(c, 'worker-1', [acceleratedBridge])));
});

test("encapsulations 'auto' (the default): untagged only, plus 802.1Q where the network trunks VLANs", () => {
  const c = new ClusterBuilder()
    .nad('ns1/plain')
    .nad('ns1/trunked', 'accelerated-bridge', { trunk: [{ minID: 100, maxID: 200 }] })
    .pod('ns1/a', { interfaces: [{ network: 'ns1/plain', ips: ['10.0.0.1'], iface: 'net1' }, { network: 'ns1/trunked', ips: ['10.1.0.1'], iface: 'net2' }] })
    .policy(mnp('ns1/deny', { podSelector: {} }, 'plain,trunked'))
    .build();
  const np = programNode(c, 'worker-1', [acceleratedBridge]);
  assert.deepEqual(np.programs.map((p) => [p.endpoint.key, p.options.encapsulations]), [
    ['ns1/a/net1', ['untagged']],
    ['ns1/a/net2', ['untagged', '802.1Q']],
  ]);
  assert.ok(np.programs[0]!.compiled.filters.every((f) => f.protocol !== '802.1Q' && f.protocol !== '802.1ad'));
  assert.ok(np.programs[1]!.compiled.filters.some((f) => f.protocol === '802.1Q'));
  assert.ok(np.programs[1]!.compiled.filters.every((f) => f.protocol !== '802.1ad'), 'QinQ only when asked for');
});

test('an explicit encapsulation list applies to every endpoint', () => {
  const np = programNode(cluster(), 'worker-1', [acceleratedBridge], { stateful: true, ctZone: 0, encapsulations: ['untagged', '802.1ad'] });
  assert.ok(np.programs.every((p) => p.options.encapsulations.join() === 'untagged,802.1ad'));
});
