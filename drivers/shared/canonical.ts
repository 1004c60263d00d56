// The one spelling of each value that drivers write and read back, so a filter read from the
// kernel compares equal to the one `compile` built. Addresses use core/model/cidr.ts, the
// formatter compile itself uses.
import { canonicalCidr } from '../../core/model/cidr.js';
import { CT_FLAGS, type CtFlag, type EthProtocol } from '../../core/model/tc.js';

export { canonicalCidr };

/**
 * `+trk+new-est` in any flag order → set flags first, then cleared ones, each group in
 * CT_FLAGS order (the CtState convention). Undefined for an unknown flag, a repeated flag,
 * or anything that is not `(+|-)flag` repeated.
 */
export function canonicalCtState(text: string): string | undefined {
  const set: CtFlag[] = [];
  const cleared: CtFlag[] = [];
  let rest = text;
  if (rest === '') return undefined;
  while (rest !== '') {
    const m = /^([+-])([a-z]+)/.exec(rest);
    if (!m) return undefined;
    const flag = m[2] as CtFlag;
    if (!CT_FLAGS.includes(flag) || set.includes(flag) || cleared.includes(flag)) return undefined;
    (m[1] === '+' ? set : cleared).push(flag);
    rest = rest.slice(m[0].length);
  }
  const order = (a: CtFlag, b: CtFlag): number => CT_FLAGS.indexOf(a) - CT_FLAGS.indexOf(b);
  return [...set.sort(order).map((f) => `+${f}`), ...cleared.sort(order).map((f) => `-${f}`)].join('');
}

const PROTOCOLS: readonly EthProtocol[] = ['all', 'ip', 'ipv6', 'arp', '802.1Q', '802.1ad'];

/** tc's protocol names, case-insensitively (`802.1q` → `802.1Q`); undefined for others (`LLDP`, `0x88cc`). */
export function canonicalProtocol(text: string): EthProtocol | undefined {
  const lower = text.toLowerCase();
  return PROTOCOLS.find((p) => p.toLowerCase() === lower);
}
