// `--plugin` given as a path: a file is imported as is; a directory is a package, whose entry
// is its package.json `exports` (".", import or default condition), else `main`, else
// index.js — ESM import() does not resolve directories by itself.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const isPathSpec = (spec: string): boolean => spec.startsWith('.') || isAbsolute(spec);

/** The file URL to import for a path spec; throws a one-line Error the loader reports. */
export function pluginEntry(spec: string): string {
  const path = resolve(spec);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new Error(`no such file or directory: ${path}`);
  if (!st.isDirectory()) return pathToFileURL(path).href;
  let pkg: { exports?: unknown; main?: unknown } = {};
  try {
    pkg = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as typeof pkg;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${join(path, 'package.json')}: ${(e as Error).message}`);
  }
  const entry = exportsEntry(pkg.exports) ?? (typeof pkg.main === 'string' ? pkg.main : 'index.js');
  return pathToFileURL(join(path, entry)).href;
}

function exportsEntry(exp: unknown): string | undefined {
  if (typeof exp === 'string') return exp;
  if (!exp || typeof exp !== 'object') return undefined;
  const o = exp as Record<string, unknown>;
  const dot = '.' in o ? o['.'] : o;
  if (typeof dot === 'string') return dot;
  if (dot && typeof dot === 'object') {
    const c = dot as Record<string, unknown>;
    for (const k of ['import', 'node', 'default']) if (typeof c[k] === 'string') return c[k] as string;
  }
  return undefined;
}
