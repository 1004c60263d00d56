// compileBlock: the program of one shared ingress block, bound to every port of an eswitch
// (uplink and VF representors). Both directions of every pod's policy are enforced on the
// ports' ingress hooks, the only ones a switchdev NIC offloads:
//
//   chain 0        ARP pass; frames from a pod port with isolated egress: ct -> SOURCE
//                  (keyed by indev); IP from any other port: ct -> DESTINATION
//   SOURCE         replies/ND pass; the pod's allowed peers (indev + dst_ip) -> DESTINATION; drop
//   DESTINATION    replies/ND pass; allowed peers of a pod with isolated ingress (dst_ip = its
//                  address + src_ip) -> commit, pass; the rest toward that pod -> drop;
//                  everything else -> commit, pass (so the replies of any connection are +est)
//
// A frame meets conntrack once, at the port where it enters the switch, in the switch's own
// zone. docs/tc-rule-pipeline.md ("Shared-block layout") draws it with a worked example.
import { formatNet, hostNet, parseIp, type IpFamily } from '../model/cidr.js';
import type { RuleSet } from '../model/rules.js';
import type { FlowerMatch, TcAction, TcFilter } from '../model/tc.js';
import {
  ALL_ENCAPSULATIONS,
  allowActions,
  dedupe,
  filter,
  grantFilters,
  neighbourFilters,
  PortChains,
  sortFilters,
  stateFilters,
  variants,
  type CompileDiagnostic,
  type CompileOptions,
  type Compiled,
  type Encapsulation,
} from './compile.js';
import { BLOCK_PORT_CHAIN_FIRST, BLOCK_PREF, CHAIN_PREF, DESTINATION_CHAIN, ENTRY_CHAIN, OWNED_CHAIN_LAST, SOURCE_CHAIN } from './layout.js';

/** One pod interface whose ports belong to the switch. */
export interface BlockMember {
  /** Endpoint key `namespace/pod/interface`. */
  readonly endpoint: string;
  /** Its representor(s) on this switch: frames entering here are the pod's own. */
  readonly ports: readonly string[];
  /** Its addresses on the network (from network-status): frames toward them are for the pod. */
  readonly addresses: readonly string[];
  /**
   * Its MAC (network-status). With it, frames are the pod's by destination MAC and address,
   * so two networks on one switch may reuse addresses; without it, by address alone.
   */
  readonly mac?: string;
  readonly rules: RuleSet;
  readonly encapsulations: readonly Encapsulation[];
}

export interface BlockOptions {
  readonly stateful: boolean;
  /** The switch's own conntrack zone. */
  readonly ctZone: number;
}

const HOOK = 'ingress';

/**
 * `members`: the pods whose ports are on this switch (their egress is enforced here, by
 * indev). `receivers`: the pods whose ingress is enforced here — every pod of the node, by
 * default the members: a frame may reach a pod of another switch without entering that
 * switch through an ingress hook (when one Linux bridge holds representors of two switches),
 * so each block also checks what is sent to the node's other pods.
 */
