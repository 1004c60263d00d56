// How a plan is cut into windows: the ops of one window go to the kernel in one sendto.
// Pure.
//
// The kernel carries on with a datagram's later messages after one fails. Like `tc -batch`,
// this driver stops at the first failed op: the later windows are never sent. Ops after the
// failure *in the same window* have already run, and the driver undoes them in reverse
// order (see netlink-driver.ts). So a window is cut wherever that would be unsafe:
//
//   - an op that cannot be undone comes first in its window: a qdisc op or a bind (alone too:
//     a failed add-qdisc on a plain ingress qdisc would send the next egress filters to the
//     ingress hook; a bind goes to its port, not to the block), a replace (its old actions are not in the plan), and a delete of a filter
//     that cannot be written back (unrecognised keys, unusable actions);
//   - a window holds one chain and one phase (adds/replaces, or deletes). diff fills a chain
//     before anything jumps to it and empties the entry chain before the chains it jumps to,
//     so a `goto` never runs in the same window as a failed op in the chain it jumps to, and
//     the short-lived effect of an op that is undone is confined to one chain of one phase;
//   - at most `maxOps` ops: the kernel must be able to queue an error for each of them.
import type { PlanOp } from '../../core/model/plan.js';

export interface Window {
  /** Index of the first op in the plan. */
  readonly start: number;
  /** One past the last op. */
  readonly end: number;
}

/** Can the kernel's effect of this op be reversed from what the plan carries? */
export function undoable(op: PlanOp): boolean {
  if (op.op === 'add') return true;
  if (op.op === 'delete') return op.filter.match.unrecognised === undefined && op.filter.actions.length > 0;
  return false;
}

const phase = (op: PlanOp): string => (op.op === 'delete' ? 'delete' : op.op === 'add' || op.op === 'replace' ? 'fill' : op.op);

export function planWindows(ops: readonly PlanOp[], maxOps: number): Window[] {
  if (!Number.isInteger(maxOps) || maxOps < 1) throw new Error(`planWindows: maxOps ${maxOps} is not a positive integer`);
  const out: Window[] = [];
  let start = 0;
  for (let i = 1; i <= ops.length; i++) {
    const op = ops[i];
    const first = ops[start]!;
    const cut =
      op === undefined ||
      i - start >= maxOps ||
      !undoable(op) ||
      first.op === 'add-qdisc' ||
      first.op === 'delete-qdisc' ||
      first.op === 'bind' ||
      phase(op) !== phase(first) ||
      (op as { filter: { chain: number } }).filter.chain !== (first as { filter: { chain: number } }).filter.chain;
    if (cut) {
      out.push({ start, end: i });
      start = i;
    }
  }
  return out;
}
