// What hardware can hold of each layout, shown on netdevsim with the lab's fake offload (it
// accepts any flower rule a port's ingress block hands it, and — like mlx5 — binds no
// callback to a representor's egress hook). scenarios/offload.yaml runs on three VFs in
// switchdev mode, their representors found from PCI addresses through sysfs.
//
//  1. The plans the agent's reconciler makes on a clean host, per layout (a capturing driver).
//  2. Shared block: the PF port and every VF representor (a VF no pod uses too) are bound to
//     the block, and EVERY filter of the block program is added with `skip_sw` (the cmdline
//     driver's batch lines, ` skip_sw` after `flower`): all accepted, each `in_hw` with
//     in_hw_count = the bound ports; the agent's driver reads the program back unchanged.
//  3. Per-port: the same case's programs on the representors, every filter with `skip_sw`:
//     the ingress-hook filters (pod egress policy) are accepted and in_hw; the egress-hook
//     filters (pod ingress policy) are refused — and accepted without `skip_sw`, in software
//     only (`not_in_hw`), so the refusal is the offload's, not the rule's.
import { join } from 'node:path';
import { describeError } from '../../../core/api/errors.js';
import { loadCaseFile } from '../../../core/conformance/load-case.js';
import type { Netdev } from '../../../core/model/attachment.js';
import type { Plan, PlanOp } from '../../../core/model/plan.js';
import type { Cluster } from '../../../core/model/snapshot.js';
import { diff } from '../../../core/pipeline/diff.js';
import { toBatchOpLines } from '../../../drivers/tc-cmdline/batch.js';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';
import { layoutOptions, type LabLayout } from '../lab-layout.js';
import { blockFilters } from './block-checks.js';
import { CaptureDriver } from './capture-driver.js';
import type { Ctx } from './context.js';
import { describeFailure, LabAgent, wireAgent } from './lab-agent.js';
import { createSwitchdev, withPciOnly, type Switchdev } from './netdevsim.js';
import { exec, tcFilters, type TcJsonFilter } from './sh.js';

const SUITE = 'offload';
/** Ends in 0 (see netdevsim.ts); not the switchdev test's 40. */
const ID = 50;
const VFS = 3;

export async function offload(ctx: Ctx): Promise<void> {
  const loaded = await loadCaseFile(join(ctx.repo, 'test/datapath/scenarios/offload.yaml'));
  if (!ctx.check(SUITE, 'scenario loads', loaded.ok, loaded.ok ? '' : describeError(loaded.error)) || !loaded.ok) return;
  const dev = await createSwitchdev(ctx, SUITE, ID, VFS);
  if (!dev) return;
  try {
    const cluster = withPciOnly(loaded.value.cluster, Object.fromEntries(dev.vfPci.map((pci, i) => [`off/vf${i}`, pci])));
    const node = loaded.value.node;
    const block = await plans(ctx, dev, cluster, node, 'shared-block');
    const perPort = await plans(ctx, dev, cluster, node, 'per-port');
    if (block) await sharedBlock(ctx, dev, block);
    if (perPort) await perPortHooks(ctx, perPort);
  } finally {
    await dev.remove();
  }
}

interface Planned {
  readonly target: Netdev;
  readonly plan: Plan;
}

/** The reconciler's plans for `layout` on a clean host (nothing installed). */
async function plans(ctx: Ctx, dev: Switchdev, cluster: Cluster, node: string, layout: LabLayout): Promise<Planned[] | undefined> {
  const wiring = await wireAgent(ctx.tcDriver, new NodeSysfs(dev.sysfsRoot), layoutOptions(layout));
  const capture = new CaptureDriver();
  const agent = new LabAgent({ ...wiring, driver: capture }, node);
  try {
    const pass = await agent.apply(cluster, true);
    const filters = capture.plans.reduce((n, p) => n + p.plan.ops.filter((o) => o.op === 'add').length, 0);
    const ok = ctx.check(SUITE, `${layout}: the agent plans the case on the netdevsim representors found by PCI address`, pass.failures.length === 0 && capture.plans.length > 0, pass.failures.map(describeFailure).join('; ') || `${capture.plans.length} targets`);
    ctx.info(SUITE, `${layout}: ${capture.plans.length} target(s) (${capture.plans.map((p) => p.target.name).join(', ')}), ${filters} filters`);
    return ok ? capture.plans : undefined;
  } finally {
    await agent.stop();
  }
}

