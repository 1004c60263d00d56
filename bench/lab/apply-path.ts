// Item 3, in the lab kernel: how fast the agent's apply path installs a real node program,
// against the kernel floor, and what a no-op resync costs. Runs as root in the lab VM
// (bench/lab/guest-main.ts); every method starts from devices without a qdisc.
//
//   floor            one `tc -batch FILE` holding every device's qdisc and filters
//                    (bench/lab/hand-batch.ts: our own template, not the driver's formatter)
//   cmdline          the agent's apply path with the cmdline driver, called as the reconciler
//                    calls it (core/agent/driver-calls.ts): observe every netdev in one
//                    observeMany (`tc -j -batch -`) → diff → one applyMany (`tc -batch -`)
//   cmdline, one netdev per call   the same driver without its *Many calls: per netdev, 8 at
//                    a time (the reconciler's way with a driver that has none; before 2026-11-29
//                    the only way), two `tc` processes per netdev
//   netlink          the same with the netlink driver (only when drivers/tc-netlink exists)
//   per-exec         one `tc filter add` process per filter (upstream's way); measured on a
//                    prefix of the plans, it is a rate
//   agent pass       the Reconciler's first full pass, cmdline driver: the above plus
//                    select → render → compile of the node program
// Then two full passes of the Reconciler over the installed programs (a resync): the driver
// calls and `tc` processes they cost, per representor.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { Exec, ExecResult } from '../../core/api/ports.js';
import { describeError } from '../../core/api/errors.js';
import { err, ok, type Result } from '../../core/api/result.js';
import type { PlanFor, TcDriver } from '../../core/api/tc-driver.js';
import { applyAll, observeAll, Threw } from '../../core/agent/driver-calls.js';
import { adapterResolver } from '../../core/agent/netdev-resolver.js';
import { DEFAULT_RECONCILER_TIMING, Reconciler } from '../../core/agent/reconciler.js';
import type { Netdev } from '../../core/model/attachment.js';
import type { Applied, Plan } from '../../core/model/plan.js';
import type { ObservedTc, TcFilter } from '../../core/model/tc.js';
import { diff } from '../../core/pipeline/diff.js';
import { DEFAULT_NODE_OPTIONS, programNode } from '../../core/pipeline/program-node.js';
import { ClusterStore } from '../../core/watch/store.js';
import { countApplied } from '../../drivers/shared/applied.js';
import { ExecaExec } from '../../drivers/shared/execa-exec.js';
import { toBatchLines } from '../../drivers/tc-cmdline/batch.js';
import { CmdlineTcDriver } from '../../drivers/tc-cmdline/cmdline-driver.js';
import { AcceleratedBridgeAdapter } from '../../plugins/accelerated-bridge/adapter.js';
import { NodeSysfs } from '../../plugins/sysfs/node-sysfs.js';
import { median } from '../lib/table.js';
import { apiObjects, generate, LOCAL_NODE, type ScaleParams } from '../scale/generate.js';
import { putAll } from '../scale/load.js';
import { handBatch } from './hand-batch.js';

/** 20 local attachments of a 2 000-pod cluster: the generator's policy mix, ~2 600 filters. */
export const APPLY_CLUSTER: ScaleParams = { pods: 2_000, policies: 200, namespaces: 20, networks: 10, localAttachments: 20, seed: 20261201 };

export interface MethodResult {
  readonly method: string;
  readonly filters: number;
  /** Median over the runs. */
  readonly seconds: number;
  readonly runs: readonly number[];
  readonly filtersPerSecond: number;
  readonly note?: string;
}

export interface ResyncResult {
  readonly driver: string;
  readonly representors: number;
  readonly observes: number;
  readonly applies: number;
  /** `tc` processes that only read (`-j`) / that write; cmdline only. */
  readonly tcReads?: number;
  readonly tcWrites?: number;
  readonly seconds: number;
}

