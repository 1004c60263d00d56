// The shared-block layout for one node: the node's endpoint programs grouped by the eswitch
// their representors belong to, one block program per switch. Pure: which representor sits
// on which switch is an input (sysfs through the adapter on a host, a stand-in offline).
import type { Endpoint, Eswitch, SharedBlock } from '../model/attachment.js';
import type { Compiled } from './compile.js';
import { compileBlock, type BlockMember } from './compile-block.js';
import { BLOCK_INDEX_BASE } from './layout.js';
import type { EndpointProgram } from './program-node.js';

export type Layout = 'per-port' | 'shared-block';
export const LAYOUTS: readonly Layout[] = ['per-port', 'shared-block'];

/** A representor of an endpoint and the switch it is a port of. */
export interface RepOnSwitch {
  readonly rep: string;
  readonly eswitch: Eswitch;
}

export interface SwitchProgram {
  readonly eswitch: Eswitch;
  /** The block's index, and the ports bound to it: the switch's ports plus every member port. */
  readonly block: SharedBlock;
  readonly ctZone: number;
  readonly members: readonly BlockMember[];
  /** Every pod of the node with a switch: whose ingress each block enforces (compileBlock). */
  readonly receivers: readonly BlockMember[];
  readonly compiled: Compiled;
  /** The endpoint programs of the members (for reports). */
  readonly programs: readonly EndpointProgram[];
}

/** A switch's members before compiling: what `compileSwitch` needs, and what keys it. */
export type SwitchGroup = Omit<SwitchProgram, 'compiled'>;

/**
 * `reps(ep)`: the endpoint's representors with their switch (an endpoint missing here is
 * not programmed). Conntrack zones are handed out from `ctZoneBase` in switch-id order, so a
 * connection crossing two switches of the node is tracked in each switch's own zone.
 */
export function groupSwitches(programs: readonly EndpointProgram[], reps: (ep: Endpoint) => readonly RepOnSwitch[] | undefined, ctZoneBase: number): SwitchGroup[] {
  const bySwitch = new Map<string, { eswitch: Eswitch; ports: Set<string>; members: BlockMember[]; programs: EndpointProgram[] }>();
  for (const p of programs) {
    const mine = reps(p.endpoint);
    if (!mine) continue;
    const portsBySwitch = new Map<string, { eswitch: Eswitch; ports: string[] }>();
    for (const r of mine) {
      const g = portsBySwitch.get(r.eswitch.id) ?? { eswitch: r.eswitch, ports: [] };
      g.ports.push(r.rep);
      portsBySwitch.set(r.eswitch.id, g);
    }
    for (const [id, g] of portsBySwitch) {
      const sw = bySwitch.get(id) ?? { eswitch: g.eswitch, ports: new Set(g.eswitch.ports), members: [], programs: [] };
      for (const port of g.ports) sw.ports.add(port);
      sw.members.push({ endpoint: p.endpoint.key, ports: [...g.ports].sort(), addresses: p.endpoint.attachment.ips, ...(p.endpoint.attachment.mac !== undefined ? { mac: p.endpoint.attachment.mac } : {}), rules: p.rules, encapsulations: p.options.encapsulations });
      sw.programs.push(p);
      bySwitch.set(id, sw);
    }
  }
  const byEndpoint = (a: BlockMember, b: BlockMember): number => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0);
  const receivers = [...new Map([...bySwitch.values()].flatMap((sw) => sw.members.map((m) => [m.endpoint, { ...m, ports: [] }] as const))).values()].sort(byEndpoint);
  return [...bySwitch.keys()].sort().map((id, i) => {
    const sw = bySwitch.get(id)!;
    const members = sw.members.sort(byEndpoint);
    return { eswitch: sw.eswitch, block: { index: blockIndexFor(id), ports: [...sw.ports].sort() }, ctZone: (ctZoneBase + i) % 65536, members, receivers, programs: sw.programs };
  });
}

export function compileSwitch(g: SwitchGroup, stateful: boolean): SwitchProgram {
  return { ...g, compiled: compileBlock(g.members, { stateful, ctZone: g.ctZone }, g.receivers) };
}

export function programSwitches(
  programs: readonly EndpointProgram[],
  reps: (ep: Endpoint) => readonly RepOnSwitch[] | undefined,
  opts: { readonly stateful: boolean; readonly ctZoneBase: number },
): SwitchProgram[] {
  return groupSwitches(programs, reps, opts.ctZoneBase).map((g) => compileSwitch(g, opts.stateful));
}

/** A stable block index per switch: BLOCK_INDEX_BASE plus a 16-bit FNV-1a hash of its id. */
export function blockIndexFor(switchId: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(switchId)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return BLOCK_INDEX_BASE + ((h ^ (h >>> 16)) & 0xffff);
}

/** The target a driver programs for a switch: `block:<index>` with the ports to bind. */
export const blockTarget = (sp: SwitchProgram) => ({ name: `block:${sp.block.index}`, block: sp.block });

/**
 * Stand-in switch for representors without a `phys_switch_id` (the lab's veths, NICs whose
 * driver does not report one) and for offline commands: `--uplink NAME` plus those ports.
 */
export function standInSwitch(uplink: string, reps: readonly string[]): Eswitch {
  return { id: `uplink:${uplink}`, uplink, ports: [...new Set([uplink, ...reps])].sort() };
}
