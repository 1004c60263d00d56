// Address and CIDR arithmetic for the TC model, on BigInt so IPv4 and IPv6 share one code
// path. Written here (not imported) so the model stays independent of the compiler it checks.

export type IpFamily = 'ipv4' | 'ipv6';

export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: IpFamily;
  readonly network: bigint;
  readonly prefix: number;
}

const WIDTH: Record<IpFamily, number> = { ipv4: 32, ipv6: 128 };

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

/** Groups of one side of `::` (or of a full address); an embedded IPv4 tail counts as two. */
function ipv6Groups(text: string): bigint[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: bigint[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === null) return null;
      groups.push(v4 >> 16n, v4 & 0xffffn);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
      groups.push(BigInt(parseInt(part, 16)));
    }
  }
  return groups;
}

function parseIpv6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  let groups: bigint[];
  if (halves.length === 2) {
    const head = ipv6Groups(halves[0] ?? '');
    const tail = ipv6Groups(halves[1] ?? '');
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<bigint>(8 - head.length - tail.length).fill(0n), ...tail];
  } else {
    const all = ipv6Groups(text);
    if (all === null || all.length !== 8) return null;
    groups = all;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | g;
  return value;
}

export function parseIp(text: string): IpAddress | null {
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === null ? null : { family: 'ipv6', value };
  }
  const value = parseIpv4(text);
  return value === null ? null : { family: 'ipv4', value };
}

function hostMask(family: IpFamily, prefix: number): bigint {
  return (1n << BigInt(WIDTH[family] - prefix)) - 1n;
}

/** `addr/len`; host bits are cleared, so `10.1.2.3/16` reads as `10.1.0.0/16`. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addr = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (addr === null) return null;
  let prefix = WIDTH[addr.family];
  if (slash >= 0) {
    const len = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(len)) return null;
    prefix = Number(len);
    if (prefix > WIDTH[addr.family]) return null;
  }
  return { family: addr.family, network: addr.value & ~hostMask(addr.family, prefix), prefix };
}

export function cidrContainsAddress(cidr: Cidr, addr: IpAddress): boolean {
  if (cidr.family !== addr.family) return false;
  return (addr.value & ~hostMask(cidr.family, cidr.prefix)) === cidr.network;
}

/** False for unparseable text and for a family mismatch (flower never matches across families). */
export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const a = parseIp(ip);
  return c !== null && a !== null && cidrContainsAddress(c, a);
}

/** One spelling per address, for use as a map key. */
export function canonicalIp(addr: IpAddress): string {
  return `${addr.family}:${addr.value.toString(16)}`;
}

/** Uncompressed text form (`fe80:0:0:0:...`), valid input for parseIp. */
export function formatIp(addr: IpAddress): string {
  if (addr.family === 'ipv4') {
    const bytes: number[] = [];
    for (let shift = 24n; shift >= 0n; shift -= 8n) bytes.push(Number((addr.value >> shift) & 0xffn));
    return bytes.join('.');
  }
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((addr.value >> shift) & 0xffffn).toString(16));
  return groups.join(':');
}

/** ff02::1:ffXX:XXXX, where an IPv6 neighbour solicitation for `target` is sent. */
export function solicitedNodeAddress(target: IpAddress): IpAddress {
  const base = parseIpv6('ff02::1:ff00:0') ?? 0n;
  return { family: 'ipv6', value: base | (target.value & 0xffffffn) };
}

/** The Ethernet address of an IPv6 multicast group: 33:33 and the group's last 32 bits (RFC 2464). */
export function ipv6MulticastMac(group: IpAddress): string {
  const bytes: string[] = [];
  for (let shift = 24n; shift >= 0n; shift -= 8n) bytes.push(Number((group.value >> shift) & 0xffn).toString(16).padStart(2, '0'));
  return ['33', '33', ...bytes].join(':');
}
