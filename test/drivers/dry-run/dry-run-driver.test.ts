import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Plan } from '../../../core/model/plan.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { filterKey } from '../../../core/model/tc.js';
import { diff } from '../../../core/pipeline/diff.js';
import { DryRunTcDriver } from '../../../drivers/dry-run/dry-run-driver.js';
import { maskOf } from '../../../drivers/dry-run/fake-kernel.js';
import { toBatchLines } from '../../../drivers/tc-cmdline/batch.js';
import { parseFilters } from '../../../drivers/tc-cmdline/parse.js';
import { captureLogger } from '../fakes.js';
import { goldenBatch, lineToFilter, lineToOp, readJson } from '../tc-cmdline/fixtures/tc-line.js';

const rep1 = { name: 'rep1' };
const layoutLines = goldenBatch('layout-program.txt');
const layoutPlan: Plan = { ops: layoutLines.map(lineToOp) };
const layoutFilters = layoutLines.filter((l) => l.startsWith('filter ')).map(lineToFilter);
const keys = (fs: readonly TcFilter[]): string[] => fs.map(filterKey).sort();

async function observed(d: DryRunTcDriver) {
  const r = await d.observe(rep1);
  assert.ok(r.ok);
  return r.value;
}

test('observe → diff → apply → observe gives what was desired, and the next diff is empty', async () => {
  const d = new DryRunTcDriver();
  const { plan } = diff(layoutFilters, await observed(d));
  assert.ok((await d.apply(rep1, plan)).ok);
  const o = await observed(d);
  assert.equal(o.qdisc, 'clsact');
  assert.deepEqual(keys(o.filters), keys(layoutFilters));
  assert.deepEqual(diff(layoutFilters, o).plan.ops, []);
});

test('the layout program gets the handles the lab kernel gave it (lab capture filters-ingress.json)', async () => {
  const d = new DryRunTcDriver();
  assert.ok((await d.apply(rep1, layoutPlan)).ok);
  const kernel = parseFilters(readJson('../../../golden/tc-json/filters-ingress.json'), 'ingress', 'rep1');
  assert.ok(kernel.ok);
  const strip = (f: TcFilter) => ({ ...f, inHw: undefined });
  const byKey = (fs: readonly TcFilter[]) => [...fs].map(strip).sort((a, b) => (filterKey(a) < filterKey(b) ? -1 : 1));
  assert.deepEqual(byKey((await observed(d)).filters.filter((f) => f.hook === 'ingress')), byKey(kernel.value.owned));
});

test('every plan is recorded with its tc batch lines and its result', async () => {
  const d = new DryRunTcDriver();
  await d.apply(rep1, layoutPlan);
  await d.apply({ name: 'rep2' }, { ops: [{ op: 'delete-qdisc' }] });
  assert.equal(d.history.length, 2);
  assert.deepEqual(d.history[0]?.lines, toBatchLines(rep1, layoutPlan));
  assert.equal(d.history[0]?.plan, layoutPlan);
  assert.deepEqual(d.history[0]?.result, { ok: true, value: { added: 38, replaced: 0, deleted: 0, qdisc: 'added' } });
  assert.equal(d.history[1]?.netdev, 'rep2');
  assert.equal(d.history[1]?.result.ok, false);
});

test('adding a filter whose keys already sit in that pref is EEXIST, reported like tc -batch (line, text, stderr)', async () => {
  const d = new DryRunTcDriver();
  const arp = lineToOp('filter add dev rep1 ingress chain 0 pref 10000 protocol arp flower action pass');
  const drop = lineToOp('filter add dev rep1 ingress chain 0 pref 10009 protocol all flower action drop');
  const r = await d.apply(rep1, { ops: [{ op: 'add-qdisc' }, arp, arp, drop] });
  assert.deepEqual(r, {
    ok: false,
    error: {
      code: 'tc-batch-failed', netdev: 'rep1', line: 3,
      text: 'filter add dev rep1 ingress chain 0 pref 10000 protocol arp flower action pass',
      stderr: 'RTNETLINK answers: File exists\nWe have an error talking to the kernel\nCommand failed -:3\n',
    },
  });
  const o = await observed(d);
  assert.deepEqual(o.filters.map((f) => f.pref), [10000]); // line 2 applied, line 4 never ran
});

test('the same keys with another mask in one pref are accepted (flower keeps one table per mask)', async () => {
  const d = new DryRunTcDriver();
  const r = await d.apply(rep1, {
    ops: [
      { op: 'add-qdisc' },
      lineToOp('filter add dev rep1 ingress chain 10000 pref 2 protocol ip flower dst_ip 10.0.0.0/24 action pass'),
      lineToOp('filter add dev rep1 ingress chain 10000 pref 2 protocol ip flower dst_ip 10.0.0.0/32 action pass'),
    ],
  });
  assert.ok(r.ok);
});

