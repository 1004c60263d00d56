// Pure: the lab topology of a conformance case, and the `ip -batch` lines that build it.
//
//   one network namespace per pod (and per external), one veth per pod interface:
//     host end = the VF representor, named exactly as the case's network-status says
//                (`representor-device`), so the accelerated-bridge adapter finds it in sysfs;
//     pod end  = the interface name of the case (`net1`, ...), with the case's addresses;
//     and the MAC of network-status (what the CNI sets on the VF);
//   one Linux bridge per network (the software stand-in for the eswitch);
//   a bond network: an active-backup bond inside the pod over its address-less links (the
//   bond NAD's `links`), carrying the bond's addresses; its L2 domain is the links' bridge.
//
// With an uplink (the shared-block layout, `--uplink NAME`), everything that is not a local
// representor — pods on other nodes, local pods without a representor, externals — sits
// behind it, as behind a NIC's uplink port: they hang on an "outside" bridge, joined to the
// network's bridge by the uplink veth, whose host end (named NAME, a port of the shared block)
// is on the network's bridge. Their frames enter the switch through the uplink's ingress hook.
//
//   pod ns ── rep ──┐                                   ┌── dph… ── remote pod ns
//   pod ns ── rep ──┼── network bridge ── NAME ═ peer ──┼── dpx… ── external ns
//                   │   (dpb…)            (uplink veth) │   outside bridge (dpo…)
import { createHash } from 'node:crypto';
import type { NetworkPrefix } from '../../core/conformance/case.js';
import type { Pod } from '../../core/model/k8s.js';
import { toNetworkAttachment } from '../../core/model/nad.js';
import { parseNetworkStatus } from '../../core/model/network-status.js';
import type { External, Family, Probe } from '../../core/model/probe.js';
import type { Cluster } from '../../core/model/snapshot.js';

export interface Link {
  /** Root-namespace end: the representor. */
  readonly host: string;
  /** Pod end. */
  readonly inner: string;
  readonly bridge: string;
}

export interface Bond {
  readonly name: string;
  readonly members: readonly string[];
}

export interface NsPlan {
  readonly name: string;
  /** `namespace/pod` or `external/<name>`. */
  readonly ref: string;
  readonly links: readonly Link[];
  readonly bonds: readonly Bond[];
  /** `dev` → CIDRs (`10.0.0.1/24`), in the case's order (the first is the primary). */
  readonly addrs: Readonly<Record<string, readonly string[]>>;
  /**
   * `dev` → the MAC network-status reports for it, as a CNI sets it on the VF (the shared-block
   * layout knows a pod's frames by it). A bond takes its own; its links then carry the bond's.
   */
  readonly macs?: Readonly<Record<string, string>>;
}

/** Where a probe end lives: its namespace, the interface on the probe's network, its addresses. */
export interface End {
  readonly ns: string;
  readonly dev: string;
  readonly ips: readonly string[];
}

/** The uplink veth: `host` (the block port, on `bridge`) and its `peer` on the outside bridge. */
export interface UplinkPlan {
  readonly host: string;
  readonly peer: string;
  readonly bridge: string;
  readonly outside: string;
}

export interface TopologyPlan {
  /** Network bridges and outside bridges. */
  readonly bridges: readonly string[];
  readonly namespaces: readonly NsPlan[];
  /** Key `${ref} ${network}`. */
  readonly ends: ReadonlyMap<string, End>;
  /** What could not be built (reported as a failed check of the case). */
  readonly problems: readonly string[];
  /** Host ends named by the `representor-device` of a local pod (the netdevs the agent may program). */
  readonly representors: readonly string[];
  /** Only with `opts.uplink`. */
  readonly uplink?: UplinkPlan;
}

export interface TopologyOptions {
  /** Put every end that is not a local representor behind an uplink veth with this host-end name. */
  readonly uplink?: string;
  /** The case's node: a pod scheduled elsewhere is not local (its representor is another node's). */
  readonly node?: string;
}

const h8 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

export const bridgeName = (network: string): string => `dpb${h8(network)}`;
export const nsName = (ref: string): string => `dp${h8(ref)}`;
const externalHost = (name: string): string => `dpx${h8(name)}`;
const otherHost = (ref: string, iface: string): string => `dph${h8(`${ref}/${iface}`)}`;
export const outsideBridgeName = (network: string): string => `dpo${h8(network)}`;
export const uplinkPeerName = (uplink: string): string => `dpu${h8(uplink)}`;

const isV6 = (ip: string): boolean => ip.includes(':');

function cidr(ip: string, prefix: NetworkPrefix | undefined): string {
  return `${ip}/${isV6(ip) ? (prefix?.ipv6 ?? 64) : (prefix?.ipv4 ?? 24)}`;
}

