// The cmdline driver on a shared-block target: batch lines, parsing what tc prints of a block
// and of its ports (lab captures from fixtures/capture-block.ts), observe and apply through a
// fake Exec.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Netdev } from '../../../core/model/attachment.js';
import type { Plan, PlanOp } from '../../../core/model/plan.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { filterKey } from '../../../core/model/tc.js';
import { diff } from '../../../core/pipeline/diff.js';
import { toBatchLines, toBatchOpLines } from '../../../drivers/tc-cmdline/batch.js';
import { splitShowOutput } from '../../../drivers/tc-cmdline/batch-output.js';
import { CmdlineTcDriver } from '../../../drivers/tc-cmdline/cmdline-driver.js';
import { parseFilters, parsePortQdisc } from '../../../drivers/tc-cmdline/parse.js';
import { FakeExec, silentLogger } from '../fakes.js';
import { BLOCK_INDEX, BLOCK_PROGRAM, BLOCK_TARGET, capturedBlockProgram } from './fixtures/block-program.js';
import { lineToOp, readJson } from './fixtures/tc-line.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const keys = (fs: readonly TcFilter[]): string[] => fs.map(filterKey).sort();
const adds = (fs: readonly TcFilter[]): PlanOp[] => fs.map((filter) => ({ op: 'add', filter }));
const N = BLOCK_INDEX;
/** The ports of the capture, in the order capture-block.ts showed them. */
const OBSERVED_PORTS = ['bka', 'bkb', 'bku', 'bkn', 'bkr', 'bki', 'bkf', 'bko'];
const observedTarget: Netdev = { name: `block:${N}`, block: { index: N, ports: OBSERVED_PORTS } };
/** The program as the captures hold it (compile may have moved on since). */
const CAPTURED = capturedBlockProgram();
const base: TcFilter = { hook: 'ingress', chain: 10000, pref: 2, protocol: 'ip', match: {}, actions: [{ kind: 'pass' }] };

