// Deciding a probe on a node's compiled programs: the frames of the connection go through
// the TC program model (core/tcmodel) of both ends, so a verdict here is a verdict of the
// compiled filters, not of the renderer. `explain` adds the policy-level reason.
import { contains, hostNet, parseCidr, parseIp } from '../model/cidr.js';
import type { DirectionRules, Grant } from '../model/rules.js';
import type { External, Probe, Verdict } from '../model/probe.js';
import { ALL_ENCAPSULATIONS, type Encapsulation } from '../pipeline/compile.js';
import type { EndpointProgram, NodeProgram } from '../pipeline/program-node.js';
import { newConntrackTable } from '../tcmodel/conntrack.js';
import { describeModelError } from '../tcmodel/model-error.js';
import { checkNeighbourDiscovery, decideConnection, type ConnectionDecision, type Program } from '../tcmodel/probe.js';
import { describeStep } from '../tcmodel/trace-text.js';

export interface End {
  readonly name: string;
  readonly ip: string;
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
  const ips = pod.statuses.filter((s) => s.name === probe.network).flatMap((s) => s.ips ?? []);
  const ip = pick(ips);
  if (!ip) return `pod ${name} has no ${probe.family} address on ${probe.network}`;
  const program = np.programs.find((p) => `${p.endpoint.pod.namespace}/${p.endpoint.pod.name}` === name && p.endpoint.attachment.network === probe.network);
  return { name, ip, program };
}

const asProgram = (e: End): Program | null => (e.program && e.program.compiled.filters.length > 0 ? { filters: e.program.compiled.filters } : null);

/**
 * Decides a probe through the compiled programs, once per encapsulation that every
 * programmed end polices (untagged always); all must agree.
 */
export function decide(np: NodeProgram, externals: readonly External[], probe: Probe, srcPort = 40000): Decision {
  const src = resolveEnd(np, externals, probe.from, probe);
  const dst = resolveEnd(np, externals, probe.to, probe);
  if (typeof src === 'string' || typeof dst === 'string') return { verdict: 'deny', reason: 'cannot run', problem: [src, dst].filter((x) => typeof x === 'string').join('; ') };
  const policed = [src, dst].flatMap((e) => (e.program ? [e.program.options.encapsulations] : []));
  const encapsulations = ALL_ENCAPSULATIONS.filter((e) => policed.every((list) => list.includes(e)));

  const results: { encap: Encapsulation; d: ConnectionDecision }[] = [];
  for (const encap of encapsulations) {
    const nd = checkNeighbourDiscovery(asProgram(src), asProgram(dst), { family: probe.family, aIp: src.ip, bIp: dst.ip, encapsulation: encap }, newConntrackTable());
    if (!nd.ok) return { verdict: 'deny', reason: 'model error', problem: describeModelError(nd.error) };
    if (!nd.value.ok) return { verdict: 'deny', reason: 'neighbour discovery blocked', problem: `${encap}: ARP/neighbour discovery between ${src.ip} and ${dst.ip} is dropped` };
    const conn = decideConnection(asProgram(src), asProgram(dst), { family: probe.family, protocol: probe.protocol, srcIp: src.ip, dstIp: dst.ip, srcPort, dstPort: probe.port, encapsulation: encap }, newConntrackTable());
    if (!conn.ok) return { verdict: 'deny', reason: 'model error', problem: describeModelError(conn.error) };
    results.push({ encap, d: conn.value });
  }
  const first = results[0]!;
  const reason = explain(src, dst, probe, first.d);
  for (const r of results.slice(1)) {
    if (r.d.verdict === first.d.verdict) continue;
    // QinQ is policed without conntrack (act_ct cannot parse it), so the replies of an allowed
    // QinQ connection may be dropped where a direction is isolated: it may deny more, never allow more.
    if (r.encap === '802.1ad' && r.d.verdict === 'deny') continue;
    return { verdict: first.d.verdict, reason, problem: `${first.encap} frames get ${first.d.verdict} but ${r.encap} frames get ${r.d.verdict}` };
  }
  return { verdict: first.d.verdict, reason };
}

function explain(src: End, dst: End, probe: Probe, d: ConnectionDecision): string {
  const out = policyReason('egress of', src, dst.ip, probe) + '; ' + policyReason('ingress of', dst, src.ip, probe);
  if (d.verdict === 'allow') return out;
  const last = d.exchange[d.exchange.length - 1];
  if (!last) return out;
  const hook = last.delivery.droppedAt === 'source' ? last.delivery.source : last.delivery.destination;
  const where = last.delivery.droppedAt === 'source' ? (last.backwards ? dst.name : src.name) : last.backwards ? src.name : dst.name;
  const step = hook?.path[hook.path.length - 1];
  return `${out}; the ${last.role} frame was dropped at ${where}${step ? ` (${describeStep(step)})` : ''}`;
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
