// TCA_OPTIONS of a flower filter → FlowerMatch and TcAction[], by the same rules the cmdline
// driver applies to `tc -j` (drivers/tc-cmdline/parse.ts), so both drivers read one kernel
// state as one canonical object. Pure; throws MalformedMessage on a field that does not fit.
//
//   - the values tc prints become the canonical fields; ETH_TYPE is derived (ignored);
//   - every other attribute is listed in `match.unrecognised` (`vlan_id=100`,
//     `dst_port=5000/fff8`: tc's key names and tc's spellings, checked against lab captures);
//     a filter with one never equals a desired filter, so diff deletes it;
//   - an action list with anything `compile` does not emit (other kinds, ct nat/mark/force,
//     gact random or continue, a classid) reads as no actions: diff replaces it in place.
//
// Where tc prints something parse.ts rejects (a masked ICMP type) this reader lists it as
// unrecognised instead of failing the whole observe. Attributes are read in place
// (AttrIndex): a dump of 10 000 filters is decoded on the agent's only thread.
import { formatIp } from '../../core/model/cidr.js';
import type { FlowerMatch, InnerEthType, IpProto, TcAction } from '../../core/model/tc.js';
import { canonicalCidr } from '../shared/canonical.js';
import { isValidIfname } from '../tc-cmdline/ifname.js';
import { AttrIndex, MalformedMessage } from './attr.js';
import { CT_ACT, CT_STATE_BITS, ETH_P, IPPROTO, KEY_FLAGS, TC_ACT, TC_GEN_LEN, TCA_ACT, TCA_CT, TCA_FLOWER as F, TCA_GACT } from './constants.js';

export interface FlowerOptions {
  readonly match: FlowerMatch;
  readonly actions: TcAction[];
  /** TCA_CLS_FLAGS_IN_HW / NOT_IN_HW, when the kernel says. */
  readonly inHw?: boolean;
}

