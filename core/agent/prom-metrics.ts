// AgentMetrics with prom-client: one Registry per agent (never the global one, so tests and
// two agents in one process do not collide), served as text on /metrics by health.ts.
//
//   mnp_tc_syncs_total{full}                       reconcile passes
//   mnp_tc_sync_duration_seconds{full}             their duration (histogram)
//   mnp_tc_applies_total                           netdevs whose program was changed
//   mnp_tc_filters_installed{representor}          filters of ours installed per representor
//   mnp_tc_apply_errors_total{stage,reason}        failed lookups/observes/applies, by error code
//   mnp_tc_policies{state}                         MultiNetworkPolicies known (valid / invalid)
//   mnp_tc_pods                                    pods in the cache (all nodes)
//   mnp_tc_attachments{state}                      pod interfaces on this node (enforced / skipped)
//   mnp_tc_informer_restarts_total{kind}           list/watch restarts after errors or silence
//   mnp_tc_ready                                   1 after the initial sync and first pass
// plus prom-client's default process and Node.js metrics.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AgentMetrics, KnownCounts } from './metrics.js';

export const INFORMER_KINDS = ['Pod', 'Namespace', 'NetworkAttachmentDefinition', 'MultiNetworkPolicy'] as const;

export class PromMetrics implements AgentMetrics {
  readonly registry = new Registry();
  private readonly syncs: Counter<'full'>;
  private readonly duration: Histogram<'full'>;
  private readonly applies: Counter;
  private readonly filters: Gauge<'representor'>;
  private readonly errors: Counter<'stage' | 'reason'>;
  private readonly policies: Gauge<'state'>;
  private readonly pods: Gauge;
  private readonly attachments: Gauge<'state'>;
  private readonly restarts: Counter<'kind'>;
  private readonly readyGauge: Gauge;
  private restartSample: (() => Readonly<Record<string, number>>) | undefined;
  private readonly restartsSeen = new Map<string, number>();
  private isReady: () => boolean = () => false;

  constructor(opts: { readonly defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.syncs = new Counter({ name: 'mnp_tc_syncs_total', help: 'Reconcile passes, by whether the pass observed every netdev (full).', labelNames: ['full'], registers });
    this.duration = new Histogram({
      name: 'mnp_tc_sync_duration_seconds',
      help: 'Duration of reconcile passes (render, compile, observe, apply).',
      labelNames: ['full'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.applies = new Counter({ name: 'mnp_tc_applies_total', help: 'Netdevs whose TC program was changed (a non-empty plan applied).', registers });
    this.filters = new Gauge({ name: 'mnp_tc_filters_installed', help: 'Filters of this agent installed on a VF representor (last observe or apply).', labelNames: ['representor'], registers });
    this.errors = new Counter({ name: 'mnp_tc_apply_errors_total', help: 'Representor lookups, observes and applies that failed, by stage and error code.', labelNames: ['stage', 'reason'], registers });
    this.policies = new Gauge({ name: 'mnp_tc_policies', help: 'MultiNetworkPolicies known; invalid ones fail closed.', labelNames: ['state'], registers });
    this.pods = new Gauge({ name: 'mnp_tc_pods', help: 'Pods in the cache (all nodes: peers are selected cluster-wide).', registers });
    this.attachments = new Gauge({ name: 'mnp_tc_attachments', help: 'Pod interfaces on this node: enforced, or skipped (not enforceable).', labelNames: ['state'], registers });
    const self = this;
    this.restarts = new Counter({
      name: 'mnp_tc_informer_restarts_total',
      help: 'Informer list/watch restarts after an error or a silent watch, per kind.',
      labelNames: ['kind'],
      registers,
      collect() {
        const now = self.restartSample?.() ?? {};
        for (const [kind, total] of Object.entries(now)) {
          const delta = total - (self.restartsSeen.get(kind) ?? 0);
          if (delta > 0) this.inc({ kind }, delta);
          self.restartsSeen.set(kind, total);
        }
      },
    });
    for (const kind of INFORMER_KINDS) this.restarts.inc({ kind }, 0);
    this.readyGauge = new Gauge({
      name: 'mnp_tc_ready',
      help: '1 once every informer has synced and the first pass is done.',
      registers,
      collect() {
        this.set(self.isReady() ? 1 : 0);
      },
    });
    this.known({ policies: 0, invalidPolicies: 0, pods: 0, attachments: 0, skipped: 0 });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  sync(full: boolean, seconds: number): void {
    const labels = { full: String(full) };
    this.syncs.inc(labels);
    this.duration.observe(labels, seconds);
  }

  applied(): void {
    this.applies.inc();
  }

  filtersInstalled(representor: string, count: number): void {
    this.filters.set({ representor }, count);
  }

  forgetRepresentor(representor: string): void {
    this.filters.remove({ representor });
  }

  applyError(stage: string, reason: string): void {
    this.errors.inc({ stage, reason });
  }

  known(c: KnownCounts): void {
    this.policies.set({ state: 'valid' }, c.policies);
    this.policies.set({ state: 'invalid' }, c.invalidPolicies);
    this.pods.set(c.pods);
    this.attachments.set({ state: 'enforced' }, c.attachments);
    this.attachments.set({ state: 'skipped' }, c.skipped);
  }

  informerRestarts(sample: () => Readonly<Record<string, number>>): void {
    this.restartSample = sample;
  }

  ready(isReady: () => boolean): void {
    this.isReady = isReady;
  }

  /** The exposition text and its content type, for /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
