// select: which interfaces of the pods on this node are enforced, and by which adapter.
// Pure: adapters are only asked their pure questions (handles, attachment).
import type { CniAdapter } from '../api/cni-adapter.js';
import { describeError } from '../api/errors.js';
import type { Endpoint } from '../model/attachment.js';
import type { ClusterIndex } from './cluster-index.js';
import { sameNode } from './node-name.js';

export interface Skipped {
  readonly pod: string;
  readonly network?: string;
  readonly interface?: string;
  readonly reason: 'not-running' | 'host-network' | 'network-status-invalid' | 'no-network' | 'not-handled' | 'attachment-invalid' | 'bond-member';
  readonly detail: string;
}

export interface Selection {
  readonly endpoints: readonly Endpoint[];
  readonly skipped: readonly Skipped[];
}

export type PureAdapter = Pick<CniAdapter, 'name' | 'handles' | 'attachment'>;

export function select(index: ClusterIndex, nodeName: string, adapters: readonly PureAdapter[]): Selection {
  const endpoints: Endpoint[] = [];
  const skipped: Skipped[] = [];
  // one answer per distinct node name, not per pod (50 000 pods sit on a few hundred nodes)
  const onThisNode = new Map<string, boolean>();
  for (const p of index.pods) {
    const node = p.pod.spec.nodeName ?? '';
    let here = onThisNode.get(node);
    if (here === undefined) onThisNode.set(node, (here = sameNode(node, nodeName)));
    if (!here) continue;
    if (!p.eligible) {
      const reason = p.pod.spec.hostNetwork === true ? 'host-network' : 'not-running';
      skipped.push({ pod: p.key, reason, detail: reason === 'host-network' ? 'hostNetwork pods are never policy targets' : `phase ${p.pod.status?.phase ?? 'unknown'}` });
      continue;
    }
    if (p.statusError !== undefined) {
      skipped.push({ pod: p.key, reason: 'network-status-invalid', detail: p.statusError });
      continue;
    }
    const podRef = { namespace: p.pod.metadata.namespace, name: p.pod.metadata.name, uid: p.pod.metadata.uid ?? p.key };
    const mine: Endpoint[] = [];
    for (const status of p.statuses) {
      if (status.default === true) continue;
      const net = index.networks.get(status.name);
      if (!net) {
        skipped.push({ pod: p.key, network: status.name, reason: 'no-network', detail: `no NetworkAttachmentDefinition ${status.name}` });
        continue;
      }
      const adapter = adapters.find((a) => a.handles(net));
      if (!adapter) {
        skipped.push({ pod: p.key, network: status.name, reason: 'not-handled', detail: `CNI type '${net.cniType}' is not in --network-plugins` });
        continue;
      }
      const att = adapter.attachment(p.pod, net, status, { statuses: p.statuses, networks: index.networks });
      if (!att.ok) {
        skipped.push({ pod: p.key, network: status.name, reason: 'attachment-invalid', detail: describeError(att.error) });
        continue;
      }
      mine.push({ key: `${p.key}/${att.value.interface}`, pod: podRef, attachment: att.value });
    }
    // A bond's links are enforced through the bond (its addresses, its policies), never twice.
    const memberIfaces = new Set(mine.flatMap((e) => (e.attachment.members ?? []).map((m) => m.interface)));
    for (const e of mine) {
      if (memberIfaces.has(e.attachment.interface)) {
        skipped.push({ pod: p.key, network: e.attachment.network, interface: e.attachment.interface, reason: 'bond-member', detail: 'enforced through its bond' });
      } else endpoints.push(e);
    }
  }
  endpoints.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { endpoints, skipped };
}
