// Human-readable output of the agent when it runs from manifests or with --once: every
// applied change as the `tc -batch` lines of the plan (what the dry-run driver records and
// the cmdline driver runs), and every failure in one line.
import { toBatchLines } from '../../drivers/tc-cmdline/batch.js';
import type { AppliedChange, Failure, PassResult, Reporter } from '../agent/reconciler.js';

export function changeLines(c: AppliedChange): string[] {
  const { added, replaced, deleted, qdisc } = c.applied;
  const who = c.endpoints.length > 0 ? c.endpoints.join(', ') : 'no endpoint any more: removing our rules';
  const counts = `${added} added, ${replaced} replaced, ${deleted} deleted${qdisc !== 'unchanged' ? `, qdisc ${qdisc}` : ''}`;
  return [`== ${c.netdev} (${who}) rev ${c.rev}: ${counts}${c.drift ? ' (drift repaired)' : ''}`, ...toBatchLines(c.target ?? { name: c.netdev }, c.plan).map((l) => `  ${l}`)];
}

export function failureLine(f: Failure): string {
  const what = f.netdev ?? f.endpoints.map((e) => e.key).join(', ');
  return `!! ${what}: ${f.stage} failed: ${f.message}${f.retryInMs > 0 ? ` (retry ${f.attempt} in ${Math.round(f.retryInMs / 100) / 10}s)` : ''}`;
}

export function passLine(r: PassResult, node: string): string {
  const unchanged = r.netdevs.filter((n) => n.inSync).length - r.applied;
  return `# ${node} rev ${r.rev}: ${r.program.programs.length} endpoints on ${r.netdevs.length} netdevs; ${r.applied} changed, ${Math.max(0, unchanged)} unchanged, ${r.failed} failed, ${r.program.skipped.length} interfaces skipped (${r.ms} ms)`;
}

export function changePrinter(out: (line: string) => void, node: string, opts: { readonly summary: boolean }): Reporter {
  return {
    applied: (c) => changeLines(c).forEach((l) => out(l)),
    failed: (f) => out(failureLine(f)),
    passDone: (r) => {
      if (opts.summary || r.applied > 0 || r.failed > 0) out(passLine(r, node));
    },
  };
}
