// The dry-run driver's fake kernel on shared blocks: how ports are classified from their
// qdiscs, binding, block filter ops, and how a block lives and dies with its ports, as the
// lab kernel does (drivers/dry-run/fake-block.ts; the cmdline twin: block-contract.lab.ts).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Netdev } from '../../../core/model/attachment.js';
import type { Plan } from '../../../core/model/plan.js';
import type { ObservedTc, TcFilter } from '../../../core/model/tc.js';
import { filterKey } from '../../../core/model/tc.js';
import { diff } from '../../../core/pipeline/diff.js';
import { DryRunTcDriver } from '../../../drivers/dry-run/dry-run-driver.js';
import { toBatchLines } from '../../../drivers/tc-cmdline/batch.js';
import { splitShowOutput } from '../../../drivers/tc-cmdline/batch-output.js';
import { parseFilters } from '../../../drivers/tc-cmdline/parse.js';
import { BLOCK_INDEX, BLOCK_PORTS, BLOCK_PROGRAM, BLOCK_TARGET, blockProgram, capturedBlockProgram } from '../tc-cmdline/fixtures/block-program.js';

const N = BLOCK_INDEX;
const keys = (fs: readonly TcFilter[]): string[] => fs.map(filterKey).sort();
const matchall = { hook: 'ingress' as const, chain: 0, pref: 1, protocol: 'all', kind: 'matchall' };
const target = (...ports: string[]): Netdev => ({ name: `block:${N}`, block: { index: N, ports } });

async function observed(d: DryRunTcDriver, dev: Netdev = BLOCK_TARGET): Promise<ObservedTc> {
  const r = await d.observe(dev);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

/** observe → diff → apply until the plan is empty; the plans applied. */
async function converge(d: DryRunTcDriver, dev: Netdev, desired: readonly TcFilter[]): Promise<Plan[]> {
  const plans: Plan[] = [];
  for (let i = 0; i < 3; i++) {
    const { plan } = diff(desired, await observed(d, dev));
    if (plan.ops.length === 0) return plans;
    const r = await d.apply(dev, plan);
    assert.ok(r.ok, JSON.stringify(r));
    plans.push(plan);
  }
  assert.fail('did not converge in 3 passes');
}

test('port states: no qdisc is absent, an empty clsact or one with only our per-port program rebindable, ingress / clsact with filters / another block foreign, this block bound', async () => {
  const d = new DryRunTcDriver();
  d.seed('p2', { qdisc: 'clsact' });
  d.seed('p3', { qdisc: 'ingress' });
  d.seed('p4', { qdisc: 'clsact', foreign: [{ ...matchall, hook: 'egress' }] });
  d.seed('p5', { qdisc: 'clsact', ingressBlock: 99 });
  d.seed('p6', { qdisc: 'clsact', ingressBlock: N });
  d.seed('p7', { qdisc: 'ingress', ingressBlock: N });
  d.seed('p8', { qdisc: 'clsact', filters: (['ingress', 'egress'] as const).map((hook) => ({ hook, chain: 0, pref: 10000, protocol: 'arp' as const, match: {}, actions: [{ kind: 'pass' as const }] })) });
  const o = await observed(d, target('p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'));
  assert.deepEqual(o.ports, [
    { name: 'p1', state: 'absent' },
    { name: 'p2', state: 'rebindable' },
    { name: 'p3', state: 'foreign', detail: 'an ingress qdisc' },
    { name: 'p4', state: 'foreign', detail: 'clsact carrying 1 filter(s) of others' },
    { name: 'p5', state: 'foreign', detail: 'clsact with ingress_block 99' },
    { name: 'p6', state: 'bound' },
    { name: 'p7', state: 'foreign', detail: 'an ingress qdisc' },
    { name: 'p8', state: 'rebindable' }, // only a per-port program of ours
  ]);
  assert.equal(o.qdisc, null);
});

test('a bare block converges in one pass: every port bound, then the program; observe returns it and the next diff is empty', async () => {
  const d = new DryRunTcDriver();
  const fresh = await observed(d);
  assert.deepEqual(fresh, { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 }, ports: BLOCK_TARGET.block.ports.map((name) => ({ name, state: 'absent' })) });
  const plans = await converge(d, BLOCK_TARGET, BLOCK_PROGRAM);
  assert.equal(plans.length, 1);
  assert.deepEqual(plans[0]!.ops.slice(0, 3), BLOCK_TARGET.block.ports.map((port) => ({ op: 'bind', port, replace: false })));
  const o = await observed(d);
  assert.equal(o.qdisc, 'clsact');
  assert.deepEqual(keys(o.filters), keys(BLOCK_PROGRAM));
  // recorded as the cmdline driver would have run it
  assert.equal(d.history[0]?.netdev, BLOCK_TARGET.name);
  assert.deepEqual(d.history[0]?.lines, toBatchLines(BLOCK_TARGET, plans[0]!));
  assert.match(d.history[0]?.lines[3] ?? '', new RegExp(`^filter add block ${N} chain `));
});

