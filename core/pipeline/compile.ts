// compile: a RuleSet becomes the TC program of one representor (both clsact hooks).
// Pure and deterministic. docs/tc-rule-pipeline.md explains the shape; in short:
//
//   chain 0       ARP pass -> every frame through conntrack (act_ct drops non-IP), goto VERDICT
//   VERDICT       per protocol: +est/+rel pass, ND pass, new frames to allowed addresses:
//                 pass (commit) or goto a port chain -> drop
//   port chains   allowed ports: pass (commit) -> drop
//
// An open hook whose other direction is isolated only commits new connections, so that
// replies are +est when they meet the isolated hook.
import { formatNet, parseCidr, type IpFamily } from '../model/cidr.js';
import type { DirectionRules, RuleSet } from '../model/rules.js';
import type { EthProtocol, FlowerMatch, Hook, TcAction, TcFilter } from '../model/tc.js';
import { filterIdentity } from '../model/tc.js';
import { CHAIN_PREF, ENTRY_CHAIN, ENTRY_PREF, ND_TYPES, PORT_CHAIN_FIRST, OWNED_CHAIN_LAST, VERDICT_CHAIN } from './layout.js';
import { partition, type Entry } from './partition.js';
import { portMatches, portSetKey, portSetOf, type PortMatch, type PortSet } from './port-set.js';

export type Encapsulation = 'untagged' | '802.1Q' | '802.1ad';
export const ALL_ENCAPSULATIONS: readonly Encapsulation[] = ['untagged', '802.1Q', '802.1ad'];

export interface CompileOptions {
  /** Replies through conntrack (act_ct). Without it replies need their own allow rules. */
  readonly stateful: boolean;
  readonly ctZone: number;
  readonly encapsulations: readonly Encapsulation[];
}

export const DEFAULT_COMPILE_OPTIONS: CompileOptions = { stateful: true, ctZone: 0, encapsulations: ALL_ENCAPSULATIONS };

export interface CompileDiagnostic {
  readonly id: 'too-many-port-chains';
  readonly detail: string;
}

export interface Compiled {
  readonly filters: readonly TcFilter[];
  readonly diagnostics: readonly CompileDiagnostic[];
}

/** Pod egress is enforced on the representor's ingress hook and pod ingress on its egress hook. */
export const HOOK_OF = { egress: 'ingress', ingress: 'egress' } as const satisfies Record<'ingress' | 'egress', Hook>;

export function compile(rs: RuleSet, opts: CompileOptions = DEFAULT_COMPILE_OPTIONS): Compiled {
  const filters: TcFilter[] = [];
  const diagnostics: CompileDiagnostic[] = [];
  if (rs.ingress === null && rs.egress === null) return { filters, diagnostics };
  for (const dir of ['egress', 'ingress'] as const) {
    const rules = rs[dir];
    const hook = HOOK_OF[dir];
    if (rules) filters.push(...isolatedHook(hook, rules, opts, diagnostics));
    else if (opts.stateful) filters.push(...openHook(hook, opts));
  }
  return { filters: sortFilters(dedupe(filters)), diagnostics };
}

interface Variant {
  readonly family: IpFamily;
  readonly encap: Encapsulation;
  readonly protocol: EthProtocol;
  readonly match: FlowerMatch;
  /** Pref of this protocol in the verdict and port chains. */
  readonly chainPref: number;
  /** Pref of this protocol's commit filter in an open hook. */
  readonly commitPref: number;
  /**
   * Goes through conntrack. act_ct drops double-tagged frames (the inner tag still sits
   * before the IP header; lab-verified), so QinQ is policed without state, even in a
   * stateful program: its replies need their own allow rules.
   */
  readonly tracked: boolean;
}

const inner = (f: IpFamily): 'ip' | 'ipv6' => (f === 4 ? 'ip' : 'ipv6');

function variants(opts: CompileOptions, families: readonly IpFamily[] = [4, 6]): Variant[] {
  const out: Variant[] = [];
  for (const encap of opts.encapsulations) {
    for (const family of families) {
      const t = inner(family);
      const tracked = opts.stateful;
      if (encap === 'untagged') out.push({ family, encap, protocol: t, match: {}, chainPref: CHAIN_PREF[t], commitPref: ENTRY_PREF.commit[t], tracked });
      if (encap === '802.1Q') out.push({ family, encap, protocol: '802.1Q', match: { vlanEthType: t }, chainPref: CHAIN_PREF['802.1Q'], commitPref: ENTRY_PREF.commit['802.1Q'], tracked });
      if (encap === '802.1ad') out.push({ family, encap, protocol: '802.1ad', match: { vlanEthType: '802.1Q', cvlanEthType: t }, chainPref: CHAIN_PREF['802.1ad'], commitPref: ENTRY_PREF.commit['802.1ad'], tracked: false });
    }
  }
  return out;
}