/** An Exec that answers each call in turn. */
const script = (...replies: { exitCode?: number; stdout?: string; stderr?: string }[]) => {
  let i = 0;
  return new FakeExec(() => {
    const r = replies[i++];
    if (r === undefined) throw new Error(`unexpected tc call ${i}`);
    return { exitCode: r.exitCode ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  });
};
const driver = (exec: FakeExec) => new CmdlineTcDriver(exec, silentLogger(), {});

// ---- batch lines

test('a bind prints `qdisc add dev P ingress_block N clsact`; a replacing bind deletes the empty clsact first', () => {
  const lines = toBatchOpLines(BLOCK_TARGET, { ops: [{ op: 'bind', port: 'bka', replace: false }, { op: 'bind', port: 'bkb', replace: true }] });
  assert.deepEqual(lines, [[`qdisc add dev bka ingress_block ${N} clsact`], ['qdisc del dev bkb clsact', `qdisc add dev bkb ingress_block ${N} clsact`]]);
});

test('block filter ops name `block N` and no hook word; indev is the first key', () => {
  const f = { ...base, match: { indev: 'bka', ctState: '+trk+new', dstIp: '10.0.0.0/24' }, handle: 3 };
  const lines = toBatchLines(BLOCK_TARGET, { ops: [{ op: 'add', filter: f }, { op: 'replace', filter: f }, { op: 'delete', filter: f }] });
  assert.deepEqual(lines, [
    `filter add block ${N} chain 10000 pref 2 protocol ip flower indev bka ct_state +trk+new dst_ip 10.0.0.0/24 action pass`,
    `filter replace block ${N} chain 10000 pref 2 protocol ip handle 3 flower indev bka ct_state +trk+new dst_ip 10.0.0.0/24 action pass`,
    `filter del block ${N} chain 10000 pref 2 protocol ip handle 3 flower`,
  ]);
});

test('indev on a netdev target prints first too, ahead of the encapsulation keys', () => {
  const line = toBatchLines({ name: 'rep1' }, { ops: [{ op: 'add', filter: { ...base, protocol: '802.1Q', match: { vlanEthType: 'ip', indev: 'rep2' } } }] })[0];
  assert.equal(line, 'filter add dev rep1 ingress chain 10000 pref 2 protocol 802.1Q flower indev rep2 vlan_ethtype ip action pass');
});

test('ops a target cannot take, bad block indexes and bad indev names are bugs and throw before any line', () => {
  const bad: [Netdev, Plan][] = [
    [BLOCK_TARGET, { ops: [{ op: 'add-qdisc' }] }],
    [BLOCK_TARGET, { ops: [{ op: 'delete-qdisc' }] }],
    [BLOCK_TARGET, { ops: [{ op: 'add', filter: { ...base, hook: 'egress' } }] }],
    [BLOCK_TARGET, { ops: [{ op: 'bind', port: 'notaport', replace: false }] }],
    [{ name: 'rep1' }, { ops: [{ op: 'bind', port: 'rep1', replace: false }] }],
    [{ name: 'block:0', block: { index: 0, ports: ['bka'] } }, { ops: [] }],
    [{ name: 'block:x', block: { index: 2 ** 32, ports: ['bka'] } }, { ops: [] }],
    [{ name: 'block:1', block: { index: 1, ports: ['bad port'] } }, { ops: [] }],
    [BLOCK_TARGET, { ops: [{ op: 'add', filter: { ...base, match: { indev: 'a b' } } }] }],
  ];
  for (const [dev, plan] of bad) assert.throws(() => toBatchLines(dev, plan), Error, `${dev.name} ${JSON.stringify(plan)}`);
});

test('round trip: every line of the compiled block program reads back (test reader) as the filter it was printed from', () => {
  const lines = toBatchLines(BLOCK_TARGET, { ops: adds(BLOCK_PROGRAM) });
  assert.equal(lines.length, BLOCK_PROGRAM.length);
  assert.ok(lines.some((l) => / flower indev bka /.test(l)), 'the program keys some filters by indev');
  assert.deepEqual(lines.map(lineToOp), adds(BLOCK_PROGRAM));
});

// ---- parsing what tc printed (lab captures)

test('parse: indev is read from options.indev, beside keys (lab capture of the brief\'s command)', () => {
  const r = parseFilters(readJson('./indev-block-show.json'), 'ingress', 'block:7');
  assert.ok(r.ok);
  assert.deepEqual(r.value.owned.map((f) => [f.chain, f.pref, f.protocol, f.match]), [[0, 10005, 'all', { indev: 'va' }]]);
  assert.deepEqual(r.value.owned[0]?.actions, [{ kind: 'ct', zone: 3, commit: false }, { kind: 'goto', chain: 10000 }]);
});

test('parse: the whole compiled block program reads back from `tc -j filter show block N` as installed; the matchall is foreign', () => {
  const docs = splitShowOutput(fixture('block-observe-stdout.txt'), OBSERVED_PORTS.length + 1, 'block');
  assert.ok(docs.ok);
  const r = parseFilters(docs.value[OBSERVED_PORTS.length], 'ingress', 'block');
  assert.ok(r.ok);
  assert.ok(CAPTURED.some((f) => f.match.indev !== undefined) && CAPTURED.some((f) => f.match.dstMac !== undefined), 'indev and dst_mac are in it');
  assert.deepEqual(keys(r.value.owned), keys(CAPTURED));
  assert.equal(r.value.foreign, 1);
});

test('parse: each port\'s qdisc with its ingress_block (lab capture: bound, none, clsact, ingress, bound elsewhere)', () => {
  const docs = splitShowOutput(fixture('block-observe-stdout.txt'), OBSERVED_PORTS.length + 1, 'block');
  assert.ok(docs.ok);
  const qdiscs = OBSERVED_PORTS.map((p, i) => {
    const q = parsePortQdisc(docs.value[i], p);
    assert.ok(q.ok);
    return q.value;
  });
  assert.deepEqual(qdiscs, [
    { kind: 'clsact', ingressBlock: N }, { kind: 'clsact', ingressBlock: N }, { kind: 'clsact', ingressBlock: N },
    null, { kind: 'clsact' }, { kind: 'ingress' }, { kind: 'clsact' }, { kind: 'clsact', ingressBlock: 4242 },
  ]);
  assert.equal(parsePortQdisc([{ kind: 'clsact', ingress_block: 'x' }], 'p').ok, false);
  assert.equal(parsePortQdisc({}, 'p').ok, false);
});

test('parse: dst_mac is read in lower case; a masked one is unrecognised, one that is no MAC malformed', () => {
  const entry = (dst_mac: unknown) => [{ kind: 'flower', chain: 10001, pref: 11, protocol: 'all', options: { handle: 1, keys: { dst_mac }, actions: [{ order: 1, kind: 'gact', control_action: { type: 'drop' } }] } }];
  const read = (v: unknown) => parseFilters(entry(v), 'ingress', 'b');
  const full = read('02:00:00:00:00:0A');
  assert.ok(full.ok);
  assert.deepEqual(full.value.owned[0]?.match, { dstMac: '02:00:00:00:00:0a' });
  const masked = read('02:00:00:00:00:00/16'); // how tc 6.1 prints a prefix mask (lab)
  assert.ok(masked.ok);
  assert.deepEqual(masked.value.owned[0]?.match, { unrecognised: 'dst_mac="02:00:00:00:00:00/16"' });
  assert.equal(read('zz').ok, false);
  assert.equal(read(5).ok, false);
});

test('batch: dst_mac prints right after indev, and one not in canonical lower case throws', () => {
  const f = { ...base, match: { indev: 'bka', dstMac: '02:00:00:00:00:0a', dstIp: '10.1.0.5/32' } };
  assert.equal(toBatchLines(BLOCK_TARGET, { ops: [{ op: 'add', filter: f }] })[0], `filter add block ${N} chain 10000 pref 2 protocol ip flower indev bka dst_mac 02:00:00:00:00:0a dst_ip 10.1.0.5/32 action pass`);
  assert.throws(() => toBatchLines(BLOCK_TARGET, { ops: [{ op: 'add', filter: { ...f, match: { dstMac: '02:00:00:00:00:0A' } } }] }), /dst_mac/);
});

test('parse: an indev that is not an interface name is kept as unrecognised (nothing we print), a non-string one is malformed', () => {
  const entry = (indev: unknown) => [{ kind: 'flower', chain: 0, pref: 10005, protocol: 'all', options: { handle: 1, indev, keys: {}, actions: [{ order: 1, kind: 'gact', control_action: { type: 'drop' } }] } }];
  const odd = parseFilters(entry('a b'), 'ingress', 'b');
  assert.ok(odd.ok);
  assert.deepEqual(odd.value.owned[0]?.match, { unrecognised: 'indev="a b"' });
  assert.equal(parseFilters(entry(5), 'ingress', 'b').ok, false);
});

// ---- observe

test('observe of a block: one tc for every port\'s qdisc and the block\'s filters, a second only for clsact ports without a block', async () => {
  const exec = script({ stdout: fixture('block-observe-stdout.txt') }, { stdout: fixture('block-port-filters-stdout.txt') });
  const r = await driver(exec).observe(observedTarget);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(exec.calls.length, 2);
  assert.deepEqual(exec.calls[0]?.args, ['-j', '-batch', '-']);
  assert.equal(exec.calls[0]?.input, `${[...OBSERVED_PORTS.map((p) => `qdisc show dev ${p}`), `filter show block ${N}`].join('\n')}\n`);
  assert.equal(exec.calls[1]?.input, 'filter show dev bkr ingress\nfilter show dev bkr egress\nfilter show dev bkf ingress\nfilter show dev bkf egress\n');
  assert.deepEqual(r.value.ports, [
    { name: 'bka', state: 'bound' },
    { name: 'bkb', state: 'bound' },
    { name: 'bku', state: 'bound' },
    { name: 'bkn', state: 'absent' },
    { name: 'bkr', state: 'rebindable' },
    { name: 'bki', state: 'foreign', detail: 'an ingress qdisc' },
    { name: 'bkf', state: 'foreign', detail: 'clsact carrying 1 filter(s) of others' },
    { name: 'bko', state: 'foreign', detail: 'clsact with ingress_block 4242' },
  ]);
  assert.equal(r.value.qdisc, null, 'not every port is bound');
  assert.deepEqual(keys(r.value.filters), keys(CAPTURED));
  assert.deepEqual(r.value.foreign, { ingress: 1, egress: 0 });
});

test('observe then diff: the unbound ports are bound (the rebindable one by replace), the foreign ones reported, no filter op', async () => {
  const r = await driver(script({ stdout: fixture('block-observe-stdout.txt') }, { stdout: fixture('block-port-filters-stdout.txt') })).observe(observedTarget);
  assert.ok(r.ok);
  const d = diff(CAPTURED, r.value);
  assert.deepEqual(d.plan.ops, [{ op: 'bind', port: 'bkn', replace: false }, { op: 'bind', port: 'bkr', replace: true }]);
  assert.match(d.unavailable ?? '', /bki.*bkf.*bko/);
});

test('observe of a block whose ports are all bound reads qdisc clsact with one tc', async () => {
  const lines = fixture('block-observe-stdout.txt').split('\n');
  const stdout = `${[...lines.slice(0, 3), lines[OBSERVED_PORTS.length]].join('\n')}\n`;
  const exec = script({ stdout });
  const r = await driver(exec).observe(BLOCK_TARGET);
  assert.ok(r.ok);
  assert.equal(exec.calls.length, 1);
  assert.equal(r.value.qdisc, 'clsact');
  assert.deepEqual(r.value.ports?.map((p) => p.state), ['bound', 'bound', 'bound']);
  assert.deepEqual(diff(CAPTURED, r.value).plan.ops, []);
});

test('observe of a block no qdisc uses yet: tc fails on its last line ("Cannot find block"), which reads as no filters', async () => {
  const target: Netdev = { name: 'block:4243', block: { index: 4243, ports: ['bkn', 'bkr'] } };
  const exec = script({ exitCode: 1, stdout: fixture('block-absent-stdout.txt'), stderr: fixture('block-absent-stderr.txt') }, { stdout: '[]\n[]\n' });
  const r = await driver(exec).observe(target);
  assert.deepEqual(r, { ok: true, value: { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 }, ports: [{ name: 'bkn', state: 'absent' }, { name: 'bkr', state: 'rebindable' }] } });
});

