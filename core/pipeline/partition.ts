// Turns overlapping (network, port set) grants into disjoint networks, each carrying the
// union of the port sets that cover it. Disjoint networks can share one flower pref in any
// order, and the union is what Kubernetes means by "allowed" (no deny rules, ever).
import { bitsOf, compareNet, contains, halves, wholeFamily, type IpFamily, type Net } from '../model/cidr.js';
import { portSetIncludes, portSetKey, portSetMinus, unionPortSets, type PortSet } from './port-set.js';

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

// --- covers: one allow for a block, with drops for its holes ------------------------------
//
// Disjoint atoms are exact but not always few: 10.17.0.0/16 minus 10.17.0.0/24 is 8 prefixes.
// A two-level layout says the same with fewer: first (one pref) the holes inside a block,
// which no grant allows (drop), next to what atoms allow beyond the block; then (a later pref)
// one allow for the whole block. An address gets: dropped if in a hole, else the ports of its
// first-level entry and of its cover. That equals the atoms exactly when every address of a
// cover either has no grant (a hole) or is allowed at least the cover's ports.

export interface CoverLayout {
  /** First level: allowing atoms (inside a cover or not). Disjoint from each other and from the holes. */
  readonly first: readonly Entry[];
  /**
   * First level, inside a cover: atoms narrowed to what they allow beyond their cover. A frame
   * they do not match must fall through to the cover, so they never go through a port chain
   * (which ends in a drop). Disjoint from `first` and the holes.
   */
  readonly narrowed: readonly Entry[];
  /** First level: addresses inside a cover that nothing allows. */
  readonly holes: readonly Net[];
  /** Second level: disjoint blocks, each allowed its port set. */
  readonly covers: readonly Entry[];
  /** In the caller's units: `unit(ports)` per allow (first, narrowed, covers), 1 per hole. */
  readonly cost: number;
}

/**
 * The cheapest two-level layout of disjoint atoms of one family (sorted, as `partition`
 * returns them), over the binary trie of the atoms. A cover of port set S on a trie node N
 * costs unit(S), one hole per maximal empty block of N, and, at the first level, what the
 * atoms of N allow beyond S; it needs every atom of N to allow at least S. Covers do not
 * nest (they share one pref). Without a cover that saves something, `first` is the atoms.
 */
