// Which netdevs an earlier agent may have programmed: the VF representors of the host's
// switchdev NICs. The first pass observes each; those with our filters and no endpoint that
// wants them (a pod deleted while the agent was down) get their rules removed. Read-only,
// through the Sysfs port.
import type { Sysfs } from '../api/ports.js';
import type { Netdev } from '../model/attachment.js';

const CLASS_NET = '/sys/class/net';
/** VF representor port names: `pf0vf3`, or a bare VF number on old kernels. */
const VF_PORT = /^(pf\d+vf\d+|\d+)$/;

export async function discoverRepresentors(sysfs: Sysfs): Promise<Netdev[]> {
  const out: Netdev[] = [];
  for (const name of [...(await sysfs.readdir(CLASS_NET))].sort()) {
    const switchId = (await sysfs.readFile(`${CLASS_NET}/${name}/phys_switch_id`).catch(() => undefined))?.trim();
    if (!switchId) continue;
    const port = (await sysfs.readFile(`${CLASS_NET}/${name}/phys_port_name`).catch(() => undefined))?.trim();
    if (port !== undefined && VF_PORT.test(port)) out.push({ name });
  }
  return out;
}
