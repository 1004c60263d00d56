// Which netdevs an earlier agent may have programmed: the VF representors of the host's
// switchdev NICs (and their uplinks, for a shared block to release). The first pass observes
// each; those with our filters and no endpoint that wants them (a pod deleted while the agent
// was down) get their rules removed. Read-only, through the Sysfs port.
import type { Sysfs } from '../api/ports.js';
import type { Netdev } from '../model/attachment.js';

const CLASS_NET = '/sys/class/net';
/** VF representor port names: `pf0vf3`, or a bare VF number on old kernels. */
const VF_PORT = /^(pf\d+vf\d+|\d+)$/;

/** Uplink port names: `p0`. */
const UPLINK_PORT = /^p\d+$/;

export function discoverRepresentors(sysfs: Sysfs): Promise<Netdev[]> {
  return switchPorts(sysfs, VF_PORT);
}

/**
 * The switches' uplink ports. The per-port layout adopts them only to release a shared block
 * an earlier `--layout shared-block` run bound them to (the block would go on policing frames
 * entering there with rules nobody updates).
 */
export function discoverUplinks(sysfs: Sysfs): Promise<Netdev[]> {
  return switchPorts(sysfs, UPLINK_PORT);
}

async function switchPorts(sysfs: Sysfs, portName: RegExp): Promise<Netdev[]> {
  const out: Netdev[] = [];
  for (const name of [...(await sysfs.readdir(CLASS_NET))].sort()) {
    const switchId = (await sysfs.readFile(`${CLASS_NET}/${name}/phys_switch_id`).catch(() => undefined))?.trim();
    if (!switchId) continue;
    const port = (await sysfs.readFile(`${CLASS_NET}/${name}/phys_port_name`).catch(() => undefined))?.trim();
    if (port !== undefined && portName.test(port)) out.push({ name });
  }
  return out;
}