export function compileBlock(members: readonly BlockMember[], opts: BlockOptions, receivers: readonly BlockMember[] = members): Compiled {
  const diagnostics: CompileDiagnostic[] = [];
  if (members.every((m) => m.rules.egress === null) && receivers.every((m) => m.rules.ingress === null)) return { filters: [], diagnostics };
  // Every pod is policed in every encapsulation that any pod polices.
  const encapsulations = ALL_ENCAPSULATIONS.filter((e) => e === 'untagged' || [...members, ...receivers].some((m) => m.encapsulations.includes(e)));
  const copts: CompileOptions = { stateful: opts.stateful, ctZone: opts.ctZone, encapsulations };
  const portChains = new PortChains(BLOCK_PORT_CHAIN_FIRST, OWNED_CHAIN_LAST);
  const ct: TcAction = { kind: 'ct', zone: opts.ctZone, commit: false };
  const toChain = (chain: number, tracked: boolean): TcAction[] => (tracked && opts.stateful ? [ct, { kind: 'goto', chain }] : [{ kind: 'goto', chain }]);
  const out: TcFilter[] = neighbourFilters(HOOK, encapsulations, !opts.stateful);

  // chain 0: frames from ports of pods with isolated egress go to SOURCE, by indev
  for (const m of members) {
    if (m.rules.egress === null) continue;
    for (const port of m.ports) {
      out.push(filter(HOOK, ENTRY_CHAIN, BLOCK_PREF.bySource, 'all', { indev: port }, toChain(SOURCE_CHAIN, true)));
      // act_ct drops QinQ: it goes to SOURCE untracked, ahead of the conntrack filter
      if (opts.stateful && encapsulations.includes('802.1ad')) {
        for (const t of ['ip', 'ipv6'] as const) out.push(filter(HOOK, ENTRY_CHAIN, BLOCK_PREF.untrackedBySource, '802.1ad', { indev: port, vlanEthType: '802.1Q', cvlanEthType: t }, [{ kind: 'goto', chain: SOURCE_CHAIN }]));
      }
    }
  }
  // chain 0: IP of every encapsulation from any other port goes to DESTINATION; other
  // ethertypes from those ports pass (policies are about IP; act_ct would drop them)
  for (const v of variants({ stateful: opts.stateful, encapsulations: ALL_ENCAPSULATIONS })) {
    out.push(filter(HOOK, ENTRY_CHAIN, BLOCK_PREF.unpoliced[v.protocol as keyof typeof BLOCK_PREF.unpoliced], v.protocol, v.match, toChain(DESTINATION_CHAIN, v.tracked)));
  }

  // SOURCE: pod egress
  out.push(...stateFilters(HOOK, copts, SOURCE_CHAIN));
  for (const m of members) {
    if (m.rules.egress === null) continue;
    const own = (): FlowerMatch[] => m.ports.map((indev) => ({ indev }));
    out.push(...grantFilters(m.rules.egress, { hook: HOOK, chain: SOURCE_CHAIN, peerKey: 'dstIp', own, allow: () => [{ kind: 'goto', chain: DESTINATION_CHAIN }], tag: 'source', portChains }, copts, diagnostics));
  }
  out.push(filter(HOOK, SOURCE_CHAIN, CHAIN_PREF.drop, 'all', {}, [{ kind: 'drop' }]));

  // DESTINATION: pod ingress
  out.push(...stateFilters(HOOK, copts, DESTINATION_CHAIN));
  for (const m of receivers) {
    if (m.rules.ingress === null) continue;
    // network-status lists plain addresses; tolerate a prefix length all the same
    const addrs = m.addresses.flatMap((a) => {
      const ip = parseIp(a.split('/')[0]!);
      return ip ? [{ family: ip.family, cidr: formatNet(hostNet(ip.family, ip.addr)) }] : [];
    });
    const mac = normalMac(m.mac);
    if (addrs.length === 0) {
      // no address to allow anything to: closed by its MAC where known (fail closed)
      diagnostics.push({ id: 'ingress-without-address', detail: `${m.endpoint} has no address on its network: ${mac === undefined ? 'without a MAC either, its ingress policy cannot be enforced on a shared block' : 'every frame to its MAC is dropped'}` });
      if (mac !== undefined) out.push(filter(HOOK, DESTINATION_CHAIN, BLOCK_PREF.isolatedDropByMac, 'all', { dstMac: mac }, [{ kind: 'drop' }]));
      continue;
    }
    if (mac === undefined) diagnostics.push({ id: 'ingress-keyed-by-address', detail: `${m.endpoint} has no MAC in network-status: its ingress policy is keyed on its addresses alone, which another network on the same switch must not reuse` });
    const key = mac === undefined ? {} : { dstMac: mac };
    const own = (f: IpFamily): FlowerMatch[] => addrs.filter((a) => a.family === f).map((a) => ({ ...key, dstIp: a.cidr }));
    out.push(...grantFilters(m.rules.ingress, { hook: HOOK, chain: DESTINATION_CHAIN, peerKey: 'srcIp', own, allow: (v) => allowActions(copts, v), tag: 'destination', portChains }, copts, diagnostics));
    // Whatever no rule allowed toward this pod, in any encapsulation: by its MAC, and by its
    // addresses whatever the MAC (a unicast datagram in a broadcast or multicast frame reaches
    // the pod too; lab finding). Where another pod of the node reuses the address on another
    // network, frames to that one are denied as well: fail closed, reported below.
    if (mac !== undefined) out.push(filter(HOOK, DESTINATION_CHAIN, BLOCK_PREF.isolatedDropByMac, 'all', { dstMac: mac }, [{ kind: 'drop' }]));
    for (const a of addrs) {
      for (const v of variants({ stateful: opts.stateful, encapsulations: ALL_ENCAPSULATIONS }, [a.family])) {
        out.push(filter(HOOK, DESTINATION_CHAIN, BLOCK_PREF.isolatedDrop[v.protocol as keyof typeof BLOCK_PREF.isolatedDrop], v.protocol, { ...v.match, dstIp: a.cidr }, [{ kind: 'drop' }]));
      }
      const sharing = receivers.filter((o) => o !== m && o.addresses.some((x) => x.split('/')[0] === a.cidr.split('/')[0]));
      if (sharing.length > 0) diagnostics.push({ id: 'address-reused-on-node', detail: `${m.endpoint} and ${sharing.map((o) => o.endpoint).join(', ')} share ${a.cidr.split('/')[0]}: frames to the others are dropped where ${m.endpoint}'s ingress policy does not allow them` });
    }
  }
  for (const v of variants({ stateful: opts.stateful, encapsulations: ALL_ENCAPSULATIONS })) {
    out.push(filter(HOOK, DESTINATION_CHAIN, BLOCK_PREF.rest[v.protocol as keyof typeof BLOCK_PREF.rest], v.protocol, v.match, allowActions(copts, v)));
  }
  return { filters: sortFilters(dedupe(out)), diagnostics };
}

/** `02:00:00:00:00:0A` → `02:00:00:00:00:0a`; undefined for anything that is not a unicast MAC. */
function normalMac(mac: string | undefined): string | undefined {
  const m = mac?.trim().toLowerCase();
  if (m === undefined || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m)) return undefined;
  return (parseInt(m.slice(0, 2), 16) & 1) === 0 ? m : undefined;
}
