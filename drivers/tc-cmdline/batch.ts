// Plan → `tc -batch` input: the lines of each plan op, in plan order, so a failing line number
// from tc names the failing op. Pure. Syntax (docs: the TC program):
//
//   qdisc add dev X clsact
//   qdisc del dev X clsact
//   filter add     dev X HOOK chain C pref P protocol PROTO          flower KEYS ACTIONS
//   filter replace dev X HOOK chain C pref P protocol PROTO handle H flower KEYS ACTIONS
//   filter del     dev X HOOK chain C pref P protocol PROTO handle H flower
//
// A shared-block target (`dev.block`) names `block N` instead of `dev X HOOK` (a filter of a
// shared block cannot be changed through one of its ports) and binds its ports:
//
//   qdisc add dev P ingress_block N clsact                        bind
//   qdisc del dev P clsact  +  qdisc add dev P ingress_block N clsact   bind, replace
//
// (`qdisc replace dev P ingress_block N clsact` on an existing clsact exits 0 and changes
// nothing, lab kernel 6.1: a rebind has to delete first.) Every op is one line except a
// replacing bind, which is two.
//
// Keys in a fixed order: indev and dst_mac first, then the encapsulation (tc needs the inner ethertype
// before it can read an address or ip_proto), ip_proto before dst_port and type (tc refuses
// a port without it). Values that are not canonical are a bug upstream: they throw instead
// of reaching tc, as does an op the target cannot take (drivers/shared/block-target.ts).
import type { Netdev } from '../../core/model/attachment.js';
import type { Plan, PlanOp } from '../../core/model/plan.js';
import type { FlowerMatch, TcAction, TcFilter } from '../../core/model/tc.js';
import { isBlockIndex, planProblem } from '../shared/block-target.js';
import { canonicalCidr, canonicalCtState } from '../shared/canonical.js';
import { canonicalMac } from '../shared/canonical-mac.js';
import { assertIfname } from './ifname.js';

export function toBatchLines(dev: Netdev, plan: Plan): string[] {
  return toBatchOpLines(dev, plan).flat();
}

/** The lines of each op, one list per op (a replacing bind has two). */
export function toBatchOpLines(dev: Netdev, plan: Plan): string[][] {
  const problem = planProblem(dev, plan);
  if (problem !== undefined) bug(problem);
  const target = targetOf(dev);
  return plan.ops.map((op) => linesOf(target, op));
}

/** How lines name the target: `dev X` + the hook word, or `block N` with no hook word. */
interface Target {
  readonly qdisc: string;
  readonly filter: (f: TcFilter) => string;
  readonly block?: number;
}

function targetOf(dev: Netdev): Target {
  if (dev.block === undefined) {
    const name = assertIfname(dev.name);
    return { qdisc: `dev ${name}`, filter: (f) => `dev ${name} ${f.hook}` };
  }
  const index = dev.block.index;
  if (!isBlockIndex(index)) bug(`block index ${index} is not an integer in 1..4294967295`);
  for (const p of dev.block.ports) assertIfname(p);
  return { qdisc: `block ${index}`, filter: () => `block ${index}`, block: index };
}

function linesOf(t: Target, op: PlanOp): string[] {
  switch (op.op) {
    case 'add-qdisc':
      return [`qdisc add ${t.qdisc} clsact`];
    case 'delete-qdisc':
      return [`qdisc del ${t.qdisc} clsact`];
    case 'bind': {
      const port = assertIfname(op.port);
      const add = `qdisc add dev ${port} ingress_block ${t.block ?? bug('bind on a netdev')} clsact`;
      return op.replace ? [`qdisc del dev ${port} clsact`, add] : [add];
    }
    case 'add':
      return [[`filter add ${t.filter(op.filter)}`, place(op.filter), 'flower', ...keys(op.filter.match), ...actions(op.filter)].join(' ')];
    case 'replace':
      return [[`filter replace ${t.filter(op.filter)}`, place(op.filter), `handle ${handle(op.filter.handle)}`, 'flower', ...keys(op.filter.match), ...actions(op.filter)].join(' ')];
    case 'delete':
      return [[`filter del ${t.filter(op.filter)}`, place(op.filter), `handle ${handle(op.filter.handle)}`, 'flower'].join(' ')];
  }
}

const place = (f: TcFilter): string => `chain ${uint(f.chain, 0xffffffff, 'chain')} pref ${uint(f.pref, 0xffff, 'pref', 1)} protocol ${f.protocol}`;

function keys(m: FlowerMatch): string[] {
  if (m.unrecognised !== undefined) bug(`an observed filter with unrecognised keys (${m.unrecognised}) can only be deleted`);
  const out: string[] = [];
  if (m.indev !== undefined) out.push('indev', assertIfname(m.indev));
  if (m.dstMac !== undefined) out.push('dst_mac', canonical(m.dstMac, canonicalMac, 'dst_mac'));
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
  const out: string[] = [];
  for (const a of f.actions as readonly TcAction[]) {
    switch (a.kind) {
      case 'pass':
      case 'drop':
        out.push('action', a.kind);
        break;
      case 'goto':
        out.push('action', 'goto', 'chain', `${uint(a.chain, 0xffffffff, 'goto chain')}`);
        break;
      case 'ct':
        out.push('action', 'ct', ...(a.commit ? ['commit'] : []), 'zone', `${uint(a.zone, 0xffff, 'ct zone')}`, 'pipe');
        break;
    }
  }
  return out;
}

const handle = (h: number): number => uint(h, 0xffffffff, 'handle', 1);

function uint(n: number, max: number, what: string, min = 0): number {
  if (!Number.isInteger(n) || n < min || n > max) bug(`${what} ${n} is not an integer in ${min}..${max}`);
  return n;
}

/**
 * Values already found canonical, per kind: a node program repeats the same few ct states and
 * addresses across thousands of lines, and checking them is most of the formatting time.
 * Bounded: emptied when it reaches MAX_KNOWN.
 */
const known = new Map<string, Set<string>>();
const MAX_KNOWN = 20_000;

function canonical(text: string, canon: (s: string) => string | undefined, what: string): string {
  let seen = known.get(what);
  if (seen?.has(text)) return text;
  if (canon(text) !== text) bug(`${what} ${JSON.stringify(text)} is not in canonical form`);
  if (!seen) known.set(what, (seen = new Set()));
  if (seen.size >= MAX_KNOWN) seen.clear();
  seen.add(text);
  return text;
}

function bug(problem: string): never {
  throw new Error(`toBatchLines: ${problem}`);
}
