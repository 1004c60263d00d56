import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { TcFilter } from '../../../core/model/tc.js';
import { diff } from '../../../core/pipeline/diff.js';
import { failedBatchLine, splitShowOutput } from '../../../drivers/tc-cmdline/batch-output.js';
import { parseFilters, parseQdiscs, type ParsedFilters } from '../../../drivers/tc-cmdline/parse.js';
import { readJson } from './fixtures/tc-line.js';

const golden = (name: string): unknown => readJson(`../../../golden/tc-json/${name}`);
const fixture = (name: string): unknown => readJson(`./${name}`);

function parsed(json: unknown, hook: 'ingress' | 'egress' = 'ingress'): ParsedFilters {
  const r = parseFilters(json, hook, 'rep1');
  assert.ok(r.ok, r.ok ? '' : r.error.code === 'tc-parse-failed' ? r.error.problem : r.error.code);
  return r.value;
}

/** The owned filter at a chain/pref (and handle 1 unless given). */
function at(p: ParsedFilters, chain: number, pref: number, handle = 1): TcFilter {
  const f = p.owned.find((x) => x.chain === chain && x.pref === pref && x.handle === handle);
  assert.ok(f, `no owned filter at chain ${chain} pref ${pref} handle ${handle}`);
  return f;
}

// ---- qdiscs

test('qdisc: a clsact qdisc is recognised next to the root noqueue (lab capture)', () => {
  assert.deepEqual(parseQdiscs(golden('qdisc-clsact.json'), 'rep1'), { ok: true, value: 'clsact' });
});

test('qdisc: a plain ingress qdisc is recognised (lab capture)', () => {
  assert.deepEqual(parseQdiscs(golden('qdisc-ingress.json'), 'rep1'), { ok: true, value: 'ingress' });
});

test('qdisc: mq, fq_codel and noqueue alone mean no usable qdisc; with ingress among them, ingress', () => {
  const others = [{ kind: 'mq', handle: '0:', root: true, options: {} }, { kind: 'fq_codel', handle: '0:', parent: ':1', options: {} }, { kind: 'noqueue', handle: '0:' }];
  assert.deepEqual(parseQdiscs(others, 'rep1'), { ok: true, value: null });
  assert.deepEqual(parseQdiscs([...others, { kind: 'ingress', handle: 'ffff:', parent: 'ffff:fff1', options: {} }], 'rep1'), { ok: true, value: 'ingress' });
  assert.deepEqual(parseQdiscs([], 'rep1'), { ok: true, value: null });
});

test('qdisc: clsact wins when both kinds are listed', () => {
  assert.deepEqual(parseQdiscs([{ kind: 'ingress' }, { kind: 'clsact' }], 'rep1'), { ok: true, value: 'clsact' });
});

test('qdisc: a list that is not a JSON array is a tc-parse-failed error naming the netdev', () => {
  const r = parseQdiscs({ kind: 'clsact' }, 'rep1');
  assert.ok(!r.ok && r.error.code === 'tc-parse-failed' && r.error.netdev === 'rep1');
});

// ---- filters: the lab captures of the layout program

test('filters: header entries (no options) are skipped, every chain of the hook is read (0, 10000, 10001)', () => {
  const json = golden('filters-ingress.json') as { options?: unknown }[];
  assert.ok(json.some((e) => e.options === undefined), 'the capture has header entries');
  const p = parsed(json);
  assert.equal(p.owned.length, 32);
  assert.equal(p.foreign, 0);
  assert.deepEqual([...new Set(p.owned.map((f) => f.chain))].sort((a, b) => a - b), [0, 10000, 10001]);
});

test('filters: canonical values from the kernel spelling (bare /32, {start,end}, icmp_type "135", 802.1Q/802.1ad, ct without commit)', () => {
  const p = parsed(golden('filters-ingress.json'));
  assert.deepEqual(at(p, 10000, 2, 2).match, { ipProto: 'tcp', dstIp: '10.1.0.5/32', dstPort: { start: 80, end: 80 }, ctState: '+trk+new' });
  assert.deepEqual(at(p, 10001, 2, 1).match, { ipProto: 'tcp', dstPort: { start: 5000, end: 5900 } });
  assert.deepEqual(at(p, 10000, 3, 1).match, { ipProto: 'icmpv6', icmpType: 135 });
  assert.equal(at(p, 10000, 4, 1).protocol, '802.1Q');
  assert.deepEqual(at(p, 10001, 5, 1), {
    hook: 'ingress', chain: 10001, pref: 5, protocol: '802.1ad', handle: 1, inHw: false,
    match: { vlanEthType: '802.1Q', cvlanEthType: 'ip', ipProto: 'tcp', dstPort: { start: 5000, end: 5900 } },
    actions: [{ kind: 'ct', zone: 0, commit: true }, { kind: 'pass' }],
  });
  assert.deepEqual(at(p, 0, 10001, 1).actions, [{ kind: 'ct', zone: 0, commit: false }, { kind: 'goto', chain: 10000 }]);
  assert.deepEqual(at(p, 10000, 9, 1), { hook: 'ingress', chain: 10000, pref: 9, protocol: 'all', handle: 1, inHw: false, match: {}, actions: [{ kind: 'drop' }] });
});

