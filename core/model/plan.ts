// A plan is the ordered list of changes that turns the observed TC state of one netdev into
// the desired one. `diff` orders it make-before-break; drivers execute it in order.
import type { TcFilter } from './tc.js';

export type Handled = TcFilter & { readonly handle: number };

export type PlanOp =
  | { readonly op: 'add-qdisc' }
  | { readonly op: 'delete-qdisc' }
  /** Shared block only: bind a port to the block (`qdisc add dev P ingress_block N clsact`;
   * `replace`: delete its empty clsact first). */
  | { readonly op: 'bind'; readonly port: string; readonly replace: boolean }
  | { readonly op: 'add'; readonly filter: TcFilter }
  | { readonly op: 'replace'; readonly filter: Handled }
  | { readonly op: 'delete'; readonly filter: Handled };

export interface Plan {
  readonly ops: readonly PlanOp[];
}

export interface Applied {
  readonly added: number;
  readonly replaced: number;
  readonly deleted: number;
  readonly qdisc: 'added' | 'deleted' | 'unchanged';
}
