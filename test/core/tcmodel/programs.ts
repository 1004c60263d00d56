// Hand-built TC programs in the shapes of /work/briefs/layout.md, for the model's tests.
// Deliberately independent of core/pipeline: these are the expected shapes written out.
import type { EthProtocol, FlowerMatch, Hook, IpProto, TcAction, TcFilter } from '../../../core/model/tc.js';
import type { Program } from '../../../core/tcmodel/probe.js';

export const pass: TcAction = { kind: 'pass' };
export const drop: TcAction = { kind: 'drop' };
export const goto = (chain: number): TcAction => ({ kind: 'goto', chain });
export const ct = (zone = 0, commit = false): TcAction => ({ kind: 'ct', zone, commit });

export function filter(hook: Hook, chain: number, pref: number, protocol: EthProtocol, match: FlowerMatch, ...actions: TcAction[]): TcFilter {
  return { hook, chain, pref, protocol, match, actions };
}

/** Chain 0 of an isolated hook: ARP passes, every IP frame goes through ct, the rest drops. */
export function entryChain(hook: Hook, zone = 0): TcFilter[] {
  const toVerdict = [ct(zone), goto(10000)];
  return [
    filter(hook, 0, 10000, 'arp', {}, pass),
    filter(hook, 0, 10001, 'ip', {}, ...toVerdict),
    filter(hook, 0, 10002, 'ipv6', {}, ...toVerdict),
    filter(hook, 0, 10003, '802.1Q', { vlanEthType: 'arp' }, pass),
    filter(hook, 0, 10003, '802.1Q', { vlanEthType: 'ip' }, ...toVerdict),
    filter(hook, 0, 10003, '802.1Q', { vlanEthType: 'ipv6' }, ...toVerdict),
    filter(hook, 0, 10004, '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'arp' }, pass),
    filter(hook, 0, 10004, '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'ip' }, ...toVerdict),
    filter(hook, 0, 10004, '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'ipv6' }, ...toVerdict),
    filter(hook, 0, 10009, 'all', {}, drop),
  ];
}

export interface Allow {
  readonly cidr: string;
  readonly ipProto?: IpProto;
  readonly ports?: readonly [number, number];
}

/** Verdict chain 10000: replies, neighbour discovery, one filter per allow and encapsulation, drop. */
export function verdictChain(hook: Hook, allows: readonly Allow[], zone = 0): TcFilter[] {
  const peerKey = hook === 'ingress' ? 'dstIp' : 'srcIp';
  const commit = [ct(zone, true), pass];
  const out: TcFilter[] = [
    filter(hook, 10000, 1, 'all', { ctState: '+trk+est' }, pass),
    filter(hook, 10000, 1, 'all', { ctState: '+trk+rel' }, pass),
  ];
  for (const nd of [135, 136]) {
    out.push(filter(hook, 10000, 3, 'ipv6', { ipProto: 'icmpv6', icmpType: nd }, pass));
    out.push(filter(hook, 10000, 4, '802.1Q', { vlanEthType: 'ipv6', ipProto: 'icmpv6', icmpType: nd }, pass));
    out.push(filter(hook, 10000, 5, '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'ipv6', ipProto: 'icmpv6', icmpType: nd }, pass));
  }
  for (const a of allows) {
    const v6 = a.cidr.includes(':');
    const l4: FlowerMatch = {
      ctState: '+trk+new',
      [peerKey]: a.cidr,
      ...(a.ipProto !== undefined ? { ipProto: a.ipProto } : {}),
      ...(a.ports !== undefined ? { dstPort: { start: a.ports[0], end: a.ports[1] } } : {}),
    };
    out.push(filter(hook, 10000, v6 ? 3 : 2, v6 ? 'ipv6' : 'ip', l4, ...commit));
    out.push(filter(hook, 10000, 4, '802.1Q', { vlanEthType: v6 ? 'ipv6' : 'ip', ...l4 }, ...commit));
    out.push(filter(hook, 10000, 5, '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: v6 ? 'ipv6' : 'ip', ...l4 }, ...commit));
  }
  out.push(filter(hook, 10000, 9, 'all', {}, drop));
  return out;
}

/** An open hook whose other direction is isolated: commit every new connection. */
export function openHook(hook: Hook, zone = 0): TcFilter[] {
  const commit = [ct(zone, true), pass];
  return [
    filter(hook, 0, 10001, 'ip', {}, ...commit),
    filter(hook, 0, 10002, 'ipv6', {}, ...commit),
    filter(hook, 0, 10003, '802.1Q', { vlanEthType: 'ip' }, ...commit),
    filter(hook, 0, 10003, '802.1Q', { vlanEthType: 'ipv6' }, ...commit),
    filter(hook, 0, 10004, '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'ip' }, ...commit),
    filter(hook, 0, 10004, '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'ipv6' }, ...commit),
  ];
}

export type Side = 'open' | readonly Allow[];

/**
 * The program of one representor: `egress` = the pod's egress policy (ingress hook),
 * `ingress` = the pod's ingress policy (egress hook); 'open' = not isolated.
 */
export function layoutProgram(sides: { readonly egress: Side; readonly ingress: Side; readonly zone?: number }): Program {
  const zone = sides.zone ?? 0;
  const filters: TcFilter[] = [];
  const build = (hook: Hook, side: Side, other: Side): void => {
    if (side === 'open') {
      if (other !== 'open') filters.push(...openHook(hook, zone));
      return;
    }
    filters.push(...verdictChain(hook, side, zone), ...entryChain(hook, zone));
  };
  build('ingress', sides.egress, sides.ingress);
  build('egress', sides.ingress, sides.egress);
  return { filters };
}