export interface ApplyPathResult {
  readonly cluster: ScaleParams;
  readonly netdevs: number;
  readonly filters: number;
  readonly methods: readonly MethodResult[];
  readonly resync: readonly ResyncResult[];
  readonly netlink: string;
}

const log = pino({ level: 'silent' });
const CONCURRENCY = DEFAULT_RECONCILER_TIMING.concurrency;

/** Counts `tc` processes: with `-j` they read, otherwise they write. */
class CountingExec implements Exec {
  reads = 0;
  writes = 0;
  constructor(private readonly inner: Exec) {}
  run(file: string, args: readonly string[], opts?: { readonly input?: string; readonly timeoutMs?: number }): Promise<ExecResult> {
    if (args.includes('-j')) this.reads++;
    else this.writes++;
    return this.inner.run(file, args, opts);
  }
}

/** Counts the netdevs observed and applied, whether one per call or many. */
class CountingDriver implements TcDriver {
  observes = 0;
  applies = 0;
  readonly observeMany?: (devs: readonly Netdev[]) => Promise<Result<ObservedTc>[]>;
  readonly applyMany?: (work: readonly PlanFor[]) => Promise<Result<Applied>[]>;
  constructor(readonly inner: TcDriver) {
    const { observeMany, applyMany } = inner;
    if (observeMany) this.observeMany = (devs) => ((this.observes += devs.length), observeMany.call(inner, devs));
    if (applyMany) this.applyMany = (work) => ((this.applies += work.length), applyMany.call(inner, work));
  }
  get name(): string {
    return this.inner.name;
  }
  observe(dev: Netdev): Promise<Result<ObservedTc>> {
    this.observes++;
    return this.inner.observe(dev);
  }
  apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    this.applies++;
    return this.inner.apply(dev, plan);
  }
}

/** A driver seen through observe/apply only: the reconciler then calls it per netdev. */
const oneAtATime = (d: TcDriver): TcDriver => ({ name: d.name, observe: (dev) => d.observe(dev), apply: (dev, plan) => d.apply(dev, plan) });

/** One `tc` process per plan line. */
class PerExecDriver implements TcDriver {
  readonly name = 'per-exec';
  constructor(private readonly exec: Exec, private readonly reader: TcDriver) {}
  observe(dev: Netdev): Promise<Result<ObservedTc>> {
    return this.reader.observe(dev);
  }
  async apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    for (const [i, line] of toBatchLines(dev, plan).entries()) {
      const r = await this.exec.run('tc', line.split(' '));
      if (r.exitCode !== 0) return err({ code: 'tc-batch-failed', netdev: dev.name, line: i + 1, text: line, stderr: r.stderr });
    }
    return ok(countApplied(plan));
  }
}

