// IP address and CIDR arithmetic on bigints, for both families. Pure; used by validation,
// rendering (except subtraction) and compiling (address partitions).
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface Net {
  readonly family: IpFamily;
  /** Network address (host bits cleared). */
  readonly addr: bigint;
  readonly len: number;
}

export const bitsOf = (f: IpFamily): number => (f === 4 ? 32 : 128);

export function parseIp(s: string): { family: IpFamily; addr: bigint } | undefined {
  if (isIPv4(s)) {
    const addr = s.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    return { family: 4, addr };
  }
  if (isIPv6(s)) return parseIPv6(s);
  return undefined;
}

function parseIPv6(s: string): { family: 6; addr: bigint } | undefined {
  let text = s.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) return undefined;
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIp(tail);
    if (!v4 || v4.family !== 4) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4.addr >> 16n).toString(16)}:${(v4.addr & 0xffffn).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right];
  if (groups.length !== 8) return undefined;
  let addr = 0n;
  for (const g of groups) addr = (addr << 16n) | BigInt(parseInt(g, 16));
  return { family: 6, addr };
}

export function formatIp(family: IpFamily, addr: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 0xffn)).join('.');
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((addr >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on a tie
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const maskOf = (f: IpFamily, len: number): bigint => {
  const bits = BigInt(bitsOf(f));
  return len === 0 ? 0n : (((1n << BigInt(len)) - 1n) << (bits - BigInt(len)));
};

/** Parses `a.b.c.d/n`, `x::/n`, or a bare address (a host route). Host bits are cleared. */
export function parseCidr(s: string): Net | undefined {
  const slash = s.indexOf('/');
  const ip = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!ip) return undefined;
  const bits = bitsOf(ip.family);
  let len = bits;
  if (slash >= 0) {
    const t = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(t)) return undefined;
    len = Number(t);
    if (len > bits) return undefined;
  }
  return { family: ip.family, addr: ip.addr & maskOf(ip.family, len), len };
}

export const formatNet = (n: Net): string => `${formatIp(n.family, n.addr)}/${n.len}`;

/** Canonical CIDR text, or undefined when `s` is not an address or CIDR. */
export const canonicalCidr = (s: string): string | undefined => {
  const n = parseCidr(s);
  return n && formatNet(n);
};

export const hostNet = (family: IpFamily, addr: bigint): Net => ({ family, addr, len: bitsOf(family) });

export const contains = (outer: Net, inner: Net): boolean =>
  outer.family === inner.family && outer.len <= inner.len && (inner.addr & maskOf(outer.family, outer.len)) === outer.addr;

export const overlaps = (a: Net, b: Net): boolean => contains(a, b) || contains(b, a);

export function halves(n: Net): [Net, Net] {
  const bit = 1n << BigInt(bitsOf(n.family) - n.len - 1);
  return [
    { family: n.family, addr: n.addr, len: n.len + 1 },
    { family: n.family, addr: n.addr | bit, len: n.len + 1 },
  ];
}

export const wholeFamily = (family: IpFamily): Net => ({ family, addr: 0n, len: 0 });

/** `net` minus every network in `holes`, as the fewest disjoint CIDRs. */
export function subtract(net: Net, holes: readonly Net[]): Net[] {
  const relevant = holes.filter((h) => overlaps(net, h));
  if (relevant.length === 0) return [net];
  if (relevant.some((h) => contains(h, net))) return [];
  const [a, b] = halves(net);
  return [...subtract(a, relevant), ...subtract(b, relevant)];
}

export function compareNet(a: Net, b: Net): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.addr !== b.addr) return a.addr < b.addr ? -1 : 1;
  return a.len - b.len;
}
