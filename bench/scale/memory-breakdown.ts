// Where the agent's memory goes at scale: the JS heap after a full GC, step by step, in one
// process holding the generated cluster as the agent does (admitted objects in the store,
// the reconciler's program cache with its index memo, the programs), plus what loading
// client-node costs a fresh process. Explains the RSS of agent-rss.ts.
//
//   node --expose-gc <build>/bench/scale/memory-breakdown.js [--quick] [--json]
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { offlineResolver } from '../../core/agent/netdev-resolver.js';
import { Reconciler } from '../../core/agent/reconciler.js';
import { DEFAULT_NODE_OPTIONS } from '../../core/pipeline/program-node.js';
import { Interner } from '../../core/watch/intern.js';
import { ClusterStore } from '../../core/watch/store.js';
import { builtinAdapters } from '../../test/fixtures/offline-adapters.js';
import { apiObjects, FULL_SCALE, generate, LOCAL_NODE, QUICK_SCALE, type ScaleParams } from './generate.js';
import { putAll } from './load.js';
import { MemoryTcDriver } from './memory-driver.js';

export interface MemoryStep {
  readonly step: string;
  readonly heapMB: number;
  readonly deltaMB: number;
}

export interface MemoryBreakdown {
  readonly params: ScaleParams;
  readonly steps: readonly MemoryStep[];
  /** A fresh node process: RSS and heap before and after importing @kubernetes/client-node. */
  readonly clientNode: { readonly bareRssMB: number; readonly rssMB: number; readonly heapMB: number };
  /** The same for the agent's bundle (its core/watch/kubeconfig.ts chunk), when built beside. */
  readonly clientNodeBundled?: { readonly rssMB: number; readonly heapMB: number };
}

const BUNDLE_CHUNKS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bundle', 'core', 'chunks');

function heapMB(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1048576;
}

export async function memoryBreakdown(params: ScaleParams): Promise<MemoryBreakdown> {
  const steps: MemoryStep[] = [];
  let last = 0;
  const step = (name: string): void => {
    const h = heapMB();
    steps.push({ step: name, heapMB: h, deltaMB: h - last });
    last = h;
  };
  const adapters = await builtinAdapters(['accelerated-bridge']);
  step('modules of the engine loaded (no client-node)');
  const store = new ClusterStore();
  {
    // the API's JSON, parsed and admitted page by page as the informers do; only the store keeps anything
    const objects = apiObjects(generate(params)).map(([r, o]) => [r, JSON.stringify(o)] as const);
    const interner = new Interner(); // one per source, as core/watch/api-source.ts
    for (const [r, text] of objects) putAll(store, [[r, JSON.parse(text)]], interner);
  }
  step(`store: ${params.pods} pods, ${params.policies} policies, admitted (trimmed, frozen)`);
  const driver = new MemoryTcDriver();
  const reconciler = new Reconciler({ store, nodeName: LOCAL_NODE, adapters, nodeOptions: DEFAULT_NODE_OPTIONS, driver, resolve: offlineResolver, log: pino({ level: 'silent' }), timing: { resyncMs: 0 } });
  const r = await reconciler.runOnce(true);
  step(`reconciler after its first pass: index memo, ${r.program.programs.length} programs (${r.netdevs.reduce((n, d) => n + d.filters.length, 0)} filters), netdev state`);
  const probe = (code: string): { rss: number; heap: number } => JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], { encoding: 'utf8' })) as { rss: number; heap: number };
  const report = 'globalThis.gc(); globalThis.gc(); const u = process.memoryUsage(); console.log(JSON.stringify({ rss: u.rss / 1048576, heap: u.heapUsed / 1048576 }));';
  const bare = probe(report);
  const withClient = probe(`await import('@kubernetes/client-node'); ${report}`);
  // what the agent loads: client-node minified, tree-shaken, in one chunk (deploy/image/bundle.mjs)
  const chunk = existsSync(BUNDLE_CHUNKS) ? readdirSync(BUNDLE_CHUNKS).find((f) => /^kubeconfig-\w+\.js$/.test(f)) : undefined;
  const bundled = chunk ? probe(`await import(${JSON.stringify(pathToFileURL(join(BUNDLE_CHUNKS, chunk)).href)}); ${report}`) : undefined;
  return { params, steps, clientNode: { bareRssMB: bare.rss, rssMB: withClient.rss, heapMB: withClient.heap }, ...(bundled ? { clientNodeBundled: { rssMB: bundled.rss, heapMB: bundled.heap } } : {}) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
  const r = await memoryBreakdown(values.quick ? QUICK_SCALE : FULL_SCALE);
  console.log(values.json ? JSON.stringify(r) : JSON.stringify(r, null, 2));
}
