// A namespace change re-renders only the endpoints whose isolating policies have a
// namespaceSelector peer whose choice of that namespace changed; the result still equals a
// full recomputation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyScope, noteChange, ProgramCache } from '../../core/agent/incremental-program.js';
import { filterKey } from '../../core/model/tc.js';
import { DEFAULT_NODE_OPTIONS, programNode } from '../../core/pipeline/program-node.js';
import { ClusterStore } from '../../core/watch/store.js';
import { ClusterBuilder, mnp, NODE } from '../fixtures/cluster-builder.js';
import { adapter } from './harness.js';

function setup() {
  const b = new ClusterBuilder()
    .namespace('ns1', { team: 'x' })
    .namespace('ns2', { team: 'y', env: 'prod' })
    .namespace('ns3')
    .nad('ns1/net1')
    // three local endpoints, each with a different kind of peer
    .pod('ns1/by-team', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.1'], representor: 'e1' }] })
    .pod('ns2/by-pod', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.2'], representor: 'e2' }] })
    .pod('ns3/by-other-team', { interfaces: [{ network: 'ns1/net1', ips: ['10.0.0.3'], representor: 'e3' }] })
    // remote peers in ns2 and ns3
    .pod('ns2/peer', { node: 'worker-2', labels: { app: 'p' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.1.2'] }] })
    .pod('ns3/peer', { node: 'worker-2', labels: { app: 'p' }, interfaces: [{ network: 'ns1/net1', ips: ['10.0.1.3'] }] })
    .policy(mnp('ns1/team-x', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } } }] }] }, 'ns1/net1'))
    .policy(mnp('ns2/pods', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'p' } } }] }] }, 'ns1/net1'))
    .policy(mnp('ns3/team-z', { podSelector: {}, egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'z' } } }] }], policyTypes: ['Egress'] }, 'ns1/net1'));
  const store = new ClusterStore();
  const cache = new ProgramCache(NODE, [adapter], DEFAULT_NODE_OPTIONS);
  let scope = emptyScope();
  store.onChange((kind, key, before, after) => noteChange(scope, kind, key, before, after));
  store.replace(b.build());
  scope.all = true;
  cache.program(store.snapshot(), scope);
  /** One change, then the incremental pass: re-rendered count, checked against a full recomputation. */
  const step = (change: (s: ClusterStore) => void): number => {
    scope = emptyScope();
    change(store);
    const snap = store.snapshot();
    const inc = cache.program(snap, scope);
    const full = programNode(snap, NODE, [adapter], DEFAULT_NODE_OPTIONS);
    assert.deepEqual(inc.program.programs.map((p) => [p.endpoint.key, p.compiled.filters.map(filterKey)]), full.programs.map((p) => [p.endpoint.key, p.compiled.filters.map(filterKey)]));
    return inc.rendered;
  };
  return { store, step };
}

test('a namespace that joins a namespaceSelector re-renders only the endpoints whose policy selects it', () => {
  const { step } = setup();
  // ns2 becomes team x: ns1/team-x now admits ns2's pods; ns3/team-z (team z) is untouched
  assert.equal(step((s) => s.put('Namespace', 'ns2', { kind: 'Namespace', metadata: { name: 'ns2', labels: { team: 'x', env: 'prod' } } })), 1);
});

test('a label no selector looks at re-renders nothing', () => {
  const { step } = setup();
  assert.equal(step((s) => s.put('Namespace', 'ns2', { kind: 'Namespace', metadata: { name: 'ns2', labels: { team: 'y', env: 'dev' } } })), 0);
});

test('a namespace that goes away or comes back re-renders the endpoints whose selector chose it', () => {
  const { step } = setup();
  assert.equal(step((s) => s.put('Namespace', 'ns3', { kind: 'Namespace', metadata: { name: 'ns3', labels: { team: 'z' } } })), 1, 'ns3 joins team z (its own egress policy)');
  assert.equal(step((s) => s.remove('Namespace', 'ns3')), 1, 'gone: team z selects nothing');
  assert.equal(step((s) => s.put('Namespace', 'ns3', { kind: 'Namespace', metadata: { name: 'ns3' } })), 0, 'back without labels: nobody selects it');
});
