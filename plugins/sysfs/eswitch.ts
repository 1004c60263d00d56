// The eswitch of a representor, for the shared-block layout: every netdev with the same
// `phys_switch_id` (the uplink representor `p<N>` and the VF representors `pf<F>vf<N>`).
// A netdev without a switch id (a veth, a NIC not in switchdev mode) has no eswitch: null.
import type { Sysfs } from '../../core/api/ports.js';
import { err, ok, type Result } from '../../core/api/result.js';
import type { Eswitch } from '../../core/model/attachment.js';
import { switchPorts } from './representor-resolver.js';

export async function eswitchOf(sysfs: Sysfs, rep: string): Promise<Result<Eswitch | null>> {
  const id = (await sysfs.readFile(`/sys/class/net/${rep}/phys_switch_id`))?.trim();
  if (id === undefined || id === '') return ok(null);
  const sw = await switchPorts(sysfs, rep);
  if (!sw.ok) return sw;
  const uplinks = sw.value.ports.filter((p) => p.portName !== undefined && /^p\d+$/.test(p.portName)).map((p) => p.name).sort();
  if (uplinks.length === 0) return err({ code: 'representor-not-found', device: rep, cause: `switch ${id} of ${rep} has no uplink port (phys_port_name p<N>)` });
  return ok({ id, uplink: uplinks[0]!, ports: sw.value.ports.map((p) => p.name).sort() });
}
