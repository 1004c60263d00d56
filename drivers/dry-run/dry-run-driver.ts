// The dry-run TC driver: no host access. It keeps each netdev's TC state (and each shared
// block's filters) in memory and applies plans to it with the kernel's rules (fake-kernel.ts,
// fake-block.ts), so tests can converge observe → diff → apply → observe without a kernel.
// Constructed directly (tests) it also records every plan with the `tc -batch` lines the
// cmdline driver would have run; the agent's binding (index.ts) turns that off. Every netdev
// exists, with no qdisc, until seeded or unplugged.
import { inject, injectable, optional } from 'inversify';
import { Logger } from '../../core/api/ports.js';
import { err, ok, type Result } from '../../core/api/result.js';
import type { TcDriver } from '../../core/api/tc-driver.js';
import type { Netdev } from '../../core/model/attachment.js';
import type { Applied, Plan } from '../../core/model/plan.js';
import type { Hook, ObservedTc, QdiscKind, TcFilter } from '../../core/model/tc.js';
import { countApplied } from '../shared/applied.js';
import { isBlockIndex, planProblem } from '../shared/block-target.js';
import { toBatchOpLines } from '../tc-cmdline/batch.js';
import { assertIfname } from '../tc-cmdline/ifname.js';
import { dropUnusedBlocks, execBlockOp, observeBlockState, type Host } from './fake-block.js';
import { EMPTY_STATE, execOp, observeState, type KernelFilter, type KernelState } from './fake-kernel.js';

export interface DryRunRecord {
  /** The target's name: a netdev, or `block:<index>`. */
  readonly netdev: string;
  readonly plan: Plan;
  /** The plan as `tc -batch` input (one line per op; two for a replacing bind). */
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
  /** The qdisc's `ingress_block`: the netdev's ingress hook is that block (seed its filters with seedBlock). */
  readonly ingressBlock?: number;
  /** Flower filters anywhere (outside the owned range they count as foreign); handles are kept or assigned. */
  readonly filters?: readonly TcFilter[];
  readonly foreign?: readonly ForeignFilter[];
}

const BLOCK_NAME = /^block:(\d+)$/;

@injectable()
export class DryRunTcDriver implements TcDriver {
  readonly name = 'dry-run';
  /** Every apply, in call order, while `recording`. */
  readonly history: DryRunRecord[] = [];
  /**
   * Whether apply() appends to `history`. Off in the agent (index.ts): nothing there reads
   * it, and it would keep every plan and its tc lines for the life of the process (~8 MB
   * after the first pass at 50 000 pods, docs/performance.md "Agent memory").
   */
  recording = true;
  private host: Host = { devices: new Map(), blocks: new Map(), missing: new Set() };
  private readonly log: Logger | undefined;

  constructor(@inject(Logger) @optional() root?: Logger) {
    this.log = root?.child({ component: 'driver', driver: 'dry-run' });
  }

  /** Replaces a netdev's state, as if other tools (or an earlier agent) had programmed it. */
  seed(netdev: string, seed: Seed): void {
    const state: KernelState = { qdisc: seed.qdisc, ...(seed.ingressBlock === undefined ? {} : { ingressBlock: seed.ingressBlock }), filters: kernelFilters(seed) };
    const devices = new Map(this.host.devices).set(assertIfname(netdev), state);
    const missing = new Set(this.host.missing);
    missing.delete(netdev);
    this.host = { ...this.host, devices, missing };
  }

  /** Replaces a shared block's filters (hook `ingress`); the block lives while some seeded qdisc uses it. */
  seedBlock(index: number, seed: Omit<Seed, 'qdisc' | 'ingressBlock'>): void {
    const filters = kernelFilters({ qdisc: 'clsact', filters: (seed.filters ?? []).map((f) => ({ ...f, hook: 'ingress' })), foreign: (seed.foreign ?? []).map((f) => ({ ...f, hook: 'ingress' })) });
    this.host = { ...this.host, blocks: new Map(this.host.blocks).set(index, filters) };
  }

  /** The netdev no longer exists (a later seed brings it back). */
  unplug(netdev: string): void {
    const devices = new Map(this.host.devices);
    devices.delete(netdev);
    this.host = dropUnusedBlocks({ ...this.host, devices, missing: new Set(this.host.missing).add(netdev) });
  }

  /**
   * The raw state of a netdev (foreign filters included; a bound port lists its own egress
   * filters only). For `block:<index>`, the block's filters, with qdisc 'clsact' while it exists.
   */
  state(netdev: string): KernelState {
    const b = BLOCK_NAME.exec(netdev);
    if (b) {
      const index = Number(b[1]);
      const used = [...this.host.devices.values()].some((s) => s.qdisc !== null && s.ingressBlock === index);
      return used ? { qdisc: 'clsact', filters: this.host.blocks.get(index) ?? [] } : EMPTY_STATE;
    }
    return this.host.devices.get(netdev) ?? EMPTY_STATE;
  }

