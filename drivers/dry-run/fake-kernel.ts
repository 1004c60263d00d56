// The TC state of one netdev and what the kernel does to it for each plan op, as measured in
// the lab (iproute2 6.1 / Linux 6.1, messages as tc prints them). Pure: every op returns a
// new state or the kernel's refusal.
//
//   add-qdisc     any qdisc present → "Exclusivity flag on" (clsact and ingress exclude each other)
//   delete-qdisc  drops every filter; none → "Cannot find specified qdisc"; ingress → "Invalid qdisc name"
//   filter ops    no qdisc → "Parent Qdisc doesn't exists"; on a plain ingress qdisc an
//                 `egress` filter lands on the ingress hook
//   add           pref held by another protocol/kind → refused; same keys in the pref → EEXIST;
//                 handle = lowest free number in the pref
//   replace H     H present: same mask required (EINVAL), keys and actions replaced;
//                 H absent: CREATED with handle H (tc's replace sets NLM_F_CREATE)
//   delete H      missing chain / pref+protocol / handle → refused; an emptied pref disappears
//   a port bound to a shared block (`ingressBlock`): its ingress hook is the block's, and a
//                 filter op on it through the netdev is refused ("This filter block is
//                 shared"); deleting its clsact unbinds it. Blocks themselves: fake-block.ts.
import type { PlanOp } from '../../core/model/plan.js';
import type { FlowerMatch, Hook, ObservedTc, QdiscKind, TcFilter } from '../../core/model/tc.js';
import { matchKey } from '../../core/model/tc.js';
import { isOwned } from '../../core/pipeline/layout.js';
import { canonicalProtocol } from '../shared/canonical.js';

/** One filter as the kernel holds it: ours are flower with a TcFilter; others only have a place and a kind. */
export interface KernelFilter {
  readonly hook: Hook;
  readonly chain: number;
  readonly pref: number;
  /** tc's name of the protocol (`ip`, `802.1Q`, `LLDP`). */
  readonly protocol: string;
  readonly kind: string;
  readonly handle: number;
  /** Flower filters only. */
  readonly flower?: TcFilter;
}

export interface KernelState {
  readonly qdisc: QdiscKind | null;
  /** The qdisc's `ingress_block`: its ingress hook is that shared block (fake-block.ts). */
  readonly ingressBlock?: number;
  /** The netdev's own filters (a bound port: its egress hook only). */
  readonly filters: readonly KernelFilter[];
}

export const EMPTY_STATE: KernelState = { qdisc: null, filters: [] };

export type OpResult = { readonly ok: true; readonly state: KernelState } | { readonly ok: false; readonly message: string };

const refuse = (message: string): OpResult => ({ ok: false, message });
const NO_PREF = 'Error: Filter with specified priority/protocol not found.';
const KIND_MISMATCH = 'Error: Specified filter kind does not match existing one.';
const SHARED = 'Error: This filter block is shared. Please use the block index to manipulate the filters.';

export function execOp(s: KernelState, op: PlanOp): OpResult {
  switch (op.op) {
    case 'add-qdisc':
      return s.qdisc !== null ? refuse('Error: Exclusivity flag on, cannot modify.') : { ok: true, state: { qdisc: 'clsact', filters: s.filters } };
    case 'delete-qdisc':
      if (s.qdisc === null) return refuse('Error: Cannot find specified qdisc on specified device.');
      if (s.qdisc === 'ingress') return refuse('Error: Invalid qdisc name.');
      return { ok: true, state: EMPTY_STATE };
    case 'add':
      return addFilter(s, op.filter, undefined);
    case 'replace':
      return addFilter(s, op.filter, op.filter.handle);
    case 'delete':
      return deleteFilter(s, op.filter);
    case 'bind':
      return refuse('bind: not an op on a netdev (a shared-block target binds its ports)');
  }
}

/** Where a filter op lands: a plain ingress qdisc has only one hook, and tc maps `egress` to it. */
const hookOf = (s: KernelState, h: Hook): Hook => (s.qdisc === 'ingress' ? 'ingress' : h);

function prefOf(s: KernelState, hook: Hook, chain: number, pref: number): KernelFilter[] {
  return s.filters.filter((k) => k.hook === hook && k.chain === chain && k.pref === pref);
}

