// Plan → `tc -batch` input: one line per plan op, in plan order, so a failing line number
// from tc is the 1-based index of the failing op. Pure. Syntax (docs: the TC program):
//
//   qdisc add dev X clsact
//   qdisc del dev X clsact
//   filter add     dev X HOOK chain C pref P protocol PROTO          flower KEYS ACTIONS
//   filter replace dev X HOOK chain C pref P protocol PROTO handle H flower KEYS ACTIONS
//   filter del     dev X HOOK chain C pref P protocol PROTO handle H flower
//
// Keys in a fixed order: the encapsulation first (tc needs the inner ethertype before it can
// read an address or ip_proto), ip_proto before dst_port and type (tc refuses a port without
// it). Values that are not canonical are a bug upstream: they throw instead of reaching tc.
import type { Netdev } from '../../core/model/attachment.js';
import type { Plan, PlanOp } from '../../core/model/plan.js';
import type { FlowerMatch, TcAction, TcFilter } from '../../core/model/tc.js';
import { canonicalCidr, canonicalCtState } from '../shared/canonical.js';
import { assertIfname } from './ifname.js';

export function toBatchLines(dev: Netdev, plan: Plan): string[] {
  const name = assertIfname(dev.name);
  return plan.ops.map((op) => lineOf(name, op));
}

function lineOf(dev: string, op: PlanOp): string {
  switch (op.op) {
    case 'add-qdisc':
      return `qdisc add dev ${dev} clsact`;
    case 'delete-qdisc':
      return `qdisc del dev ${dev} clsact`;
    case 'add':
      return [`filter add dev ${dev}`, place(op.filter), 'flower', ...keys(op.filter.match), ...actions(op.filter)].join(' ');
    case 'replace':
      return [`filter replace dev ${dev}`, place(op.filter), `handle ${handle(op.filter.handle)}`, 'flower', ...keys(op.filter.match), ...actions(op.filter)].join(' ');
    case 'delete':
      return [`filter del dev ${dev}`, place(op.filter), `handle ${handle(op.filter.handle)}`, 'flower'].join(' ');
  }
}

const place = (f: TcFilter): string => `${f.hook} chain ${uint(f.chain, 0xffffffff, 'chain')} pref ${uint(f.pref, 0xffff, 'pref', 1)} protocol ${f.protocol}`;

function keys(m: FlowerMatch): string[] {
  if (m.unrecognised !== undefined) bug(`an observed filter with unrecognised keys (${m.unrecognised}) can only be deleted`);
  const out: string[] = [];
  if (m.vlanEthType !== undefined) out.push('vlan_ethtype', m.vlanEthType);
  if (m.cvlanEthType !== undefined) out.push('cvlan_ethtype', m.cvlanEthType);
  if (m.ctState !== undefined) out.push('ct_state', canonical(m.ctState, canonicalCtState, 'ct_state'));
  if (m.ipProto !== undefined) out.push('ip_proto', m.ipProto);
  if (m.srcIp !== undefined) out.push('src_ip', canonical(m.srcIp, canonicalCidr, 'src_ip'));
  if (m.dstIp !== undefined) out.push('dst_ip', canonical(m.dstIp, canonicalCidr, 'dst_ip'));
  if (m.dstPort !== undefined) {
    const { start, end } = m.dstPort;
    uint(start, 0xffff, 'dst_port');
    uint(end, 0xffff, 'dst_port');
    if (end < start) bug(`dst_port range ${start}-${end} is reversed`);
    // tc refuses `80-80` ("max value should be greater than min value")
    out.push('dst_port', start === end ? `${start}` : `${start}-${end}`);
  }
  if (m.icmpType !== undefined) out.push('type', `${uint(m.icmpType, 255, 'type')}`);
  return out;
}

function actions(f: TcFilter): string[] {
  if (f.actions.length === 0) bug('a filter without actions');
  return f.actions.flatMap((a: TcAction): string[] => {
    switch (a.kind) {
      case 'pass':
      case 'drop':
        return ['action', a.kind];
      case 'goto':
        return ['action', 'goto', 'chain', `${uint(a.chain, 0xffffffff, 'goto chain')}`];
      case 'ct':
        return ['action', 'ct', ...(a.commit ? ['commit'] : []), 'zone', `${uint(a.zone, 0xffff, 'ct zone')}`, 'pipe'];
    }
  });
}

const handle = (h: number): number => uint(h, 0xffffffff, 'handle', 1);

function uint(n: number, max: number, what: string, min = 0): number {
  if (!Number.isInteger(n) || n < min || n > max) bug(`${what} ${n} is not an integer in ${min}..${max}`);
  return n;
}

function canonical(text: string, canon: (s: string) => string | undefined, what: string): string {
  if (canon(text) !== text) bug(`${what} ${JSON.stringify(text)} is not in canonical form`);
  return text;
}

function bug(problem: string): never {
  throw new Error(`toBatchLines: ${problem}`);
}
