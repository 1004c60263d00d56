// Deciding a probe on a node's compiled programs: the frames of the connection go through
// the TC program model (core/tcmodel) of both ends, so a verdict here is a verdict of the
// compiled filters, not of the renderer. `explain` adds the policy-level reason.
//
// Per-port layout: each end's representor program. Shared-block layout (`switches`): the
// block of the switch where each frame enters, keyed by the port it entered through; an
// end's ports are its SwitchProgram member ports, an end on no switch enters at an uplink.
import { contains, hostNet, parseCidr, parseIp } from '../model/cidr.js';
import type { DirectionRules, Grant } from '../model/rules.js';
import type { External, Probe, Verdict } from '../model/probe.js';
import { ALL_ENCAPSULATIONS, type Encapsulation } from '../pipeline/compile.js';
import { DESTINATION_CHAIN, SOURCE_CHAIN } from '../pipeline/layout.js';
import type { EndpointProgram, NodeProgram } from '../pipeline/program-node.js';
import type { SwitchProgram } from '../pipeline/program-switch.js';
import { blockRoute, type BlockPort, type BlockSwitch } from '../tcmodel/block-route.js';
import { newConntrackTable } from '../tcmodel/conntrack.js';
import { describeModelError } from '../tcmodel/model-error.js';
import { checkNeighbourDiscoveryAlong, decideConnectionAlong, portRoute, type ConnectionDecision, type Program, type Route } from '../tcmodel/probe.js';
import { describeStep } from '../tcmodel/trace-text.js';

export interface End {
  readonly name: string;
  readonly ip: string;
  /** The interface's MAC from network-status, where a pod's entry has one. */
  readonly mac?: string;
  readonly program: EndpointProgram | undefined;
}

export interface Decision {
  readonly verdict: Verdict;
  /** Why, in one line: which policy/rule allowed, or where and why a frame was dropped. */
  readonly reason: string;
  /** Set when the program itself is wrong (ambiguous pref, neighbour discovery blocked, encapsulations disagree). */
  readonly problem?: string;
}

export function resolveEnd(np: NodeProgram, externals: readonly External[], name: string, probe: Probe): End | string {
  const wantFamily = probe.family === 'ipv4' ? 4 : 6;
  const pick = (ips: readonly string[]): string | undefined => ips.find((ip) => parseIp(ip)?.family === wantFamily);
  if (name.startsWith('external/')) {
    const ext = externals.find((e) => e.name === name.slice('external/'.length) && e.network === probe.network);
    const ip = ext && pick(ext.ips);
    return ip ? { name, ip, program: undefined } : `${name} has no ${probe.family} address on ${probe.network}`;
  }
  const pod = np.index.pods.find((p) => p.key === name);
  if (!pod) return `pod ${name} does not exist`;
  const entries = pod.statuses.filter((s) => s.name === probe.network);
  const ip = pick(entries.flatMap((s) => s.ips ?? []));
  if (!ip) return `pod ${name} has no ${probe.family} address on ${probe.network}`;
  const mac = entries.find((s) => s.ips?.includes(ip))?.mac;
  const program = np.programs.find((p) => `${p.endpoint.pod.namespace}/${p.endpoint.pod.name}` === name && p.endpoint.attachment.network === probe.network);
  return { name, ip, ...(mac !== undefined ? { mac } : {}), program };
}

const asProgram = (e: End): Program | null => (e.program && e.program.compiled.filters.length > 0 ? { filters: e.program.compiled.filters } : null);

/** One way the frames may go: per-port there is one; a pod with ports on several switches (a bond) has one per port. */
interface Way {
  readonly route: Route;
  /** Which ports the ends use, for messages ('' per-port). */
  readonly label: string;
}

const blockSwitch = (sp: SwitchProgram): BlockSwitch => ({ id: sp.eswitch.id, uplink: sp.eswitch.uplink, filters: sp.compiled.filters, at: `block ${sp.block.index}` });

/** The end's ports: the member ports of its endpoint (the one `resolveEnd` found), on every switch. */
export function portsOf(end: End, switches: readonly SwitchProgram[]): BlockPort[] {
  const key = end.program?.endpoint.key;
  if (key === undefined) return [];
  return switches.flatMap((sp) => {
    const sw = blockSwitch(sp);
    return sp.members.filter((m) => m.endpoint === key).flatMap((m) => m.ports.map((port) => ({ sw, port })));
  });
}

function ways(src: End, dst: End, switches: readonly SwitchProgram[] | undefined): Way[] {
  if (!switches) return [{ route: portRoute(asProgram(src), asProgram(dst)), label: '' }];
  // An end on no switch (outside, another node, a local pod without a program) enters at an
  // uplink: a bound port without an indev key of its own is the same thing to the block.
  const choices = (e: End): (BlockPort | null)[] => {
    const ports = portsOf(e, switches);
    return ports.length > 0 ? ports : [null];
  };
  const name = (p: BlockPort | null): string => (p === null ? 'uplink' : p.port);
  return choices(src).flatMap((a) => choices(dst).map((b) => ({ route: blockRoute(a, b), label: `${name(a)} -> ${name(b)}` })));
}

/**
 * Decides a probe through the compiled programs, once per encapsulation that every
 * programmed end polices (untagged always); all must agree. With `switches`, through the
 * shared-block programs instead of the per-port ones (every way the ends' ports allow).
 */
