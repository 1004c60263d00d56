// The reconciler: the one place that sequences the stages. Level-triggered: a change only
// marks it dirty; one coalesced pass then works from the newest snapshot.
//
//   sources ──events──► ClusterStore ──dirty──► (coalesce, rate limit) ──► pass(snapshot rev N)
//
//   pass:  node program (snapshot)          select → render → compile (pure); only endpoints a change
//            │ per endpoint                 can affect are re-rendered (incremental-program.ts)
//            ▼
//          resolve netdevs (adapter, sysfs; cached per attachment, refreshed on resync)
//            │ desired program per netdev (a bond endpoint programs each of its netdevs)
//            ▼
//          which netdevs to visit:   desired program ≠ last applied one,
//                                    or failed earlier and due for retry,
//                                    or programmed before and no longer wanted (→ empty program),
//                                    or every one of them on a resync / the first pass (drift repair)
//            │ all netdevs of the pass together (passes never overlap, so one netdev is
//            │ never worked on twice at a time)
//            ▼
//          driver.observe ─► diff (make-before-break plan) ─► driver.apply   (only non-empty plans)
//            one observeMany / applyMany for all of them when the driver has it (driver-calls.ts),
//            else per netdev, at most `concurrency` at once
//            │
//            ▼
//          reporters: applied changes, failures, and after the pass (rules dump, events)
//
// A failed observe/apply leaves whatever the kernel has (the driver stops at the failing op;
// the plan's order keeps traffic allowed meanwhile) and the netdev is retried with backoff.
// Nothing here removes rules on shutdown; a restarted agent's first pass adopts what it finds.
import { describeError, type AgentError } from '../api/errors.js';
import type { CniAdapter } from '../api/cni-adapter.js';
import type { Logger } from '../api/ports.js';
import type { Result } from '../api/result.js';
import type { TcDriver } from '../api/tc-driver.js';
import type { Endpoint, Netdev } from '../model/attachment.js';
import type { Applied, Plan } from '../model/plan.js';
import type { Snapshot } from '../model/snapshot.js';
import { filterIdentity, type ObservedTc, type TcFilter } from '../model/tc.js';
import { diff, type DiffResult } from '../pipeline/diff.js';
import { isAgentBlock } from '../pipeline/layout.js';
import type { EndpointProgram, NodeOptions, NodeProgram } from '../pipeline/program-node.js';
import { backoffDelay, type Backoff } from '../watch/backoff.js';
import type { ChangeListener } from '../watch/store.js';
import { BlockPrograms, type SharedBlockLayout, type Want } from './block-programs.js';
import { applyAll, observeAll, Threw, type Outcome } from './driver-calls.js';
import { emptyScope, isEmptyScope, noteChange, ProgramCache, type ChangeScope } from './incremental-program.js';

export type { SharedBlockLayout } from './block-programs.js';

export type NetdevResolver = (ep: Endpoint) => Promise<Result<readonly Netdev[]>>;


/** One netdev visited in a pass. */
interface Job {
  readonly rev: number;
  readonly netdev: string;
  readonly want: Want;
  readonly endpoints: readonly EndpointProgram['endpoint'][];
  readonly st: NetdevState;
  readonly log: Logger;
}

/** A visit whose observed state needs `plan`. */
interface Planned {
  readonly job: Job;
  readonly plan: Plan;
  /** It had been installed, yet the kernel differed. */
  readonly drift: boolean;
  /** A block port could not be bound: still failed after the plan is applied. */
  readonly unbound: boolean;
  readonly unavailable?: string;
}

interface VisitResult {
  readonly job: Job;
  readonly applied?: boolean;
  readonly failure?: Failure;
  readonly unavailable?: string;
}

