// The running agent: a cluster source filling the store, the reconciler passes gated on the
// initial sync, the reporters, and an orderly stop. Built by core/cli/agent-command.ts from
// flags, and by tests from fakes (fake API server, dry-run driver).
import type { CniAdapter } from '../api/cni-adapter.js';
import type { Logger } from '../api/ports.js';
import type { Result } from '../api/result.js';
import type { TcDriver } from '../api/tc-driver.js';
import type { Netdev } from '../model/attachment.js';
import type { NodeOptions } from '../pipeline/program-node.js';
import type { EventSink } from '../report/events.js';
import type { ClusterSource } from '../watch/source.js';
import type { ClusterStore } from '../watch/store.js';
import { Reconciler, type SharedBlockLayout, type NetdevResolver, type PassResult, type Reporter, type ReconcilerTiming } from './reconciler.js';

export interface AgentParts {
  readonly nodeName: string;
  readonly store: ClusterStore;
  readonly source: ClusterSource;
  readonly adapters: readonly CniAdapter[];
  readonly driver: TcDriver;
  readonly resolve: NetdevResolver;
  /** Netdevs an earlier run may have programmed (adopted by the first pass). */
  readonly discover?: () => Promise<readonly Netdev[]>;
  /** Uplinks an earlier shared-block run may have bound (per-port layout: released). */
  readonly discoverUplinks?: () => Promise<readonly Netdev[]>;
  readonly nodeOptions: NodeOptions;
  readonly reporters: readonly Reporter[];
  readonly events: EventSink;
  readonly log: Logger;
  readonly timing?: Partial<ReconcilerTiming>;
  /** Absent: the per-port layout. */
  readonly layout?: SharedBlockLayout;
}

export class Agent {
  readonly reconciler: Reconciler;
  private readonly log: Logger;
  private ready = false;
  private syncing: Promise<void> | undefined;

  constructor(private readonly parts: AgentParts) {
    this.log = parts.log.child({ component: 'agent' });
    this.reconciler = new Reconciler({
      store: parts.store,
      nodeName: parts.nodeName,
      adapters: parts.adapters,
      nodeOptions: parts.nodeOptions,
      driver: parts.driver,
      resolve: parts.resolve,
      log: parts.log,
      reporters: parts.reporters,
      ...(parts.timing ? { timing: parts.timing } : {}),
      ...(parts.layout ? { layout: parts.layout } : {}),
    });
  }

  get isReady(): boolean {
    return this.ready;
  }

  /**
   * Starts the source. Passes begin once every initial list is in (`whenSynced`); a pass on a
   * half-loaded cache would remove the rules of pods whose policies have not arrived yet.
   * With `passes: false` nothing runs by itself (--once calls runOnce).
   */
  async start(opts: { readonly passes: boolean } = { passes: true }): Promise<Result<void>> {
    const started = await this.parts.source.start();
    if (!started.ok) return started;
    const adopted = this.parts.discover ? await this.parts.discover().catch((e: unknown) => {
      this.log.warn({ err: e }, 'cannot list representors; only netdevs of current endpoints are checked');
      return [];
    }) : [];
    const uplinks = this.parts.discoverUplinks ? await this.parts.discoverUplinks().catch(() => []) : [];
    this.reconciler.adopt(adopted, uplinks);
    this.syncing = this.parts.source.whenSynced().then(() => {
      this.log.info({ node: this.parts.nodeName, adopted: adopted.length }, 'cluster synced; reconciling');
      if (opts.passes) this.reconciler.enable();
    });
    if (opts.passes) void this.reconciler.whenFirstPassDone().then(() => (this.ready = true));
    return { ok: true, value: undefined };
  }

  whenSynced(): Promise<void> {
    return this.syncing ?? this.parts.source.whenSynced();
  }

  /** Sync, one full pass, done (--once). */
  async runOnce(): Promise<PassResult> {
    await this.whenSynced();
    const r = await this.reconciler.runOnce(true);
    this.ready = true;
    return r;
  }

  /** Stops watching and passing; installed rules stay (a restart adopts them). */
  async stop(): Promise<void> {
    await this.parts.source.stop();
    await this.reconciler.stop();
    await this.parts.events.flush();
    this.log.info('stopped; installed rules left in place');
  }
}
