// Harness self-check: with no rules installed every probe of a case gets its reply, so a
// deny seen elsewhere comes from the installed policy and not from the lab.
import { join } from 'node:path';
import { CaseRun, runProbes } from './case-run.js';
import type { Ctx } from './context.js';

export async function noRulesBaseline(ctx: Ctx): Promise<void> {
  const suite = 'no-rules-baseline';
  for (const rel of ['test/datapath/cases/protocols.yaml', 'test/datapath/scenarios/double-ct.yaml']) {
    const file = join(ctx.repo, rel);
    const run = await CaseRun.load(ctx, file, suite);
    if (!run) continue;
    try {
      await ctx.engine.ctFlush();
      if (!(await run.build())) continue;
      const probes = run.c.probes.map((p) => ({ ...p, expect: 'allow' as const }));
      const out = await runProbes(ctx, suite, file, run.plan, probes, null);
      const blocked = out.filter((o) => o.got !== 'allow');
      ctx.check(
        suite,
        `with no TC rules every probe of ${run.c.name} gets its reply (${out.length - blocked.length}/${out.length})`,
        blocked.length === 0,
        blocked.map((o) => `${o.from} -> ${o.to} ${o.protocol}/${o.port} ${o.family}: ${o.got} ${o.detail}`).join('; '),
      );
    } finally {
      await run.teardown();
    }
  }
}
