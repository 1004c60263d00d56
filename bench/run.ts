// `npm run bench [-- --quick] [--skip-lab] [--rss-runs N] [--profile-dir DIR]`: every
// benchmark of docs/performance.md, printed as its tables.
//
//   1. scale of the pure pipeline   bench/scale/pipeline.ts   (generated cluster, node-0)
//      agent memory                 bench/scale/agent-rss.ts  (the agent process on the fake API server)
//                                   bench/scale/memory-breakdown.ts (where the heap goes)
//   2. filter economy               bench/filter-economy.ts
//      per-port vs shared-block     bench/layouts.ts
//   3. apply path, in the lab       bench/lab/apply-path.ts   } one VM boot,
//   4. end to end, in the lab       bench/lab/end-to-end.ts   } bench/lab/guest-main.ts
//
// Everything runs as compiled JavaScript: the tree is built with tsc into a temporary
// directory first (tsx would add its transpiler to every time and to the RSS), and the
// agent whose RSS is measured is the bundle that ships (deploy/image/bundle.mjs, into
// <build>/bundle).
// --quick (CI): a 5 000-pod cluster, one RSS run, no lab; < 60 s; prints, never asserts
// times. Without --quick the lab parts run when the lab's packages are installed, and are
// skipped with the reason otherwise.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { bundle } from '../deploy/image/bundle.mjs';
import type { EconomyRow } from './filter-economy.js';
import { economyTable } from './filter-economy.js';
import { layoutTable, type LayoutRow } from './layouts.js';
import type { LabResults } from './lab/guest-main.js';
import { mb, median, ms, table } from './lib/table.js';
import type { AgentRssResult } from './scale/agent-rss.js';
import type { MemoryBreakdown } from './scale/memory-breakdown.js';
import type { PipelineResult } from './scale/pipeline.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LAB = join(ROOT, '..', 'shared', 'lab', 'run-in-vm.sh');
const LAB_PACKAGES = 'qemu-system-x86 busybox-static gcc-12 make binutils xz-utils ethtool python3 iproute2';
const RSS_TARGET_MB = 200;
const ECONOMY_TARGET = 1 / 3;
const FLOOR_TARGET = 0.5;
const CAPPED_HEAP_MB = 256;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'skip-lab': { type: 'boolean', default: false },
    'rss-runs': { type: 'string' },
    'profile-dir': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const quick = values.quick!;
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const verdict = (ok: boolean): string => (ok ? '**met**' : '**missed**');
const summary: string[] = [];

/** A child node process; its stdout is JSON. */
async function node(args: readonly string[], cwd: string): Promise<unknown> {
  let stdout = '';
  const code = await new Promise<number | null>((done) => {
    const p = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    p.on('exit', done);
  });
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}`);
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

async function build(dir: string): Promise<string> {
  const out = join(dir, 'build');
  const t = Date.now();
  await execa(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.json'), '--outDir', out, '--sourceMap', 'false'], { reject: false, cwd: ROOT });
  if (!existsSync(join(out, 'bench/scale/pipeline.js'))) throw new Error('compiling the tree with tsc failed (run npm run typecheck)');
  await symlink(join(ROOT, 'node_modules'), join(out, 'node_modules'));
  await copyFile(join(ROOT, 'package.json'), join(out, 'package.json'));
  // the agent as it ships, for agent-rss.js (its ffi-rs resolves through <out>/node_modules)
  await bundle(join(out, 'bundle'));
  say(`built with tsc into ${out}, the agent's bundle into ${join(out, 'bundle')}, in ${((Date.now() - t) / 1000).toFixed(1)} s; node ${process.version}`);
  return out;
}