export interface ReconcilerTiming {
  /** Wait this long after the first change before a pass, so a burst becomes one pass. */
  readonly coalesceMs: number;
  /** At least this long between the starts of two passes. */
  readonly minIntervalMs: number;
  /** Every this long a full pass observes every netdev (drift repair); 0 = never. */
  readonly resyncMs: number;
  /** Retry of a netdev whose observe or apply failed. */
  readonly retry: Backoff;
  /** Netdevs worked on at the same time within a pass, with a driver that has no observeMany/applyMany. */
  readonly concurrency: number;
}

export const DEFAULT_RECONCILER_TIMING: ReconcilerTiming = {
  coalesceMs: 100,
  minIntervalMs: 500,
  resyncMs: 300_000,
  retry: { initialMs: 1_000, maxMs: 60_000 },
  concurrency: 8,
};

/** What one netdev should carry, and the endpoints that want it. */
export interface NetdevProgram {
  readonly netdev: string;
  /** The netdev, or the shared block (with its ports) that `netdev` names. */
  readonly target?: Netdev;
  readonly filters: readonly TcFilter[];
  readonly key: string;
  readonly programs: readonly EndpointProgram[];
  /** The desired program is installed (known from the last successful observe or apply). */
  readonly inSync: boolean;
  /** Whether each installed filter (by `filterIdentity`) is offloaded, where the kernel said. */
  readonly inHw?: ReadonlyMap<string, boolean>;
}

export interface AppliedChange {
  readonly rev: number;
  readonly netdev: string;
  /** What was programmed: the netdev, or a shared block with its ports. */
  readonly target?: Netdev;
  /** Endpoint keys (`ns/pod/iface`) the netdev serves; empty when its rules are being removed. */
  readonly endpoints: readonly string[];
  readonly plan: Plan;
  readonly applied: Applied;
  /** It had been installed, yet the kernel differed (someone changed it). */
  readonly drift: boolean;
}

export interface Failure {
  readonly rev: number;
  /** The netdev, when known (not for a failed representor lookup). */
  readonly netdev?: string;
  readonly endpoints: readonly EndpointProgram['endpoint'][];
  readonly stage: 'resolve' | 'observe' | 'apply' | 'conflict' | 'bug';
  readonly message: string;
  readonly error?: AgentError;
  readonly attempt: number;
  readonly retryInMs: number;
}

export interface PassResult {
  readonly rev: number;
  readonly full: boolean;
  readonly snapshot: Snapshot;
  readonly program: NodeProgram;
  readonly netdevs: readonly NetdevProgram[];
  /** Netdevs observed this pass. */
  readonly visited: number;
  readonly applied: number;
  readonly failed: number;
  /** Warnings about a netdev's hook that diff could not program (plain ingress qdisc). */
  readonly unavailable: readonly { readonly netdev: string; readonly endpoints: readonly EndpointProgram['endpoint'][]; readonly problem: string }[];
  readonly ms: number;
}

export interface Reporter {
  applied?(change: AppliedChange): void;
  failed?(failure: Failure): void;
  passDone?(result: PassResult): void | Promise<void>;
}

export interface ReconcilerDeps {
  /** The cache; its change events tell the reconciler what to recompute. */
  readonly store: { snapshot(): Snapshot; onChange?(l: ChangeListener): void };
  readonly nodeName: string;
  readonly adapters: readonly CniAdapter[];
  readonly nodeOptions: NodeOptions;
  readonly driver: TcDriver;
  readonly resolve: NetdevResolver;
  readonly log: Logger;
  readonly timing?: Partial<ReconcilerTiming>;
  readonly reporters?: readonly Reporter[];
  readonly now?: () => number;
  /** Absent: the per-port layout. */
  readonly layout?: SharedBlockLayout;
}

