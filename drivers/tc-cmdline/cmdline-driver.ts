// The cmdline TC driver: `tc` processes with the commands on stdin, arguments as an array.
// Everything else is the pure batch.ts / parse.ts.
//
//   observe: tc -j -batch -  <<  qdisc show dev X / filter show dev X ingress / filter show dev X egress
//   apply:   tc -batch -     <<  toBatchLines(plan)   (no -force: tc stops at the first failing line)
//
// observeMany / applyMany put many netdevs in one process (a process start costs more than the
// kernel work of a typical program; docs/performance.md, item 3). tc stops at the first failing
// line: the netdevs before it are done, the failing one gets the error it would get alone, and
// the ones after it go to a new process. observe / apply are the one-netdev case of the same code.
//
// A shared-block target (`dev.block`, see observeBlock) is read from its ports' qdiscs and
// from `filter show block N`, which lists every chain of the block in one document.
//
// The driver trusts the plan: refusing egress-hook filters on a plain `ingress` qdisc (where
// tc would put them on the ingress hook) is diff's job, which sees the observed qdisc.
import { inject, injectable, optional } from 'inversify';
import type { AgentError } from '../../core/api/errors.js';
import type { Result } from '../../core/api/result.js';
import { err, ok } from '../../core/api/result.js';
import { Exec, Logger } from '../../core/api/ports.js';
import type { PlanFor, TcDriver } from '../../core/api/tc-driver.js';
import type { Netdev, SharedBlock } from '../../core/model/attachment.js';
import type { Applied, Plan } from '../../core/model/plan.js';
import type { ObservedTc } from '../../core/model/tc.js';
import { countApplied } from '../shared/applied.js';
import { isBlockIndex, observedBlock, ownHook, planProblem, type PortObservation } from '../shared/block-target.js';
import { DEFAULT_EXEC_TIMEOUT_MS } from '../shared/execa-exec.js';
import { toBatchLines } from './batch.js';
import { assertIfname, isValidIfname } from './ifname.js';
import { CmdlineOptions } from './options.js';
import { failedBatchLine, splitShowOutput } from './batch-output.js';
import { countFilters, parseFilters, parsePortQdisc, parseQdiscs } from './parse.js';

/** The show commands of one observe, in the order their outputs are read. */
export const showCommands = (dev: string): string[] => [`qdisc show dev ${dev}`, `filter show dev ${dev} ingress`, `filter show dev ${dev} egress`];

/**
 * At most this much per tc process: a process that times out (each has `timeoutMs`) fails
 * every netdev in it. 5 000 filter lines take ~3 s in the TCG lab, well under a second native.
 */
const DEFAULT_BATCH = { netdevs: 128, lines: 5_000 };

@injectable()
export class CmdlineTcDriver implements TcDriver {
  readonly name = 'cmdline';
  private readonly log: Logger;
  private readonly tc: string;
  private readonly timeoutMs: number;
  private readonly batch: { readonly netdevs: number; readonly lines: number };

  constructor(
    @inject(Exec) private readonly exec: Exec,
    @inject(Logger) root: Logger,
    @inject(CmdlineOptions) @optional() options: CmdlineOptions = {},
  ) {
    this.log = root.child({ component: 'driver', driver: 'cmdline' });
    this.tc = options.tc ?? 'tc';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    this.batch = { netdevs: options.batchNetdevs ?? DEFAULT_BATCH.netdevs, lines: options.batchLines ?? DEFAULT_BATCH.lines };
  }

  async observe(dev: Netdev): Promise<Result<ObservedTc>> {
    return (await this.observeMany([dev]))[0]!;
  }

