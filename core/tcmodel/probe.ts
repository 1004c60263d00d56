// Frames crossing the node on their way between two ends. A frame's path is a list of hops,
// each one TC hook classifying it:
//
//   per-port layout: source pod --> [source rep, ingress hook] --bridge--> [destination rep, egress hook] --> destination pod
//   shared block:    source pod --> [block of the source's switch, indev = its rep] --> destination pod
//                    outside    --> [block of the destination's switch, indev = the uplink] --> destination pod
//
// `null` for an end of the per-port path = nothing the agent programs there (an external
// host, a pod on another node, a pod without a program): no hook runs on that side. The skb
// keeps its ct info from hop to hop unless a hop says it arrives as a new skb; each frame of
// an exchange is a new skb.
import { err, ok, type Result } from '../api/result.js';
import type { L4Protocol } from '../model/k8s.js';
import type { Family, Verdict } from '../model/probe.js';
import type { Hook, IpProto, TcFilter } from '../model/tc.js';
import { runHook, type HookRun } from './classify.js';
import { acrossHooks, skbOf, type ConntrackTable, type Skb } from './conntrack.js';
import { formatIp, ipv6MulticastMac, parseIp, solicitedNodeAddress } from './ip.js';
import type { ModelError } from './model-error.js';
import {
  BROADCAST_MAC,
  ND_NEIGHBOUR_ADVERTISEMENT,
  ND_NEIGHBOUR_SOLICITATION,
  reverseFrame,
  type Encapsulation,
  type Frame,
  type IpFrame,
  type MacAddresses,
  type Segment,
} from './packet.js';

/** The filters on one representor (both hooks). */
export interface Program {
  readonly filters: readonly TcFilter[];
}

/**
 * Where a hop sits: where the sender's frames enter ('source'), or on the receiver's way in
 * ('destination'). A shared block at the sender's port enforces both directions at once.
 */
export type Side = 'source' | 'destination';

/** One classification on a frame's way: which filters, on which hook, entered through which port. */
export interface Hop {
  readonly filters: readonly TcFilter[];
  readonly hook: Hook;
  readonly side: Side;
  /** The port the frame entered through (flower's `indev`); absent: the skb keeps the one it had. */
  readonly indev?: string;
  /** The frame reaches this hop as a new skb (it left one switch and came in at another's uplink): no ct info survives. */
  readonly fresh?: boolean;
  /** Names the place for reports ('block 1836...'); optional. */
  readonly at?: string;
}

export interface HopRun {
  readonly hop: Hop;
  readonly run: HookRun;
}

export interface Delivery {
  readonly delivered: boolean;
  /** The side of the hop that dropped it, when one did. */
  readonly droppedAt?: Side;
  /** The first hop run on each side (per-port: the source rep's ingress hook, the destination rep's egress hook). */
  readonly source: HookRun | null;
  readonly destination: HookRun | null;
  /** Every hop that ran, in order; when the frame was dropped, the last one dropped it. */
  readonly hops: readonly HopRun[];
}

/** Runs one frame along a path of hops, threading the skb (and `table`) from hop to hop. */
export function deliverAlong(path: readonly Hop[], frame: Frame, table: ConntrackTable): Result<Delivery, ModelError> {
  let skb: Skb = skbOf(frame);
  const hops: HopRun[] = [];
  const first = (side: Side): HookRun | null => hops.find((h) => h.hop.side === side)?.run ?? null;
  for (const hop of path) {
    if (hop.fresh) skb = skbOf(frame);
    else if (hops.length > 0) skb = acrossHooks(skb);
    if (hop.indev !== undefined) skb = { ...skb, indev: hop.indev };
    const r = runHook(hop.filters, hop.hook, skb, table);
    if (!r.ok) return r;
    hops.push({ hop, run: r.value });
    if (r.value.verdict === 'drop') return ok({ delivered: false, droppedAt: hop.side, source: first('source'), destination: first('destination'), hops });
    skb = r.value.skb;
  }
  return ok({ delivered: true, source: first('source'), destination: first('destination'), hops });
}