interface NetdevState {
  /** The target last programmed (a block's ports are needed to remove its program). */
  target?: Netdev;
  /** Key of the program last confirmed installed; undefined when unknown (adopted at startup). */
  appliedKey: string | undefined;
  failure: { key: string; attempts: number; nextAt: number } | undefined;
  /** Endpoint keys that wanted this netdev when it was last programmed. */
  endpoints: readonly string[];
  /** Offload state (`in_hw`) of the installed filters by identity, from the last observe (a
   * filter added since is unknown until the next full pass reads it back). */
  inHw?: ReadonlyMap<string, boolean>;
  /** An adopted uplink: only a binding to the agent's own shared block is undone there. */
  releaseOnly?: boolean;
}

export class Reconciler {
  private readonly timing: ReconcilerTiming;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly netdevs = new Map<string, NetdevState>();
  private readonly resolved = new Map<string, { readonly sig: string; readonly devs: readonly Netdev[] }>();
  /** The shared-block layout's programs (absent: per-port). */
  private readonly blockPrograms: BlockPrograms | undefined;
  /** Endpoints whose representor lookup failed: retried with backoff (the VF may appear later). */
  private readonly unresolved = new Map<string, { attempts: number; nextAt: number }>();
  private enabled = false;
  private stopped = false;
  private dirty = false;
  private fullDue = true; // the first pass observes everything: adopts what an earlier agent installed
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private running: Promise<PassResult> | undefined;
  private lastStart = -Infinity;
  private firstPass: { promise: Promise<PassResult>; resolve: (r: PassResult) => void };
  private readonly programs: ProgramCache;
  private scope: ChangeScope = emptyScope();
  private lastRev = -1;
  readonly stats = { passes: 0, fullPasses: 0, applies: 0, failures: 0, rendered: 0, compiled: 0 };

  constructor(private readonly deps: ReconcilerDeps) {
    this.timing = { ...DEFAULT_RECONCILER_TIMING, ...deps.timing };
    this.log = deps.log.child({ component: 'reconciler' });
    this.now = deps.now ?? Date.now;
    let resolve!: (r: PassResult) => void;
    this.firstPass = { promise: new Promise((r) => (resolve = r)), resolve };
    this.programs = new ProgramCache(deps.nodeName, deps.adapters, deps.nodeOptions);
    this.blockPrograms = deps.layout ? new BlockPrograms(deps.layout, deps.nodeOptions) : undefined;
    deps.store.onChange?.((kind, key, before, after) => {
      noteChange(this.scope, kind, key, before, after);
      this.markDirty();
    });
  }

  /**
   * Netdevs an earlier run may have programmed: the first pass observes them and removes what
   * no endpoint wants. `uplinks` (per-port layout only) are only released from a shared block
   * an earlier `--layout shared-block` run bound them to; nothing else on them is touched.
   */
  adopt(netdevs: readonly Netdev[], uplinks: readonly Netdev[] = []): void {
    for (const d of netdevs) if (!this.netdevs.has(d.name)) this.netdevs.set(d.name, { appliedKey: undefined, failure: undefined, endpoints: [] });
    if (this.deps.layout) return;
    for (const d of uplinks) if (!this.netdevs.has(d.name)) this.netdevs.set(d.name, { appliedKey: undefined, failure: undefined, endpoints: [], releaseOnly: true });
  }

  /** Starts passes (after the sources have synced: before that a snapshot is incomplete). */
  enable(): void {
    if (this.enabled || this.stopped) return;
    this.enabled = true;
    if (this.timing.resyncMs > 0) {
      this.resyncTimer = setInterval(() => {
        this.fullDue = true;
        this.markDirty();
      }, this.timing.resyncMs);
      this.resyncTimer.unref();
    }
    this.markDirty();
  }

  /**
   * Resolves after the first pass (readiness). Asked later, it resolves with the newest
   * pass's result: keeping the first one would pin that pass's snapshot and index (at 50 000
   * pods, a second copy of every pod that has changed since; docs/performance.md).
   */
  whenFirstPassDone(): Promise<PassResult> {
    return this.firstPass.promise;
  }

  /** Something changed: a pass will run soon, once, from the newest snapshot. */
  markDirty(): void {
    this.dirty = true;
    this.schedule();
  }