  async observeMany(devs: readonly Netdev[]): Promise<Result<ObservedTc>[]> {
    const out: Result<ObservedTc>[] = new Array(devs.length);
    const plain: Job[] = [];
    for (const [i, dev] of devs.entries()) {
      if (dev.block !== undefined) out[i] = await this.observeBlock(dev.name, dev.block);
      else if (!isValidIfname(dev.name)) out[i] = unnamable(dev.name);
      else plain.push({ i, name: dev.name });
    }
    for (const chunk of chunks(plain, () => 1, this.batch.netdevs)) await this.observeChunk(chunk, out);
    return out;
  }

  /** The show commands of `jobs` in one process; from the first failing netdev on, again in another. */
  private async observeChunk(jobs: readonly Job[], out: Result<ObservedTc>[]): Promise<void> {
    for (let rest = jobs; rest.length > 0; ) {
      const commands = rest.flatMap((j) => showCommands(j.name));
      const r = await this.exec.run(this.tc, ['-j', '-batch', '-'], { input: `${commands.join('\n')}\n`, timeoutMs: this.timeoutMs });
      const line = r.exitCode === 0 ? undefined : failedBatchLine(r.stderr);
      const failed = (j: Job): Result<never> => err({ code: 'tc-exec-failed', netdev: j.name, command: '-j -batch - (qdisc show, filter show ingress|egress)', stderr: r.stderr });
      if (r.exitCode !== 0 && (line === undefined || line > commands.length)) {
        for (const j of rest) out[j.i] = failed(j);
        return;
      }
      // every command before the failing one printed its document
      const done = line === undefined ? rest.length : Math.floor((line - 1) / 3);
      const docs = splitShowOutput(r.stdout, line === undefined ? rest.length * 3 : line - 1, rest.map((j) => j.name).join(','));
      for (const [k, j] of rest.slice(0, done).entries()) out[j.i] = docs.ok ? this.observed(j.name, docs.value.slice(3 * k, 3 * k + 3)) : err({ ...docs.error, netdev: j.name });
      if (line !== undefined) out[rest[done]!.i] = failed(rest[done]!);
      rest = rest.slice(done + 1);
    }
  }