/** Reusable indexes for the nests of one filter (one set per dump decode). */
export class FlowerScratch {
  readonly actions = new AttrIndex();
  readonly action = new AttrIndex();
  readonly actionOptions = new AttrIndex();
  readonly used = new Uint8Array(128);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Attributes that describe the filter without being keys (flags, offload count) or are derived (ETH_TYPE). */
const INFORMATIONAL = [F.ACT, F.FLAGS, F.IN_HW_COUNT, F.KEY_ETH_TYPE, F.CLASSID];
const IP_PROTO_NAME = new Map<number, IpProto>((Object.keys(IPPROTO) as IpProto[]).map((k) => [IPPROTO[k], k]));
const INNER = new Map<number, InnerEthType>((['ip', 'ipv6', 'arp', '802.1Q'] as const).map((t) => [ETH_P[t], t]));
/** tc's order of the ct_state flags, and the canonical one (CtState: set flags, then cleared, in CT_FLAGS order). */
const CT_CANONICAL = (['trk', 'new', 'est', 'rel', 'rpl', 'inv'] as const).map((n) => [n, CT_STATE_BITS[n]] as const);
const CT_KNOWN = Object.values(CT_STATE_BITS).reduce((a, b) => a | b, 0);
const KEY_FLAGS_KNOWN = Object.values(KEY_FLAGS).reduce((a, b) => a | b, 0);
const PORTS: Readonly<Record<number, readonly [number, number, number, number]>> = {
  [IPPROTO.tcp]: [F.KEY_TCP_DST, F.KEY_TCP_DST_MASK, F.KEY_TCP_SRC, F.KEY_TCP_SRC_MASK],
  [IPPROTO.udp]: [F.KEY_UDP_DST, F.KEY_UDP_DST_MASK, F.KEY_UDP_SRC, F.KEY_UDP_SRC_MASK],
  [IPPROTO.sctp]: [F.KEY_SCTP_DST, F.KEY_SCTP_DST_MASK, F.KEY_SCTP_SRC, F.KEY_SCTP_SRC_MASK],
};
const ICMP: Readonly<Record<number, readonly [number, number, number, number]>> = {
  [IPPROTO.icmp]: [F.KEY_ICMPV4_TYPE, F.KEY_ICMPV4_TYPE_MASK, F.KEY_ICMPV4_CODE, F.KEY_ICMPV4_CODE_MASK],
  [IPPROTO.icmpv6]: [F.KEY_ICMPV6_TYPE, F.KEY_ICMPV6_TYPE_MASK, F.KEY_ICMPV6_CODE, F.KEY_ICMPV6_CODE_MASK],
};

/** The options of one flower filter (`o` holds its TCA_OPTIONS). */
export function decodeFlowerOptions(o: AttrIndex, s: FlowerScratch = new FlowerScratch()): FlowerOptions {
  const used = s.used;
  used.fill(0);
  for (const t of INFORMATIONAL) used[t] = 1;
  const unrecognised: string[] = [];
  const m: Mutable<FlowerMatch> = {};

  // indev: the port a frame entered a shared block through. The kernel keeps its ifindex and
  // dumps that device's current name (nothing once the device is gone: see the lab goldens)
  // A name tc could not print back into a batch line (the kernel's rule is looser than
  // isValidIfname's) is nothing the agent installed: unrecognised, as parse.ts does.
  if (taken(o, used, F.INDEV)) {
    const name = o.string(F.INDEV)!;
    if (isValidIfname(name)) m.indev = name;
    else unrecognised.push(`indev=${JSON.stringify(name)}`);
  }

  // encapsulation
  if (taken(o, used, F.KEY_VLAN_ETH_TYPE)) {
    const v = o.be16(F.KEY_VLAN_ETH_TYPE, 'vlan_ethtype')!;
    const t = INNER.get(v);
    if (t !== undefined) m.vlanEthType = t;
    else unrecognised.push(`vlan_ethtype=${JSON.stringify(ethName(v))}`);
  }
  if (taken(o, used, F.KEY_CVLAN_ETH_TYPE)) {
    const v = o.be16(F.KEY_CVLAN_ETH_TYPE, 'cvlan_ethtype')!;
    const t = INNER.get(v);
    if (t !== undefined && t !== '802.1Q') m.cvlanEthType = t;
    else unrecognised.push(`cvlan_ethtype=${JSON.stringify(ethName(v))}`);
  }
  if (taken(o, used, F.KEY_VLAN_ID)) unrecognised.push(`vlan_id=${o.u16(F.KEY_VLAN_ID, 'vlan_id')! & 0xfff}`);
  if (taken(o, used, F.KEY_CVLAN_ID)) unrecognised.push(`cvlan_id=${o.u16(F.KEY_CVLAN_ID, 'cvlan_id')! & 0xfff}`);
  if (taken(o, used, F.KEY_VLAN_PRIO)) unrecognised.push(`vlan_prio=${o.u8(F.KEY_VLAN_PRIO, 'vlan_prio')}`);
  if (taken(o, used, F.KEY_CVLAN_PRIO)) unrecognised.push(`cvlan_prio=${o.u8(F.KEY_CVLAN_PRIO, 'cvlan_prio')}`);

  // ip_proto; tc prints (and parses) the ones it has no name for in hex
  const proto = taken(o, used, F.KEY_IP_PROTO) ? o.u8(F.KEY_IP_PROTO, 'ip_proto')! : undefined;
  if (proto !== undefined) {
    const name = IP_PROTO_NAME.get(proto);
    if (name) m.ipProto = name;
    else unrecognised.push(`ip_proto=${JSON.stringify(proto.toString(16).padStart(2, '0'))}`);
  }

  // addresses, either family, as the canonical CIDR parse.ts makes of tc's text
  address(o, used, 'src', F.KEY_IPV4_SRC, F.KEY_IPV4_SRC_MASK, F.KEY_IPV6_SRC, F.KEY_IPV6_SRC_MASK, m, unrecognised);
  address(o, used, 'dst', F.KEY_IPV4_DST, F.KEY_IPV4_DST_MASK, F.KEY_IPV6_DST, F.KEY_IPV6_DST_MASK, m, unrecognised);

  // ports: the attributes of the filter's ip_proto, as tc reads them
  const ports = proto === undefined ? undefined : PORTS[proto];
  if (ports) {
    const [dst, dstMask, src, srcMask] = ports;
    used[dst] = used[dstMask] = used[src] = used[srcMask] = 1;
    for (const t of [F.KEY_PORT_DST_MIN, F.KEY_PORT_DST_MAX, F.KEY_PORT_SRC_MIN, F.KEY_PORT_SRC_MAX]) used[t] = 1;
    const d = o.be16(dst, 'port');
    const dMask = o.be16(dstMask, 'port mask') ?? 0xffff;
    const lo = o.be16(F.KEY_PORT_DST_MIN, 'port range min');
    const hi = o.be16(F.KEY_PORT_DST_MAX, 'port range max');
    const range = lo !== undefined && hi !== undefined ? { start: lo, end: hi } : undefined;
    if (d !== undefined && range) unrecognised.push(`dst_port=${JSON.stringify({ port: d, mask: dMask, ...range })}`);
    else if (d !== undefined && dMask === 0xffff) m.dstPort = { start: d, end: d };
    else if (d !== undefined) unrecognised.push(`dst_port=${d}/${dMask.toString(16)}`);
    else if (range && range.start <= range.end) m.dstPort = range;
    else if (range) unrecognised.push(`dst_port=${JSON.stringify(range)}`);
    const sp = o.be16(src, 'port');
    const spMask = o.be16(srcMask, 'port mask') ?? 0xffff;
    if (sp !== undefined) unrecognised.push(`src_port=${spMask === 0xffff ? `${sp}` : `${sp}/${spMask.toString(16)}`}`);
    const slo = o.be16(F.KEY_PORT_SRC_MIN, 'port range min');
    const shi = o.be16(F.KEY_PORT_SRC_MAX, 'port range max');
    if (slo !== undefined && shi !== undefined) unrecognised.push(`src_port=${JSON.stringify({ start: slo, end: shi })}`);
  }

  // ICMP: the attributes of the filter's ICMP family
  const icmp = proto === undefined ? undefined : ICMP[proto];
  if (icmp) {
    const [t, tm, c, cm] = icmp;
    used[t] = used[tm] = used[c] = used[cm] = 1;
    const type = o.u8(t, 'icmp_type');
    const typeMask = o.u8(tm, 'icmp_type mask') ?? 0xff;
    if (type !== undefined && typeMask === 0xff) m.icmpType = type;
    else if (type !== undefined) unrecognised.push(`icmp_type=${JSON.stringify(`${type}/${typeMask}`)}`);
    const code = o.u8(c, 'icmp_code');
    const codeMask = o.u8(cm, 'icmp_code mask') ?? 0xff;
    if (code !== undefined) unrecognised.push(`icmp_code=${JSON.stringify(codeMask === 0xff ? `${code}` : `${code}/${codeMask}`)}`);
  }

  // conntrack
  used[F.KEY_CT_STATE_MASK] = 1;
  if (taken(o, used, F.KEY_CT_STATE)) {
    const value = o.u16(F.KEY_CT_STATE, 'ct_state')!;
    const mask = o.u16(F.KEY_CT_STATE_MASK, 'ct_state mask') ?? CT_KNOWN;
    if (mask !== 0 && (mask & ~CT_KNOWN) === 0) m.ctState = ctStateText(value, mask, true);
    else unrecognised.push(`ct_state=${JSON.stringify(`${ctStateText(value, mask, false)}/0x${mask.toString(16)}`)}`);
  }
  used[F.KEY_CT_ZONE_MASK] = 1;
  if (taken(o, used, F.KEY_CT_ZONE)) {
    const z = o.u16(F.KEY_CT_ZONE, 'ct_zone')!;
    const zm = o.u16(F.KEY_CT_ZONE_MASK, 'ct_zone mask') ?? 0xffff;
    unrecognised.push(`ct_zone=${zm === 0xffff ? `${z}` : JSON.stringify(`${z}/0x${zm.toString(16)}`)}`);
  }

  // matching flags (ip_flags frag / firstfrag)
  used[F.KEY_FLAGS_MASK] = 1;
  if (taken(o, used, F.KEY_FLAGS)) {
    const v = o.be32(F.KEY_FLAGS, 'ip_flags')!;
    const mk = o.be32(F.KEY_FLAGS_MASK, 'ip_flags mask') ?? 0xffffffff;
    const named: Record<string, boolean> = {};
    for (const [name, bit] of Object.entries(KEY_FLAGS)) if ((mk & bit) !== 0) named[name] = (v & bit) !== 0;
    const rest = mk & ~KEY_FLAGS_KNOWN;
    if (rest !== 0) named[`0x${(rest >>> 0).toString(16)}`] = (v & rest) !== 0;
    unrecognised.push(`ip_flags=${JSON.stringify(named)}`);
  }

  // MAC addresses (a whole dst_mac is a key of the model), ip_tos / ip_ttl, as tc prints them
  for (const [type, maskType, name] of [[F.KEY_ETH_DST, F.KEY_ETH_DST_MASK, 'dst_mac'], [F.KEY_ETH_SRC, F.KEY_ETH_SRC_MASK, 'src_mac']] as const) {
    used[maskType] = 1;
    if (!taken(o, used, type)) continue;
    const v = o.bytes(type, 6, name)!;
    const k = o.bytes(maskType, 6, `${name} mask`);
    const whole = !k || k.every((x) => x === 0xff);
    if (whole && type === F.KEY_ETH_DST) m.dstMac = mac(v);
    else unrecognised.push(`${name}=${JSON.stringify(whole ? mac(v) : `${mac(v)}/${macMask(k!)}`)}`);
  }
  for (const [type, maskType, name] of [[F.KEY_IP_TOS, F.KEY_IP_TOS_MASK, 'ip_tos'], [F.KEY_IP_TTL, F.KEY_IP_TTL_MASK, 'ip_ttl']] as const) {
    used[maskType] = 1;
    if (!taken(o, used, type)) continue;
    const v = o.u8(type, name)!;
    const mask = o.u8(maskType, `${name} mask`) ?? 0xff;
    unrecognised.push(`${name}=${mask === 0xff ? `${v}` : JSON.stringify(`${v}/${mask}`)}`);
  }

  // everything else: tc's name where there is one, the raw bytes
  for (const t of o.types) if (used[t] === 0) unrecognised.push(`${KEY_NAMES[t] ?? `key${t}`}=0x${o.hex(t)}`);
  for (const [t, off, len] of o.overflow) unrecognised.push(`key${t}=0x${o.buf.toString('hex', off, off + len)}`);

  const actions = o.nest(F.ACT, s.actions, 'actions') ? decodeActions(s) : [];
  const flags = o.u32(F.FLAGS, 'flags');
  const inHw = flags === undefined ? undefined : (flags & 4) !== 0 ? true : (flags & 8) !== 0 ? false : undefined;
  const match: FlowerMatch = unrecognised.length > 0 ? { ...m, unrecognised: unrecognised.sort().join(',') } : m;
  // a classid is not part of the kernel's mask: a replace by handle drops it, so it counts with the actions
  return { match, actions: o.has(F.CLASSID) ? [] : actions, ...(inHw === undefined ? {} : { inHw }) };
}

function taken(o: AttrIndex, used: Uint8Array, t: number): boolean {
  used[t] = 1;
  return o.has(t);
}

/** `+trk+new-est` from the value and mask bits: canonical order, or tc's order for the unrecognised text. */
function ctStateText(value: number, mask: number, canonical: boolean): string {
  const flags = canonical ? CT_CANONICAL : (['trk', 'new', 'est', 'rel', 'inv', 'rpl'] as const).map((n) => [n, CT_STATE_BITS[n]] as const);
  let set = '';
  let cleared = '';
  for (const [name, bit] of flags) {
    if ((mask & bit) === 0) continue;
    if ((value & bit) !== 0) set += `+${name}`;
    else if (canonical) cleared += `-${name}`;
    else set += `-${name}`;
  }
  return set + cleared;
}

function address(o: AttrIndex, used: Uint8Array, side: 'src' | 'dst', v4: number, v4Mask: number, v6: number, v6Mask: number, m: Mutable<FlowerMatch>, unrecognised: string[]): void {
  used[v4] = used[v4Mask] = used[v6] = used[v6Mask] = 1;
  const found: string[] = [];
  let cidr: string | undefined;
  if (o.has(v4)) {
    const a = o.be32(v4, `${side}_ip`)!;
    const k = o.be32(v4Mask, `${side}_ip mask`) ?? 0xffffffff;
    const len = prefixLength32(k);
    // the fast path of canonicalCidr for an IPv4 prefix: the network address and the length
    if (len >= 0) cidr = `${dotted((a & k) >>> 0)}/${len}`;
    else found.push(`${dotted(a)}/${dotted(k)}`);
  }
  if (o.has(v6)) {
    const a = o.bytes(v6, 16, `${side}_ip`)!;
    const k = o.bytes(v6Mask, 16, `${side}_ip mask`);
    const len = k ? prefixLength128(k) : 128;
    if (len >= 0 && cidr === undefined) cidr = `${formatIpv6(a, k)}/${len}`;
    else found.push(address6(a, k));
  }
  if (cidr !== undefined && found.length === 0) return void (side === 'src' ? (m.srcIp = cidr) : (m.dstIp = cidr));
  if (cidr !== undefined) found.unshift(cidr);
  const only = found.length === 1 ? canonicalCidr(found[0]!) : undefined;
  if (only !== undefined) {
    if (side === 'src') m.srcIp = only;
    else m.dstIp = only;
  } else for (const text of found) unrecognised.push(`${side}_ip=${JSON.stringify(text)}`);
}

/** The length of a contiguous prefix mask, or -1. */
function prefixLength32(mask: number): number {
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1; // the bits after the prefix are not all host bits
  return Math.clz32(inv);
}

/** The length of a contiguous 16-byte prefix mask, or -1. */
function prefixLength128(mask: Buffer): number {
  let len = 0;
  let i = 0;
  while (i < 16 && mask[i] === 0xff) i++;
  len = i * 8;
  if (i < 16) {
    const partial = prefixLength32((mask[i]! << 24) | 0xffffff);
    if (partial < 0) return -1;
    len += partial;
    for (let j = i + 1; j < 16; j++) if (mask[j] !== 0) return -1;
  }
  return len;
}

/**
 * The network address (address & mask) in RFC 5952 form, exactly as core/model/cidr.ts's
 * formatIp writes it (longest run of two or more zero groups compressed, the first on a tie).
 */
function formatIpv6(addr: Buffer, mask: Buffer | undefined): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((addr[i]! & (mask ? mask[i]! : 0xff)) << 8) | (addr[i + 1]! & (mask ? mask[i + 1]! : 0xff)));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const dotted = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
const mac = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
/** A MAC mask as tc prints it: the prefix length when the mask is one, else the mask. */
function macMask(k: Buffer): string {
  let len = 0;
  while (len < 48 && ((k[len >> 3]! >> (7 - (len & 7))) & 1) === 1) len++;
  for (let i = len; i < 48; i++) if (((k[i >> 3]! >> (7 - (i & 7))) & 1) === 1) return mac(k);
  return `${len}`;
}