  /** One pass now (for --once and tests), after any pass in progress. */
  async runOnce(full = true): Promise<PassResult> {
    if (this.running) await this.running.catch(() => undefined);
    if (full) this.fullDue = true;
    return this.runPass();
  }

  /** Stops scheduling and waits for the pass in progress; installed rules stay as they are. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    clearInterval(this.resyncTimer);
    if (this.running) await this.running.catch(() => undefined);
  }

  private schedule(): void {
    if (!this.enabled || this.stopped || this.running || this.timer || !this.dirty) return;
    const delay = Math.max(this.timing.coalesceMs, this.lastStart + this.timing.minIntervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runPass().catch((e: unknown) => this.log.error({ err: e }, 'pass failed unexpectedly'));
    }, delay);
  }

  private async runPass(): Promise<PassResult> {
    this.dirty = false;
    const full = this.fullDue;
    this.fullDue = false;
    this.lastStart = this.now();
    const run = this.pass(full);
    this.running = run;
    try {
      const r = await run;
      this.firstPass.resolve(r);
      // the first promise (and its resolver) would keep this result alive for good
      this.firstPass = { promise: Promise.resolve(r), resolve: () => undefined };
      return r;
    } catch (e) {
      // A bug in a stage: what this pass should have covered is recomputed in full next time.
      this.scope.all = true;
      this.dirty = true;
      throw e;
    } finally {
      this.running = undefined;
      this.scheduleRetry();
      this.schedule();
    }
  }

  private async pass(full: boolean): Promise<PassResult> {
    const started = this.now();
    // Scope and snapshot are taken together (no await between): changes after this go to the next pass.
    const snapshot = this.deps.store.snapshot();
    const scope = this.scope;
    this.scope = emptyScope();
    // A new revision nobody described (a store without change events): recompute everything.
    if (full || (snapshot.rev !== this.lastRev && isEmptyScope(scope))) scope.all = true;
    this.lastRev = snapshot.rev;
    const rev = snapshot.rev;
    const log = this.log.child({ rev });
    const inc = this.programs.program(snapshot, scope);
    const program = inc.program;
    this.stats.rendered += inc.rendered;
    this.stats.compiled += inc.compiled;
    const failures: Failure[] = [];

    // 1. desired program per netdev
    const wanted = new Map<string, Want>();
    const conflicts = new Set<string>();
    const unresolved = new Set<string>();
    const repsOf = new Map<string, readonly Netdev[]>();
    for (const p of program.programs) {
      const devs = await this.resolveNetdevs(p.endpoint, full);
      if (!devs.ok) {
        failures.push(this.resolveFailed(rev, p.endpoint, unresolved, describeError(devs.error), devs.error));
        continue;
      }
      this.unresolved.delete(p.endpoint.key);
      if (this.deps.layout) {
        repsOf.set(p.endpoint.key, devs.value);
        continue;
      }
      const key = inc.keys.get(p.endpoint.key)!;
      for (const d of devs.value) {
        const have = wanted.get(d.name);
        if (!have) wanted.set(d.name, { target: d, filters: p.compiled.filters, key, programs: [p] });
        else {
          have.programs.push(p);
          if (have.key !== key) conflicts.add(d.name);
        }
      }
    }

    if (this.blockPrograms) {
      const b = await this.blockPrograms.wants(program.programs, repsOf, inc.keys, full);
      for (const u of b.unresolved) failures.push(this.resolveFailed(rev, u.endpoint, unresolved, u.problem));
      for (const w of b.wants) wanted.set(w.target.name, w);
    }

    // 2. which netdevs to visit
    const visit: { netdev: string; want: Want }[] = [];
    for (const [netdev, want] of wanted) {
      if (conflicts.has(netdev)) {
        const eps = want.programs.map((p) => p.endpoint);
        failures.push(this.report({ rev, netdev, endpoints: eps, stage: 'conflict', message: `netdev ${netdev} is claimed by ${eps.map((e) => e.key).join(', ')} with different programs; its rules are left as they are`, attempt: 1, retryInMs: 0 }));
        continue;
      }
      if (full || this.needsVisit(netdev, want.key)) visit.push({ netdev, want });
    }
    // A port of a wanted block is the block's: binding it replaces any per-port program it
    // had (diff: `rebindable`), so it is never visited as a netdev of its own (a removal there
    // would delete the clsact the block was just bound through).
    const blockPorts = new Set([...wanted.values()].flatMap((w) => w.target.block?.ports ?? []));
    for (const [netdev, st] of this.netdevs) {
      if (wanted.has(netdev)) continue;
      if (blockPorts.has(netdev)) {
        this.netdevs.delete(netdev);
        continue;
      }
      // An endpoint whose representor lookup failed this time may still own it: leave it.
      if (st.endpoints.some((e) => unresolved.has(e))) continue;
      if (full || this.needsVisit(netdev, '')) visit.push({ netdev, want: { target: st.target ?? { name: netdev }, filters: [], key: '', programs: [] } });
    }

    // 3. observe → diff → apply: every netdev of the pass in one driver call per step where the
    //    driver can (cmdline: two tc processes per pass instead of two per netdev)
    let applied = 0;
    const unavailable: { netdev: string; endpoints: EndpointProgram['endpoint'][]; problem: string }[] = [];
    for (const r of await this.visitAll(rev, visit, log)) {
      if (r.applied) applied++;
      if (r.failure) failures.push(r.failure);
      if (r.unavailable) unavailable.push({ netdev: r.job.netdev, endpoints: [...r.job.endpoints], problem: r.unavailable });
    }

    // resolution cache: forget endpoints that are gone
    const live = new Set(program.programs.map((p) => p.endpoint.key));
    for (const k of this.resolved.keys()) if (!live.has(k)) this.resolved.delete(k);
    for (const k of this.unresolved.keys()) if (!live.has(k)) this.unresolved.delete(k);

    const netdevs: NetdevProgram[] = [...wanted]
      .filter(([n]) => !conflicts.has(n))
      .map(([netdev, w]) => {
        const st = this.netdevs.get(netdev);
        return { netdev, target: w.target, filters: w.filters, key: w.key, programs: w.programs, inSync: st !== undefined ? st.appliedKey === w.key && st.failure === undefined : w.key === '', ...(st?.inHw ? { inHw: st.inHw } : {}) };
      });
    const result: PassResult = { rev, full, snapshot, program, netdevs, visited: visit.length, applied, failed: failures.length, unavailable, ms: this.now() - started };
    this.stats.passes++;
    if (full) this.stats.fullPasses++;
    log.info({ full, endpoints: program.programs.length, rendered: inc.rendered, compiled: inc.compiled, netdevs: wanted.size, visited: visit.length, applied, failed: failures.length, ms: result.ms }, 'pass done');
    for (const rep of this.deps.reporters ?? []) {
      try {
        await rep.passDone?.(result);
      } catch (e) {
        log.error({ err: e }, 'reporter failed');
      }
    }
    return result;
  }

  private needsVisit(netdev: string, key: string): boolean {
    const st = this.netdevs.get(netdev);
    if (!st) return key !== '';
    if (st.failure) return st.failure.key !== key || this.now() >= st.failure.nextAt;
    return st.appliedKey !== key;
  }

  private async visitAll(rev: number, visit: readonly { netdev: string; want: Want }[], passLog: Logger): Promise<VisitResult[]> {
    const jobs = visit.map(({ netdev, want }) => this.startVisit(rev, netdev, want, passLog));
    const observed = await observeAll(this.deps.driver, jobs.map((j) => j.want.target), this.timing.concurrency);
    const results: VisitResult[] = [];
    const planned: Planned[] = [];
    for (const [i, job] of jobs.entries()) {
      const p = this.planVisit(job, observed[i]!);
      if ('plan' in p) planned.push(p);
      else results.push(p);
    }
    const outcomes = await applyAll(this.deps.driver, planned.map((p) => ({ dev: p.job.want.target, plan: p.plan })), this.timing.concurrency);
    for (const [i, p] of planned.entries()) results.push(this.finishVisit(p, outcomes[i]!));
    return results;
  }

  private startVisit(rev: number, netdev: string, want: Want, passLog: Logger): Job {
    const endpoints = want.programs.map((p) => p.endpoint);
    const log = passLog.child({ netdev, pods: [...new Set(endpoints.map((e) => `${e.pod.namespace}/${e.pod.name}`))] });
    const st = this.netdevs.get(netdev) ?? { appliedKey: undefined, failure: undefined, endpoints: [] };
    if (want.programs.length > 0) {
      st.endpoints = want.programs.map((p) => p.endpoint.key);
      st.releaseOnly = undefined;
    }
    st.target = want.target;
    this.netdevs.set(netdev, st);
    return { rev, netdev, want, endpoints, st, log };
  }

  /** What the observed state needs: nothing (done), or a plan to apply. */
  private planVisit(job: Job, observed: Outcome<ObservedTc>): VisitResult | Planned {
    const { st, want, log } = job;
    if (observed instanceof Threw) return this.threw(job, observed);
    if (!observed.ok) return this.fail(job, 'observe', describeError(observed.error), observed.error);
    try {
      st.inHw = offloadState(observed.value.filters);
      const o = observed.value;
      const ownBlock = o.ingressBlock !== undefined && isAgentBlock(o.ingressBlock);
      const d: DiffResult = st.releaseOnly && !ownBlock ? { plan: { ops: [] } } : diff(want.filters, o, { releaseAgentBlocks: !this.deps.layout });
      if (d.unavailable) log.warn({ problem: d.unavailable }, 'part of the program cannot be installed');
      // A block port that cannot be bound leaves frames entering there unpoliced: not in
      // sync, retried with backoff (whoever holds the port may let go of it).
      const unbound = want.target.block !== undefined && d.unavailable !== undefined;
      if (d.plan.ops.length === 0) {
        if (unbound) return { ...this.fail(job, 'apply', d.unavailable!), unavailable: d.unavailable! };
        this.succeeded(job.netdev, st, want.key);
        return { job, ...(d.unavailable ? { unavailable: d.unavailable } : {}) };
      }
      const drift = st.appliedKey === want.key && st.failure === undefined;
      if (drift) log.warn({ ops: d.plan.ops.length }, 'installed rules drifted; repairing');
      return { job, plan: d.plan, drift, unbound, ...(d.unavailable ? { unavailable: d.unavailable } : {}) };
    } catch (e) {
      return this.threw(job, new Threw(e));
    }
  }

