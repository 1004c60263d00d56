// The agent's own machinery in-process, one instance per case: the real adapters (sysfs of
// the guest), the real TC driver chosen by --tc-driver, and the reconciler the agent runs
// (select → render → compile → observe → diff → apply). The cluster comes from the case
// instead of informers: each call of `apply` is one reconcile pass of a new snapshot.
//
// With `--layout shared-block` the reconciler gets the layout the agent command builds
// (`sharedBlockLayout(adapters, --uplink)`): the lab's veths report no phys_switch_id, so every
// representor goes on the stand-in switch of the uplink veth of the topology (../lab-layout.ts).
import 'reflect-metadata';
import { pino, type Logger } from 'pino';
import type { CniAdapter } from '../../../core/api/cni-adapter.js';
import { describeError } from '../../../core/api/errors.js';
import type { Sysfs } from '../../../core/api/ports.js';
import type { PlanFor, TcDriver } from '../../../core/api/tc-driver.js';
import { wire } from '../../../core/agent/container.js';
import { adapterResolver, sharedBlockLayout } from '../../../core/agent/netdev-resolver.js';
import { Reconciler, type Failure, type PassResult, type ReconcilerDeps, type SharedBlockLayout } from '../../../core/agent/reconciler.js';
import { configInput } from '../../../core/cli/args.js';
import { nodeOptions } from '../../../core/cli/offline.js';
import { validateConfig, type AgentConfig } from '../../../core/config.js';
import type { Netdev } from '../../../core/model/attachment.js';
import type { Cluster } from '../../../core/model/snapshot.js';
import { diff } from '../../../core/pipeline/diff.js';
import { ExecaExec } from '../../../drivers/shared/execa-exec.js';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';

export interface Wiring {
  readonly cfg: AgentConfig;
  readonly adapters: readonly CniAdapter[];
  readonly driver: TcDriver;
  readonly compile: ReconcilerDeps['nodeOptions'];
  readonly log: Logger;
  /** Absent: the per-port layout. */
  readonly layout?: SharedBlockLayout;
}

/** The agent's wiring as `--tc-driver X --network-plugins accelerated-bridge,bond [--layout shared-block --uplink U]` would make it. */
export async function wireAgent(tcDriver: string, sysfs: Sysfs = new NodeSysfs('/'), extra: Record<string, unknown> = {}): Promise<Wiring> {
  const cfg = validateConfig({ ...configInput({}), networkPlugins: ['accelerated-bridge', 'bond'], tcDriver, ...extra });
  if (!cfg.ok) throw new Error(`agent configuration: ${cfg.error}`);
  const log = pino({ level: process.env['DATAPATH_LOG'] ?? 'silent' });
  const wired = await wire(cfg.value, { logger: log, exec: new ExecaExec(), sysfs });
  if (!wired.ok) throw new Error(`--tc-driver ${tcDriver}: ${describeError(wired.error)}`);
  const adapters = wired.value.adapters;
  const layout = cfg.value.layout === 'shared-block' ? { layout: sharedBlockLayout(adapters, cfg.value.uplink) } : {};
  return { cfg: cfg.value, adapters, driver: wired.value.driver, compile: nodeOptions(cfg.value), log, ...layout };
}

export interface Pass {
  readonly result: PassResult;
  readonly failures: readonly Failure[];
}

export class LabAgent {
  private rev = 0;
  private cluster: Cluster = { namespaces: [], pods: [], networks: [], policies: [], invalidPolicies: [] };
  private readonly failures: Failure[] = [];
  /** Every target the reconciler observed or programmed, by name (a block's ports are only known here). */
  private readonly targets = new Map<string, Netdev>();
  readonly reconciler: Reconciler;

  constructor(
    readonly w: Wiring,
    nodeName: string,
  ) {
    const seen = (dev: Netdev): void => void this.targets.set(dev.name, dev);
    const inner = w.driver;
    // the driver as the agent calls it: with its *Many calls when it has them (cmdline)
    const driver: TcDriver = {
      name: inner.name,
      observe: (dev) => (seen(dev), inner.observe(dev)),
      apply: (dev, plan) => (seen(dev), inner.apply(dev, plan)),
      ...(inner.observeMany ? { observeMany: (devs: readonly Netdev[]) => (devs.forEach(seen), inner.observeMany!(devs)) } : {}),
      ...(inner.applyMany ? { applyMany: (work: readonly PlanFor[]) => (work.forEach((x) => seen(x.dev)), inner.applyMany!(work)) } : {}),
    };
    this.reconciler = new Reconciler({
      store: { snapshot: () => ({ ...this.cluster, rev: this.rev }) },
      nodeName,
      adapters: w.adapters,
      nodeOptions: w.compile,
      driver,
      resolve: adapterResolver(w.adapters),
      log: w.log,
      reporters: [{ failed: (f) => this.failures.push(f) }],
      timing: { resyncMs: 0 },
      ...(w.layout ? { layout: w.layout } : {}),
    });
  }

  /** The target named `name` as the reconciler last used it: `block:N` with its ports, or the netdev. */
  target(name: string): Netdev {
    return this.targets.get(name) ?? { name };
  }

  /** The shared blocks the reconciler has used so far. */
  blocks(): Netdev[] {
    return [...this.targets.values()].filter((t) => t.block !== undefined);
  }

  /** One pass over `cluster` (full: observe every netdev, as the first pass and a resync do). */
  async apply(cluster: Cluster, full: boolean): Promise<Pass> {
    this.cluster = cluster;
    this.rev++;
    this.failures.length = 0;
    const result = await this.reconciler.runOnce(full);
    return { result, failures: [...this.failures] };
  }

  /** Netdevs whose installed program differs from the desired one (a fresh observe + diff each). */
  async drift(result: PassResult): Promise<string[]> {
    const out: string[] = [];
    for (const np of result.netdevs) {
      const o = await this.w.driver.observe(this.target(np.netdev));
      if (!o.ok) {
        out.push(`${np.netdev}: observe failed: ${describeError(o.error)}`);
        continue;
      }
      const d = diff(np.filters, o.value);
      if (d.plan.ops.length > 0) out.push(`${np.netdev}: ${d.plan.ops.length} ops still to apply (${[...new Set(d.plan.ops.map((x) => x.op))].join(', ')})`);
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.reconciler.stop();
  }
}

export const describeFailure = (f: Failure): string => `${f.stage} failed${f.netdev ? ` on ${f.netdev}` : ''} (${f.endpoints.map((e) => e.key).join(', ')}): ${f.message}`;
