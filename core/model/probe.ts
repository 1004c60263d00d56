// A connectivity question: can `from` reach `to` on `network` with this protocol and port?
import type { L4Protocol } from './k8s.js';

export type Family = 'ipv4' | 'ipv6';

export interface Probe {
  /** `namespace/pod`, or `external/<name>` for a non-pod host on the network. */
  readonly from: string;
  readonly to: string;
  /** `namespace/name` of the network. */
  readonly network: string;
  readonly family: Family;
  readonly protocol: L4Protocol;
  readonly port: number;
}

export type Verdict = 'allow' | 'deny';

/** A non-pod host on a secondary network (a gateway, a remote service). */
export interface External {
  readonly name: string;
  readonly network: string;
  readonly ips: readonly string[];
}
