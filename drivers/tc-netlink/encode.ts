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
//
// A shared block (`block` given; test/golden/netlink/block.json):
//   filter ops     tcmsg{TCM_IFINDEX_MAGIC_BLOCK, handle, parent = block index, info}, the rest as above
//   bind           RTM_NEWQDISC REQUEST|EXCL|CREATE  tcmsg{port, ffff:, ffff:fff1}, TCA_KIND "clsact",
//                  TCA_INGRESS_BLOCK u32 (`qdisc add dev P ingress_block N clsact`)
//   flower indev   TCA_FLOWER_INDEV, a NUL-terminated name, the first key (where tc's line has it)
//   flower dst_mac TCA_FLOWER_KEY_ETH_DST + _MASK (all ones), right after indev
import type { PlanOp } from '../../core/model/plan.js';
import { canonicalCidr, parseCidr } from '../../core/model/cidr.js';
import { CT_FLAGS, type EthProtocol, type FlowerMatch, type Hook, type TcAction, type TcFilter } from '../../core/model/tc.js';
import { isValidIfname } from '../tc-cmdline/ifname.js';
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
  TCM_IFINDEX_MAGIC_BLOCK,
} from './constants.js';

export const hookParent = (hook: Hook): number => (hook === 'ingress' ? TC_H.MIN_INGRESS : TC_H.MIN_EGRESS);

/** tcm_info of a filter: the pref in the upper half, the ethertype in network order in the lower. */
export const filterInfo = (pref: number, protocol: EthProtocol): number => ((pref << 16) | swap16(ETH_P[protocol])) >>> 0;
const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >> 8);

/**
 * Appends the request of one plan op. `ack`: ask for an ACK (errors are always answered).
 * `block`: the target is that shared block: filter ops address it (their `ifindex` is
 * ignored), a bind binds the port `ifindex` to it, and qdisc ops are bugs.
 */
export function encodeOp(w: NlWriter, op: PlanOp, ifindex: number, seq: number, ack: boolean, block?: number): void {
  const a = ack ? NLM_F.ACK : 0;
  if (block !== undefined) blockIndex(block);
  switch (op.op) {
    case 'bind': {
      if (block === undefined) bug(`a bind of ${op.port} without a shared block`);
      const m = w.beginMessage(RTM.NEWQDISC, NLM_F.REQUEST | a | NLM_F.EXCL | NLM_F.CREATE, seq);
      w.tcmsg(ifindex, TC_H.INGRESS_QDISC, TC_H.CLSACT, 0);
      w.string(TCA.KIND, 'clsact');
      w.u32(TCA.INGRESS_BLOCK, block);
      w.endMessage(m);
      return;
    }
    case 'add-qdisc':
    case 'delete-qdisc': {
      if (block !== undefined) bug(`${op.op} on shared block ${block}: a block has no qdisc of its own, its ports are bound`);
      const add = op.op === 'add-qdisc';
      const m = w.beginMessage(add ? RTM.NEWQDISC : RTM.DELQDISC, NLM_F.REQUEST | a | (add ? NLM_F.EXCL | NLM_F.CREATE : 0), seq);
      w.tcmsg(ifindex, TC_H.INGRESS_QDISC, TC_H.CLSACT, 0);
      w.string(TCA.KIND, 'clsact');
      w.endMessage(m);
      return;
    }
    case 'add':
      return encodeFilter(w, RTM.NEWTFILTER, NLM_F.REQUEST | a | NLM_F.EXCL | NLM_F.CREATE, op.filter, 0, ifindex, seq, true, block);
    case 'replace':
      return encodeFilter(w, RTM.NEWTFILTER, NLM_F.REQUEST | a | NLM_F.CREATE, op.filter, handle(op.filter.handle), ifindex, seq, true, block);
    case 'delete':
      return encodeFilter(w, RTM.DELTFILTER, NLM_F.REQUEST | a, op.filter, handle(op.filter.handle), ifindex, seq, false, block);
  }
}

/** A filter add with a chosen handle (rollback re-creates a deleted filter where it was). */
export function encodeAddWithHandle(w: NlWriter, f: TcFilter, h: number, ifindex: number, seq: number, block?: number): void {
  encodeFilter(w, RTM.NEWTFILTER, NLM_F.REQUEST | NLM_F.ACK | NLM_F.EXCL | NLM_F.CREATE, f, handle(h), ifindex, seq, true, block);
}

/** tcm_ifindex and tcm_parent of a filter request: a device's hook, or a shared block (its filters sit on the ingress side). */
function filterPlace(hook: Hook, ifindex: number, block: number | undefined): [number, number] {
  if (block === undefined) return [ifindex, hookParent(hook)];
  if (hook !== 'ingress') bug(`an ${hook} filter on shared block ${block}: a block's filters are ingress filters`);
  return [TCM_IFINDEX_MAGIC_BLOCK, blockIndex(block)];
}

/** Block indexes are u32 and never 0 (tc and the kernel treat 0 as "no block"). */
const blockIndex = (b: number): number => uint(b, 0xffffffff, 'block index', 1);

