// One conformance case in the lab: topology, TC programmed by the agent's reconciler, real
// packets for every probe, the steps in order, then removal of the agent's rules (checked)
// and teardown. Named tests drive the same object step by step with their own checks.
//
// Shared-block layout: the agent's targets are blocks (`block:N`, read through the target the
// reconciler used, with its ports); after every pass each representor must carry no program
// of its own, and after cleanup the block no filter of ours (its bindings stay: an empty
// block passes everything, and the agent never unbinds).
import { describeError } from '../../../core/api/errors.js';
import type { CaseProbe, ConformanceCase } from '../../../core/conformance/case.js';
import { applyStep, loadCaseFile } from '../../../core/conformance/load-case.js';
import type { External } from '../../../core/model/probe.js';
import type { Cluster } from '../../../core/model/snapshot.js';
import type { ProbeOutcome } from '../results.js';
import { planTopology, probeEnds, type TopologyPlan } from '../topology.js';
import type { Ctx } from './context.js';
import type { ProbeReply, ProbeSpec } from './engine.js';
import { describeFailure, LabAgent, type Pass } from './lab-agent.js';
import { LabTopology } from './lab-topology.js';
import { boundBlock, ownProgram } from './block-checks.js';

const EMPTY: Cluster = { namespaces: [], pods: [], networks: [], policies: [], invalidPolicies: [] };

export class CaseRun {
  readonly topo: LabTopology;
  readonly agent: LabAgent;
  plan!: TopologyPlan;
  cluster: Cluster;
  externals: readonly External[];
  lastPass: Pass | undefined;
  /** Every netdev the agent programmed during the case (checked after cleanup). */
  readonly programmed = new Set<string>();

  private constructor(
    readonly ctx: Ctx,
    readonly file: string,
    readonly c: ConformanceCase,
    readonly suite: string,
  ) {
    this.topo = new LabTopology(ctx.engine);
    this.agent = new LabAgent(ctx.wiring, c.node);
    this.cluster = c.cluster;
    this.externals = c.externals;
  }

  static async load(ctx: Ctx, file: string, suite?: string): Promise<CaseRun | undefined> {
    const loaded = await loadCaseFile(file);
    if (!loaded.ok) {
      ctx.check(suite ?? file, 'case file loads', false, describeError(loaded.error));
      return undefined;
    }
    return new CaseRun(ctx, file, loaded.value, suite ?? loaded.value.name);
  }

  /** Builds (or extends) the topology for the current objects. */
  async build(): Promise<boolean> {
    const uplink = this.ctx.uplink;
    this.plan = planTopology(this.cluster, this.externals, this.c.prefixes, { node: this.c.node, ...(uplink !== undefined ? { uplink } : {}) });
    for (const p of this.plan.problems) this.ctx.check(this.suite, 'topology', false, p);
    try {
      await this.topo.sync(this.plan);
    } catch (e) {
      return this.ctx.check(this.suite, 'topology is built', false, (e as Error).message);
    }
    return this.plan.problems.length === 0;
  }

