// How many filters and priorities upstream's generator (reference/upstream-behaviour.md §3)
// needs for a policy, had it supported everything the policy says, per direction it
// isolates: 4 default drops (prefs 300-302); per rule, per peer address and per port, one
// filter for the address family and one for 802.1Q (prefs 200-202); a rule without peers
// becomes ports-only filters for ip, ipv6 and both 802.1Q families; every `except` CIDR is a
// drop filter pair per port (prefs 100-102); port ranges expand port by port (no endPort).
// Upstream has no ingress and no QinQ; counting them the same way is generous to it.
import type { MultiNetworkPolicy, PolicyPeer, PolicyPort } from '../core/model/k8s.js';

export interface LayoutCount {
  readonly filters: number;
  readonly prefs: number;
  /** Of `filters`, the default drops (4 per isolated direction): what any policy costs. */
  readonly fixed: number;
}

/** `peerAddresses(peer)`: how many addresses (v4, v6) a selector peer resolves to. */
export function upstreamLayout(policy: MultiNetworkPolicy, peerAddresses: (peer: PolicyPeer) => { v4: number; v6: number }): LayoutCount {
  return upstreamLayoutOf([policy], peerAddresses);
}

/**
 * Several policies on one interface: upstream merges their rules into one rule set per
 * direction, so the 4 default drops are counted once per isolated direction.
 */
export function upstreamLayoutOf(policies: readonly MultiNetworkPolicy[], peerAddresses: (peer: PolicyPeer) => { v4: number; v6: number }): LayoutCount {
  let filters = 0;
  let prefs = 0;
  let fixed = 0;
  const typesOf = (policy: MultiNetworkPolicy) => policy.spec.policyTypes ?? ['Ingress', ...(policy.spec.egress?.length ? ['Egress' as const] : [])];
  for (const type of ['Ingress', 'Egress'] as const) {
    const isolating = policies.filter((p) => typesOf(p).includes(type));
    if (isolating.length === 0) continue;
    const used = new Set([300, 301, 302]);
    filters += 4;
    fixed += 4;
    const rules = isolating.flatMap((policy) => (type === 'Ingress' ? (policy.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports })) : (policy.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }))));
    for (const r of rules) {
      const ports = portCount(r.ports);
      if (!r.peers || r.peers.length === 0) {
        filters += 4 * ports;
        [200, 201, 202].forEach((p) => used.add(p));
        continue;
      }
      for (const peer of r.peers) {
        if (peer.ipBlock) {
          const v6 = peer.ipBlock.cidr.includes(':');
          filters += 2 * ports;
          used.add(v6 ? 201 : 200).add(202);
          const ex = peer.ipBlock.except?.length ?? 0;
          filters += 2 * ex * ports;
          if (ex > 0) used.add(v6 ? 101 : 100).add(102);
        } else {
          const n = peerAddresses(peer);
          filters += 2 * (n.v4 + n.v6) * ports;
          if (n.v4) used.add(200).add(202);
          if (n.v6) used.add(201).add(202);
        }
      }
    }
    prefs += used.size;
  }
  return { filters, prefs, fixed };
}

function portCount(ports: readonly PolicyPort[] | undefined): number {
  if (!ports || ports.length === 0) return 1;
  return ports.reduce((n, p) => n + (typeof p.port === 'number' ? (p.endPort ?? p.port) - p.port + 1 : 1), 0);
}
