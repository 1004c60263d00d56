// Plan ops and queries → rtnetlink requests. Pure. The attributes and their order are the
// ones iproute2 6.1's `tc` sends for the line the cmdline driver would run (captured with
// strace in the lab: test/golden/netlink/requests.json), so a filter installed by either
// driver is the same filter in the kernel, masks included (a replace needs equal masks).
//
//   filter add     RTM_NEWTFILTER REQUEST|EXCL|CREATE  tcmsg{ifindex, handle 0, parent hook, info pref<<16|proto}
//   filter replace RTM_NEWTFILTER REQUEST|CREATE       tcmsg{.., handle H, ..}
//   filter del     RTM_DELTFILTER REQUEST              tcmsg{.., handle H, ..}
//     TCA_CHAIN u32, TCA_KIND "flower", TCA_OPTIONS { keys, TCA_FLOWER_ACT { 1: {KIND, OPTIONS}, 2: ... },
//                                                    TCA_FLOWER_FLAGS 0, TCA_FLOWER_KEY_ETH_TYPE proto }
//   qdisc add/del  RTM_NEWQDISC REQUEST|EXCL|CREATE / RTM_DELQDISC  tcmsg{ifindex, ffff:, parent ffff:fff1}, TCA_KIND "clsact"
import type { PlanOp } from '../../core/model/plan.js';
import { canonicalCidr, parseCidr } from '../../core/model/cidr.js';
import type { EthProtocol, FlowerMatch, Hook, TcAction, TcFilter } from '../../core/model/tc.js';
import { canonicalCtState } from '../shared/canonical.js';
import { NlWriter } from './attr.js';
import {
  CT_ACT,
  CT_STATE_BITS,
  ETH_P,
  IFINFOMSG_LEN,
  IFLA_IFNAME,
  IPPROTO,
  NLM_F,
  RTM,
  TC_ACT,
  TC_GEN_LEN,
  TC_H,
  TCA,
  TCA_ACT,
  TCA_CT,
  TCA_FLOWER,
  TCA_GACT,
} from './constants.js';

export const hookParent = (hook: Hook): number => (hook === 'ingress' ? TC_H.MIN_INGRESS : TC_H.MIN_EGRESS);

/** tcm_info of a filter: the pref in the upper half, the ethertype in network order in the lower. */
export const filterInfo = (pref: number, protocol: EthProtocol): number => ((pref << 16) | swap16(ETH_P[protocol])) >>> 0;
const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >> 8);

/** Appends the request of one plan op. `ack`: ask for an ACK (errors are always answered). */
export function encodeOp(w: NlWriter, op: PlanOp, ifindex: number, seq: number, ack: boolean): void {
  const a = ack ? NLM_F.ACK : 0;
  switch (op.op) {
    case 'add-qdisc':
    case 'delete-qdisc': {
      const add = op.op === 'add-qdisc';
      const m = w.beginMessage(add ? RTM.NEWQDISC : RTM.DELQDISC, NLM_F.REQUEST | a | (add ? NLM_F.EXCL | NLM_F.CREATE : 0), seq);
      w.tcmsg(ifindex, TC_H.INGRESS_QDISC, TC_H.CLSACT, 0);
      w.string(TCA.KIND, 'clsact');
      w.endMessage(m);
      return;
    }
    case 'add':
      return encodeFilter(w, RTM.NEWTFILTER, NLM_F.REQUEST | a | NLM_F.EXCL | NLM_F.CREATE, op.filter, 0, ifindex, seq, true);
    case 'replace':
      return encodeFilter(w, RTM.NEWTFILTER, NLM_F.REQUEST | a | NLM_F.CREATE, op.filter, handle(op.filter.handle), ifindex, seq, true);
    case 'delete':
      return encodeFilter(w, RTM.DELTFILTER, NLM_F.REQUEST | a, op.filter, handle(op.filter.handle), ifindex, seq, false);
  }
}

/** A filter add with a chosen handle (rollback re-creates a deleted filter where it was). */
export function encodeAddWithHandle(w: NlWriter, f: TcFilter, h: number, ifindex: number, seq: number): void {
  encodeFilter(w, RTM.NEWTFILTER, NLM_F.REQUEST | NLM_F.ACK | NLM_F.EXCL | NLM_F.CREATE, f, handle(h), ifindex, seq, true);
}

