// Reading a RuleSet the way Kubernetes means it: is this peer address allowed on this
// protocol and port? Used by the render and upstream tests so that they assert verdicts,
// not the exact shape of grants, where the shape does not matter.
import { contains, hostNet, parseCidr, parseIp } from '../../../core/model/cidr.js';
import type { L4Protocol } from '../../../core/model/k8s.js';
import type { DirectionRules, Grant, RuleSet } from '../../../core/model/rules.js';
import { buildIndex } from '../../../core/pipeline/cluster-index.js';
import { render } from '../../../core/pipeline/render.js';
import type { Cluster } from '../../../core/model/snapshot.js';
import { endpoint } from '../../fixtures/cluster-builder.js';

export function grantAllows(g: Grant, ip: string, protocol: L4Protocol, port: number): boolean {
  const a = parseIp(ip);
  if (!a) throw new Error(`bad ip ${ip}`);
  const inPeers = g.peers.some((c) => contains(parseCidr(c)!, hostNet(a.family, a.addr)));
  if (!inPeers) return false;
  if (g.ports === 'all') return true;
  return g.ports.some((p) => p.protocol === protocol && (p.start === undefined || (p.start <= port && port <= (p.end ?? p.start))));
}

/** null (open) allows everything; otherwise some grant must allow. */
export function allows(d: DirectionRules | null, ip: string, protocol: L4Protocol = 'TCP', port = 80): boolean {
  return d === null || d.grants.some((g) => grantAllows(g, ip, protocol, port));
}

/** Renders the endpoint `podKey` / `iface` on `network` of the cluster. */
export function renderOf(c: Cluster, podKey = 'ns1/target', network = 'ns1/net1', iface = 'net1'): RuleSet {
  return render(endpoint(podKey, network, iface), buildIndex(c));
}

/** Every address any grant names, sorted (to assert exactly who is a peer). */
export function peersOf(d: DirectionRules | null): string[] {
  return [...new Set((d?.grants ?? []).flatMap((g) => g.peers))].sort();
}
