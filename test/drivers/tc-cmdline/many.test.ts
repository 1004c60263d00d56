// observeMany / applyMany: many netdevs per tc process, each netdev's result what it would be
// alone. The tc here is scripted after the real one (iproute2 6.1, lab): `-batch` runs lines in
// order and stops at the first failing one, printing `Command failed -:N`; each show prints one
// JSON document. contract.lab.ts runs the same failures on real tc.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Plan } from '../../../core/model/plan.js';
import { CmdlineTcDriver } from '../../../drivers/tc-cmdline/cmdline-driver.js';
import { FakeExec, silentLogger, type ExecCall } from '../fakes.js';

const [QDISC, INGRESS, EGRESS] = readFileSync(new URL('./fixtures/observe-stdout.txt', import.meta.url), 'utf8').trim().split('\n');

/** tc -batch as the kernel's tc runs it: devices in `missing` do not exist; apply lines matching `failing` fail. */
function scriptedTc(missing: readonly string[], failing?: RegExp): FakeExec {
  return new FakeExec((call: ExecCall) => {
    const out: string[] = [];
    for (const [n, line] of (call.input ?? '').trimEnd().split('\n').entries()) {
      const dev = / dev (\S+)/.exec(line)?.[1];
      const fails = (dev !== undefined && missing.includes(dev)) || (failing?.test(line) ?? false);
      if (fails) return { exitCode: 1, stdout: out.join('\n'), stderr: `${dev !== undefined && missing.includes(dev) ? `Cannot find device "${dev}"` : 'Error: Exclusivity flag on, cannot modify.'}\nCommand failed -:${n + 1}\n` };
      if (line.startsWith('qdisc show')) out.push(QDISC!);
      else if (line.startsWith('filter show') && line.endsWith('ingress')) out.push(INGRESS!);
      else if (line.startsWith('filter show')) out.push(EGRESS!);
    }
    return { exitCode: 0, stdout: out.join('\n'), stderr: '' };
  });
}

const driver = (exec: FakeExec, options = {}) => new CmdlineTcDriver(exec, silentLogger(), options);
const plan = (...prefs: number[]): Plan => ({
  ops: prefs.map((pref) => ({ op: 'add', filter: { hook: 'ingress', chain: 0, pref, protocol: 'arp', match: {}, actions: [{ kind: 'pass' }] } })),
});

test('observeMany reads every netdev with one tc process, each result equal to observing it alone', async () => {
  const exec = scriptedTc([]);
  const many = await driver(exec).observeMany([{ name: 'rep1' }, { name: 'rep2' }, { name: 'rep3' }]);
  assert.equal(exec.calls.length, 1);
  assert.equal(exec.calls[0]?.input?.split('\n').filter(Boolean).length, 9);
  const alone = await driver(scriptedTc([])).observe({ name: 'rep2' });
  assert.ok(alone.ok && alone.value.filters.length === 38);
  assert.deepEqual(many, [alone, alone, alone]);
});

test('observeMany: a netdev that does not exist fails alone; the ones after it are read by a second process', async () => {
  const exec = scriptedTc(['gone0']);
  const rs = await driver(exec).observeMany([{ name: 'rep1' }, { name: 'gone0' }, { name: 'rep3' }]);
  assert.deepEqual(rs.map((r) => r.ok), [true, false, true]);
  const e = rs[1]!;
  assert.ok(!e.ok && e.error.code === 'tc-exec-failed' && e.error.netdev === 'gone0');
  assert.match(e.error.stderr, /Cannot find device "gone0"/);
  assert.equal(exec.calls.length, 2);
  assert.equal(exec.calls[1]?.input, 'qdisc show dev rep3\nfilter show dev rep3 ingress\nfilter show dev rep3 egress\n');
});

test('observeMany: tc failing without naming a line fails every netdev of that process, with its stderr', async () => {
  const exec = new FakeExec(() => ({ exitCode: 1, stdout: '', stderr: 'tc: killed after 30000 ms' }));
  const rs = await driver(exec).observeMany([{ name: 'rep1' }, { name: 'rep2' }]);
  assert.deepEqual(rs.map((r) => (r.ok ? 'ok' : `${r.error.code} ${'netdev' in r.error ? r.error.netdev : ''}`)), ['tc-exec-failed rep1', 'tc-exec-failed rep2']);
  assert.equal(exec.calls.length, 1);
});

test('observeMany puts at most batchNetdevs netdevs in one process', async () => {
  const exec = scriptedTc([]);
  const rs = await driver(exec, { batchNetdevs: 2 }).observeMany(['a', 'b', 'c', 'd', 'e'].map((name) => ({ name })));
  assert.ok(rs.every((r) => r.ok));
  assert.deepEqual(exec.calls.map((c) => (c.input ?? '').split('\n').filter(Boolean).length), [6, 6, 3]);
});

