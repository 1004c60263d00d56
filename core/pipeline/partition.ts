// Turns overlapping (network, port set) grants into disjoint networks, each carrying the
// union of the port sets that cover it. Disjoint networks can share one flower pref in any
// order, and the union is what Kubernetes means by "allowed" (no deny rules, ever).
import { compareNet, contains, halves, wholeFamily, type IpFamily, type Net } from '../model/cidr.js';
import { portSetKey, unionPortSets, type PortSet } from './port-set.js';

export interface Entry {
  readonly net: Net;
  readonly ports: PortSet;
}

export function partition(family: IpFamily, entries: readonly Entry[]): Entry[] {
  const mine = entries.filter((e) => e.net.family === family);
  if (mine.length === 0) return [];
  const root = wholeFamily(family);
  const atRoot = mine.filter((e) => e.net.len === 0);
  const inherited = atRoot.reduce<PortSet | null>((acc, e) => (acc ? unionPortSets(acc, e.ports) : e.ports), null);
  return walk(root, inherited, mine.filter((e) => e.net.len > 0)).sort((a, b) => compareNet(a.net, b.net));
}

function walk(node: Net, inherited: PortSet | null, deeper: readonly Entry[]): Entry[] {
  if (inherited === 'all') {
    // nothing below can widen 'all'
    return [{ net: node, ports: 'all' }];
  }
  if (deeper.length === 0) return inherited ? [{ net: node, ports: inherited }] : [];
  const out: Entry[][] = [];
  for (const half of halves(node)) {
    const inside = deeper.filter((e) => contains(half, e.net));
    const exact = inside.filter((e) => e.net.len === half.len);
    const eff = exact.reduce<PortSet | null>((acc, e) => (acc ? unionPortSets(acc, e.ports) : e.ports), inherited);
    out.push(walk(half, eff, inside.filter((e) => e.net.len > half.len)));
  }
  const [left, right] = out as [Entry[], Entry[]];
  // both halves whole and alike: one prefix instead of two (CIDR aggregation)
  if (left.length === 1 && right.length === 1 && left[0]!.net.len === node.len + 1 && right[0]!.net.len === node.len + 1 && portSetKey(left[0]!.ports) === portSetKey(right[0]!.ports)) {
    return [{ net: node, ports: left[0]!.ports }];
  }
  return [...left, ...right];
}
