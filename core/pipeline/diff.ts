// diff: the ordered plan that turns the observed TC state of one netdev into the desired
// program, make-before-break:
//   1. the clsact qdisc, if missing;
//   2. additions and in-place replacements (same match, new actions: atomic with a handle),
//      deepest chains first (a `goto` into a chain that is still empty would pass frames),
//      and within a chain catch-all drops last;
//   3. deletions, entry chain first (nothing jumps into a chain while it is emptied), its
//      catch-all drop before the filters that pass ARP and neighbour discovery.
// "Deepest first" follows the goto graph: a chain is filled after every chain it jumps to.
// On a shared block, the ports are bound before anything else (an empty block passes all,
// as an unbound port does) and ports that cannot be bound are reported, never touched.
// A changed match cannot be replaced in place (the kernel keeps masks), so it is an add of
// the new filter followed by a delete of the old one.
// A netdev whose ingress hook is bound to a shared block cannot carry filters of its own
// there; in the per-port layout one of the agent's own blocks (left by a shared-block run) is
// released instead: clsact deleted and re-created. That is the one plan that is not
// make-before-break: the netdev is unpoliced between the two lines of one batch.
import type { Handled, Plan, PlanOp } from '../model/plan.js';
import type { ObservedTc, TcFilter } from '../model/tc.js';
import { actionsKey, filterIdentity, filterKey } from '../model/tc.js';
import { ENTRY_CHAIN, isAgentBlock, isOwned, OWNED_CHAIN_LAST, PORT_CHAIN_FIRST } from './layout.js';

export interface DiffResult {
  readonly plan: Plan;
  /** Why part of the desired program cannot be installed on this netdev (reported, not fatal). */
  readonly unavailable?: string;
}

export interface DiffOptions {
  /** Per-port layout: a netdev bound to one of the agent's shared blocks is released (see above). */
  readonly releaseAgentBlocks?: boolean;
}