function encodeFilter(w: NlWriter, type: number, flags: number, f: TcFilter, h: number, ifindex: number, seq: number, full: boolean): void {
  const m = w.beginMessage(type, flags, seq);
  w.tcmsg(ifindex, h, hookParent(f.hook), filterInfo(uint(f.pref, 0xffff, 'pref', 1), f.protocol));
  w.u32(TCA.CHAIN, uint(f.chain, 0xffffffff, 'chain'));
  w.string(TCA.KIND, 'flower');
  const o = w.beginNest(TCA.OPTIONS);
  if (full) {
    keys(w, f.match);
    actions(w, f.actions);
  }
  w.u32(TCA_FLOWER.FLAGS, 0);
  if (f.protocol !== 'all') w.be16(TCA_FLOWER.KEY_ETH_TYPE, ETH_P[f.protocol]);
  w.endNest(o);
  w.endMessage(m);
}

/** Keys in the order the cmdline driver writes them, which is the order tc sends them in. */
function keys(w: NlWriter, m: FlowerMatch): void {
  if (m.unrecognised !== undefined) bug(`an observed filter with unrecognised keys (${m.unrecognised}) can only be deleted`);
  if (m.vlanEthType !== undefined) w.be16(TCA_FLOWER.KEY_VLAN_ETH_TYPE, ETH_P[m.vlanEthType]);
  if (m.cvlanEthType !== undefined) w.be16(TCA_FLOWER.KEY_CVLAN_ETH_TYPE, ETH_P[m.cvlanEthType]);
  if (m.ctState !== undefined) {
    const { value, mask } = ctStateBits(m.ctState);
    w.u16(TCA_FLOWER.KEY_CT_STATE, value);
    w.u16(TCA_FLOWER.KEY_CT_STATE_MASK, mask);
  }
  if (m.ipProto !== undefined) w.u8(TCA_FLOWER.KEY_IP_PROTO, IPPROTO[m.ipProto]);
  if (m.srcIp !== undefined) address(w, m.srcIp, 'src');
  if (m.dstIp !== undefined) address(w, m.dstIp, 'dst');
  if (m.dstPort !== undefined) {
    const { start, end } = m.dstPort;
    uint(start, 0xffff, 'dst_port');
    uint(end, 0xffff, 'dst_port');
    if (end < start) bug(`dst_port range ${start}-${end} is reversed`);
    if (start === end) {
      const attr = m.ipProto === 'tcp' ? TCA_FLOWER.KEY_TCP_DST : m.ipProto === 'udp' ? TCA_FLOWER.KEY_UDP_DST : m.ipProto === 'sctp' ? TCA_FLOWER.KEY_SCTP_DST : bug('dst_port without ip_proto tcp, udp or sctp');
      w.be16(attr, start);
    } else {
      if (m.ipProto !== 'tcp' && m.ipProto !== 'udp' && m.ipProto !== 'sctp') bug('a dst_port range without ip_proto tcp, udp or sctp');
      w.be16(TCA_FLOWER.KEY_PORT_DST_MIN, start);
      w.be16(TCA_FLOWER.KEY_PORT_DST_MAX, end);
    }
  }
  if (m.icmpType !== undefined) {
    const v6 = m.ipProto === 'icmpv6';
    if (!v6 && m.ipProto !== 'icmp') bug('an ICMP type without ip_proto icmp or icmpv6');
    w.u8(v6 ? TCA_FLOWER.KEY_ICMPV6_TYPE : TCA_FLOWER.KEY_ICMPV4_TYPE, uint(m.icmpType, 255, 'type'));
    w.u8(v6 ? TCA_FLOWER.KEY_ICMPV6_TYPE_MASK : TCA_FLOWER.KEY_ICMPV4_TYPE_MASK, 0xff);
  }
}

/** `+trk+new-est` → the flags that must be set (value) and the flags looked at (mask). */
export function ctStateBits(state: string): { value: number; mask: number } {
  if (canonicalCtState(state) !== state) bug(`ct_state ${JSON.stringify(state)} is not in canonical form`);
  let value = 0;
  let mask = 0;
  for (const [, sign, name] of state.matchAll(/([+-])([a-z]+)/g)) {
    const bit = CT_STATE_BITS[name as keyof typeof CT_STATE_BITS];
    if (bit === undefined) bug(`ct_state ${JSON.stringify(state)} has an unknown flag ${name}`);
    mask |= bit;
    if (sign === '+') value |= bit;
  }
  if (state.replace(/[+-][a-z]+/g, '') !== '' || mask === 0) bug(`ct_state ${JSON.stringify(state)} is not (+|-)flag...`);
  return { value, mask };
}

