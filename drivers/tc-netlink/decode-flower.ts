// TCA_OPTIONS of a flower filter → FlowerMatch and TcAction[], by the same rules the cmdline
// driver applies to `tc -j` (drivers/tc-cmdline/parse.ts), so both drivers read one kernel
// state as one canonical object. Pure; throws MalformedMessage on a field that does not fit.
//
//   - the values tc prints become the canonical fields; ETH_TYPE is derived (ignored);
//   - every other attribute is listed in `match.unrecognised` (`vlan_id=100`, `indev="rep2"`,
//     `dst_port=5000/fff8`: tc's key names and, where the lab showed them, tc's spellings);
//     a filter with one never equals a desired filter, so diff deletes it;
//   - an action list with anything `compile` does not emit (other kinds, ct nat/mark/force,
//     gact random or continue, a classid) reads as no actions: diff replaces it in place.
//
// Where tc prints something parse.ts rejects (a masked ICMP type) this reader lists it as
// unrecognised instead of failing the whole observe.
import { formatIp } from '../../core/model/cidr.js';
import type { FlowerMatch, InnerEthType, IpProto, TcAction } from '../../core/model/tc.js';
import { canonicalCidr, canonicalCtState } from '../shared/canonical.js';
import { attrMap, getBe16, getBytes, getI32, getString, getU16, getU32, getU8, MalformedMessage, readAttrs } from './attr.js';
import { CT_ACT, CT_STATE_BITS, ETH_P, IPPROTO, KEY_FLAGS, TC_ACT, TCA_ACT, TCA_CT, TCA_FLOWER as F, TCA_GACT } from './constants.js';

