// `tc -j` output → canonical TC objects. Pure. Shapes as iproute2 6.1 prints them (lab
// captures in test/golden/tc-json/):
//
//   qdisc:  [{"kind":"clsact","handle":"ffff:","parent":"ffff:fff1",...}, {"kind":"noqueue",...}]
//           a port of a shared block: {"kind":"clsact",...,"ingress_block":1836974080,"options":{}}
//   filter: [{"protocol":"ip","pref":2,"kind":"flower","chain":10000},            <- header, one per
//            {"protocol":"ip","pref":2,"kind":"flower","chain":10000,"options":{     chain/pref/protocol
//               "handle":1,"indev":"rep1","keys":{"dst_mac":"02:00:00:00:00:0a","eth_type":"ipv4","dst_ip":"10.1.0.5","dst_port":{"start":5000,"end":5900},
//                                  "ct_state":"+trk+new","ip_proto":"icmpv6","icmp_type":"135"},
//               "not_in_hw":true,
//               "actions":[{"order":1,"kind":"ct","action":"commit","zone":0,"control_action":{"type":"pipe"}},
//                          {"order":2,"kind":"gact","control_action":{"type":"goto","chain":10001}}]}}]
//
// Ownership is by place only (core/pipeline/layout.ts). Anything else is foreign: counted
// (every entry with options, so a u32 filter's hash-table entry counts too), never parsed,
// never an error. `indev` is printed beside `keys`, not in it (it is a masked key all the
// same); a filter whose indev netdev was deleted is printed without it (lab, 6.1). Inside
// an owned place:
//   - a key, flower option or key value we never emit  → `match.unrecognised` lists it; it is
//     part of the filter's identity, so no desired filter equals it and diff deletes it by
//     handle (and adds the desired filter next to it: its mask differs, so no EEXIST);
//   - an action list we cannot reproduce (other kinds, nat/mark, random, continue, ...) or a
//     `classid` → `actions: []`; desired filters always end in a verdict, so diff replaces
//     them in place by handle, which the kernel accepts on the same keys (an add: EEXIST);
//   - a non-flower filter or a protocol we cannot name is counted as foreign: our syntax
//     cannot delete it (tc checks kind and protocol), and an add into that pref fails loudly;
//   - malformed JSON (a handle that is no number, an address that is no address) is a
//     `tc-parse-failed` error naming the netdev, the filter and the field.
import { err, ok, type Result } from '../../core/api/result.js';
import type { EthProtocol, FlowerMatch, Hook, InnerEthType, IpProto, QdiscKind, TcAction, TcFilter } from '../../core/model/tc.js';
import { isOwned } from '../../core/pipeline/layout.js';
import { isBlockIndex } from '../shared/block-target.js';
import { canonicalCidr, canonicalCtState, canonicalProtocol } from '../shared/canonical.js';
import { canonicalMac } from '../shared/canonical-mac.js';
import type { PortQdisc } from '../shared/port-binding.js';
import { isValidIfname } from './ifname.js';

