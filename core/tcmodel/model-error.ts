// Ways a TC program can be wrong in a way the model refuses to guess about.
import { filterKey, type Hook, type TcFilter } from '../model/tc.js';

export type ModelError =
  /** Several filters of one (chain, pref) match one frame with different actions. */
  | { readonly code: 'ambiguous-pref'; readonly hook: Hook; readonly chain: number; readonly pref: number; readonly filters: readonly TcFilter[] }
  /** More than MAX_GOTO jumps in one classification. */
  | { readonly code: 'goto-loop'; readonly hook: Hook; readonly chains: readonly number[] }
  /** A filter the kernel would not accept (here: an unparseable ct_state key). */
  | { readonly code: 'invalid-filter'; readonly filter: TcFilter; readonly problem: string }
  /** Filters of one (hook, chain, pref) with different protocols: one pref holds one protocol. */
  | { readonly code: 'pref-protocol-mix'; readonly hook: Hook; readonly chain: number; readonly pref: number; readonly protocols: readonly string[] }
  /** Two filters with one identity: the second add fails with EEXIST. */
  | { readonly code: 'duplicate-filter'; readonly filter: TcFilter };

export function describeModelError(e: ModelError): string {
  switch (e.code) {
    case 'ambiguous-pref':
      return `${e.hook} chain ${e.chain} pref ${e.pref}: one frame matches ${e.filters.length} filters with different actions: ${e.filters.map(filterKey).join(' ; ')}`;
    case 'goto-loop':
      return `${e.hook}: more than ${e.chains.length - 1} goto jumps (chains ${e.chains.join(' -> ')})`;
    case 'invalid-filter':
      return `invalid filter ${filterKey(e.filter)}: ${e.problem}`;
    case 'pref-protocol-mix':
      return `${e.hook} chain ${e.chain} pref ${e.pref} mixes protocols ${e.protocols.join(', ')}`;
    case 'duplicate-filter':
      return `filter ${filterKey(e.filter)} appears twice (the kernel answers EEXIST)`;
  }
}
