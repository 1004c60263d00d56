// Test-only helpers around diff: observing a desired program as the kernel would list it
// (with handles), applying a plan to such a state op by op, and classifying the first packet
// of a new connection on a state that may be mid-transition. Mid-transition a pref can hold
// overlapping filters with different actions (flower's choice among them is unspecified), so
// the classifier follows every choice and returns every verdict that could happen.
import type { Plan, PlanOp } from '../../../core/model/plan.js';
import { actionsKey, type Hook, type ObservedTc, type QdiscKind, type TcFilter } from '../../../core/model/tc.js';
import { ctBits, type CtBits } from '../../../core/tcmodel/ct-state.js';
import { matches } from '../../../core/tcmodel/flower.js';
import type { Frame } from '../../../core/tcmodel/packet.js';

export interface SimState {
  readonly qdisc: QdiscKind | null;
  readonly filters: readonly TcFilter[];
  readonly foreign: { readonly ingress: number; readonly egress: number };
  readonly nextHandle: number;
}

/** A desired program as a driver would read it back: every filter with a distinct handle. */
export function observe(filters: readonly TcFilter[], qdisc: QdiscKind | null = 'clsact', foreign = { ingress: 0, egress: 0 }, firstHandle = 1): ObservedTc {
  return { qdisc, filters: filters.map((f, i) => ({ ...f, handle: firstHandle + i })), foreign };
}

export const stateOf = (o: ObservedTc): SimState => ({ ...o, nextHandle: 1 + Math.max(0, ...o.filters.map((f) => f.handle ?? 0)) });
export const observedOf = (s: SimState): ObservedTc => ({ qdisc: s.qdisc, filters: s.filters, foreign: s.foreign });

const samePlace = (a: TcFilter, b: TcFilter): boolean => a.hook === b.hook && a.chain === b.chain && a.pref === b.pref && a.protocol === b.protocol && a.handle === b.handle;

/** One plan op as the kernel would apply it; throws where the kernel would refuse. */
export function applyOp(s: SimState, op: PlanOp): SimState {
  switch (op.op) {
    case 'add-qdisc':
      if (s.qdisc !== null) throw new Error('qdisc add: a qdisc exists');
      return { ...s, qdisc: 'clsact' };
    case 'bind':
      throw new Error('tc-sim models one netdev, not a shared block');
    case 'delete-qdisc':
      if (s.qdisc === null) throw new Error('qdisc del: no qdisc');
      return { ...s, qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } };
    case 'add': {
      if (s.qdisc === null) throw new Error('filter add without a qdisc');
      const f = op.filter;
      const clash = s.filters.find((x) => x.hook === f.hook && x.chain === f.chain && x.pref === f.pref && x.protocol !== f.protocol);
      if (clash) throw new Error(`pref ${f.pref} of chain ${f.chain} holds protocol ${clash.protocol}, not ${f.protocol}`);
      return { ...s, filters: [...s.filters, { ...f, handle: s.nextHandle }], nextHandle: s.nextHandle + 1 };
    }
    case 'replace': {
      const i = s.filters.findIndex((x) => samePlace(x, op.filter));
      if (i < 0) throw new Error(`replace: no filter with handle ${op.filter.handle} there`);
      return { ...s, filters: s.filters.map((x, j) => (j === i ? op.filter : x)) };
    }
    case 'delete': {
      const i = s.filters.findIndex((x) => samePlace(x, op.filter));
      if (i < 0) throw new Error(`delete: no filter with handle ${op.filter.handle} there`);
      return { ...s, filters: s.filters.filter((_, j) => j !== i) };
    }
  }
}

export function applyPlan(s: SimState, plan: Plan): SimState {
  return plan.ops.reduce(applyOp, s);
}

const NEW: CtBits = ctBits('trk', 'new');

/** Every verdict the first packet of a new connection can get on `hook` (ct = +trk+new). */
export function verdicts(filters: readonly TcFilter[], hook: Hook, frame: Frame): Set<'pass' | 'drop'> {
  return classifier(filters, hook)(frame);
}

/** `verdicts` with the filters indexed once, for classifying many frames on one state. */
export function classifier(filters: readonly TcFilter[], hook: Hook): (frame: Frame) => Set<'pass' | 'drop'> {
  const chains = new Map<number, Map<number, TcFilter[]>>();
  for (const f of filters) {
    if (f.hook !== hook) continue;
    const prefs = chains.get(f.chain) ?? new Map<number, TcFilter[]>();
    prefs.set(f.pref, [...(prefs.get(f.pref) ?? []), f]);
    chains.set(f.chain, prefs);
  }
  const sorted = new Map([...chains].map(([c, prefs]) => [c, [...prefs].sort((a, b) => a[0] - b[0]).map(([, fs]) => fs)]));
  return (frame) => {
    const out = new Set<'pass' | 'drop'>();
    const walk = (chain: number, flags: CtBits, depth: number): void => {
      if (depth > 8) throw new Error('goto loop');
      for (const atPref of sorted.get(chain) ?? []) {
        const hits = atPref.filter((f) => matches(f, frame, flags));
        if (hits.length === 0) continue;
        const choices = new Map(hits.map((f) => [actionsKey(f.actions), f.actions]));
        for (const actions of choices.values()) {
          let f = flags;
          let done = false;
          for (const a of actions) {
            if (a.kind === 'ct') {
              if (frame.ethertype !== 'ip' && frame.ethertype !== 'ipv6') {
                out.add('drop'); // act_ct drops non-IP frames
                done = true;
                break;
              }
              f = NEW;
            } else if (a.kind === 'goto') {
              walk(a.chain, f, depth + 1);
              done = true;
              break;
            } else {
              out.add(a.kind);
              done = true;
              break;
            }
          }
          if (!done) out.add('pass'); // a list ending on pipe
        }
        return;
      }
      out.add('pass'); // nothing matched in this chain: clsact passes
    };
    walk(0, 0, 0);
    return out;
  };
}
