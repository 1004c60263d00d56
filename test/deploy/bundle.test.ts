// The agent as it ships: one minified ESM bundle (deploy/image/bundle.mjs), run the way the
// image runs it — bin/multi-networkpolicy-tc.js next to dist/ and node_modules, no sources —
// and checked against the TypeScript sources run in this process. Also what the bundle's
// layout must guarantee: one copy of every module (the agent and its plugins share
// inversify and the tokens), the plugin API entry where plugin-api-hook.ts looks for it,
// ffi-rs left to node_modules.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Metafile } from 'esbuild';
import { bundle, EXTERNAL } from '../../deploy/image/bundle.mjs';
import { main } from '../../core/cli/main.js';
import { apiObjects, generate, LOCAL_NODE } from '../../bench/scale/generate.js';
import { FakeApiServer } from '../fake-apiserver/server.js';
import { Writable } from 'node:stream';
import { agentCommand } from '../../core/cli/agent-command.js';
import { configInput, parse } from '../../core/cli/args.js';
import { validateConfig } from '../../core/config.js';
import { FAST_INFORMERS, FAST_RECONCILER } from '../agent/harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
let app = '';
let dist = '';
let meta: Metafile;

before(async () => {
  // the runtime stage's /app: node_modules, dist, package.json, bin — and nothing else
  app = await mkdtemp(join(tmpdir(), 'mnp-bundle-'));
  dist = join(app, 'dist');
  meta = await bundle(dist);
  await cp(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
  await cp(join(ROOT, 'package.json'), join(app, 'package.json'));
  await symlink(join(ROOT, 'node_modules'), join(app, 'node_modules'));
});
after(async () => {
  if (app) await rm(app, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly out: string[];
  readonly err: string;
}

/** The shipped entry point, in a child process (cwd: the repository, for the examples). */
function shipped(argv: readonly string[]): Promise<Run> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [join(app, 'bin', 'multi-networkpolicy-tc.js'), ...argv], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => void (err += d.toString()));
    p.on('exit', (code) => done({ code, out: out.split('\n').filter((l) => l !== ''), err }));
  });
}

/** The same CLI from the TypeScript sources, in this process. */
async function sources(argv: readonly string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(...s.split('\n').filter((l) => l !== '')), (s) => err.push(s));
  return { code, out, err: err.join('\n') };
}

/** The agent from the sources, in this process: its human output, logs dropped. */
async function sourcesAgent(argv: readonly string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const c = validateConfig(configInput(parse([...argv]).values));
  assert.ok(c.ok);
  const out: string[] = [];
  const err: string[] = [];
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const code = await agentCommand(c.value, (s) => err.push(s), { out: (s) => out.push(s), logDestination: quiet, informerTiming: FAST_INFORMERS, reconcilerTiming: FAST_RECONCILER });
  return { code, out, err };
}

const outFile = (path: string): string => relative(dist, resolve(ROOT, path));

test('the image layout (bin, dist, node_modules, no sources) runs the bundle: render prints what the sources print', async () => {
  const argv = ['render', '--manifests', 'examples/cluster', '--node', 'worker-1', '--output', 'json'];
  const [b, s] = await Promise.all([shipped(argv), sources(argv)]);
  assert.equal(b.code, 0, b.err);
  assert.ok(!existsSync(join(app, 'core')), 'no sources beside the bundle: the tsx fallback cannot have run');
  assert.deepEqual(b.out, s.out);
  assert.ok(b.out.join('\n').includes('flower'), 'rendered some filters');
});

test('conformance cases through the bundle: the same verdicts as the sources', { skip: !existsSync(join(ROOT, '..', 'shared', 'conformance', 'cases')) && 'no ../shared/conformance/cases' }, async () => {
  const argv = ['check', join(ROOT, '..', 'shared', 'conformance', 'cases'), '--json'];
  const [b, s] = await Promise.all([shipped(argv), sources(argv)]);
  assert.equal(b.code, s.code, b.err);
  assert.ok(b.out.length > 50, `${b.out.length} probes`);
  assert.deepEqual(b.out, s.out);
});

test('a third-party adapter loaded with --plugin <dir> gets multi-networkpolicy-tc/plugin-api from the bundle', async () => {
  const argv = ['trace', '--plugin', './examples/host-device-adapter', '--network-plugins', 'host-device', '--manifests', 'examples/host-device-adapter/cluster', '--node', 'worker-1', '--from', 'lab/client-0', '--to', 'lab/server-0', '--network', 'lab/hd-net', '--port', '8080/TCP'];
  const b = await shipped(argv);
  assert.equal(b.code, 0, b.err);
  assert.equal(b.out[0], 'ALLOW lab/client-0 -> lab/server-0 TCP/8080 ipv4 on lab/hd-net (node worker-1)');
  assert.deepEqual(b.out, (await sources(argv)).out);
});

