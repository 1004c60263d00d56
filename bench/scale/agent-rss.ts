// RSS of the agent holding the generated cluster: the real agent process (as it ships: the
// bundle's core/cli/run.js, `--master` on the fake API server, `--tc-driver dry-run`, node-0), its
// memory read from /proc/<pid>/status once its first pass is done and again after a few
// changes. The fake API server runs in this process, so its copy of the cluster is not
// counted. The same agent on an empty cluster gives the baseline (node, client-node, pino …).
// At the end the agent collects its garbage (heap-probe.ts) and reports its live heap.
//
//   node <build>/bench/scale/agent-rss.js [--quick] [--json] [--agent <run.js>] [--node-arg=--max-semi-space-size=1 …]
//   (the environment passes through: MALLOC_ARENA_MAX=2 node … measures that knob)
// The agent is <build>/bundle/core/cli/run.js (bench/run.ts builds it there with
// deploy/image/bundle.mjs); --agent runs another one, e.g. <build>/core/cli/run.js, the
// tsc output, to compare.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FakeApiServer, type K8sObject } from '../../test/fake-apiserver/server.js';
import { apiObjects, FULL_SCALE, generate, LOCAL_NODE, QUICK_SCALE, type ScaleParams } from './generate.js';

const BUILD = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where bench/run.ts puts the bundle (deploy/image/bundle.mjs --outdir <build>/bundle). */
export const BUNDLED_AGENT = join(BUILD, 'bundle', 'core', 'cli', 'run.js');

export interface MemorySample {
  readonly rssMB: number;
  /** Peak RSS of the process so far (VmHWM). */
  readonly peakMB: number;
}

export interface AgentRssResult {
  readonly params: ScaleParams;
  /** The entry that ran (the bundle's run.js unless --agent). */
  readonly agent: string;
  readonly empty: MemorySample;
  readonly loaded: MemorySample & { readonly readyMs: number; readonly firstPassMs: number; readonly endpoints: number };
  /** `idleMs` later, idle (not in --quick). */
  readonly idle?: MemorySample;
  readonly afterChanges: MemorySample & { readonly passes: number };
  /**
   * Then, after two full garbage collections in the agent: what it really holds, with the RSS
   * right then and 3 s later (`settledRssMB`), once V8 has unmapped the pages it freed: the
   * RSS this live heap needs when no garbage is kept.
   */
  readonly liveHeap: { readonly heapUsedMB: number; readonly heapTotalMB: number; readonly rssMB: number; readonly settledRssMB: number };
}

async function memoryOf(pid: number): Promise<MemorySample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rssMB: kb('VmRSS') / 1024, peakMB: kb('VmHWM') / 1024 };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface PassLog {
  readonly ms: number;
  readonly endpoints: number;
  readonly at: number;
}

/** The agent as a DaemonSet would run it, on the API server at `url`; its `pass done` log lines are collected. */
function startAgent(agent: string, url: string, nodeArgs: readonly string[] = [], probeOut?: string): { child: ChildProcess; passes: PassLog[]; exited: Promise<number | null> } {
  const probe = probeOut ? ['--expose-gc', '--import', join(BUILD, 'bench/scale/heap-probe.js')] : [];
  const child = spawn(process.execPath, [...probe, ...nodeArgs, agent, '--master', url, '--tc-driver', 'dry-run', '--hostname-override', LOCAL_NODE, '--resync-seconds', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', ...(probeOut ? { MNP_HEAP_PROBE_OUT: probeOut } : {}) },
  });
  const passes: PassLog[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const l = JSON.parse(line) as { msg?: string; ms?: number; endpoints?: number };
      if (l.msg === 'pass done') passes.push({ ms: l.ms ?? 0, endpoints: l.endpoints ?? 0, at: Date.now() });
    } catch {
      // not a log line
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`agent exited ${code}: ${stderr}\n`);
    r(code);
  }));
  return { child, passes, exited };
}