test('the block program gets the handles the lab kernel gave it (capture block-observe-stdout.txt)', async () => {
  const d = new DryRunTcDriver();
  // the capture's own plan, in its order: handles are handed out in add order
  const plan: Plan = { ops: [...BLOCK_TARGET.block.ports.map((port) => ({ op: 'bind' as const, port, replace: false })), ...capturedBlockProgram().map((filter) => ({ op: 'add' as const, filter }))] };
  assert.ok((await d.apply(BLOCK_TARGET, plan)).ok);
  const stdout = readFileSync(new URL('../tc-cmdline/fixtures/block-observe-stdout.txt', import.meta.url), 'utf8');
  const docs = splitShowOutput(stdout, 9, 'block');
  assert.ok(docs.ok);
  const kernel = parseFilters(docs.value[8], 'ingress', 'block');
  assert.ok(kernel.ok);
  const withHandle = (fs: readonly TcFilter[]) => fs.map((f) => `${filterKey(f)}#${f.handle}`).sort();
  assert.deepEqual(withHandle((await observed(d)).filters), withHandle(kernel.value.owned));
});

test('a rebindable port is rebound by replacing its empty clsact; foreign ports keep their qdisc and filters untouched', async () => {
  const d = new DryRunTcDriver();
  d.seed('bkb', { qdisc: 'clsact' });
  d.seed('bku', { qdisc: 'ingress', foreign: [matchall] });
  const plans = await converge(d, BLOCK_TARGET, BLOCK_PROGRAM);
  assert.deepEqual(plans[0]!.ops.slice(0, 2), [{ op: 'bind', port: 'bka', replace: false }, { op: 'bind', port: 'bkb', replace: true }]);
  assert.ok(!plans.flatMap((p) => p.ops).some((op) => op.op === 'bind' && op.port === 'bku'));
  const o = await observed(d);
  assert.deepEqual(o.ports?.map((p) => p.state), ['bound', 'bound', 'foreign']);
  assert.equal(o.qdisc, null);
  assert.deepEqual(d.state('bku'), { qdisc: 'ingress', filters: [{ ...matchall, handle: 1 }] });
});

test('a smaller program converges by block filter deletes, by handle, in one pass', async () => {
  const d = new DryRunTcDriver();
  await converge(d, BLOCK_TARGET, BLOCK_PROGRAM);
  const smaller = blockProgram(BLOCK_PORTS).filter((f) => !(f.match.dstIp === '10.1.0.6/32'));
  const plans = await converge(d, BLOCK_TARGET, smaller);
  assert.equal(plans.length, 1);
  assert.ok(plans[0]!.ops.every((op) => op.op === 'delete'));
  assert.deepEqual(keys((await observed(d)).filters), keys(smaller));
});

test('the block\'s own foreign filters are counted on ingress and never deleted', async () => {
  const d = new DryRunTcDriver();
  for (const p of BLOCK_TARGET.block.ports) d.seed(p, { qdisc: 'clsact', ingressBlock: N });
  d.seedBlock(N, { foreign: [matchall], filters: [{ ...BLOCK_PROGRAM[0]!, chain: 0, pref: 100 }] });
  const o = await observed(d);
  assert.deepEqual(o.foreign, { ingress: 2, egress: 0 });
  assert.equal(o.qdisc, 'clsact');
  await converge(d, BLOCK_TARGET, []);
  assert.equal(d.state(BLOCK_TARGET.name).filters.length, 2);
});

test('a port that does not exist is an observe error naming it, and binding it fails like tc ("Cannot find device")', async () => {
  const d = new DryRunTcDriver();
  d.unplug('bkb');
  const o = await d.observe(BLOCK_TARGET);
  assert.ok(!o.ok && o.error.code === 'hook-unavailable' && /port bkb does not exist/.test(o.error.problem));
  const r = await d.apply(BLOCK_TARGET, { ops: [{ op: 'bind', port: 'bka', replace: false }, { op: 'bind', port: 'bkb', replace: false }] });
  assert.ok(!r.ok && r.error.code === 'tc-batch-failed' && r.error.line === 2 && /Cannot find device "bkb"/.test(r.error.stderr));
  assert.equal(d.state('bka').ingressBlock, N, 'the line before stays applied');
});