const filter = (hook: Hook, chain: number, pref: number, protocol: EthProtocol, match: FlowerMatch, actions: TcAction[]): TcFilter => ({ hook, chain, pref, protocol, match, actions });

function allowActions(opts: CompileOptions, v: Variant): TcAction[] {
  return v.tracked ? [{ kind: 'ct', zone: opts.ctZone, commit: true }, { kind: 'pass' }] : [{ kind: 'pass' }];
}

const PASS: TcAction[] = [{ kind: 'pass' }];

/** One key for +est and +rel: conntrack gives a tracked frame exactly one of new/est/rel/inv. */
export const REPLY_STATE = '+trk-new-inv';

/**
 * Entry of an isolated hook: ARP of every encapsulation passes (act_ct would drop it), then
 * every frame goes through conntrack to the verdict chain. Without conntrack, neighbour
 * discovery passes here as well.
 */
function entryFilters(hook: Hook, opts: CompileOptions): TcFilter[] {
  const out: TcFilter[] = [];
  const nd = (protocol: EthProtocol, pref: number, base: FlowerMatch): TcFilter[] =>
    ND_TYPES.map((type) => filter(hook, ENTRY_CHAIN, pref, protocol, { ...base, ipProto: 'icmpv6', icmpType: type }, PASS));
  for (const encap of opts.encapsulations) {
    if (encap === 'untagged') {
      out.push(filter(hook, ENTRY_CHAIN, ENTRY_PREF.neighbour.arp, 'arp', {}, PASS));
      if (!opts.stateful) out.push(...nd('ipv6', ENTRY_PREF.neighbour.ipv6, {}));
    }
    if (encap === '802.1Q') {
      out.push(filter(hook, ENTRY_CHAIN, ENTRY_PREF.neighbour['802.1Q'], '802.1Q', { vlanEthType: 'arp' }, PASS));
      if (!opts.stateful) out.push(...nd('802.1Q', ENTRY_PREF.neighbour['802.1Q'], { vlanEthType: 'ipv6' }));
    }
    if (encap === '802.1ad') {
      out.push(filter(hook, ENTRY_CHAIN, ENTRY_PREF.neighbour['802.1ad'], '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'arp' }, PASS));
      out.push(...nd('802.1ad', ENTRY_PREF.neighbour['802.1ad'], { vlanEthType: '802.1Q', cvlanEthType: 'ipv6' }));
      // QinQ IP skips conntrack (which would drop it) on its way to the verdict chain
      if (opts.stateful) {
        for (const t of ['ip', 'ipv6'] as const) out.push(filter(hook, ENTRY_CHAIN, ENTRY_PREF.untracked, '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: t }, [{ kind: 'goto', chain: VERDICT_CHAIN }]));
      }
    }
  }
  const dispatch: TcAction[] = opts.stateful ? [{ kind: 'ct', zone: opts.ctZone, commit: false }, { kind: 'goto', chain: VERDICT_CHAIN }] : [{ kind: 'goto', chain: VERDICT_CHAIN }];
  out.push(filter(hook, ENTRY_CHAIN, ENTRY_PREF.dispatch, 'all', {}, dispatch));
  return out;
}

/**
 * Replies and neighbour discovery in the verdict chain, inside each protocol's pref: their
 * conntrack states (established or related, and +inv for ND, which conntrack does not
 * track) never overlap the +new frames that the allow filters match.
 */
function stateFilters(hook: Hook, opts: CompileOptions): TcFilter[] {
  if (!opts.stateful) return [];
  const out: TcFilter[] = [];
  const seen = new Set<number>();
  for (const v of variants(opts).filter((x) => x.tracked)) {
    if (!seen.has(v.chainPref)) {
      seen.add(v.chainPref);
      // tracked and neither new nor invalid = established or related: replies, ICMP errors
      out.push(filter(hook, VERDICT_CHAIN, v.chainPref, v.protocol, { ctState: REPLY_STATE }, PASS));
    }
    if (v.family === 6) {
      for (const type of ND_TYPES) out.push(filter(hook, VERDICT_CHAIN, v.chainPref, v.protocol, { ...v.match, ctState: '+trk+inv', ipProto: 'icmpv6', icmpType: type }, PASS));
    }
  }
  return out;
}

function openHook(hook: Hook, opts: CompileOptions): TcFilter[] {
  return variants(opts)
    .filter((v) => v.tracked)
    .map((v) => filter(hook, ENTRY_CHAIN, v.commitPref, v.protocol, v.match, allowActions(opts, v)));
}

/** A port chain costs a hardware table per pref; it has to save this many filters per table. */
const FILTERS_PER_TABLE = 4;

function isolatedHook(hook: Hook, rules: DirectionRules, opts: CompileOptions, diagnostics: CompileDiagnostic[]): TcFilter[] {
  const out: TcFilter[] = [...entryFilters(hook, opts), ...stateFilters(hook, opts)];
  out.push(filter(hook, VERDICT_CHAIN, CHAIN_PREF.drop, 'all', {}, [{ kind: 'drop' }]));

  // Disjoint address atoms, each with the union of the ports allowed to it.
  const entries: Entry[] = rules.grants.flatMap((g) =>
    g.peers.flatMap((c) => {
      const net = parseCidr(c);
      return net ? [{ net, ports: portSetOf(g.ports) }] : [];
    }),
  );
  const atoms = [...partition(4, entries), ...partition(6, entries)];
  const addrKey = hook === 'ingress' ? 'dstIp' : 'srcIp';

  // Addresses that share a port set share a port chain when that saves enough filters.
  const groups = new Map<string, { ports: PortSet; atoms: Entry[] }>();
  for (const a of atoms) {
    const k = portSetKey(a.ports);
    const g = groups.get(k);
    if (g) g.atoms.push(a);
    else groups.set(k, { ports: a.ports, atoms: [a] });
  }
  let nextChain = PORT_CHAIN_FIRST;
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    const matches: PortMatch[] | null = g.ports === 'all' ? null : portMatches(g.ports);
    const families = [...new Set(g.atoms.map((a) => a.net.family))];
    const chainVariants = variants(opts, families);
    const atomVariants = g.atoms.reduce((n, a) => n + variants(opts, [a.net.family]).length, 0);
    let portChain: number | undefined;
    if (matches !== null) {
      const inline = atomVariants * matches.length;
      const tables = new Set(chainVariants.map((v) => v.chainPref)).size + 1;
      const factored = atomVariants + chainVariants.length * matches.length + 1;
      if (inline > factored + FILTERS_PER_TABLE * tables) {
        if (nextChain <= OWNED_CHAIN_LAST) portChain = nextChain++;
        else diagnostics.push({ id: 'too-many-port-chains', detail: `more than ${OWNED_CHAIN_LAST - PORT_CHAIN_FIRST + 1} distinct port sets on the ${hook} hook; the rest are inlined` });
      }
    }
    if (portChain !== undefined) {
      for (const v of chainVariants) {
        for (const m of matches!) out.push(filter(hook, portChain, v.chainPref, v.protocol, { ...v.match, ipProto: m.ipProto, ...(m.dstPort ? { dstPort: m.dstPort } : {}) }, allowActions(opts, v)));
      }
      out.push(filter(hook, portChain, CHAIN_PREF.drop, 'all', {}, [{ kind: 'drop' }]));
    }
    for (const atom of g.atoms) {
      const addr: FlowerMatch = atom.net.len === 0 ? {} : { [addrKey]: formatNet(atom.net) };
      for (const v of variants(opts, [atom.net.family])) {
        const base: FlowerMatch = { ...v.match, ...(v.tracked ? { ctState: '+trk+new' } : {}), ...addr };
        if (matches === null) out.push(filter(hook, VERDICT_CHAIN, v.chainPref, v.protocol, base, allowActions(opts, v)));
        else if (portChain !== undefined) out.push(filter(hook, VERDICT_CHAIN, v.chainPref, v.protocol, base, [{ kind: 'goto', chain: portChain }]));
        else for (const m of matches) out.push(filter(hook, VERDICT_CHAIN, v.chainPref, v.protocol, { ...base, ipProto: m.ipProto, ...(m.dstPort ? { dstPort: m.dstPort } : {}) }, allowActions(opts, v)));
      }
    }
  }
  return out;
}

function dedupe(filters: readonly TcFilter[]): TcFilter[] {
  const seen = new Map<string, TcFilter>();
  for (const f of filters) if (!seen.has(filterIdentity(f))) seen.set(filterIdentity(f), f);
  return [...seen.values()];
}

/** Deterministic order: hook, chain, pref, then identity. */
export function sortFilters(filters: readonly TcFilter[]): TcFilter[] {
  return [...filters].sort((a, b) => {
    if (a.hook !== b.hook) return a.hook < b.hook ? -1 : 1;
    if (a.chain !== b.chain) return a.chain - b.chain;
    if (a.pref !== b.pref) return a.pref - b.pref;
    const x = filterIdentity(a);
    const y = filterIdentity(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
