// diff on a shared block: ports are bound before any filter is added, ports held by a
// foreign qdisc are reported and never touched, and an unwanted block keeps its bindings.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ObservedTc, PortBinding, TcFilter } from '../../../core/model/tc.js';
import { compileBlock } from '../../../core/pipeline/compile-block.js';
import { diff } from '../../../core/pipeline/diff.js';

const rules = { endpoint: 'ns1/a/net1', network: 'ns1/net1', ingress: { policies: ['ns1/p'], grants: [] }, egress: { policies: ['ns1/p'], grants: [{ policy: 'ns1/p', rule: 0, peers: ['10.1.0.0/16'], ports: 'all' as const }] }, diagnostics: [] };
const program = compileBlock([{ endpoint: 'ns1/a/net1', ports: ['rep-a'], addresses: ['10.0.0.1'], rules, encapsulations: ['untagged'] }], { stateful: true, ctZone: 0 }).filters;
const observed = (ports: PortBinding[], filters: TcFilter[] = []): ObservedTc => ({ qdisc: ports.every((p) => p.state === 'bound') ? 'clsact' : null, filters, foreign: { ingress: 0, egress: 0 }, ports });

describe('diff on a shared block', () => {
  test('absent ports are bound, empty clsact ones rebound, all before the first filter', () => {
    const { plan, unavailable } = diff(program, observed([{ name: 'rep-a', state: 'absent' }, { name: 'uplink', state: 'rebindable' }, { name: 'rep-b', state: 'bound' }]));
    assert.equal(unavailable, undefined);
    assert.deepEqual(plan.ops.slice(0, 2), [{ op: 'bind', port: 'rep-a', replace: false }, { op: 'bind', port: 'uplink', replace: true }]);
    assert.ok(plan.ops.slice(2).every((op) => op.op === 'add'));
    assert.equal(plan.ops.length, 2 + program.length);
    assert.ok(!plan.ops.some((op) => op.op === 'add-qdisc' || op.op === 'delete-qdisc'));
  });

  test('a port held by a foreign qdisc is named in `unavailable` and gets no op', () => {
    const { plan, unavailable } = diff(program, observed([{ name: 'rep-a', state: 'bound' }, { name: 'vf9', state: 'foreign', detail: 'an ingress qdisc' }]));
    assert.match(unavailable ?? '', /vf9 \(an ingress qdisc\)/);
    assert.ok(plan.ops.every((op) => op.op === 'add'));
  });

  test('installed and wanted: nothing to do', () => {
    const installed = program.map((f, i) => ({ ...f, handle: i + 1 }));
    assert.deepEqual(diff(program, observed([{ name: 'rep-a', state: 'bound' }], installed)).plan.ops, []);
  });

  test('no longer wanted: its filters are deleted (entry chain first), the ports stay bound', () => {
    const installed = program.map((f, i) => ({ ...f, handle: i + 1 }));
    const { plan } = diff([], observed([{ name: 'rep-a', state: 'bound' }], installed));
    assert.equal(plan.ops.length, program.length);
    assert.ok(plan.ops.every((op) => op.op === 'delete'));
    const first = plan.ops[0]!;
    assert.equal(first.op === 'delete' ? first.filter.chain : -1, 0);
  });

  test('nothing wanted and nothing installed: no binding either', () => {
    assert.deepEqual(diff([], observed([{ name: 'rep-a', state: 'absent' }])).plan.ops, []);
  });
});
