// Plugin contract: a CNI adapter maps pod interfaces of the CNI types it handles to the
// netdevs (VF representors) that enforce them.
import type { Attachment, Eswitch, Netdev, NetworkAttachment, NetworkStatusEntry } from '../model/attachment.js';
import type { Pod } from '../model/k8s.js';
import type { Result } from './result.js';

export const CniAdapter = Symbol.for('mnp-tc.CniAdapter');

export interface AdapterContext {
  /** Every network-status entry of the pod, names normalised to `namespace/name`. */
  readonly statuses: readonly NetworkStatusEntry[];
  /** NADs by `namespace/name`, for adapters whose attachments span several networks. */
  readonly networks: ReadonlyMap<string, NetworkAttachment>;
}

export interface CniAdapter {
  /** The `--network-plugins` name, usually the CNI type: `accelerated-bridge`. */
  readonly name: string;
  /** Pure: does this adapter enforce attachments of this network? */
  handles(net: NetworkAttachment): boolean;
  /** Pure: the attachment of `status` (an entry on a handled network), or why it cannot be enforced. */
  attachment(pod: Pod, net: NetworkAttachment, status: NetworkStatusEntry, ctx: AdapterContext): Result<Attachment>;
  /** Reads the host (sysfs) to find the netdevs that enforce the attachment. */
  resolveNetdevs(a: Attachment): Promise<Result<readonly Netdev[]>>;
  /**
   * Shared-block layout only: the eswitch of a representor this adapter resolved (its
   * uplink and sibling ports, from sysfs); ok(null) when it reports none (not in switchdev
   * mode, a veth). Optional: without it, or on null, `--uplink` names a stand-in switch.
   */
  eswitchOf?(rep: Netdev): Promise<Result<Eswitch | null>>;
}