/** An IPv6 address and its mask as tc prints them: bare for a host mask, /len for a prefix, /mask otherwise. */
function address6(addr: Buffer, mask: Buffer | undefined): string {
  const big = (b: Buffer): bigint => b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
  const a = formatIp(6, big(addr));
  if (!mask) return a;
  const mv = big(mask);
  let len = 0;
  while (len < 128 && ((mv >> BigInt(127 - len)) & 1n) === 1n) len++;
  const isPrefix = len === 128 || (mv & ((1n << BigInt(128 - len)) - 1n)) === 0n;
  if (!isPrefix) return `${a}/${formatIp(6, mv)}`;
  return len === 128 ? a : `${a}/${len}`;
}

/** tc's name of an ethertype (ll_proto_n2a for the ones it knows), else 0xNNNN. */
export function ethName(ethertype: number): string {
  const known = (Object.keys(ETH_P) as (keyof typeof ETH_P)[]).find((k) => ETH_P[k] === ethertype);
  return known ?? `0x${ethertype.toString(16).padStart(4, '0')}`;
}

/** tc's names of the flower keys the agent never emits (for readable `unrecognised` text). */
const KEY_NAMES: Readonly<Record<number, string>> = {
  [F.KEY_CT_MARK]: 'ct_mark',
  [F.KEY_CT_MARK_MASK]: 'ct_mark_mask',
  [F.KEY_CT_LABELS]: 'ct_label',
  [F.KEY_CT_LABELS_MASK]: 'ct_label_mask',
};

