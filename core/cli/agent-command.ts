// The agent (no subcommand): flags → source (API or --manifests) → plugins → reconciler →
// reporters, then run until SIGTERM/SIGINT (or once with --once). Anything a user can get
// wrong (kubeconfig, unreachable API, plugin names, manifest files) ends in one line on
// stderr and a non-zero exit; installed rules are never removed on the way out.
import { hostname } from 'node:os';
import { describeError } from '../api/errors.js';
import type { Logger } from '../api/ports.js';
import { Agent } from '../agent/agent.js';
import { wire } from '../agent/container.js';
import { discoverRepresentors, discoverUplinks } from '../agent/discover.js';
import { HeapTrim } from '../agent/heap-trim.js';
import { startHealthServer, type HealthServer } from '../agent/health.js';
import { createLogger, levelOf } from '../agent/logger.js';
import { PromMetrics } from '../agent/prom-metrics.js';
import { adapterResolver, offlineResolver, sharedBlockLayout } from '../agent/netdev-resolver.js';
import type { Reporter, ReconcilerTiming } from '../agent/reconciler.js';
import { DEFAULT_RESYNC_SECONDS, type AgentConfig } from '../config.js';
import { changePrinter } from '../report/change-printer.js';
import { EventReporter, noopEventSink, type EventSink } from '../report/events.js';
import { MetricsReporter } from '../report/metrics-reporter.js';
import { RulesDump } from '../report/rules-dump.js';
import { ManifestSource } from '../watch/manifest-source.js';
import type { ClusterSource } from '../watch/source.js';
import { ClusterStore } from '../watch/store.js';
import type { InformerTiming } from '../watch/supervised-informer.js';
import { ExecaExec } from '../../drivers/shared/execa-exec.js';
import { NodeSysfs } from '../../plugins/sysfs/node-sysfs.js';
import { nodeOptions } from './offline.js';

export interface AgentCommandOptions {
  readonly out?: (line: string) => void;
  /** Aborting it stops the agent like SIGTERM (tests). */
  readonly signal?: AbortSignal;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly informerTiming?: InformerTiming;
  readonly reconcilerTiming?: Partial<ReconcilerTiming>;
  readonly logDestination?: NodeJS.WritableStream;
  readonly preflightTimeoutMs?: number;
  /** Called once the agent runs (tests). */
  readonly onStarted?: (agent: Agent) => void;
}

const stdout = (s: string): void => void process.stdout.write(`${s}\n`);

