// rtnetlink replies → the canonical TC objects, with the cmdline driver's rules of ownership
// (drivers/tc-cmdline/parse.ts): a flower filter at an owned place (core/pipeline/layout.ts)
// with a protocol the model names is ours and is read fully; every other filter that has
// options is foreign, counted and never parsed; the header message the kernel sends before
// each chain/pref/protocol (no TCA_OPTIONS) is skipped. Pure.
//
//   RTM_NEWTFILTER:  tcmsg{ifindex, handle, parent, info = pref<<16 | ethertype (network order)}
//                    TCA_KIND "flower", TCA_CHAIN u32, TCA_OPTIONS {keys..., TCA_FLOWER_ACT, TCA_FLOWER_FLAGS}
//   RTM_NEWQDISC:    tcmsg{ifindex, handle, parent}, TCA_KIND "clsact" | "ingress" | ...,
//                    TCA_INGRESS_BLOCK u32 when the qdisc's ingress side is a shared block
//   a shared block's filters: RTM_NEWTFILTER with tcmsg{TCM_IFINDEX_MAGIC_BLOCK, handle, block index, info}
//   RTM_NEWLINK:     ifinfomsg{family, type, ifindex i32, ...}, IFLA_IFNAME
import type { EthProtocol, Hook, QdiscKind, TcFilter } from '../../core/model/tc.js';
import { isOwned } from '../../core/pipeline/layout.js';
import type { PortQdisc } from '../shared/port-binding.js';
import { AttrIndex, MalformedMessage } from './attr.js';
import { ETH_P, IFINFOMSG_LEN, IFLA_IFNAME, RTM, TC_H, TCA, TCMSG_LEN } from './constants.js';
import { decodeFlowerOptions, FlowerScratch } from './decode-flower.js';
import type { NlMsg } from './message.js';

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

export interface HookFilters {
  /** Flower filters in the agent's chains and prefs, in the kernel's order. */
  readonly owned: readonly TcFilter[];
  /** Every other filter on the hook. */
  readonly foreign: number;
}

/** One filter message, ownership not yet decided. */
export type FilterEntry =
  | { readonly kind: 'header' }
  | { readonly kind: 'other'; readonly chain: number; readonly pref: number }
  | { readonly kind: 'flower'; readonly filter: TcFilter };

interface Tcmsg {
  readonly ifindex: number;
  readonly handle: number;
  readonly parent: number;
  readonly info: number;
}

/** Reusable attribute indexes for one decode (see AttrIndex). */
export class DecodeScratch {
  readonly message = new AttrIndex();
  readonly options = new AttrIndex();
  readonly flower = new FlowerScratch();
}

/** The tcmsg of a TC message; its attributes go into `attrs`. */
function tcmsg(m: NlMsg, attrs: AttrIndex, what: string): Tcmsg {
  const p = m.payload;
  if (p.length < TCMSG_LEN) throw new MalformedMessage(`${what}: ${p.length} bytes, shorter than a tcmsg`);
  attrs.load(p, TCMSG_LEN, p.length, what);
  return { ifindex: p.readInt32LE(4), handle: p.readUInt32LE(8), parent: p.readUInt32LE(12), info: p.readUInt32LE(16) };
}

const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >> 8);

/** The model's name of a filter protocol, or undefined for ethertypes it does not name (LLDP, 0x88cc). */
export function protocolOf(info: number): EthProtocol | undefined {
  const ethertype = swap16(info & 0xffff);
  return (Object.keys(ETH_P) as EthProtocol[]).find((p) => ETH_P[p] === ethertype);
}

/** One RTM_NEWTFILTER message of a dump of `hook`; throws MalformedMessage. */
export function decodeFilterEntry(m: NlMsg, hook: Hook, s: DecodeScratch = new DecodeScratch()): FilterEntry {
  if (m.type !== RTM.NEWTFILTER) throw new MalformedMessage(`message type ${m.type} in a filter dump`);
  const a = s.message;
  const t = tcmsg(m, a, `${hook} filter message`);
  if (!a.has(TCA.OPTIONS)) return { kind: 'header' };
  const chain = a.u32(TCA.CHAIN, 'TCA_CHAIN') ?? 0;
  const pref = t.info >>> 16;
  const protocol = protocolOf(t.info);
  if (a.string(TCA.KIND) !== 'flower' || protocol === undefined) return { kind: 'other', chain, pref };
  const where = `${hook} filter (chain ${chain} pref ${pref} handle ${t.handle})`;
  if (t.handle === 0) throw new MalformedMessage(`${where}: a flower filter without a handle`);
  let o;
  try {
    a.nest(TCA.OPTIONS, s.options, `${where} options`);
    o = decodeFlowerOptions(s.options, s.flower);
  } catch (e) {
    if (e instanceof MalformedMessage && !e.message.startsWith(where)) throw new MalformedMessage(`${where}: ${e.message}`);
    throw e;
  }
  const filter: TcFilter = { hook, chain, pref, protocol, match: o.match, actions: o.actions, handle: t.handle, ...(o.inHw === undefined ? {} : { inHw: o.inHw }) };
  return { kind: 'flower', filter };
}