test('a deleted handle is reused by the next add in that pref (lowest free, as the lab kernel did)', async () => {
  const d = new DryRunTcDriver();
  const add = (ip: string) => lineToOp(`filter add dev rep1 ingress chain 10000 pref 2 protocol ip flower dst_ip ${ip} action pass`);
  await d.apply(rep1, { ops: [{ op: 'add-qdisc' }, add('10.0.0.1/32'), add('10.0.0.2/32'), add('10.0.0.3/32')] });
  const first = (await observed(d)).filters.find((f) => f.handle === 1)!;
  await d.apply(rep1, { ops: [{ op: 'delete', filter: { ...first, handle: 1 } }, add('10.0.0.4/32')] });
  assert.deepEqual((await observed(d)).filters.map((f) => [f.handle, f.match.dstIp]), [[1, '10.0.0.4/32'], [2, '10.0.0.2/32'], [3, '10.0.0.3/32']]);
});

test('on a plain ingress qdisc an egress-hook op lands on the ingress hook, as tc does', async () => {
  const d = new DryRunTcDriver();
  d.seed('rep1', { qdisc: 'ingress' });
  const r = await d.apply(rep1, { ops: [lineToOp('filter add dev rep1 egress chain 0 pref 10001 protocol ip flower action ct commit zone 0 pipe action pass')] });
  assert.ok(r.ok);
  const o = await observed(d);
  assert.deepEqual(o.filters.map((f) => f.hook), ['ingress']);
});

test('seeded foreign filters are counted per hook; seeded owned ones are observed with their handles', async () => {
  const d = new DryRunTcDriver();
  const ours = { ...lineToFilter('filter add dev rep1 egress chain 10000 pref 9 protocol all flower action drop'), handle: 5 };
  d.seed('rep1', {
    qdisc: 'clsact',
    filters: [ours, lineToFilter('filter add dev rep1 ingress chain 0 pref 100 protocol ip flower dst_ip 192.0.2.1/32 action drop')],
    foreign: [{ hook: 'ingress', chain: 0, pref: 200, protocol: 'ip', kind: 'u32' }, { hook: 'egress', chain: 10000, pref: 3, protocol: 'all', kind: 'matchall' }],
  });
  assert.deepEqual(await observed(d), { qdisc: 'clsact', filters: [ours], foreign: { ingress: 2, egress: 1 } });
  // a non-flower filter in our range blocks our adds into its pref instead of being overwritten
  const r = await d.apply(rep1, { ops: [lineToOp('filter add dev rep1 egress chain 10000 pref 3 protocol all flower action drop')] });
  assert.ok(!r.ok && r.error.code === 'tc-batch-failed' && /kind does not match/.test(r.error.stderr));
});

test('flower masks: values do not matter, keys, prefix lengths, single port vs range and ct flags do', () => {
  const m = (line: string) => maskOf(lineToFilter(`filter add dev rep1 ingress chain 10000 pref 2 protocol ip flower ${line} action pass`).match);
  assert.equal(m('dst_ip 10.0.0.0/24'), m('dst_ip 10.9.9.0/24'));
  assert.notEqual(m('dst_ip 10.0.0.0/24'), m('dst_ip 10.0.0.0/16'));
  assert.equal(m('ip_proto tcp dst_port 80'), m('ip_proto udp dst_port 53'));
  assert.notEqual(m('ip_proto tcp dst_port 80'), m('ip_proto tcp dst_port 80-90'));
  assert.equal(m('ct_state +trk+new'), m('ct_state +trk-new'));
  assert.notEqual(m('ct_state +trk+new'), m('ct_state +trk+est'));
});

test('an invalid netdev name throws (a bug upstream), like the cmdline driver', async () => {
  const d = new DryRunTcDriver();
  await assert.rejects(d.apply({ name: '0000:03:00.2' }, { ops: [{ op: 'add-qdisc' }] }), /not a valid Linux interface name/);
  await assert.rejects(d.observe({ name: 'has space' }), /not a valid Linux interface name/);
});

test('logs go through a child logger {component: driver, driver: dry-run}', async () => {
  const { logger, lines } = captureLogger();
  await new DryRunTcDriver(logger).apply(rep1, { ops: [{ op: 'add-qdisc' }] });
  assert.ok(lines().length > 0);
  for (const l of lines()) assert.deepEqual([l['component'], l['driver']], ['driver', 'dry-run']);
});
