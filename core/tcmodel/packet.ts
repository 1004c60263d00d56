// A frame as the model sees it: just the header fields that flower keys and conntrack read.
import type { EthProtocol, InnerEthType, IpProto } from '../model/tc.js';

/** `802.1ad` is QinQ: an outer 802.1ad tag around an inner 802.1Q tag. */
export type Encapsulation = 'untagged' | '802.1Q' | '802.1ad';

/**
 * Where a TCP or SCTP segment sits in a connection: the first packet of the initiator
 * (SYN / INIT), the responder's answer (SYN-ACK / INIT-ACK), or anything after (data).
 */
export type Segment = 'opening' | 'reply-opening' | 'data';

/**
 * Ethernet addresses, lower-case `aa:bb:cc:dd:ee:ff`. Optional: a frame without `dstMac` is
 * addressed to some station the program does not know (an external host, a router), so no
 * `dst_mac` key matches it.
 */
export interface MacAddresses {
  readonly srcMac?: string;
  readonly dstMac?: string;
}

export interface NonIpFrame extends MacAddresses {
  readonly encapsulation: Encapsulation;
  readonly ethertype: 'arp' | 'other';
}

export interface IpFrame extends MacAddresses {
  readonly encapsulation: Encapsulation;
  readonly ethertype: 'ip' | 'ipv6';
  readonly src: string;
  readonly dst: string;
  readonly l4: IpProto;
  /** TCP, UDP, SCTP only. */
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** ICMP, ICMPv6 only. */
  readonly icmpType?: number;
  /** TCP, SCTP only; absent means data. */
  readonly segment?: Segment;
}

export type Frame = NonIpFrame | IpFrame;

export const isIpFrame = (f: Frame): f is IpFrame => f.ethertype === 'ip' || f.ethertype === 'ipv6';

export const hasPorts = (l4: IpProto): boolean => l4 === 'tcp' || l4 === 'udp' || l4 === 'sctp';
export const isIcmp = (l4: IpProto): boolean => l4 === 'icmp' || l4 === 'icmpv6';

/**
 * The protocol the classifier sees (what `protocol X` compares with): for a tagged frame
 * the tag's TPID, never the payload's ethertype. 'other' matches only `protocol all`.
 */
export function frameProtocol(f: Frame): EthProtocol | 'other' {
  if (f.encapsulation !== 'untagged') return f.encapsulation;
  return f.ethertype;
}

/** Ethertype inside the (outer) tag, what `vlan_ethtype` compares with; null when untagged. */
export function vlanEthType(f: Frame): InnerEthType | 'other' | null {
  if (f.encapsulation === 'untagged') return null;
  if (f.encapsulation === '802.1ad') return '802.1Q';
  return f.ethertype;
}

/** Ethertype inside the inner tag of a QinQ frame (`cvlan_ethtype`); null otherwise. */
export function cvlanEthType(f: Frame): InnerEthType | 'other' | null {
  return f.encapsulation === '802.1ad' ? f.ethertype : null;
}

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

export const ICMP_ECHO_REQUEST = { icmp: 8, icmpv6: 128 } as const;
export const ICMP_ECHO_REPLY = { icmp: 0, icmpv6: 129 } as const;
export const ND_NEIGHBOUR_SOLICITATION = 135;
export const ND_NEIGHBOUR_ADVERTISEMENT = 136;

/** The same packet flow seen from the other end: addresses (MAC and IP) and ports swapped. */
export function reverseFrame(f: IpFrame, segment?: Segment): IpFrame {
  const reversed: IpFrame = {
    encapsulation: f.encapsulation,
    ethertype: f.ethertype,
    ...(f.dstMac !== undefined ? { srcMac: f.dstMac } : {}),
    ...(f.srcMac !== undefined ? { dstMac: f.srcMac } : {}),
    src: f.dst,
    dst: f.src,
    l4: f.l4,
    ...(f.dstPort !== undefined ? { srcPort: f.dstPort } : {}),
    ...(f.srcPort !== undefined ? { dstPort: f.srcPort } : {}),
    ...(f.icmpType !== undefined ? { icmpType: f.icmpType } : {}),
    ...(segment !== undefined ? { segment } : {}),
  };
  return reversed;
}
