// Where the cluster comes from: the API server (informers) or a directory of manifests.
// Either way the source only writes into the ClusterStore; the reconciler reads snapshots.
import type { Result } from '../api/result.js';

export interface ClusterSource {
  /** Begins loading/watching. An error is one the agent cannot start with. */
  start(): Promise<Result<void>>;
  /** Resolves once every kind's initial list is in the store. */
  whenSynced(): Promise<void>;
  /** Stops watching; the store keeps its content. */
  stop(): Promise<void>;
}
