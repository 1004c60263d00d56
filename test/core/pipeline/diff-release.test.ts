// diff on a netdev whose ingress hook is bound to a shared block: the per-port layout releases
// the agent's own blocks (left by a --layout shared-block run) and never programs the ingress
// hook of anyone's block.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DirectionRules, RuleSet } from '../../../core/model/rules.js';
import { filterKey, type ObservedTc, type TcFilter } from '../../../core/model/tc.js';
import { compile, DEFAULT_COMPILE_OPTIONS } from '../../../core/pipeline/compile.js';
import { diff } from '../../../core/pipeline/diff.js';
import { BLOCK_INDEX_BASE } from '../../../core/pipeline/layout.js';

const allow = (peers: string[]): DirectionRules => ({ policies: ['ns1/p'], grants: [{ policy: 'ns1/p', rule: 0, peers, ports: 'all' }] });
const rs: RuleSet = { endpoint: 'ns1/p/net1', network: 'ns1/net1', ingress: allow(['10.0.0.9/32']), egress: allow(['10.1.0.0/16']), diagnostics: [] };
const desired: readonly TcFilter[] = compile(rs, DEFAULT_COMPILE_OPTIONS).filters;
const OURS = BLOCK_INDEX_BASE + 0x1234;
/** What the drivers read on a port bound to `block`: clsact, the block's filters counted foreign on ingress. */
const boundTo = (block: number, foreignEgress = 0): ObservedTc => ({ qdisc: 'clsact', filters: [], foreign: { ingress: 40, egress: foreignEgress }, ingressBlock: block });

test('per-port, bound to our block: the clsact is deleted and re-created with the whole program (make-before-break order inside)', () => {
  const { plan, unavailable } = diff(desired, boundTo(OURS), { releaseAgentBlocks: true });
  assert.equal(unavailable, undefined);
  assert.deepEqual(plan.ops.slice(0, 2), [{ op: 'delete-qdisc' }, { op: 'add-qdisc' }]);
  assert.deepEqual(plan.ops.slice(2).map((o) => ('filter' in o ? filterKey(o.filter) : o.op)).sort(), desired.map(filterKey).sort());
  assert.deepEqual(plan.ops.slice(2), diff(desired, { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } }).plan.ops.slice(1), 'the same adds, in the same order, as on a bare netdev');
});

test('per-port, bound to our block, nothing wanted (a representor whose pod is gone, an uplink): only the clsact is deleted', () => {
  assert.deepEqual(diff([], boundTo(OURS), { releaseAgentBlocks: true }).plan.ops, [{ op: 'delete-qdisc' }]);
});

test('per-port, bound to our block, but others have filters on its egress hook: nothing is touched, and it says why', () => {
  const d = diff(desired, boundTo(OURS, 2), { releaseAgentBlocks: true });
  assert.deepEqual(d.plan.ops, []);
  assert.match(d.unavailable ?? '', /shared block \d+ .*egress hook carries filters of others/);
});

test('bound to a block that is not ours: never released; the egress hook is programmed, the ingress part reported unavailable', () => {
  const d = diff(desired, boundTo(77), { releaseAgentBlocks: true });
  assert.match(d.unavailable ?? '', /bound to shared block 77/);
  assert.ok(d.plan.ops.length > 0);
  for (const op of d.plan.ops) {
    assert.notEqual(op.op, 'delete-qdisc');
    if ('filter' in op) assert.equal(op.filter.hook, 'egress', `${op.op} ${filterKey(op.filter)} is on the egress hook`);
  }
});

test('without releaseAgentBlocks (the shared-block layout visiting a port as a netdev): our block stays bound', () => {
  assert.deepEqual(diff([], boundTo(OURS)).plan.ops, []);
});
