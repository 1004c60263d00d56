// Strict IP and CIDR parsing as Kubernetes (Go net.ParseIP / ParseCIDR) accepts them: dotted
// quads without leading zeros, RFC 4291 IPv6 text (an embedded IPv4 tail allowed), no zone.
// node:net isIP is not used because it accepts zones (`fe80::1%eth0`).

export type IpFamily = 4 | 6;

export interface ParsedIp {
  readonly family: IpFamily;
  readonly value: bigint;
}

export interface ParsedCidr {
  readonly family: IpFamily;
  /** The network address (host bits cleared). */
  readonly network: bigint;
  readonly prefix: number;
}

const V4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const V6_GROUP = /^[0-9A-Fa-f]{1,4}$/;

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!V4_OCTET.test(p) || Number(p) > 255) return undefined;
    value = (value << 8n) | BigInt(p);
  }
  return value;
}

/** The 16-bit groups of one side of `::`; an IPv4 tail counts as two groups. */
function v6Groups(text: string, allowV4Tail: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const out: number[] = [];
  for (const [i, g] of parts.entries()) {
    if (allowV4Tail && i === parts.length - 1 && g.includes('.')) {
      const v4 = parseV4(g);
      if (v4 === undefined) return undefined;
      out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (V6_GROUP.test(g)) {
      out.push(parseInt(g, 16));
    } else {
      return undefined;
    }
  }
  return out;
}

function parseV6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const [head = '', tail] = halves;
  let groups: number[];
  if (tail === undefined) {
    const all = v6Groups(head, true);
    if (all === undefined || all.length !== 8) return undefined;
    groups = all;
  } else {
    const h = v6Groups(head, false);
    const t = v6Groups(tail, true);
    if (h === undefined || t === undefined || h.length + t.length > 7) return undefined;
    groups = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** A plain IP address (no prefix, no zone), or undefined. */
export function parseIp(text: string): ParsedIp | undefined {
  if (text.includes(':')) {
    const value = parseV6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseV4(text);
  return value === undefined ? undefined : { family: 4, value };
}

export const bitsOf = (family: IpFamily): number => (family === 4 ? 32 : 128);

const maskOf = (family: IpFamily, prefix: number): bigint => {
  const bits = BigInt(bitsOf(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
};

/** `address/prefix-length`, host bits allowed (they are cleared in `network`). */
export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const len = text.slice(slash + 1);
  if (ip === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(len)) return undefined;
  const prefix = Number(len);
  if (prefix > bitsOf(ip.family)) return undefined;
  return { family: ip.family, network: ip.value & maskOf(ip.family, prefix), prefix };
}

/** True when `inner` is a strict subset of `outer` (same family, longer prefix, inside). */
export function cidrStrictlyInside(inner: ParsedCidr, outer: ParsedCidr): boolean {
  return (
    inner.family === outer.family &&
    inner.prefix > outer.prefix &&
    (inner.network & maskOf(outer.family, outer.prefix)) === outer.network
  );
}