  async observe(dev: Netdev): Promise<Result<ObservedTc>> {
    if (dev.block !== undefined) {
      if (!isBlockIndex(dev.block.index)) throw new Error(`not a block index: ${dev.block.index}`);
      dev.block.ports.forEach(assertIfname);
      return observeBlockState(this.host, dev.name, dev.block);
    }
    const name = assertIfname(dev.name);
    if (this.host.missing.has(name)) return err({ code: 'tc-exec-failed', netdev: name, command: '-j -batch - (qdisc show, filter show ingress|egress)', stderr: `Cannot find device "${name}"\nCommand failed -:1\n` });
    const s = this.state(name);
    return ok(observeState(s, s.ingressBlock === undefined ? [] : this.state(`block:${s.ingressBlock}`).filters));
  }

  async apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    const problem = planProblem(dev, plan);
    if (problem !== undefined) {
      const result: Result<Applied> = err({ code: 'hook-unavailable', netdev: dev.name, problem: `refusing the plan: ${problem}` });
      if (this.recording) this.history.push({ netdev: dev.name, plan, lines: [], result });
      return result;
    }
    const opLines = toBatchOpLines(dev, plan);
    const lines = opLines.flat();
    const run = dev.block !== undefined ? this.runBlock(dev.block.index, plan) : this.runNetdev(dev.name, plan);
    let result: Result<Applied> = ok(countApplied(plan));
    if (run.failed !== undefined) {
      // like `tc -batch` without -force: the lines before stay applied, the rest never run
      const { op, line, message } = run.failed;
      const at = opLines.slice(0, op).flat().length + line + 1;
      result = err({ code: 'tc-batch-failed', netdev: dev.name, line: at, text: lines[at - 1] ?? '', stderr: `${message}\nWe have an error talking to the kernel\nCommand failed -:${at}\n` });
    }
    this.host = run.host;
    if (this.recording) this.history.push({ netdev: dev.name, plan, lines, result });
    this.log?.debug({ netdev: dev.name, lines: lines.length, ok: result.ok }, 'dry-run plan recorded');
    return result;
  }

  private runBlock(index: number, plan: Plan): Run {
    let host = this.host;
    for (const [op, planOp] of plan.ops.entries()) {
      const r = execBlockOp(host, index, planOp);
      if (!r.ok) return { host, failed: { op, line: r.line, message: r.message } };
      host = r.host;
    }
    return { host };
  }

  private runNetdev(name: string, plan: Plan): Run {
    const missing = this.host.missing.has(name);
    let state = this.host.devices.get(name) ?? EMPTY_STATE;
    let failed: Run['failed'];
    for (const [op, planOp] of plan.ops.entries()) {
      const r = missing ? { ok: false as const, message: `Cannot find device "${name}"` } : execOp(state, planOp);
      if (!r.ok) {
        failed = { op, line: 0, message: r.message };
        break;
      }
      state = r.state;
    }
    if (missing) return { host: this.host, ...(failed ? { failed } : {}) };
    // deleting a bound port's clsact may free its block
    const host = dropUnusedBlocks({ ...this.host, devices: new Map(this.host.devices).set(name, state) });
    return { host, ...(failed ? { failed } : {}) };
  }
}

/** The host after a plan, and where it stopped: op index, 0-based line within the op's lines, tc's message. */
interface Run {
  readonly host: Host;
  readonly failed?: { readonly op: number; readonly line: number; readonly message: string };
}

/** Seeded filters as the kernel holds them: foreign ones first, handles kept or the next free one in the pref. */
function kernelFilters(seed: Seed): KernelFilter[] {
  let filters: KernelFilter[] = [];
  const nextHandle = (hook: Hook, chain: number, pref: number): number =>
    1 + Math.max(0, ...filters.filter((k) => k.hook === hook && k.chain === chain && k.pref === pref).map((k) => k.handle));
  for (const f of seed.foreign ?? []) filters = [...filters, { ...f, handle: nextHandle(f.hook, f.chain, f.pref) }];
  for (const f of seed.filters ?? []) {
    const handle = f.handle ?? nextHandle(f.hook, f.chain, f.pref);
    filters = [...filters, { hook: f.hook, chain: f.chain, pref: f.pref, protocol: f.protocol, kind: 'flower', handle, flower: { ...f, handle } }];
  }
  return filters;
}
