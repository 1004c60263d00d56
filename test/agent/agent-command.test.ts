// The agent as the CLI starts it (no subcommand): --once from manifests, a watched manifest
// directory, the API through a kubeconfig file, and the one-line failures of the real binary.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { Agent } from '../../core/agent/agent.js';
import { startHealthServer } from '../../core/agent/health.js';
import { agentCommand, type AgentCommandOptions } from '../../core/cli/agent-command.js';
import { configInput, parse } from '../../core/cli/args.js';
import { main } from '../../core/cli/main.js';
import { validateConfig, type AgentConfig } from '../../core/config.js';
import { FakeApiServer } from '../fake-apiserver/server.js';
import { kubeconfigYaml } from '../fake-apiserver/kubeconfig.js';
import { FAST_INFORMERS, FAST_RECONCILER, seedBase, until } from './harness.js';

const run = promisify(execFile);
const BIN = 'bin/multi-networkpolicy-tc.js';

function config(argv: string[]): AgentConfig {
  const c = validateConfig(configInput(parse(argv).values));
  assert.ok(c.ok, JSON.stringify(c));
  return c.value;
}

const quietLog = new Writable({ write: (_c, _e, cb) => cb() });

async function runAgent(argv: string[], extra: AgentCommandOptions = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await agentCommand(config(argv), (s) => err.push(s), { out: (s) => out.push(s), logDestination: quietLog, informerTiming: FAST_INFORMERS, reconcilerTiming: FAST_RECONCILER, ...extra });
  return { code, out, err };
}

test('--once from manifests prints, per netdev, the tc batch it applies and exits 0', async () => {
  const r = await runAgent(['--manifests', 'examples/cluster', '--tc-driver', 'dry-run', '--hostname-override', 'worker-1', '--once']);
  assert.equal(r.code, 0, r.err.join('\n'));
  const heads = r.out.filter((l) => l.startsWith('== '));
  assert.deepEqual(
    heads.map((l) => l.split(' ')[1]),
    ['eth8', 'eth9', 'eth5', 'eth6', 'eth7'],
  );
  assert.ok(r.out.includes('  qdisc add dev eth5 clsact'));
  assert.ok(r.out.some((l) => /^ {2}filter add dev eth5 (ingress|egress) chain \d+ pref \d+ protocol \S+ flower /.test(l)));
  assert.match(r.out.at(-1)!, /^# worker-1 rev \d+: 5 endpoints on 5 netdevs; 5 changed, 0 unchanged, 0 failed/);
  assert.deepEqual(r.err, []);
});

test('watching a manifest directory: editing a policy prints exactly the changed filters within a second', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mnp-agent-'));
  await cp('examples/cluster', dir, { recursive: true });
  const stop = new AbortController();
  let agent: Agent | undefined;
  const out: string[] = [];
  const done = agentCommand(config(['--manifests', dir, '--tc-driver', 'dry-run', '--hostname-override', 'worker-1']), () => undefined, {
    out: (s) => out.push(`${Date.now()} ${s}`),
    logDestination: quietLog,
    reconcilerTiming: FAST_RECONCILER,
    signal: stop.signal,
    onStarted: (a) => (agent = a),
  });
  try {
    await until('the first pass', () => agent?.isReady === true);
    const first = out.length;
    const path = join(dir, '30-policies.yaml');
    const t0 = Date.now();
    await writeFile(path, (await readFile(path, 'utf8')).replace('port: 9000, endPort: 9100', 'port: 9000, endPort: 9200'));
    await until('the change printed', () => out.slice(first).some((l) => l.includes('# worker-1 rev')), 1000);
    const change = out.slice(first).map((l) => l.slice(l.indexOf(' ') + 1));
    const at = Number(out[first]!.split(' ')[0]);
    assert.ok(at - t0 < 1000, `printed ${at - t0} ms after the edit`);
    const head = /^== eth5 \(payments\/api-0\/net1\) rev \d+: (\d+) added, 0 replaced, (\d+) deleted$/.exec(change[0]!);
    assert.ok(head, change[0]);
    const adds = change.filter((l) => l.startsWith('  filter add'));
    const dels = change.filter((l) => l.startsWith('  filter del'));
    assert.ok(adds.length > 0);
    assert.equal(adds.length, Number(head[1]));
    assert.equal(dels.length, Number(head[2]));
    assert.ok(adds.every((l) => l.includes('dst_port 9000-9200')), 'only filters of the changed range are added');
    assert.equal(change.filter((l) => l.startsWith('== ')).length, 1, 'no other netdev touched');
  } finally {
    stop.abort();
  }
  assert.equal(await done, 0);
});

