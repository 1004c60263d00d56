// CNI adapter for the SR-IOV CNI (`"type": "sriov"`) on a NIC in switchdev mode: one pod
// interface = one VF, enforced on the VF's representor. Unlike accelerated-bridge, sriov-cni
// never writes `representor-device`: network-status carries the VF `pci-address` that the
// device plugin allocated (Multus copies its device-info), so the representor is always found
// through sysfs, with the resolver every PCI adapter shares (plugins/sysfs).
//
// Without device-info (a NAD used without the device plugin), the VF is the config's
// `deviceID`, as sriov-cni itself reads it.
import { inject, injectable } from 'inversify';
import type { AdapterContext, CniAdapter } from '../../core/api/cni-adapter.js';
import { Logger, Sysfs } from '../../core/api/ports.js';
import { err, ok, type Result } from '../../core/api/result.js';
import type { Attachment, Eswitch, Netdev, NetworkAttachment, NetworkStatusEntry } from '../../core/model/attachment.js';
import type { Pod } from '../../core/model/k8s.js';
import { pciAttachment } from '../accelerated-bridge/pci-attachment.js';
import { resolveDeviceNetdev } from '../sysfs/device-netdev.js';
import { eswitchOf } from '../sysfs/eswitch.js';

export const SRIOV = 'sriov';

@injectable()
export class SriovAdapter implements CniAdapter {
  readonly name = SRIOV;
  private readonly log: Logger;

  constructor(
    @inject(Sysfs) private readonly sysfs: Sysfs,
    @inject(Logger) root: Logger,
  ) {
    this.log = root.child({ component: 'adapter', plugin: this.name });
  }

  handles(net: NetworkAttachment): boolean {
    return net.cniType === SRIOV;
  }

  attachment(pod: Pod, net: NetworkAttachment, status: NetworkStatusEntry, _ctx: AdapterContext): Result<Attachment> {
    return pciAttachment(this.name, pod, net.key, withConfigDevice(status, net));
  }

  eswitchOf(rep: Netdev): Promise<Result<Eswitch | null>> {
    return eswitchOf(this.sysfs, rep.name);
  }

  async resolveNetdevs(a: Attachment): Promise<Result<readonly Netdev[]>> {
    const note = (n: string): void => this.log.warn({ network: a.network, interface: a.interface, note: n }, 'representor lookup degraded');
    // A representor-device would be trusted if some CNI version wrote one; sriov-cni does not.
    const dev = await resolveDeviceNetdev(this.sysfs, a, { verifyRepresentor: true }, note);
    return dev.ok ? ok([dev.value]) : err(dev.error);
  }
}

/** The status, with device-info made from the config's `deviceID` when the status has none. */
function withConfigDevice(status: NetworkStatusEntry, net: NetworkAttachment): NetworkStatusEntry {
  if (status['device-info'] !== undefined) return status;
  const id = net.config['deviceID'];
  if (typeof id !== 'string' || id === '') return status;
  return { ...status, 'device-info': { type: 'pci', pci: { 'pci-address': id } } };
}
