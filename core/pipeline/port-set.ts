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