function pipelineTables(r: PipelineResult): void {
  const p = r.params;
  say(`\n## 1. Scale of the pure pipeline (${r.runtime})`);
  say(`\nCluster: ${r.cluster.pods} pods, ${r.cluster.policies} policies, ${r.cluster.namespaces} namespaces, ${r.cluster.networks} networks (seed ${p.seed}); node-0 holds ${r.local.endpoints} attachments, ${r.local.filters} filters. Admitting the objects (trim, validate): ${ms(r.admitMs)}.\n`);
  say(
    table(
      ['select → render → compile from scratch (median of ' + r.fullRuns.length + ')', 'index', 'select', 'render', 'compile', 'total'],
      [['node-0', ms(r.full.indexMs), ms(r.full.selectMs), ms(r.full.renderMs), ms(r.full.compileMs), ms(r.full.totalMs)]],
    ),
  );
  say('');
  say(
    table(
      ['reconciler pass (in-memory driver)', 'time', 'attachments re-rendered', 'recompiled', 'netdevs changed', 'filter ops: added / replaced / deleted'],
      [
        ['first pass (everything)', ms(r.firstPassMs), r.local.endpoints, r.local.endpoints, r.local.netdevs, `${r.local.filters} / 0 / 0`],
        ['nothing changed', ms(r.noChangePassMs), 0, 0, 0, '0 / 0 / 0'],
        ...r.changes.map((c) => [`${c.change}: ${c.detail}`, ms(c.passMs), c.rendered, c.compiled, c.netdevsApplied, `${c.ops.added} / ${c.ops.replaced} / ${c.ops.deleted}`]),
      ],
    ),
  );
  const proportional = r.changes.every((c) => c.rendered < r.local.endpoints && c.compiled <= c.rendered && c.netdevsApplied <= c.compiled);
  summary.push(`1. incremental work proportional to what changed: ${verdict(proportional)} (re-rendered ${r.changes.map((c) => c.rendered).join(' / ')} of ${r.local.endpoints} attachments; a pass with nothing to do costs ${ms(r.noChangePassMs)})`);
}

function rssTables(runs: readonly AgentRssResult[], capped: readonly AgentRssResult[]): void {
  const p = runs[0]!.params;
  say(`\n### Agent memory (RSS of the agent process as it ships — the bundle —, dry-run driver, ${p.pods} pods / ${p.policies} policies, ${runs.length} run${runs.length > 1 ? 's' : ''})\n`);
  const rows = [...runs.map((r) => ['default', r] as const), ...capped.map((r) => [`node --max-old-space-size=${CAPPED_HEAP_MB}`, r] as const)].map(([label, r], i) => [`run ${i + 1}: ${label}`, mb(r.empty.rssMB * 1048576), mb(r.loaded.rssMB * 1048576), r.idle ? mb(r.idle.rssMB * 1048576) : '-', mb(r.afterChanges.rssMB * 1048576), mb(r.afterChanges.peakMB * 1048576), `${r.liveHeap.heapUsedMB.toFixed(1)} MB (${r.liveHeap.heapTotalMB.toFixed(1)})`, mb(r.liveHeap.settledRssMB * 1048576), ms(r.loaded.readyMs), ms(r.loaded.firstPassMs)]);
  say(table(['', 'empty cluster', 'holding the cluster (first pass done)', '15 s later', 'after 3 changes', 'peak (VmHWM)', 'live heap after GC (committed)', 'RSS 3 s after that GC', 'start → first pass done', 'first pass'], rows));
  const held = median(runs.map((r) => r.afterChanges.rssMB));
  summary.push(`1. RSS holding ${p.pods} pods at most ${RSS_TARGET_MB} MB: ${verdict(held <= RSS_TARGET_MB)} (median ${held.toFixed(0)} MB; the agent with an empty cluster: ${median(runs.map((r) => r.empty.rssMB)).toFixed(0)} MB)`);
}

