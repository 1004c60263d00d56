// Plugin contract: a TC driver reads and writes the TC state of one netdev.
import type { Netdev } from '../model/attachment.js';
import type { Applied, Plan } from '../model/plan.js';
import type { ObservedTc } from '../model/tc.js';
import type { Result } from './result.js';

export const TcDriver = Symbol.for('mnp-tc.TcDriver');

export interface TcDriver {
  /** The `--tc-driver` name: `cmdline`, `netlink`, `dry-run`. */
  readonly name: string;
  /** Read-only: the qdisc, the filters the agent owns, and a count of the others. */
  observe(dev: Netdev): Promise<Result<ObservedTc>>;
  /** Execute a plan from `diff` in order. On failure the ops before the failing one stay applied. */
  apply(dev: Netdev, plan: Plan): Promise<Result<Applied>>;
}
