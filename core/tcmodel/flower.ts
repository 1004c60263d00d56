// cls_flower's decision for one filter and one frame, for the keys FlowerMatch can hold.
// A key on a field the frame does not carry (dst_port on ICMP, vlan_ethtype on an untagged
// frame, an IPv6 prefix on an IPv4 packet) never matches; neither does `indev` on a frame
// whose way in the caller did not say, nor `dst_mac` on a frame without a destination MAC.
import type { TcFilter } from '../model/tc.js';
import { parseCtState, ctStateMatches, type CtBits } from './ct-state.js';
import { cidrContains } from './ip.js';
import { cvlanEthType, frameProtocol, hasPorts, isIcmp, isIpFrame, vlanEthType, type Frame } from './packet.js';

export function protocolMatches(filter: TcFilter, frame: Frame): boolean {
  return filter.protocol === 'all' || filter.protocol === frameProtocol(frame);
}

/** `indev`: the netdev the frame entered through (skb_iif); flower's `indev` key compares with it. */
export function matches(filter: TcFilter, frame: Frame, ctFlags: CtBits, indev?: string): boolean {
  if (!protocolMatches(filter, frame)) return false;
  const m = filter.match;
  if (m.indev !== undefined && m.indev !== indev) return false;
  if (m.dstMac !== undefined && frame.dstMac?.toLowerCase() !== m.dstMac.toLowerCase()) return false;
  if (m.vlanEthType !== undefined && vlanEthType(frame) !== m.vlanEthType) return false;
  if (m.cvlanEthType !== undefined && cvlanEthType(frame) !== m.cvlanEthType) return false;
  if (m.ctState !== undefined) {
    const key = parseCtState(m.ctState);
    // An unparseable key could not have been installed; treat it as a bug in the input.
    if (key === null) throw new Error(`tcmodel: bad ct_state key '${m.ctState}'`);
    if (!ctStateMatches(key, ctFlags)) return false;
  }
  const needsIp =
    m.ipProto !== undefined || m.srcIp !== undefined || m.dstIp !== undefined || m.dstPort !== undefined || m.icmpType !== undefined;
  if (!needsIp) return true;
  if (!isIpFrame(frame)) return false;
  if (m.ipProto !== undefined && frame.l4 !== m.ipProto) return false;
  if (m.srcIp !== undefined && !cidrContains(m.srcIp, frame.src)) return false;
  if (m.dstIp !== undefined && !cidrContains(m.dstIp, frame.dst)) return false;
  if (m.dstPort !== undefined) {
    if (!hasPorts(frame.l4) || frame.dstPort === undefined) return false;
    if (frame.dstPort < m.dstPort.start || frame.dstPort > m.dstPort.end) return false;
  }
  if (m.icmpType !== undefined) {
    if (!isIcmp(frame.l4) || frame.icmpType !== m.icmpType) return false;
  }
  return true;
}