export async function agentCommand(cfg: AgentConfig, errOut: (s: string) => void, opts: AgentCommandOptions = {}): Promise<number> {
  const out = opts.out ?? stdout;
  const fail = (code: number, line: string): number => {
    errOut(`multi-networkpolicy-tc: ${line}`);
    return code;
  };
  const nodeName = (cfg.hostnameOverride ?? hostname()).trim();
  if (nodeName === '') return fail(2, 'empty node name: give --hostname-override');

  // From manifests or with --once the output is for people: changes on stdout, logs on stderr.
  const human = cfg.manifests !== undefined || cfg.once === true;
  const logger = createLogger({
    verbosity: cfg.verbosity,
    level: human && cfg.verbosity === 0 ? 'warn' : levelOf(cfg.verbosity),
    destination: opts.logDestination ?? (human ? process.stderr : process.stdout),
  });
  const log = logger.child({ node: nodeName });

  const sysfs = new NodeSysfs('/');
  const wired = await wire(cfg, { logger, exec: new ExecaExec(), sysfs });
  if (!wired.ok) return fail(2, describeError(wired.error));
  const { adapters, driver } = wired.value;

  // Metrics are served on the health address; without one there is nobody to read them.
  const metrics = cfg.healthAddress !== undefined && cfg.once !== true ? new PromMetrics() : undefined;
  const store = new ClusterStore();
  let source: ClusterSource;
  let events: EventSink = noopEventSink;
  if (cfg.manifests !== undefined) {
    source = new ManifestSource(cfg.manifests, store, logger, { watch: cfg.once !== true, debounceMs: 100 });
  } else {
    // client-node is loaded only when the API is used (it takes half a second to import).
    const { loadKubeConfig, preflight } = await import('../watch/kubeconfig.js');
    const { ApiSource } = await import('../watch/api-source.js');
    const { ApiEventSink } = await import('../report/api-event-sink.js');
    const kc = loadKubeConfig({ ...(cfg.kubeconfig !== undefined ? { kubeconfig: cfg.kubeconfig } : {}), ...(cfg.master !== undefined ? { master: cfg.master } : {}), ...(opts.env ? { env: opts.env } : {}) });
    if (!kc.ok) return fail(1, describeError(kc.error));
    const pre = await preflight(kc.value, opts.preflightTimeoutMs ?? 15_000);
    if (!pre.ok) return fail(1, describeError(pre.error));
    const api = new ApiSource(kc.value, store, logger, opts.informerTiming);
    metrics?.informerRestarts(() => Object.fromEntries(Object.entries(api.stats()).map(([kind, st]) => [kind, st.restarts])));
    source = api;
    events = new ApiEventSink(kc.value, nodeName, logger);
  }

  const reporters: Reporter[] = [new EventReporter(events, nodeName)];
  if (human) reporters.push(changePrinter(out, nodeName, { summary: cfg.once === true }));
  if (cfg.podRulesPath !== undefined) reporters.push(new RulesDump(cfg.podRulesPath, logger));
  if (metrics) reporters.push(new MetricsReporter(metrics));
  const trim = HeapTrim.fromGlobal(logger);
  if (trim) reporters.push(trim);
  const dryRun = driver.name === 'dry-run';
  const agent = new Agent({
    nodeName,
    store,
    source,
    adapters,
    driver,
    // The dry-run driver has no host: netdevs come from network-status, and nothing was installed before.
    resolve: dryRun ? offlineResolver : adapterResolver(adapters),
    ...(dryRun ? {} : { discover: () => discoverRepresentors(sysfs), discoverUplinks: () => discoverUplinks(sysfs) }),
    nodeOptions: nodeOptions(cfg),
    ...(cfg.layout === 'shared-block' ? { layout: sharedBlockLayout(dryRun ? null : adapters, cfg.uplink) } : {}),
    reporters,
    events,
    log: logger,
    timing: { resyncMs: (cfg.resyncSeconds ?? DEFAULT_RESYNC_SECONDS) * 1000, ...opts.reconcilerTiming },
  });

  const started = await agent.start({ passes: cfg.once !== true });
  if (!started.ok) return fail(1, describeError(started.error));
  events.emit({
    regarding: { kind: 'Node', name: nodeName },
    type: 'Normal',
    reason: 'Started',
    message: `multi-networkpolicy-tc started on node ${nodeName} (driver ${driver.name}, adapters ${adapters.map((a) => a.name).join(', ')})`,
  });
  log.info({ driver: driver.name, adapters: adapters.map((a) => a.name), source: cfg.manifests ? 'manifests' : 'api' }, 'agent started');

  if (cfg.once === true) {
    const r = await agent.runOnce();
    await agent.stop();
    return r.failed > 0 ? 1 : 0;
  }

  let health: HealthServer | undefined;
  if (cfg.healthAddress !== undefined) {
    try {
      metrics?.ready(() => agent.isReady);
      health = await startHealthServer(cfg.healthAddress, () => agent.isReady, metrics ? () => metrics.render() : undefined);
    } catch (e) {
      await agent.stop();
      return fail(1, `--health-address ${cfg.healthAddress}: ${(e as Error).message}`);
    }
  }
  opts.onStarted?.(agent);
  const signal = await untilStopped(opts.signal, log);
  await agent.stop();
  await health?.close();
  log.info({ signal }, 'exiting');
  return 0;
}

/** Resolves on SIGTERM/SIGINT or when `signal` aborts; a second signal exits at once. */
function untilStopped(signal: AbortSignal | undefined, log: Logger): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string): void => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      if (why !== 'abort') {
        process.once('SIGTERM', () => process.exit(1));
        process.once('SIGINT', () => process.exit(1));
      }
      log.info({ signal: why }, 'stopping');
      resolve(why);
    };
    const onTerm = (): void => done('SIGTERM');
    const onInt = (): void => done('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
    if (signal) {
      if (signal.aborted) done('abort');
      else signal.addEventListener('abort', () => done('abort'), { once: true });
    }
  });
}