  private finishVisit(p: Planned, outcome: Outcome<Applied>): VisitResult {
    const { job, plan } = p;
    if (outcome instanceof Threw) return this.threw(job, outcome);
    if (!outcome.ok) return this.fail(job, 'apply', describeError(outcome.error), outcome.error);
    const { st, want, log } = job;
    this.stats.applies++;
    this.succeeded(job.netdev, st, want.key);
    log.info({ ...outcome.value, removal: want.programs.length === 0 }, 'rules applied');
    log.debug({ plan: plan.ops.map((o) => o.op) }, 'plan');
    const change: AppliedChange = { rev: job.rev, netdev: job.netdev, target: want.target, endpoints: want.programs.map((e) => e.endpoint.key), plan, applied: outcome.value, drift: p.drift };
    for (const rep of this.deps.reporters ?? []) {
      try {
        rep.applied?.(change);
      } catch (e) {
        log.error({ err: e }, 'reporter failed');
      }
    }
    if (p.unbound) return { applied: true, ...this.fail(job, 'apply', p.unavailable!), unavailable: p.unavailable! };
    return { job, applied: true, ...(p.unavailable ? { unavailable: p.unavailable } : {}) };
  }

  /** A bug (a driver or stage threw): recorded like a failure, never fatal to the agent. */
  private threw(job: Job, t: Threw): VisitResult {
    job.log.error({ err: t.cause }, 'netdev pass threw');
    return this.fail(job, 'bug', t.message);
  }

