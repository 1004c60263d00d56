// compile: a RuleSet becomes the TC program of one representor (both clsact hooks).
// Pure and deterministic. docs/tc-rule-pipeline.md explains the shape; in short:
//
//   chain 0       ARP pass -> every frame through conntrack (act_ct drops non-IP), goto VERDICT
//   VERDICT       per protocol: +est/+rel pass, ND pass, new frames to allowed addresses:
//                 pass (commit) or goto a port chain; new frames to the holes of a cover: drop
//                 covers (a later pref per protocol): new frames to a whole block: pass or goto
//                 -> drop
//   port chains   allowed ports: pass (commit) -> drop
//
// An open hook whose other direction is isolated only commits new connections, so that
// replies are +est when they meet the isolated hook. A pod isolated both ways with nothing
// allowed either way has no connections: its hooks pass ARP and ND and drop the rest in chain 0.
import { formatNet, parseCidr, type IpFamily, type Net } from '../model/cidr.js';
import type { DirectionRules, RuleSet } from '../model/rules.js';
import type { EthProtocol, FlowerMatch, Hook, TcAction, TcFilter } from '../model/tc.js';
import { filterIdentity } from '../model/tc.js';
import { CHAIN_PREF, COVER_PREF, ENTRY_CHAIN, ENTRY_PREF, ND_TYPES, PORT_CHAIN_FIRST, OWNED_CHAIN_LAST, VERDICT_CHAIN } from './layout.js';
import { coverAtoms, partition, type CoverLayout, type Entry } from './partition.js';
import { portMatchCount, portMatches, portSetKey, portSetOf, type PortMatch, type PortSet } from './port-set.js';

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
  readonly id: 'too-many-port-chains' | 'ingress-without-address' | 'ingress-keyed-by-address' | 'address-reused-on-node';
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
  // Families in which a connection can exist: any, unless both directions are isolated; then
  // only those some grant allows (to or from the pod). Replies of the others need no filter.
  // (render writes canonical CIDRs: a peer with a colon is IPv6; an unparseable one would only keep a reply filter)
  const live = new Set<IpFamily>(rs.ingress === null || rs.egress === null ? [4, 6] : [...rs.ingress.grants, ...rs.egress.grants].flatMap((g) => g.peers.map((c) => (c.includes(':') ? 6 : 4))));
  const allowsNothing = (rules: DirectionRules | null): boolean => rules !== null && rules.grants.length === 0;
  for (const dir of ['egress', 'ingress'] as const) {
    const rules = rs[dir];
    const hook = HOOK_OF[dir];
    // Nothing allowed here and nothing to reply to (stateless programs have no reply filters)
    if (allowsNothing(rules) && (!opts.stateful || live.size === 0)) filters.push(...entryFilters(hook, opts, true));
    else if (rules) filters.push(...isolatedHook(hook, rules, opts, [...live].sort(), diagnostics));
    else if (opts.stateful) filters.push(...openHook(hook, opts));
  }
  return { filters: sortFilters(dedupe(filters)), diagnostics };
}

