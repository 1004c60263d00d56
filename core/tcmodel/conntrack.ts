// What act_ct does to a frame, against an explicit conntrack table (no globals: the caller
// owns the table and passes it to every hook a packet crosses).
//
// The ct info a `ct` action leaves on the skb stays there across hooks (skb->_nfct survives
// the bridge). A later `ct` in the SAME zone reuses it without a lookup (act_ct's "cached"
// case), so the packet keeps the flags it got at the first hook: this is what lets a frame
// tracked at the source representor skip a `ct_state -trk` test at the destination (the
// lab's "double-ct bypass"). A `ct` in another zone drops the cached info and looks up again.
import { ctBits, type CtBits } from './ct-state.js';
import { canonicalIp, parseIp } from './ip.js';
import {
  hasPorts,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  isIpFrame,
  type Frame,
  type IpFrame,
} from './packet.js';

export interface ConntrackEntry {
  readonly zone: number;
  /** Tuple key of the original (initiator → responder) direction. */
  readonly original: string;
  replySeen: boolean;
}

/** Committed connections by `zone|tuple`. Mutable on purpose: it is the state the model threads. */
export interface ConntrackTable {
  readonly entries: Map<string, ConntrackEntry>;
}

export const newConntrackTable = (): ConntrackTable => ({ entries: new Map() });

/**
 * ct info attached to an skb.
 * - `conn`: a conntrack is attached (committed or not yet); `ctinfo` is the kernel's
 *   IP_CT_NEW / IP_CT_ESTABLISHED / IP_CT_ESTABLISHED_REPLY.
 * - `none`: act_ct ran but attached nothing (invalid, or untracked such as IPv6 ND);
 *   flower reads +trk+inv. This does not survive to the next hook, which reads -trk
 *   (flower's "post ct" mark is per classification; lab-checked, see
 *   test/core/tcmodel/kernel-facts.sh).
 */
export type CtInfo =
  | { readonly kind: 'conn'; readonly zone: number; readonly tuple: string; readonly ctinfo: 'new' | 'established' | 'established-reply' }
  | { readonly kind: 'none'; readonly zone: number };

export interface Skb {
  readonly frame: Frame;
  readonly ct: CtInfo | null;
  /** The netdev the frame entered through (the kernel's skb_iif); absent when the caller did not say. */
  readonly indev?: string;
}

export const skbOf = (frame: Frame, indev?: string): Skb => (indev === undefined ? { frame, ct: null } : { frame, ct: null, indev });

/** The flags flower's ct_state key sees on this skb. */
export function ctFlagsOf(skb: Skb): CtBits {
  const ct = skb.ct;
  if (ct === null) return 0;
  if (ct.kind === 'none') return ctBits('trk', 'inv');
  switch (ct.ctinfo) {
    case 'new':
      return ctBits('trk', 'new');
    case 'established':
      return ctBits('trk', 'est');
    case 'established-reply':
      return ctBits('trk', 'est', 'rpl');
  }
}

/** The skb as the next hook receives it: a conntrack reference stays, a bare "post ct" mark does not. */
export function acrossHooks(skb: Skb): Skb {
  return skb.ct?.kind === 'none' ? { ...skb, ct: null } : skb;
}

// ICMPv6 types conntrack never tracks (MLD, router/neighbour discovery): nf_conntrack marks
// them untracked, which flower reads as +trk+inv (lab-checked for neighbour solicitations).
const ICMPV6_UNTRACKED = new Set([130, 131, 132, 133, 134, 135, 136, 137, 143]);

function endpoint(ip: string, port: number | undefined): string {
  const addr = parseIp(ip);
  const a = addr === null ? `bad:${ip}` : canonicalIp(addr);
  return port === undefined ? a : `${a}#${port}`;
}