test('observe of a block with a port that does not exist is an error naming the port (lab stderr)', async () => {
  const target: Netdev = { name: `block:${N}`, block: { index: N, ports: ['bka', 'nosuch0', 'bkb'] } };
  const r = await driver(script({ exitCode: 1, stdout: '[]\n', stderr: fixture('block-missing-port-stderr.txt') })).observe(target);
  assert.ok(!r.ok);
  assert.equal(r.error.code, 'hook-unavailable');
  assert.ok(r.error.code === 'hook-unavailable' && /port nosuch0 does not exist/.test(r.error.problem), JSON.stringify(r.error));
});

test('observe of a block: other tc failures are tc-exec-failed with tc\'s stderr', async () => {
  const r = await driver(script({ exitCode: 1, stderr: 'Something else\nCommand failed -:4\n' })).observe(BLOCK_TARGET);
  assert.ok(!r.ok && r.error.code === 'tc-exec-failed' && /Something else/.test(r.error.stderr));
});

// ---- apply

test('apply to a block runs one tc -batch with binds and block filter lines, in plan order', async () => {
  const exec = script({});
  const plan: Plan = { ops: [{ op: 'bind', port: 'bka', replace: false }, { op: 'bind', port: 'bkb', replace: true }, ...adds(BLOCK_PROGRAM.slice(0, 2))] };
  const r = await driver(exec).apply(BLOCK_TARGET, plan);
  assert.ok(r.ok);
  assert.deepEqual(exec.calls[0]?.args, ['-batch', '-']);
  assert.equal(exec.calls[0]?.input, `${toBatchLines(BLOCK_TARGET, plan).join('\n')}\n`);
  assert.equal(toBatchLines(BLOCK_TARGET, plan).length, 5);
});

