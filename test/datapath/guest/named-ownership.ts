// Someone else's TC state on a representor survives the agent: a plain `ingress` qdisc with
// foreign filters (guarded), and a clsact with foreign filters on both hooks (peer), are
// exactly as they were after the first apply, a change, and the removal of our rules.
import { join } from 'node:path';
import { isOwned } from '../../../core/pipeline/layout.js';
import { CaseRun } from './case-run.js';
import type { Ctx } from './context.js';
import { tcBatch, tcFilters, tcQdiscs } from './sh.js';

async function foreignState(dev: string): Promise<string[]> {
  const kinds = (await tcQdiscs(dev)).map((q) => q.kind);
  const out = kinds.filter((k) => k === 'ingress' || k === 'clsact').map((k) => `qdisc ${k}`);
  // a plain ingress qdisc has no egress hook (tc would list the ingress filters again)
  const hooks = kinds.includes('clsact') ? (['ingress', 'egress'] as const) : kinds.includes('ingress') ? (['ingress'] as const) : [];
  for (const hook of hooks) {
    for (const f of await tcFilters(dev, hook)) {
      if (isOwned(hook, f.chain ?? 0, f.pref)) continue;
      const o = f.options!;
      out.push(JSON.stringify({ hook, chain: f.chain ?? 0, pref: f.pref, protocol: f.protocol, kind: f.kind, handle: o.handle, keys: o.keys, actions: (o.actions ?? []).map((a) => [a.kind, a.control_action?.type]) }));
    }
  }
  return out.sort();
}

export async function ownership(ctx: Ctx): Promise<void> {
  const suite = 'ownership';
  const run = await CaseRun.load(ctx, join(ctx.repo, 'test/datapath/scenarios/ownership.yaml'));
  if (!run) return;
  try {
    await ctx.engine.ctFlush();
    if (!(await run.build())) return;
    const rep = (ref: string): string => run.plan.namespaces.find((n) => n.ref === ref)!.links[0]!.host;
    const guarded = rep('own/guarded');
    const peer = rep('own/peer');
    await tcBatch([
      `qdisc add dev ${guarded} ingress`,
      `filter add dev ${guarded} ingress chain 0 pref 100 protocol ip flower dst_ip 192.0.2.1 action drop`,
      `filter add dev ${guarded} ingress chain 0 pref 20000 protocol all matchall action pass`,
      `filter add dev ${guarded} ingress chain 77 pref 1 protocol ip flower src_ip 192.0.2.2 action drop`,
      `qdisc add dev ${peer} clsact`,
      `filter add dev ${peer} ingress chain 0 pref 100 protocol ip flower dst_ip 192.0.2.1 action drop`,
      `filter add dev ${peer} egress chain 0 pref 100 protocol ipv6 flower dst_ip 2001:db8::1 action drop`,
      `filter add dev ${peer} egress chain 5 pref 3 protocol all matchall action pass`,
    ]);
    const before = { g: await foreignState(guarded), p: await foreignState(peer) };
    ctx.info(suite, `foreign state: ${guarded}: ${before.g.length - 1} filters on a plain ingress qdisc; ${peer}: ${before.p.length - 1} filters on clsact`);
    const same = async (when: string): Promise<void> => {
      const g = await foreignState(guarded);
      const p = await foreignState(peer);
      const diffOf = (a: string[], b: string[]): string => [...a.filter((x) => !b.includes(x)).map((x) => `gone: ${x}`), ...b.filter((x) => !a.includes(x)).map((x) => `new: ${x}`)].join('; ');
      ctx.check(suite, `${when}: the foreign ingress qdisc and filters on ${guarded} are untouched`, diffOf(before.g, g) === '', diffOf(before.g, g));
      ctx.check(suite, `${when}: the foreign filters on ${peer}'s clsact are untouched`, diffOf(before.p, p) === '', diffOf(before.p, p));
    };

    await run.program(true, 'initial pass');
    const warned = run.lastPass?.result.unavailable.some((u) => u.netdev === guarded) ?? false;
    ctx.check(suite, `the agent reports that ${guarded}'s plain ingress qdisc has no egress hook for pod ingress policy`, warned, JSON.stringify(run.lastPass?.result.unavailable ?? []));
    const ours = await ctx.wiring.driver.observe({ name: guarded });
    ctx.check(suite, `the agent's pod egress program is installed on ${guarded}'s ingress qdisc`, ours.ok && ours.value.filters.some((f) => f.hook === 'ingress'), ours.ok ? `${ours.value.filters.length} of our filters` : 'observe failed');
    await same('after the first apply');
    await run.probes(run.c.probes, null);
    await run.step(0);
    await same('after a policy change');
    await run.probes(run.c.steps[0]!.probes, 0);
    await run.cleanup();
    await same('after the agent removed its rules');
  } finally {
    await run.teardown();
  }
}