  private fail(job: Job, stage: Failure['stage'], message: string, error?: AgentError): VisitResult & { failure: Failure } {
    const { st, want, log } = job;
    const attempts = (st.failure?.key === want.key ? st.failure.attempts : 0) + 1;
    const retryInMs = backoffDelay(this.timing.retry, attempts - 1);
    st.failure = { key: want.key, attempts, nextAt: this.now() + retryInMs };
    this.stats.failures++;
    log.error({ stage, code: error?.code, error: message, attempt: attempts, retryInMs }, 'netdev not programmed; previous rules left in place');
    return { job, failure: this.report({ rev: job.rev, netdev: job.netdev, endpoints: job.endpoints, stage, message, ...(error ? { error } : {}), attempt: attempts, retryInMs }, false) };
  }

  private succeeded(netdev: string, st: NetdevState, key: string): void {
    st.failure = undefined;
    if (key === '') this.netdevs.delete(netdev);
    else st.appliedKey = key;
  }

  /** An endpoint whose netdevs (or their switch) cannot be told: retried with backoff, its old rules left alone. */
  private resolveFailed(rev: number, ep: Endpoint, unresolved: Set<string>, message: string, error?: AgentError): Failure {
    unresolved.add(ep.key);
    const attempts = (this.unresolved.get(ep.key)?.attempts ?? 0) + 1;
    const retryInMs = backoffDelay(this.timing.retry, attempts - 1);
    this.unresolved.set(ep.key, { attempts, nextAt: this.now() + retryInMs });
    return this.report({ rev, endpoints: [ep], stage: 'resolve', message, ...(error ? { error } : {}), attempt: attempts, retryInMs });
  }

