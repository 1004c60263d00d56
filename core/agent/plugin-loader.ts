// Loads plugins by name at startup: built-ins through a map of lazy imports, anything else
// (a `--plugin` npm package or path) through an injected importer. Checks the manifest's
// shape, API version and options before its module is bound; any failure is one sentence
// that names the plugin.
import { Ajv } from 'ajv';
import { exposePluginApi } from './plugin-api-hook.js';
import { isPathSpec, pluginEntry } from './plugin-path.js';
import { err, ok, type Result } from '../api/result.js';
import type { PluginManifest } from '../api/plugin.js';

export type Importer = (specifier: string) => Promise<unknown>;

export const BUILTIN_PLUGINS: Readonly<Record<string, () => Promise<unknown>>> = {
  'accelerated-bridge': () => import('../../plugins/accelerated-bridge/index.js'),
  bond: () => import('../../plugins/bond/index.js'),
  sriov: () => import('../../plugins/sriov/index.js'),
  cmdline: () => import('../../drivers/tc-cmdline/index.js'),
  'dry-run': () => import('../../drivers/dry-run/index.js'),
  netlink: () => import('../../drivers/tc-netlink/index.js'),
};

/** Node's own import; a path (./x, /x) is a file or a package directory (plugin-path.ts). */
export const defaultImporter: Importer = async (spec) => {
  exposePluginApi();
  return import(isPathSpec(spec) ? pluginEntry(spec) : spec);
};

export async function importPlugin(spec: string, importer: Importer): Promise<Result<PluginManifest>> {
  const builtin = BUILTIN_PLUGINS[spec];
  let mod: unknown;
  try {
    mod = builtin ? await builtin() : await importer(spec);
  } catch (e) {
    return err({ code: 'plugin-invalid', plugin: spec, problem: `cannot be imported: ${(e as Error).message.split('\n')[0]}` });
  }
  return checkManifest(spec, (mod as { default?: unknown } | undefined)?.default);
}

export function checkManifest(spec: string, m: unknown): Result<PluginManifest> {
  const bad = (problem: string) => err({ code: 'plugin-invalid' as const, plugin: spec, problem });
  if (!m || typeof m !== 'object') return bad('has no default export (expected a plugin manifest from definePlugin)');
  const meta = (m as { meta?: { name?: unknown; kind?: unknown; apiVersion?: unknown } }).meta;
  if (!meta || typeof meta.name !== 'string' || meta.name === '') return bad('manifest has no meta.name');
  if (meta.kind !== 'cni-adapter' && meta.kind !== 'tc-driver') return bad(`meta.kind must be 'cni-adapter' or 'tc-driver', got ${JSON.stringify(meta.kind)}`);
  if (meta.apiVersion !== 1) return bad(`meta.apiVersion ${JSON.stringify(meta.apiVersion)} is not supported (this agent speaks 1)`);
  if (typeof (m as { module?: unknown }).module !== 'function') return bad('manifest has no module() function');
  return ok(m as PluginManifest);
}

const ajv = new Ajv({ strict: false, useDefaults: true });

export function checkOptions(m: PluginManifest, options: unknown): Result<unknown> {
  if (!m.optionsSchema) return ok(options ?? {});
  const value = structuredClone(options ?? {});
  const validate = ajv.compile(m.optionsSchema);
  if (validate(value)) return ok(value);
  const e = validate.errors?.[0];
  return err({ code: 'plugin-invalid', plugin: m.meta.name, problem: `options${e?.instancePath ?? ''} ${e?.message ?? 'invalid'}` });
}
