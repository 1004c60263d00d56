import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Plan, PlanOp } from '../../../core/model/plan.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { toBatchLines } from '../../../drivers/tc-cmdline/batch.js';
import { isValidIfname } from '../../../drivers/tc-cmdline/ifname.js';
import { EVERY_KEY_AND_ACTION } from './fixtures/plans.js';
import { goldenBatch, lineToOp } from './fixtures/tc-line.js';

const dev = { name: 'rep1' };
const base: TcFilter = { hook: 'ingress', chain: 10000, pref: 2, protocol: 'ip', match: {}, actions: [{ kind: 'pass' }] };
const one = (op: PlanOp): string => toBatchLines(dev, { ops: [op] })[0]!;

test('a plan with every key, action and op kind prints exactly the golden batch text', () => {
  const golden = readFileSync(new URL('../../golden/tc-batch/every-key-and-action.txt', import.meta.url), 'utf8');
  assert.equal(`${toBatchLines(dev, EVERY_KEY_AND_ACTION).join('\n')}\n`, golden);
});

test('one line per op, in plan order, so tc\'s failing line number is the op index + 1', () => {
  const lines = toBatchLines(dev, EVERY_KEY_AND_ACTION);
  assert.equal(lines.length, EVERY_KEY_AND_ACTION.ops.length);
  const place = (op: PlanOp): unknown => ('filter' in op ? { op: op.op, ...op.filter, match: {}, actions: [] } : op);
  EVERY_KEY_AND_ACTION.ops.forEach((op, i) => {
    const read = lineToOp(lines[i]!);
    if (op.op === 'delete') assert.deepEqual(place(read), place(op), `line ${i + 1}`); // a delete line names the place and handle only
    else assert.deepEqual(read, op, `line ${i + 1}`);
  });
});

test('every line of the layout program prints back verbatim from the filter it builds', () => {
  const lines = goldenBatch('layout-program.txt');
  assert.equal(lines.length, 39);
  for (const line of lines) {
    const printed = toBatchLines(dev, { ops: [lineToOp(line)] })[0]!;
    if (line.includes('dst_ip 10.1.0.5/32 ip_proto tcp')) {
      // the one layout line not in the fixed key order: same tokens, ip_proto moves first
      assert.equal(printed, 'filter add dev rep1 ingress chain 10000 pref 2 protocol ip flower ct_state +trk+new ip_proto tcp dst_ip 10.1.0.5/32 dst_port 80 action ct commit zone 0 pipe action pass');
    } else assert.equal(printed, line);
  }
});

test('keys print in the fixed order vlan_ethtype, cvlan_ethtype, ct_state, ip_proto, src_ip, dst_ip, dst_port, type', () => {
  const line = one({ op: 'add', filter: { ...base, protocol: '802.1ad', match: { icmpType: 3, dstPort: { start: 1, end: 2 }, dstIp: '10.0.0.0/8', srcIp: '10.1.0.0/16', ipProto: 'icmp', ctState: '+trk', cvlanEthType: 'ip', vlanEthType: '802.1Q' } } });
  assert.match(line, / flower vlan_ethtype 802\.1Q cvlan_ethtype ip ct_state \+trk ip_proto icmp src_ip 10\.1\.0\.0\/16 dst_ip 10\.0\.0\.0\/8 dst_port 1-2 type 3 action pass$/);
});

test('a one-port range prints as a single port (tc refuses 80-80)', () => {
  assert.match(one({ op: 'add', filter: { ...base, match: { ipProto: 'tcp', dstPort: { start: 80, end: 80 } } } }), / dst_port 80 action/);
});

test('actions: pass, drop, goto chain, ct with and without commit', () => {
  const line = one({ op: 'add', filter: { ...base, actions: [{ kind: 'ct', zone: 3, commit: false }, { kind: 'ct', zone: 0, commit: true }, { kind: 'goto', chain: 10001 }, { kind: 'pass' }, { kind: 'drop' }] } });
  assert.match(line, / flower action ct zone 3 pipe action ct commit zone 0 pipe action goto chain 10001 action pass action drop$/);
});

test('replace and delete name the handle; delete carries no keys or actions', () => {
  const f = { ...base, match: { dstIp: '10.0.0.0/24' }, handle: 0x1a };
  assert.equal(one({ op: 'replace', filter: f }), 'filter replace dev rep1 ingress chain 10000 pref 2 protocol ip handle 26 flower dst_ip 10.0.0.0/24 action pass');
  assert.equal(one({ op: 'delete', filter: f }), 'filter del dev rep1 ingress chain 10000 pref 2 protocol ip handle 26 flower');
});

test('an empty plan is no lines', () => {
  assert.deepEqual(toBatchLines(dev, { ops: [] }), []);
});

test('netdev names the kernel would refuse, or that tc\'s batch reader would split, throw before any line is built', () => {
  const plan: Plan = { ops: [{ op: 'add-qdisc' }] };
  for (const bad of ['', 'a'.repeat(16), 'rep 1', 'rep\t1', 'a/b', 'a:b', 'rep1#x', 'a"b', "a'b", 'a\\b', '.', '..', 'rep1\n']) {
    assert.throws(() => toBatchLines({ name: bad }, plan), /not a valid Linux interface name/, JSON.stringify(bad));
  }
  for (const good of ['rep1', 'a'.repeat(15), 'eth0.100', 'enp3s0f0_1', 'pf0vf1-rep', 'x']) assert.ok(isValidIfname(good), good);
  assert.deepEqual(toBatchLines({ name: 'eth0.100' }, plan), ['qdisc add dev eth0.100 clsact']);
});

test('values that are not canonical or out of range are bugs and throw instead of reaching tc', () => {
  const bad: TcFilter[] = [
    { ...base, match: { dstIp: '10.0.0.5/24' } }, // host bits set
    { ...base, match: { dstIp: '10.0.0.5' } }, // no prefix length
    { ...base, match: { srcIp: 'FD00::1/128' } }, // upper case
    { ...base, match: { ctState: '+new+trk' } }, // flag order
    { ...base, match: { ctState: '+trk;reboot' } },
    { ...base, match: { ipProto: 'tcp', dstPort: { start: 90, end: 80 } } },
    { ...base, match: { ipProto: 'tcp', dstPort: { start: 1, end: 65536 } } },
    { ...base, match: { icmpType: 256 } },
    { ...base, pref: 0 },
    { ...base, pref: 65536 },
    { ...base, chain: -1 },
    { ...base, chain: 1.5 },
    { ...base, actions: [] },
    { ...base, actions: [{ kind: 'ct', zone: 65536, commit: false }] },
    { ...base, match: { unrecognised: 'ip_tos=16' } },
  ];
  for (const f of bad) assert.throws(() => one({ op: 'add', filter: f }), /toBatchLines/, JSON.stringify(f));
  assert.throws(() => one({ op: 'delete', filter: { ...base, handle: 0 } }), /handle 0/);
});

test('a filter with unrecognised keys can still be deleted (a delete needs no keys)', () => {
  assert.equal(one({ op: 'delete', filter: { ...base, match: { unrecognised: 'ip_tos=16' }, handle: 4 } }), 'filter del dev rep1 ingress chain 10000 pref 2 protocol ip handle 4 flower');
});
