// The kernel floor of the apply-path benchmark: the very same filters as a plain `tc -batch`
// file, written here by a template of our own (not the cmdline driver's formatter), installed
// by one `tc` process for every device at once. Nothing is read, compared or ordered.
import type { TcAction, TcFilter } from '../../core/model/tc.js';

function action(a: TcAction): string {
  if (a.kind === 'goto') return `action goto chain ${a.chain}`;
  if (a.kind === 'ct') return `action ct${a.commit ? ' commit' : ''} zone ${a.zone} pipe`;
  return `action ${a.kind}`;
}

export function handLine(dev: string, f: TcFilter): string {
  const m = f.match;
  const port = m.dstPort === undefined ? '' : m.dstPort.start === m.dstPort.end ? ` dst_port ${m.dstPort.start}` : ` dst_port ${m.dstPort.start}-${m.dstPort.end}`;
  return (
    `filter add dev ${dev} ${f.hook} chain ${f.chain} pref ${f.pref} protocol ${f.protocol} flower` +
    (m.vlanEthType ? ` vlan_ethtype ${m.vlanEthType}` : '') +
    (m.cvlanEthType ? ` cvlan_ethtype ${m.cvlanEthType}` : '') +
    (m.ctState ? ` ct_state ${m.ctState}` : '') +
    (m.ipProto ? ` ip_proto ${m.ipProto}` : '') +
    (m.srcIp ? ` src_ip ${m.srcIp}` : '') +
    (m.dstIp ? ` dst_ip ${m.dstIp}` : '') +
    port +
    (m.icmpType !== undefined ? ` type ${m.icmpType}` : '') +
    ` ${f.actions.map(action).join(' ')}`
  );
}

/**
 * One batch for all devices: per device its qdisc, then its filters deepest chain first, so
 * that a `goto` never lands in an empty chain (the kernel accepts either order; this is the
 * order anyone writing it by hand would choose).
 */
export function handBatch(programs: readonly { readonly netdev: string; readonly filters: readonly TcFilter[] }[]): string {
  const lines: string[] = [];
  const depth = (c: number): number => (c === 0 ? 2 : c === 10000 ? 1 : 0);
  for (const p of programs) {
    lines.push(`qdisc add dev ${p.netdev} clsact`);
    for (const f of [...p.filters].sort((a, b) => depth(a.chain) - depth(b.chain))) lines.push(handLine(p.netdev, f));
  }
  return `${lines.join('\n')}\n`;
}