function breakdownTable(b: MemoryBreakdown): void {
  say(`\nWhere it goes (JS heap after a full GC, one process holding the ${b.params.pods}-pod cluster as the agent does; \`memory-breakdown.ts\`):\n`);
  say(table(['step', 'heap', 'added'], b.steps.map((s) => [s.step, `${s.heapMB.toFixed(1)} MB`, `+${s.deltaMB.toFixed(1)} MB`])));
  say(`\nLoading @kubernetes/client-node alone takes a fresh node process from ${b.clientNode.bareRssMB.toFixed(0)} MB to ${b.clientNode.rssMB.toFixed(0)} MB RSS (${b.clientNode.heapMB.toFixed(0)} MB of heap)${b.clientNodeBundled ? `; from the bundle (minified, tree-shaken) to ${b.clientNodeBundled.rssMB.toFixed(0)} MB (${b.clientNodeBundled.heapMB.toFixed(0)} MB of heap)` : ''}.`);
}

function economyTables(results: readonly { label: string; rows: EconomyRow[] }[]): void {
  say('\n## 2. Filter economy (ours vs upstream\'s layout, reference/upstream-behaviour.md §3)');
  for (const r of results) say(`\n${r.label}\n\n${economyTable(r.rows)}`);
  const d = results[0]!.rows;
  const met = d.filter((r) => r.ours.filters / r.upstream.filters <= ECONOMY_TARGET).length;
  summary.push(`2. at most 1/3 of upstream's filters per reference policy: ${verdict(met === d.length)} (met for ${met} of ${d.length}, default settings); all of them together ${(d.reduce((n, r) => n + r.ours.filters, 0) / d.reduce((n, r) => n + r.upstream.filters, 0)).toFixed(2)}×`);
}

function labTables(r: LabResults): void {
  say(`\n## 3. Apply path, in the lab (kernel ${r.kernel}, QEMU TCG: ~16× slower CPU, ~30× slower process start than native)`);
  const a = r.applyPath;
  if (a) {
    const floor = a.methods[0]!;
    say(`\n${a.netdevs} netdevs, ${a.filters} filters: the programs of node-0 in a ${a.cluster.pods}-pod generated cluster. ${r.netlink ? '' : 'netlink: not available in this build.'}\n`);
    say(table(['method', 'filters', 'time', 'filters/s', 'ratio to the floor'], a.methods.map((m) => [m.method + (m.note ? ` (${m.note})` : ''), m.filters, `${m.seconds.toFixed(2)} s`, m.filtersPerSecond.toFixed(0), `${(m.filtersPerSecond / floor.filtersPerSecond).toFixed(2)}×`])));
    say('');
    say(table(['no-op resync (full Reconciler pass over installed programs)', 'representors', 'driver observes', 'driver applies', '`tc` reads', '`tc` writes', 'time'], a.resync.map((x) => [x.driver, x.representors, x.observes, x.applies, x.tcReads ?? '-', x.tcWrites ?? '-', `${x.seconds.toFixed(2)} s`])));
    const ours = a.methods.find((m) => m.method.startsWith('cmdline'))!;
    const nl = a.methods.find((m) => m.method.startsWith('netlink'));
    const ratio = (m: { filtersPerSecond: number }): number => m.filtersPerSecond / floor.filtersPerSecond;
    summary.push(`3. ours at least ${FLOOR_TARGET}× the floor, cmdline driver (the default): ${verdict(ratio(ours) >= FLOOR_TARGET)} (${ratio(ours).toFixed(2)}×)`);
    summary.push(nl ? `3. ours at least ${FLOOR_TARGET}× the floor, netlink driver: ${verdict(ratio(nl) >= FLOOR_TARGET)} (${ratio(nl).toFixed(2)}×)` : '3. netlink: not available in this build');
    const noop = a.resync.every((x) => x.applies === 0 && x.observes <= x.representors && (x.tcWrites ?? 0) === 0 && (x.tcReads ?? 0) <= x.representors);
    summary.push(`3. no-op resync: zero writes, at most one read per representor: ${verdict(noop)}`);
  }
  say('\n## 4. End to end, in the lab: policy edit on the API server → filters in the kernel');
  if (r.endToEnd.length > 0) {
    say('');
    say(
      table(
        ['driver', 'agent start → first pass done', 'affected attachments', 'edit → first netdev applied', 'edit → last netdev applied (median)', 'runs', 'the pass itself', 'verified in the kernel'],
        r.endToEnd.flatMap((e) => [e.one, e.all].map((c) => [e.driver, ms(e.startupMs), c.affected, ms(c.firstMs), ms(c.medianMs), c.ms.map((x) => ms(x)).join(', '), ms(c.passMs), `${c.verified}/${c.affected}`])),
      ),
    );
  }
  for (const e of r.errors) say(`\nFAILED ${e}`);
  say(`\nguest time ${ms(r.guestMs)}`);
}

