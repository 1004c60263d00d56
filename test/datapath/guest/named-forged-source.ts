// A pod cannot escape its own egress policy by forging a source. scenarios/forged-source.yaml:
// the attacker may only reach its friend; the victim's egress is open and the target admits
// the victim. After the case's own probes (the victim reaches the target; the attacker does
// not), the attacker takes (a) the victim's addresses — added to its interface, the probe
// binds to them — and then (b) the victim's MAC as well, and repeats each of the victim's
// allowed probes from its own namespace. Every one must be denied, with the request never
// reaching the listener. The drop counters where the attacker's egress policy is enforced are
// reported: SOURCE (chain 10000) of the shared block — its frames still enter through their own
// port (`indev`) — or the attacker's representor ingress hook in the per-port layout.
//
// (c) The destination forged: friend (open egress, not admitted by the target) sends to the
// target's addresses in frames to the broadcast MAC (a permanent neighbour entry ff:ff:…):
// the switch floods them to every port and the target's kernel takes a unicast UDP datagram
// from a broadcast frame, so the target's ingress policy must catch it by address, not by
// its MAC. Denied, the request never arriving, in both layouts.
//
// The victim is probed before the forging only: once the attacker answers ARP/ND for the
// victim's addresses (and then uses its MAC), the target's neighbour entries and the bridge's
// FDB point at the attacker, and the victim's own replies would be stolen by the lab, not the policy.
import { join } from 'node:path';
import { DESTINATION_CHAIN, SOURCE_CHAIN } from '../../../core/pipeline/layout.js';
import type { CaseProbe } from '../../../core/conformance/case.js';
import type { TopologyPlan } from '../topology.js';
import { blockFilters, ownProgram } from './block-checks.js';
import { CaseRun, runProbes } from './case-run.js';
import type { Ctx } from './context.js';
import { dropPackets, ipBatch, run, tcFilters, type TcJsonFilter } from './sh.js';

const SUITE = 'forged-source';
const NET = 'default/forge-net';

export async function forgedSource(ctx: Ctx): Promise<void> {
  const file = join(ctx.repo, 'test/datapath/scenarios/forged-source.yaml');
  const cr = await CaseRun.load(ctx, file, SUITE);
  if (!cr) return;
  try {
    await ctx.engine.ctFlush();
    if (!(await cr.build())) return;
    if (!(await cr.program(true, 'initial pass'))) return;
    ctx.info(SUITE, `layout ${ctx.layout}`);

    // 0. the policy as written (decision-level compared by the host)
    const base = await cr.probes(cr.c.probes, null);
    const victimProbes = cr.c.probes.filter((p) => p.from === 'forge/victim');
    const victimOut = base.filter((o) => o.from === 'forge/victim');
    ctx.check(SUITE, `the impersonated pod (open egress) is allowed every probe the attacker will forge (${victimOut.filter((o) => o.got === 'allow').length}/${victimOut.length})`, victimOut.length > 0 && victimOut.every((o) => o.got === 'allow'), victimOut.filter((o) => o.got !== 'allow').map((o) => `${o.protocol}/${o.port} ${o.family}: ${o.got}`).join('; '));

    const attacker = cr.plan.ends.get(`forge/attacker ${NET}`)!;
    const victim = cr.plan.ends.get(`forge/victim ${NET}`)!;
    const victimAddrs = cr.plan.namespaces.find((n) => n.name === victim.ns)!.addrs[victim.dev] ?? [];
    const attackerAddrs = cr.plan.namespaces.find((n) => n.name === attacker.ns)!.addrs[attacker.dev] ?? [];
    const attackerRep = cr.plan.namespaces.find((n) => n.name === attacker.ns)!.links[0]!.host;
    // the attacker's end with the victim's addresses: probes from it bind to them
    const forgedPlan: TopologyPlan = { ...cr.plan, ends: new Map(cr.plan.ends).set(`forge/attacker ${NET}`, { ...attacker, ips: victim.ips }) };
    const forged: CaseProbe[] = victimProbes.map((p) => ({ ...p, from: 'forge/attacker', expect: 'deny' }));
    const drops0 = await egressDrops(ctx, cr, attackerRep);

    // (a) the victim's addresses on the attacker's interface
    await ipBatch(victimAddrs.map((a) => `addr add ${a} dev ${attacker.dev}${a.includes(':') ? ' nodad' : ''}`), attacker.ns);
    await verdicts(ctx, file, forgedPlan, forged, 1, 'forged source address');

    // (b) and the victim's MAC (a veth takes a new address while down; IPv6 addresses go with it)
    const mac = await macOf(victim.ns, victim.dev);
    await ipBatch([`link set dev ${attacker.dev} down`, `link set dev ${attacker.dev} address ${mac}`, `link set dev ${attacker.dev} up`], attacker.ns);
    await ipBatch([...attackerAddrs, ...victimAddrs].map((a) => `addr replace ${a} dev ${attacker.dev}${a.includes(':') ? ' nodad' : ''}`), attacker.ns);
    const now = await macOf(attacker.ns, attacker.dev);
    if (ctx.check(SUITE, `the attacker now sends with the victim's MAC ${mac}`, now === mac, `attacker's MAC is ${now}`)) {
      await verdicts(ctx, file, forgedPlan, forged, 2, 'forged source address and MAC');
    }

    // evidence, not a verdict: the counters also count anything else the attacker sent (MLD after the link flap)
    const drops1 = await egressDrops(ctx, cr, attackerRep);
    ctx.info(SUITE, `drops where the attacker's egress policy is enforced (${drops1.where}): ${drops0.n} before forging, ${drops1.n} after (a) and (b)`);
    if (drops1.other !== undefined) ctx.info(SUITE, `drops at DESTINATION (chain 10001): ${drops0.other ?? 0} before forging, ${drops1.other} after`);

    // (c) to the target's addresses, in frames to the broadcast MAC
    const friend = cr.plan.ends.get(`forge/friend ${NET}`)!;
    const target = cr.plan.ends.get(`forge/target ${NET}`)!;
    await ipBatch(target.ips.map((ip) => `neigh replace ${ip} lladdr ff:ff:ff:ff:ff:ff dev ${friend.dev} nud permanent`), friend.ns);
    const toTarget = cr.c.probes.filter((p) => p.from === 'forge/friend' && p.to === 'forge/target');
    const block = cr.agent.blocks()[0]?.block;
    const before = block ? await blockFilters(block.index) : [];
    const bcast = await runProbes(ctx, SUITE, file, cr.plan, toTarget, 3);
    if (block) ctx.info(SUITE, `forged destination MAC: block ${block.index} filters that counted the frames: ${counted(before, await blockFilters(block.index)).join('; ') || 'none'}`);
    for (const o of bcast) ctx.check(SUITE, `forged destination MAC: friend -> target ${o.protocol}/${o.port} ${o.family} in a frame to ff:ff:ff:ff:ff:ff is denied, the request never arrives`, o.pass, `got ${o.got}: ${o.detail}`);
    if (ctx.layout === 'shared-block') await harnessSees(ctx, attackerRep);
    await cr.cleanup();
  } finally {
    await cr.teardown();
  }
}

