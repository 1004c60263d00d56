// Feeds the metrics port from what the reconciler reports: passes, applied changes and
// failures. Holds no numbers of its own except which representors it has reported, so that
// one whose rules were removed stops being exported.
import type { AppliedChange, Failure, PassResult, Reporter } from '../agent/reconciler.js';
import type { AgentMetrics } from '../agent/metrics.js';

export class MetricsReporter implements Reporter {
  private readonly reported = new Set<string>();
  /** Netdevs whose removal failed this pass: their old rules are still installed. */
  private readonly removalFailed = new Set<string>();

  constructor(private readonly metrics: AgentMetrics) {}

  applied(change: AppliedChange): void {
    this.metrics.applied();
    if (change.endpoints.length === 0) {
      // a removal: nothing of ours is left on it
      this.metrics.forgetRepresentor(change.netdev);
      this.reported.delete(change.netdev);
    }
  }

  failed(f: Failure): void {
    this.metrics.applyError(f.stage, f.error?.code ?? f.stage);
    if (f.netdev !== undefined && f.endpoints.length === 0) this.removalFailed.add(f.netdev);
  }

  passDone(r: PassResult): void {
    this.metrics.sync(r.full, r.ms / 1000);
    for (const np of r.netdevs) {
      // A netdev not in sync keeps its last known count (its previous rules stay in force).
      if (!np.inSync) continue;
      this.metrics.filtersInstalled(np.netdev, np.filters.length);
      this.reported.add(np.netdev);
    }
    // A netdev that vanished without a removal being applied (a removal with nothing to
    // delete yields an empty plan and no applied change): stop exporting it too.
    const wanted = new Set(r.netdevs.map((n) => n.netdev));
    for (const name of this.reported) {
      if (!wanted.has(name) && !this.removalFailed.has(name)) {
        this.metrics.forgetRepresentor(name);
        this.reported.delete(name);
      }
    }
    this.removalFailed.clear();
    const s = r.snapshot;
    this.metrics.known({
      policies: s.policies.length,
      invalidPolicies: s.invalidPolicies.length,
      pods: s.pods.length,
      attachments: r.program.programs.length,
      skipped: r.program.skipped.length,
    });
  }
}
