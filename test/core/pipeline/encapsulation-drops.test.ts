// Which encapsulations a program polices, and what happens to the others: dropped where a
// direction is isolated (nothing can be tunnelled past the policy), never widened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encapsulationsFor } from '../../../core/pipeline/encapsulations.js';
import { compile, DEFAULT_COMPILE_OPTIONS, type Encapsulation } from '../../../core/pipeline/compile.js';
import type { RuleSet } from '../../../core/model/rules.js';
import { newConntrackTable } from '../../../core/tcmodel/conntrack.js';
import { decideConnection } from '../../../core/tcmodel/probe.js';

const net = (config: Record<string, unknown>) => ({ key: 'ns/n', namespace: 'ns', name: 'n', cniType: 'accelerated-bridge', config });

test('auto polices untagged frames, and 802.1Q only on a network that trunks VLANs to the pod', () => {
  assert.deepEqual(encapsulationsFor('auto', [net({})]), ['untagged']);
  assert.deepEqual(encapsulationsFor('auto', [net({ trunk: [] })]), ['untagged']);
  assert.deepEqual(encapsulationsFor('auto', [net({ trunk: [{ minID: 100, maxID: 110 }] })]), ['untagged', '802.1Q']);
  assert.deepEqual(encapsulationsFor('auto', [undefined, net({ trunk: [{ id: 5 }] })]), ['untagged', '802.1Q'], 'a bond is trunked when one of its links is');
  assert.deepEqual(encapsulationsFor(['untagged', '802.1ad'], [net({ trunk: [{ id: 5 }] })]), ['untagged', '802.1ad'], 'an explicit list wins');
});

// the server allows TCP 80 from 10.0.0.0/24 on ingress; egress open
const rules: RuleSet = {
  endpoint: 'ns/server/net1',
  network: 'ns/n',
  ingress: { policies: ['ns/p'], grants: [{ policy: 'ns/p', rule: 0, peers: ['10.0.0.0/24'], ports: [{ protocol: 'TCP', start: 80, end: 80 }] }] },
  egress: null,
  diagnostics: [],
};
const conn = (encapsulation: Encapsulation, dstPort = 80) => ({ family: 'ipv4' as const, protocol: 'TCP' as const, srcIp: '10.0.0.7', dstIp: '10.0.0.1', srcPort: 40000, dstPort, encapsulation });

for (const encap of ['802.1Q', '802.1ad'] as const) {
  test(`${encap} frames are dropped by an isolated hook that does not police them, even when allowed untagged`, () => {
    const server = { filters: compile(rules, { ...DEFAULT_COMPILE_OPTIONS, encapsulations: ['untagged'] }).filters };
    const untagged = decideConnection(null, server, conn('untagged'), newConntrackTable());
    const tagged = decideConnection(null, server, conn(encap), newConntrackTable());
    assert.ok(untagged.ok && tagged.ok);
    assert.equal(untagged.value.verdict, 'allow');
    assert.equal(tagged.value.verdict, 'deny');
  });
}

test('policed QinQ gets the same allow list, without conntrack (act_ct drops QinQ)', () => {
  const filters = compile(rules, { ...DEFAULT_COMPILE_OPTIONS, encapsulations: ['untagged', '802.1ad'] }).filters;
  assert.ok(filters.filter((f) => f.protocol === '802.1ad').every((f) => f.match.ctState === undefined && !f.actions.some((a) => a.kind === 'ct')), 'no ct on QinQ filters');
  const server = { filters };
  const allowed = decideConnection(null, server, conn('802.1ad'), newConntrackTable());
  const denied = decideConnection(null, server, conn('802.1ad', 81), newConntrackTable());
  assert.ok(allowed.ok && denied.ok);
  assert.equal(allowed.value.verdict, 'allow');
  assert.equal(denied.value.verdict, 'deny');
});
