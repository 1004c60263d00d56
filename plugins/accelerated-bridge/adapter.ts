// CNI adapter for accelerated-bridge: one pod interface = one VF, enforced on its representor.
import { inject, injectable, optional } from 'inversify';
import type { AdapterContext, CniAdapter } from '../../core/api/cni-adapter.js';
import { Logger, Sysfs } from '../../core/api/ports.js';
import { err, ok, type Result } from '../../core/api/result.js';
import type { Attachment, Eswitch, Netdev, NetworkAttachment, NetworkStatusEntry } from '../../core/model/attachment.js';
import type { Pod } from '../../core/model/k8s.js';
import { resolveDeviceNetdev } from '../sysfs/device-netdev.js';
import { eswitchOf } from '../sysfs/eswitch.js';
import { AcceleratedBridgeOptions } from './options.js';
import { pciAttachment } from './pci-attachment.js';

/** The CNI type, and the adapter name bond members carry. */
export const ACCELERATED_BRIDGE = 'accelerated-bridge';

@injectable()
export class AcceleratedBridgeAdapter implements CniAdapter {
  readonly name = ACCELERATED_BRIDGE;
  private readonly log: Logger;
  private readonly verifyRepresentor: boolean;

  constructor(
    @inject(Sysfs) private readonly sysfs: Sysfs,
    @inject(Logger) root: Logger,
    @inject(AcceleratedBridgeOptions) @optional() options?: AcceleratedBridgeOptions,
  ) {
    this.log = root.child({ component: 'adapter', plugin: this.name });
    this.verifyRepresentor = options?.verifyRepresentor ?? true;
  }

  handles(net: NetworkAttachment): boolean {
    return net.cniType === ACCELERATED_BRIDGE;
  }

  attachment(pod: Pod, net: NetworkAttachment, status: NetworkStatusEntry, _ctx: AdapterContext): Result<Attachment> {
    return pciAttachment(this.name, pod, net.key, status);
  }

  eswitchOf(rep: Netdev): Promise<Result<Eswitch | null>> {
    return eswitchOf(this.sysfs, rep.name);
  }

  async resolveNetdevs(a: Attachment): Promise<Result<readonly Netdev[]>> {
    const note = (n: string): void => this.log.warn({ network: a.network, interface: a.interface, note: n }, 'representor lookup degraded');
    const dev = await resolveDeviceNetdev(this.sysfs, a, { verifyRepresentor: this.verifyRepresentor }, note);
    return dev.ok ? ok([dev.value]) : err(dev.error);
  }
}