async function untilPasses(a: { child: ChildProcess; passes: readonly PassLog[] }, n: number, timeoutMs: number): Promise<void> {
  const t = Date.now();
  while (a.passes.length < n) {
    if (a.child.exitCode !== null) throw new Error(`the agent exited (${a.child.exitCode}) before pass ${n}`);
    if (Date.now() - t > timeoutMs) throw new Error(`the agent did not finish pass ${n} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function stopAgent(a: ReturnType<typeof startAgent>): Promise<void> {
  a.child.kill('SIGTERM');
  await a.exited;
}

export async function agentRss(params: ScaleParams, nodeArgs: readonly string[] = [], idleMs = 15_000, agent = BUNDLED_AGENT): Promise<AgentRssResult> {
  if (!existsSync(agent)) throw new Error(`no agent at ${agent} (build the bundle: node deploy/image/bundle.mjs --outdir ${join(BUILD, 'bundle')}; or pass --agent)`);
  // baseline: the same agent with nothing to hold
  const emptyServer = await FakeApiServer.start();
  const e = startAgent(agent, emptyServer.url, nodeArgs);
  await untilPasses(e, 1, 60_000);
  await sleep(2000);
  const empty = await memoryOf(e.child.pid!);
  await stopAgent(e);
  await emptyServer.stop();

  const gen = generate(params);
  const server = await FakeApiServer.start();
  for (const [resource, obj] of apiObjects(gen)) server.apply(resource, obj);
  server.compact();
  const probeOut = join(await mkdtemp(join(tmpdir(), 'mnp-heap-')), 'heap.json');
  const t0 = Date.now();
  const a = startAgent(agent, server.url, nodeArgs, probeOut);
  await untilPasses(a, 1, 600_000);
  const readyMs = Date.now() - t0;
  await sleep(3000);
  const loaded = { ...(await memoryOf(a.child.pid!)), readyMs, firstPassMs: a.passes[0]!.ms, endpoints: a.passes[0]!.endpoints };
  let idle: MemorySample | undefined;
  if (idleMs > 0) {
    await sleep(idleMs); // idle: V8's memory reducer may give back heap it no longer needs
    idle = await memoryOf(a.child.pid!);
  }

  // a few changes through the API: each becomes a pass (their cost is measured in pipeline.ts)
  const pod = gen.pods.find((p) => !p.local)!;
  const relabelled = structuredClone(pod.object);
  (relabelled.metadata['labels'] as Record<string, string>)['tier'] = 'moved';
  const policy: K8sObject = structuredClone(gen.policies[0]!);
  (policy.metadata as Record<string, unknown>)['labels'] = { edited: 'yes' };
  const ns = structuredClone(gen.namespaces[7]!);
  (ns.metadata['labels'] as Record<string, string>)['team'] = 'team-moved';
  let n = a.passes.length;
  for (const [resource, obj] of [['pods', relabelled], ['policies', policy], ['namespaces', ns]] as const) {
    server.apply(resource, obj);
    await untilPasses(a, ++n, 60_000);
    await sleep(700); // past the reconciler's minimum interval, so each change is its own pass
  }
  await sleep(2000);
  const afterChanges = { ...(await memoryOf(a.child.pid!)), passes: a.passes.length };
  a.child.kill('SIGUSR2');
  let liveHeap: AgentRssResult['liveHeap'] | undefined;
  for (let i = 0; i < 300 && !liveHeap; i++) {
    await sleep(50);
    liveHeap = await readFile(probeOut, 'utf8').then((t) => JSON.parse(t) as AgentRssResult['liveHeap'], () => undefined);
  }
  await stopAgent(a);
  await server.stop();
  await rm(dirname(probeOut), { recursive: true, force: true });
  if (!liveHeap) throw new Error('the agent did not report its live heap (heap-probe.js)');
  return { params, agent, empty, loaded, ...(idle ? { idle } : {}), afterChanges, liveHeap };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, agent: { type: 'string' }, 'node-arg': { type: 'string', multiple: true } } });
  const r = await agentRss(values.quick ? QUICK_SCALE : FULL_SCALE, values['node-arg'] ?? [], values.quick ? 0 : 15_000, values.agent ? resolve(values.agent) : BUNDLED_AGENT);
  console.log(values.json ? JSON.stringify(r) : JSON.stringify(r, null, 2));
}