  /** One reconcile pass; failures and a program that did not land are failed checks. */
  async program(full: boolean, label: string): Promise<boolean> {
    const pass = await this.agent.apply(this.cluster, full);
    this.lastPass = pass;
    for (const n of pass.result.netdevs) this.programmed.add(n.netdev);
    let ok = true;
    for (const f of pass.failures) ok = this.ctx.check(this.suite, `${label}: the agent programs every endpoint`, false, describeFailure(f)) && ok;
    for (const u of pass.result.unavailable) this.ctx.info(this.suite, `${label}: ${u.netdev}: ${u.problem}`);
    if (this.ctx.layout === 'shared-block' && full) {
      for (const n of pass.result.netdevs) {
        const t = this.agent.target(n.netdev);
        if (t.block) this.ctx.info(this.suite, `${label}: ${n.netdev} on ${t.block.ports.length} ports (${t.block.ports.join(', ')}), ${n.filters.length} filters`);
      }
    }
    const drift = await this.agent.drift(pass.result);
    if (drift.length > 0) ok = this.ctx.check(this.suite, `${label}: installed TC equals the compiled program`, false, drift.join('; ')) && ok;
    // a representor no endpoint wants any more (its pod was deleted, its policy went away)
    const wanted = new Set(pass.result.netdevs.filter((n) => n.filters.length > 0).map((n) => n.netdev));
    const stale: string[] = [];
    for (const dev of this.programmed) {
      if (wanted.has(dev)) continue;
      const o = await this.ctx.wiring.driver.observe(this.agent.target(dev));
      if (o.ok && o.value.filters.length > 0) stale.push(`${dev}: ${o.value.filters.length} filters`);
    }
    if (stale.length > 0) ok = this.ctx.check(this.suite, `${label}: representors nobody wants any more carry none of our filters`, false, stale.join('; ')) && ok;
    if (this.ctx.layout === 'shared-block') {
      const own = await this.ownPrograms();
      if (own.length > 0) ok = this.ctx.check(this.suite, `${label}: no representor carries a per-port program (shared-block layout)`, false, own.join('; ')) && ok;
      // a port left out of the block lets its pod reach isolated pods unpoliced
      const blocks = new Set(pass.result.netdevs.flatMap((n) => this.agent.target(n.netdev).block?.index ?? []));
      if (blocks.size > 0) {
        const loose: string[] = [];
        for (const rep of this.plan.representors) {
          const b = await boundBlock(rep);
          if (b === undefined || !blocks.has(b)) loose.push(`${rep}: ${b === undefined ? 'not bound' : `bound to block ${b}`}`);
        }
        if (loose.length > 0) ok = this.ctx.check(this.suite, `${label}: every local representor is a port of the switch's block`, false, loose.join('; ')) && ok;
      }
    }
    return ok;
  }

  /** Shared-block layout: representors of the topology that carry a program of their own. */
  private async ownPrograms(): Promise<string[]> {
    const out: string[] = [];
    for (const rep of new Set([...this.plan.representors, ...[...this.programmed].filter((d) => !d.startsWith('block:'))])) {
      const p = await ownProgram(rep);
      if (p !== undefined) out.push(p);
    }
    return out;
  }

  async probes(probes: readonly CaseProbe[], step: number | null): Promise<ProbeOutcome[]> {
    const out = await runProbes(this.ctx, this.suite, this.file, this.plan, probes, step);
    for (const o of out) {
      this.ctx.emit(o);
      if (!o.pass) this.ctx.say(`  FAIL probe ${step === null ? '' : `step ${step} `}${o.probe}: ${o.from} -> ${o.to} ${o.protocol}/${o.port} ${o.family}: expected ${o.expect}, got ${o.got} ${o.detail}`);
    }
    return out;
  }

  async step(i: number): Promise<boolean> {
    const s = this.c.steps[i]!;
    ({ cluster: this.cluster, externals: this.externals } = applyStep(this.cluster, this.externals, s));
    if (!(await this.build())) return false;
    return this.program(false, `step ${i} (${s.description})`);
  }

  /** All objects gone: the agent must remove every filter it installed, and its qdiscs. */
  async cleanup(): Promise<boolean> {
    this.cluster = EMPTY;
    const pass = await this.agent.apply(EMPTY, false);
    let ok = true;
    for (const f of pass.failures) ok = this.ctx.check(this.suite, 'cleanup: the agent removes its rules', false, describeFailure(f)) && ok;
    const left: string[] = [];
    for (const dev of this.programmed) {
      const target = this.agent.target(dev);
      const o = await this.ctx.wiring.driver.observe(target);
      if (!o.ok) left.push(`${dev}: ${describeError(o.error)}`);
      else if (o.value.filters.length > 0) left.push(`${dev}: ${o.value.filters.length} of our filters left`);
      // a block's bindings stay (documented): only a netdev's own clsact is ours to remove
      else if (target.block === undefined && o.value.qdisc === 'clsact' && o.value.foreign.ingress + o.value.foreign.egress === 0) left.push(`${dev}: our clsact qdisc left`);
    }
    if (this.ctx.layout === 'shared-block') left.push(...(await this.ownPrograms()));
    if (left.length > 0) ok = this.ctx.check(this.suite, 'cleanup: no rule of ours is left', false, left.join('; ')) && ok;
    return ok;
  }

  async teardown(): Promise<void> {
    await this.agent.stop();
    await this.topo.teardown();
    await this.ctx.engine.ctFlush();
  }

