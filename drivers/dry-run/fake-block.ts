// Shared ingress blocks in the fake kernel: the netdevs of one host, each with its qdisc and
// `ingress_block`, and the filters of each block. Pure, as fake-kernel.ts; measured in the lab
// (iproute2 6.1 / Linux 6.1):
//
//   a block exists while some qdisc names it; the last port unbound takes its filters along
//   filter ops on a block      no such block → "Block of given index was not found"; else as
//                              on one netdev's ingress hook (fake-kernel.ts)
//   bind P                     P missing → "Cannot find device"; P has a qdisc → "Exclusivity
//                              flag on"; else clsact with ingress_block N
//   bind P, replace            first `qdisc del dev P clsact` (none → "Cannot find specified
//                              qdisc"; an ingress qdisc → "Invalid qdisc name"), then bind
import { err, ok, type Result } from '../../core/api/result.js';
import type { SharedBlock } from '../../core/model/attachment.js';
import type { PlanOp } from '../../core/model/plan.js';
import type { ObservedTc } from '../../core/model/tc.js';
import { observedBlock, type PortObservation } from '../shared/block-target.js';
import { execOp, splitOwned, type KernelFilter, type KernelState } from './fake-kernel.js';

export interface Host {
  /** Netdevs with TC state; a name absent here exists with no qdisc unless it is `missing`. */
  readonly devices: ReadonlyMap<string, KernelState>;
  /** Filters of each block, all on the `ingress` hook. */
  readonly blocks: ReadonlyMap<number, readonly KernelFilter[]>;
  /** Netdevs that do not exist. */
  readonly missing: ReadonlySet<string>;
}

export type BlockOpResult =
  | { readonly ok: true; readonly host: Host }
  /** `line`: which of the op's batch lines failed, 0-based (a replacing bind has two). */
  | { readonly ok: false; readonly message: string; readonly line: number };

const NO_QDISC: KernelState = { qdisc: null, filters: [] };

/** Whether block `index` exists: some qdisc uses it. */
export function blockExists(host: Host, index: number): boolean {
  for (const s of host.devices.values()) if (s.qdisc !== null && s.ingressBlock === index) return true;
  return false;
}

/** The host without the filters of blocks no qdisc uses any more (the kernel frees them). */
export function dropUnusedBlocks(host: Host): Host {
  const unused = [...host.blocks.keys()].filter((i) => !blockExists(host, i));
  if (unused.length === 0) return host;
  const blocks = new Map(host.blocks);
  for (const i of unused) blocks.delete(i);
  return { ...host, blocks };
}

export function execBlockOp(host: Host, index: number, op: PlanOp): BlockOpResult {
  const refuse = (message: string, line = 0): BlockOpResult => ({ ok: false, message, line });
  switch (op.op) {
    case 'add-qdisc':
    case 'delete-qdisc':
      return refuse(`${op.op}: a shared block has no qdisc of its own`);
    case 'bind': {
      if (host.missing.has(op.port)) return refuse(`Cannot find device "${op.port}"`);
      let s = host.devices.get(op.port) ?? NO_QDISC;
      if (op.replace) {
        if (s.qdisc === null) return refuse('Error: Cannot find specified qdisc on specified device.');
        if (s.qdisc === 'ingress') return refuse('Error: Invalid qdisc name.');
        s = NO_QDISC;
      }
      if (s.qdisc !== null) return refuse('Error: Exclusivity flag on, cannot modify.', op.replace ? 1 : 0);
      const devices = new Map(host.devices);
      devices.set(op.port, { qdisc: 'clsact', ingressBlock: index, filters: [] });
      // a replace that deleted the port's last use of another block frees that block
      return { ok: true, host: dropUnusedBlocks({ ...host, devices }) };
    }
    case 'add':
    case 'replace':
    case 'delete': {
      if (!blockExists(host, index)) return refuse('Error: Block of given index was not found.');
      const r = execOp({ qdisc: 'clsact', filters: host.blocks.get(index) ?? [] }, op);
      if (!r.ok) return refuse(r.message);
      const blocks = new Map(host.blocks);
      blocks.set(index, r.state.filters);
      return { ok: true, host: { ...host, blocks } };
    }
  }
}

/** What the cmdline driver reads of a block target (drivers/tc-cmdline/cmdline-driver.ts observeBlock). */
export function observeBlockState(host: Host, name: string, block: SharedBlock): Result<ObservedTc> {
  const ports: PortObservation[] = [];
  for (const port of block.ports) {
    if (host.missing.has(port)) return err({ code: 'hook-unavailable', netdev: name, problem: `its port ${port} does not exist (tc: Cannot find device "${port}")` });
    const s = host.devices.get(port) ?? NO_QDISC;
    const qdisc = s.qdisc === null ? null : { kind: s.qdisc, ...(s.ingressBlock === undefined ? {} : { ingressBlock: s.ingressBlock }) };
    const { foreign } = splitOwned(s.filters);
    ports.push({ name: port, qdisc, foreign: foreign.ingress + foreign.egress });
  }
  const { owned, foreign } = splitOwned(blockExists(host, block.index) ? (host.blocks.get(block.index) ?? []) : []);
  return ok(observedBlock(block, ports, owned, foreign.ingress));
}