function address(w: NlWriter, cidr: string, side: 'src' | 'dst'): void {
  const net = parseCidr(cidr);
  if (!net || canonicalCidr(cidr) !== cidr) bug(`${side}_ip ${JSON.stringify(cidr)} is not a canonical CIDR`);
  const bytes = net.family === 4 ? 4 : 16;
  const addr = bigBytes(net.addr, bytes);
  const mask = bigBytes(net.len === 0 ? 0n : ((1n << BigInt(net.len)) - 1n) << BigInt(bytes * 8 - net.len), bytes);
  const [a, m] =
    net.family === 4
      ? side === 'src' ? [TCA_FLOWER.KEY_IPV4_SRC, TCA_FLOWER.KEY_IPV4_SRC_MASK] : [TCA_FLOWER.KEY_IPV4_DST, TCA_FLOWER.KEY_IPV4_DST_MASK]
      : side === 'src' ? [TCA_FLOWER.KEY_IPV6_SRC, TCA_FLOWER.KEY_IPV6_SRC_MASK] : [TCA_FLOWER.KEY_IPV6_DST, TCA_FLOWER.KEY_IPV6_DST_MASK];
  w.bytes(a, addr);
  w.bytes(m, mask);
}

function bigBytes(v: bigint, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

function actions(w: NlWriter, list: readonly TcAction[]): void {
  if (list.length === 0) bug('a filter without actions');
  const act = w.beginNest(TCA_FLOWER.ACT);
  list.forEach((a, i) => {
    const one = w.beginNest(i + 1);
    if (a.kind === 'ct') {
      w.string(TCA_ACT.KIND, 'ct');
      const o = w.beginNest(TCA_ACT.OPTIONS, true);
      w.u16(TCA_CT.ZONE, uint(a.zone, 0xffff, 'ct zone'));
      w.u16(TCA_CT.ACTION, a.commit ? CT_ACT.COMMIT : 0);
      w.bytes(TCA_CT.PARMS, tcGen(TC_ACT.PIPE));
      w.endNest(o);
    } else {
      w.string(TCA_ACT.KIND, 'gact');
      const o = w.beginNest(TCA_ACT.OPTIONS, true);
      const verdict = a.kind === 'pass' ? TC_ACT.OK : a.kind === 'drop' ? TC_ACT.SHOT : (TC_ACT.GOTO_CHAIN | uint(a.chain, TC_ACT.EXT_VAL_MASK, 'goto chain')) >>> 0;
      w.bytes(TCA_GACT.PARMS, tcGen(verdict));
      w.endNest(o);
    }
    w.endNest(one);
  });
  w.endNest(act);
}

/** struct tc_gact / tc_ct with only the control action set. */
function tcGen(action: number): Buffer {
  const b = Buffer.alloc(TC_GEN_LEN);
  b.writeInt32LE(action | 0, 8);
  return b;
}

// ---- queries

/** RTM_GETLINK by name: the reply's ifinfomsg carries the ifindex. */
export function encodeGetLink(w: NlWriter, name: string, seq: number): void {
  const m = w.beginMessage(RTM.GETLINK, NLM_F.REQUEST, seq);
  w.raw(Buffer.alloc(IFINFOMSG_LEN));
  w.string(IFLA_IFNAME, name);
  w.endMessage(m);
}

/**
 * RTM_GETQDISC dump, as `tc qdisc show dev X` does: Linux 6.1 answers with the qdiscs of
 * every device (the reader keeps the device's own). A GET of ffff:fff1 would be O(1), but
 * the kernel answers a qdisc GET only with NLM_F_ECHO and multicasts it to every TC
 * listener as if the qdisc had just been created: a read must not look like a change.
 */
export function encodeDumpQdiscs(w: NlWriter, ifindex: number, seq: number): void {
  const m = w.beginMessage(RTM.GETQDISC, NLM_F.REQUEST | NLM_F.DUMP, seq);
  w.tcmsg(ifindex, 0, 0, 0);
  w.endMessage(m);
}

/** RTM_GETTFILTER dump of one hook, every chain (the kernel narrows it to one chain/pref/protocol when given). */
export function encodeDumpFilters(w: NlWriter, ifindex: number, hook: Hook, seq: number, only?: { chain: number; pref: number; protocol: EthProtocol }): void {
  const m = w.beginMessage(RTM.GETTFILTER, NLM_F.REQUEST | NLM_F.DUMP, seq);
  w.tcmsg(ifindex, 0, hookParent(hook), only ? filterInfo(only.pref, only.protocol) : 0);
  if (only) w.u32(TCA.CHAIN, only.chain);
  w.endMessage(m);
}

const handle = (h: number): number => uint(h, 0xffffffff, 'handle', 1);

function uint(n: number, max: number, what: string, min = 0): number {
  if (!Number.isInteger(n) || n < min || n > max) bug(`${what} ${n} is not an integer in ${min}..${max}`);
  return n;
}

function bug(problem: string): never {
  throw new Error(`netlink encode: ${problem}`);
}
