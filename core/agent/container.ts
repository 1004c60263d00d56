// The composition root: ports, settings and the plugins the configuration names, bound
// into one inversify container. Nothing here touches the host; it only wires.
import 'reflect-metadata';
import { Container } from 'inversify';
import { CniAdapter } from '../api/cni-adapter.js';
import { AgentSettings } from '../api/plugin.js';
import { Exec, Logger, Sysfs } from '../api/ports.js';
import { err, ok, type Result } from '../api/result.js';
import { TcDriver } from '../api/tc-driver.js';
import { BUILTIN_ADAPTERS, BUILTIN_DRIVERS, type AgentConfig } from '../config.js';
import { BUILTIN_PLUGINS, checkOptions, defaultImporter, importPlugin, type Importer } from './plugin-loader.js';
import type { PluginManifest } from '../api/plugin.js';

export const Config = Symbol.for('mnp-tc.Config');

export interface Ports {
  readonly logger: Logger;
  readonly exec: Exec;
  readonly sysfs: Sysfs;
}

export interface Wired {
  readonly container: Container;
  /** Active adapters in `--network-plugins` order. */
  readonly adapters: readonly CniAdapter[];
  readonly driver: TcDriver;
}

const UNAVAILABLE: Readonly<Record<string, string>> = {};

export async function wire(cfg: AgentConfig, ports: Ports, importer: Importer = defaultImporter): Promise<Result<Wired>> {
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind(Config).toConstantValue(cfg);
  container.bind(Logger).toConstantValue(ports.logger);
  container.bind(Exec).toConstantValue(ports.exec);
  container.bind(Sysfs).toConstantValue(ports.sysfs);
  container.bind(AgentSettings).toConstantValue({ ctZone: cfg.ctZone, stateful: cfg.stateful });

  // --plugin packages first: they may provide names that --network-plugins or --tc-driver use.
  const external = new Map<string, PluginManifest>();
  for (const spec of cfg.plugins) {
    const m = await importPlugin(spec, importer);
    if (!m.ok) return m;
    external.set(m.value.meta.name, m.value);
  }
  const known = (kind: PluginManifest['meta']['kind']): string[] => [
    ...(kind === 'tc-driver' ? BUILTIN_DRIVERS : BUILTIN_ADAPTERS),
    ...[...external.values()].filter((m) => m.meta.kind === kind).map((m) => m.meta.name),
  ];
  const load = async (name: string, kind: PluginManifest['meta']['kind']): Promise<Result<void>> => {
    if (UNAVAILABLE[name] && !external.has(name)) return err({ code: 'plugin-invalid', plugin: name, problem: UNAVAILABLE[name]! });
    let manifest = external.get(name);
    if (!manifest) {
      if (!BUILTIN_PLUGINS[name]) {
        const what = kind === 'tc-driver' ? '--tc-driver' : '--network-plugins';
        return err({ code: 'plugin-invalid', plugin: name, problem: `unknown ${what} value (known: ${[...new Set(known(kind))].sort().join(', ')}; load others with --plugin)` });
      }
      const m = await importPlugin(name, importer);
      if (!m.ok) return m;
      manifest = m.value;
    }
    if (manifest.meta.kind !== kind) return err({ code: 'plugin-invalid', plugin: name, problem: `is a ${manifest.meta.kind}, not a ${kind}` });
    const options = checkOptions(manifest, {});
    if (!options.ok) return options;
    try {
      container.load(manifest.module(options.value));
    } catch (e) {
      return err({ code: 'plugin-invalid', plugin: name, problem: `module() failed: ${(e as Error).message}` });
    }
    return ok(undefined);
  };
  for (const name of cfg.networkPlugins) {
    const r = await load(name, 'cni-adapter');
    if (!r.ok) return r;
  }
  const d = await load(cfg.tcDriver, 'tc-driver');
  if (!d.ok) return d;

  try {
    const all = container.getAll<CniAdapter>(CniAdapter);
    const adapters = cfg.networkPlugins.map((n) => all.find((a) => a.name === n)).filter((a): a is CniAdapter => a !== undefined);
    const missing = cfg.networkPlugins.find((n) => !adapters.some((a) => a.name === n));
    if (missing) return err({ code: 'plugin-invalid', plugin: missing, problem: 'its module bound no CniAdapter with that name' });
    const driver = container.getAll<TcDriver>(TcDriver).find((x) => x.name === cfg.tcDriver);
    if (!driver) return err({ code: 'plugin-invalid', plugin: cfg.tcDriver, problem: 'its module bound no TcDriver with that name' });
    return ok({ container, adapters, driver });
  } catch (e) {
    return err({ code: 'plugin-invalid', plugin: cfg.tcDriver, problem: `cannot be constructed: ${(e as Error).message}` });
  }
}
