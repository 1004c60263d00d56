// The double-ct bypass cannot happen: a connection that conntrack tracked and committed at
// its source representor (an isolated egress hook, or an open hook that commits) reaches the
// destination's representor already tracked, and the destination's deny-all ingress still
// drops it. Evidence: the probes are denied, conntrack holds the source's committed entries
// for them, and the target's egress hook counted the drops.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CaseRun } from './case-run.js';
import type { Ctx } from './context.js';
import { dropPackets, tcFilters } from './sh.js';

export async function doubleCt(ctx: Ctx): Promise<void> {
  const suite = 'double-ct';
  const run = await CaseRun.load(ctx, join(ctx.repo, 'test/datapath/scenarios/double-ct.yaml'));
  if (!run) return;
  try {
    await ctx.engine.ctFlush();
    if (!(await run.build())) return;
    await run.program(true, 'initial pass');
    const out = await run.probes(run.c.probes, null);
    const toTarget = out.filter((o) => o.to === 'dct/target');
    ctx.check(suite, 'every connection to the deny-all target is refused although its source tracked it', toTarget.every((o) => o.pass && o.got === 'deny'), toTarget.filter((o) => !o.pass).map((o) => `${o.from} ${o.protocol}/${o.port}: ${o.got}`).join('; '));

    const ct = await readFile('/proc/net/nf_conntrack', 'utf8').catch((e: Error) => `unreadable: ${e.message}`);
    for (const [ip, how] of [
      ['10.50.0.11', 'an isolated egress hook (ct commit of an allowed connection)'],
      ['10.50.0.12', 'an open hook (ct commit of every new connection)'],
    ] as const) {
      // the original direction is the first tuple of a line (the reply tuple follows it)
      const entry = ct.split('\n').find((l) => {
        const t = / src=(\S+) dst=(\S+) sport=\d+ dport=(\d+) /.exec(l);
        return t !== null && t[1] === ip && t[2] === '10.50.0.10' && t[3] === '5555';
      });
      ctx.check(suite, `the connection ${ip} -> target:5555 was committed to conntrack at its source by ${how}`, entry !== undefined, entry ? '' : 'no conntrack entry');
      if (entry) ctx.info(suite, `conntrack: ${entry.replace(/\s+/g, ' ').trim()}`);
    }
    const target = run.plan.namespaces.find((n) => n.ref === 'dct/target')!.links[0]!.host;
    const drops = dropPackets(await tcFilters(target, 'egress'));
    ctx.check(suite, `the target's ingress policy (egress hook of ${target}) dropped the tracked packets`, drops > 0, `${drops} packets dropped`);
    ctx.info(suite, `packets dropped on the target's egress hook: ${drops}`);
    await run.cleanup();
  } finally {
    await run.teardown();
  }
}