export function diff(desired: readonly TcFilter[], observedTc: ObservedTc, opts: DiffOptions = {}): DiffResult {
  // drivers list only our filters; never let anything else reach a delete
  const observed: ObservedTc = { ...observedTc, filters: observedTc.filters.filter((f) => isOwned(f.hook, f.chain, f.pref)) };
  let unavailable: string | undefined;
  const block = observed.ports !== undefined;
  let wanted = renumberPortChains(desired, observed.filters);
  const bound = block ? undefined : observed.ingressBlock;
  if (bound !== undefined && opts.releaseAgentBlocks && isAgentBlock(bound)) return release(bound, desired, observed);
  if (bound !== undefined && desired.some((f) => f.hook === 'ingress')) {
    unavailable = `its ingress hook is bound to shared block ${bound}, so pod egress policy cannot be installed on it`;
    wanted = wanted.filter((f) => f.hook !== 'ingress');
  }
  const binds: PlanOp[] = [];
  if (block && desired.length > 0) {
    for (const p of observed.ports!) if (p.state === 'absent' || p.state === 'rebindable') binds.push({ op: 'bind', port: p.name, replace: p.state === 'rebindable' });
    const foreign = observed.ports!.filter((p) => p.state === 'foreign');
    if (foreign.length > 0) unavailable = `ports ${foreign.map((p) => `${p.name} (${p.detail ?? 'foreign qdisc'})`).join(', ')} cannot be bound to the shared block, so frames entering there are not policed; remove that qdisc`;
  }
  if (observed.qdisc === 'ingress' && desired.some((f) => f.hook === 'egress')) {
    // A plain ingress qdisc has no egress hook, and tc would silently put "egress" filters
    // on the ingress hook; we never let that happen.
    unavailable = 'it has an ingress qdisc (not clsact), so pod ingress policy cannot be installed on its egress hook; replace the qdisc with clsact';
    wanted = desired.filter((f) => f.hook === 'ingress');
  }

  if (wanted.length === 0) {
    // a shared block is left bound (empty, it passes everything): unbinding would delete qdiscs
    if (block) return { plan: { ops: sortDeletes(observed.filters.filter(hasHandle), observed.filters).map((f) => ({ op: 'delete', filter: f })) } };
    const nothingElse = observed.foreign.ingress === 0 && observed.foreign.egress === 0;
    if (observed.qdisc === 'clsact' && nothingElse && observed.filters.length > 0) return { plan: { ops: [{ op: 'delete-qdisc' }] }, ...(unavailable ? { unavailable } : {}) };
    return { plan: { ops: sortDeletes(observed.filters.filter(hasHandle), observed.filters).map((f) => ({ op: 'delete', filter: f })) }, ...(unavailable ? { unavailable } : {}) };
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
  if (block) ops.push(...binds);
  else if (observed.qdisc === null) ops.push({ op: 'add-qdisc' });
  const all = [...wanted, ...observed.filters];
  ops.push(...sortUpserts(upserts, all));
  ops.push(...sortDeletes([...stale, ...extra], all).map((f): PlanOp => ({ op: 'delete', filter: f })));
  return { plan: { ops }, ...(unavailable ? { unavailable } : {}) };
}

const hasHandle = (f: TcFilter): f is Handled => f.handle !== undefined;

/** A netdev bound to the agent's shared block `index`, in the per-port layout: a fresh clsact with `desired`. */
function release(index: number, desired: readonly TcFilter[], observed: ObservedTc): DiffResult {
  if (observed.foreign.egress > 0) {
    return { plan: { ops: [] }, unavailable: `its ingress hook is bound to shared block ${index} of a --layout shared-block run, and its egress hook carries filters of others, so its clsact cannot be replaced to release it; remove those filters` };
  }
  const adds = desired.map((filter): PlanOp => ({ op: 'add', filter }));
  return { plan: { ops: [{ op: 'delete-qdisc' }, ...(desired.length > 0 ? [{ op: 'add-qdisc' } as const, ...sortUpserts(adds, desired)] : [])] } };
}

/**
 * How deep a chain sits in the goto graph of `filters`: 0 for a chain that jumps nowhere,
 * else one more than the deepest chain it jumps to (per-port: port chains 0, verdict 1,
 * entry 2). Filling by rank never lets a goto reach a chain that is not complete yet.
 */
function chainRanks(filters: readonly TcFilter[]): (hook: string, chain: number) => number {
  const targets = new Map<string, Set<number>>();
  for (const f of filters) {
    const k = `${f.hook}/${f.chain}`;
    const t = targets.get(k) ?? new Set<number>();
    for (const a of f.actions) if (a.kind === 'goto') t.add(a.chain);
    targets.set(k, t);
  }
  const memo = new Map<string, number>();
  const rank = (hook: string, chain: number, depth = 0): number => {
    const k = `${hook}/${chain}`;
    const have = memo.get(k);
    if (have !== undefined) return have;
    if (depth > 64) return 0; // a goto cycle: compile never makes one
    let r = 0;
    for (const t of targets.get(k) ?? []) if (t !== chain) r = Math.max(r, 1 + rank(hook, t, depth + 1));
    memo.set(k, r);
    return r;
  };
  return (hook, chain) => rank(hook, chain) + (chain === ENTRY_CHAIN ? 1000 : 0);
}
const isDrop = (f: TcFilter): number => (f.actions.length === 1 && f.actions[0]!.kind === 'drop' && Object.keys(f.match).length === 0 ? 1 : 0);

function sortUpserts(ops: PlanOp[], all: readonly TcFilter[]): PlanOp[] {
  const f = (op: PlanOp): TcFilter => (op as { filter: TcFilter }).filter;
  const fillRank = chainRanks(all);
  return [...ops].sort((a, b) => {
    const x = f(a);
    const y = f(b);
    return fillRank(x.hook, x.chain) - fillRank(y.hook, y.chain) || x.chain - y.chain || isDrop(x) - isDrop(y) || (x.hook < y.hook ? -1 : x.hook > y.hook ? 1 : 0) || x.pref - y.pref || cmp(filterIdentity(x), filterIdentity(y));
  });
}

/** Entry chain first; within a chain the catch-all drop first, then prefs from the back, so a
 * program being torn down never drops what its remaining filters would have passed (ARP last). */
function sortDeletes(filters: readonly Handled[], all: readonly TcFilter[]): Handled[] {
  const fillRank = chainRanks(all);
  return [...filters].sort((x, y) => fillRank(y.hook, y.chain) - fillRank(x.hook, x.chain) || x.chain - y.chain || isDrop(y) - isDrop(x) || (x.hook < y.hook ? -1 : x.hook > y.hook ? 1 : 0) || y.pref - x.pref || x.handle - y.handle);
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
  const out: TcFilter[] = [];
  for (const hook of ['ingress', 'egress'] as const) {
    // chains the entry chain jumps to have fixed numbers (verdict; a block's source and destination)
    const fixed = new Set<number>();
    for (const f of [...desired, ...installed]) if (f.hook === hook && f.chain === ENTRY_CHAIN) for (const a of f.actions) if (a.kind === 'goto') fixed.add(a.chain);
    const isPortChain = (c: number) => c >= PORT_CHAIN_FIRST && c <= OWNED_CHAIN_LAST && !fixed.has(c);
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
      while (next <= OWNED_CHAIN_LAST && (used.has(next) || taken.has(next) || fixed.has(next))) next++;
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
