// Endpoint → the netdevs that enforce it. On a host the adapter that accepted the attachment
// answers (it reads sysfs). With the dry-run driver there is no host to ask, so the netdev is
// the `representor-device` the CNI wrote into network-status (each bond member's, for a bond).
import type { CniAdapter } from '../api/cni-adapter.js';
import { err, ok, type Result } from '../api/result.js';
import type { Attachment, Eswitch, Netdev } from '../model/attachment.js';
import type { NetdevResolver, SharedBlockLayout } from './reconciler.js';

export function adapterResolver(adapters: readonly CniAdapter[]): NetdevResolver {
  return async (ep) => {
    const a = adapters.find((x) => x.name === ep.attachment.adapter);
    if (!a) return err({ code: 'representor-not-found', device: ep.key, cause: `no adapter ${ep.attachment.adapter} is loaded` });
    return a.resolveNetdevs(ep.attachment);
  };
}

/** The kernel's rule for interface names (dev_valid_name). */
const isIfname = (s: string): boolean => s.length > 0 && Buffer.byteLength(s) < 16 && s !== '.' && s !== '..' && !/[/:\s#"'\\]/.test(s);

function offlineNetdev(a: Attachment): Result<Netdev> {
  const rep = a.deviceInfo?.pci?.['representor-device'];
  if (rep === undefined || rep === '') {
    return err({ code: 'representor-not-found', device: a.deviceInfo?.pci?.['pci-address'] ?? `${a.network} ${a.interface}`, cause: 'without a host to read (dry-run), network-status must name the representor-device' });
  }
  if (!isIfname(rep)) return err({ code: 'representor-not-found', device: rep, cause: `representor-device ${JSON.stringify(rep)} is not a netdev name` });
  return ok({ name: rep });
}

export const offlineResolver: NetdevResolver = async (ep) => {
  const parts = ep.attachment.members && ep.attachment.members.length > 0 ? ep.attachment.members : [ep.attachment];
  const out: Netdev[] = [];
  for (const m of parts) {
    const r = offlineNetdev(m);
    if (!r.ok) return r;
    out.push(r.value);
  }
  return ok(out);
};

/**
 * The shared-block layout's view of the host: the adapter that accepted the attachment
 * names the representor's eswitch (sysfs); an adapter that cannot, or the dry-run driver
 * (no host), leaves it to the `--uplink` stand-in.
 */
export function sharedBlockLayout(adapters: readonly CniAdapter[] | null, uplink: string | undefined): SharedBlockLayout {
  return {
    ...(uplink !== undefined ? { uplink } : {}),
    eswitchOf: async (ep, rep): Promise<Result<Eswitch | null>> => {
      const a = adapters?.find((x) => x.name === ep.attachment.adapter);
      if (!a?.eswitchOf) return ok(null);
      return a.eswitchOf(rep);
    },
  };
}
