import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowerMatch, EthProtocol } from '../../../core/model/tc.js';
import { describeModelError } from '../../../core/tcmodel/model-error.js';
import { checkProgram, filterProblem } from '../../../core/tcmodel/program-check.js';
import { drop, filter, goto, layoutProgram, pass } from './programs.js';

const f = (protocol: EthProtocol, match: FlowerMatch) => filter('ingress', 0, 1, protocol, match, pass);

test('the layout program has no problems', () => {
  const p = layoutProgram({ egress: [{ cidr: '10.0.0.0/24', ipProto: 'tcp', ports: [80, 90] }, { cidr: 'fd00::/64' }], ingress: [] });
  assert.deepEqual(checkProgram(p.filters).map(describeModelError), []);
});

test('two protocols in one pref are reported', () => {
  const problems = checkProgram([filter('egress', 5, 2, 'ip', {}, pass), filter('egress', 5, 2, 'ipv6', {}, drop)]);
  assert.deepEqual(problems.map((p) => p.code), ['pref-protocol-mix']);
  assert.match(describeModelError(problems[0]!), /egress chain 5 pref 2 mixes protocols ip, ipv6/);
});

test('the same match twice in one pref is a duplicate even with other actions', () => {
  const problems = checkProgram([filter('egress', 5, 2, 'ip', { dstIp: '10.0.0.0/8' }, pass), filter('egress', 5, 2, 'ip', { dstIp: '10.0.0.0/8' }, drop)]);
  assert.deepEqual(problems.map((p) => p.code), ['duplicate-filter']);
});

test('keys tc would refuse are reported', () => {
  const bad: [EthProtocol, FlowerMatch][] = [
    ['all', { dstIp: '10.0.0.0/8' }],
    ['ip', { vlanEthType: 'ip' }],
    ['802.1Q', { vlanEthType: 'ip', cvlanEthType: 'ip' }],
    ['ip', { dstIp: 'fd00::/64' }],
    ['ipv6', { srcIp: '10.0.0.1/32' }],
    ['ip', { dstPort: { start: 80, end: 80 } }],
    ['ip', { ipProto: 'tcp', dstPort: { start: 90, end: 80 } }],
    ['ip', { ipProto: 'tcp', icmpType: 8 }],
    ['ipv6', { ipProto: 'icmp' }],
    ['802.1Q', { vlanEthType: 'arp', ipProto: 'tcp' }],
    ['802.1ad', { vlanEthType: '802.1Q', ipProto: 'tcp' }],
    ['ip', { ctState: '+trk+nope' }],
  ];
  for (const [protocol, match] of bad) assert.notEqual(filterProblem(f(protocol, match)), null, `${protocol} ${JSON.stringify(match)}`);
  const good: [EthProtocol, FlowerMatch][] = [
    ['all', { ctState: '+trk+est' }],
    ['802.1Q', { vlanEthType: 'ipv6', ipProto: 'icmpv6', icmpType: 135 }],
    ['802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'ip', ctState: '+trk+new', dstIp: '10.0.0.0/24', ipProto: 'udp', dstPort: { start: 53, end: 53 } }],
  ];
  for (const [protocol, match] of good) assert.equal(filterProblem(f(protocol, match)), null, `${protocol} ${JSON.stringify(match)}`);
});

test('indev is part of a filter identity: the same keys on two ports are two filters, on one port a duplicate', () => {
  const onPort = (indev: string) => filter('ingress', 10000, 2, 'ip', { indev, ctState: '+trk+new', dstIp: '10.0.0.0/24' }, goto(10001));
  assert.deepEqual(checkProgram([onPort('repA'), onPort('repB')]).map(describeModelError), []);
  assert.deepEqual(checkProgram([onPort('repA'), onPort('repA')]).map((p) => p.code), ['duplicate-filter']);
});

test('an indev that no netdev could be called is reported; a plain name is fine', () => {
  for (const bad of ['', 'a/b', 'has space', 'x'.repeat(16), 'eth0:1', '..']) assert.notEqual(filterProblem(f('all', { indev: bad })), null, JSON.stringify(bad));
  for (const good of ['repA', 'eth0', 'enp3s0f0_1', 'x'.repeat(15)]) assert.equal(filterProblem(f('all', { indev: good })), null, good);
});

test('a dst_mac that is not six hex bytes is reported', () => {
  for (const bad of ['', '02:00:00:00:00', '02-00-00-00-00-0a', '02:00:00:00:00:0g', '2:0:0:0:0:a']) assert.notEqual(filterProblem(f('all', { dstMac: bad })), null, JSON.stringify(bad));
  for (const good of ['02:00:00:00:00:0a', 'AA:BB:CC:DD:EE:FF']) assert.equal(filterProblem(f('all', { dstMac: good })), null, good);
});