test('filters: the egress hook capture parses with hook egress', () => {
  const p = parsed(golden('filters-egress.json'), 'egress');
  assert.equal(p.owned.length, 6);
  assert.ok(p.owned.every((f) => f.hook === 'egress' && f.chain === 0));
});

test('filters: in_hw reads as inHw true, not_in_hw as false (netdevsim capture)', () => {
  const p = parsed(golden('filters-in-hw.json'));
  assert.ok(p.owned.length > 0 && p.owned.every((f) => f.inHw === true));
  assert.ok(parsed(golden('filters-ingress.json')).owned.every((f) => f.inHw === false));
});

// ---- foreign filters

test('foreign: u32, matchall and a flower outside our prefs are counted, not parsed, next to our 32 (lab capture)', () => {
  const p = parsed(golden('filters-foreign.json'));
  assert.equal(p.owned.length, 32);
  // flower chain 0 pref 100 (ip) and pref 101 (a /128) + matchall chain 7 + u32 pref 200
  // (its hash-table entry and its key: 2 entries with options)
  assert.equal(p.foreign, 5);
});

test('foreign: filters on a plain ingress qdisc (matchall + u32) are counted (lab capture)', () => {
  assert.deepEqual(parsed(golden('filters-plain-ingress-qdisc.json')), { owned: [], foreign: 3 });
});

test('foreign: garbage in a foreign filter never fails the parse', () => {
  const json = [
    { kind: 'u32', pref: 'x', options: 'what' },
    { kind: 'bpf', chain: 3, pref: 1, protocol: 'all', options: { handle: 'nope', actions: 5 } },
    { kind: 'flower', chain: 0, pref: 100, protocol: 'ip', options: { handle: 'nope', keys: 'garbage' } },
    { kind: 'flower', chain: 5, pref: 1, protocol: 'ip', options: { keys: { dst_ip: 42 } } },
    { pref: 1, options: {} },
  ];
  assert.deepEqual(parsed(json), { owned: [], foreign: 5 });
});

test('foreign: a flower in our range with a protocol we cannot name (LLDP) is counted, not owned', () => {
  const p = parsed(fixture('owned-oddities.json'));
  assert.ok(!p.owned.some((f) => f.pref === 23));
  assert.equal(p.foreign, 1);
});

// ---- owned filters with things we never emit (lab capture owned-oddities.json, verdict chain)

test('owned oddities: keys we never emit become match.unrecognised, next to the keys we know', () => {
  const p = parsed(fixture('owned-oddities.json'));
  assert.equal(p.owned.length, 21);
  const m = (pref: number) => at(p, 10000, pref).match;
  assert.deepEqual(m(13), { indev: 'rep2' }); // a key since the shared-block layout (printed beside `keys`)
  assert.deepEqual(m(15), { ipProto: 'tcp', unrecognised: 'dst_port=5000/fff8' });
  assert.deepEqual(m(16), { ipProto: 'icmp', icmpType: 8, unrecognised: 'icmp_code="0"' });
  assert.deepEqual(m(17), { unrecognised: 'ip_flags={"frag":true}' });
  assert.deepEqual(m(18), { vlanEthType: 'ip', unrecognised: 'vlan_id=100' });
  assert.deepEqual(m(19), { ipProto: 'tcp', unrecognised: 'src_port=80' });
  assert.deepEqual(m(21), { unrecognised: 'ct_zone=3' });
  assert.deepEqual(m(25), { unrecognised: 'ip_proto="47"' });
});

