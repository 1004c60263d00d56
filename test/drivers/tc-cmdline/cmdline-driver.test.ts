import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Plan } from '../../../core/model/plan.js';
import { CmdlineTcDriver } from '../../../drivers/tc-cmdline/cmdline-driver.js';
import { captureLogger, FakeExec, silentLogger } from '../fakes.js';
import { EVERY_KEY_AND_ACTION } from './fixtures/plans.js';
import { goldenBatch, lineToOp } from './fixtures/tc-line.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const replying = (stdout: string, exitCode = 0, stderr = '') => new FakeExec(() => ({ exitCode, stdout, stderr }));
const driver = (exec: FakeExec, options = {}) => new CmdlineTcDriver(exec, silentLogger(), options);
const rep1 = { name: 'rep1' };

test('observe runs tc once, as an argv array, with the three show commands on stdin', async () => {
  const exec = replying(fixture('observe-stdout.txt'));
  await driver(exec).observe(rep1);
  assert.equal(exec.calls.length, 1);
  assert.deepEqual(exec.calls[0]?.file, 'tc');
  assert.deepEqual(exec.calls[0]?.args, ['-j', '-batch', '-']);
  assert.equal(exec.calls[0]?.input, 'qdisc show dev rep1\nfilter show dev rep1 ingress\nfilter show dev rep1 egress\n');
});

test('observe reads the layout program from real tc output: clsact, 32 ingress + 6 egress owned filters, nothing foreign', async () => {
  const r = await driver(replying(fixture('observe-stdout.txt'))).observe(rep1);
  assert.ok(r.ok);
  assert.equal(r.value.qdisc, 'clsact');
  assert.equal(r.value.filters.filter((f) => f.hook === 'ingress').length, 32);
  assert.equal(r.value.filters.filter((f) => f.hook === 'egress').length, 6);
  assert.deepEqual(r.value.foreign, { ingress: 0, egress: 0 });
});

test('observe on a device without a qdisc reports no qdisc and no filters (real output: three empty arrays)', async () => {
  const r = await driver(replying(fixture('observe-stdout-no-qdisc.txt'))).observe(rep1);
  assert.deepEqual(r, { ok: true, value: { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } } });
});

test('observe on a plain ingress qdisc ignores the egress show, which repeats the ingress filters (real output)', async () => {
  const stdout = fixture('observe-stdout-plain-ingress.txt');
  assert.match(stdout.split('\n')[2] ?? '', /"ingress":true/); // what tc prints for "egress" there
  const r = await driver(replying(stdout)).observe({ name: 'ing1' });
  assert.ok(r.ok);
  assert.equal(r.value.qdisc, 'ingress');
  assert.deepEqual(r.value.filters.map((f) => [f.hook, f.chain, f.pref, f.protocol]), [['ingress', 0, 10000, 'arp']]);
  assert.deepEqual(r.value.foreign, { ingress: 0, egress: 0 });
});

test('observe of a missing device is tc-exec-failed with tc\'s stderr', async () => {
  const stderr = fixture('observe-stderr-no-device.txt');
  const r = await driver(replying('', 1, stderr)).observe({ name: 'nosuch0' });
  assert.ok(!r.ok && r.error.code === 'tc-exec-failed');
  assert.equal(r.error.netdev, 'nosuch0');
  assert.match(r.error.stderr, /Cannot find device "nosuch0"/);
});

test('observe of output it cannot split or parse is tc-parse-failed', async () => {
  const clsact = '[{"kind":"clsact"}]\n';
  const badHandle = '[{"kind":"flower","chain":10000,"pref":2,"protocol":"ip","options":{"handle":"x"}}]\n';
  for (const stdout of [`${clsact}[]\n`, 'not json', `${clsact}${badHandle}[]\n`, `${clsact}[]\n${badHandle}`]) {
    const r = await driver(replying(stdout)).observe(rep1);
    assert.ok(!r.ok && r.error.code === 'tc-parse-failed', stdout);
  }
});

test('apply runs tc once, `tc -batch -` without -force, with one line per op on stdin', async () => {
  const exec = replying('');
  const r = await driver(exec).apply(rep1, EVERY_KEY_AND_ACTION);
  assert.equal(exec.calls.length, 1);
  assert.deepEqual(exec.calls[0]?.args, ['-batch', '-']);
  assert.equal(exec.calls[0]?.input, readFileSync(new URL('../../golden/tc-batch/every-key-and-action.txt', import.meta.url), 'utf8'));
  assert.deepEqual(r, { ok: true, value: { added: 12, replaced: 1, deleted: 1, qdisc: 'deleted' } });
});

test('apply counts the layout program: 38 filters added, qdisc added', async () => {
  const plan: Plan = { ops: goldenBatch('layout-program.txt').map(lineToOp) };
  assert.deepEqual(await driver(replying('')).apply(rep1, plan), { ok: true, value: { added: 38, replaced: 0, deleted: 0, qdisc: 'added' } });
});

