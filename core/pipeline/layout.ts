// The chains and priorities the agent owns on each clsact hook. Everything the agent
// installs sits in this range and nothing outside it is ever touched, so other tools can
// share a representor. docs/tc-rule-pipeline.md draws the program.
//
//   chain 0, prefs ENTRY_PREF_FIRST..ENTRY_PREF_LAST   entry: ARP/ND, conntrack, catch-all
//   chain VERDICT_CHAIN                                replies (+est/+rel), allowed peers
//   chains PORT_CHAIN_FIRST..OWNED_CHAIN_LAST          one per shared set of allowed ports

import type { Hook } from '../model/tc.js';

export const ENTRY_CHAIN = 0;
export const ENTRY_PREF_FIRST = 10000;
export const ENTRY_PREF_LAST = 10009;

/**
 * Entry prefs. Neighbour resolution (ARP, ICMPv6 NS/NA) passes first, before conntrack
 * and before any drop; then every IP frame goes through conntrack; then the catch-all.
 * One pref holds one protocol, so each encapsulation has its own.
 */
export const ENTRY_PREF = {
  neighbour: { arp: 10000, ipv6: 10001, '802.1Q': 10002, '802.1ad': 10003 },
  conntrack: { ip: 10004, ipv6: 10005, '802.1Q': 10006, '802.1ad': 10007 },
  drop: 10009,
} as const;

export const VERDICT_CHAIN = 10000;
export const PORT_CHAIN_FIRST = 10001;
export const OWNED_CHAIN_LAST = 10999;

/** Prefs inside the owned chains (verdict and port chains alike). */
export const CHAIN_PREF = {
  state: 1,
  ip: 2,
  ipv6: 3,
  '802.1Q': 4,
  '802.1ad': 5,
  drop: 9,
} as const;

/** ICMPv6 neighbour solicitation and advertisement. */
export const ND_TYPES = [135, 136] as const;

/** Is a filter at this place one of ours? */
export function isOwned(_hook: Hook, chain: number, pref: number): boolean {
  if (chain === ENTRY_CHAIN) return pref >= ENTRY_PREF_FIRST && pref <= ENTRY_PREF_LAST;
  return chain >= VERDICT_CHAIN && chain <= OWNED_CHAIN_LAST;
}

/** Default conntrack zone: one zone keeps the state of a connection that crosses two hooks. */
export const DEFAULT_CT_ZONE = 0;
