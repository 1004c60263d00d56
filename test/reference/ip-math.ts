// Address and CIDR handling for the reference evaluator, on byte arrays. Kept separate from
// core/tcmodel/ip.ts on purpose: the two oracles must not share code with each other or
// with the compiler.

/** 4 bytes for IPv4, 16 for IPv6; null when the text is not an address. */
export function addressBytes(text: string): number[] | null {
  if (text.includes(':')) return ipv6Bytes(text);
  return ipv4Bytes(text);
}

function ipv4Bytes(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

function groupsToBytes(text: string): number[] | null {
  if (text === '') return [];
  const bytes: number[] = [];
  const groups = text.split(':');
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i] as string;
    if (i === groups.length - 1 && group.includes('.')) {
      const v4 = ipv4Bytes(group);
      if (v4 === null) return null;
      bytes.push(...v4);
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    const value = parseInt(group, 16);
    bytes.push(value >> 8, value & 255);
  }
  return bytes;
}

function ipv6Bytes(text: string): number[] | null {
  const pieces = text.split('::');
  if (pieces.length > 2) return null;
  if (pieces.length === 1) {
    const bytes = groupsToBytes(text);
    return bytes !== null && bytes.length === 16 ? bytes : null;
  }
  const head = groupsToBytes(pieces[0] as string);
  const tail = groupsToBytes(pieces[1] as string);
  if (head === null || tail === null) return null;
  const missing = 16 - head.length - tail.length;
  if (missing < 2) return null; // `::` stands for at least one zero group
  const zeros: number[] = [];
  for (let i = 0; i < missing; i++) zeros.push(0);
  return [...head, ...zeros, ...tail];
}

export function familyOf(text: string): 'ipv4' | 'ipv6' | null {
  const bytes = addressBytes(text);
  if (bytes === null) return null;
  return bytes.length === 4 ? 'ipv4' : 'ipv6';
}

/** Is `address` inside `cidr`? False when either is malformed or the families differ. */
export function cidrHasAddress(cidr: string, address: string): boolean {
  const slash = cidr.indexOf('/');
  if (slash < 0) return false;
  const network = addressBytes(cidr.slice(0, slash));
  const bits = Number(cidr.slice(slash + 1));
  const host = addressBytes(address);
  if (network === null || host === null || network.length !== host.length) return false;
  if (!Number.isInteger(bits) || bits < 0 || bits > network.length * 8) return false;
  for (let bit = 0; bit < bits; bit++) {
    const byte = Math.floor(bit / 8);
    const mask = 0x80 >> bit % 8;
    if (((network[byte] as number) & mask) !== ((host[byte] as number) & mask)) return false;
  }
  return true;
}