  /** One netdev's three show documents: qdisc, ingress filters, egress filters. */
  private observed(name: string, [qdiscJson, ingressJson, egressJson]: unknown[]): Result<ObservedTc> {
    const qdisc = parseQdiscs(qdiscJson, name);
    if (!qdisc.ok) return qdisc;
    // No qdisc: no filters either. A plain ingress qdisc has no egress hook, and tc shows
    // its ingress filters again for "egress" (marked "ingress": true): ignore that output.
    if (qdisc.value === null) return ok({ qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } });
    const port = parsePortQdisc(qdiscJson, name);
    if (!port.ok) return port;
    const ingress = ownHook(parseFilters(ingressJson, 'ingress', name), port.value?.ingressBlock);
    if (!ingress.ok) return ingress;
    const egress = qdisc.value === 'clsact' ? parseFilters(egressJson, 'egress', name) : ok({ owned: [], foreign: 0 });
    if (!egress.ok) return egress;
    const block = port.value?.ingressBlock;
    const observed: ObservedTc = {
      qdisc: qdisc.value,
      filters: [...ingress.value.owned, ...egress.value.owned],
      foreign: { ingress: ingress.value.foreign, egress: egress.value.foreign },
      ...(block === undefined ? {} : { ingressBlock: block }),
    };
    this.log.debug({ netdev: name, qdisc: observed.qdisc, owned: observed.filters.length, foreign: observed.foreign }, 'tc state observed');
    return ok(observed);
  }

  /**
   * One tc for the ports' qdiscs and the block's filters:
   *   qdisc show dev P1 / ... / qdisc show dev Pn / filter show block N
   * The block exists only while some qdisc uses it: until then the last line fails
   * ("Cannot find block") after every port's output was printed. A second tc counts the
   * filters of others on the own hooks of ports with a clsact but no block (rebindable when none).
   */
  private async observeBlock(name: string, block: SharedBlock): Promise<Result<ObservedTc>> {
    if (!isBlockIndex(block.index)) throw new Error(`not a block index: ${block.index}`);
    const ports = block.ports.map(assertIfname);
    const input = `${[...ports.map((p) => `qdisc show dev ${p}`), `filter show block ${block.index}`].join('\n')}\n`;
    const r = await this.exec.run(this.tc, ['-j', '-batch', '-'], { input, timeoutMs: this.timeoutMs });
    let shown = ports.length + 1;
    if (r.exitCode !== 0) {
      const line = failedBatchLine(r.stderr);
      if (line === ports.length + 1 && /Cannot find block/.test(r.stderr)) shown = ports.length;
      else return err(this.showFailed(name, ports, line, r.stderr, '(qdisc show of each port, filter show block)'));
    }
    const docs = splitShowOutput(r.stdout, shown, name);
    if (!docs.ok) return docs;
    const qdiscs: { name: string; qdisc: PortObservation['qdisc'] }[] = [];
    for (const [i, port] of ports.entries()) {
      const q = parsePortQdisc(docs.value[i], port);
      if (!q.ok) return q;
      qdiscs.push({ name: port, qdisc: q.value });
    }
    const filters = shown > ports.length ? parseFilters(docs.value[ports.length], 'ingress', name) : ok({ owned: [], foreign: 0 });
    if (!filters.ok) return filters;
    const loose = qdiscs.filter((p) => p.qdisc?.kind === 'clsact' && p.qdisc.ingressBlock === undefined).map((p) => p.name);
    const counts = await this.countPortFilters(name, loose);
    if (!counts.ok) return counts;
    const observed = observedBlock(block, qdiscs.map((p) => ({ ...p, foreign: counts.value.get(p.name) ?? 0 })), filters.value.owned, filters.value.foreign);
    this.log.debug({ netdev: name, ports: observed.ports, owned: observed.filters.length, foreign: observed.foreign }, 'tc state observed');
    return ok(observed);
  }

  /**
   * Filters on both hooks of each port that the agent does not own, by port name. A hook whose
   * filters cannot be read counts all of them as others' (the port is then left alone).
   */
  private async countPortFilters(name: string, ports: readonly string[]): Promise<Result<Map<string, number>>> {
    const counts = new Map<string, number>();
    if (ports.length === 0) return ok(counts);
    const input = `${ports.flatMap((p) => [`filter show dev ${p} ingress`, `filter show dev ${p} egress`]).join('\n')}\n`;
    const r = await this.exec.run(this.tc, ['-j', '-batch', '-'], { input, timeoutMs: this.timeoutMs });
    if (r.exitCode !== 0) {
      const line = failedBatchLine(r.stderr);
      return err(this.showFailed(name, ports, line === undefined ? undefined : Math.ceil(line / 2), r.stderr, '(filter show ingress|egress of unbound ports)'));
    }
    const docs = splitShowOutput(r.stdout, ports.length * 2, name);
    if (!docs.ok) return docs;
    for (const [i, port] of ports.entries()) {
      let foreign = 0;
      for (const [k, hook] of (['ingress', 'egress'] as const).entries()) {
        const json = docs.value[2 * i + k];
        const parsed = parseFilters(json, hook, port);
        if (parsed.ok) foreign += parsed.value.foreign;
        else {
          const all = countFilters(json, hook, port);
          if (!all.ok) return all;
          foreign += Math.max(1, all.value);
        }
      }
      counts.set(port, foreign);
    }
    return ok(counts);
  }

  /** A failed show of a block's ports: a port that does not exist is named; anything else is tc's message. */
  private showFailed(name: string, ports: readonly string[], portLine: number | undefined, stderr: string, what: string): AgentError {
    const port = portLine === undefined ? undefined : ports[portLine - 1];
    if (port !== undefined && /Cannot find device/.test(stderr)) return { code: 'hook-unavailable', netdev: name, problem: `its port ${port} does not exist (tc: ${stderr.trim().split('\n')[0]})` };
    return { code: 'tc-exec-failed', netdev: name, command: `-j -batch - ${what}`, stderr };
  }

  async apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    return (await this.applyMany([{ dev, plan }]))[0]!;
  }

  async applyMany(work: readonly PlanFor[]): Promise<Result<Applied>[]> {
    const out: Result<Applied>[] = new Array(work.length);
    const pending: (Job & { plan: Plan; lines: string[] })[] = [];
    for (const [i, { dev, plan }] of work.entries()) {
      const problem = planProblem(dev, plan);
      if (problem !== undefined) out[i] = err({ code: 'hook-unavailable', netdev: dev.name, problem: `refusing the plan: ${problem}` });
      else if (dev.block === undefined && !isValidIfname(dev.name)) out[i] = unnamable(dev.name);
      else {
        const lines = linesOrProblem(dev, plan);
        if (typeof lines === 'string') out[i] = err({ code: 'hook-unavailable', netdev: dev.name, problem: `refusing the plan: ${lines}` });
        else if (lines.length === 0) out[i] = ok(countApplied(plan));
        else pending.push({ i, name: dev.name, plan, lines });
      }
    }
    for (const chunk of chunks(pending, (j) => j.lines.length, this.batch.lines)) await this.applyChunk(chunk, out);
    return out;
  }

  /** The plans of `jobs` in one `tc -batch`; from the netdev after a failing line on, again in another. */
  private async applyChunk(jobs: readonly (Job & { plan: Plan; lines: string[] })[], out: Result<Applied>[]): Promise<void> {
    for (let rest = jobs; rest.length > 0; ) {
      const lines = rest.flatMap((j) => j.lines);
      this.log.debug({ netdevs: rest.map((j) => j.name), lines: lines.length }, 'tc batch');
      const r = await this.exec.run(this.tc, ['-batch', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: this.timeoutMs });
      const line = r.exitCode === 0 ? undefined : failedBatchLine(r.stderr);
      if (r.exitCode !== 0 && (line === undefined || line > lines.length)) {
        // what was applied is unknown: every netdev of the process is failed (and observed again on retry)
        for (const j of rest) out[j.i] = err({ code: 'tc-exec-failed', netdev: j.name, command: '-batch -', stderr: r.stderr });
        return;
      }
      let first = 1; // the batch line of rest[k]'s first line
      let k = 0;
      for (; k < rest.length && (line === undefined || line >= first + rest[k]!.lines.length); k++) {
        out[rest[k]!.i] = ok(countApplied(rest[k]!.plan));
        first += rest[k]!.lines.length;
      }
      if (line === undefined) return;
      const j = rest[k]!;
      out[j.i] = err({ code: 'tc-batch-failed', netdev: j.name, line: line - first + 1, text: j.lines[line - first]!, stderr: r.stderr });
      rest = rest.slice(k + 1);
    }
  }
}

/**
 * The plan's batch lines, or why the formatter refused it (a value that is not canonical: a
 * bug upstream, kept to that netdev instead of failing every netdev of the call).
 */
function linesOrProblem(dev: Netdev, plan: Plan): string[] | string {
  try {
    return toBatchLines(dev, plan);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** A netdev of a `*Many` call, by its index there. */
interface Job {
  readonly i: number;
  readonly name: string;
}

/** A name tc's batch reader would misread (see ifname.ts): that netdev cannot be programmed with tc. */
const unnamable = (name: string): Result<never> => err({ code: 'hook-unavailable', netdev: name, problem: `its name ${JSON.stringify(name)} cannot be written into a tc batch line` });

/** `items` in order, cut so that each chunk's weight stays within `max` (an item heavier than that alone). */
function chunks<T>(items: readonly T[], weight: (t: T) => number, max: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let w = 0;
  for (const t of items) {
    if (cur.length > 0 && w + weight(t) > max) {
      out.push(cur);
      cur = [];
      w = 0;
    }
    cur.push(t);
    w += weight(t);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
