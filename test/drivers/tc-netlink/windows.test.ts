// Where a plan is cut into netlink windows (one sendto each): only ops that can be undone
// ever follow another op in a window, and a window holds one chain and one phase.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlanOp } from '../../../core/model/plan.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { planWindows, undoable } from '../../../drivers/tc-netlink/windows.js';

const f = (chain: number, extra: Partial<TcFilter> = {}): TcFilter & { handle: number } => ({ hook: 'ingress', chain, pref: 2, protocol: 'ip', match: {}, actions: [{ kind: 'pass' }], handle: 1, ...extra });
const add = (chain: number): PlanOp => ({ op: 'add', filter: f(chain) });
const del = (chain: number, extra: Partial<TcFilter> = {}): PlanOp => ({ op: 'delete', filter: f(chain, extra) });
const cut = (ops: PlanOp[], max = 128) => planWindows(ops, max).map((w) => ops.slice(w.start, w.end).map((o) => `${o.op}${'filter' in o ? `@${o.filter.chain}` : ''}`).join(' '));

test('a fresh install: the qdisc alone, then one window per chain, deepest chains first as diff orders them', () => {
  assert.deepEqual(cut([{ op: 'add-qdisc' }, add(10001), add(10001), add(10000), add(10000), add(0)]), ['add-qdisc', 'add@10001 add@10001', 'add@10000 add@10000', 'add@0']);
});

test('replaces and deletes that cannot be written back start a window (nothing before them in it can fail)', () => {
  const ops: PlanOp[] = [add(10000), { op: 'replace', filter: f(10000) }, add(10000), del(10000, { match: { unrecognised: 'vlan_id=1' } }), del(10000), del(10000, { actions: [] }), del(10000)];
  // the unrecognised and the action-less deletes each open a window; the plain deletes follow them
  assert.deepEqual(cut(ops), ['add@10000', 'replace@10000 add@10000', 'delete@10000 delete@10000', 'delete@10000 delete@10000']);
});

test('adds and deletes never share a window, even in one chain', () => {
  assert.deepEqual(cut([add(10000), del(10000), del(10000)]), ['add@10000', 'delete@10000 delete@10000']);
});

test('delete-qdisc is alone; maxOps bounds a window', () => {
  assert.deepEqual(cut([del(0), { op: 'delete-qdisc' }]), ['delete@0', 'delete-qdisc']);
  assert.deepEqual(cut([add(1), add(1), add(1), add(1), add(1)], 2), ['add@1 add@1', 'add@1 add@1', 'add@1']);
});

test('windows cover the plan in order, exactly once', () => {
  const ops: PlanOp[] = [{ op: 'add-qdisc' }, ...Array.from({ length: 300 }, (_, i) => add(10000 + (i % 3 === 0 ? 1 : 0))), del(0), del(0)];
  const ws = planWindows(ops, 128);
  assert.equal(ws[0]!.start, 0);
  ws.forEach((w, i) => assert.equal(w.start, i === 0 ? 0 : ws[i - 1]!.end));
  assert.equal(ws[ws.length - 1]!.end, ops.length);
});

test('undoable: adds, and deletes of filters that can be written back', () => {
  assert.deepEqual([add(1), del(1), del(1, { actions: [] }), del(1, { match: { unrecognised: 'x' } }), { op: 'replace', filter: f(1) } as PlanOp, { op: 'add-qdisc' } as PlanOp].map(undoable), [true, true, false, false, false, false]);
  assert.throws(() => planWindows([add(1)], 0), /maxOps 0/);
});

test('a bind is alone in its window: it goes to its port, not to the block, and cannot be undone', () => {
  const bind = (port: string): PlanOp => ({ op: 'bind', port, replace: false });
  const ops: PlanOp[] = [bind('p1'), bind('p2'), add(10001), add(10001), add(0)];
  assert.deepEqual(planWindows(ops, 128).map((w) => w.end - w.start), [1, 1, 2, 1]);
  assert.equal(undoable(bind('p1')), false);
});