/** The per-port path: the source rep's ingress hook, then the destination rep's egress hook. */
export function portPath(src: Program | null, dst: Program | null): Hop[] {
  const path: Hop[] = [];
  if (src !== null) path.push({ filters: src.filters, hook: 'ingress', side: 'source' });
  if (dst !== null) path.push({ filters: dst.filters, hook: 'egress', side: 'destination' });
  return path;
}

export function deliver(src: Program | null, dst: Program | null, frame: Frame, table: ConntrackTable): Result<Delivery, ModelError> {
  return deliverAlong(portPath(src, dst), frame, table);
}

/** The paths between two ends: `forward` from the first end (a connection's source) to the second, `backward` the other way. */
export interface Route {
  readonly forward: readonly Hop[];
  readonly backward: readonly Hop[];
}

export const portRoute = (a: Program | null, b: Program | null): Route => ({ forward: portPath(a, b), backward: portPath(b, a) });

export interface Connection {
  readonly family: Family;
  readonly protocol: L4Protocol;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** Default untagged. */
  readonly encapsulation?: Encapsulation;
  /** The ends' MACs where known (a shared block keys pod ingress on dst_mac). */
  readonly srcMac?: string;
  readonly dstMac?: string;
}

export type FrameRole = 'opening' | 'reply' | 'data' | 'data-reply';

export interface ExchangeStep {
  readonly role: FrameRole;
  /** True when the frame travels from the connection's destination back to its source. */
  readonly backwards: boolean;
  readonly frame: Frame;
  readonly delivery: Delivery;
}

export interface ConnectionDecision {
  readonly verdict: Verdict;
  /** Frames in the order sent; stops at the first frame that was dropped. */
  readonly exchange: readonly ExchangeStep[];
}

const L4_OF: Record<L4Protocol, IpProto> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

/** `decideConnectionAlong` on the per-port route between two representors' programs. */
export function decideConnection(
  srcProgram: Program | null,
  dstProgram: Program | null,
  conn: Connection,
  table: ConntrackTable,
): Result<ConnectionDecision, ModelError> {
  return decideConnectionAlong(portRoute(srcProgram, dstProgram), conn, table);
}

/**
 * Runs a connection's frames along the route against `table`: the opening
 * (SYN / INIT / first datagram), the reply, and for TCP and SCTP one data frame each way
 * (the handshake completes and data echoes). Allow iff every frame gets through.
 * Use a fresh table, or distinct source ports, per connection: entries persist.
 */
export function decideConnectionAlong(route: Route, conn: Connection, table: ConntrackTable): Result<ConnectionDecision, ModelError> {
  const l4 = L4_OF[conn.protocol];
  const stateful = l4 !== 'udp';
  const opening: IpFrame = {
    encapsulation: conn.encapsulation ?? 'untagged',
    ethertype: conn.family === 'ipv4' ? 'ip' : 'ipv6',
    ...(conn.srcMac !== undefined ? { srcMac: conn.srcMac } : {}),
    ...(conn.dstMac !== undefined ? { dstMac: conn.dstMac } : {}),
    src: conn.srcIp,
    dst: conn.dstIp,
    l4,
    srcPort: conn.srcPort,
    dstPort: conn.dstPort,
    ...(stateful ? { segment: 'opening' as Segment } : {}),
  };
  const frames: { role: FrameRole; backwards: boolean; frame: IpFrame }[] = [
    { role: 'opening', backwards: false, frame: opening },
    { role: 'reply', backwards: true, frame: reverseFrame(opening, stateful ? 'reply-opening' : undefined) },
  ];
  if (stateful) {
    frames.push({ role: 'data', backwards: false, frame: { ...opening, segment: 'data' } });
    frames.push({ role: 'data-reply', backwards: true, frame: reverseFrame(opening, 'data') });
  }

  const exchange: ExchangeStep[] = [];
  for (const { role, backwards, frame } of frames) {
    const d = deliverAlong(backwards ? route.backward : route.forward, frame, table);
    if (!d.ok) return d;
    exchange.push({ role, backwards, frame, delivery: d.value });
    if (!d.value.delivered) return ok({ verdict: 'deny', exchange });
  }
  return ok({ verdict: 'allow', exchange });
}