test('owned oddities: actions we never emit (ct force/mark/label/nat/clear, continue, reclassify, jump, mirred) and classid read as no actions', () => {
  const p = parsed(fixture('owned-oddities.json'));
  for (const pref of [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 22]) assert.deepEqual(at(p, 10000, pref).actions, [], `pref ${pref}`);
  assert.deepEqual(at(p, 10000, 12).match, { dstIp: '10.0.0.1/32' }); // classid: keys intact, only the actions are unusable
  assert.deepEqual(at(p, 10000, 24).actions, [{ kind: 'ct', zone: 0, commit: false }, { kind: 'goto', chain: 5 }]); // ordinary ones still read
});

test('owned oddities: diff deletes a filter with an unrecognised key and adds the desired one (add first)', () => {
  const p = parsed(fixture('owned-oddities.json'));
  const odd = at(p, 10000, 19); // ip_proto tcp + src_port 80
  const want: TcFilter = { hook: 'ingress', chain: 10000, pref: 19, protocol: 'ip', match: { ipProto: 'tcp' }, actions: [{ kind: 'pass' }] };
  const plan = diff([want], { qdisc: 'clsact', filters: [odd], foreign: { ingress: 0, egress: 0 } }).plan;
  assert.deepEqual(plan.ops.map((o) => o.op), ['add', 'delete']);
  assert.equal((plan.ops[1] as { filter: TcFilter }).filter.handle, odd.handle);
});

test('owned oddities: diff replaces unusable actions in place by handle (an add of the same keys would be EEXIST)', () => {
  const p = parsed(fixture('owned-oddities.json'));
  const odd = at(p, 10000, 22); // tcp dport 80 -> mirred
  const want: TcFilter = { hook: 'ingress', chain: 10000, pref: 22, protocol: 'ip', match: { ipProto: 'tcp', dstPort: { start: 80, end: 80 } }, actions: [{ kind: 'drop' }] };
  const plan = diff([want], { qdisc: 'clsact', filters: [odd], foreign: { ingress: 0, egress: 0 } }).plan;
  assert.deepEqual(plan.ops, [{ op: 'replace', filter: { ...want, handle: odd.handle } }]);
});

// ---- shapes and malformed owned filters

test('handles: a number, a "0x.." string and a decimal string all read as numbers', () => {
  const entry = (handle: unknown) => ({ kind: 'flower', chain: 10000, pref: 9, protocol: 'all', options: { handle, keys: {}, actions: [{ order: 1, kind: 'gact', control_action: { type: 'drop' } }] } });
  assert.deepEqual(parsed([entry(2748), entry('0xabc'), entry('7')]).owned.map((f) => f.handle), [2748, 2748, 7]);
});

test('a missing chain field means chain 0 (tc omits it when the show command names a chain)', () => {
  const p = parsed([{ protocol: 'arp', kind: 'flower', pref: 10000, options: { handle: 1, keys: { eth_type: 'arp' }, actions: [{ order: 1, kind: 'gact', control_action: { type: 'pass' } }] } }]);
  assert.equal(p.owned[0]?.chain, 0);
});

test('protocol and ethertype names are matched case-insensitively (802.1q → 802.1Q)', () => {
  const p = parsed([{ protocol: '802.1q', kind: 'flower', chain: 0, pref: 10003, options: { handle: 1, keys: { vlan_ethtype: 'IP' }, actions: [{ kind: 'gact', control_action: { type: 'pass' } }] } }]);
  assert.equal(p.owned[0]?.protocol, '802.1Q');
  assert.deepEqual(p.owned[0]?.match, { vlanEthType: 'ip' });
});

test('ct_state and IPv6 addresses are canonicalised (flag order, compressed lower case, bare address = /128)', () => {
  const p = parsed([{ protocol: 'ipv6', kind: 'flower', chain: 10000, pref: 3, options: { handle: 1, keys: { ct_state: '-est+trk+new', src_ip: 'FD00:0:0::1', dst_ip: 'fd00:0:0:0:1::/80' }, actions: [{ kind: 'gact', control_action: { type: 'pass' } }] } }]);
  assert.deepEqual(p.owned[0]?.match, { ctState: '+trk+new-est', srcIp: 'fd00::1/128', dstIp: 'fd00::1:0:0:0/80' }); // RFC 5952: the first of two equal zero runs
});

