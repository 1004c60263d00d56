// The cluster as the pure stages see it: plain arrays, frozen by whoever builds them.
import type { MultiNetworkPolicy, Namespace, NetworkAttachmentDefinition, Pod, LabelSelector } from './k8s.js';

/**
 * A MultiNetworkPolicy that failed validation. It is kept, not dropped: the pods it may
 * select stay isolated in the directions it may affect (fail closed), and nothing is allowed
 * by it. `podSelector` is absent when the selector itself is invalid (then it selects every
 * pod of its namespace); `policyTypes` is absent when they cannot be known (then both).
 */
export interface InvalidPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly podSelector?: LabelSelector;
  readonly policyTypes?: readonly ('Ingress' | 'Egress')[];
  readonly field: string;
  readonly problem: string;
}

export interface Cluster {
  readonly namespaces: readonly Namespace[];
  readonly pods: readonly Pod[];
  readonly networks: readonly NetworkAttachmentDefinition[];
  readonly policies: readonly MultiNetworkPolicy[];
  readonly invalidPolicies: readonly InvalidPolicy[];
}

export interface Snapshot extends Cluster {
  /** Bumped on every change by the cache that produced it. */
  readonly rev: number;
}

export const emptyCluster = (): Cluster => ({ namespaces: [], pods: [], networks: [], policies: [], invalidPolicies: [] });
