// Frames crossing the bridge between two representors:
//
//   source pod --> [source rep, ingress hook] --bridge--> [destination rep, egress hook] --> destination pod
//
// `null` for an end = nothing the agent programs there (an external host, a pod on another
// node, a pod without a program): no hook runs on that side. The skb keeps its ct info
// across the bridge; each frame of an exchange is a new skb.
import { err, ok, type Result } from '../api/result.js';
import type { L4Protocol } from '../model/k8s.js';
import type { Family, Verdict } from '../model/probe.js';
import type { IpProto, TcFilter } from '../model/tc.js';
import { runHook, type HookRun } from './classify.js';
import { acrossHooks, skbOf, type ConntrackTable, type Skb } from './conntrack.js';
import { formatIp, parseIp, solicitedNodeAddress } from './ip.js';
import type { ModelError } from './model-error.js';
import {
  ND_NEIGHBOUR_ADVERTISEMENT,
  ND_NEIGHBOUR_SOLICITATION,
  reverseFrame,
  type Encapsulation,
  type Frame,
  type IpFrame,
  type Segment,
} from './packet.js';

/** The filters on one representor (both hooks). */
export interface Program {
  readonly filters: readonly TcFilter[];
}

export interface Delivery {
  readonly delivered: boolean;
  /** Which hook dropped it, when one did. */
  readonly droppedAt?: 'source' | 'destination';
  readonly source: HookRun | null;
  readonly destination: HookRun | null;
}

export function deliver(src: Program | null, dst: Program | null, frame: Frame, table: ConntrackTable): Result<Delivery, ModelError> {
  let skb: Skb = skbOf(frame);
  let source: HookRun | null = null;
  if (src !== null) {
    const r = runHook(src.filters, 'ingress', skb, table);
    if (!r.ok) return r;
    source = r.value;
    if (source.verdict === 'drop') return ok({ delivered: false, droppedAt: 'source', source, destination: null });
    skb = acrossHooks(source.skb);
  }
  let destination: HookRun | null = null;
  if (dst !== null) {
    const r = runHook(dst.filters, 'egress', skb, table);
    if (!r.ok) return r;
    destination = r.value;
    if (destination.verdict === 'drop') return ok({ delivered: false, droppedAt: 'destination', source, destination });
  }
  return ok({ delivered: true, source, destination });
}

export interface Connection {
  readonly family: Family;
  readonly protocol: L4Protocol;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** Default untagged. */
  readonly encapsulation?: Encapsulation;
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

/**
 * Runs a connection's frames through both programs against `table`: the opening
 * (SYN / INIT / first datagram), the reply, and for TCP and SCTP one data frame each way
 * (the handshake completes and data echoes). Allow iff every frame gets through.
 * Use a fresh table, or distinct source ports, per connection: entries persist.
 */
export function decideConnection(
  srcProgram: Program | null,
  dstProgram: Program | null,
  conn: Connection,
  table: ConntrackTable,
): Result<ConnectionDecision, ModelError> {
  const l4 = L4_OF[conn.protocol];
  const stateful = l4 !== 'udp';
  const opening: IpFrame = {
    encapsulation: conn.encapsulation ?? 'untagged',
    ethertype: conn.family === 'ipv4' ? 'ip' : 'ipv6',
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
    const d = backwards ? deliver(dstProgram, srcProgram, frame, table) : deliver(srcProgram, dstProgram, frame, table);
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

/**
 * Address resolution between two ends, each way: ARP request + reply for IPv4; for IPv6 a
 * neighbour solicitation to the target's solicited-node address and a unicast advertisement
 * back. These must always pass, whatever the policy.
 */
export function checkNeighbourDiscovery(
  a: Program | null,
  b: Program | null,
  ends: { readonly family: Family; readonly aIp: string; readonly bIp: string; readonly encapsulation?: Encapsulation },
  table: ConntrackTable,
): Result<NeighbourCheck, ModelError> {
  const encapsulation = ends.encapsulation ?? 'untagged';
  const resolve = (fromIp: string, toIp: string): Frame[] => {
    if (ends.family === 'ipv4') {
      return [
        { encapsulation, ethertype: 'arp' },
        { encapsulation, ethertype: 'arp' },
      ];
    }
    const target = parseIp(toIp);
    const mcast = target === null ? toIp : formatIp(solicitedNodeAddress(target));
    const ns: IpFrame = { encapsulation, ethertype: 'ipv6', src: fromIp, dst: mcast, l4: 'icmpv6', icmpType: ND_NEIGHBOUR_SOLICITATION };
    const na: IpFrame = { encapsulation, ethertype: 'ipv6', src: toIp, dst: fromIp, l4: 'icmpv6', icmpType: ND_NEIGHBOUR_ADVERTISEMENT };
    return [ns, na];
  };

  const exchange: { from: 'a' | 'b'; frame: Frame; delivery: Delivery }[] = [];
  const send = (from: 'a' | 'b', frame: Frame): ModelError | null => {
    const d = from === 'a' ? deliver(a, b, frame, table) : deliver(b, a, frame, table);
    if (!d.ok) return d.error;
    exchange.push({ from, frame, delivery: d.value });
    return null;
  };
  const [aRequest, bReply] = resolve(ends.aIp, ends.bIp);
  const [bRequest, aReply] = resolve(ends.bIp, ends.aIp);
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