/** A filter dump of one hook: the owned filters and a count of the rest. */
export function decodeFilterDump(messages: readonly NlMsg[], hook: Hook): Decoded<HookFilters> {
  return decoding(() => {
    const owned: TcFilter[] = [];
    let foreign = 0;
    const s = new DecodeScratch();
    for (const m of messages) {
      const e = decodeFilterEntry(m, hook, s);
      if (e.kind === 'header') continue;
      if (e.kind === 'flower' && isOwned(hook, e.filter.chain, e.filter.pref)) owned.push(e.filter);
      else foreign++;
    }
    return { owned, foreign };
  });
}

/** The qdisc at ffff:fff1 of `ifindex` in a qdisc dump of every device: clsact wins over a plain ingress qdisc. */
export function decodeQdiscDump(messages: readonly NlMsg[], ifindex: number): Decoded<QdiscKind | null> {
  return decoding(() => {
    let found: QdiscKind | null = null;
    const attrs = new AttrIndex();
    for (const m of messages) {
      if (m.type !== RTM.NEWQDISC) throw new MalformedMessage(`message type ${m.type} in a qdisc dump`);
      const t = tcmsg(m, attrs, 'qdisc message');
      if (t.ifindex !== ifindex || t.parent !== TC_H.CLSACT) continue;
      const k = attrs.string(TCA.KIND) ?? '';
      if (k === 'clsact') found = 'clsact';
      else if (k === 'ingress' && found === null) found = 'ingress';
    }
    return found;
  });
}

/**
 * The clsact or ingress qdisc (at ffff:fff1) of each of `ifindexes`, with its ingress block,
 * from a qdisc dump of every device; null for a device that has neither.
 */
export function decodePortQdiscs(messages: readonly NlMsg[], ifindexes: readonly number[]): Decoded<Map<number, PortQdisc | null>> {
  return decoding(() => {
    const found = new Map<number, PortQdisc | null>(ifindexes.map((i) => [i, null]));
    const attrs = new AttrIndex();
    for (const m of messages) {
      if (m.type !== RTM.NEWQDISC) throw new MalformedMessage(`message type ${m.type} in a qdisc dump`);
      const t = tcmsg(m, attrs, 'qdisc message');
      if (!found.has(t.ifindex) || t.parent !== TC_H.CLSACT) continue;
      const block = attrs.u32(TCA.INGRESS_BLOCK, 'TCA_INGRESS_BLOCK');
      // the kernel writes TCA_INGRESS_BLOCK only for a shared block (index 0 = none)
      found.set(t.ifindex, { kind: attrs.string(TCA.KIND) ?? '', ...(block ? { ingressBlock: block } : {}) });
    }
    return found;
  });
}

/** The ifindex in an RTM_NEWLINK reply. */
export function decodeLink(m: NlMsg): Decoded<{ ifindex: number; name: string }> {
  return decoding(() => {
    if (m.type !== RTM.NEWLINK) throw new MalformedMessage(`message type ${m.type} in reply to RTM_GETLINK`);
    if (m.payload.length < IFINFOMSG_LEN) throw new MalformedMessage(`link message of ${m.payload.length} bytes, shorter than an ifinfomsg`);
    const attrs = new AttrIndex().load(m.payload, IFINFOMSG_LEN, m.payload.length, 'link attributes');
    return { ifindex: m.payload.readInt32LE(4), name: attrs.string(IFLA_IFNAME) ?? '' };
  });
}

function decoding<T>(run: () => T): Decoded<T> {
  try {
    return { ok: true, value: run() };
  } catch (e) {
    if (e instanceof MalformedMessage) return { ok: false, problem: e.message };
    throw e;
  }
}
