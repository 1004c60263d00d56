// Sets of allowed ports: the union of port entries, kept canonical so that equal sets
// compare equal by key (addresses that share a set share one port chain).
import type { L4Protocol } from '../model/k8s.js';
import type { PortSpec } from '../model/rules.js';
import type { IpProto, PortRange } from '../model/tc.js';

/** Per protocol: 'any' (every port) or sorted, disjoint, non-adjacent ranges. */
export type PortSet = 'all' | ReadonlyMap<L4Protocol, 'any' | readonly PortRange[]>;

const PROTOCOLS: readonly L4Protocol[] = ['TCP', 'UDP', 'SCTP'];

export function portSetOf(ports: 'all' | readonly PortSpec[]): PortSet {
  if (ports === 'all') return 'all';
  const m = new Map<L4Protocol, 'any' | PortRange[]>();
  for (const p of ports) {
    const cur = m.get(p.protocol);
    if (cur === 'any') continue;
    if (p.start === undefined) m.set(p.protocol, 'any');
    else m.set(p.protocol, mergeRanges([...(cur ?? []), { start: p.start, end: p.end ?? p.start }]));
  }
  return m;
}

export function unionPortSets(a: PortSet, b: PortSet): PortSet {
  if (a === 'all' || b === 'all') return 'all';
  const m = new Map<L4Protocol, 'any' | PortRange[]>();
  for (const proto of PROTOCOLS) {
    const x = a.get(proto);
    const y = b.get(proto);
    if (x === undefined && y === undefined) continue;
    if (x === 'any' || y === 'any') m.set(proto, 'any');
    else m.set(proto, mergeRanges([...(x ?? []), ...(y ?? [])]));
  }
  return m;
}

function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((p, q) => p.start - q.start || p.end - q.end);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push({ ...r });
  }
  return out;
}

export function portSetKey(s: PortSet): string {
  if (s === 'all') return 'all';
  return PROTOCOLS.filter((p) => s.has(p))
    .map((p) => {
      const v = s.get(p)!;
      return v === 'any' ? `${p}:*` : `${p}:${v.map((r) => (r.start === r.end ? `${r.start}` : `${r.start}-${r.end}`)).join(',')}`;
    })
    .join(' ');
}

export interface PortMatch {
  readonly ipProto: IpProto;
  readonly dstPort?: PortRange;
}

/** The flower matches that together express a (non-'all') port set. */
export function portMatches(s: Exclude<PortSet, 'all'>): PortMatch[] {
  const out: PortMatch[] = [];
  for (const proto of PROTOCOLS) {
    const v = s.get(proto);
    if (v === undefined) continue;
    const ipProto = proto.toLowerCase() as IpProto;
    if (v === 'any') out.push({ ipProto });
    else for (const r of v) out.push({ ipProto, dstPort: r });
  }
  return out;
}

/** Does `outer` allow every (protocol, port) that `inner` allows? */
export function portSetIncludes(outer: PortSet, inner: PortSet): boolean {
  if (outer === 'all') return true;
  if (inner === 'all') return false;
  for (const [proto, want] of inner) {
    const have = outer.get(proto);
    if (have === undefined) return false;
    if (have === 'any') continue;
    if (want === 'any') return false;
    // both canonical (sorted, disjoint, non-adjacent): each wanted range sits inside one range
    if (!want.every((r) => have.some((h) => h.start <= r.start && r.end <= h.end))) return false;
  }
  return true;
}

/** How many flower matches `portMatches` gives for a set ('all' needs none: one filter). */
export function portMatchCount(s: PortSet): number {
  if (s === 'all') return 1;
  let n = 0;
  for (const v of s.values()) n += v === 'any' ? 1 : v.length;
  return n;
}

/**
 * What `outer` allows beyond `inner` (which it includes), as a port set that together with
 * `inner` allows exactly `outer`: null when nothing is left. Where the difference cannot be
 * written as ranges ('all' minus some ports, a protocol-only entry minus ranges: port 0 and
 * ICMP have no range), that part of `outer` stays whole, which is still exact next to `inner`.
 */
export function portSetMinus(outer: PortSet, inner: PortSet): PortSet | null {
  if (inner === 'all') return null;
  if (outer === 'all') return 'all';
  const m = new Map<L4Protocol, 'any' | PortRange[]>();
  for (const proto of PROTOCOLS) {
    const have = outer.get(proto);
    if (have === undefined) continue;
    const take = inner.get(proto);
    if (take === undefined || (have === 'any' && take !== 'any')) m.set(proto, have === 'any' ? 'any' : [...have]);
    else if (take !== 'any' && have !== 'any') {
      const left = subtractRanges(have, take);
      if (left.length > 0) m.set(proto, left);
    }
  }
  return m.size === 0 ? null : m;
}

/** Sorted disjoint ranges minus sorted disjoint ranges. */
function subtractRanges(from: readonly PortRange[], minus: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const r of from) {
    let start = r.start;
    for (const x of minus) {
      if (x.end < start || x.start > r.end) continue;
      if (x.start > start) out.push({ start, end: x.start - 1 });
      start = x.end + 1;
    }
    if (start <= r.end) out.push({ start, end: r.end });
  }
  return out;
}