test('apply to a block: a failing line is reported with its own text, also after a two-line bind', async () => {
  const plan: Plan = { ops: [{ op: 'bind', port: 'bkb', replace: true }, ...adds(BLOCK_PROGRAM.slice(0, 2))] };
  const stderr = 'RTNETLINK answers: File exists\nWe have an error talking to the kernel\nCommand failed -:4\n';
  const r = await driver(script({ exitCode: 1, stderr })).apply(BLOCK_TARGET, plan);
  assert.ok(!r.ok && r.error.code === 'tc-batch-failed');
  assert.equal(r.error.line, 4);
  assert.equal(r.error.text, toBatchLines(BLOCK_TARGET, { ops: adds(BLOCK_PROGRAM.slice(1, 2)) })[0]);
});

test('apply of an op the target cannot take (add-qdisc on a block, bind on a netdev) is an error and runs no tc', async () => {
  const exec = script();
  const a = await driver(exec).apply(BLOCK_TARGET, { ops: [{ op: 'add-qdisc' }] });
  assert.ok(!a.ok && a.error.code === 'hook-unavailable' && /no qdisc of its own/.test(a.error.problem));
  const b = await driver(exec).apply({ name: 'rep1' }, { ops: [{ op: 'bind', port: 'rep1', replace: false }] });
  assert.ok(!b.ok && b.error.code === 'hook-unavailable');
  assert.equal(exec.calls.length, 0);
});