/** Tuple key in the frame's own direction, and the key of the opposite direction. */
function tuples(f: IpFrame): { forward: string; backward: string } {
  if (hasPorts(f.l4)) {
    const s = endpoint(f.src, f.srcPort);
    const d = endpoint(f.dst, f.dstPort);
    return { forward: `${f.l4}|${s}|${d}`, backward: `${f.l4}|${d}|${s}` };
  }
  // ICMP echo: request and reply share one conntrack, keyed by the address pair.
  const s = endpoint(f.src, undefined);
  const d = endpoint(f.dst, undefined);
  return { forward: `${f.l4}|${s}|${d}`, backward: `${f.l4}|${d}|${s}` };
}

const entryKey = (zone: number, tuple: string): string => `${zone}|${tuple}`;

/** May a frame with no matching entry start a connection? */
function canOpen(f: IpFrame): boolean {
  switch (f.l4) {
    case 'tcp':
    case 'sctp':
      // SYN / INIT only. (The kernel's nf_conntrack_tcp_loose would also pick up a
      // mid-stream TCP ACK as new; the model follows the simpler rule, see the brief.)
      return (f.segment ?? 'data') === 'opening';
    case 'udp':
      return true;
    case 'icmp':
      return f.icmpType === ICMP_ECHO_REQUEST.icmp;
    case 'icmpv6':
      return f.icmpType === ICMP_ECHO_REQUEST.icmpv6;
  }
}

function isIcmpEcho(f: IpFrame): boolean {
  if (f.l4 === 'icmp') return f.icmpType === ICMP_ECHO_REQUEST.icmp || f.icmpType === ICMP_ECHO_REPLY.icmp;
  if (f.l4 === 'icmpv6') return f.icmpType === ICMP_ECHO_REQUEST.icmpv6 || f.icmpType === ICMP_ECHO_REPLY.icmpv6;
  return true;
}

/** A fresh conntrack lookup (nf_conntrack_in) for an IP frame. Marks the reply as seen. */
function lookup(table: ConntrackTable, frame: IpFrame, zone: number): CtInfo {
  if (frame.l4 === 'icmpv6' && frame.icmpType !== undefined && ICMPV6_UNTRACKED.has(frame.icmpType)) {
    return { kind: 'none', zone };
  }
  if (!isIcmpEcho(frame)) return { kind: 'none', zone }; // ICMP errors: no related entry is modelled
  const { forward, backward } = tuples(frame);
  const original = table.entries.get(entryKey(zone, forward));
  if (original !== undefined) {
    return { kind: 'conn', zone, tuple: forward, ctinfo: original.replySeen ? 'established' : 'new' };
  }
  const reply = table.entries.get(entryKey(zone, backward));
  if (reply !== undefined) {
    reply.replySeen = true;
    return { kind: 'conn', zone, tuple: backward, ctinfo: 'established-reply' };
  }
  return canOpen(frame) ? { kind: 'conn', zone, tuple: forward, ctinfo: 'new' } : { kind: 'none', zone };
}

export type CtResult = { readonly kind: 'continue'; readonly skb: Skb } | { readonly kind: 'drop'; readonly reason: string };

/** `action ct [commit] zone Z pipe` on one skb. */
export function applyCt(table: ConntrackTable, skb: Skb, zone: number, commit: boolean): CtResult {
  const frame = skb.frame;
  // act_ct only handles IPv4/IPv6 (tagged or not); anything else, ARP included, is dropped (lab-checked).
  if (!isIpFrame(frame)) return { kind: 'drop', reason: `act_ct drops non-IP frames (${frame.ethertype})` };
  // With two tags the inner one still sits before the IP header and act_ct cannot parse it:
  // it drops every double-tagged frame (lab: docs/lab-findings.md, QinQ checks).
  if (frame.encapsulation === '802.1ad') return { kind: 'drop', reason: 'act_ct drops double-tagged (QinQ) frames' };
  const cached = skb.ct !== null && skb.ct.kind === 'conn' && skb.ct.zone === zone;
  const ct = cached && skb.ct !== null ? skb.ct : lookup(table, frame, zone);
  if (commit && ct.kind === 'conn' && ct.ctinfo === 'new') {
    const key = entryKey(zone, ct.tuple);
    if (!table.entries.has(key)) table.entries.set(key, { zone, original: ct.tuple, replySeen: false });
  }
  return { kind: 'continue', skb: { ...skb, ct } };
}
