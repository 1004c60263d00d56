// What every driver decides the same way about a shared-block target (`dev.block`): which plan
// ops it may carry, and how the ports and filters it read make one ObservedTc.
import type { Netdev, SharedBlock } from '../../core/model/attachment.js';
import type { Plan } from '../../core/model/plan.js';
import type { ObservedTc, TcFilter } from '../../core/model/tc.js';
import { portBinding, type PortQdisc } from './port-binding.js';

/** The largest block index the kernel takes (a u32; 0 means "no block"). */
export const MAX_BLOCK_INDEX = 0xffffffff;

export const isBlockIndex = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= MAX_BLOCK_INDEX;

/**
 * Why `plan` cannot run on `dev`, or undefined. A block target takes binds and ingress-hook
 * filter ops only (its qdiscs are the ports', created by `bind`); a netdev takes no binds.
 * diff never builds such plans: reaching here is a bug upstream, reported as an error value.
 */
export function planProblem(dev: Netdev, plan: Plan): string | undefined {
  for (const [i, op] of plan.ops.entries()) {
    const at = `op ${i + 1} (${op.op})`;
    if (dev.block === undefined) {
      if (op.op === 'bind') return `${at}: a bind needs a shared-block target, ${dev.name} is a netdev`;
      continue;
    }
    if (op.op === 'add-qdisc' || op.op === 'delete-qdisc') return `${at}: a shared block has no qdisc of its own; its ports are bound with 'bind'`;
    if (op.op === 'bind' && !dev.block.ports.includes(op.port)) return `${at}: ${op.port} is not a port of ${dev.name}`;
    if ((op.op === 'add' || op.op === 'replace' || op.op === 'delete') && op.filter.hook !== 'ingress') return `${at}: a shared block is an ingress block; a filter on the ${op.filter.hook} hook cannot go there`;
  }
  return undefined;
}

/** One port as a driver read it: its clsact/ingress qdisc and the filters on its own hooks. */
export interface PortObservation {
  readonly name: string;
  readonly qdisc: PortQdisc | null;
  /** Filters on both of the port's own hooks that the agent does not own (only looked at for a clsact without a block). */
  readonly foreign: number;
}

/**
 * The ObservedTc of a block: `owned` and `foreign` are the block's filters as the driver
 * split them (by isOwned, as on a netdev's ingress hook); the qdisc is 'clsact' only once
 * every port is bound.
 */
export function observedBlock(block: SharedBlock, ports: readonly PortObservation[], owned: readonly TcFilter[], foreign: number): ObservedTc {
  const bindings = ports.map((p) => portBinding(p.name, block.index, p.qdisc, p.foreign));
  const allBound = bindings.every((b) => b.state === 'bound');
  return { qdisc: allBound ? 'clsact' : null, filters: owned, foreign: { ingress: foreign, egress: 0 }, ports: bindings };
}

/**
 * A netdev's ingress hook as read per netdev: on a port bound to a shared block it lists the
 * block's filters, which are not the netdev's to change (the kernel refuses per-netdev ops on
 * them). They count as foreign there, so a per-port program is never built from them.
 */
export function ownHook<E, T extends { readonly owned: readonly TcFilter[]; readonly foreign: number }>(hook: { ok: true; value: T } | { ok: false; error: E }, ingressBlock: number | undefined): { ok: true; value: { owned: readonly TcFilter[]; foreign: number } } | { ok: false; error: E } {
  if (!hook.ok || ingressBlock === undefined) return hook;
  return { ok: true, value: { owned: [], foreign: hook.value.owned.length + hook.value.foreign } };
}