const skipSw = (line: string): string => line.replace(' flower ', ' flower skip_sw ');

interface Added {
  readonly op: PlanOp;
  readonly line: string;
  readonly ok: boolean;
  readonly error: string;
}

/** Runs each line of each op on its own (a refused filter must not hide the next). */
async function install(target: Netdev, plan: Plan, flags: (op: PlanOp, line: string) => string): Promise<Added[]> {
  const out: Added[] = [];
  const lines = toBatchOpLines(target, plan);
  for (const [i, op] of plan.ops.entries()) {
    for (const raw of lines[i]!) {
      const line = flags(op, raw);
      const r = await exec.run('tc', line.split(' '));
      out.push({ op, line, ok: r.exitCode === 0, error: r.stderr.trim().split('\n')[0] ?? '' });
    }
  }
  return out;
}

async function sharedBlock(ctx: Ctx, dev: Switchdev, planned: readonly Planned[]): Promise<void> {
  const blocks = planned.filter((p) => p.target.block !== undefined);
  if (!ctx.check(SUITE, 'shared-block: one block for the switch', blocks.length === 1 && planned.length === 1, planned.map((p) => p.target.name).join(', '))) return;
  const { target, plan } = blocks[0]!;
  const b = target.block!;
  const switchPorts = dev.netdevs.map((n) => n.d).sort();
  ctx.check(SUITE, `shared-block: the block's ports are every port of the switch: the PF port ${dev.uplink} and all ${VFS} VF representors (a VF no pod uses included)`, JSON.stringify([...b.ports].sort()) === JSON.stringify(switchPorts), `block ports ${b.ports.join(', ')}; switch ${switchPorts.join(', ')}`);
  try {
    const added = await install(target, plan, (op, line) => (op.op === 'add' ? skipSw(line) : line));
    const binds = added.filter((a) => a.op.op === 'bind');
    const filters = added.filter((a) => a.op.op === 'add');
    ctx.check(SUITE, `shared-block: every port is bound to block ${b.index} (${binds.filter((a) => a.ok).length}/${b.ports.length})`, binds.length === b.ports.length && binds.every((a) => a.ok), binds.filter((a) => !a.ok).map((a) => `${a.line}: ${a.error}`).join('; '));
    const refused = filters.filter((a) => !a.ok);
    ctx.check(SUITE, `shared-block: every filter of the block program is accepted with skip_sw (${filters.length - refused.length}/${filters.length})`, filters.length > 0 && refused.length === 0, refused.slice(0, 5).map((a) => `${a.line}: ${a.error}`).join('; '));

    const shown = await blockFilters(b.index);
    const inHw = shown.filter((f) => f.options?.in_hw === true);
    const counts = [...new Set(shown.map((f) => f.options?.in_hw_count))];
    ctx.check(SUITE, `shared-block: every filter is in_hw with in_hw_count ${b.ports.length} (the bound ports) and skip_sw`, shown.length === filters.length && shown.every((f) => f.options?.in_hw === true && f.options.in_hw_count === b.ports.length && f.options.skip_sw === true), `${shown.length} filters shown, ${inHw.length} in_hw, in_hw_count ${counts.join('/')}`);
    ctx.info(SUITE, `shared-block: block ${b.index} on ${b.ports.length} ports (${b.ports.join(', ')}): ${filters.length} filters added with skip_sw, ${filters.length - refused.length} accepted, ${inHw.length} in_hw (in_hw_count ${counts.join('/')}), ${tables(shown)}`);

    // the agent adopts the skip_sw program as its own: nothing to change, every filter in_hw
    const o = await ctx.wiring.driver.observe(target);
    if (o.ok) {
      const want = plan.ops.flatMap((op) => (op.op === 'add' ? [op.filter] : []));
      const d = diff(want, o.value);
      ctx.check(SUITE, `shared-block: the ${ctx.tcDriver} driver reads the skip_sw block back as the compiled program, every filter in_hw`, d.plan.ops.length === 0 && o.value.filters.length === want.length && o.value.filters.every((f) => f.inHw === true), `${d.plan.ops.length} ops still to apply (${[...new Set(d.plan.ops.map((x) => x.op))].join(', ')}), ${o.value.filters.filter((f) => f.inHw === true).length}/${o.value.filters.length} in_hw`);
    } else ctx.check(SUITE, `shared-block: the ${ctx.tcDriver} driver observes the block`, false, describeError(o.error));
  } finally {
    for (const p of b.ports) await exec.run('tc', ['qdisc', 'del', 'dev', p, 'clsact']);
  }
}