test('no argument carries a command: every argv element is a single word, stdin carries the batch', async () => {
  const exec = replying(fixture('observe-stdout.txt'));
  const d = driver(exec);
  await d.observe(rep1);
  await d.apply(rep1, EVERY_KEY_AND_ACTION);
  for (const c of exec.calls) for (const a of [c.file, ...c.args]) assert.match(a, /^[-\w./]+$/, a);
});

test('a failing batch line maps to tc-batch-failed with that line number, its text and stderr', async () => {
  const stderr = 'RTNETLINK answers: File exists\nWe have an error talking to the kernel\nCommand failed -:3\n';
  const r = await driver(replying('', 1, stderr)).apply(rep1, EVERY_KEY_AND_ACTION);
  assert.ok(!r.ok && r.error.code === 'tc-batch-failed');
  assert.equal(r.error.line, 3);
  assert.equal(r.error.text, 'filter add dev rep1 ingress chain 10001 pref 9 protocol all flower action drop');
  assert.equal(r.error.stderr, stderr);
  assert.equal(r.error.netdev, 'rep1');
});

test('a failure without a line number (tc killed, unparsable stderr, line out of range) is tc-exec-failed', async () => {
  for (const [exitCode, stderr] of [[-1, 'timed out after 30000 ms'], [255, 'Unterminated quoted string\n'], [1, 'Command failed -:99\n']] as const) {
    const r = await driver(replying('', exitCode, stderr)).apply(rep1, EVERY_KEY_AND_ACTION);
    assert.ok(!r.ok && r.error.code === 'tc-exec-failed', stderr);
    assert.equal(r.error.stderr, stderr);
  }
});

test('an empty plan runs nothing', async () => {
  const exec = replying('');
  assert.deepEqual(await driver(exec).apply(rep1, { ops: [] }), { ok: true, value: { added: 0, replaced: 0, deleted: 0, qdisc: 'unchanged' } });
  assert.equal(exec.calls.length, 0);
});

test('options choose the tc binary and the timeout', async () => {
  const exec = replying(fixture('observe-stdout-no-qdisc.txt'));
  const d = driver(exec, { tc: '/sbin/tc', timeoutMs: 5000 });
  await d.observe(rep1);
  await d.apply(rep1, { ops: [{ op: 'add-qdisc' }] });
  assert.deepEqual(exec.calls.map((c) => [c.file, c.timeoutMs]), [['/sbin/tc', 5000], ['/sbin/tc', 5000]]);
});

test('a netdev name tc would misread fails that netdev only, before any tc line is written for it', async () => {
  const exec = replying('');
  for (const r of [await driver(exec).observe({ name: 'rep1; reboot' }), await driver(exec).apply({ name: 'a/b' }, { ops: [{ op: 'add-qdisc' }] })]) {
    assert.ok(!r.ok && r.error.code === 'hook-unavailable', JSON.stringify(r));
    assert.match(r.error.problem, /cannot be written into a tc batch line/);
  }
  assert.equal(exec.calls.length, 0);
  const rs = await driver(exec).applyMany([{ dev: { name: 'x#y' }, plan: { ops: [{ op: 'add-qdisc' }] } }, { dev: rep1, plan: { ops: [{ op: 'add-qdisc' }] } }]);
  assert.deepEqual(rs.map((r) => r.ok), [false, true]);
  assert.equal(exec.calls.length, 1);
  assert.equal(exec.calls[0]?.input, 'qdisc add dev rep1 clsact\n');
});

test('logs go through a child logger {component: driver, driver: cmdline}', async () => {
  const { logger, lines } = captureLogger();
  await new CmdlineTcDriver(replying(''), logger).apply(rep1, { ops: [{ op: 'add-qdisc' }] });
  assert.ok(lines().length > 0);
  for (const l of lines()) assert.deepEqual([l['component'], l['driver']], ['driver', 'cmdline']);
});

test('observe of a port bound to a shared block: the ingress hook shows the block\'s filters, which count as foreign, never as the netdev\'s', async () => {
  const [qdisc, ...rest] = fixture('observe-stdout.txt').split('\n');
  const bound = qdisc!.replace('"kind":"clsact",', '"kind":"clsact","ingress_block":1835944151,');
  assert.notEqual(bound, qdisc);
  const r = await driver(replying([bound, ...rest].join('\n'))).observe(rep1);
  assert.ok(r.ok);
  assert.deepEqual(r.value.filters.filter((f) => f.hook === 'ingress'), []);
  assert.equal(r.value.filters.filter((f) => f.hook === 'egress').length, 6);
  assert.deepEqual(r.value.foreign, { ingress: 32, egress: 0 });
});
