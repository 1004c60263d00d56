// Shared set-up of the offline commands: load manifests, wire the adapters (never the host),
// run the pure pipeline for one node.
import { describeError } from '../api/errors.js';
import type { Attachment } from '../model/attachment.js';
import type { Cluster } from '../model/snapshot.js';
import { programNode, type NodeOptions, type NodeProgram } from '../pipeline/program-node.js';
import { programSwitches, standInSwitch, type SwitchProgram } from '../pipeline/program-switch.js';
import type { Encapsulation } from '../pipeline/compile.js';
import { loadManifests } from '../source/manifest-files.js';
import type { AgentConfig } from '../config.js';
import { wire } from '../agent/container.js';
import { createLogger } from '../agent/logger.js';
import { NodeSysfs } from '../../plugins/sysfs/node-sysfs.js';
import type { Exec } from '../api/ports.js';

export class UsageError extends Error {}

const noExec: Exec = { run: () => Promise.reject(new Error('offline commands never run programs')) };

export async function loadCluster(paths: readonly string[]): Promise<Cluster> {
  if (paths.length === 0) throw new UsageError('--manifests <file|dir> is required');
  const { cluster, errors } = await loadManifests([...paths]);
  if (errors.length > 0) throw new UsageError(errors.map(describeError).join('\n'));
  return cluster;
}

export async function offlineAdapters(cfg: AgentConfig) {
  const logger = createLogger({ verbosity: cfg.verbosity, level: 'warn', destination: process.stderr });
  const wired = await wire({ ...cfg, tcDriver: 'dry-run' }, { logger, exec: noExec, sysfs: new NodeSysfs('/') });
  if (!wired.ok) throw new UsageError(describeError(wired.error));
  return wired.value.adapters;
}

export function nodeOptions(cfg: AgentConfig): NodeOptions {
  const e = cfg.encapsulations;
  return { stateful: cfg.stateful, ctZone: cfg.ctZone, encapsulations: e.includes('auto') ? 'auto' : (e as Encapsulation[]) };
}

export async function programFor(cfg: AgentConfig, cluster: Cluster, node: string): Promise<NodeProgram> {
  return programNode(cluster, node, await offlineAdapters(cfg), nodeOptions(cfg));
}

/**
 * Offline there is no sysfs to ask: use the representor the CNI wrote; else a stand-in
 * named after the VF's PCI address (`vf-3b00.2` for 0000:3b:00.2), which tc accepts as a
 * device name, so the batch can still be shown.
 */
export function offlineNetdevs(a: Attachment): string[] {
  const own = (x: Attachment): string => {
    const rep = x.deviceInfo?.pci?.['representor-device'];
    if (rep) return rep;
    const pci = /^[0-9a-f]{4,8}:([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(x.deviceInfo?.pci?.['pci-address'] ?? '');
    return pci ? `vf-${pci[1]}${pci[2]}.${pci[3]}`.toLowerCase() : `vf-${x.interface}`.slice(0, 15);
  };
  return a.members && a.members.length > 0 ? a.members.map(own) : [own(a)];
}
export { nodeOptions as compileOptions };

/**
 * The shared-block layout offline (`--layout shared-block`): every representor on one
 * stand-in switch whose uplink is `--uplink` (default `uplink`). Undefined for per-port.
 */
export function offlineSwitches(cfg: AgentConfig, np: NodeProgram): SwitchProgram[] | undefined {
  if (cfg.layout !== 'shared-block') return undefined;
  const reps = new Map(np.programs.map((p) => [p.endpoint.key, offlineNetdevs(p.endpoint.attachment)]));
  const sw = standInSwitch(cfg.uplink ?? 'uplink', [...reps.values()].flat());
  return programSwitches(np.programs, (ep) => reps.get(ep.key)?.map((rep) => ({ rep, eswitch: sw })), { stateful: cfg.stateful, ctZoneBase: cfg.ctZone });
}