export function decide(np: NodeProgram, externals: readonly External[], probe: Probe, srcPort = 40000, switches?: readonly SwitchProgram[]): Decision {
  const src = resolveEnd(np, externals, probe.from, probe);
  const dst = resolveEnd(np, externals, probe.to, probe);
  if (typeof src === 'string' || typeof dst === 'string') return { verdict: 'deny', reason: 'cannot run', problem: [src, dst].filter((x) => typeof x === 'string').join('; ') };
  const policed = [src, dst].flatMap((e) => (e.program ? [e.program.options.encapsulations] : []));
  const encapsulations = ALL_ENCAPSULATIONS.filter((e) => policed.every((list) => list.includes(e)));
  const routes = ways(src, dst, switches);

  const results: { encap: Encapsulation; way: Way; d: ConnectionDecision }[] = [];
  for (const encap of encapsulations) {
    for (const way of routes) {
      const at = way.label === '' ? encap : `${encap} (${way.label})`;
      const macs = { ...(src.mac !== undefined ? { srcMac: src.mac } : {}), ...(dst.mac !== undefined ? { dstMac: dst.mac } : {}) };
      const nd = checkNeighbourDiscoveryAlong(way.route, { family: probe.family, aIp: src.ip, bIp: dst.ip, encapsulation: encap, ...(macs.srcMac ? { aMac: macs.srcMac } : {}), ...(macs.dstMac ? { bMac: macs.dstMac } : {}) }, newConntrackTable());
      if (!nd.ok) return { verdict: 'deny', reason: 'model error', problem: describeModelError(nd.error) };
      if (!nd.value.ok) return { verdict: 'deny', reason: 'neighbour discovery blocked', problem: `${at}: ARP/neighbour discovery between ${src.ip} and ${dst.ip} is dropped` };
      const conn = decideConnectionAlong(way.route, { family: probe.family, protocol: probe.protocol, srcIp: src.ip, dstIp: dst.ip, srcPort, dstPort: probe.port, encapsulation: encap, ...macs }, newConntrackTable());
      if (!conn.ok) return { verdict: 'deny', reason: 'model error', problem: describeModelError(conn.error) };
      results.push({ encap, way, d: conn.value });
    }
  }
  const first = results[0]!;
  const reason = explain(src, dst, probe, first.d);
  for (const r of results.slice(1)) {
    if (r.d.verdict === first.d.verdict) continue;
    if (r.encap === first.encap) {
      return { verdict: first.d.verdict, reason, problem: `frames ${first.way.label} get ${first.d.verdict} but frames ${r.way.label} get ${r.d.verdict}` };
    }
    // QinQ is policed without conntrack (act_ct cannot parse it), so the replies of an allowed
    // QinQ connection may be dropped where a direction is isolated: it may deny more, never allow more.
    if (r.encap === '802.1ad' && r.d.verdict === 'deny') continue;
    return { verdict: first.d.verdict, reason, problem: `${first.encap} frames get ${first.d.verdict} but ${r.encap} frames get ${r.d.verdict}` };
  }
  return { verdict: first.d.verdict, reason };
}

/** The policy chain of a block classification that dropped a frame: the last SOURCE or DESTINATION chain it went through. */
function blockChain(chains: readonly number[], sender: string, receiver: string): string {
  for (let i = chains.length - 1; i >= 0; i--) {
    if (chains[i] === SOURCE_CHAIN) return `chain SOURCE ${SOURCE_CHAIN} (pod egress of ${sender})`;
    if (chains[i] === DESTINATION_CHAIN) return `chain DESTINATION ${DESTINATION_CHAIN} (pod ingress of ${receiver})`;
  }
  return `chain ${chains[chains.length - 1] ?? 0}`;
}

function explain(src: End, dst: End, probe: Probe, d: ConnectionDecision): string {
  const out = policyReason('egress of', src, dst.ip, probe) + '; ' + policyReason('ingress of', dst, src.ip, probe);
  if (d.verdict === 'allow') return out;
  const last = d.exchange[d.exchange.length - 1];
  if (!last) return out;
  const [sender, receiver] = last.backwards ? [dst.name, src.name] : [src.name, dst.name];
  const dropped = last.delivery.hops[last.delivery.hops.length - 1];
  const step = dropped?.run.path[dropped.run.path.length - 1];
  const stepText = step ? ` (${describeStep(step)})` : '';
  if (dropped?.hop.indev !== undefined) {
    // shared block: one program for both ends; the chain tells whose policy dropped it
    const chains = dropped.run.path.map((s) => s.chain);
    return `${out}; the ${last.role} frame was dropped at ${dropped.hop.at ?? 'the block'} (entered through ${dropped.hop.indev}) in ${blockChain(chains, sender, receiver)}${stepText}`;
  }
  const where = last.delivery.droppedAt === 'source' ? sender : receiver;
  return `${out}; the ${last.role} frame was dropped at ${where}${stepText}`;
}

function policyReason(label: string, end: End, peerIp: string, probe: Probe): string {
  if (!end.program) return `${label} ${end.name}: not enforced on this node`;
  const rules: DirectionRules | null = label.startsWith('egress') ? end.program.rules.egress : end.program.rules.ingress;
  if (rules === null) return `${label} ${end.name}: open`;
  const g = matchingGrants(rules.grants, peerIp, probe);
  if (g.length > 0) return `${label} ${end.name}: allowed by ${g.map((x) => `${x.policy} rule ${x.rule}`).join(', ')}`;
  return `${label} ${end.name}: isolated by ${rules.policies.join(', ')}, no rule allows it`;
}

export function matchingGrants(grants: readonly Grant[], peerIp: string, probe: Probe): Grant[] {
  const ip = parseIp(peerIp);
  if (!ip) return [];
  const host = hostNet(ip.family, ip.addr);
  return grants.filter(
    (g) =>
      g.peers.some((c) => {
        const n = parseCidr(c);
        return n !== undefined && contains(n, host);
      }) &&
      (g.ports === 'all' || g.ports.some((p) => p.protocol === probe.protocol && (p.start === undefined || (probe.port >= p.start && probe.port <= (p.end ?? p.start))))),
  );
}
