// Plugin contract: a TC driver reads and writes the TC state of a netdev (or a shared block).
import type { Netdev } from '../model/attachment.js';
import type { Applied, Plan } from '../model/plan.js';
import type { ObservedTc } from '../model/tc.js';
import type { Result } from './result.js';

export const TcDriver = Symbol.for('mnp-tc.TcDriver');

/** One target's plan, for `applyMany`. */
export interface PlanFor {
  readonly dev: Netdev;
  readonly plan: Plan;
}

export interface TcDriver {
  /** The `--tc-driver` name: `cmdline`, `netlink`, `dry-run`. */
  readonly name: string;
  /** Read-only: the qdisc, the filters the agent owns, and a count of the others. */
  observe(dev: Netdev): Promise<Result<ObservedTc>>;
  /** Execute a plan from `diff` in order. On failure the ops before the failing one stay applied. */
  apply(dev: Netdev, plan: Plan): Promise<Result<Applied>>;
  /**
   * Optional, for drivers where one call for many targets is much cheaper than one call each
   * (cmdline: a `tc` process start). Results in the order of `devs`, each exactly what
   * `observe(dev)` would give: one target's failure is its own.
   */
  observeMany?(devs: readonly Netdev[]): Promise<Result<ObservedTc>[]>;
  /**
   * Optional, as `observeMany`: each result what `apply(dev, plan)` would give. A failing op
   * stops its own target's plan (the ops before it stay applied), never another target's.
   */
  applyMany?(work: readonly PlanFor[]): Promise<Result<Applied>[]>;
}
