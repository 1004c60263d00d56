// The chains and priorities the agent owns on each clsact hook. Everything the agent
// installs sits in this range and nothing outside it is ever touched, so other tools can
// share a representor. docs/tc-rule-pipeline.md draws the program.
//
//   chain 0, prefs ENTRY_PREF_FIRST..ENTRY_PREF_LAST   entry: ARP, then conntrack
//   chain VERDICT_CHAIN                                replies, neighbour discovery, allowed peers
//   chains PORT_CHAIN_FIRST..OWNED_CHAIN_LAST          one per shared set of allowed ports

import type { Hook } from '../model/tc.js';

export const ENTRY_CHAIN = 0;
export const ENTRY_PREF_FIRST = 10000;
export const ENTRY_PREF_LAST = 10009;

/**
 * Entry prefs (chain 0). ARP passes first, tagged or not: the kernel's act_ct drops every
 * frame that is not IPv4/IPv6, which also makes the conntrack filter the catch-all for other
 * ethertypes. One pref holds one protocol, so each encapsulation's ARP has its own.
 * Neighbour discovery passes here too where it does not go through conntrack (stateless
 * programs, and QinQ, which act_ct cannot parse).
 */
export const ENTRY_PREF = {
  neighbour: { arp: 10000, '802.1Q': 10001, '802.1ad': 10002, ipv6: 10003 },
  /** isolated hook, stateful: QinQ IP straight to the verdict chain (act_ct drops QinQ) */
  untracked: 10004,
  /** isolated hook: every frame to conntrack (or straight) and on to the verdict chain */
  dispatch: 10005,
  /** open hook of a stateful program: commit new connections, per protocol */
  commit: { ip: 10006, ipv6: 10007, '802.1Q': 10008, '802.1ad': 10009 },
} as const;

export const VERDICT_CHAIN = 10000;
export const PORT_CHAIN_FIRST = 10001;
export const OWNED_CHAIN_LAST = 10999;

/**
 * Prefs inside the owned chains (verdict and port chains alike): one per protocol, holding
 * replies (+est/+rel), neighbour discovery and the allowed peers side by side (their
 * conntrack states are disjoint), then the catch-all drop.
 */
export const CHAIN_PREF = {
  ip: 2,
  ipv6: 3,
  '802.1Q': 4,
  '802.1ad': 5,
  drop: 9,
} as const;

/**
 * Prefs of the owned chains between the protocol prefs and the drop: one allow for a whole
 * block of addresses (a cover) whose holes, addresses that no rule allows, are dropped first in
 * the protocol's CHAIN_PREF (compile.ts, partition.ts `coverAtoms`). QinQ has no pref left
 * before the drop: its allows stay disjoint prefixes in CHAIN_PREF['802.1ad'].
 */
export const COVER_PREF = {
  ip: 6,
  ipv6: 7,
  '802.1Q': 8,
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

/**
 * The shared-block layout (compile-block.ts): one program on one ingress block bound to
 * every port of an eswitch. Same owned range; chain 0 entry prefs are reused as follows.
 *
 *   chain 0        ARP (and untracked neighbour discovery) pass, as above
 *                  BLOCK_PREF.untrackedBySource: QinQ from a pod port with isolated egress -> SOURCE_CHAIN
 *                  BLOCK_PREF.bySource: every frame from such a port -> ct -> SOURCE_CHAIN
 *                  BLOCK_PREF.unpoliced.*: IP from any other port -> ct -> DESTINATION_CHAIN
 *   SOURCE_CHAIN   pod egress, keyed by indev: allowed -> DESTINATION_CHAIN, else drop
 *   DESTINATION_CHAIN  pod ingress, keyed by the pod's addresses: allowed -> commit + pass;
 *                  other frames to an isolated pod -> drop; frames to anyone else -> commit + pass
 *   port chains    from BLOCK_PORT_CHAIN_FIRST, shared by every pod with the same port set
 */
export const SOURCE_CHAIN = VERDICT_CHAIN;
export const DESTINATION_CHAIN = 10001;
export const BLOCK_PORT_CHAIN_FIRST = 10002;

export const BLOCK_PREF = {
  untrackedBySource: ENTRY_PREF.untracked,
  bySource: ENTRY_PREF.dispatch,
  unpoliced: { ip: 10006, ipv6: 10007, '802.1Q': 10008, '802.1ad': 10009 },
  /** DESTINATION_CHAIN: after the allow prefs (CHAIN_PREF), frames to an isolated pod (by its MAC) that no rule allowed */
  isolatedDropByMac: 11,
  /** ... and by address, per protocol, whatever the MAC (broadcast and multicast frames carry unicast datagrams too) */
  isolatedDrop: { ip: 12, ipv6: 13, '802.1Q': 14, '802.1ad': 15 },
  /** DESTINATION_CHAIN: everything else is allowed (and committed, so that replies are +est) */
  rest: { ip: 22, ipv6: 23, '802.1Q': 24, '802.1ad': 25 },
} as const;

/** Ingress block indexes the agent uses: BLOCK_INDEX_BASE + a 16-bit hash of the switch id. */
export const BLOCK_INDEX_BASE = 0x6d6e0000;

/** A block index from this agent's range (a `--layout shared-block` run made it). */
export const isAgentBlock = (index: number): boolean => index >= BLOCK_INDEX_BASE && index <= BLOCK_INDEX_BASE + 0xffff;
