// The cmdline TC driver: one `tc` process per observe and one per apply, commands on stdin,
// arguments as an array. Everything else is the pure batch.ts / parse.ts.
//
//   observe: tc -j -batch -  <<  qdisc show dev X / filter show dev X ingress / filter show dev X egress
//   apply:   tc -batch -     <<  toBatchLines(plan)   (no -force: tc stops at the first failing line)
//
// The driver trusts the plan: refusing egress-hook filters on a plain `ingress` qdisc (where
// tc would put them on the ingress hook) is diff's job, which sees the observed qdisc.
import { inject, injectable, optional } from 'inversify';
import type { Result } from '../../core/api/result.js';
import { err, ok } from '../../core/api/result.js';
import { Exec, Logger } from '../../core/api/ports.js';
import type { TcDriver } from '../../core/api/tc-driver.js';
import type { Netdev } from '../../core/model/attachment.js';
import type { Applied, Plan } from '../../core/model/plan.js';
import type { ObservedTc } from '../../core/model/tc.js';
import { countApplied } from '../shared/applied.js';
import { DEFAULT_EXEC_TIMEOUT_MS } from '../shared/execa-exec.js';
import { toBatchLines } from './batch.js';
import { assertIfname } from './ifname.js';
import { CmdlineOptions } from './options.js';
import { failedBatchLine, splitShowOutput } from './batch-output.js';
import { parseFilters, parseQdiscs } from './parse.js';

/** The show commands of one observe, in the order their outputs are read. */
export const showCommands = (dev: string): string[] => [`qdisc show dev ${dev}`, `filter show dev ${dev} ingress`, `filter show dev ${dev} egress`];

@injectable()
export class CmdlineTcDriver implements TcDriver {
  readonly name = 'cmdline';
  private readonly log: Logger;
  private readonly tc: string;
  private readonly timeoutMs: number;

  constructor(
    @inject(Exec) private readonly exec: Exec,
    @inject(Logger) root: Logger,
    @inject(CmdlineOptions) @optional() options: CmdlineOptions = {},
  ) {
    this.log = root.child({ component: 'driver', driver: 'cmdline' });
    this.tc = options.tc ?? 'tc';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  }

  async observe(dev: Netdev): Promise<Result<ObservedTc>> {
    const name = assertIfname(dev.name);
    const input = `${showCommands(name).join('\n')}\n`;
    const r = await this.exec.run(this.tc, ['-j', '-batch', '-'], { input, timeoutMs: this.timeoutMs });
    if (r.exitCode !== 0) return err({ code: 'tc-exec-failed', netdev: name, command: '-j -batch - (qdisc show, filter show ingress|egress)', stderr: r.stderr });
    const docs = splitShowOutput(r.stdout, 3, name);
    if (!docs.ok) return docs;
    const [qdiscJson, ingressJson, egressJson] = docs.value;
    const qdisc = parseQdiscs(qdiscJson, name);
    if (!qdisc.ok) return qdisc;
    // No qdisc: no filters either. A plain ingress qdisc has no egress hook, and tc shows
    // its ingress filters again for "egress" (marked "ingress": true): ignore that output.
    if (qdisc.value === null) return ok({ qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } });
    const ingress = parseFilters(ingressJson, 'ingress', name);
    if (!ingress.ok) return ingress;
    const egress = qdisc.value === 'clsact' ? parseFilters(egressJson, 'egress', name) : ok({ owned: [], foreign: 0 });
    if (!egress.ok) return egress;
    const observed: ObservedTc = {
      qdisc: qdisc.value,
      filters: [...ingress.value.owned, ...egress.value.owned],
      foreign: { ingress: ingress.value.foreign, egress: egress.value.foreign },
    };
    this.log.debug({ netdev: name, qdisc: observed.qdisc, owned: observed.filters.length, foreign: observed.foreign }, 'tc state observed');
    return ok(observed);
  }

  async apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    const lines = toBatchLines(dev, plan);
    if (lines.length === 0) return ok(countApplied(plan));
    this.log.debug({ netdev: dev.name, lines: lines.length }, 'tc batch');
    const r = await this.exec.run(this.tc, ['-batch', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: this.timeoutMs });
    if (r.exitCode === 0) return ok(countApplied(plan));
    const line = failedBatchLine(r.stderr);
    const text = line === undefined ? undefined : lines[line - 1];
    if (line === undefined || text === undefined) return err({ code: 'tc-exec-failed', netdev: dev.name, command: '-batch -', stderr: r.stderr });
    return err({ code: 'tc-batch-failed', netdev: dev.name, line, text, stderr: r.stderr });
  }
}
