// One clsact hook classifying one skb: chain 0 first, prefs ascending, the first matching
// filter's actions in order. A chain where nothing matches ends classification and clsact
// PASSES the frame; a goto into an empty chain therefore passes too.
import { err, ok, type Result } from '../api/result.js';
import { actionsKey, type Hook, type TcAction, type TcFilter } from '../model/tc.js';
import { applyCt, ctFlagsOf, type ConntrackTable, type Skb } from './conntrack.js';
import { formatCtBits, parseCtState } from './ct-state.js';
import { matches } from './flower.js';
import type { ModelError } from './model-error.js';

/** The kernel has no such limit for goto; the model stops here so a loop cannot hang a test. */
export const MAX_GOTO = 32;

export type Verdict = 'pass' | 'drop';

export interface ActionTaken {
  readonly action: TcAction;
  /** For `ct`: the flags the skb carries afterwards ('+trk+new'), or why it was dropped. */
  readonly note?: string;
}

export type Step =
  | { readonly kind: 'filter'; readonly hook: Hook; readonly chain: number; readonly pref: number; readonly filter: TcFilter; readonly actions: readonly ActionTaken[] }
  | { readonly kind: 'no-match'; readonly hook: Hook; readonly chain: number };

export interface HookRun {
  readonly verdict: Verdict;
  readonly path: readonly Step[];
  /** The skb after the hook (ct info attached by `ct` actions). */
  readonly skb: Skb;
}

type ActionsOutcome =
  | { readonly end: 'verdict'; readonly verdict: Verdict; readonly skb: Skb; readonly taken: readonly ActionTaken[] }
  | { readonly end: 'goto'; readonly chain: number; readonly skb: Skb; readonly taken: readonly ActionTaken[] };

function runActions(actions: readonly TcAction[], skb: Skb, table: ConntrackTable): ActionsOutcome {
  const taken: ActionTaken[] = [];
  let current = skb;
  for (const action of actions) {
    if (action.kind === 'ct') {
      const r = applyCt(table, current, action.zone, action.commit);
      if (r.kind === 'drop') {
        taken.push({ action, note: r.reason });
        return { end: 'verdict', verdict: 'drop', skb: current, taken };
      }
      current = r.skb;
      taken.push({ action, note: formatCtBits(ctFlagsOf(current)) });
      continue; // our ct actions are always `pipe`: go on with the next action
    }
    taken.push({ action });
    if (action.kind === 'goto') return { end: 'goto', chain: action.chain, skb: current, taken };
    return { end: 'verdict', verdict: action.kind, skb: current, taken };
  }
  // A list that ends on `pipe` returns TC_ACT_PIPE, which clsact treats like pass.
  return { end: 'verdict', verdict: 'pass', skb: current, taken };
}

function checkFilters(filters: readonly TcFilter[]): ModelError | null {
  for (const f of filters) {
    if (f.match.ctState !== undefined && parseCtState(f.match.ctState) === null) {
      return { code: 'invalid-filter', filter: f, problem: `ct_state '${f.match.ctState}' is not a flag list` };
    }
  }
  return null;
}

/** Filters of one chain, grouped by pref, prefs ascending. */
function prefsOf(filters: readonly TcFilter[], chain: number): [number, TcFilter[]][] {
  const byPref = new Map<number, TcFilter[]>();
  for (const f of filters) {
    if (f.chain !== chain) continue;
    const list = byPref.get(f.pref) ?? [];
    list.push(f);
    byPref.set(f.pref, list);
  }
  return [...byPref.entries()].sort((a, b) => a[0] - b[0]);
}

export function runHook(filters: readonly TcFilter[], hook: Hook, skb: Skb, table: ConntrackTable): Result<HookRun, ModelError> {
  const mine = filters.filter((f) => f.hook === hook);
  const invalid = checkFilters(mine);
  if (invalid !== null) return err(invalid);

  const path: Step[] = [];
  const visited: number[] = [0];
  let current = skb;
  let chain = 0;

  for (;;) {
    let jumpTo: number | null = null;
    for (const [pref, atPref] of prefsOf(mine, chain)) {
      const flags = ctFlagsOf(current);
      const hits = atPref.filter((f) => matches(f, current.frame, flags, current.indev));
      const first = hits[0];
      if (first === undefined) continue;
      // The compiler promises no overlap with different verdicts inside one pref: flower's
      // order among masks of one pref is not something to rely on.
      if (new Set(hits.map((f) => actionsKey(f.actions))).size > 1) {
        return err({ code: 'ambiguous-pref', hook, chain, pref, filters: hits });
      }
      const outcome = runActions(first.actions, current, table);
      current = outcome.skb;
      path.push({ kind: 'filter', hook, chain, pref, filter: first, actions: outcome.taken });
      if (outcome.end === 'verdict') return ok({ verdict: outcome.verdict, path, skb: current });
      jumpTo = outcome.chain;
      break;
    }
    if (jumpTo === null) {
      path.push({ kind: 'no-match', hook, chain });
      return ok({ verdict: 'pass', path, skb: current });
    }
    visited.push(jumpTo);
    if (visited.length - 1 > MAX_GOTO) return err({ code: 'goto-loop', hook, chains: visited });
    chain = jumpTo;
  }
}
