// A netdevsim device in switchdev mode with the lab's fake flower offload (`flower_offload=Y`,
// built by run-in-vm.sh), and the small sysfs tree that gives its VFs PCI addresses.
// netdevsim has no VF PCI functions and no data path: only the VF → PF links
// (`/sys/bus/pci/devices/<vf>/physfn`, `<pf>/virtfnN`, `<pf>/net/<uplink>`) come from a temp
// dir; everything about netdevs (`/sys/class/net`: phys_switch_id, phys_port_name, device) is
// the real kernel's, through a symlink.
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NETWORK_STATUS_ANNOTATION, type Pod } from '../../../core/model/k8s.js';
import type { Cluster } from '../../../core/model/snapshot.js';
import type { Ctx } from './context.js';
import { exec, run, sleep } from './sh.js';

export interface Switchdev {
  readonly id: number;
  /** The PF port (phys_port_name pN). */
  readonly uplink: string;
  /** VF representors by VF number (phys_port_name pf0vfN). */
  readonly reps: readonly string[];
  /** Every netdev of the device, with its sysfs names. */
  readonly netdevs: readonly { d: string; port?: string; sw?: string }[];
  /** A root with the PCI tree for `vfPci` (index = VF number) over the real /sys/class. */
  readonly sysfsRoot: string;
  readonly vfPci: readonly string[];
  remove(): Promise<void>;
}

const attr = (dev: string, name: string): Promise<string | undefined> => readFile(`/sys/class/net/${dev}/${name}`, 'utf8').then((s) => s.trim(), () => undefined);
const ls = (dir: string): Promise<string[]> => readdir(dir).then((x) => x.sort(), () => []);

/**
 * Creates netdevsim `id` (its device path must end in 0: the resolver takes the PF number from
 * the last character of the uplink's device) with `vfs` VFs in switchdev mode, every port up.
 * Failed checks go to `suite`; undefined when the lab cannot do it.
 */
export async function createSwitchdev(ctx: Ctx, suite: string, id: number, vfs: number): Promise<Switchdev | undefined> {
  const m = await exec.run('modprobe', ['netdevsim']);
  if (!ctx.check(suite, 'netdevsim loads', m.exitCode === 0, `missing kernel feature: netdevsim (${m.stderr.trim()})`)) return undefined;
  const param = '/sys/module/netdevsim/parameters/flower_offload';
  const hasParam = await readFile(param, 'utf8').then(() => true, () => false);
  if (!ctx.check(suite, "the lab's netdevsim has the flower_offload add-on", hasParam, `${param} is missing: rebuild the lab (run-in-vm.sh --build)`)) return undefined;

  const sys = `/sys/bus/netdevsim/devices/netdevsim${id}`;
  const root = await mkdtemp(join(tmpdir(), 'sysfs-overlay-'));
  let created = false;
  const remove = async (): Promise<void> => {
    if (created) await writeFile('/sys/bus/netdevsim/del_device', `${id}`).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  try {
    await writeFile(param, 'Y');
    await writeFile('/sys/bus/netdevsim/new_device', `${id} 1`);
    created = true;
    for (let i = 0; i < 100 && (await ls(`${sys}/net`)).length === 0; i++) await sleep(100);
    await writeFile(`${sys}/sriov_numvfs`, `${vfs}`);
    await run('devlink', ['dev', 'eswitch', 'set', `netdevsim/netdevsim${id}`, 'mode', 'switchdev']);
    let ports: string[] = [];
    for (let i = 0; i < 100 && (ports = await ls(`${sys}/net`)).length < vfs + 1; i++) await sleep(100);
    const netdevs = await Promise.all(ports.map(async (d) => ({ d, port: await attr(d, 'phys_port_name'), sw: await attr(d, 'phys_switch_id') })));
    ctx.info(suite, `netdevsim${id} netdevs: ${netdevs.map((n) => `${n.d} (phys_port_name ${n.port}, phys_switch_id ${n.sw})`).join(', ')}`);
    const uplink = netdevs.find((n) => /^p\d+$/.test(n.port ?? ''))?.d;
    const reps = Array.from({ length: vfs }, (_, i) => netdevs.find((n) => n.port === `pf0vf${i}`)?.d);
    const names = reps.map((_, i) => `pf0vf${i}`).join(', ');
    if (!ctx.check(suite, `switchdev mode shows an uplink (phys_port_name pN) and representors ${names}`, uplink !== undefined && reps.every((r) => r !== undefined), JSON.stringify(netdevs))) {
      await remove();
      return undefined;
    }
    for (const d of ports) await run('ip', ['link', 'set', d, 'up']);

    const pfPci = '0000:99:00.0';
    const vfPci = reps.map((_, i) => `0000:99:00.${i + 1}`);
    const devices = join(root, 'sys/bus/pci/devices');
    await mkdir(join(devices, pfPci, 'net', uplink!), { recursive: true });
    await symlink('/sys/class', join(root, 'sys/class'));
    for (const [i, vf] of vfPci.entries()) {
      await mkdir(join(devices, vf));
      await symlink(`../${pfPci}`, join(devices, vf, 'physfn'));
      await symlink(`../${vf}`, join(devices, pfPci, `virtfn${i}`));
    }
    return { id, uplink: uplink!, reps: reps as string[], netdevs, sysfsRoot: root, vfPci, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** The pods' network-status without representor-device: the adapter has to ask sysfs. `pci`: pod key → VF PCI address. */
export function withPciOnly(c: Cluster, pci: Readonly<Record<string, string>>): Cluster {
  const pods = c.pods.map((p): Pod => {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    const raw = p.metadata.annotations?.[NETWORK_STATUS_ANNOTATION];
    if (!raw || !pci[key]) return p;
    const entries = (JSON.parse(raw) as Record<string, unknown>[]).map((e) => (e['device-info'] ? { ...e, 'device-info': { type: 'pci', version: '1.1.0', pci: { 'pci-address': pci[key] } } } : e));
    return { ...p, metadata: { ...p.metadata, annotations: { ...p.metadata.annotations, [NETWORK_STATUS_ANNOTATION]: JSON.stringify(entries) } } };
  });
  return { ...c, pods };
}