async function runLab(buildDir: string, work: string): Promise<void> {
  const skip = (why: string): void => {
    say(`\n## 3–4. Lab parts skipped: ${why}`);
    summary.push(`3–4. lab parts not run: ${why}`);
  };
  if (quick) return skip('--quick (the lab takes minutes)');
  if (values['skip-lab']) return skip('--skip-lab');
  if (!existsSync(LAB)) return skip(`the shared lab is missing (${LAB}); it expects ../shared next to the repository`);
  const qemu = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  if (qemu.exitCode !== 0) return skip(`qemu-system-x86_64 is not installed; the lab needs (one time, as root): apt-get install -y --no-install-recommends ${LAB_PACKAGES}`);
  const out = join(work, 'lab-out');
  await mkdir(out);
  say('\nlab: booting the VM (build of its kernel cache on the first run, then ~3–6 min under TCG) …');
  const rc = await new Promise<number | null>((done) => {
    const p = spawn(LAB, ['--timeout', '3000', '--mem', '2G', '--rw', out, '--', 'env', '-u', 'NODE_EXTRA_CA_CERTS', 'node', join(buildDir, 'bench/lab/guest-main.js'), '--out', out], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('exit', done);
  });
  const text = await readFile(join(out, 'lab-results.json'), 'utf8').catch(() => undefined);
  if (!text) throw new Error(`the lab run produced no results (VM exit status ${rc})`);
  labTables(JSON.parse(text) as LabResults);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const work = await mkdtemp(join(tmpdir(), 'mnp-bench-'));
  try {
    const buildDir = await build(work);
    const q = quick ? ['--quick'] : [];
    const prof = values['profile-dir'] ? ['--profile-dir', resolve(values['profile-dir'])] : [];
    pipelineTables((await node(['--expose-gc', join(buildDir, 'bench/scale/pipeline.js'), '--json', ...q, ...prof], buildDir)) as PipelineResult);
    const runs: AgentRssResult[] = [];
    for (let i = 0; i < Number(values['rss-runs'] ?? (quick ? 1 : 3)); i++) runs.push((await node([join(buildDir, 'bench/scale/agent-rss.js'), '--json', ...q], buildDir)) as AgentRssResult);
    // what a capped V8 heap does to the same agent (a deployment knob, not the default)
    const capped = quick ? [] : [(await node([join(buildDir, 'bench/scale/agent-rss.js'), '--json', `--node-arg=--max-old-space-size=${CAPPED_HEAP_MB}`], buildDir)) as AgentRssResult];
    rssTables(runs, capped);
    breakdownTable((await node(['--expose-gc', join(buildDir, 'bench/scale/memory-breakdown.js'), '--json', ...q], buildDir)) as MemoryBreakdown);
    economyTables((await node([join(buildDir, 'bench/filter-economy.js'), '--json'], buildDir)) as { label: string; rows: EconomyRow[] }[]);
    say('\n## 2b. Layouts: per-port vs shared-block (bench/layouts.ts)\n');
    say(layoutTable((await node([join(buildDir, 'bench/layouts.js'), '--json', ...q], buildDir)) as LayoutRow[]));
    await runLab(buildDir, work);
    say('\n## Targets\n');
    for (const s of summary) say(`* ${s}`);
    say(`\nbench finished in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    if (values.keep) say(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
