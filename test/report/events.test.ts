// Kubernetes Events: what is announced (invalid policy, partly enforced policy, failed
// apply), with object and field in the message, deduplicated, and posted through client-node.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { offlineResolver } from '../../core/agent/netdev-resolver.js';
import { Reconciler, type Failure } from '../../core/agent/reconciler.js';
import { DEFAULT_NODE_OPTIONS } from '../../core/pipeline/program-node.js';
import { ApiEventSink } from '../../core/report/api-event-sink.js';
import { EventReporter, toV1Event, type AgentEvent, type EventSink } from '../../core/report/events.js';
import { loadKubeConfig } from '../../core/watch/kubeconfig.js';
import { ClusterStore } from '../../core/watch/store.js';
import { DryRunTcDriver } from '../../drivers/dry-run/dry-run-driver.js';
import { ClusterBuilder, mnp, NODE } from '../fixtures/cluster-builder.js';
import { FakeApiServer } from '../fake-apiserver/server.js';
import { adapter, silent, until } from '../agent/harness.js';

class Recorder implements EventSink {
  readonly events: AgentEvent[] = [];
  emit(e: AgentEvent): void {
    this.events.push(e);
  }
  async flush(): Promise<void> {}
}

const invalid = { namespace: 'ns1', name: 'bad', annotations: { 'k8s.v1.cni.cncf.io/policy-for': 'net1' }, policyTypes: ['Ingress' as const], field: 'spec.ingress[0].ports[0].port', problem: 'must be between 1 and 65535' };

function cluster(withInvalid: boolean): ClusterBuilder {
  const b = new ClusterBuilder()
    .namespace('ns1')
    .nad('ns1/net1')
    .pod('ns1/a', { labels: { app: 'a' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], representor: 'eth1' }] })
    .policy(mnp('ns1/named', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 'metrics' }] }] }));
  return withInvalid ? b.invalidPolicy(invalid) : b;
}

async function pass(store: ClusterStore, sink: EventSink): Promise<void> {
  const r = new Reconciler({ store, nodeName: NODE, adapters: [adapter], nodeOptions: DEFAULT_NODE_OPTIONS, driver: new DryRunTcDriver(), resolve: offlineResolver, log: silent, reporters: [reporter(sink)] });
  await r.runOnce();
}

const reporters = new Map<EventSink, EventReporter>();
const reporter = (sink: EventSink): EventReporter => reporters.get(sink) ?? reporters.set(sink, new EventReporter(sink, NODE)).get(sink)!;

test('an invalid policy gets one Warning naming the object and the field, again only after it was fixed and broke again', async () => {
  const sink = new Recorder();
  const store = new ClusterStore();
  store.replace(cluster(true).build());
  await pass(store, sink);
  await pass(store, sink);
  const invalidEvents = () => sink.events.filter((e) => e.reason === 'PolicyInvalid');
  assert.equal(invalidEvents().length, 1, 'announced once');
  assert.deepEqual(invalidEvents()[0]!.regarding, { kind: 'MultiNetworkPolicy', namespace: 'ns1', name: 'bad' });
  assert.equal(
    invalidEvents()[0]!.message,
    'MultiNetworkPolicy ns1/bad cannot be enforced: spec.ingress[0].ports[0].port: must be between 1 and 65535; the pods it may select are isolated for Ingress and it allows nothing (fail closed)',
  );
  store.replace(cluster(false).build());
  await pass(store, sink);
  store.replace(cluster(true).build());
  await pass(store, sink);
  assert.equal(invalidEvents().length, 2);
});

test('a part of a policy that allows nothing is a PolicyPartlyEnforced warning with the field', async () => {
  const sink = new Recorder();
  const store = new ClusterStore();
  store.replace(cluster(false).build());
  await pass(store, sink);
  const e = sink.events.find((x) => x.reason === 'PolicyPartlyEnforced');
  assert.ok(e);
  assert.equal(e.regarding.name, 'named');
  assert.match(e.message, /^MultiNetworkPolicy ns1\/named spec\.ingress\[0\]\.ports: named port 'metrics'/);
});

test('a failure is a Warning on each pod of the netdev, saying the previous rules stay', () => {
  const sink = new Recorder();
  const f: Failure = {
    rev: 3,
    netdev: 'eth1',
    endpoints: [{ key: 'ns1/a/net1', pod: { namespace: 'ns1', name: 'a', uid: 'u' }, attachment: { adapter: 'accelerated-bridge', network: 'ns1/net1', interface: 'net1', ips: [] } }],
    stage: 'apply',
    message: 'tc -batch on eth1 failed at line 2 (filter add ...): RTNETLINK answers: File exists',
    attempt: 1,
    retryInMs: 1000,
  };
  new EventReporter(sink, NODE).failed(f);
  assert.deepEqual(sink.events, [
    {
      regarding: { kind: 'Pod', namespace: 'ns1', name: 'a', uid: 'u' },
      type: 'Warning',
      reason: 'PolicyRulesNotApplied',
      message: 'node worker-1: interface net1 (network ns1/net1) on eth1: tc -batch on eth1 failed at line 2 (filter add ...): RTNETLINK answers: File exists; previous rules left in place, retrying',
    },
  ]);
});

test('a v1 Event names the involved object and this node as source', () => {
  const v1 = toV1Event({ regarding: { kind: 'Node', name: 'Worker-1' }, type: 'Normal', reason: 'Started', message: 'hi' }, 'Worker-1', new Date(0));
  assert.equal(v1.metadata?.namespace, 'default');
  assert.equal(v1.metadata?.generateName, 'worker-1.');
  assert.deepEqual(v1.involvedObject, { apiVersion: 'v1', kind: 'Node', name: 'Worker-1' });
  assert.deepEqual(v1.source, { component: 'multi-networkpolicy-tc', host: 'Worker-1' });
});

test('the API sink posts through client-node, sends the same event once, and survives a refusal', async () => {
  const server = await FakeApiServer.start();
  try {
    const kc = loadKubeConfig({ master: server.url });
    assert.ok(kc.ok);
    const sink = new ApiEventSink(kc.value, NODE, silent);
    const e: AgentEvent = { regarding: { kind: 'MultiNetworkPolicy', namespace: 'ns1', name: 'bad' }, type: 'Warning', reason: 'PolicyInvalid', message: 'm' };
    sink.emit(e);
    sink.emit(e);
    await sink.flush();
    assert.equal(server.events.length, 1);
    const posted = server.requests.filter((r) => r.resource === 'events');
    assert.equal(posted.length, 1);
    server.deny = () => 403;
    sink.emit({ ...e, message: 'other' });
    await sink.flush(); // no throw
    await until('the refused post', () => server.requests.filter((r) => r.resource === 'events').length === 2);
  } finally {
    await server.stop();
  }
});
