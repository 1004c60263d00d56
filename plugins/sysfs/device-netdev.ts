// The netdev that enforces a PCI attachment, from its network-status device-info: the
// `representor-device` when the CNI wrote one (it knows best), else the representor of the
// VF `pci-address` looked up in sysfs. Shared by every adapter of a switchdev VF CNI.
import type { Sysfs } from '../../core/api/ports.js';
import { err, ok, type Result } from '../../core/api/result.js';
import type { Attachment, Netdev } from '../../core/model/attachment.js';
import { isNetdevName } from './names.js';
import { resolveRepresentor, type NoteSink } from './representor-resolver.js';

export interface DeviceNetdevOptions {
  /** Check that a `representor-device` exists on the host before trusting it. */
  readonly verifyRepresentor: boolean;
}

export async function resolveDeviceNetdev(
  sysfs: Sysfs,
  a: Attachment,
  opts: DeviceNetdevOptions,
  note?: NoteSink,
): Promise<Result<Netdev>> {
  // Attachments normally come from attachment(), but the fields are checked again: this runs
  // for any adapter, and a junk value must not reach a path or a template string.
  const pci: unknown = a.deviceInfo?.pci;
  const field = (name: string): string | undefined => {
    const v: unknown = typeof pci === 'object' && pci !== null ? (pci as Record<string, unknown>)[name] : undefined;
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const rep = field('representor-device');
  const address = field('pci-address');
  const device = rep ?? address ?? `${String(a.network)} ${String(a.interface)}`;
  try {
    if (rep !== undefined) return await checkRepresentor(sysfs, rep, opts);
    if (address === undefined) {
      return err({ code: 'representor-not-found', device, cause: 'device-info has neither representor-device nor pci-address' });
    }
    return await resolveRepresentor(sysfs, address, note);
  } catch (e) {
    // The port throws only for real faults (EACCES, EIO); they must not escape resolveNetdevs.
    return err({ code: 'representor-not-found', device, cause: `reading sysfs failed: ${e instanceof Error ? e.message : String(e)}` });
  }
}

async function checkRepresentor(sysfs: Sysfs, rep: string, opts: DeviceNetdevOptions): Promise<Result<Netdev>> {
  if (!isNetdevName(rep)) return err({ code: 'representor-not-found', device: rep, cause: `representor-device ${JSON.stringify(rep)} is not a netdev name` });
  if (opts.verifyRepresentor && (await sysfs.readFile(`/sys/class/net/${rep}/ifindex`)) === undefined) {
    return err({ code: 'representor-not-found', device: rep, cause: `representor-device ${rep} from network-status does not exist on this host (no /sys/class/net/${rep})` });
  }
  return ok({ name: rep });
}
