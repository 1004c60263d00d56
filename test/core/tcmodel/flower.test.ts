import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EthProtocol, FlowerMatch } from '../../../core/model/tc.js';
import { ctBits } from '../../../core/tcmodel/ct-state.js';
import { matches } from '../../../core/tcmodel/flower.js';
import type { Encapsulation, Frame, IpFrame } from '../../../core/tcmodel/packet.js';
import { filter, pass } from './programs.js';

const f = (protocol: EthProtocol, match: FlowerMatch = {}) => filter('ingress', 0, 1, protocol, match, pass);
const tcp = (over: Partial<IpFrame> = {}): IpFrame => ({
  encapsulation: 'untagged', ethertype: 'ip', src: '10.0.0.1', dst: '10.0.0.2', l4: 'tcp', srcPort: 40000, dstPort: 80, segment: 'opening', ...over,
});
const arp = (encapsulation: Encapsulation = 'untagged'): Frame => ({ encapsulation, ethertype: 'arp' });
const NONE = 0;

test('protocol all matches every frame, tagged or not, IP or not', () => {
  for (const frame of [tcp(), arp(), arp('802.1Q'), { encapsulation: 'untagged', ethertype: 'other' } as Frame, tcp({ encapsulation: '802.1ad' })]) {
    assert.equal(matches(f('all'), frame, NONE), true);
  }
});

test('an untagged frame matches the protocol of its ethertype only', () => {
  assert.equal(matches(f('ip'), tcp(), NONE), true);
  assert.equal(matches(f('ipv6'), tcp(), NONE), false);
  assert.equal(matches(f('arp'), arp(), NONE), true);
  assert.equal(matches(f('ip'), arp(), NONE), false);
  assert.equal(matches(f('arp'), { encapsulation: 'untagged', ethertype: 'other' }, NONE), false);
});

test('a tagged IP frame does not hit protocol ip filters, only protocol 802.1Q', () => {
  const tagged = tcp({ encapsulation: '802.1Q' });
  assert.equal(matches(f('ip'), tagged, NONE), false);
  assert.equal(matches(f('802.1Q'), tagged, NONE), true);
  assert.equal(matches(f('802.1Q', { vlanEthType: 'ip' }), tagged, NONE), true);
  assert.equal(matches(f('802.1Q', { vlanEthType: 'ipv6' }), tagged, NONE), false);
  assert.equal(matches(f('802.1ad'), tagged, NONE), false);
});

