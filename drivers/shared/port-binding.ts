// How a port of a shared block stands, from what a driver read of its qdisc. Both drivers
// decide this the same way, so a port is never bound by one and left alone by the other.
import type { PortBinding } from '../../core/model/tc.js';

export interface PortQdisc {
  /** `clsact`, `ingress`, or any other root/ingress-side qdisc kind seen on the port. */
  readonly kind: string;
  /** The qdisc's `ingress_block`, when it has one. */
  readonly ingressBlock?: number;
}

/**
 * `qdisc`: the port's clsact or ingress qdisc (null when it has neither); `foreign`: how many
 * filters the port's own hooks carry that the agent does not own (layout.ts isOwned). A clsact
 * with only the agent's filters is a per-port program (this node ran `--layout per-port`):
 * rebinding replaces it, and the block takes over its policing.
 */
export function portBinding(name: string, block: number, qdisc: PortQdisc | null, foreign: number): PortBinding {
  if (qdisc === null) return { name, state: 'absent' };
  if (qdisc.kind === 'clsact' && qdisc.ingressBlock === block) return { name, state: 'bound' };
  if (qdisc.kind === 'clsact' && qdisc.ingressBlock === undefined && foreign === 0) return { name, state: 'rebindable' };
  const what = qdisc.kind === 'clsact' ? (qdisc.ingressBlock !== undefined ? `clsact with ingress_block ${qdisc.ingressBlock}` : `clsact carrying ${foreign} filter(s) of others`) : `an ${qdisc.kind} qdisc`;
  return { name, state: 'foreign', detail: what };
}