export interface FlowerOptions {
  readonly match: FlowerMatch;
  readonly actions: TcAction[];
  /** TCA_CLS_FLAGS_IN_HW / NOT_IN_HW, when the kernel says. */
  readonly inHw?: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Attributes that describe the filter without being keys (flags, offload count) or are derived (ETH_TYPE). */
const INFORMATIONAL = new Set<number>([F.ACT, F.FLAGS, F.IN_HW_COUNT, F.KEY_ETH_TYPE, F.CLASSID]);

export function decodeFlowerOptions(o: Map<number, Buffer>): FlowerOptions {
  const unrecognised: string[] = [];
  const used = new Set<number>(INFORMATIONAL);
  const take = (type: number): Buffer | undefined => {
    used.add(type);
    return o.get(type);
  };
  const other = (name: string, value: string): void => void unrecognised.push(`${name}=${value}`);
  const m: Mutable<FlowerMatch> = {};

  const indev = take(F.INDEV);
  if (indev) other('indev', JSON.stringify(getString(indev)));

  // encapsulation
  const vlanType = take(F.KEY_VLAN_ETH_TYPE);
  if (vlanType) {
    const t = innerType(getBe16(vlanType, 'vlan_ethtype'));
    if (t !== undefined) m.vlanEthType = t;
    else other('vlan_ethtype', JSON.stringify(ethName(getBe16(vlanType, 'vlan_ethtype'))));
  }
  const cvlanType = take(F.KEY_CVLAN_ETH_TYPE);
  if (cvlanType) {
    const t = innerType(getBe16(cvlanType, 'cvlan_ethtype'));
    if (t !== undefined && t !== '802.1Q') m.cvlanEthType = t;
    else other('cvlan_ethtype', JSON.stringify(ethName(getBe16(cvlanType, 'cvlan_ethtype'))));
  }
  for (const [type, name] of [[F.KEY_VLAN_ID, 'vlan_id'], [F.KEY_CVLAN_ID, 'cvlan_id']] as const) {
    const v = take(type);
    if (v) other(name, `${getU16(v, name) & 0xfff}`);
  }
  for (const [type, name] of [[F.KEY_VLAN_PRIO, 'vlan_prio'], [F.KEY_CVLAN_PRIO, 'cvlan_prio']] as const) {
    const v = take(type);
    if (v) other(name, `${getU8(v, name)}`);
  }

  // ip_proto
  const protoAttr = take(F.KEY_IP_PROTO);
  const proto = protoAttr ? getU8(protoAttr, 'ip_proto') : undefined;
  if (proto !== undefined) {
    const name = (Object.keys(IPPROTO) as IpProto[]).find((k) => IPPROTO[k] === proto);
    if (name) m.ipProto = name;
    else other('ip_proto', JSON.stringify(proto.toString(16).padStart(2, '0'))); // tc prints (and parses) other protocols in hex
  }

  // addresses: either family, as tc prints them, then the canonical CIDR parse.ts makes of that
  for (const side of ['src', 'dst'] as const) {
    const v4: [number, number] = side === 'src' ? [F.KEY_IPV4_SRC, F.KEY_IPV4_SRC_MASK] : [F.KEY_IPV4_DST, F.KEY_IPV4_DST_MASK];
    const v6: [number, number] = side === 'src' ? [F.KEY_IPV6_SRC, F.KEY_IPV6_SRC_MASK] : [F.KEY_IPV6_DST, F.KEY_IPV6_DST_MASK];
    const found: string[] = [];
    for (const [[a, mk], len] of [[v4, 4], [v6, 16]] as const) {
      const addr = take(a);
      const mask = take(mk);
      if (addr) found.push(addressText(getBytes(addr, len, `${side}_ip`), mask ? getBytes(mask, len, `${side}_ip mask`) : undefined));
    }
    if (found.length === 0) continue;
    const cidr = found.length === 1 ? canonicalCidr(found[0]!) : undefined;
    if (cidr !== undefined) {
      if (side === 'src') m.srcIp = cidr;
      else m.dstIp = cidr;
    } else for (const text of found) other(`${side}_ip`, JSON.stringify(text));
  }

  // ports: the attributes of the filter's ip_proto, as tc reads them
  const ports = proto === IPPROTO.tcp ? [F.KEY_TCP_DST, F.KEY_TCP_DST_MASK, F.KEY_TCP_SRC, F.KEY_TCP_SRC_MASK] : proto === IPPROTO.udp ? [F.KEY_UDP_DST, F.KEY_UDP_DST_MASK, F.KEY_UDP_SRC, F.KEY_UDP_SRC_MASK] : proto === IPPROTO.sctp ? [F.KEY_SCTP_DST, F.KEY_SCTP_DST_MASK, F.KEY_SCTP_SRC, F.KEY_SCTP_SRC_MASK] : undefined;
  if (ports) {
    const [dst, dstMask, src, srcMask] = ports as [number, number, number, number];
    const single = (v: number, mk: number): { port: number; mask: number } | undefined => {
      const p = take(v);
      const k = take(mk);
      return p ? { port: getBe16(p, 'port'), mask: k ? getBe16(k, 'port mask') : 0xffff } : undefined;
    };
    const range = (lo: number, hi: number): { start: number; end: number } | undefined => {
      const a = take(lo);
      const b = take(hi);
      return a && b ? { start: getBe16(a, 'port range min'), end: getBe16(b, 'port range max') } : undefined;
    };
    const d = single(dst, dstMask);
    const dr = range(F.KEY_PORT_DST_MIN, F.KEY_PORT_DST_MAX);
    if (d && dr) other('dst_port', JSON.stringify({ port: d.port, mask: d.mask, ...dr }));
    else if (d && d.mask === 0xffff) m.dstPort = { start: d.port, end: d.port };
    else if (d) other('dst_port', `${d.port}/${d.mask.toString(16)}`);
    else if (dr && dr.start <= dr.end) m.dstPort = dr;
    else if (dr) other('dst_port', JSON.stringify(dr));
    const s = single(src, srcMask);
    if (s) other('src_port', s.mask === 0xffff ? `${s.port}` : `${s.port}/${s.mask.toString(16)}`);
    const sr = range(F.KEY_PORT_SRC_MIN, F.KEY_PORT_SRC_MAX);
    if (sr) other('src_port', JSON.stringify(sr));
  }

  // ICMP: the attributes of the filter's ICMP family
  const icmp = proto === IPPROTO.icmp ? [F.KEY_ICMPV4_TYPE, F.KEY_ICMPV4_TYPE_MASK, F.KEY_ICMPV4_CODE, F.KEY_ICMPV4_CODE_MASK] : proto === IPPROTO.icmpv6 ? [F.KEY_ICMPV6_TYPE, F.KEY_ICMPV6_TYPE_MASK, F.KEY_ICMPV6_CODE, F.KEY_ICMPV6_CODE_MASK] : undefined;
  if (icmp) {
    const [t, tm, c, cm] = icmp as [number, number, number, number];
    const masked = (v: number, mk: number, name: string): { value: number; mask: number } | undefined => {
      const a = take(v);
      const k = take(mk);
      return a ? { value: getU8(a, name), mask: k ? getU8(k, `${name} mask`) : 0xff } : undefined;
    };
    const type = masked(t, tm, 'icmp_type');
    if (type && type.mask === 0xff) m.icmpType = type.value;
    else if (type) other('icmp_type', JSON.stringify(`${type.value}/${type.mask}`));
    const code = masked(c, cm, 'icmp_code');
    if (code) other('icmp_code', JSON.stringify(code.mask === 0xff ? `${code.value}` : `${code.value}/${code.mask}`));
  }

  // conntrack
  const ctState = take(F.KEY_CT_STATE);
  const ctMask = take(F.KEY_CT_STATE_MASK);
  if (ctState) {
    const value = getU16(ctState, 'ct_state');
    const mask = ctMask ? getU16(ctMask, 'ct_state mask') : 0xffff;
    // tc's order; canonicalCtState reorders exactly as parse.ts does
    const text = (['trk', 'new', 'est', 'rel', 'inv', 'rpl'] as const)
      .filter((n) => (mask & CT_STATE_BITS[n]) !== 0)
      .map((n) => `${(value & CT_STATE_BITS[n]) !== 0 ? '+' : '-'}${n}`)
      .join('');
    const known = Object.values(CT_STATE_BITS).reduce((a, b) => a | b, 0);
    const canon = (mask & ~known) === 0 ? canonicalCtState(text) : undefined;
    if (canon !== undefined) m.ctState = canon;
    else other('ct_state', JSON.stringify(`${text}/0x${mask.toString(16)}`));
  }
  const zone = take(F.KEY_CT_ZONE);
  const zoneMask = take(F.KEY_CT_ZONE_MASK);
  if (zone) {
    const z = getU16(zone, 'ct_zone');
    const zm = zoneMask ? getU16(zoneMask, 'ct_zone mask') : 0xffff;
    other('ct_zone', zm === 0xffff ? `${z}` : JSON.stringify(`${z}/0x${zm.toString(16)}`));
  }

  // matching flags (ip_flags frag / firstfrag)
  const flags = take(F.KEY_FLAGS);
  const flagsMask = take(F.KEY_FLAGS_MASK);
  if (flags) {
    const v = getBe32(flags, 'ip_flags');
    const mk = flagsMask ? getBe32(flagsMask, 'ip_flags mask') : 0xffffffff;
    const named: Record<string, boolean> = {};
    for (const [name, bit] of Object.entries(KEY_FLAGS)) if ((mk & bit) !== 0) named[name] = (v & bit) !== 0;
    const rest = mk & ~Object.values(KEY_FLAGS).reduce((a, b) => a | b, 0);
    if (rest !== 0) named[`0x${rest.toString(16)}`] = (v & rest) !== 0;
    other('ip_flags', JSON.stringify(named));
  }

  // MAC addresses, ip_tos / ip_ttl, as tc prints them
  for (const [type, maskType, name] of [[F.KEY_ETH_DST, F.KEY_ETH_DST_MASK, 'dst_mac'], [F.KEY_ETH_SRC, F.KEY_ETH_SRC_MASK, 'src_mac']] as const) {
    const v = take(type);
    const k = take(maskType);
    if (!v) continue;
    const mac = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
    other(name, JSON.stringify(!k || k.every((x) => x === 0xff) ? mac(v) : `${mac(v)}/${mac(k)}`));
  }
  for (const [type, maskType, name] of [[F.KEY_IP_TOS, F.KEY_IP_TOS_MASK, 'ip_tos'], [F.KEY_IP_TTL, F.KEY_IP_TTL_MASK, 'ip_ttl']] as const) {
    const v = take(type);
    const k = take(maskType);
    if (!v) continue;
    const mask = k ? getU8(k, `${name} mask`) : 0xff;
    other(name, mask === 0xff ? `${getU8(v, name)}` : JSON.stringify(`${getU8(v, name)}/${mask}`));
  }

  // everything else: tc's name where there is one, the raw bytes
  for (const [type, value] of o) {
    if (used.has(type)) continue;
    other(KEY_NAMES[type] ?? `key${type}`, `0x${value.toString('hex')}`);
  }

  const classid = o.has(F.CLASSID);
  const actionsAttr = o.get(F.ACT);
  const actions = actionsAttr ? decodeActions(actionsAttr) : [];
  const flagBits = o.get(F.FLAGS);
  const f = flagBits ? getU32(flagBits, 'flags') : undefined;
  const inHw = f === undefined ? undefined : (f & 4) !== 0 ? true : (f & 8) !== 0 ? false : undefined;
  const match: FlowerMatch = unrecognised.length > 0 ? { ...m, unrecognised: unrecognised.sort().join(',') } : m;
  // a classid is not part of the kernel's mask: a replace by handle drops it, so it counts with the actions
  return { match, actions: classid ? [] : actions, ...(inHw === undefined ? {} : { inHw }) };
}

const getBe32 = (v: Buffer, what: string): number => getBytes(v, 4, what).readUInt32BE(0);

const INNER: readonly InnerEthType[] = ['ip', 'ipv6', 'arp', '802.1Q'];
const innerType = (ethertype: number): InnerEthType | undefined => INNER.find((t) => ETH_P[t] === ethertype);

/** tc's name of an ethertype (ll_proto_n2a for the ones it knows), else 0xNNNN. */
export function ethName(ethertype: number): string {
  const known = (Object.keys(ETH_P) as (keyof typeof ETH_P)[]).find((k) => ETH_P[k] === ethertype);
  return known ?? `0x${ethertype.toString(16).padStart(4, '0')}`;
}

/** An address and its mask as tc prints them: bare for a host mask, /len for a prefix, /mask otherwise. */
function addressText(addr: Buffer, mask: Buffer | undefined): string {
  const family = addr.length === 4 ? 4 : 6;
  const big = (b: Buffer): bigint => b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
  const a = formatIp(family, big(addr));
  if (!mask) return a;
  const bits = addr.length * 8;
  const mv = big(mask);
  let len = 0;
  while (len < bits && ((mv >> BigInt(bits - 1 - len)) & 1n) === 1n) len++;
  const isPrefix = len === bits || (mv & ((1n << BigInt(bits - len)) - 1n)) === 0n;
  if (!isPrefix) return `${a}/${formatIp(family, mv)}`;
  return len === bits ? a : `${a}/${len}`;
}

/** tc's names of the flower keys the agent never emits (for readable `unrecognised` text). */
const KEY_NAMES: Readonly<Record<number, string>> = {
  [F.KEY_CT_MARK]: 'ct_mark',
  [F.KEY_CT_MARK_MASK]: 'ct_mark_mask',
  [F.KEY_CT_LABELS]: 'ct_label',
  [F.KEY_CT_LABELS_MASK]: 'ct_label_mask',
};

// ---- actions

/** TCA_FLOWER_ACT: nested actions, each at its order; [] when any of them is not one compile emits. */
export function decodeActions(buf: Buffer): TcAction[] {
  const list = readAttrs(buf, 'actions').sort((a, b) => a.type - b.type);
  const out: TcAction[] = [];
  let usable = true;
  for (const [i, a] of list.entries()) {
    const attrs = attrMap(a.value, `action ${a.type}`);
    const kind = attrs.get(TCA_ACT.KIND);
    if (!kind) throw new MalformedMessage(`actions[${i}] (order ${a.type}) has no kind`);
    const options = attrs.get(TCA_ACT.OPTIONS);
    const action = options ? decodeAction(getString(kind), attrMap(options, `action ${a.type} options`)) : undefined;
    if (action === undefined) usable = false;
    else out.push(action);
  }
  return usable ? out : [];
}

function decodeAction(kind: string, o: Map<number, Buffer>): TcAction | undefined {
  if (kind === 'gact') {
    const prob = o.get(TCA_GACT.PROB);
    if (prob && getU16(prob, 'gact prob type') !== 0) return undefined; // random
    const parms = o.get(TCA_GACT.PARMS);
    if (!parms) return undefined;
    const v = getI32(getBytes(parms, 20, 'tc_gact').subarray(8), 'gact action') >>> 0;
    if (v === TC_ACT.OK) return { kind: 'pass' };
    if (v === TC_ACT.SHOT) return { kind: 'drop' };
    if ((v & TC_ACT.EXT_OPCODE_MASK) >>> 0 === TC_ACT.GOTO_CHAIN) return { kind: 'goto', chain: v & TC_ACT.EXT_VAL_MASK };
    return undefined; // continue, reclassify, pipe, jump, ...
  }
  if (kind === 'ct') {
    const parms = o.get(TCA_CT.PARMS);
    if (!parms || getI32(getBytes(parms, 20, 'tc_ct').subarray(8), 'ct action') !== TC_ACT.PIPE) return undefined;
    for (const type of o.keys()) if (![TCA_CT.PARMS, TCA_CT.TM, TCA_CT.ACTION, TCA_CT.ZONE, TCA_CT.PAD].includes(type as 1)) return undefined; // mark, labels, nat, helper
    const flags = o.get(TCA_CT.ACTION);
    const f = flags ? getU16(flags, 'ct flags') : 0;
    if ((f & ~CT_ACT.COMMIT) !== 0) return undefined; // force, clear, nat
    const zone = o.get(TCA_CT.ZONE);
    return { kind: 'ct', zone: zone ? getU16(zone, 'ct zone') : 0, commit: (f & CT_ACT.COMMIT) !== 0 };
  }
  return undefined;
}
