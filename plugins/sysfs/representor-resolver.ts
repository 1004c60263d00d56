// VF PCI address → VF representor netdev, read from sysfs the way Mellanox sriovnet does it
// (see upstream-behaviour.md §1.8), for any adapter of a switchdev VF CNI:
//
//   /sys/bus/pci/devices/<vf>/physfn/virtfn<N> → <vf>      VF index N
//   /sys/bus/pci/devices/<vf>/physfn/net/<uplink>          phys_switch_id set, phys_port_name p<K>
//   /sys/class/net/<uplink>/device → …/<pf>                PF function F = last char of <pf>
//   /sys/class/net/<rep>                                   same phys_switch_id, phys_port_name pf<F>vf<N>
//
// Every step that can fail has its own error naming the VF and what was missing.
import type { Sysfs } from '../../core/api/ports.js';
import type { AgentError } from '../../core/api/errors.js';
import { err, ok, type Result } from '../../core/api/result.js';
import type { Netdev } from '../../core/model/attachment.js';
import { isNetdevName, normalizePciAddress } from './names.js';

const PCI_DEVICES = '/sys/bus/pci/devices';
const CLASS_NET = '/sys/class/net';

/** Receives remarks about degraded lookups (a fallback was taken); the caller logs them. */
export type NoteSink = (note: string) => void;

export interface SwitchPort extends Netdev {
  /** `phys_port_name` (`p0`, `pf0vf3`, …), absent when unreadable. */
  readonly portName?: string;
}

export interface SwitchLayout {
  readonly switchId: string;
  /** Every netdev with that switch id, the uplink included, sorted by name. */
  readonly ports: readonly SwitchPort[];
}

const notFound = (device: string, cause: string): { ok: false; error: AgentError } =>
  err({ code: 'representor-not-found', device, cause });

/** The name of the entry a link points to: sysfs link targets always end with it (`../../../0000:03:00.0`). */
async function linkName(sysfs: Sysfs, path: string): Promise<string | undefined> {
  const target = await sysfs.readlink(path);
  return target === undefined ? undefined : target.slice(target.lastIndexOf('/') + 1);
}

async function attr(sysfs: Sysfs, dev: string, name: string): Promise<string | undefined> {
  const v = (await sysfs.readFile(`${CLASS_NET}/${dev}/${name}`))?.trim();
  return v === '' ? undefined : v;
}

/** The representor netdev of the VF at `pciAddress`. */
export async function resolveRepresentor(sysfs: Sysfs, pciAddress: string, note?: NoteSink): Promise<Result<Netdev>> {
  const vf = normalizePciAddress(pciAddress);
  if (vf === undefined) return notFound(pciAddress, `${JSON.stringify(pciAddress)} is not a PCI address (expected dddd:bb:dd.f)`);
  const dev = `${PCI_DEVICES}/${vf}`;

  const pf = await linkName(sysfs, `${dev}/physfn`);
  if (pf === undefined) {
    const exists = (await sysfs.readdir(dev)).length > 0;
    return notFound(vf, exists ? `${vf} is not a VF (no ${dev}/physfn link)` : `no PCI device ${vf} in ${PCI_DEVICES}`);
  }

  const vfIndex = await findVfIndex(sysfs, dev, vf);
  if (vfIndex === undefined) return notFound(vf, `VF index not found: no ${dev}/physfn/virtfn* link points to ${vf} (PF ${pf})`);

  const uplink = await findUplink(sysfs, `${dev}/physfn/net`, note);
  if (!uplink.ok) return notFound(vf, `PF ${pf} of VF ${vf} is not in switchdev mode: ${uplink.error}`);
  const { name: up, switchId } = uplink.value;

  const upDevice = await linkName(sysfs, `${CLASS_NET}/${up}/device`);
  if (upDevice === undefined) return notFound(vf, `cannot read the PCI address of uplink ${up} (${CLASS_NET}/${up}/device)`);
  const pfFunction = upDevice.slice(-1);

  const rep = await findRepresentor(sysfs, switchId, pfFunction, vfIndex, note);
  if (rep === undefined) {
    return notFound(vf, `no representor with phys_port_name pf${pfFunction}vf${vfIndex} on switch ${switchId} (uplink ${up})`);
  }
  return ok({ name: rep });
}