function encodeFilter(w: NlWriter, type: number, flags: number, f: TcFilter, h: number, ifindex: number, seq: number, full: boolean, block: number | undefined): void {
  const m = w.beginMessage(type, flags, seq);
  const [idx, parent] = filterPlace(f.hook, ifindex, block);
  w.tcmsg(idx, h, parent, filterInfo(uint(f.pref, 0xffff, 'pref', 1), f.protocol));
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
  if (m.indev !== undefined) {
    // the kernel refuses a name of IFNAMSIZ or more; the rest is what tc's line could carry
    if (!isValidIfname(m.indev)) bug(`indev ${JSON.stringify(m.indev)} is not a valid interface name`);
    w.string(TCA_FLOWER.INDEV, m.indev);
  }
  if (m.dstMac !== undefined) {
    // tc writes the address and an all-ones mask for a plain `dst_mac A`
    w.bytes(TCA_FLOWER.KEY_ETH_DST, macBytes(m.dstMac));
    w.bytes(TCA_FLOWER.KEY_ETH_DST_MASK, Buffer.alloc(6, 0xff));
  }
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

/** `+trk+new-est` → the flags that must be set (value) and the flags looked at (mask); canonical text only. */
export function ctStateBits(state: string): { value: number; mask: number } {
  let value = 0;
  let mask = 0;
  let i = 0;
  while (i < state.length) {
    const sign = state[i];
    let j = i + 1;
    while (j < state.length && state[j] !== '+' && state[j] !== '-') j++;
    const bit = CT_STATE_BITS[state.slice(i + 1, j) as keyof typeof CT_STATE_BITS];
    if ((sign !== '+' && sign !== '-') || bit === undefined || (mask & bit) !== 0) bug(`ct_state ${JSON.stringify(state)} is not (+|-)flag...`);
    mask |= bit;
    if (sign === '+') value |= bit;
    i = j;
  }
  // canonical: set flags first, then cleared ones, each in CT_FLAGS order (what both readers produce)
  const canonical = CT_FLAGS.filter((f) => (value & CT_STATE_BITS[f]) !== 0).map((f) => `+${f}`).join('') + CT_FLAGS.filter((f) => (mask & ~value & CT_STATE_BITS[f]) !== 0).map((f) => `-${f}`).join('');
  if (mask === 0 || canonical !== state) bug(`ct_state ${JSON.stringify(state)} is not in canonical form`);
  return { value, mask };
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A canonical (lower-case, colon-separated) MAC address. */
function macBytes(mac: string): Buffer {
  if (!MAC.test(mac)) bug(`dst_mac ${JSON.stringify(mac)} is not a canonical MAC address`);
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

const V4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Address and mask bytes of a canonical CIDR (IPv4 without BigInt: programs hold thousands). */
function addressBytes(cidr: string, what: string): { addr: Buffer; mask: Buffer } {
  const v4 = V4_CIDR.exec(cidr);
  if (v4) {
    const octets = v4.slice(1, 5).map(Number);
    const len = Number(v4[5]);
    const a = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
    const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    // canonical: octets as written by formatIp, host bits clear
    if (len > 32 || octets.some((o, i) => o > 255 || `${o}` !== v4[i + 1]) || (a & ~m) >>> 0 !== 0) bug(`${what} ${JSON.stringify(cidr)} is not a canonical CIDR`);
    const addr = Buffer.alloc(4);
    const mask = Buffer.alloc(4);
    addr.writeUInt32BE(a);
    mask.writeUInt32BE(m);
    return { addr, mask };
  }
  const net = parseCidr(cidr);
  if (!net || net.family !== 6 || canonicalCidr(cidr) !== cidr) bug(`${what} ${JSON.stringify(cidr)} is not a canonical CIDR`);
  return { addr: bigBytes(net.addr, 16), mask: bigBytes(net.len === 0 ? 0n : ((1n << BigInt(net.len)) - 1n) << BigInt(128 - net.len), 16) };
}

function address(w: NlWriter, cidr: string, side: 'src' | 'dst'): void {
  const { addr, mask } = addressBytes(cidr, `${side}_ip`);
  const [a, m] =
    addr.length === 4
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

/**
 * RTM_GETTFILTER dump of one hook, or of a shared block (`block`; `ifindex` ignored), every
 * chain (the kernel narrows it to one chain/pref/protocol when given).
 */
export function encodeDumpFilters(w: NlWriter, ifindex: number, hook: Hook, seq: number, only?: { chain: number; pref: number; protocol: EthProtocol }, block?: number): void {
  const m = w.beginMessage(RTM.GETTFILTER, NLM_F.REQUEST | NLM_F.DUMP, seq);
  const [idx, parent] = filterPlace(hook, ifindex, block);
  w.tcmsg(idx, 0, parent, only ? filterInfo(only.pref, only.protocol) : 0);
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

// ---- a whole plan

export interface EncodedWindow {
  /** The window's requests, ifindex and sequence numbers still 0 (see stampWindow). */
  readonly buf: Buffer;
  /** Offset of each op's message in buf. */
  readonly starts: readonly number[];
}

/**
 * Every window of a plan encoded up front, so that a value the kernel must never see (a bug
 * upstream: it throws) stops the apply before the first request is sent. Only the last
 * request of a window asks for an ACK.
 */
export function encodeWindows(ops: readonly PlanOp[], windows: readonly { start: number; end: number }[], block?: number): EncodedWindow[] {
  return windows.map((win) => {
    const w = new NlWriter(192 * (win.end - win.start));
    const starts: number[] = [];
    for (let i = win.start; i < win.end; i++) {
      starts.push(w.length);
      encodeOp(w, ops[i]!, 0, 0, i === win.end - 1, block);
    }
    return { buf: w.finish(), starts };
  });
}

/**
 * Writes the device and the sequence numbers into an encoded window (in place): the port of a
 * bind, TCM_IFINDEX_MAGIC_BLOCK for the filters of a block.
 */
export function stampWindow(win: EncodedWindow, ifindex: number, seqs: readonly number[]): void {
  win.starts.forEach((start, k) => {
    win.buf.writeUInt32LE(seqs[k]! >>> 0, start + 8);
    win.buf.writeInt32LE(ifindex | 0, start + 16 + 4); // tcmsg.tcm_ifindex
  });
}