export interface Variant {
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

export function variants(opts: Pick<CompileOptions, 'stateful' | 'encapsulations'>, families: readonly IpFamily[] = [4, 6]): Variant[] {
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


export const filter = (hook: Hook, chain: number, pref: number, protocol: EthProtocol, match: FlowerMatch, actions: TcAction[]): TcFilter => ({ hook, chain, pref, protocol, match, actions });

export function allowActions(opts: CompileOptions, v: Variant): TcAction[] {
  return v.tracked ? [{ kind: 'ct', zone: opts.ctZone, commit: true }, { kind: 'pass' }] : [{ kind: 'pass' }];
}

export const PASS: TcAction[] = [{ kind: 'pass' }];
const DROP: TcAction[] = [{ kind: 'drop' }];

/** One key for +est and +rel: conntrack gives a tracked frame exactly one of new/est/rel/inv. */
export const REPLY_STATE = '+trk-new-inv';

/**
 * Entry of an isolated hook: ARP of every encapsulation passes (act_ct would drop it), then
 * every frame goes through conntrack to the verdict chain. Without conntrack, neighbour
 * discovery passes here as well. A `sealed` hook (nothing allowed, no replies to let
 * through) needs no verdict chain and no conntrack: ARP and neighbour discovery pass, the
 * rest drops.
 */
function entryFilters(hook: Hook, opts: CompileOptions, sealed = false): TcFilter[] {
  const untracked = !opts.stateful || sealed;
  const out: TcFilter[] = neighbourFilters(hook, opts.encapsulations, untracked);
  // QinQ IP skips conntrack (which would drop it) on its way to the verdict chain
  if (!untracked && opts.encapsulations.includes('802.1ad')) {
    for (const t of ['ip', 'ipv6'] as const) out.push(filter(hook, ENTRY_CHAIN, ENTRY_PREF.untracked, '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: t }, [{ kind: 'goto', chain: VERDICT_CHAIN }]));
  }
  const dispatch: TcAction[] = sealed ? DROP : opts.stateful ? [{ kind: 'ct', zone: opts.ctZone, commit: false }, { kind: 'goto', chain: VERDICT_CHAIN }] : [{ kind: 'goto', chain: VERDICT_CHAIN }];
  out.push(filter(hook, ENTRY_CHAIN, ENTRY_PREF.dispatch, 'all', {}, dispatch));
  return out;
}

/**
 * The entry chain's neighbour filters: ARP of every encapsulation passes (act_ct would drop
 * it), and neighbour discovery where it does not meet conntrack (`untracked`; QinQ always).
 */
export function neighbourFilters(hook: Hook, encapsulations: readonly Encapsulation[], untracked: boolean): TcFilter[] {
  const out: TcFilter[] = [];
  const nd = (protocol: EthProtocol, pref: number, base: FlowerMatch): TcFilter[] =>
    ND_TYPES.map((type) => filter(hook, ENTRY_CHAIN, pref, protocol, { ...base, ipProto: 'icmpv6', icmpType: type }, PASS));
  for (const encap of encapsulations) {
    if (encap === 'untagged') {
      out.push(filter(hook, ENTRY_CHAIN, ENTRY_PREF.neighbour.arp, 'arp', {}, PASS));
      if (untracked) out.push(...nd('ipv6', ENTRY_PREF.neighbour.ipv6, {}));
    }
    if (encap === '802.1Q') {
      out.push(filter(hook, ENTRY_CHAIN, ENTRY_PREF.neighbour['802.1Q'], '802.1Q', { vlanEthType: 'arp' }, PASS));
      if (untracked) out.push(...nd('802.1Q', ENTRY_PREF.neighbour['802.1Q'], { vlanEthType: 'ipv6' }));
    }
    if (encap === '802.1ad') {
      out.push(filter(hook, ENTRY_CHAIN, ENTRY_PREF.neighbour['802.1ad'], '802.1ad', { vlanEthType: '802.1Q', cvlanEthType: 'arp' }, PASS));
      out.push(...nd('802.1ad', ENTRY_PREF.neighbour['802.1ad'], { vlanEthType: '802.1Q', cvlanEthType: 'ipv6' }));
    }
  }
  return out;
}

/**
 * Replies and neighbour discovery in the verdict chain, inside each protocol's pref: their
 * conntrack states (established or related, and +inv for ND, which conntrack does not
 * track) never overlap the +new frames that the allow filters match. Replies only for the
 * protocols that carry a family of `replyFamilies` (a family in which no connection can
 * exist has nothing to reply to); neighbour discovery always.
 */
export function stateFilters(hook: Hook, opts: CompileOptions, chain: number = VERDICT_CHAIN, replyFamilies: readonly IpFamily[] = [4, 6]): TcFilter[] {
  if (!opts.stateful) return [];
  const out: TcFilter[] = [];
  const seen = new Set<number>();
  for (const v of variants(opts).filter((x) => x.tracked)) {
    if (!seen.has(v.chainPref) && replyFamilies.includes(v.family)) {
      seen.add(v.chainPref);
      // tracked and neither new nor invalid = established or related: replies, ICMP errors
      out.push(filter(hook, chain, v.chainPref, v.protocol, { ctState: REPLY_STATE }, PASS));
    }
    if (v.family === 6) {
      for (const type of ND_TYPES) out.push(filter(hook, chain, v.chainPref, v.protocol, { ...v.match, ctState: '+trk+inv', ipProto: 'icmpv6', icmpType: type }, PASS));
    }
  }
  return out;
}

function openHook(hook: Hook, opts: CompileOptions): TcFilter[] {
  return variants(opts)
    .filter((v) => v.tracked)
    .map((v) => filter(hook, ENTRY_CHAIN, v.commitPref, v.protocol, v.match, allowActions(opts, v)));
}

/** A representor's hook is the pod's own: its filters need no key for it. */
const NO_OWN_KEYS: readonly FlowerMatch[] = [{}];

function isolatedHook(hook: Hook, rules: DirectionRules, opts: CompileOptions, replyFamilies: readonly IpFamily[], diagnostics: CompileDiagnostic[]): TcFilter[] {
  const out: TcFilter[] = [...entryFilters(hook, opts), ...stateFilters(hook, opts, VERDICT_CHAIN, replyFamilies)];
  out.push(filter(hook, VERDICT_CHAIN, CHAIN_PREF.drop, 'all', {}, [{ kind: 'drop' }]));
  const scope: GrantScope = {
    hook,
    chain: VERDICT_CHAIN,
    peerKey: hook === 'ingress' ? 'dstIp' : 'srcIp',
    own: () => NO_OWN_KEYS,
    allow: (v) => allowActions(opts, v),
    tag: 'verdict',
    portChains: new PortChains(PORT_CHAIN_FIRST, OWNED_CHAIN_LAST, 'single'),
  };
  out.push(...grantFilters(rules, scope, opts, diagnostics));
  return out;
}

/** Hands out port chain numbers; one chain per distinct content, shared by whoever asks. */
export class PortChains {
  private next: number;
  private readonly byKey = new Map<string, number>();
  /**
   * `shared`: several scopes take chains from here (a shared block's members), so a chain one
   * scope makes may serve others later; `single`: one scope only (a representor's hook).
   */
  constructor(
    first: number,
    private readonly last: number,
    readonly users: 'shared' | 'single' = 'shared',
  ) {
    this.next = first;
  }
  /** The chain for `key`, `created` when it is new; undefined when the numbers ran out. */
  chainFor(key: string): { chain: number; created: boolean } | undefined {
    const have = this.byKey.get(key);
    if (have !== undefined) return { chain: have, created: false };
    if (this.next > this.last) return undefined;
    const chain = this.next++;
    this.byKey.set(key, chain);
    return { chain, created: true };
  }
  /** The chain already made for `key`, without making one. */
  existing(key: string): number | undefined {
    return this.byKey.get(key);
  }
  /** How many more chains can be made. */
  get left(): number {
    return this.last - this.next + 1;
  }
}

/** Where and how the grants of one direction of one pod are written. */
export interface GrantScope {
  readonly hook: Hook;
  /** The chain holding one filter per (own key, peer atom). */
  readonly chain: number;
  /** The key that matches the peer: `dstIp` for pod egress, `srcIp` for pod ingress. */
  readonly peerKey: 'srcIp' | 'dstIp';
  /**
   * The pod's own keys per family (its port, or its addresses); none = nothing of that family.
   * Filters of different scopes in one chain must not share an own key: a hole drop of one
   * would shadow an allow of the other.
   */
  readonly own: (family: IpFamily) => readonly FlowerMatch[];
  /** What an allowed new frame does. */
  readonly allow: (v: Variant) => TcAction[];
  /** Port chains with the same tag, port set and protocols are shared. */
  readonly tag: string;
  readonly portChains: PortChains;
}

/** Allowed addresses with one port set, at the first level (CHAIN_PREF) or as a cover (COVER_PREF). */
interface Place {
  readonly net: Net;
  readonly ports: PortSet;
  /** 'narrowed': first level inside a cover, allowing only what the cover does not; never via a port chain. */
  readonly level: 'first' | 'narrowed' | 'cover';
  readonly variants: readonly Variant[];
}

/** What one direction's grants become: allows, and holes inside covers (dropped at the first level). */
interface GrantLayout {
  places: readonly Place[];
  holes: readonly { readonly net: Net; readonly variants: readonly Variant[] }[];
}

const hasCoverPref = (v: Variant): v is Variant & { protocol: keyof typeof COVER_PREF } => v.protocol in COVER_PREF;

/**
 * The allow filters of one direction: disjoint peer atoms, each with the union of the ports
 * allowed to it, or (where it takes fewer filters) covers with their holes dropped first;
 * places sharing a port set jump to one port chain where that saves filters.
 */
export function grantFilters(rules: DirectionRules, scope: GrantScope, opts: CompileOptions, diagnostics: CompileDiagnostic[]): TcFilter[] {
  const entries = grantEntries(rules);
  const perFamily: { atoms: Entry[]; all: Variant[]; cover: CoverLayout | undefined }[] = [];
  for (const family of [4, 6] as const) {
    if (scope.own(family).length === 0) continue;
    const atoms = partition(family, entries);
    if (atoms.length === 0) continue;
    const all = variants(opts, [family]);
    const cover = all.some(hasCoverPref) ? coverAtoms(atoms, portMatchCount) : undefined;
    perFamily.push({ atoms, all, cover: cover && cover.covers.length > 0 ? cover : undefined });
  }
  const atPlaces = (atoms: readonly Entry[], vs: readonly Variant[], level: Place['level'] = 'first'): Place[] => (vs.length === 0 ? [] : atoms.map((a) => ({ net: a.net, ports: a.ports, level, variants: vs })));
  const plain: GrantLayout = { places: perFamily.flatMap((f) => atPlaces(f.atoms, f.all)), holes: [] };
  if (perFamily.every((f) => f.cover === undefined)) return writeLayout(plain, scope, opts, diagnostics);

  const covered: GrantLayout = { places: [], holes: [] };
  for (const { atoms, all, cover } of perFamily) {
    if (cover === undefined) {
      covered.places = covered.places.concat(atPlaces(atoms, all));
      continue;
    }
    const coverable = all.filter(hasCoverPref);
    const others = all.filter((v) => !hasCoverPref(v));
    covered.places = covered.places.concat(atPlaces(cover.first, coverable), atPlaces(cover.narrowed, coverable, 'narrowed'), atPlaces(cover.covers, coverable, 'cover'), atPlaces(atoms, others));
    covered.holes = covered.holes.concat(cover.holes.map((net) => ({ net, variants: coverable })));
  }
  // The covers were chosen by inline cost; port chains change the counts, so compare the
  // filters each layout would write. Where other scopes share the port chains, a chain the
  // plain layout makes may serve them too: count it as free there, so covers must win anyway.
  const coveredCost = layoutCost(covered, scope, opts, false);
  const plainCost = layoutCost(plain, scope, opts, scope.portChains.users === 'shared');
  return writeLayout(coveredCost < plainCost ? covered : plain, scope, opts, diagnostics);
}

function grantEntries(rules: DirectionRules): Entry[] {
  return rules.grants.flatMap((g) =>
    g.peers.flatMap((c) => {
      const net = parseCidr(c);
      return net ? [{ net, ports: portSetOf(g.ports) }] : [];
    }),
  );
}

/**
 * The filters of a layout. Places sharing a port set jump to one port chain when that takes
 * fewer filters (counting the chain's own filters unless it exists already).
 */
function writeLayout(layout: GrantLayout, scope: GrantScope, opts: CompileOptions, diagnostics: CompileDiagnostic[]): TcFilter[] {
  const out: TcFilter[] = [];
  const { hook } = scope;
  const owns = { 4: scope.own(4), 6: scope.own(6) };
  const peerOf = (net: Net): FlowerMatch => (net.len === 0 ? {} : scope.peerKey === 'srcIp' ? { srcIp: formatNet(net) } : { dstIp: formatNet(net) });
  // a new connection's first frame, to or from `peer`
  const opening = (own: FlowerMatch, v: Variant, peer: FlowerMatch): FlowerMatch => (v.tracked ? { ...own, ...v.match, ctState: '+trk+new', ...peer } : { ...own, ...v.match, ...peer });
  for (const hole of layout.holes) {
    const peer = peerOf(hole.net);
    for (const own of owns[hole.net.family]) {
      for (const v of hole.variants) out.push(filter(hook, scope.chain, v.chainPref, v.protocol, opening(own, v, peer), DROP));
    }
  }
  for (const g of portGroups(layout, scope, opts)) {
    let portChain: number | undefined;
    if (g.matches !== null && g.chainPays(false)) {
      const got = scope.portChains.chainFor(g.chainKey);
      if (got === undefined) diagnostics.push({ id: 'too-many-port-chains', detail: `more than ${OWNED_CHAIN_LAST - PORT_CHAIN_FIRST + 1} distinct port sets on the ${hook} hook; the rest are inlined` });
      else {
        portChain = got.chain;
        if (got.created) {
          for (const v of g.used) for (const m of g.matches) out.push(filter(hook, portChain, v.chainPref, v.protocol, { ...v.match, ...portMatch(m) }, scope.allow(v)));
          out.push(filter(hook, portChain, CHAIN_PREF.drop, 'all', {}, DROP));
        }
      }
    }
    for (const place of g.places) {
      const peer = peerOf(place.net);
      for (const own of owns[place.net.family]) {
        for (const v of place.variants) {
          const pref = place.level === 'cover' && hasCoverPref(v) ? COVER_PREF[v.protocol] : v.chainPref;
          const base = opening(own, v, peer);
          if (g.matches === null) out.push(filter(hook, scope.chain, pref, v.protocol, base, scope.allow(v)));
          else if (portChain !== undefined) out.push(filter(hook, scope.chain, pref, v.protocol, base, [{ kind: 'goto', chain: portChain }]));
          else for (const m of g.matches) out.push(filter(hook, scope.chain, pref, v.protocol, { ...base, ...portMatch(m) }, scope.allow(v)));
        }
      }
    }
  }
  return out;
}

/**
 * How many filters `writeLayout` would write, new port chains included (none made). With
 * `chainsFree`, a chain costs nothing to make: the most a layout could cost when other scopes
 * make its chains anyway.
 */
function layoutCost(layout: GrantLayout, scope: GrantScope, opts: CompileOptions, chainsFree: boolean): number {
  let n = layout.holes.reduce((k, h) => k + h.variants.length * scope.own(h.net.family).length, 0);
  let left = scope.portChains.left;
  for (const g of portGroups(layout, scope, opts)) {
    if (g.matches === null) n += g.jumps;
    else if (g.chainPays(chainsFree) && (g.existing !== undefined || left-- > 0)) n += g.jumps + (g.existing === undefined && !chainsFree ? g.chainFilters : 0);
    else n += g.jumps * g.matches.length;
  }
  return n;
}

interface PortGroup {
  readonly places: readonly Place[];
  /** null: every protocol and port, no port chain. */
  readonly matches: readonly PortMatch[] | null;
  /** The protocols (variants() order) that would jump to the group's chain. */
  readonly used: readonly Variant[];
  readonly chainKey: string;
  readonly existing: number | undefined;
  /** Filters in the verdict chain when the group jumps to a port chain (one per place, variant and own key). */
  readonly jumps: number;
  /** Filters of the port chain itself. */
  readonly chainFilters: number;
  /** Does a port chain save filters (with a chain's own filters free when `free`)? */
  chainPays(free: boolean): boolean;
}

/** The places of a layout grouped by port set, in a fixed order (port chains are numbered in it). */
function portGroups(layout: GrantLayout, scope: GrantScope, opts: CompileOptions): PortGroup[] {
  const byKey = new Map<string, Place[]>();
  for (const p of layout.places) {
    // a narrowed place falls through to its cover where it does not match: a port chain's drop would stop it
    const k = (p.level === 'narrowed' ? 'inline ' : '') + portSetKey(p.ports);
    const list = byKey.get(k);
    if (list) list.push(p);
    else byKey.set(k, [p]);
  }
  return [...byKey.keys()].sort().map((key) => {
    const places = byKey.get(key)!;
    const ports = places[0]!.ports;
    const matches = ports === 'all' ? null : portMatches(ports);
    const used = variants(opts).filter((v) => places.some((p) => p.variants.some((x) => x.family === v.family && x.protocol === v.protocol)));
    const chainKey = `${scope.tag}|${used.map((v) => `${v.protocol}/${v.family}`).join(',')}|${portSetKey(ports)}`;
    const existing = scope.portChains.existing(chainKey);
    const jumps = places.reduce((n, p) => n + p.variants.length * scope.own(p.net.family).length, 0);
    const chainFilters = matches === null ? 0 : used.length * matches.length + 1;
    const chainPays = (free: boolean): boolean => matches !== null && used.length > 0 && places[0]!.level !== 'narrowed' && jumps * matches.length > jumps + (existing === undefined && !free ? chainFilters : 0);
    return { places, matches, used, chainKey, existing, jumps, chainFilters, chainPays };
  });
}

const portMatch = (m: PortMatch): FlowerMatch => ({ ipProto: m.ipProto, ...(m.dstPort ? { dstPort: m.dstPort } : {}) });


export function dedupe(filters: readonly TcFilter[]): TcFilter[] {
  const seen = new Map<string, TcFilter>();
  for (const f of filters) {
    const id = filterIdentity(f);
    if (!seen.has(id)) seen.set(id, f);
  }
  return [...seen.values()];
}

/** Deterministic order: hook, chain, pref, then identity. */
export function sortFilters(filters: readonly TcFilter[]): TcFilter[] {
  // each identity once, not once per comparison
  const keyed = filters.map((f) => ({ f, id: filterIdentity(f) }));
  keyed.sort((p, q) => {
    const a = p.f;
    const b = q.f;
    if (a.hook !== b.hook) return a.hook < b.hook ? -1 : 1;
    if (a.chain !== b.chain) return a.chain - b.chain;
    if (a.pref !== b.pref) return a.pref - b.pref;
    return p.id < q.id ? -1 : p.id > q.id ? 1 : 0;
  });
  return keyed.map((k) => k.f);
}
