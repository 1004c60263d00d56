// A prototype measured by the apply-path benchmark, not a driver: the cmdline driver's own
// pieces (show commands, JSON parsers, batch formatter) used for several netdevs per `tc`
// process — one `tc -j -batch -` observing every netdev, one `tc -batch -` applying every
// plan — to show what batching across netdevs would buy (docs/performance.md, item 3).
// It ignores what a driver must handle: a failing line stops the batch for every later
// netdev, and it would have to say which.
import type { Exec } from '../../core/api/ports.js';
import type { ObservedTc, TcFilter } from '../../core/model/tc.js';
import { diff } from '../../core/pipeline/diff.js';
import { splitShowOutput } from '../../drivers/tc-cmdline/batch-output.js';
import { toBatchLines } from '../../drivers/tc-cmdline/batch.js';
import { showCommands } from '../../drivers/tc-cmdline/cmdline-driver.js';
import { parseFilters, parseQdiscs } from '../../drivers/tc-cmdline/parse.js';

function observed(docs: readonly unknown[], dev: string): ObservedTc {
  const [q, i, e] = docs;
  const qdisc = parseQdiscs(q, dev);
  if (!qdisc.ok) throw new Error(`${dev}: qdisc`);
  if (qdisc.value === null) return { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } };
  const ing = parseFilters(i, 'ingress', dev);
  const egr = parseFilters(e, 'egress', dev);
  if (!ing.ok || !egr.ok) throw new Error(`${dev}: filters`);
  return { qdisc: qdisc.value, filters: [...ing.value.owned, ...egr.value.owned], foreign: { ingress: ing.value.foreign, egress: egr.value.foreign } };
}

/** Observe → diff → apply for every program with two `tc` processes in all. */
export async function batchedInstall(exec: Exec, programs: readonly { readonly netdev: string; readonly filters: readonly TcFilter[] }[]): Promise<void> {
  const shows = programs.flatMap((p) => showCommands(p.netdev));
  const r = await exec.run('tc', ['-j', '-batch', '-'], { input: `${shows.join('\n')}\n`, timeoutMs: 600_000 });
  if (r.exitCode !== 0) throw new Error(`observe: ${r.stderr}`);
  const docs = splitShowOutput(r.stdout, shows.length, 'all');
  if (!docs.ok) throw new Error('observe: output');
  const lines = programs.flatMap((p, k) => toBatchLines({ name: p.netdev }, diff(p.filters, observed(docs.value.slice(3 * k, 3 * k + 3), p.netdev)).plan));
  const a = await exec.run('tc', ['-batch', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 600_000 });
  if (a.exitCode !== 0) throw new Error(`apply: ${a.stderr.slice(0, 500)}`);
}