export interface ParsedFilters {
  /** Flower filters in the agent's chains and prefs, in tc's order. */
  readonly owned: readonly TcFilter[];
  /** Every other filter entry on the hook. */
  readonly foreign: number;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The qdisc the agent can use: clsact wins over a plain ingress qdisc; others (noqueue, mq, fq_codel) are not ours to judge. */
export function parseQdiscs(json: unknown, netdev: string): Result<QdiscKind | null> {
  if (!Array.isArray(json)) return err({ code: 'tc-parse-failed', netdev, problem: 'qdisc list is not a JSON array' });
  const kinds = json.map((q) => (isObject(q) ? q['kind'] : undefined));
  if (kinds.includes('clsact')) return ok('clsact');
  if (kinds.includes('ingress')) return ok('ingress');
  return ok(null);
}

/**
 * A port's clsact or ingress qdisc and its `ingress_block` (null when it has neither). The
 * kernel lets a netdev have only one of the two.
 */
export function parsePortQdisc(json: unknown, netdev: string): Result<PortQdisc | null> {
  if (!Array.isArray(json)) return err({ code: 'tc-parse-failed', netdev, problem: 'qdisc list is not a JSON array' });
  const q = json.find((x): x is Json => isObject(x) && (x['kind'] === 'clsact' || x['kind'] === 'ingress'));
  if (q === undefined) return ok(null);
  const block = q['ingress_block'];
  if (block === undefined) return ok({ kind: q['kind'] as string });
  if (typeof block !== 'number' || !isBlockIndex(block)) return err({ code: 'tc-parse-failed', netdev, problem: `${String(q['kind'])} qdisc: ingress_block ${JSON.stringify(block)} is not a block index` });
  return ok({ kind: q['kind'] as string, ingressBlock: block });
}

/** How many filters (of any kind, owned or not) a hook's filter list holds. */
export function countFilters(json: unknown, hook: Hook, netdev: string): Result<number> {
  if (!Array.isArray(json)) return err({ code: 'tc-parse-failed', netdev, problem: `${hook} filter list is not a JSON array` });
  return ok(json.filter((e) => isObject(e) && e['options'] !== undefined).length);
}

export function parseFilters(json: unknown, hook: Hook, netdev: string): Result<ParsedFilters> {
  if (!Array.isArray(json)) return err({ code: 'tc-parse-failed', netdev, problem: `${hook} filter list is not a JSON array` });
  const owned: TcFilter[] = [];
  let foreign = 0;
  for (const [i, entry] of json.entries()) {
    if (!isObject(entry)) return err({ code: 'tc-parse-failed', netdev, problem: `${hook} filter entry ${i} is not an object` });
    if (entry['options'] === undefined) continue; // header of a chain/pref/protocol
    if (entry['kind'] !== 'flower') {
      foreign++;
      continue;
    }
    const chain = entry['chain'] ?? 0; // omitted only when the show command names a chain
    const pref = entry['pref'];
    const where = `${hook} filter entry ${i} (chain ${String(chain)} pref ${String(pref)})`;
    if (!isUint(chain)) return err({ code: 'tc-parse-failed', netdev, problem: `${where}: chain is not a number` });
    if (!isUint(pref)) return err({ code: 'tc-parse-failed', netdev, problem: `${where}: pref is not a number` });
    const protocol = typeof entry['protocol'] === 'string' ? canonicalProtocol(entry['protocol']) : undefined;
    if (!isOwned(hook, chain, pref) || protocol === undefined) {
      foreign++;
      continue;
    }
    const f = parseOwned(entry['options'], hook, chain, pref, protocol);
    if (typeof f === 'string') return err({ code: 'tc-parse-failed', netdev, problem: `${where}: ${f}` });
    owned.push(f);
  }
  return ok({ owned, foreign });
}

/** Flower option fields that describe the filter without changing what it does (`indev` is read with the keys). */
const INFORMATIONAL_OPTIONS = new Set(['handle', 'indev', 'keys', 'actions', 'in_hw', 'in_hw_count', 'not_in_hw', 'skip_hw', 'skip_sw']);
/**
 * Flower options that change the verdict but are not part of the kernel's mask (`classid`):
 * a replace by handle drops them, an add next to them is EEXIST, so they count with the
 * actions. Every other unknown option is treated as a key.
 */
const NOT_IN_MASK = new Set(['classid']);

/** An owned flower filter, or the problem (naming the field) when its JSON is malformed. */
function parseOwned(options: unknown, hook: Hook, chain: number, pref: number, protocol: EthProtocol): TcFilter | string {
  if (!isObject(options)) return 'options is not an object';
  const handle = parseHandle(options['handle']);
  if (handle === undefined) return `options.handle ${JSON.stringify(options['handle'])} is not a filter handle`;
  const keys = options['keys'] ?? {};
  if (!isObject(keys)) return `handle ${handle}: options.keys is not an object`;
  const unrecognised: string[] = [];
  for (const [name, value] of Object.entries(options)) {
    if (!INFORMATIONAL_OPTIONS.has(name) && !NOT_IN_MASK.has(name)) unrecognised.push(`${name}=${JSON.stringify(value)}`);
  }
  const indev = options['indev'];
  if (indev !== undefined && typeof indev !== 'string') return `handle ${handle}: options.indev is not a string`;
  const keyed = parseKeys(keys, unrecognised);
  if (typeof keyed === 'string') return `handle ${handle}: options.keys.${keyed}`;
  // a name we could not print back into a batch line is nothing we installed
  if (indev !== undefined && !isValidIfname(indev)) unrecognised.push(`indev=${JSON.stringify(indev)}`);
  const match: FlowerMatch = indev !== undefined && isValidIfname(indev) ? { indev, ...keyed } : keyed;
  const parsed = parseActions(options['actions'] ?? []);
  if (typeof parsed === 'string') return `handle ${handle}: options.actions${parsed}`;
  const actions = Object.keys(options).some((k) => NOT_IN_MASK.has(k)) ? [] : parsed;
  const inHw = options['in_hw'] === true ? true : options['not_in_hw'] === true ? false : undefined;
  const full: FlowerMatch = unrecognised.length > 0 ? { ...match, unrecognised: unrecognised.sort().join(',') } : match;
  return { hook, chain, pref, protocol, match: full, actions, handle, ...(inHw === undefined ? {} : { inHw }) };
}

function parseHandle(v: unknown): number | undefined {
  // tc prints a number; older versions and other tools print "0x1" strings
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 0xffffffff ? n : undefined;
}

const INNER: readonly InnerEthType[] = ['ip', 'ipv6', 'arp', '802.1Q'];
const IP_PROTOS: readonly IpProto[] = ['tcp', 'udp', 'sctp', 'icmp', 'icmpv6'];

/** Keys → FlowerMatch; what it cannot express goes to `unrecognised`. A string is a malformed field. */
function parseKeys(keys: Json, unrecognised: string[]): FlowerMatch | string {
  const m: { -readonly [K in keyof FlowerMatch]: FlowerMatch[K] } = {};
  const other = (name: string, value: unknown): void => void unrecognised.push(`${name}=${JSON.stringify(value)}`);
  for (const [name, value] of Object.entries(keys)) {
    switch (name) {
      case 'eth_type':
        break; // derived by tc from protocol / vlan_ethtype / cvlan_ethtype
      case 'vlan_ethtype':
      case 'cvlan_ethtype': {
        if (typeof value !== 'string') return `${name} is not a string`;
        const t = canonicalProtocol(value);
        const inner = INNER.find((x) => x === t);
        if (inner === undefined || (name === 'cvlan_ethtype' && inner === '802.1Q')) other(name, value);
        else if (name === 'vlan_ethtype') m.vlanEthType = inner;
        else m.cvlanEthType = inner as Exclude<InnerEthType, '802.1Q'>;
        break;
      }
      case 'ip_proto': {
        if (typeof value !== 'string') return `${name} is not a string`;
        const p = IP_PROTOS.find((x) => x === value);
        if (p === undefined) other(name, value);
        else m.ipProto = p;
        break;
      }
      case 'src_ip':
      case 'dst_ip': {
        if (typeof value !== 'string') return `${name} is not a string`;
        const cidr = canonicalCidr(value);
        if (cidr !== undefined) {
          if (name === 'src_ip') m.srcIp = cidr;
          else m.dstIp = cidr;
        } else if (canonicalCidr(value.split('/')[0] ?? '') !== undefined) other(name, value); // address/mask that is no prefix
        else return `${name} ${JSON.stringify(value)} is not an address`;
        break;
      }
      case 'dst_mac': {
        if (typeof value !== 'string') return `${name} is not a string`;
        const mac = canonicalMac(value);
        if (mac !== undefined) m.dstMac = mac;
        else if (canonicalMac(value.split('/')[0] ?? '') !== undefined) other(name, value); // a masked MAC (`…/16`)
        else return `${name} ${JSON.stringify(value)} is not a MAC address`;
        break;
      }
      case 'dst_port': {
        const range = parsePort(value);
        if (range === undefined) return `dst_port ${JSON.stringify(value)} is not a port or a {start,end} range`;
        if (keys['dst_port_mask'] !== undefined) unrecognised.push(`dst_port=${JSON.stringify(value)}/${String(keys['dst_port_mask'])}`);
        else m.dstPort = range;
        break;
      }
      case 'dst_port_mask':
        if (keys['dst_port'] === undefined) other(name, value);
        break; // reported with dst_port
      case 'icmp_type': {
        // "135": a string in iproute2 6.1; accept a number too
        const t = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
        if (!Number.isInteger(t) || t < 0 || t > 255) return `icmp_type ${JSON.stringify(value)} is not an ICMP type`;
        m.icmpType = t;
        break;
      }
      case 'ct_state': {
        if (typeof value !== 'string') return `${name} is not a string`;
        const s = canonicalCtState(value);
        if (s === undefined) other(name, value);
        else m.ctState = s;
        break;
      }
      default:
        other(name, value);
    }
  }
  return m;
}

function parsePort(v: unknown): { start: number; end: number } | undefined {
  if (isPort(v)) return { start: v, end: v };
  if (isObject(v) && isPort(v['start']) && isPort(v['end']) && v['start'] <= v['end']) return { start: v['start'], end: v['end'] };
  return undefined;
}

/** Actions in `order`; [] when any of them is not one we emit (see the header). A string is a malformed field. */
function parseActions(list: unknown): TcAction[] | string {
  if (!Array.isArray(list)) return ' is not an array';
  const sorted = [...list].sort((a, b) => orderOf(a) - orderOf(b));
  const out: TcAction[] = [];
  for (const [i, a] of sorted.entries()) {
    if (!isObject(a) || typeof a['kind'] !== 'string') return `[${i}] has no kind`;
    const action = parseAction(a);
    if (action === undefined) return [];
    out.push(action);
  }
  return out;
}

const orderOf = (a: unknown): number => (isObject(a) && typeof a['order'] === 'number' ? a['order'] : 0);

/** Fields of act_ct that change what it does beyond `ct [commit] zone Z pipe`. */
const CT_EXTRAS = ['mark', 'label', 'nat', 'helper', 'helper_name', 'helper_family', 'helper_proto'];

function parseAction(a: Json): TcAction | undefined {
  const control = isObject(a['control_action']) ? a['control_action'] : {};
  const type = control['type'];
  if (a['kind'] === 'gact') {
    const prob = a['prob'];
    if (isObject(prob) && prob['random_type'] !== 'none') return undefined;
    if (type === 'pass' || type === 'drop') return { kind: type };
    if (type === 'goto' && isUint(control['chain'])) return { kind: 'goto', chain: control['chain'] };
    return undefined; // continue, reclassify, jump, pipe, ...
  }
  if (a['kind'] === 'ct') {
    const what = a['action'] ?? '';
    const zone = a['zone'] ?? 0;
    if ((what !== '' && what !== 'commit') || !isUint(zone) || type !== 'pipe') return undefined;
    if (CT_EXTRAS.some((k) => a[k] !== undefined)) return undefined;
    return { kind: 'ct', zone, commit: what === 'commit' };
  }
  return undefined;
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isPort = (v: unknown): v is number => isUint(v) && v <= 0xffff;