export function coverAtoms(atoms: readonly Entry[], unit: (ports: PortSet) => number): CoverLayout {
  const n = atoms.length;
  const units = atoms.map((a) => unit(a.ports));
  const sumUnits = [0];
  for (const u of units) sumUnits.push(sumUnits[sumUnits.length - 1]! + u);
  const plain: CoverLayout = { first: atoms, narrowed: [], holes: [], covers: [], cost: sumUnits[n]! };
  if (n < 2) return plain;
  const bits = bitsOf(atoms[0]!.net.family);
  // A cover of c atoms saves at most (c - 1) * unit and must drop one hole per gap between
  // them: with one filter per allow and no two atoms adjacent, nothing can be saved.
  const adjacent = atoms.some((a, i) => i > 0 && atoms[i - 1]!.net.addr + (1n << BigInt(bits - atoms[i - 1]!.net.len)) === a.net.addr);
  if (!adjacent && units.every((u) => u === 1)) return plain;
  const keys = atoms.map((a) => portSetKey(a.ports));
  // port sets as small numbers, in key order (ties between equal covers go to the first)
  const distinct = [...new Set(keys)].sort();
  const idOf = new Map(distinct.map((k, i) => [k, i]));
  const ids = keys.map((k) => idOf.get(k)!);
  const firstWith = new Map<string, PortSet>();
  atoms.forEach((a, i) => firstWith.has(keys[i]!) || firstWith.set(keys[i]!, a.ports));
  const setOf = distinct.map((k) => firstWith.get(k)!);
  const unitOf = setOf.map(unit);
  const seen = new Int32Array(distinct.length);
  for (const id of ids) seen[id]!++;
  // a cover replaces at least two atoms with its port set
  const repeated = distinct.map((_, id) => seen[id]! >= 2);
  if (!repeated.includes(true)) return plain;
  if (!adjacent && unitOf.every((u, id) => !repeated[id] || u === 1)) return plain;

  /** What atom i needs at the first level inside a cover of port set `id`: null if nothing. */
  const beyond = (i: number, id: number): PortSet | null => (ids[i] === id ? null : portSetMinus(atoms[i]!.ports, setOf[id]!));
  /** Cost of the atoms[lo..hi) at the first level inside a cover of `id`; Infinity if one allows less than the cover. */
  const inside = (id: number, lo: number, hi: number): number => {
    let c = 0;
    for (let i = lo; i < hi; i++) {
      if (ids[i] === id) continue;
      if (!portSetIncludes(atoms[i]!.ports, setOf[id]!)) return Infinity;
      const rest = beyond(i, id);
      if (rest !== null) c += unit(rest);
    }
    return c;
  };
  const count = new Int32Array(distinct.length);
  /** The smallest prefix holding atoms[lo..hi). */
  const span = (lo: number, hi: number): Net => {
    const a = atoms[lo]!.net;
    if (hi - lo === 1) return a;
    const b = atoms[hi - 1]!.net;
    const len = Math.min(bits - bitLength(a.addr ^ b.addr), a.len, b.len);
    return { family: a.family, addr: a.addr & maskOf(bits, len), len };
  };
  /** First atom in [lo, hi) in the upper half of `node`. */
  const split = (lo: number, hi: number, node: Net): number => {
    const upper = halves(node)[1].addr;
    let l = lo;
    let h = hi;
    while (l < h) {
      const m = (l + h) >> 1;
      if (atoms[m]!.net.addr < upper) l = m + 1;
      else h = m;
    }
    return l;
  };

  interface Best {
    /** Empty blocks of the span of the atoms (what a cover there must drop). */
    readonly holes: number;
    readonly cost: number;
    /** The port set of a cover here, if one is cheapest. */
    readonly cover: number | null;
  }
  const best = new Map<number, Best>();
  const solve = (lo: number, hi: number): Best => {
    if (hi - lo === 1) return { holes: 0, cost: units[lo]!, cover: null };
    const m = span(lo, hi);
    const mid = split(lo, hi, m);
    const [l, r] = halves(m);
    const left = solve(lo, mid);
    const right = solve(mid, hi);
    const holes = span(lo, mid).len - l.len + left.holes + (span(mid, hi).len - r.len) + right.holes;
    let b: Best = { holes, cost: left.cost + right.cost, cover: null };
    // the port sets here, cheapest cover first
    const here: number[] = [];
    for (let i = lo; i < hi; i++) {
      const id = ids[i]!;
      if (repeated[id] && count[id]!++ === 0) here.push(id);
    }
    // at least one filter for each atom of another port set: a bound to skip hopeless covers
    const covers = here
      .filter((id) => count[id]! >= 2)
      .map((id) => ({ id, bound: unitOf[id]! + holes + (hi - lo - count[id]!) }))
      .sort((x, y) => x.bound - y.bound || x.id - y.id);
    for (const id of here) count[id] = 0;
    for (const c of covers) {
      if (c.bound >= b.cost) break;
      const cost = unitOf[c.id]! + holes + inside(c.id, lo, hi);
      if (cost < b.cost) b = { holes, cost, cover: c.id };
    }
    best.set(lo * (n + 1) + hi, b);
    return b;
  };
  const total = solve(0, n).cost;
  if (total >= plain.cost) return plain;

  const first: Entry[] = [];
  const narrowed: Entry[] = [];
  const holes: Net[] = [];
  const covers: Entry[] = [];
  // inside a cover of port set `id`: the empty blocks of `node` are holes, atoms with other port sets stay first
  const underCover = (lo: number, hi: number, node: Net, id: number): void => {
    const m = span(lo, hi); // never empty: `node` is a span or one of its halves
    for (let len = node.len; len < m.len; len++) {
      const bit = 1n << BigInt(bits - len - 1);
      holes.push({ family: m.family, addr: (m.addr & maskOf(bits, len + 1)) ^ bit, len: len + 1 });
    }
    if (hi - lo === 1) {
      const rest = beyond(lo, id);
      if (rest !== null) (portSetKey(rest) === keys[lo] ? first : narrowed).push({ net: atoms[lo]!.net, ports: rest });
      return;
    }
    const mid = split(lo, hi, m);
    const [l, r] = halves(m);
    underCover(lo, mid, l, id);
    underCover(mid, hi, r, id);
  };
  const build = (lo: number, hi: number): void => {
    if (hi - lo === 1) {
      first.push(atoms[lo]!);
      return;
    }
    const m = span(lo, hi);
    const mid = split(lo, hi, m);
    const { cover } = best.get(lo * (n + 1) + hi)!;
    if (cover === null) {
      build(lo, mid);
      build(mid, hi);
      return;
    }
    covers.push({ net: m, ports: setOf[cover]! });
    underCover(lo, hi, m, cover);
  };
  build(0, n);
  return { first, narrowed, holes: holes.sort(compareNet), covers, cost: total };
}

const maskOf = (bits: number, len: number): bigint => (len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(bits - len));

function bitLength(x: bigint): number {
  let n = 0;
  while (x >= 0x100000000n) {
    x >>= 32n;
    n += 32;
  }
  return n + 32 - Math.clz32(Number(x));
}