test('against the API through --kubeconfig: programs, dumps rules, posts a Started event, stops cleanly on a signal', async () => {
  const server = await FakeApiServer.start();
  seedBase(server);
  const dir = await mkdtemp(join(tmpdir(), 'mnp-agent-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigYaml(server.url));
  const stop = new AbortController();
  let agent: Agent | undefined;
  const rules = join(dir, 'rules');
  const done = runAgent(['--kubeconfig', kubeconfig, '--tc-driver', 'dry-run', '--hostname-override', 'worker-1', '--pod-rules-path', rules], { signal: stop.signal, onStarted: (a) => (agent = a) });
  try {
    await until('ready', () => agent?.isReady === true);
    assert.ok(agent!.reconciler.stats.applies > 0);
    assert.deepEqual(await readdir(join(rules, 'uid-ns1-server')), ['ns1-net1-eth1.rules']);
    await until('the Started event', () => server.events.some((e) => (e as { reason?: string }).reason === 'Started'));
    assert.ok(server.requests.every((r) => r.authorization === 'Bearer T0KEN'));
    stop.abort();
    const r = await done;
    assert.equal(r.code, 0);
    await until('watches closed', () => server.watchCount() === 0);
  } finally {
    stop.abort();
    await server.stop();
  }
});

test('--once against the API: syncs, applies once, stops its watches, exits 0', async () => {
  const server = await FakeApiServer.start();
  seedBase(server);
  try {
    const r = await runAgent(['--master', server.url, '--tc-driver', 'dry-run', '--hostname-override', 'worker-1', '--once']);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.ok(r.out.some((l) => l.startsWith('== eth1 (ns1/server/net1)')));
    assert.match(r.out.at(-1)!, /^# worker-1 rev \d+: 2 endpoints on 2 netdevs; 1 changed, 1 unchanged, 0 failed/);
    await until('watches closed', () => server.watchCount() === 0);
  } finally {
    await server.stop();
  }
});

test('the health server answers /healthz always and /readyz once ready', async () => {
  let ready = false;
  const h = await startHealthServer('127.0.0.1:0', () => ready);
  try {
    const get = async (p: string) => (await fetch(`http://127.0.0.1:${h.port}${p}`)).status;
    assert.equal(await get('/healthz'), 200);
    assert.equal(await get('/readyz'), 503);
    ready = true;
    assert.equal(await get('/readyz'), 200);
    assert.equal(await get('/x'), 404);
  } finally {
    await h.close();
  }
});

// ---- the real binary: one line on stderr, non-zero exit, never a stack trace --------------

async function bin(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [BIN, ...args], { timeout: 20_000 });
    return { code: 0, stderr: '' };
  } catch (e) {
    const x = e as { code: number; stderr: string };
    return { code: x.code, stderr: x.stderr };
  }
}

test('a bad --kubeconfig, an unreachable API, or an invalid flag: one clear line and a non-zero exit', async () => {
  const [badKc, unreachable, badFlag] = await Promise.all([
    bin(['--kubeconfig', '/nonexistent/kubeconfig', '--hostname-override', 'w']),
    bin(['--master', 'http://127.0.0.1:1', '--hostname-override', 'w']),
    bin(['--bogus']),
  ]);
  const errs: string[] = [];
  const badValue = { code: await main(['--resync-seconds', 'soon'], () => undefined, (s) => errs.push(s)), stderr: errs.map((l) => `${l}\n`).join('') };
  assert.equal(badKc.code, 1);
  assert.equal(badKc.stderr, 'multi-networkpolicy-tc: cannot configure the Kubernetes client from --kubeconfig /nonexistent/kubeconfig: no such file\n');
  assert.equal(unreachable.code, 1);
  assert.equal(unreachable.stderr, 'multi-networkpolicy-tc: cannot use the Kubernetes API at http://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n');
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /^multi-networkpolicy-tc: Unknown option '--bogus'/);
  assert.equal(badValue.code, 2);
  assert.equal(badValue.stderr, 'multi-networkpolicy-tc: invalid flag --resync-seconds "soon": must be integer\n');
  for (const r of [badKc, unreachable, badFlag, badValue]) assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
});

test('SIGTERM stops the agent with exit 0', async () => {
  const child = spawn(process.execPath, [BIN, '--manifests', 'examples/cluster', '--tc-driver', 'dry-run', '--hostname-override', 'worker-1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  await until('the first pass printed', () => stdout.includes('# worker-1 rev'), 15_000);
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
});