async function must(exec: Exec, file: string, args: readonly string[], input?: string): Promise<ExecResult> {
  const r = await exec.run(file, args, input === undefined ? {} : { input, timeoutMs: 600_000 });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.exitCode}: ${r.stderr.slice(0, 500)}`);
  return r;
}

/** The netlink driver, when this build has one. */
async function netlinkDriver(): Promise<{ driver: TcDriver & { dispose?(): void }; status: string } | { driver: undefined; status: string }> {
  const here = dirname(fileURLToPath(import.meta.url));
  const index = join(here, '../../drivers/tc-netlink/index.js');
  if (!existsSync(index)) return { driver: undefined, status: 'netlink: not available in this build' };
  try {
    const { NetlinkTcDriver } = (await import(pathToFileURL(join(here, '../../drivers/tc-netlink/netlink-driver.js')).href)) as { NetlinkTcDriver: new (open: unknown, log: unknown, opts: unknown) => TcDriver & { dispose(): void } };
    const { openFfiNetlinkSocket } = (await import(pathToFileURL(join(here, '../../drivers/tc-netlink/ffi-socket.js')).href)) as { openFfiNetlinkSocket: unknown };
    return { driver: new NetlinkTcDriver(openFfiNetlinkSocket, log, {}), status: 'netlink: measured' };
  } catch (e) {
    return { driver: undefined, status: `netlink: present but failed to load (${(e as Error).message})` };
  }
}

export async function applyPath(params: ScaleParams = APPLY_CLUSTER, repeat = 3, say: (s: string) => void = () => undefined): Promise<ApplyPathResult> {
  const exec = new ExecaExec();
  for (const m of ['cls_flower', 'act_ct', 'act_gact', 'sch_ingress']) await exec.run('modprobe', [m]);

  const gen = generate(params);
  const store = new ClusterStore();
  putAll(store, apiObjects(gen));
  const reps = gen.localRepresentors;
  await must(exec, 'ip', ['-batch', '-'], reps.map((r) => `link add ${r} type dummy\nlink set ${r} up`).join('\n') + '\n');
  const sysfs = new NodeSysfs('/');
  const adapters = [new AcceleratedBridgeAdapter(sysfs, log)];
  const resolve = adapterResolver(adapters);
  const node = programNode(store.snapshot(), LOCAL_NODE, adapters, DEFAULT_NODE_OPTIONS);
  const programs: { netdev: string; filters: readonly TcFilter[] }[] = [];
  for (const p of node.programs) {
    const devs = await resolve(p.endpoint);
    if (!devs.ok) throw new Error(describeError(devs.error));
    for (const d of devs.value) programs.push({ netdev: d.name, filters: p.compiled.filters });
  }
  const filters = programs.reduce((n, p) => n + p.filters.length, 0);
  say(`apply path: ${programs.length} netdevs, ${filters} filters`);

  const reset = async (): Promise<void> => {
    await exec.run('tc', ['-force', '-batch', '-'], { input: reps.map((r) => `qdisc del dev ${r} clsact`).join('\n') + '\n' });
  };
  const cmdline = new CmdlineTcDriver(exec, log, {});
  /** Every program installed exactly: a fresh observe and diff per netdev finds nothing to do. */
  const check = async (what: string): Promise<void> => {
    for (const p of programs) {
      const o = await cmdline.observe({ name: p.netdev });
      if (!o.ok) throw new Error(`${what}: observe ${p.netdev}: ${describeError(o.error)}`);
      const d = diff(p.filters, o.value);
      if (d.plan.ops.length > 0) throw new Error(`${what}: ${p.netdev} differs from its program by ${d.plan.ops.length} ops`);
    }
  };
  const methods: MethodResult[] = [];
  const record = (method: string, n: number, ms: number, note?: string, all: readonly number[] = [ms]): void => {
    methods.push({ method, filters: n, seconds: ms / 1000, runs: all.map((x) => x / 1000), filtersPerSecond: n / (ms / 1000), ...(note ? { note } : {}) });
    say(`  ${method}: ${n} filters in ${all.map((x) => (x / 1000).toFixed(2)).join(', ')} s`);
  };

  // warm-up: the first use of each path (JIT, module loading) is much slower under TCG
  const warm = programs.slice(0, 2);
  /** As the reconciler calls a driver for a pass (core/agent/driver-calls.ts). */
  const viaDriver = async (driver: TcDriver, list: typeof programs): Promise<void> => {
    const devs = list.map((p) => ({ name: p.netdev }));
    const observed = await observeAll(driver, devs, CONCURRENCY);
    const work = observed.map((o, i) => {
      if (o instanceof Threw || !o.ok) throw new Error(`observe ${devs[i]!.name}: ${o instanceof Threw ? o.message : describeError(o.error)}`);
      return { dev: devs[i]!, plan: diff(list[i]!.filters, o.value).plan };
    });
    for (const [i, r] of (await applyAll(driver, work, CONCURRENCY)).entries()) {
      if (r instanceof Threw || !r.ok) throw new Error(`apply ${devs[i]!.name}: ${r instanceof Threw ? r.message : describeError(r.error)}`);
    }
  };
  await reset();
  await viaDriver(cmdline, warm);
  await reset();
  await viaDriver(oneAtATime(cmdline), warm);
  const nl = await netlinkDriver();
  if (nl.driver) {
    await reset();
    await viaDriver(nl.driver, warm);
  }

  /** Median of `repeat` installs from devices without a qdisc, then a check of the result. */
  const measure = async (method: string, install: () => Promise<void>, note?: string): Promise<void> => {
    const times: number[] = [];
    for (let k = 0; k < repeat; k++) {
      await reset();
      const t0 = performance.now();
      await install();
      times.push(performance.now() - t0);
      await check(method);
    }
    record(method, filters, median(times), note, times);
  };
  const dir = await mkdtemp(join(tmpdir(), 'mnp-floor-'));
  const file = join(dir, 'floor.batch');
  await writeFile(file, handBatch(programs));
  await measure('floor: one `tc -batch FILE` written by hand', async () => void (await must(exec, 'tc', ['-batch', file])));
  await measure('cmdline driver: observe → diff → apply, all netdevs in one observeMany and one applyMany (`tc -j -batch -`, `tc -batch -`)', () => viaDriver(cmdline, programs));
  await measure(`cmdline driver, one netdev per call: observe → diff → \`tc -batch -\` per netdev, ${CONCURRENCY} at a time`, () => viaDriver(oneAtATime(cmdline), programs));
  const nlDriver = nl.driver;
  if (nlDriver) await measure(`netlink driver: observe → diff → apply per netdev, ${CONCURRENCY} at a time`, () => viaDriver(nlDriver, programs));

  let t: number;
  // per exec: the first 2 netdevs, capped at 300 filters (an exec costs 40-100 ms under TCG)
  await reset();
  const cap = 300;
  const some: typeof programs = [];
  let n = 0;
  for (const p of programs) {
    if (n >= cap) break;
    const take = p.filters.slice(0, cap - n);
    some.push({ netdev: p.netdev, filters: take });
    n += take.length;
  }
  t = performance.now();
  await viaDriver(new PerExecDriver(exec, cmdline), some);
  record('one `tc filter add` process per filter', n, performance.now() - t, `measured on the first ${n} filters`);

  // the whole agent pass, then the resyncs
  await reset();
  const resync: ResyncResult[] = [];
  const drivers: [string, TcDriver, CountingExec | undefined][] = [];
  const countingExec = new CountingExec(exec);
  drivers.push(['cmdline', new CmdlineTcDriver(countingExec, log, {}), countingExec]);
  if (nl.driver) drivers.push(['netlink', nl.driver, undefined]);
  for (const [name, inner, ce] of drivers) {
    await reset();
    const driver = new CountingDriver(inner);
    const reconciler = new Reconciler({ store, nodeName: LOCAL_NODE, adapters, nodeOptions: DEFAULT_NODE_OPTIONS, driver, resolve, log, timing: { resyncMs: 0 } });
    t = performance.now();
    const first = await reconciler.runOnce(true);
    if (first.failed > 0) throw new Error(`${name}: first pass failed on ${first.failed} netdevs`);
    if (name === 'cmdline') record('agent pass (Reconciler, cmdline): select → render → compile → observe → diff → apply', filters, performance.now() - t);
    for (const k of [1, 2]) {
      const before = { o: driver.observes, a: driver.applies, r: ce?.reads ?? 0, w: ce?.writes ?? 0 };
      t = performance.now();
      const again = await reconciler.runOnce(true);
      const ms = performance.now() - t;
      resync.push({
        driver: `${name} (resync ${k})`,
        representors: again.netdevs.length,
        observes: driver.observes - before.o,
        applies: driver.applies - before.a,
        ...(ce ? { tcReads: ce.reads - before.r, tcWrites: ce.writes - before.w } : {}),
        seconds: ms / 1000,
      });
    }
  }
  nl.driver?.dispose?.();
  await reset();
  await exec.run('ip', ['-batch', '-'], { input: reps.map((r) => `link del ${r}`).join('\n') + '\n' });
  return { cluster: params, netdevs: programs.length, filters, methods, resync, netlink: nl.status };
}
