// The example third-party adapter package (examples/host-device-adapter), loaded the way an
// operator loads one: `--plugin <path>`, through the agent's real plugin loader and importer.
// It imports only `multi-networkpolicy-tc/plugin-api`, which the agent resolves for it.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { wire } from '../../core/agent/container.js';
import { describeError } from '../../core/api/errors.js';
import { configInput, parse } from '../../core/cli/args.js';
import { main } from '../../core/cli/main.js';
import { loadCluster } from '../../core/cli/offline.js';
import { validateConfig } from '../../core/config.js';
import { programNode } from '../../core/pipeline/program-node.js';
import { NodeSysfs } from '../../plugins/sysfs/node-sysfs.js';
import { buildSysfs } from '../plugins/fixtures/sysfs-tree.js';

const PKG = './examples/host-device-adapter';
const CLUSTER = 'examples/host-device-adapter/cluster';
const run = promisify(execFile);

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out, err };
}

// The server's node (worker-1) enforces its ingress; trace decides there.
const trace = (plugin: string, from: string, port: string) =>
  cli(['trace', '--plugin', plugin, '--network-plugins', 'host-device', '--manifests', CLUSTER, '--node', 'worker-1', '--from', from, '--to', 'lab/server-0', '--network', 'lab/hd-net', '--port', port]);

test('loaded with --plugin <package dir>: the policy allows the client to the server on its named port', async () => {
  const r = await trace(PKG, 'lab/client-0', '8080/TCP');
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.equal(r.out[0], 'ALLOW lab/client-0 -> lab/server-0 TCP/8080 ipv4 on lab/hd-net (node worker-1)');
  assert.ok(r.out.includes('  ingress of lab/server-0: allowed by lab/server-ingress rule 0'), r.out.join('\n'));
  // the decision was made by passing frames through the compiled TC programs
  assert.ok(r.out.some((l) => /^opening frame lab\/client-0 -> lab\/server-0: delivered$/.test(l)));
});

test('through the example adapter, other ports and other pods are denied (the server is isolated)', async () => {
  const port = await trace(PKG, 'lab/client-0', '9090/TCP');
  assert.equal(port.code, 1);
  assert.match(port.out[0]!, /^DENY lab\/client-0 -> lab\/server-0 TCP\/9090/);
  const other = await trace(PKG, 'lab/other-0', '8080/TCP');
  assert.equal(other.code, 1);
  assert.match(other.out[0]!, /^DENY lab\/other-0 -> lab\/server-0 TCP\/8080 ipv4 on lab\/hd-net \(node worker-1\)/);
  assert.ok(other.out.includes('  ingress of lab/server-0: isolated by lab/server-ingress, no rule allows it'), other.out.join('\n'));
});

test('without --plugin the host-device networks are not enforced and the name is refused', async () => {
  const r = await cli(['trace', '--network-plugins', 'host-device', '--manifests', CLUSTER, '--from', 'lab/client-0', '--to', 'lab/server-0', '--network', 'lab/hd-net', '--port', '8080/TCP']);
  assert.equal(r.code, 2);
  assert.match(r.err.join('\n'), /plugin host-device: unknown --network-plugins value \(known: .*load others with --plugin\)/);
});

const tree = await buildSysfs();
after(() => tree.cleanup());

async function wiredFrom(plugin: string) {
  const c = validateConfig(configInput(parse(['--plugin', plugin, '--network-plugins', 'host-device', '--tc-driver', 'dry-run']).values));
  assert.ok(c.ok);
  const w = await wire(c.value, { logger: pino({ level: 'silent' }), exec: { run: () => Promise.reject(new Error('no exec')) }, sysfs: new NodeSysfs(tree.root) });
  assert.ok(w.ok, !w.ok ? describeError(w.error) : '');
  return w.value.adapters;
}

test('a copy of the package outside the repository (no node_modules) loads by absolute path and finds representors through the shared sysfs resolver', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mnp-plugin-'));
  const pkg = join(dir, 'node_modules', 'mnp-tc-host-device-adapter');
  await mkdir(pkg, { recursive: true });
  for (const f of ['package.json', 'index.js', 'adapter.js']) await cp(join(PKG, f), join(pkg, f));
  const adapters = await wiredFrom(pkg);
  assert.deepEqual(adapters.map((a) => a.name), ['host-device']);
  const np = programNode(await loadCluster([CLUSTER]), 'worker-1', adapters);
  const byKey = new Map(np.programs.map((p) => [p.endpoint.key, p]));
  assert.deepEqual([...byKey.keys()].sort(), ['lab/client-0/net1', 'lab/server-0/net1', 'lab/server-0/net2']);
  const netdevs = async (key: string) => adapters[0]!.resolveNetdevs(byKey.get(key)!.endpoint.attachment);
  // device-info 0000:03:00.3 is VF 1 of PF0 -> pf0vf1 = eth1; pciBusID 0000:03:00.4 -> pf0vf2 = eth2
  assert.deepEqual(await netdevs('lab/server-0/net1'), { ok: true, value: [{ name: 'eth1' }] });
  assert.deepEqual(await netdevs('lab/server-0/net2'), { ok: true, value: [{ name: 'eth2' }] });
  assert.deepEqual(await netdevs('lab/client-0/net1'), { ok: true, value: [{ name: 'eth0' }] });
});

test('a missing or invalid --plugin is one clear line naming it', async () => {
  const missing = await cli(['render', '--plugin', './examples/no-such-adapter', '--manifests', CLUSTER, '--node', 'worker-1']);
  assert.equal(missing.code, 2);
  assert.match(missing.err.join('\n'), /^multi-networkpolicy-tc: plugin \.\/examples\/no-such-adapter: cannot be imported: no such file or directory: .*no-such-adapter$/);
  const dir = await mkdtemp(join(tmpdir(), 'mnp-plugin-'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'broken', type: 'module', exports: './main.js' }));
  await writeFile(join(dir, 'main.js'), 'export default { meta: { name: "broken", kind: "cni-adapter", apiVersion: 2 }, module() {} };\n');
  const invalid = await cli(['render', '--plugin', dir, '--manifests', CLUSTER, '--node', 'worker-1']);
  assert.equal(invalid.code, 2);
  assert.match(invalid.err.join('\n'), /plugin .*: meta\.apiVersion 2 is not supported \(this agent speaks 1\)/);
  const npmName = await cli(['render', '--plugin', 'mnp-tc-not-installed-adapter', '--manifests', CLUSTER, '--node', 'worker-1']);
  assert.equal(npmName.code, 2);
  assert.match(npmName.err.join('\n'), /plugin mnp-tc-not-installed-adapter: cannot be imported: Cannot find package 'mnp-tc-not-installed-adapter'/);
});

test("the example's JSDoc types check against the public plugin API (tsc --checkJs)", async () => {
  const tsc = resolve('node_modules/typescript/bin/tsc');
  const r = await run(process.execPath, [tsc, '-p', 'examples/host-device-adapter/tsconfig.json'], { timeout: 60_000 }).catch((e: { stdout: string; code: number }) => e);
  assert.equal(r.stdout.trim(), '', r.stdout);
});