// ---- actions

/** TCA_FLOWER_ACT (loaded in s.actions): nested actions, each at its order; [] when any of them is not one compile emits. */
function decodeActions(s: FlowerScratch): TcAction[] {
  const orders = [...s.actions.types].sort((a, b) => a - b);
  if (s.actions.overflow.length > 0) orders.push(...s.actions.overflow.map(([t]) => t));
  const out: TcAction[] = [];
  let usable = s.actions.overflow.length === 0;
  for (const [i, order] of orders.entries()) {
    if (order >= 128) break; // 128+ actions: never ours
    s.actions.nest(order, s.action, `action ${order}`);
    const kind = s.action.string(TCA_ACT.KIND);
    if (kind === undefined) throw new MalformedMessage(`actions[${i}] (order ${order}) has no kind`);
    const action = s.action.nest(TCA_ACT.OPTIONS, s.actionOptions, `action ${order} options`) ? decodeAction(kind, s.actionOptions) : undefined;
    if (action === undefined) usable = false;
    else out.push(action);
  }
  return usable ? out : [];
}

function decodeAction(kind: string, o: AttrIndex): TcAction | undefined {
  if (kind === 'gact') {
    if ((o.u16(TCA_GACT.PROB, 'gact prob type') ?? 0) !== 0) return undefined; // random
    const v = o.i32In(TCA_GACT.PARMS, TC_GEN_LEN, 8, 'tc_gact');
    if (v === undefined) return undefined;
    const verdict = v >>> 0;
    if (verdict === TC_ACT.OK) return { kind: 'pass' };
    if (verdict === TC_ACT.SHOT) return { kind: 'drop' };
    if ((verdict & TC_ACT.EXT_OPCODE_MASK) >>> 0 === TC_ACT.GOTO_CHAIN) return { kind: 'goto', chain: verdict & TC_ACT.EXT_VAL_MASK };
    return undefined; // continue, reclassify, pipe, jump, ...
  }
  if (kind === 'ct') {
    if (o.i32In(TCA_CT.PARMS, TC_GEN_LEN, 8, 'tc_ct') !== TC_ACT.PIPE) return undefined;
    // mark, labels, nat ranges, helper: anything beyond parms, tm, flags and zone
    if (o.overflow.length > 0 || o.types.some((t) => t !== TCA_CT.PARMS && t !== TCA_CT.TM && t !== TCA_CT.ACTION && t !== TCA_CT.ZONE && t !== TCA_CT.PAD)) return undefined;
    const f = o.u16(TCA_CT.ACTION, 'ct flags') ?? 0;
    if ((f & ~CT_ACT.COMMIT) !== 0) return undefined; // force, clear, nat
    return { kind: 'ct', zone: o.u16(TCA_CT.ZONE, 'ct zone') ?? 0, commit: (f & CT_ACT.COMMIT) !== 0 };
  }
  return undefined;
}