  private async resolveNetdevs(ep: Endpoint, refresh: boolean): Promise<Result<readonly Netdev[]>> {
    const sig = JSON.stringify(ep.attachment);
    const c = this.resolved.get(ep.key);
    if (!refresh && c && c.sig === sig) return { ok: true, value: c.devs };
    let r: Result<readonly Netdev[]>;
    try {
      r = await this.deps.resolve(ep);
    } catch (e) {
      r = { ok: false, error: { code: 'representor-not-found', device: ep.key, cause: `lookup threw: ${e instanceof Error ? e.message : String(e)}` } };
    }
    if (r.ok) this.resolved.set(ep.key, { sig, devs: r.value });
    else this.resolved.delete(ep.key);
    return r;
  }

  private report(f: Failure, count = true): Failure {
    if (count) {
      this.stats.failures++;
      this.log.warn({ rev: f.rev, stage: f.stage, endpoints: f.endpoints.map((e) => e.key), error: f.message }, 'endpoint not programmed');
    }
    for (const rep of this.deps.reporters ?? []) rep.failed?.(f);
    return f;
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    if (this.stopped) return;
    let next = Infinity;
    for (const st of this.netdevs.values()) if (st.failure) next = Math.min(next, st.failure.nextAt);
    for (const u of this.unresolved.values()) next = Math.min(next, u.nextAt);
    if (next === Infinity) return;
    this.retryTimer = setTimeout(() => this.markDirty(), Math.max(0, next - this.now()));
  }
}

function offloadState(filters: readonly TcFilter[]): ReadonlyMap<string, boolean> {
  const m = new Map<string, boolean>();
  for (const f of filters) if (f.inHw !== undefined) m.set(filterIdentity(f), f.inHw);
  return m;
}