function addFilter(s: KernelState, f: TcFilter, handle: number | undefined): OpResult {
  if (s.qdisc === null) return refuse("Error: Parent Qdisc doesn't exists.");
  const hook = hookOf(s, f.hook);
  if (hook === 'ingress' && s.ingressBlock !== undefined) return refuse(SHARED);
  const inPref = prefOf(s, hook, f.chain, f.pref);
  const first = inPref[0];
  if (first && first.protocol !== f.protocol) return refuse(NO_PREF);
  if (first && first.kind !== 'flower') return refuse(KIND_MISMATCH);
  const old = handle === undefined ? undefined : inPref.find((k) => k.handle === handle);
  const key = matchKey(f.match);
  if (old) {
    // the lab kernel accepted a replace whose new keys equal another filter's; not refused here either
    if (maskOf(old.flower?.match ?? {}) !== maskOf(f.match)) return refuse('RTNETLINK answers: Invalid argument');
  } else if (inPref.some((k) => k.flower !== undefined && matchKey(k.flower.match) === key)) {
    return refuse('RTNETLINK answers: File exists');
  }
  const h = handle ?? lowestFree(inPref);
  const stored: KernelFilter = { hook, chain: f.chain, pref: f.pref, protocol: f.protocol, kind: 'flower', handle: h, flower: { hook, chain: f.chain, pref: f.pref, protocol: f.protocol, match: f.match, actions: f.actions, handle: h } };
  const rest = old ? s.filters.filter((k) => k !== old) : s.filters;
  return { ok: true, state: { ...s, filters: [...rest, stored] } };
}

function deleteFilter(s: KernelState, f: TcFilter & { readonly handle: number }): OpResult {
  if (s.qdisc === null) return refuse("Error: Parent Qdisc doesn't exists.");
  const hook = hookOf(s, f.hook);
  if (hook === 'ingress' && s.ingressBlock !== undefined) return refuse(SHARED);
  if (f.chain !== 0 && !s.filters.some((k) => k.hook === hook && k.chain === f.chain)) return refuse('Error: Cannot find specified filter chain.');
  const inPref = prefOf(s, hook, f.chain, f.pref);
  const first = inPref[0];
  if (!first || first.protocol !== f.protocol) return refuse(NO_PREF);
  if (first.kind !== 'flower') return refuse(KIND_MISMATCH);
  const victim = inPref.find((k) => k.handle === f.handle);
  if (!victim) return refuse('Error: Specified filter handle not found.');
  return { ok: true, state: { ...s, filters: s.filters.filter((k) => k !== victim) } };
}

function lowestFree(inPref: readonly KernelFilter[]): number {
  const used = new Set(inPref.map((k) => k.handle));
  let h = 1;
  while (used.has(h)) h++;
  return h;
}

/**
 * Which keys a match sets and how wide: flower keeps one mask per set of keys, and a replace
 * may change values but not the mask. A single port and a range are different keys.
 */
export function maskOf(m: FlowerMatch): string {
  const len = (cidr: string | undefined): string => (cidr === undefined ? '-' : (cidr.split('/')[1] ?? 'host'));
  const ctMask = m.ctState === undefined ? '-' : [...m.ctState.matchAll(/[+-]([a-z]+)/g)].map((x) => x[1]).sort().join('+');
  const port = m.dstPort === undefined ? '-' : m.dstPort.start === m.dstPort.end ? 'port' : 'range';
  return [m.indev !== undefined, m.dstMac !== undefined, m.vlanEthType !== undefined, m.cvlanEthType !== undefined, m.ipProto !== undefined, len(m.srcIp), len(m.dstIp), port, m.icmpType !== undefined, ctMask, m.unrecognised ?? '-'].join('|');
}

/**
 * What `tc -j` shows of the state, through the same ownership rules as the cmdline parser.
 * For a bound port, pass its block's filters in `blockFilters`: tc shows them as the ingress
 * hook's, and the drivers count them as foreign there (they are the block's, not the netdev's).
 */
export function observeState(s: KernelState, blockFilters: readonly KernelFilter[] = []): ObservedTc {
  if (s.qdisc === null) return { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } };
  if (s.ingressBlock === undefined) {
    const { owned, foreign } = splitOwned(s.filters);
    return { qdisc: s.qdisc, filters: owned, foreign };
  }
  const { owned, foreign } = splitOwned(s.filters.filter((k) => k.hook !== 'ingress'));
  return { qdisc: s.qdisc, filters: owned, foreign: { ingress: blockFilters.length, egress: foreign.egress }, ingressBlock: s.ingressBlock };
}

/** Filters in tc's show order, split into the agent's (by place, as the parser does) and a count of the others per hook. */
export function splitOwned(all: readonly KernelFilter[]): { owned: TcFilter[]; foreign: { ingress: number; egress: number } } {
  const sorted = [...all].sort((a, b) => (a.hook === b.hook ? 0 : a.hook === 'ingress' ? -1 : 1) || a.chain - b.chain || a.pref - b.pref || a.handle - b.handle);
  const owned: TcFilter[] = [];
  const foreign = { ingress: 0, egress: 0 };
  for (const k of sorted) {
    const ours = k.kind === 'flower' && k.flower !== undefined && canonicalProtocol(k.protocol) !== undefined && isOwned(k.hook, k.chain, k.pref);
    if (ours) owned.push(k.flower!);
    else foreign[k.hook]++;
  }
  return { owned, foreign };
}
