// The dry-run TC driver: no host access. It keeps each netdev's TC state in memory, applies
// plans to it with the kernel's rules (fake-kernel.ts), and records every plan with the
// `tc -batch` lines the cmdline driver would have run, so `render` can print them and tests
// can converge observe → diff → apply → observe without a kernel.
import { inject, injectable, optional } from 'inversify';
import { Logger } from '../../core/api/ports.js';
import { err, ok, type Result } from '../../core/api/result.js';
import type { TcDriver } from '../../core/api/tc-driver.js';
import type { Netdev } from '../../core/model/attachment.js';
import type { Applied, Plan } from '../../core/model/plan.js';
import type { Hook, ObservedTc, QdiscKind, TcFilter } from '../../core/model/tc.js';
import { countApplied } from '../shared/applied.js';
import { toBatchLines } from '../tc-cmdline/batch.js';
import { assertIfname } from '../tc-cmdline/ifname.js';
import { EMPTY_STATE, execOp, observeState, type KernelFilter, type KernelState } from './fake-kernel.js';

export interface DryRunRecord {
  readonly netdev: string;
  readonly plan: Plan;
  /** The plan as `tc -batch` input, one line per op. */
  readonly lines: readonly string[];
  readonly result: Result<Applied>;
}

/** A filter of some other tool: only its place and kind matter. */
export interface ForeignFilter {
  readonly hook: Hook;
  readonly chain: number;
  readonly pref: number;
  readonly protocol: string;
  readonly kind: string;
}

export interface Seed {
  readonly qdisc: QdiscKind | null;
  /** Flower filters anywhere (outside the owned range they count as foreign); handles are kept or assigned. */
  readonly filters?: readonly TcFilter[];
  readonly foreign?: readonly ForeignFilter[];
}

@injectable()
export class DryRunTcDriver implements TcDriver {
  readonly name = 'dry-run';
  /** Every apply, in call order. */
  readonly history: DryRunRecord[] = [];
  private readonly devices = new Map<string, KernelState>();
  private readonly log: Logger | undefined;

  constructor(@inject(Logger) @optional() root?: Logger) {
    this.log = root?.child({ component: 'driver', driver: 'dry-run' });
  }

  /** Replaces a netdev's state, as if other tools (or an earlier agent) had programmed it. */
  seed(netdev: string, seed: Seed): void {
    let filters: KernelFilter[] = [];
    const nextHandle = (hook: Hook, chain: number, pref: number): number =>
      1 + Math.max(0, ...filters.filter((k) => k.hook === hook && k.chain === chain && k.pref === pref).map((k) => k.handle));
    for (const f of seed.foreign ?? []) filters = [...filters, { ...f, handle: nextHandle(f.hook, f.chain, f.pref) }];
    for (const f of seed.filters ?? []) {
      const handle = f.handle ?? nextHandle(f.hook, f.chain, f.pref);
      filters = [...filters, { hook: f.hook, chain: f.chain, pref: f.pref, protocol: f.protocol, kind: 'flower', handle, flower: { ...f, handle } }];
    }
    this.devices.set(assertIfname(netdev), { qdisc: seed.qdisc, filters });
  }

  /** The raw state of a netdev (foreign filters included). */
  state(netdev: string): KernelState {
    return this.devices.get(netdev) ?? EMPTY_STATE;
  }

  async observe(dev: Netdev): Promise<Result<ObservedTc>> {
    return ok(observeState(this.state(assertIfname(dev.name))));
  }

  async apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    const lines = toBatchLines(dev, plan);
    let state = this.state(dev.name);
    let result: Result<Applied> = ok(countApplied(plan));
    for (const [i, op] of plan.ops.entries()) {
      const r = execOp(state, op);
      if (!r.ok) {
        // like `tc -batch` without -force: the lines before stay applied, the rest never run
        const line = i + 1;
        result = err({ code: 'tc-batch-failed', netdev: dev.name, line, text: lines[i] ?? '', stderr: `${r.message}\nWe have an error talking to the kernel\nCommand failed -:${line}\n` });
        break;
      }
      state = r.state;
    }
    this.devices.set(dev.name, state);
    this.history.push({ netdev: dev.name, plan, lines, result });
    this.log?.debug({ netdev: dev.name, lines: lines.length, ok: result.ok }, 'dry-run plan recorded');
    return result;
  }
}