test('applyMany runs every plan in one tc -batch, in order, and reports each netdev applied', async () => {
  const exec = scriptedTc([]);
  const rs = await driver(exec).applyMany([{ dev: { name: 'rep1' }, plan: plan(1, 2) }, { dev: { name: 'rep2' }, plan: { ops: [] } }, { dev: { name: 'rep3' }, plan: plan(3) }]);
  assert.deepEqual(rs, [1, 0, 1].map((added, i) => ({ ok: true, value: { added: i === 0 ? 2 : added, replaced: 0, deleted: 0, qdisc: 'unchanged' } })));
  assert.equal(exec.calls.length, 1);
  assert.deepEqual(exec.calls[0]?.input?.trimEnd().split('\n').map((l) => /dev (\S+).* pref (\d+)/.exec(l)!.slice(1).join(' ')), ['rep1 1', 'rep1 2', 'rep3 3']);
});

test('applyMany: a failing line fails its own netdev (line numbered within its plan); earlier ones stay applied, later ones go to a second process', async () => {
  const exec = scriptedTc([], /pref 22 /);
  const rs = await driver(exec).applyMany([{ dev: { name: 'rep1' }, plan: plan(1) }, { dev: { name: 'rep2' }, plan: plan(21, 22, 23) }, { dev: { name: 'rep3' }, plan: plan(3) }]);
  assert.deepEqual(rs.map((r) => r.ok), [true, false, true]);
  const e = rs[1]!;
  assert.ok(!e.ok && e.error.code === 'tc-batch-failed');
  assert.equal(e.error.netdev, 'rep2');
  assert.equal(e.error.line, 2);
  assert.match(e.error.text, /^filter add dev rep2 ingress chain 0 pref 22 /);
  assert.equal(exec.calls.length, 2);
  assert.match(exec.calls[1]?.input ?? '', /^filter add dev rep3 [^\n]*\n$/);
});

test('applyMany: a netdev missing at its first line fails alone', async () => {
  const rs = await driver(scriptedTc(['gone0'])).applyMany([{ dev: { name: 'gone0' }, plan: plan(1) }, { dev: { name: 'rep2' }, plan: plan(2) }]);
  assert.deepEqual(rs.map((r) => (r.ok ? 'ok' : `${r.error.code} ${'netdev' in r.error ? r.error.netdev : ''}`)), ['tc-batch-failed gone0', 'ok']);
});

test('applyMany: tc failing without naming a line fails every netdev of that process (what it applied is unknown)', async () => {
  const exec = new FakeExec(() => ({ exitCode: 137, stdout: '', stderr: '' }));
  const rs = await driver(exec).applyMany([{ dev: { name: 'rep1' }, plan: plan(1) }, { dev: { name: 'rep2' }, plan: plan(2) }]);
  assert.deepEqual(rs.map((r) => (r.ok ? 'ok' : r.error.code)), ['tc-exec-failed', 'tc-exec-failed']);
});

test('applyMany cuts processes at batchLines without splitting a netdev\'s plan', async () => {
  const exec = scriptedTc([]);
  const rs = await driver(exec, { batchLines: 3 }).applyMany([plan(1, 2), plan(3, 4), plan(5, 6, 7, 8), plan(9)].map((p, i) => ({ dev: { name: `rep${i}` }, plan: p })));
  assert.ok(rs.every((r) => r.ok));
  assert.deepEqual(exec.calls.map((c) => [...new Set((c.input ?? '').trimEnd().split('\n').map((l) => /dev (\S+)/.exec(l)![1]))]), [['rep0'], ['rep1'], ['rep2'], ['rep3']]);
  const exec2 = scriptedTc([]);
  await driver(exec2, { batchLines: 4 }).applyMany([plan(1, 2), plan(3, 4), plan(5), plan(6)].map((p, i) => ({ dev: { name: `rep${i}` }, plan: p })));
  assert.deepEqual(exec2.calls.map((c) => (c.input ?? '').trimEnd().split('\n').length), [4, 2]);
});

test('applyMany: a plan the formatter refuses (a value not in canonical form) fails its own netdev; the others are applied', async () => {
  const exec = scriptedTc([]);
  const bad: Plan = { ops: [{ op: 'add', filter: { hook: 'ingress', chain: 10000, pref: 2, protocol: 'ip', match: { srcIp: '10.0.0.1/8' }, actions: [{ kind: 'pass' }] } }] };
  const rs = await driver(exec).applyMany([{ dev: { name: 'rep1' }, plan: bad }, { dev: { name: 'rep2' }, plan: plan(2) }]);
  assert.ok(!rs[0]!.ok && rs[0]!.error.code === 'hook-unavailable', JSON.stringify(rs[0]));
  assert.match(rs[0]!.error.problem, /src_ip "10.0.0.1\/8" is not in canonical form/);
  assert.ok(rs[1]!.ok);
  assert.equal(exec.calls.length, 1);
  assert.doesNotMatch(exec.calls[0]?.input ?? '', /rep1/);
});
