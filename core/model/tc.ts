// The canonical TC objects: what `compile` produces, what every driver reads back, and what
// `diff` compares. Drivers serialize these (tc batch lines, netlink attributes); nothing
// here knows how. Two filters are the same filter when `filterIdentity` says so.

/** clsact hook: `ingress` sees frames the pod sends (pod egress), `egress` frames to the pod. */
export type Hook = 'ingress' | 'egress';
export type EthProtocol = 'all' | 'ip' | 'ipv6' | 'arp' | '802.1Q' | '802.1ad';
/** Ethertype inside a VLAN tag (`vlan_ethtype`) or inside the inner tag (`cvlan_ethtype`). */
export type InnerEthType = 'ip' | 'ipv6' | 'arp' | '802.1Q';
export type IpProto = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6';

export interface PortRange {
  readonly start: number;
  readonly end: number; // == start for a single port
}

/** Connection-tracking state flags in the fixed order tc prints them. */
export const CT_FLAGS = ['trk', 'new', 'est', 'rel', 'rpl', 'inv'] as const;
export type CtFlag = (typeof CT_FLAGS)[number];
/** `+trk+est` style; set flags first then cleared ones, each group in CT_FLAGS order. */
export type CtState = string;

export interface FlowerMatch {
  /**
   * The netdev the frame entered through (`indev`). Only on a shared block, where one program
   * serves every port of an eswitch and a pod's egress rules must apply to its own port only.
   */
  readonly indev?: string;
  /**
   * Destination MAC (`dst_mac`), lower-case `aa:bb:cc:dd:ee:ff`. Only on a shared block: the
   * eswitch delivers by MAC, so it names the pod a frame is for even where two networks on one
   * switch reuse an address.
   */
  readonly dstMac?: string;
  readonly vlanEthType?: InnerEthType;
  readonly cvlanEthType?: Exclude<InnerEthType, '802.1Q'>;
  readonly ipProto?: IpProto;
  /** Canonical CIDR, network address and prefix length: `10.1.0.0/16`, `fd00::1/128`. */
  readonly srcIp?: string;
  readonly dstIp?: string;
  readonly dstPort?: PortRange;
  readonly icmpType?: number;
  readonly ctState?: CtState;
  /**
   * Observed filters only: what a driver read in an owned filter's keys but cannot express
   * here (`ip_tos=16`). It is part of the identity, so such a filter never equals a desired
   * one and `diff` deletes it (a delete by handle needs no keys). Never set by `compile`.
   */
  readonly unrecognised?: string;
}

export type TcAction =
  | { readonly kind: 'pass' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'goto'; readonly chain: number }
  | { readonly kind: 'ct'; readonly zone: number; readonly commit: boolean };

export interface TcFilter {
  readonly hook: Hook;
  readonly chain: number;
  readonly pref: number;
  readonly protocol: EthProtocol;
  readonly match: FlowerMatch;
  readonly actions: readonly TcAction[];
  /** Kernel handle; present on observed filters, absent on desired ones. */
  readonly handle?: number;
  /** Observed offload state (`in_hw`), when the kernel reports it. */
  readonly inHw?: boolean;
}

export type QdiscKind = 'clsact' | 'ingress';

/** What a driver reads from one netdev (or shared block). Only filters the agent owns are listed. */
export interface ObservedTc {
  /** For a shared block: 'clsact' once every port is bound to it, else null. */
  readonly qdisc: QdiscKind | null;
  readonly filters: readonly TcFilter[];
  /** Filters on each hook that the agent does not own: never touched, but they keep the qdisc alive. */
  readonly foreign: { readonly ingress: number; readonly egress: number };
  /** Shared block only: how each port of the block stands (see PortBinding). */
  readonly ports?: readonly PortBinding[];
  /** A netdev only: its clsact's ingress hook is bound to this shared block (its filters count as foreign). */
  readonly ingressBlock?: number;
}

/**
 * A port of a shared block as observed:
 *  - `bound`: a clsact qdisc whose ingress block is this block;
 *  - `absent`: no clsact or ingress qdisc: binding adds `clsact ingress_block N`;
 *  - `rebindable`: a clsact without an ingress block and without any filter on either hook:
 *    binding replaces it (nothing can be lost);
 *  - `foreign`: anything else (an `ingress` qdisc, clsact with another block or with
 *    filters): never touched; the port stays unbound and this is reported.
 */
export interface PortBinding {
  readonly name: string;
  readonly state: 'bound' | 'absent' | 'rebindable' | 'foreign';
  /** For `foreign`: what is there, in words (`clsact with ingress_block 7`). */
  readonly detail?: string;
}

/** The program `compile` wants on one netdev. An empty list means "nothing of ours here". */
export interface DesiredTc {
  readonly filters: readonly TcFilter[];
}

/** Key fields in a fixed order, so equal matches always print equal. */
export function matchKey(m: FlowerMatch): string {
  const parts: string[] = [];
  if (m.indev !== undefined) parts.push(`indev=${m.indev}`);
  if (m.dstMac !== undefined) parts.push(`dst_mac=${m.dstMac}`);
  if (m.vlanEthType !== undefined) parts.push(`vlan_ethtype=${m.vlanEthType}`);
  if (m.cvlanEthType !== undefined) parts.push(`cvlan_ethtype=${m.cvlanEthType}`);
  if (m.ctState !== undefined) parts.push(`ct_state=${m.ctState}`);
  if (m.ipProto !== undefined) parts.push(`ip_proto=${m.ipProto}`);
  if (m.srcIp !== undefined) parts.push(`src_ip=${m.srcIp}`);
  if (m.dstIp !== undefined) parts.push(`dst_ip=${m.dstIp}`);
  if (m.dstPort !== undefined) parts.push(`dst_port=${m.dstPort.start}-${m.dstPort.end}`);
  if (m.icmpType !== undefined) parts.push(`type=${m.icmpType}`);
  if (m.unrecognised !== undefined) parts.push(`unrecognised=${m.unrecognised}`);
  return parts.join(',');
}

export function actionsKey(actions: readonly TcAction[]): string {
  return actions
    .map((a) => {
      switch (a.kind) {
        case 'pass':
        case 'drop':
          return a.kind;
        case 'goto':
          return `goto:${a.chain}`;
        case 'ct':
          return `ct:${a.zone}${a.commit ? ':commit' : ''}`;
      }
    })
    .join('|');
}

/** Where a filter sits and what it matches: two filters with one identity cannot coexist (EEXIST). */
export function filterIdentity(f: TcFilter): string {
  return `${f.hook}/${f.chain}/${f.pref}/${f.protocol}/${matchKey(f.match)}`;
}

/** Identity plus actions: equal keys mean nothing to change. */
export function filterKey(f: TcFilter): string {
  return `${filterIdentity(f)}=>${actionsKey(f.actions)}`;
}