test('a malformed owned filter is a tc-parse-failed error naming the netdev, the filter and the field', () => {
  const base = { protocol: 'ip', kind: 'flower', chain: 10000, pref: 2 };
  const cases: [unknown, RegExp][] = [
    [{ ...base, options: { handle: 'abc', keys: {} } }, /chain 10000 pref 2.*options\.handle/],
    [{ ...base, options: { handle: 1, keys: { dst_ip: 'not-an-ip' } } }, /handle 1: options\.keys\.dst_ip "not-an-ip" is not an address/],
    [{ ...base, options: { handle: 1, keys: { dst_port: 'eighty' } } }, /options\.keys\.dst_port/],
    [{ ...base, options: { handle: 1, keys: { icmp_type: 'x' } } }, /options\.keys\.icmp_type/],
    [{ ...base, options: { handle: 1, keys: [] } }, /options\.keys is not an object/],
    [{ ...base, options: { handle: 1, keys: {}, actions: {} } }, /options\.actions is not an array/],
    [{ ...base, pref: undefined, options: { handle: 1, keys: {} } }, /pref is not a number/],
    [{ ...base, chain: '10000', options: { handle: 1, keys: {} } }, /chain is not a number/],
  ];
  for (const [entry, problem] of cases) {
    const r = parseFilters([entry], 'ingress', 'rep7');
    assert.ok(!r.ok, JSON.stringify(entry));
    assert.equal(r.error.code, 'tc-parse-failed');
    assert.ok(r.error.code === 'tc-parse-failed' && r.error.netdev === 'rep7');
    assert.match(r.error.code === 'tc-parse-failed' ? r.error.problem : '', problem);
  }
});

test('an address with a non-prefix mask is valid kernel state we cannot express: unrecognised, not an error', () => {
  const p = parsed([{ protocol: 'ip', kind: 'flower', chain: 10000, pref: 2, options: { handle: 1, keys: { dst_ip: '10.0.0.0/255.0.255.0' }, actions: [] } }]);
  assert.deepEqual(p.owned[0]?.match, { unrecognised: 'dst_ip="10.0.0.0/255.0.255.0"' });
});

// ---- batch output

test('tc -j -batch - output splits into one document per show command (lab capture: 5 shows, newline separated)', () => {
  const text = readFileSync(new URL('../../golden/tc-json/batch-show.json', import.meta.url), 'utf8');
  const r = splitShowOutput(text, 5, 'rep1');
  assert.ok(r.ok);
  assert.ok(r.value.every(Array.isArray));
  assert.deepEqual(parseQdiscs(r.value[0], 'rep1'), { ok: true, value: 'clsact' });
  assert.equal(parsed(r.value[1], 'egress').owned.length, 6);
});

test('the three show outputs of one observe split and parse (lab capture of the layout program)', () => {
  const text = readFileSync(new URL('./fixtures/observe-stdout.txt', import.meta.url), 'utf8');
  const r = splitShowOutput(text, 3, 'rep1');
  assert.ok(r.ok);
  assert.deepEqual(parseQdiscs(r.value[0], 'rep1'), { ok: true, value: 'clsact' });
  assert.equal(parsed(r.value[1], 'ingress').owned.length, 32);
  assert.equal(parsed(r.value[2], 'egress').owned.length, 6);
});

test('batch output split works on pretty (multi-line) JSON and strings holding brackets', () => {
  const r = splitShowOutput('[\n  {"kind": "a]["}\n]\n[\n]\n{"x": "\\"]"}', 3, 'rep1');
  assert.deepEqual(r, { ok: true, value: [[{ kind: 'a][' }], [], { x: '"]' }] });
});

test('batch output with the wrong number of documents, or junk between them, is tc-parse-failed', () => {
  for (const text of ['[]\n[]\n', '[]\n[]\n[]\n[]\n', '[]\nCannot find device\n[]\n[]', '[]\n[{"a":1}\n[]', '[]\n[}\n[]', '[]\n]\n[]\n[]']) {
    const r = splitShowOutput(text, 3, 'rep1');
    assert.ok(!r.ok && r.error.code === 'tc-parse-failed', JSON.stringify(text));
  }
});

test('the failing line of a batch is read from "Command failed -:N" (the last one with -force)', () => {
  assert.equal(failedBatchLine('RTNETLINK answers: File exists\nWe have an error talking to the kernel\nCommand failed -:3\n'), 3);
  assert.equal(failedBatchLine('Error: x\nCommand failed -:2\nError: y\nCommand failed -:7\n'), 7);
  assert.equal(failedBatchLine('Cannot find device "nosuch0"\nCommand failed /tmp/r.txt:12'), 12);
  assert.equal(failedBatchLine('Unterminated quoted string\n'), undefined);
});