async function findVfIndex(sysfs: Sysfs, dev: string, vf: string): Promise<number | undefined> {
  for (const entry of await sysfs.readdir(`${dev}/physfn`)) {
    const m = /^virtfn(\d+)$/.exec(entry);
    if (!m) continue;
    if ((await linkName(sysfs, `${dev}/physfn/${entry}`)) === vf) return Number(m[1]);
  }
  return undefined;
}

/** The PF's switchdev uplink among its netdevs (which on mlx5 also lists the representors). */
async function findUplink(
  sysfs: Sysfs,
  pfNetDir: string,
  note?: NoteSink,
): Promise<Result<{ name: string; switchId: string }, string>> {
  const netdevs = await sysfs.readdir(pfNetDir);
  if (netdevs.length === 0) return err(`it has no netdev (${pfNetDir} is empty)`);
  let fallback: { name: string; switchId: string } | undefined;
  for (const name of netdevs) {
    const switchId = await attr(sysfs, name, 'phys_switch_id');
    if (switchId === undefined) continue;
    const portName = await attr(sysfs, name, 'phys_port_name');
    if (portName !== undefined && /^p\d+$/.test(portName)) return ok({ name, switchId });
    // Older sriovnet accepted a switchdev PF netdev whose phys_port_name cannot be read.
    if (portName === undefined) fallback ??= { name, switchId };
  }
  if (fallback !== undefined) {
    note?.(`uplink ${fallback.name} has no readable phys_port_name; assumed to be the PF port because it has switch id ${fallback.switchId}`);
    return ok(fallback);
  }
  return err(`none of its netdevs (${netdevs.join(', ')}) has a phys_switch_id and phys_port_name p<N>`);
}

async function findRepresentor(
  sysfs: Sysfs,
  switchId: string,
  pfFunction: string,
  vfIndex: number,
  note?: NoteSink,
): Promise<string | undefined> {
  const wanted = `pf${pfFunction}vf${vfIndex}`;
  const { ports } = await portsOf(sysfs, switchId);
  const exact = ports.find((p) => p.portName === wanted);
  if (exact) return exact.name;
  // Kernels before the pf<F>vf<N> naming gave a bare VF number; only trust that form when this
  // switch shows no pf<F>vf<N> name at all, or a bare number could belong to another PF.
  if (ports.some((p) => p.portName !== undefined && /^pf\d+vf\d+$/.test(p.portName))) return undefined;
  const bare = ports.find((p) => p.portName === String(vfIndex));
  if (bare) note?.(`representor ${bare.name} found by the old phys_port_name form ${vfIndex} (no pf<F>vf<N> names on switch ${switchId})`);
  return bare?.name;
}

async function portsOf(sysfs: Sysfs, switchId: string): Promise<SwitchLayout> {
  const ports: SwitchPort[] = [];
  for (const name of await sysfs.readdir(CLASS_NET)) {
    if ((await attr(sysfs, name, 'phys_switch_id')) !== switchId) continue;
    const portName = await attr(sysfs, name, 'phys_port_name');
    ports.push(portName === undefined ? { name } : { name, portName });
  }
  return { switchId, ports };
}

/** The switch `uplink` belongs to and every netdev on it (for layouts that share one block). */
export async function switchPorts(sysfs: Sysfs, uplink: string): Promise<Result<SwitchLayout>> {
  if (!isNetdevName(uplink)) return notFound(uplink, `${JSON.stringify(uplink)} is not a netdev name`);
  const switchId = await attr(sysfs, uplink, 'phys_switch_id');
  if (switchId === undefined) return notFound(uplink, `${uplink} is not a switchdev port (no ${CLASS_NET}/${uplink}/phys_switch_id)`);
  return ok(await portsOf(sysfs, switchId));
}
