// Plan ops → netlink requests, byte for byte what iproute2 6.1's tc sends for the same line
// (captured with strace in the lab: test/golden/netlink/requests.json). Equal bytes mean a
// filter installed by either driver has the same keys and masks in the kernel, so each
// driver can replace (same mask required) and delete what the other installed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlanOp } from '../../../core/model/plan.js';
import type { TcFilter } from '../../../core/model/tc.js';
import { toBatchLines } from '../../../drivers/tc-cmdline/batch.js';
import { NlWriter } from '../../../drivers/tc-netlink/attr.js';
import { NLM_F, RTM } from '../../../drivers/tc-netlink/constants.js';
import { ctStateBits, encodeDumpFilters, encodeGetLink, encodeOp, filterInfo, hookParent } from '../../../drivers/tc-netlink/encode.js';
import { splitMessages } from '../../../drivers/tc-netlink/message.js';
import { requests } from './golden.js';

const encode = (op: PlanOp, ifindex: number, seq: number, ack: boolean): Buffer => {
  const w = new NlWriter(16);
  encodeOp(w, op, ifindex, seq, ack);
  return w.finish();
};

test('every captured tc request (139 lines: every key, action and op kind, compiled programs) is what the encoder writes', () => {
  const all = requests();
  assert.ok(all.length >= 130, `${all.length} vectors`);
  const kinds = new Set<string>();
  for (const r of all) {
    const tc = Buffer.from(r.request, 'hex');
    assert.equal(r.line, toBatchLines({ name: r.line.split(' ')[3]! }, { ops: [r.op] })[0], 'the vector is still the line the cmdline driver writes');
    // tc asks for an ACK on every request; the driver only on the last of a window
    const ours = encode(r.op, r.ifindex, tc.readUInt32LE(8), true);
    assert.equal(ours.toString('hex'), tc.toString('hex'), r.line);
    assert.equal(encode(r.op, r.ifindex, 1, false).readUInt16LE(6), tc.readUInt16LE(6) & ~NLM_F.ACK);
    kinds.add(r.op.op);
  }
  assert.deepEqual([...kinds].sort(), ['add', 'add-qdisc', 'delete', 'delete-qdisc', 'replace']);
});

test('the vectors cover every key and action shape the model has', () => {
  const filters = requests().flatMap((r) => ('filter' in r.op ? [r.op.filter as TcFilter] : []));
  const has = (p: (f: TcFilter) => boolean, what: string) => assert.ok(filters.some(p), what);
  has((f) => f.match.cvlanEthType === 'ipv6', 'cvlan_ethtype ipv6');
  has((f) => f.match.vlanEthType === 'arp', 'vlan_ethtype arp');
  has((f) => f.match.ipProto === 'sctp' && f.match.dstPort !== undefined && f.match.dstPort.start !== f.match.dstPort.end, 'sctp port range');
  has((f) => f.match.ipProto === 'udp' && f.match.dstPort?.start === f.match.dstPort?.end, 'udp single port');
  has((f) => f.match.ipProto === 'icmp' && f.match.icmpType !== undefined, 'icmp type');
  has((f) => f.match.ipProto === 'icmpv6' && f.match.icmpType === 136, 'icmpv6 type');
  has((f) => (f.match.srcIp ?? '').includes(':') && (f.match.dstIp ?? '') === '', 'ipv6 src');
  has((f) => (f.match.ctState ?? '').includes('-'), 'ct_state with cleared flags');
  has((f) => f.actions.some((a) => a.kind === 'ct' && !a.commit && a.zone === 65535), 'ct without commit, zone 65535');
  has((f) => f.actions.some((a) => a.kind === 'goto' && a.chain === 10999), 'goto chain');
  has((f) => f.protocol === 'all' && Object.keys(f.match).length === 0, 'protocol all, no keys');
});

test('tcm_info: pref in the upper 16 bits, ethertype in network byte order in the lower; hook parents ffff:fff2/fff3', () => {
  assert.equal(filterInfo(2, 'ip'), 0x00020008);
  assert.equal(filterInfo(10005, 'all'), (10005 << 16) | 0x0300);
  assert.equal(filterInfo(5, '802.1ad'), 0x0005a888);
  assert.deepEqual([hookParent('ingress'), hookParent('egress')], [0xfffffff2, 0xfffffff3]);
});

test('ct_state: set flags are value and mask, cleared flags only mask', () => {
  assert.deepEqual(ctStateBits('+trk+new'), { value: 9, mask: 9 });
  assert.deepEqual(ctStateBits('+trk-new-inv'), { value: 8, mask: 8 | 1 | 16 });
});

test('queries: RTM_GETLINK by name; a filter dump of one hook, narrowed to a chain/pref/protocol when asked', () => {
  const w = new NlWriter();
  encodeGetLink(w, 'rep1', 5);
  const [link] = splitMessages(w.finish());
  assert.deepEqual([link!.type, link!.flags, link!.seq, link!.payload.subarray(16).toString('hex')], [RTM.GETLINK, NLM_F.REQUEST, 5, '090003007265703100000000']);
  const d = new NlWriter();
  encodeDumpFilters(d, 3, 'egress', 6, { chain: 10001, pref: 2, protocol: 'ip' });
  const [dump] = splitMessages(d.finish());
  assert.deepEqual([dump!.type, dump!.flags, dump!.payload.readUInt32LE(12), dump!.payload.readUInt32LE(16), dump!.payload.subarray(20).toString('hex')], [RTM.GETTFILTER, NLM_F.REQUEST | NLM_F.DUMP, 0xfffffff3, 0x00020008, '08000b0011270000']);
});

test('values that are not canonical, or that tc would refuse, are bugs upstream: thrown, never sent', () => {
  const base: TcFilter = { hook: 'ingress', chain: 10000, pref: 2, protocol: 'ip', match: {}, actions: [{ kind: 'pass' }] };
  const bad = (filter: TcFilter, re: RegExp) => assert.throws(() => encode({ op: 'add', filter }, 1, 1, true), re);
  bad({ ...base, match: { dstIp: '10.0.0.1/24' } }, /dst_ip "10.0.0.1\/24" is not a canonical CIDR/);
  bad({ ...base, match: { ctState: '+new+trk' } }, /ct_state "\+new\+trk" is not in canonical form/);
  bad({ ...base, match: { ipProto: 'tcp', dstPort: { start: 90, end: 80 } } }, /dst_port range 90-80 is reversed/);
  bad({ ...base, match: { dstPort: { start: 80, end: 80 } } }, /dst_port without ip_proto/);
  bad({ ...base, match: { icmpType: 8 } }, /ICMP type without ip_proto/);
  bad({ ...base, match: { unrecognised: 'vlan_id=1' } }, /can only be deleted/);
  bad({ ...base, actions: [] }, /a filter without actions/);
  bad({ ...base, pref: 0 }, /pref 0 is not an integer in 1..65535/);
  assert.throws(() => encode({ op: 'delete', filter: { ...base, handle: 0 } }, 1, 1, true), /handle 0/);
});