test('against an API server (client-node from the bundle): the agent lists, watches, and logs pino JSON lines on stdout', async () => {
  const server = await FakeApiServer.start();
  const gen = generate({ pods: 300, policies: 30, namespaces: 6, networks: 2, localAttachments: 12, seed: 7 });
  for (const [resource, obj] of apiObjects(gen)) server.apply(resource, obj);
  const p = spawn(process.execPath, [join(app, 'bin', 'multi-networkpolicy-tc.js'), '--master', server.url, '--tc-driver', 'dry-run', '--hostname-override', LOCAL_NODE], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  try {
    const pass = await new Promise<Record<string, unknown>>((done, fail) => {
      p.on('exit', (code) => fail(new Error(`the bundled agent exited ${code}: ${stderr}`)));
      createInterface({ input: p.stdout }).on('line', (line) => {
        const l = JSON.parse(line) as Record<string, unknown>; // every stdout line is a log line
        if (l['msg'] === 'pass done') done(l);
      });
    });
    // the same cluster through the sources' agent, in this process
    const s = await sourcesAgent(['--master', server.url, '--tc-driver', 'dry-run', '--hostname-override', LOCAL_NODE, '--once']);
    assert.equal(s.code, 0, s.err.join('\n'));
    const summary = /(\d+) endpoints on (\d+) netdevs; (\d+) changed/.exec(s.out.at(-1)!)!;
    assert.equal(pass['level'], 'info');
    assert.equal(pass['failed'], 0);
    assert.equal(pass['endpoints'], Number(summary[1]));
    assert.equal(pass['netdevs'], Number(summary[2]));
    assert.equal(pass['applied'], Number(summary[3]));
    assert.equal(pass['endpoints'], 12, 'node-0 holds 12 attachments');
  } finally {
    p.kill('SIGTERM');
    await server.stop();
  }
});

test('the netlink and cmdline drivers load from the bundle (ffi-rs from node_modules)', async () => {
  for (const driver of ['netlink', 'cmdline']) {
    // no representors on this host: every endpoint fails to resolve (exit 1), but the driver
    // was imported and wired (a plugin that cannot be loaded exits 2 before any pass)
    const b = await shipped(['--manifests', 'examples/cluster', '--tc-driver', driver, '--hostname-override', 'worker-1', '--once']);
    assert.equal(b.code, 1, b.err);
    assert.doesNotMatch(b.err, /plugin|cannot be imported|Cannot find/);
    assert.match(b.out.at(-1)!, /^# worker-1 rev \d+: 5 endpoints on 0 netdevs; 0 changed, 0 unchanged, 5 failed/);
  }
});

test('one copy of every module: the CLI and the plugin API entry share chunks (one inversify, one set of tokens)', () => {
  const outputs = new Map<string, string[]>();
  for (const [file, o] of Object.entries(meta.outputs)) for (const input of Object.keys(o.inputs)) outputs.set(input, [...(outputs.get(input) ?? []), file]);
  const twice = [...outputs].filter(([, files]) => files.length > 1);
  assert.deepEqual(twice, []);
  assert.ok([...outputs.keys()].some((i) => i.startsWith('node_modules/inversify/')));
  assert.ok(outputs.has('core/api/cni-adapter.ts') && outputs.has('core/api/plugin.ts'));
  const entry = (source: string): string[] => Object.entries(meta.outputs).filter(([, o]) => o.entryPoint === source).map(([f]) => outFile(f));
  assert.deepEqual(entry('core/cli/run.ts'), [join('core', 'cli', 'run.js')]);
  assert.deepEqual(entry('core/api/index.ts'), [join('core', 'api', 'index.js')]);
});

test("plugin-api-hook.ts resolves '../api/index.js' against its module: every file holding it is one directory below core/", () => {
  const holders = Object.entries(meta.outputs).filter(([, o]) => 'core/agent/plugin-api-hook.ts' in o.inputs).map(([f]) => outFile(f));
  assert.ok(holders.length > 0);
  for (const f of holders) {
    assert.equal(f.split(sep).length, 3, `${f}: core/<dir>/<file>`);
    assert.equal(fileURLToPath(new URL('../api/index.js', pathToFileURL(join(dist, f)))), join(dist, 'core', 'api', 'index.js'));
  }
});

test('what stays out of the bundle: ffi-rs (native), the tests, the benchmarks, the dev tools', async () => {
  const inputs = Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs));
  assert.deepEqual(EXTERNAL, ['ffi-rs']);
  assert.deepEqual(inputs.filter((i) => /^node_modules\/(ffi-rs|@yuuang)\//.test(i)), []);
  const netlink = Object.values(meta.outputs).find((o) => o.entryPoint === 'drivers/tc-netlink/index.ts' || 'drivers/tc-netlink/ffi-socket.ts' in o.inputs)!;
  assert.ok(netlink.imports.some((i) => i.path === 'ffi-rs' && i.external), 'the netlink driver imports ffi-rs at run time');
  assert.deepEqual(inputs.filter((i) => /^(test|bench|examples)\/|node_modules\/(typescript|tsx|esbuild|fast-check|kubernetes-models)\//.test(i)), []);
  // client-node is in a chunk of its own, loaded only when the agent uses the API
  const run = meta.outputs[Object.keys(meta.outputs).find((f) => f.endsWith(join('core', 'cli', 'run.js')))!]!;
  assert.ok(!Object.keys(run.inputs).some((i) => i.includes('@kubernetes/client-node')), 'the offline commands never load client-node');
  // licence comments are kept beside the code, not in it
  assert.ok(Object.keys(meta.outputs).some((f) => f.endsWith('.LEGAL.txt')));
  assert.doesNotMatch(await readFile(join(dist, 'core', 'cli', 'run.js'), 'utf8'), /@license/);
});

test('bundle() empties its output directory first (no file of an older build is left to import)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mnp-bundle-'));
  try {
    await mkdir(join(dir, 'core', 'chunks'), { recursive: true });
    await cp(join(ROOT, 'package.json'), join(dir, 'core', 'chunks', 'stale.js'));
    await bundle(dir);
    assert.ok(!existsSync(join(dir, 'core', 'chunks', 'stale.js')));
    assert.ok(existsSync(join(dir, 'core', 'cli', 'run.js')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