export function planTopology(cluster: Cluster, externals: readonly External[], prefixes: Readonly<Record<string, NetworkPrefix>>, opts: TopologyOptions = {}): TopologyPlan {
  const types = new Map(cluster.networks.map((n) => [`${n.metadata.namespace}/${n.metadata.name}`, toNetworkAttachment(n)]));
  const bridges = new Set<string>();
  const namespaces: NsPlan[] = [];
  const ends = new Map<string, End>();
  const problems: string[] = [];
  const representors: string[] = [];
  /** Networks with an end behind the uplink, and the networks of local representors. */
  const outsideNets = new Set<string>();
  const localNets = new Set<string>();
  // with an uplink, an end that is not a representor goes on its network's outside bridge
  const place = (network: string, representor: boolean): string => {
    if (opts.uplink === undefined || representor) {
      if (representor) localNets.add(network);
      return bridgeName(network);
    }
    outsideNets.add(network);
    return outsideBridgeName(network);
  };

  for (const pod of cluster.pods) {
    const local = opts.node === undefined || pod.spec?.nodeName === undefined || pod.spec.nodeName === opts.node;
    const planned = planPod(pod, types, prefixes, problems, local, place);
    if (!planned) continue;
    namespaces.push(planned.ns);
    representors.push(...planned.representors);
    for (const l of planned.ns.links) bridges.add(l.bridge);
    for (const [k, v] of planned.ends) ends.set(k, v);
  }
  for (const x of externals) {
    const ref = `external/${x.name}`;
    const ns = nsName(ref);
    const link = { host: externalHost(x.name), inner: 'eth0', bridge: place(x.network, false) };
    bridges.add(link.bridge);
    const addrs = x.ips.map((ip) => cidr(ip, prefixes[x.network]));
    namespaces.push({ name: ns, ref, links: [link], bonds: [], addrs: { eth0: addrs } });
    ends.set(`${ref} ${x.network}`, { ns, dev: 'eth0', ips: x.ips });
  }

  let uplink: UplinkPlan | undefined;
  if (opts.uplink !== undefined) {
    // one uplink per switch: the ends behind it must all be on one network
    const behind = [...outsideNets].sort();
    if (behind.length > 1) problems.push(`the lab has one uplink (${opts.uplink}), but ends that are no local representor sit on ${behind.length} networks: ${behind.join(', ')}`);
    const network = behind[0] ?? [...localNets].sort()[0];
    if (network !== undefined) {
      uplink = { host: opts.uplink, peer: uplinkPeerName(opts.uplink), bridge: bridgeName(network), outside: outsideBridgeName(network) };
      bridges.add(uplink.bridge).add(uplink.outside);
    }
  }
  return { bridges: [...bridges].sort(), namespaces, ends, problems, representors: representors.sort(), ...(uplink ? { uplink } : {}) };
}

function planPod(
  pod: Pod,
  types: ReadonlyMap<string, ReturnType<typeof toNetworkAttachment>>,
  prefixes: Readonly<Record<string, NetworkPrefix>>,
  problems: string[],
  local: boolean,
  place: (network: string, representor: boolean) => string,
): { ns: NsPlan; ends: Map<string, End>; representors: string[] } | undefined {
  const ref = `${pod.metadata.namespace}/${pod.metadata.name}`;
  const status = parseNetworkStatus(pod);
  const entries = status.entries.filter((e) => e.default !== true && e.interface !== undefined);
  if (entries.length === 0) return undefined;
  const ns = nsName(ref);
  const links: Link[] = [];
  const bonds: Bond[] = [];
  const addrs: Record<string, string[]> = {};
  const macs: Record<string, string> = {};
  const ends = new Map<string, End>();
  const bridgeOf = new Map<string, string>(); // pod interface → bridge
  const representors: string[] = [];
  for (const e of entries) {
    if (types.get(e.name)?.cniType === 'bond') continue;
    const iface = e.interface!;
    const rep = e['device-info']?.pci?.['representor-device'];
    const host = rep ?? otherHost(ref, iface);
    const isRep = rep !== undefined && local;
    if (isRep) representors.push(rep);
    const bridge = place(e.name, isRep);
    links.push({ host, inner: iface, bridge });
    bridgeOf.set(iface, bridge);
  }
  for (const e of entries) {
    const net = types.get(e.name);
    const iface = e.interface!;
    if (net?.cniType === 'bond') {
      const raw = net.config['links'];
      const members = Array.isArray(raw) ? raw.map((l: unknown) => (l as { name?: unknown }).name).filter((n): n is string => typeof n === 'string') : [];
      const present = members.filter((m) => bridgeOf.has(m));
      if (present.length === 0) {
        problems.push(`${ref} ${iface}: bond network ${e.name} has no member link in the pod (links: ${members.join(', ') || 'none'})`);
        continue;
      }
      bonds.push({ name: iface, members: present });
    }
    const ips = e.ips ?? [];
    if (ips.length > 0) addrs[iface] = ips.map((ip) => cidr(ip, prefixes[e.name]));
    if (e.mac !== undefined && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(e.mac)) macs[iface] = e.mac.toLowerCase();
    ends.set(`${ref} ${e.name}`, { ns, dev: iface, ips });
  }
  return { ns: { name: ns, ref, links, bonds, addrs, ...(Object.keys(macs).length > 0 ? { macs } : {}) }, ends, representors };
}

