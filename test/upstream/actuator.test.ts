// Upstream actuator catalog A1-A14 (actuator_tc_test.go, reference section 6.5), ported to our
// pure diff: instead of strict mocks recording TC calls, each case asserts the ordered plan.
//
// Translation: upstream kept everything in chain 0 at prefs 100/200/300, a range we do not own;
// the same filters are placed in our verdict chain. Upstream's "no policy" (Rules nil, which
// flushed chain 0) is our empty desired program; its ingress qdisc is our clsact.
// Not ported, because they test how a failing TC call propagates, which is the driver's and
// the reconciler's job (a driver returns Result errors; diff never calls anything):
//   A1 (qdisc list fails), A2 (qdisc delete fails), A8 (chain delete fails), A11 (filter list
//   fails), A12 (filter add fails), A14 (filter delete fails, no add after it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ObservedTc, TcFilter } from '../../core/model/tc.js';
import { diff } from '../../core/pipeline/diff.js';
import { VERDICT_CHAIN } from '../../core/pipeline/layout.js';

const F = (pref: number, dstIp: string, action: 'pass' | 'drop', handle?: number): TcFilter => ({
  hook: 'ingress',
  chain: VERDICT_CHAIN,
  pref,
  protocol: 'ip',
  match: { dstIp },
  actions: [{ kind: action }],
  ...(handle !== undefined ? { handle } : {}),
});
// upstream: needed = [F(ip, 100, 10.100.0.0/24, drop), F(ip, 200, 10.100.0.0/16, pass)]
const needed = [F(2, '10.100.0.0/24', 'drop'), F(3, '10.100.0.0/16', 'pass')];
// upstream: existing = [F(ip, 100, 10.100.1.0/24, drop), F(ip, 200, 10.100.0.0/16, pass)]
const existing = [F(2, '10.100.1.0/24', 'drop', 1), F(3, '10.100.0.0/16', 'pass', 2)];
const observed = (qdisc: ObservedTc['qdisc'], filters: TcFilter[] = [], foreign = { ingress: 0, egress: 0 }): ObservedTc => ({ qdisc, filters, foreign });

test('A3: nothing desired, our qdisc holds our filters and nothing foreign -> the clsact qdisc is deleted', () => {
  assert.deepEqual(diff([], observed('clsact', existing)).plan.ops, [{ op: 'delete-qdisc' }]);
});

test('A3 (deviation): nothing desired and a clsact qdisc with nothing in it -> left alone (it may not be ours)', () => {
  assert.deepEqual(diff([], observed('clsact')).plan.ops, []);
});

test('A4: nothing desired and no qdisc -> empty plan', () => {
  assert.deepEqual(diff([], observed(null)).plan.ops, []);
});

test('A5/A7: no policy and none of our filters (only foreign ones, or none) -> empty plan, qdisc kept', () => {
  assert.deepEqual(diff([], observed('clsact', [], { ingress: 1, egress: 0 })).plan.ops, []);
  assert.deepEqual(diff([], observed('clsact', [], { ingress: 0, egress: 0 })).plan.ops, []);
});

test('A6 (bug 15): no policy with our filters next to foreign ones -> our filters deleted one by one (upstream flushed chain 0)', () => {
  const { plan } = diff([], observed('clsact', existing, { ingress: 2, egress: 0 }));
  assert.deepEqual(plan.ops.map((o) => o.op), ['delete', 'delete']);
  assert.deepEqual(plan.ops.map((o) => ('filter' in o ? o.filter.handle : null)).sort(), [1, 2]);
});

test('A9 (deviation): filters wanted and no qdisc -> the plan adds the clsact qdisc first (upstream returned an error)', () => {
  const { plan } = diff(needed, observed(null));
  assert.deepEqual(plan.ops, [{ op: 'add-qdisc' }, { op: 'add', filter: needed[0] }, { op: 'add', filter: needed[1] }]);
});

test('A10: qdisc present, no filters -> exactly the two adds, no qdisc add', () => {
  assert.deepEqual(diff(needed, observed('clsact')).plan.ops, [
    { op: 'add', filter: needed[0] },
    { op: 'add', filter: needed[1] },
  ]);
});

test('A13 (bug 16): one filter changed -> add the new one, then delete the old one by handle; the shared one untouched', () => {
  assert.deepEqual(diff(needed, observed('clsact', existing)).plan.ops, [
    { op: 'add', filter: needed[0] },
    { op: 'delete', filter: existing[0] },
  ]);
});

test('A13 variant: the same match with a changed action is one replace carrying the handle', () => {
  const flipped = [F(2, '10.100.1.0/24', 'pass'), needed[1]!];
  assert.deepEqual(diff(flipped, observed('clsact', existing)).plan.ops, [{ op: 'replace', filter: { ...flipped[0]!, handle: 1 } }]);
});

test('idempotent (upstream: only the two list calls on a second run): equal state -> empty plan', () => {
  assert.deepEqual(diff(needed, observed('clsact', needed.map((f, i) => ({ ...f, handle: 10 + i })))).plan.ops, []);
});