test('filter ops on a block no port uses are refused ("Block of given index was not found")', async () => {
  const d = new DryRunTcDriver();
  const r = await d.apply(BLOCK_TARGET, { ops: [{ op: 'add', filter: BLOCK_PROGRAM[0]! }] });
  assert.ok(!r.ok && r.error.code === 'tc-batch-failed' && /Block of given index was not found/.test(r.error.stderr));
});

test('failing line numbers count the two lines of a replacing bind', async () => {
  const d = new DryRunTcDriver();
  d.seed('bkb', { qdisc: 'clsact' });
  const arp = BLOCK_PROGRAM[0]!;
  const plan: Plan = { ops: [{ op: 'bind', port: 'bka', replace: false }, { op: 'bind', port: 'bkb', replace: true }, { op: 'add', filter: arp }, { op: 'add', filter: arp }] };
  const r = await d.apply(BLOCK_TARGET, plan);
  assert.ok(!r.ok && r.error.code === 'tc-batch-failed');
  assert.equal(r.error.line, 5);
  assert.equal(r.error.text, toBatchLines(BLOCK_TARGET, plan)[4]);
  assert.match(r.error.stderr, /File exists[\s\S]*Command failed -:5/);
});

test('binding a port that has a qdisc without replace is "Exclusivity flag on"; replacing a missing clsact is refused', async () => {
  const d = new DryRunTcDriver();
  d.seed('bka', { qdisc: 'clsact' });
  const a = await d.apply(BLOCK_TARGET, { ops: [{ op: 'bind', port: 'bka', replace: false }] });
  assert.ok(!a.ok && /Exclusivity flag on/.test(a.error.code === 'tc-batch-failed' ? a.error.stderr : ''));
  const b = await d.apply(BLOCK_TARGET, { ops: [{ op: 'bind', port: 'bkb', replace: true }] });
  assert.ok(!b.ok && b.error.code === 'tc-batch-failed' && b.error.line === 1 && /Cannot find specified qdisc/.test(b.error.stderr));
});

test('through a bound port: the block\'s filters are not the netdev\'s (counted foreign, so nothing per-port deletes them), and filter ops on it are refused as tc does', async () => {
  const d = new DryRunTcDriver();
  await converge(d, BLOCK_TARGET, BLOCK_PROGRAM);
  const o = await observed(d, { name: 'bka' });
  assert.deepEqual(o.filters, []);
  assert.equal(o.foreign.ingress, BLOCK_PROGRAM.length);
  // a per-port removal pass over the adopted representor (an agent restart) has nothing to do
  assert.deepEqual(diff([], o).plan.ops, []);
  const r = await d.apply({ name: 'bka' }, { ops: [{ op: 'add', filter: { ...BLOCK_PROGRAM[0]!, pref: 100 } }] });
  assert.ok(!r.ok && r.error.code === 'tc-batch-failed' && /filter block is shared/.test(r.error.stderr));
});

test('the block dies with its last bound port (its filters with it); binding again starts empty', async () => {
  const d = new DryRunTcDriver();
  await converge(d, BLOCK_TARGET, BLOCK_PROGRAM);
  for (const p of ['bka', 'bkb']) assert.ok((await d.apply({ name: p }, { ops: [{ op: 'delete-qdisc' }] })).ok);
  assert.equal(d.state(BLOCK_TARGET.name).filters.length, BLOCK_PROGRAM.length, 'bku still holds it');
  assert.ok((await d.apply({ name: 'bku' }, { ops: [{ op: 'delete-qdisc' }] })).ok);
  assert.deepEqual(d.state(BLOCK_TARGET.name), { qdisc: null, filters: [] });
  assert.ok((await d.apply(BLOCK_TARGET, { ops: [{ op: 'bind', port: 'bka', replace: false }] })).ok);
  assert.deepEqual((await observed(d, target('bka'))).filters, []);
});

test('add-qdisc on a block target is refused without running anything, and recorded', async () => {
  const d = new DryRunTcDriver();
  const r = await d.apply(BLOCK_TARGET, { ops: [{ op: 'add-qdisc' }] });
  assert.ok(!r.ok && r.error.code === 'hook-unavailable');
  assert.equal(d.history.length, 1);
  assert.deepEqual(d.history[0]?.lines, []);
});