async function perPortHooks(ctx: Ctx, planned: readonly Planned[]): Promise<void> {
  let ingress = { n: 0, ok: 0, hw: 0 };
  let egress = { n: 0, refused: 0, soft: 0, notInHw: 0 };
  const errors = new Set<string>();
  const devs = planned.map((p) => p.target.name);
  try {
    for (const { target, plan } of planned) {
      const added = await install(target, plan, (op, line) => (op.op === 'add' ? skipSw(line) : line));
      const hookOf = (a: Added): string | undefined => (a.op.op === 'add' ? a.op.filter.hook : undefined);
      const ing = added.filter((a) => hookOf(a) === 'ingress');
      const eg = added.filter((a) => hookOf(a) === 'egress');
      for (const a of eg) if (!a.ok) errors.add(a.error);
      // control: the refused egress-hook filters without skip_sw
      const soft = [];
      for (const a of eg.filter((x) => !x.ok)) soft.push((await exec.run('tc', a.line.replace(' flower skip_sw ', ' flower ').split(' '))).exitCode === 0);
      const hwIn = (await tcFilters(target.name, 'ingress')).filter((f) => f.options?.in_hw === true).length;
      const egShown = await tcFilters(target.name, 'egress');
      const r = { ingress: { n: ing.length, ok: ing.filter((a) => a.ok).length, hw: hwIn }, egress: { n: eg.length, refused: eg.filter((a) => !a.ok).length, soft: soft.filter(Boolean).length, notInHw: egShown.filter((f) => f.options?.not_in_hw === true).length } };
      ctx.info(SUITE, `per-port ${target.name}: ingress hook ${r.ingress.ok}/${r.ingress.n} accepted with skip_sw, ${r.ingress.hw} in_hw; egress hook ${r.egress.refused}/${r.egress.n} refused with skip_sw, ${r.egress.soft} accepted without it (${r.egress.notInHw} not_in_hw)`);
      ingress = { n: ingress.n + r.ingress.n, ok: ingress.ok + r.ingress.ok, hw: ingress.hw + r.ingress.hw };
      egress = { n: egress.n + r.egress.n, refused: egress.refused + r.egress.refused, soft: egress.soft + r.egress.soft, notInHw: egress.notInHw + r.egress.notInHw };
    }
    ctx.check(SUITE, `per-port: every ingress-hook filter (pod egress policy) is accepted with skip_sw and in_hw (${ingress.ok}/${ingress.n} accepted, ${ingress.hw} in_hw)`, ingress.n > 0 && ingress.ok === ingress.n && ingress.hw === ingress.n, '');
    ctx.check(SUITE, `per-port: every egress-hook filter (pod ingress policy) is refused with skip_sw (${egress.refused}/${egress.n})`, egress.n > 0 && egress.refused === egress.n, `accepted: ${egress.n - egress.refused}`);
    ctx.check(SUITE, `per-port: the same egress-hook filters are accepted without skip_sw, in software only (${egress.soft}/${egress.refused} accepted, ${egress.notInHw} not_in_hw)`, egress.soft === egress.refused && egress.notInHw === egress.soft, '');
    ctx.info(SUITE, `per-port: ${ingress.n + egress.n} filters on ${devs.length} representors: ${ingress.ok} ingress-hook filters in hardware, ${egress.refused} egress-hook filters refused by it (${[...errors].join(' | ') || 'no error text'})`);
  } finally {
    for (const d of devs) await exec.run('tc', ['qdisc', 'del', 'dev', d, 'clsact']);
  }
}

/** "N chains, M chain/pref pairs" of a filter list. */
function tables(fs: readonly TcJsonFilter[]): string {
  const chains = new Set(fs.map((f) => f.chain ?? 0));
  const pairs = new Set(fs.map((f) => `${f.chain ?? 0}/${f.pref}`));
  return `${chains.size} chains, ${pairs.size} chain/pref pairs`;
}