async function verdicts(ctx: Ctx, file: string, plan: TopologyPlan, probes: readonly CaseProbe[], step: number, what: string): Promise<void> {
  const out = await runProbes(ctx, SUITE, file, plan, probes, step);
  for (const o of out) {
    const src = plan.ends.get(`forge/attacker ${NET}`)!.ips.find((ip) => ip.includes(':') === (o.family === 'ipv6'));
    ctx.check(SUITE, `${what}: attacker as ${src} -> target ${o.protocol}/${o.port} ${o.family} is denied, the request never arrives`, o.pass, `got ${o.got}: ${o.detail}`);
  }
}

async function macOf(ns: string, dev: string): Promise<string> {
  const j = JSON.parse(await run('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev])) as { address?: string }[];
  return j[0]?.address ?? '?';
}

/** Packets dropped where the attacker's egress policy sits (and, on a block, at DESTINATION). */
async function egressDrops(ctx: Ctx, cr: CaseRun, rep: string): Promise<{ n: number; where: string; other?: number }> {
  if (ctx.layout === 'per-port') return { n: dropPackets(await tcFilters(rep, 'ingress')), where: `ingress hook of ${rep}` };
  const block = cr.agent.blocks()[0]?.block;
  if (!block) return { n: 0, where: 'no shared block was programmed' };
  const fs = await blockFilters(block.index);
  return { n: dropPackets(fs.filter((f) => f.chain === SOURCE_CHAIN)), where: `block ${block.index} chain ${SOURCE_CHAIN} (SOURCE)`, other: dropPackets(fs.filter((f) => f.chain === DESTINATION_CHAIN)) };
}

/** Filters whose packet counter grew between two reads of a block (the path the frames took). */
function counted(before: readonly TcJsonFilter[], after: readonly TcJsonFilter[]): string[] {
  const key = (f: TcJsonFilter): string => `chain ${f.chain ?? 0} pref ${f.pref} ${f.protocol} handle ${f.options?.handle}`;
  const pkts = (f: TcJsonFilter): number => f.options?.actions?.[0]?.stats?.packets ?? 0;
  const was = new Map(before.map((f) => [key(f), pkts(f)]));
  return after
    .filter((f) => pkts(f) > (was.get(key(f)) ?? 0))
    .map((f) => `${key(f)} ${JSON.stringify(f.options?.keys ?? {})} ${f.options?.actions?.map((a) => a.kind).join('+')} +${pkts(f) - (was.get(key(f)) ?? 0)}`);
}

/** The post-pass check of the shared-block layout sees a per-port program on a bound representor. */
async function harnessSees(ctx: Ctx, rep: string): Promise<void> {
  const clean = await ownProgram(rep);
  await run('tc', ['filter', 'add', 'dev', rep, 'egress', 'pref', '1', 'protocol', 'ip', 'flower', 'action', 'pass']);
  const seen = await ownProgram(rep);
  await run('tc', ['filter', 'del', 'dev', rep, 'egress', 'pref', '1']);
  ctx.check(SUITE, `harness: the "no per-port program" check sees one filter put on the egress hook of the bound representor ${rep}`, clean === undefined && seen !== undefined && (await ownProgram(rep)) === undefined, `before: ${clean ?? 'none'}; with it: ${seen ?? 'none'}`);
}
