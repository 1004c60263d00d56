// Builds the agent as one minified ESM bundle (`npm run build`, the image's build stage, the
// benchmark): `node deploy/image/bundle.mjs [--outdir DIR]` (default dist/, emptied first).
//
// Why: the agent's memory (docs/performance.md, "Agent memory"). V8 keeps the source text of
// every module it loads; @kubernetes/client-node alone is 967 files (21 MB of text, mostly
// generated code with large doc comments). Minified, tree-shaken and in a few files it costs
// far less heap and RSS.
//
// Layout of DIR, which the running code relies on:
//   core/cli/run.js        the CLI (bin/multi-networkpolicy-tc.js runs it)
//   core/api/index.js      the plugin API: what `multi-networkpolicy-tc/plugin-api` resolves
//                          to for a third-party plugin (core/agent/plugin-api-hook.ts resolves
//                          '../api/index.js' against its own module's URL, so every file that
//                          may hold that code must sit one directory below core/)
//   core/chunks/*.js       code shared by the two entries (one copy of inversify and of the
//                          tokens for the agent and its plugins) and the lazily imported parts
//                          (client-node, each built-in plugin and driver)
// ffi-rs stays external (a native addon with per-platform packages): node_modules is still
// shipped next to the bundle for it.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const ENTRY_POINTS = { 'core/cli/run': 'core/cli/run.ts', 'core/api/index': 'core/api/index.ts' };
export const EXTERNAL = ['ffi-rs'];

// CommonJS dependencies call require(), and a few read __filename/__dirname; an ESM chunk has
// none of them. Every chunk gets its own (the names cannot clash: the minifier never
// produces names this long, and leaves the free names `require`, `__filename` and
// `__dirname` alone).
const BANNER = [
  "import { createRequire as __mnpCreateRequire } from 'node:module';",
  "import { fileURLToPath as __mnpFileURLToPath } from 'node:url';",
  'const require = __mnpCreateRequire(import.meta.url);',
  'const __filename = __mnpFileURLToPath(import.meta.url);',
  "const __dirname = __mnpFileURLToPath(new URL('.', import.meta.url));",
].join(' ');

/** Bundles the agent into `outdir` (emptied first); returns esbuild's metafile. */
export async function bundle(outdir = join(ROOT, 'dist')) {
  await rm(outdir, { recursive: true, force: true });
  const r = await build({
    absWorkingDir: ROOT,
    entryPoints: ENTRY_POINTS,
    outdir,
    outbase: ROOT,
    chunkNames: 'core/chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // legacy decorators from tsconfig.json; inversify needs no design:paramtypes (every
    // constructor parameter has its @inject token)
    tsconfig: join(ROOT, 'tsconfig.json'),
    minify: true,
    // class and function names stay readable in logs, errors and stack traces
    keepNames: true,
    // licence comments go to *.LEGAL.txt beside the chunks, not into the code V8 keeps
    legalComments: 'external',
    // for `node --enable-source-maps` when a stack trace must be read; never loaded otherwise
    sourcemap: 'linked',
    sourcesContent: false,
    external: EXTERNAL,
    banner: { js: BANNER },
    metafile: true,
    logLevel: 'warning',
  });
  return r.metafile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const outdir = resolve(values.outdir ?? join(ROOT, 'dist'));
  const t = Date.now();
  const meta = await bundle(outdir);
  const js = Object.entries(meta.outputs).filter(([f]) => f.endsWith('.js'));
  const bytes = js.reduce((n, [, o]) => n + o.bytes, 0);
  process.stdout.write(`bundled into ${outdir}: ${js.length} files, ${(bytes / 1048576).toFixed(1)} MB of JavaScript, ${Date.now() - t} ms\n`);
}
