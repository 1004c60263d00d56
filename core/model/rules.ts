// What `render` produces for one endpoint: per direction, either "open" (null) or the list
// of grants that the applicable policies allow. Grants are the Kubernetes union, already
// resolved to addresses and ports; `compile` turns them into TC filters.
import type { L4Protocol } from './k8s.js';

/** A port entry: one protocol, and either every port (no range) or an inclusive range. */
export interface PortSpec {
  readonly protocol: L4Protocol;
  readonly start?: number;
  readonly end?: number;
}

export interface Grant {
  /** `namespace/name` of the policy and the index of the rule in its ingress or egress list. */
  readonly policy: string;
  readonly rule: number;
  /** Canonical CIDRs of the peers (`except` already subtracted). Never empty. */
  readonly peers: readonly string[];
  /** 'all' = every protocol and port; otherwise a non-empty list. */
  readonly ports: 'all' | readonly PortSpec[];
}

export interface DirectionRules {
  /** Policies that isolate this direction, `namespace/name`, sorted. */
  readonly policies: readonly string[];
  readonly grants: readonly Grant[];
}

export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly id: string;
  readonly policy?: string;
  readonly field?: string;
  readonly detail: string;
}

export interface RuleSet {
  /** Endpoint key `namespace/pod/interface`. */
  readonly endpoint: string;
  readonly network: string;
  /** null: no applicable policy isolates this direction, everything is allowed. */
  readonly ingress: DirectionRules | null;
  readonly egress: DirectionRules | null;
  readonly diagnostics: readonly Diagnostic[];
}
