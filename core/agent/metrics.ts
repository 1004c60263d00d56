// The agent's metrics port. The reconciler's reporters and the agent command call it; the
// Prometheus implementation (prom-metrics.ts) sits behind it, so nothing in the pipeline
// depends on prom-client and tests can bind a recording fake.

/** Objects the agent knows about after a pass. */
export interface KnownCounts {
  /** MultiNetworkPolicies in the cache that validated. */
  readonly policies: number;
  /** MultiNetworkPolicies kept as invalid (they fail closed). */
  readonly invalidPolicies: number;
  /** Pods in the cache (every node: peers count too). */
  readonly pods: number;
  /** Pod interfaces enforced on this node. */
  readonly attachments: number;
  /** Pod interfaces on this node that cannot be enforced (skipped by select). */
  readonly skipped: number;
}

export interface AgentMetrics {
  /** One reconcile pass ended. */
  sync(full: boolean, seconds: number): void;
  /** A netdev's program was applied (a plan with at least one op). */
  applied(): void;
  /** The filters now installed on a representor (from the last successful observe or apply). */
  filtersInstalled(representor: string, count: number): void;
  /** The agent no longer programs this representor (its rules were removed). */
  forgetRepresentor(representor: string): void;
  /** A representor lookup, observe or apply failed; `reason` is the error code. */
  applyError(stage: string, reason: string): void;
  known(counts: KnownCounts): void;
  /** Sampled when metrics are read: informer restarts so far, per kind. */
  informerRestarts(sample: () => Readonly<Record<string, number>>): void;
  /** 1 once the agent is ready (initial sync and first pass done). */
  ready(isReady: () => boolean): void;
}

export const noopMetrics: AgentMetrics = {
  sync: () => undefined,
  applied: () => undefined,
  filtersInstalled: () => undefined,
  forgetRepresentor: () => undefined,
  applyError: () => undefined,
  known: () => undefined,
  informerRestarts: () => undefined,
  ready: () => undefined,
};