/** The probe end on the probe's network, and its first address of the probe's family. */
export function endOf(plan: TopologyPlan, ref: string, network: string, family: Family): { end: End; ip: string } | string {
  const end = plan.ends.get(`${ref} ${network}`);
  if (!end) return `${ref} has no interface on ${network} in the lab topology`;
  const ip = end.ips.find((a) => isV6(a) === (family === 'ipv6'));
  if (ip === undefined) return `${ref} has no ${family} address on ${network}`;
  return { end, ip };
}

export interface ProbeEnds {
  readonly src: { ns: string; dev: string; ip: string };
  readonly dst: { ns: string; ip: string };
}

export function probeEnds(plan: TopologyPlan, p: Probe): ProbeEnds | string {
  const a = endOf(plan, p.from, p.network, p.family);
  if (typeof a === 'string') return a;
  const b = endOf(plan, p.to, p.network, p.family);
  if (typeof b === 'string') return b;
  return { src: { ns: a.end.ns, dev: a.end.dev, ip: a.ip }, dst: { ns: b.end.ns, ip: b.ip } };
}

// ---------------------------------------------------------------------------------------
// ip -batch lines

/** Root namespace: bridges, the uplink veth, namespaces, veths (host end on its bridge) for what is not built yet. */
export function rootLines(plan: TopologyPlan, built: { bridges: ReadonlySet<string>; namespaces: ReadonlySet<string>; hosts: ReadonlySet<string> }): string[] {
  const out: string[] = [];
  for (const b of plan.bridges) {
    if (built.bridges.has(b)) continue;
    // no multicast snooping: an eswitch has none, and IPv6 ND must not depend on MLD reports
    out.push(`link add ${b} type bridge mcast_snooping 0`, `link set ${b} up`);
  }
  const u = plan.uplink;
  if (u && !built.hosts.has(u.host)) {
    out.push(`link add ${u.host} type veth peer name ${u.peer}`, `link set ${u.peer} master ${u.outside} up`, `link set ${u.host} master ${u.bridge} up`);
  }
  for (const ns of plan.namespaces) {
    if (!built.namespaces.has(ns.name)) out.push(`netns add ${ns.name}`);
    for (const l of ns.links) {
      if (built.hosts.has(l.host)) continue;
      out.push(`link add ${l.host} type veth peer name ${l.inner} netns ${ns.name}`, `link set ${l.host} master ${l.bridge} up`);
    }
  }
  return out;
}

/** Inside a new namespace: MACs, links up, bonds, addresses (IPv6 without DAD, so probes never race it). */
export function nsLines(ns: NsPlan): string[] {
  const out = ['link set lo up'];
  const members = new Set(ns.bonds.flatMap((b) => b.members));
  // a bond's own MAC, set before its links join, stays, and active-backup gives it to the links
  for (const l of ns.links) if (ns.macs?.[l.inner] !== undefined && !members.has(l.inner)) out.push(`link set ${l.inner} address ${ns.macs[l.inner]}`);
  for (const b of ns.bonds) {
    out.push(`link add ${b.name} type bond mode active-backup miimon 100`);
    if (ns.macs?.[b.name] !== undefined) out.push(`link set ${b.name} address ${ns.macs[b.name]}`);
    for (const m of b.members) out.push(`link set ${m} master ${b.name}`);
  }
  for (const l of ns.links) if (!members.has(l.inner)) out.push(`link set ${l.inner} up`);
  for (const b of ns.bonds) {
    for (const m of b.members) out.push(`link set ${m} up`);
    out.push(`link set ${b.name} up`);
  }
  out.push(...addrLines(ns));
  return out;
}

export function addrLines(ns: NsPlan): string[] {
  const out: string[] = [];
  for (const [dev, list] of Object.entries(ns.addrs)) {
    for (const a of list) out.push(`addr add ${a} dev ${dev}${isV6(a) ? ' nodad' : ''}`);
  }
  return out;
}

/** Root namespace: everything the plan built (deleting the host end of a veth deletes both). */
export function teardownLines(built: { bridges: Iterable<string>; namespaces: Iterable<string>; hosts: Iterable<string> }): string[] {
  return [...[...built.hosts].map((h) => `link del ${h}`), ...[...built.bridges].map((b) => `link del ${b}`), ...[...built.namespaces].map((n) => `netns del ${n}`)];
}