export interface NeighbourCheck {
  /** True when every resolution frame, both ways, was delivered. */
  readonly ok: boolean;
  readonly exchange: readonly { readonly from: 'a' | 'b'; readonly frame: Frame; readonly delivery: Delivery }[];
}

export interface NeighbourEnds {
  readonly family: Family;
  readonly aIp: string;
  readonly bIp: string;
  readonly encapsulation?: Encapsulation;
  /** The ends' MACs where known: requests go to broadcast / the solicited-node group, answers to the asker. */
  readonly aMac?: string;
  readonly bMac?: string;
}

/** `checkNeighbourDiscoveryAlong` on the per-port route between two representors' programs. */
export function checkNeighbourDiscovery(a: Program | null, b: Program | null, ends: NeighbourEnds, table: ConntrackTable): Result<NeighbourCheck, ModelError> {
  return checkNeighbourDiscoveryAlong(portRoute(a, b), ends, table);
}

/**
 * Address resolution between two ends, each way: ARP request + reply for IPv4; for IPv6 a
 * neighbour solicitation to the target's solicited-node address and a unicast advertisement
 * back. These must always pass, whatever the policy. `route.forward` goes from a to b.
 */
export function checkNeighbourDiscoveryAlong(route: Route, ends: NeighbourEnds, table: ConntrackTable): Result<NeighbourCheck, ModelError> {
  const encapsulation = ends.encapsulation ?? 'untagged';
  const macs = (src: string | undefined, dst: string | undefined): MacAddresses => ({ ...(src !== undefined ? { srcMac: src } : {}), ...(dst !== undefined ? { dstMac: dst } : {}) });
  const resolve = (fromIp: string, toIp: string, fromMac: string | undefined, toMac: string | undefined): Frame[] => {
    if (ends.family === 'ipv4') {
      return [
        { encapsulation, ethertype: 'arp', ...macs(fromMac, BROADCAST_MAC) },
        { encapsulation, ethertype: 'arp', ...macs(toMac, fromMac) },
      ];
    }
    const target = parseIp(toIp);
    const group = target === null ? null : solicitedNodeAddress(target);
    const mcast = group === null ? toIp : formatIp(group);
    const ns: IpFrame = { encapsulation, ethertype: 'ipv6', ...macs(fromMac, group === null ? undefined : ipv6MulticastMac(group)), src: fromIp, dst: mcast, l4: 'icmpv6', icmpType: ND_NEIGHBOUR_SOLICITATION };
    const na: IpFrame = { encapsulation, ethertype: 'ipv6', ...macs(toMac, fromMac), src: toIp, dst: fromIp, l4: 'icmpv6', icmpType: ND_NEIGHBOUR_ADVERTISEMENT };
    return [ns, na];
  };

  const exchange: { from: 'a' | 'b'; frame: Frame; delivery: Delivery }[] = [];
  const send = (from: 'a' | 'b', frame: Frame): ModelError | null => {
    const d = deliverAlong(from === 'a' ? route.forward : route.backward, frame, table);
    if (!d.ok) return d.error;
    exchange.push({ from, frame, delivery: d.value });
    return null;
  };
  const [aRequest, bReply] = resolve(ends.aIp, ends.bIp, ends.aMac, ends.bMac);
  const [bRequest, aReply] = resolve(ends.bIp, ends.aIp, ends.bMac, ends.aMac);
  const plan: ['a' | 'b', Frame | undefined][] = [
    ['a', aRequest],
    ['b', bReply],
    ['b', bRequest],
    ['a', aReply],
  ];
  for (const [from, frame] of plan) {
    if (frame === undefined) continue;
    const e = send(from, frame);
    if (e !== null) return err(e);
  }
  return ok({ ok: exchange.every((x) => x.delivery.delivered), exchange });
}
