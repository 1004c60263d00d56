// Paths through shared ingress blocks (the shared-block layout). Every port of a switch
// feeds one block on its ingress hook, and nothing runs on the way out, so a frame is
// classified once per switch it ENTERS, with indev = the port it entered through:
//
//   from a local pod         the block of the pod's switch, indev = the pod's representor
//   toward a local pod from  the block of the destination's switch, indev = that switch's uplink
//   anywhere else (outside, another node, a pod on another switch of this node)
//
// Two local pods on one switch: one hop (the hardware switches VF to VF). On two switches:
// the source's block, then the destination's block entered through its uplink, as a new skb
// (each switch has its own conntrack zone anyway).
import type { TcFilter } from '../model/tc.js';
import type { Hop, Route } from './probe.js';

export interface BlockSwitch {
  /** Tells switches apart (phys_switch_id or a stand-in). */
  readonly id: string;
  readonly uplink: string;
  /** The block's program (every filter on hook 'ingress'). */
  readonly filters: readonly TcFilter[];
  /** Names the block in reports ('block 1836...'). */
  readonly at?: string;
}

/** Where an end sits on the node: a port (representor) of a switch. */
export interface BlockPort {
  readonly sw: BlockSwitch;
  readonly port: string;
}

const hop = (sw: BlockSwitch, indev: string, side: Hop['side'], fresh: boolean): Hop => ({
  filters: sw.filters,
  hook: 'ingress',
  side,
  indev,
  ...(fresh ? { fresh } : {}),
  ...(sw.at !== undefined ? { at: sw.at } : {}),
});

/** The hops of a frame from `from` to `to`; null = an end on no switch of this node. */
export function blockPath(from: BlockPort | null, to: BlockPort | null): Hop[] {
  const path: Hop[] = [];
  if (from !== null) path.push(hop(from.sw, from.port, 'source', false));
  if (to !== null && (from === null || from.sw.id !== to.sw.id)) path.push(hop(to.sw, to.sw.uplink, 'destination', true));
  return path;
}

export const blockRoute = (a: BlockPort | null, b: BlockPort | null): Route => ({ forward: blockPath(a, b), backward: blockPath(b, a) });
