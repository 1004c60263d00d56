// diff: the ordered plan that turns the observed TC state of one netdev into the desired
// program, make-before-break:
//   1. the clsact qdisc, if missing;
//   2. additions and in-place replacements (same match, new actions: atomic with a handle),
//      deepest chains first (a `goto` into a chain that is still empty would pass frames),
//      and within a chain catch-all drops last;
//   3. deletions, entry chain first (nothing jumps into a chain while it is emptied), its
//      catch-all drop before the filters that pass ARP and neighbour discovery.
// A changed match cannot be replaced in place (the kernel keeps masks), so it is an add of
// the new filter followed by a delete of the old one.
import type { Handled, Plan, PlanOp } from '../model/plan.js';
import type { ObservedTc, TcFilter } from '../model/tc.js';
import { actionsKey, filterIdentity, filterKey } from '../model/tc.js';
import { ENTRY_CHAIN, isOwned, OWNED_CHAIN_LAST, PORT_CHAIN_FIRST, VERDICT_CHAIN } from './layout.js';

export interface DiffResult {
  readonly plan: Plan;
  /** Why part of the desired program cannot be installed on this netdev (reported, not fatal). */
  readonly unavailable?: string;
}

export function diff(desired: readonly TcFilter[], observedTc: ObservedTc): DiffResult {
  // drivers list only our filters; never let anything else reach a delete
  const observed: ObservedTc = { ...observedTc, filters: observedTc.filters.filter((f) => isOwned(f.hook, f.chain, f.pref)) };
  let unavailable: string | undefined;
  let wanted = renumberPortChains(desired, observed.filters);
  if (observed.qdisc === 'ingress' && desired.some((f) => f.hook === 'egress')) {
    // A plain ingress qdisc has no egress hook, and tc would silently put "egress" filters
    // on the ingress hook; we never let that happen.
    unavailable = 'it has an ingress qdisc (not clsact), so pod ingress policy cannot be installed on its egress hook; replace the qdisc with clsact';
    wanted = desired.filter((f) => f.hook === 'ingress');
  }

  if (wanted.length === 0) {
    const nothingElse = observed.foreign.ingress === 0 && observed.foreign.egress === 0;
    if (observed.qdisc === 'clsact' && nothingElse && observed.filters.length > 0) return { plan: { ops: [{ op: 'delete-qdisc' }] }, ...(unavailable ? { unavailable } : {}) };
    return { plan: { ops: sortDeletes(observed.filters.filter(hasHandle)).map((f) => ({ op: 'delete', filter: f })) }, ...(unavailable ? { unavailable } : {}) };
  }

  const have = new Map<string, Handled>();
  const extra: Handled[] = [];
  for (const f of observed.filters) {
    if (!hasHandle(f)) continue;
    const id = filterIdentity(f);
    if (have.has(id)) extra.push(f);
    else have.set(id, f);
  }
  const upserts: PlanOp[] = [];
  const keep = new Set<string>();
  for (const f of wanted) {
    const id = filterIdentity(f);
    const old = have.get(id);
    keep.add(id);
    if (!old) upserts.push({ op: 'add', filter: f });
    else if (actionsKey(old.actions) !== actionsKey(f.actions)) upserts.push({ op: 'replace', filter: { ...f, handle: old.handle } });
  }
  const stale = [...have.entries()].filter(([id]) => !keep.has(id)).map(([, f]) => f);
  const ops: PlanOp[] = [];
  if (observed.qdisc === null) ops.push({ op: 'add-qdisc' });
  ops.push(...sortUpserts(upserts));
  ops.push(...sortDeletes([...stale, ...extra]).map((f): PlanOp => ({ op: 'delete', filter: f })));
  return { plan: { ops }, ...(unavailable ? { unavailable } : {}) };
}

const hasHandle = (f: TcFilter): f is Handled => f.handle !== undefined;

/** Port chains, then the verdict chain, then the entry chain. */
const fillRank = (chain: number): number => (chain === ENTRY_CHAIN ? 2 : chain === VERDICT_CHAIN ? 1 : 0);
const isDrop = (f: TcFilter): number => (f.actions.length === 1 && f.actions[0]!.kind === 'drop' && Object.keys(f.match).length === 0 ? 1 : 0);

function sortUpserts(ops: PlanOp[]): PlanOp[] {
  const f = (op: PlanOp): TcFilter => (op as { filter: TcFilter }).filter;
  return [...ops].sort((a, b) => {
    const x = f(a);
    const y = f(b);
    return fillRank(x.chain) - fillRank(y.chain) || x.chain - y.chain || isDrop(x) - isDrop(y) || (x.hook < y.hook ? -1 : x.hook > y.hook ? 1 : 0) || x.pref - y.pref || cmp(filterIdentity(x), filterIdentity(y));
  });
}

/** Entry chain first; within a chain the catch-all drop first, then prefs from the back, so a
 * program being torn down never drops what its remaining filters would have passed (ARP last). */
function sortDeletes(filters: readonly Handled[]): Handled[] {
  return [...filters].sort((x, y) => fillRank(y.chain) - fillRank(x.chain) || x.chain - y.chain || isDrop(y) - isDrop(x) || (x.hook < y.hook ? -1 : x.hook > y.hook ? 1 : 0) || y.pref - x.pref || x.handle - y.handle);
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Port chains are numbered by compile in port-set order, so a new port set can take a
 * number that an installed chain still has, while old verdict filters still jump to it:
 * filling it first would briefly allow what neither program allows. So a desired port chain
 * keeps the number of an installed chain with exactly the same filters, and otherwise gets a
 * number that no installed chain uses.
 */
export function renumberPortChains(desired: readonly TcFilter[], installed: readonly TcFilter[]): TcFilter[] {
  const isPortChain = (c: number) => c >= PORT_CHAIN_FIRST && c <= OWNED_CHAIN_LAST;
  const out: TcFilter[] = [];
  for (const hook of ['ingress', 'egress'] as const) {
    const content = (fs: readonly TcFilter[]) => {
      const byChain = new Map<number, string[]>();
      for (const f of fs) {
        if (f.hook !== hook || !isPortChain(f.chain)) continue;
        const k = filterKey({ ...f, chain: 0, handle: undefined });
        byChain.set(f.chain, [...(byChain.get(f.chain) ?? []), k]);
      }
      return new Map([...byChain].map(([c, keys]) => [c, keys.sort().join('\n')]));
    };
    const want = content(desired);
    const have = content(installed);
    const used = new Set(have.keys());
    const mapping = new Map<number, number>();
    const taken = new Set<number>();
    for (const [c, k] of [...want].sort(([a], [b]) => a - b)) {
      const same = [...have].find(([hc, hk]) => hk === k && !taken.has(hc));
      if (same) {
        mapping.set(c, same[0]);
        taken.add(same[0]);
      }
    }
    let next = PORT_CHAIN_FIRST;
    for (const c of [...want.keys()].sort((a, b) => a - b)) {
      if (mapping.has(c)) continue;
      while (next <= OWNED_CHAIN_LAST && (used.has(next) || taken.has(next))) next++;
      const n = next <= OWNED_CHAIN_LAST ? next : c; // numbers exhausted: keep compile's
      mapping.set(c, n);
      taken.add(n);
    }
    for (const f of desired) {
      if (f.hook !== hook) continue;
      const chain = mapping.get(f.chain) ?? f.chain;
      const actions = f.actions.map((a) => (a.kind === 'goto' && mapping.has(a.chain) ? { ...a, chain: mapping.get(a.chain)! } : a));
      out.push({ ...f, chain, actions });
    }
  }
  return out;
}
