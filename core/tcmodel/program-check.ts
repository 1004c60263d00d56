// Static checks on a whole program, for what the kernel or `tc` would refuse to install.
// Classification (classify.ts) assumes a program that passes these.
import { filterIdentity, type TcFilter } from '../model/tc.js';
import { parseCtState } from './ct-state.js';
import { parseCidr } from './ip.js';
import type { ModelError } from './model-error.js';

/** The ethertype flower's L3/L4 keys are parsed against: the protocol, or the ethertype inside the tag(s). */
function keyEthType(f: TcFilter): string {
  if (f.protocol === '802.1Q') return f.match.vlanEthType ?? '802.1Q';
  if (f.protocol === '802.1ad') return f.match.vlanEthType === '802.1Q' ? (f.match.cvlanEthType ?? '802.1Q') : (f.match.vlanEthType ?? '802.1ad');
  return f.protocol;
}

/** The kernel's rule for interface names (dev_valid_name): what `indev NAME` can name at all. */
const isIfname = (s: string): boolean => s.length > 0 && Buffer.byteLength(s) < 16 && s !== '.' && s !== '..' && !/[/:\s]/.test(s);

/** Why `tc` would refuse this filter's keys, or null. */
export function filterProblem(f: TcFilter): string | null {
  const m = f.match;
  // Whether the device exists is the host's business; a name no device can have is ours.
  if (m.indev !== undefined && !isIfname(m.indev)) return `indev '${m.indev}' is not a netdev name`;
  if (m.dstMac !== undefined && !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(m.dstMac)) return `dst_mac '${m.dstMac}' is not a MAC address`;
  if (m.vlanEthType !== undefined && f.protocol !== '802.1Q' && f.protocol !== '802.1ad') return 'vlan_ethtype needs protocol 802.1Q or 802.1ad';
  if (m.cvlanEthType !== undefined && (f.protocol !== '802.1ad' || m.vlanEthType !== '802.1Q')) return 'cvlan_ethtype needs protocol 802.1ad and vlan_ethtype 802.1Q';
  if (m.ctState !== undefined && parseCtState(m.ctState) === null) return `ct_state '${m.ctState}' is not a flag list`;
  const eth = keyEthType(f);
  const ipKeys = m.ipProto !== undefined || m.srcIp !== undefined || m.dstIp !== undefined;
  if (ipKeys && eth !== 'ip' && eth !== 'ipv6') return `ip_proto/src_ip/dst_ip need an IP ethertype, not ${eth}`;
  for (const cidr of [m.srcIp, m.dstIp]) {
    if (cidr === undefined) continue;
    const c = parseCidr(cidr);
    if (c === null) return `'${cidr}' is not a prefix`;
    if ((c.family === 'ipv4') !== (eth === 'ip')) return `'${cidr}' does not fit ethertype ${eth}`;
  }
  if (m.dstPort !== undefined) {
    if (m.ipProto !== 'tcp' && m.ipProto !== 'udp' && m.ipProto !== 'sctp') return 'dst_port needs ip_proto tcp, udp or sctp';
    if (m.dstPort.start > m.dstPort.end) return 'dst_port range is reversed';
  }
  if (m.icmpType !== undefined) {
    if (m.ipProto !== (eth === 'ip' ? 'icmp' : 'icmpv6')) return 'type needs ip_proto icmp (IPv4) or icmpv6 (IPv6)';
  }
  if (m.ipProto === 'icmp' && eth !== 'ip') return 'ip_proto icmp on a non-IPv4 filter';
  if (m.ipProto === 'icmpv6' && eth !== 'ipv6') return 'ip_proto icmpv6 on a non-IPv6 filter';
  if (f.actions.length === 0) return 'no actions';
  return null;
}

/** Every problem of the program, in filter order; empty when the kernel would take it. */
export function checkProgram(filters: readonly TcFilter[]): ModelError[] {
  const problems: ModelError[] = [];
  const seen = new Set<string>();
  const protocols = new Map<string, Set<string>>();
  for (const f of filters) {
    const problem = filterProblem(f);
    if (problem !== null) problems.push({ code: 'invalid-filter', filter: f, problem });
    const id = filterIdentity(f);
    if (seen.has(id)) problems.push({ code: 'duplicate-filter', filter: f });
    seen.add(id);
    const place = `${f.hook}/${f.chain}/${f.pref}`;
    const set = protocols.get(place) ?? new Set<string>();
    set.add(f.protocol);
    protocols.set(place, set);
  }
  for (const [place, set] of protocols) {
    if (set.size < 2) continue;
    const [hook, chain, pref] = place.split('/');
    problems.push({ code: 'pref-protocol-mix', hook: hook === 'egress' ? 'egress' : 'ingress', chain: Number(chain), pref: Number(pref), protocols: [...set] });
  }
  return problems;
}