  /** The whole case: probes, steps with theirs, cleanup. */
  async runAll(): Promise<void> {
    try {
      await this.ctx.engine.ctFlush();
      if (await this.build()) {
        await this.program(true, 'initial pass');
        await this.probes(this.c.probes, null);
        for (let i = 0; i < this.c.steps.length; i++) {
          await this.step(i);
          await this.probes(this.c.steps[i]!.probes, i);
        }
        await this.cleanup();
      }
    } catch (e) {
      this.ctx.check(this.suite, 'case runs', false, (e as Error).stack ?? String(e));
    } finally {
      await this.teardown().catch((e: unknown) => this.ctx.check(this.suite, 'teardown', false, (e as Error).message));
    }
  }
}

// ---------------------------------------------------------------------------------------
// probes

/**
 * Runs probes concurrently. A reply means allow and is never retried; a timeout is retried
 * once before it means deny. A deny whose request still reached the listener (only the reply
 * was dropped) fails: the packet was delivered. A refused connection means the packet was
 * delivered too, to a port nobody listens on: always a failure of the harness or the policy.
 */
export async function runProbes(ctx: Ctx, suite: string, file: string, plan: TopologyPlan, probes: readonly CaseProbe[], step: number | null): Promise<ProbeOutcome[]> {
  const base = (p: CaseProbe, i: number) => ({ kind: 'probe' as const, suite, file, step, probe: i, from: p.from, to: p.to, network: p.network, family: p.family, protocol: p.protocol, port: p.port, expect: p.expect });
  const out: (ProbeOutcome | undefined)[] = probes.map(() => undefined);
  const ends = probes.map((p) => probeEnds(plan, p));
  const specs: (ProbeSpec | undefined)[] = probes.map((p, i) => {
    const e = ends[i]!;
    if (typeof e === 'string') {
      out[i] = { ...base(p, i), got: 'error', pass: false, detail: e, attempts: 0 };
      return undefined;
    }
    return { ns: e.src.ns, src: e.src.ip, dev: e.src.dev, dst: e.dst.ip, proto: p.protocol, port: p.port, timeout: ctx.timeouts[p.protocol], token: '' };
  });
  const listeners = new Set<string>();
  for (const [i, e] of ends.entries()) {
    if (typeof e === 'string') continue;
    const key = `${e.dst.ns} ${probes[i]!.protocol} ${probes[i]!.port}`;
    if (listeners.has(key)) continue;
    listeners.add(key);
    await ctx.engine.listen(e.dst.ns, probes[i]!.protocol, probes[i]!.port);
  }

  const replies: (ProbeReply | undefined)[] = probes.map(() => undefined);
  const tokens: string[][] = probes.map(() => []);
  const attempts = probes.map(() => 0);
  const tag = `${suite}.${step ?? 'i'}`.replace(/\s/g, '_');
  for (let attempt = 1; attempt <= 2; attempt++) {
    const todo = specs.flatMap((s, i) => (s && (replies[i] === undefined || replies[i]!.result === 'timeout') ? [{ s, i }] : []));
    if (todo.length === 0) break;
    const batch = todo.map(({ s, i }) => {
      const token = `${tag}.${i}.${attempt}`;
      tokens[i]!.push(token);
      attempts[i] = attempt;
      return { ...s, token };
    });
    const r = await ctx.engine.probes(batch);
    todo.forEach(({ i }, k) => (replies[i] = r[k]));
  }

  for (const [i, p] of probes.entries()) {
    const e = ends[i]!;
    if (out[i] || typeof e === 'string') continue;
    const r = replies[i]!;
    let got: string;
    let detail = `${r.result}${r.detail ? ` (${r.detail})` : ''}, ${r.ms} ms`;
    let pass: boolean;
    if (r.result === 'reply') {
      got = 'allow';
      pass = p.expect === 'allow';
    } else if (r.result === 'timeout') {
      got = 'deny';
      pass = p.expect === 'deny';
      let leaked = false;
      for (const t of tokens[i]!) if (await ctx.engine.seen(e.dst.ns, p.protocol, p.port, t)) leaked = true;
      if (leaked) {
        pass = false;
        detail = `the request reached the listener and only the reply was lost: ${detail}`;
      }
    } else {
      got = r.result === 'refused' ? 'refused' : 'error';
      pass = false;
    }
    out[i] = { ...base(p, i), got, pass, detail, attempts: attempts[i]! };
  }
  return out as ProbeOutcome[];
}
