// The container image build (Dockerfile), checked without a container engine (there is no
// Docker daemon here; `buildah bud` builds it, see docs/operations.md): the stages, what
// the runtime stage contains, the build context, and that the production dependencies are
// exactly what the agent imports at run time.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly lines: string[];
}

async function stages(): Promise<{ args: Map<string, string>; stages: Stage[] }> {
  const text = (await readFile('Dockerfile', 'utf8')).replace(/\\\n\s*/g, '');
  const args = new Map<string, string>();
  const out: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) out.push({ from: from[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? ''), name: from[2], lines: [] });
    else if (out.length === 0) {
      const a = /^ARG\s+(\w+)=(\S+)$/.exec(line);
      if (a) args.set(a[1]!, a[2]!);
    } else out.at(-1)!.lines.push(line);
  }
  return { args, stages: out };
}

test('three stages on Node 20 slim: build (typechecks, bundles), prod-deps (production dependencies only), runtime', async () => {
  const { stages: s } = await stages();
  assert.deepEqual(s.map((x) => x.name), ['build', 'prod-deps', undefined]);
  for (const x of s) assert.match(x.from, /^node:20(\.\d+)*-(bookworm|bullseye|trixie)-slim$/, 'Node 20 slim');
  const [build, deps, runtime] = s as [Stage, Stage, Stage];
  assert.ok(build.lines.includes('RUN npm ci --no-audit --no-fund'));
  // typecheck, then the bundle (deploy/image/bundle.mjs writes dist/) once the sources are in
  const tsc = build.lines.indexOf('RUN npx tsc -p deploy/image/tsconfig.build.json');
  const bundle = build.lines.indexOf('RUN node deploy/image/bundle.mjs');
  assert.ok(tsc >= 0 && bundle > tsc, 'typecheck, then bundle');
  for (const dir of ['core', 'plugins', 'drivers']) assert.ok(build.lines.indexOf(`COPY ${dir} ${dir}`) < tsc, `${dir} is copied before the build`);
  assert.ok(build.lines.includes('COPY deploy/image/tsconfig.build.json deploy/image/bundle.mjs deploy/image/'));
  assert.ok(deps.lines.some((l) => /^RUN npm ci --omit=dev\b/.test(l)), 'production dependencies only');
  // the runtime stage: iproute2 (tc), the production node_modules, the compiled agent, nothing else
  assert.ok(runtime.lines.some((l) => /apt-get install -y --no-install-recommends iproute2 && rm -rf \/var\/lib\/apt\/lists\/\*/.test(l)));
  const copies = runtime.lines.filter((l) => l.startsWith('COPY'));
  assert.deepEqual(copies, ['COPY --from=prod-deps /app/node_modules node_modules', 'COPY --from=build /src/dist dist', 'COPY package.json ./', 'COPY bin bin']);
  assert.ok(!runtime.lines.some((l) => /^RUN npm (ci|install)\b/.test(l)), 'no npm install in the runtime stage');
  assert.ok(runtime.lines.includes('ENTRYPOINT ["node", "--expose-gc", "/app/bin/multi-networkpolicy-tc.js"]'));
});

test('the build context holds what the Dockerfile copies and nothing else of note', async () => {
  const ignore = (await readFile('.dockerignore', 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.equal(ignore[0], '**', 'allow-list: everything is excluded first');
  const allowed = ignore.slice(1).map((l) => l.replace(/^!/, '').replace(/\/\*\*$/, ''));
  const { stages: s } = await stages();
  const sources = s.flatMap((x) => x.lines).filter((l) => l.startsWith('COPY') && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
  for (const src of sources) {
    assert.ok(existsSync(src), `${src} exists`);
    assert.ok(allowed.includes(src.replace(/\/$/, '')), `${src} is in the build context (.dockerignore)`);
  }
  for (const out of ['node_modules', 'dist', 'test', 'bench', '.git', 'test-out']) assert.ok(!allowed.includes(out), `${out} stays out of the context`);
  const build = JSON.parse((await readFile('deploy/image/tsconfig.build.json', 'utf8')).replace(/^\s*\/\/.*$/gm, '')) as { include: string[]; compilerOptions: { noEmit?: boolean } };
  assert.deepEqual(build.include, ['../../core', '../../plugins', '../../drivers']);
  assert.equal(build.compilerOptions.noEmit, true, 'tsc only typechecks: dist/ is the bundle');
});

test('npm run build is the same two steps as the image (typecheck, bundle into dist/), and the entry point runs dist/', async () => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string>; devDependencies: Record<string, string> };
  assert.equal(pkg.scripts['build'], 'tsc -p deploy/image/tsconfig.build.json && node deploy/image/bundle.mjs');
  assert.ok('esbuild' in pkg.devDependencies, 'esbuild is a build tool: a dev dependency');
  const bin = await readFile(pkg.bin['multi-networkpolicy-tc']!, 'utf8');
  assert.match(bin, /join\(root, 'dist', 'core', 'cli', 'run\.js'\)/, 'the bundle first');
  assert.match(bin, /tsx\/esm\/api/, 'tsx on the sources otherwise');
});

/** Bare module specifiers imported at run time (not `import type`) by the agent's code. */
async function runtimeImports(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith('.ts')) continue;
    const src = await readFile(join(e.parentPath, e.name), 'utf8');
    for (const m of src.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'";]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\('([^']+)'\)/gm)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (spec.startsWith('.') || spec.startsWith('node:') || spec.includes('${')) continue;
      out.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return out;
}

test('production dependencies: everything core, plugins and drivers import, and no build or test tool', async () => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const imported = new Set<string>();
  for (const d of ['core', 'plugins', 'drivers']) for (const x of await runtimeImports(d)) imported.add(x);
  assert.ok(imported.has('prom-client') && imported.has('inversify') && imported.has('@kubernetes/client-node'));
  const missing = [...imported].filter((x) => !(x in pkg.dependencies));
  assert.deepEqual(missing, [], 'imported at run time but not a production dependency');
  // what `npm ci --omit=dev` installs: lockfile entries not marked dev
  const lock = JSON.parse(await readFile('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
  const prod = new Set(Object.entries(lock.packages).filter(([k, v]) => k.startsWith('node_modules/') && !v.dev).map(([k]) => k.slice(k.lastIndexOf('node_modules/') + 'node_modules/'.length)));
  for (const dep of Object.keys(pkg.dependencies)) assert.ok(prod.has(dep), `${dep} is installed in production`);
  for (const dev of ['typescript', 'tsx', 'fast-check', 'kubernetes-models', 'esbuild']) assert.ok(!prod.has(dev), `${dev} is not in the image`);
});
