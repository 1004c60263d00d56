// Pure: the pod interface names a bond CNI config enslaves (`"links": [{"name": "net1"}, …]`).
import { err, ok, type Result } from '../../core/api/result.js';

/** The link names, or why the config has none. Looks inside a conflist's bond plugin too. */
export function bondLinks(config: Readonly<Record<string, unknown>>): Result<readonly string[], string> {
  const plugins = config['plugins'];
  const bond = Array.isArray(plugins)
    ? (plugins.find((p: unknown) => isRecord(p) && p['type'] === 'bond') as Record<string, unknown> | undefined)
    : config;
  const links = bond?.['links'];
  if (!Array.isArray(links) || links.length === 0) return err('is missing or empty');
  const names: string[] = [];
  for (const [i, link] of links.entries()) {
    const name = isRecord(link) ? link['name'] : undefined;
    if (typeof name !== 'string' || name === '') return err(`entry ${i} has no name`);
    if (names.includes(name)) return err(`lists ${name} twice`);
    names.push(name);
  }
  return ok(names);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