test('a QinQ frame is protocol 802.1ad, vlan_ethtype 802.1Q, cvlan_ethtype its payload', () => {
  const qinq = tcp({ encapsulation: '802.1ad' });
  assert.equal(matches(f('802.1Q', { vlanEthType: 'ip' }), qinq, NONE), false);
  assert.equal(matches(f('802.1ad', { vlanEthType: 'ip' }), qinq, NONE), false);
  assert.equal(matches(f('802.1ad', { vlanEthType: '802.1Q' }), qinq, NONE), true);
  assert.equal(matches(f('802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'ip' }), qinq, NONE), true);
  assert.equal(matches(f('802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'arp' }), qinq, NONE), false);
  assert.equal(matches(f('802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'arp' }), arp('802.1ad'), NONE), true);
});

test('vlan keys never match a frame without the tag', () => {
  assert.equal(matches(f('all', { vlanEthType: 'ip' }), tcp(), NONE), false);
  assert.equal(matches(f('all', { cvlanEthType: 'ip' }), tcp({ encapsulation: '802.1Q' }), NONE), false);
});

test('ct_state: listed flags must be as listed, unlisted flags are ignored', () => {
  const key = (ctState: string) => f('all', { ctState });
  const trkNew = ctBits('trk', 'new');
  const trkEst = ctBits('trk', 'est');
  const reply = ctBits('trk', 'est', 'rpl');
  const inv = ctBits('trk', 'inv');
  assert.equal(matches(key('+trk+new'), tcp(), trkNew), true);
  assert.equal(matches(key('+trk+new'), tcp(), trkEst), false);
  assert.equal(matches(key('+trk+est'), tcp(), reply), true, '+rpl is not in the mask');
  assert.equal(matches(key('+trk+est-rpl'), tcp(), reply), false);
  assert.equal(matches(key('+trk-est'), tcp(), trkNew), true);
  assert.equal(matches(key('+trk-est'), tcp(), inv), true);
  assert.equal(matches(key('-trk'), tcp(), NONE), true, 'a frame never sent to ct is -trk');
  assert.equal(matches(key('-trk'), tcp(), trkNew), false);
  assert.equal(matches(key('+trk'), tcp(), NONE), false);
  assert.equal(matches(key('+trk+new'), tcp(), inv), false);
});

test('ip_proto compares the L4 protocol and needs an IP frame', () => {
  assert.equal(matches(f('ip', { ipProto: 'tcp' }), tcp(), NONE), true);
  assert.equal(matches(f('ip', { ipProto: 'udp' }), tcp(), NONE), false);
  assert.equal(matches(f('all', { ipProto: 'tcp' }), arp(), NONE), false);
});

test('dst_port ranges are inclusive at both ends', () => {
  const range = f('ip', { ipProto: 'tcp', dstPort: { start: 5000, end: 5900 } });
  assert.equal(matches(range, tcp({ dstPort: 4999 }), NONE), false);
  assert.equal(matches(range, tcp({ dstPort: 5000 }), NONE), true);
  assert.equal(matches(range, tcp({ dstPort: 5900 }), NONE), true);
  assert.equal(matches(range, tcp({ dstPort: 5901 }), NONE), false);
  const single = f('ip', { dstPort: { start: 53, end: 53 } });
  assert.equal(matches(single, tcp({ l4: 'udp', dstPort: 53 }), NONE), true);
  assert.equal(matches(single, tcp({ l4: 'udp', dstPort: 54 }), NONE), false);
});

test('a key on a field the frame lacks does not match (dst_port on ICMP, type on TCP)', () => {
  const icmp: IpFrame = { encapsulation: 'untagged', ethertype: 'ip', src: '10.0.0.1', dst: '10.0.0.2', l4: 'icmp', icmpType: 8 };
  assert.equal(matches(f('ip', { dstPort: { start: 0, end: 65535 } }), icmp, NONE), false);
  assert.equal(matches(f('ip', { icmpType: 8 }), icmp, NONE), true);
  assert.equal(matches(f('ip', { icmpType: 0 }), icmp, NONE), false);
  assert.equal(matches(f('ip', { icmpType: 8 }), tcp(), NONE), false);
});

test('src_ip/dst_ip use CIDR containment and never match the other family', () => {
  assert.equal(matches(f('ip', { dstIp: '10.0.0.0/24' }), tcp(), NONE), true);
  assert.equal(matches(f('ip', { dstIp: '10.0.0.1/32' }), tcp(), NONE), false);
  assert.equal(matches(f('ip', { srcIp: '10.0.0.1/32' }), tcp(), NONE), true);
  assert.equal(matches(f('all', { dstIp: 'fd00::/64' }), tcp(), NONE), false);
  const v6 = tcp({ ethertype: 'ipv6', src: 'fd00::1', dst: 'fd00::2' });
  assert.equal(matches(f('ipv6', { dstIp: 'fd00::/64' }), v6, NONE), true);
  assert.equal(matches(f('ipv6', { dstIp: 'fd00::1/128' }), v6, NONE), false);
  assert.equal(matches(f('all', { dstIp: '0.0.0.0/0' }), v6, NONE), false);
  assert.equal(matches(f('all', { dstIp: '10.0.0.0/8' }), arp(), NONE), false);
});

test('indev matches only frames that entered through that port; a frame whose way in is unknown never matches it', () => {
  const fromA = f('all', { indev: 'repA' });
  assert.equal(matches(fromA, tcp(), NONE, 'repA'), true);
  assert.equal(matches(fromA, tcp(), NONE, 'repB'), false);
  assert.equal(matches(fromA, tcp(), NONE), false);
  assert.equal(matches(fromA, arp(), NONE, 'repA'), true, 'indev is not an IP key');
  assert.equal(matches(f('ip', {}), tcp(), NONE, 'repB'), true, 'a filter without indev matches whatever port');
  assert.equal(matches(f('ip', { indev: 'repA', dstIp: '10.0.0.2/32' }), tcp(), NONE, 'repA'), true);
  assert.equal(matches(f('ip', { indev: 'repA', dstIp: '10.0.0.9/32' }), tcp(), NONE, 'repA'), false);
});

test('dst_mac matches the frame destination MAC, in any letter case; a frame without one never matches', () => {
  const toPod = f('all', { dstMac: '02:00:00:00:00:0a' });
  assert.equal(matches(toPod, tcp({ dstMac: '02:00:00:00:00:0a' }), NONE), true);
  assert.equal(matches(toPod, tcp({ dstMac: '02:00:00:00:00:0A' }), NONE), true);
  assert.equal(matches(toPod, tcp({ dstMac: '02:00:00:00:00:0b' }), NONE), false);
  assert.equal(matches(toPod, tcp(), NONE), false, 'addressed to a station the program does not know');
  assert.equal(matches(toPod, { ...arp(), dstMac: '02:00:00:00:00:0a' }, NONE), true, 'dst_mac is an Ethernet key: every ethertype');
  assert.equal(matches(toPod, tcp({ srcMac: '02:00:00:00:00:0a' }), NONE), false, 'the source MAC is not the destination');
});
