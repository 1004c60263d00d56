// CNI adapter for the bond CNI over accelerated-bridge VFs. The bond interface carries the IPs;
// its frames leave through the member VFs, so enforcement happens on every member's representor.
import { inject, injectable, optional } from 'inversify';
import type { AdapterContext, CniAdapter } from '../../core/api/cni-adapter.js';
import type { AgentError } from '../../core/api/errors.js';
import { Logger, Sysfs } from '../../core/api/ports.js';
import { err, ok, type Result } from '../../core/api/result.js';
import type { Attachment, Eswitch, Netdev, NetworkAttachment, NetworkStatusEntry } from '../../core/model/attachment.js';
import type { Pod } from '../../core/model/k8s.js';
import { ACCELERATED_BRIDGE } from '../accelerated-bridge/adapter.js';
import { pciAttachment } from '../accelerated-bridge/pci-attachment.js';
import { resolveDeviceNetdev } from '../sysfs/device-netdev.js';
import { eswitchOf } from '../sysfs/eswitch.js';
import { bondLinks } from './links.js';
import { BondOptions } from './options.js';

@injectable()
export class BondAdapter implements CniAdapter {
  readonly name = 'bond';
  private readonly log: Logger;
  private readonly verifyRepresentor: boolean;

  constructor(
    @inject(Sysfs) private readonly sysfs: Sysfs,
    @inject(Logger) root: Logger,
    @inject(BondOptions) @optional() options?: BondOptions,
  ) {
    this.log = root.child({ component: 'adapter', plugin: this.name });
    this.verifyRepresentor = options?.verifyRepresentor ?? true;
  }

  handles(net: NetworkAttachment): boolean {
    return net.cniType === 'bond';
  }

  attachment(pod: Pod, net: NetworkAttachment, status: NetworkStatusEntry, ctx: AdapterContext): Result<Attachment> {
    const invalid = (field: string, problem: string): { ok: false; error: AgentError } =>
      err({ code: 'attachment-invalid', pod: `${pod.metadata.namespace}/${pod.metadata.name}`, network: net.key, field, problem });

    const iface = status.interface;
    if (typeof iface !== 'string' || iface === '') return invalid('interface', 'is missing from the network-status entry');
    const ips = status.ips ?? [];
    if (!Array.isArray(ips) || !ips.every((ip) => typeof ip === 'string')) return invalid('ips', 'is not a list of strings');
    const links = bondLinks(net.config);
    if (!links.ok) return invalid('config links', links.error);

    const members: Attachment[] = [];
    for (const link of links.value) {
      const entry = ctx.statuses.find((s) => s !== status && s.interface === link);
      if (entry === undefined) return invalid(`bond link ${link}`, 'has no network-status entry in the pod');
      if (typeof entry.name !== 'string') return invalid(`bond link ${link}`, 'has a network-status entry without a network name');
      const memberNet = ctx.networks.get(entry.name);
      if (memberNet?.cniType !== ACCELERATED_BRIDGE) {
        const what = memberNet === undefined ? 'which has no NetworkAttachmentDefinition' : `of CNI type ${JSON.stringify(memberNet.cniType)}`;
        return invalid(`bond link ${link}`, `is on network ${entry.name}, ${what}; bond members must be on accelerated-bridge networks`);
      }
      const member = pciAttachment(ACCELERATED_BRIDGE, pod, entry.name, entry);
      if (!member.ok) {
        const e = member.error;
        return e.code === 'attachment-invalid' ? invalid(`bond link ${link} (network ${entry.name}) ${e.field}`, e.problem) : member;
      }
      members.push(member.value);
    }
    return ok({ adapter: this.name, network: net.key, interface: iface, ips, ...(typeof status.mac === 'string' ? { mac: status.mac } : {}), members });
  }

  eswitchOf(rep: Netdev): Promise<Result<Eswitch | null>> {
    return eswitchOf(this.sysfs, rep.name);
  }

  async resolveNetdevs(a: Attachment): Promise<Result<readonly Netdev[]>> {
    const members = Array.isArray(a.members) ? a.members : [];
    if (members.length === 0) return err({ code: 'representor-not-found', device: `${a.network} ${a.interface}`, cause: 'the bond attachment has no members' });
    const netdevs: Netdev[] = [];
    for (const m of members) {
      const note = (n: string): void => this.log.warn({ network: a.network, interface: a.interface, member: m.interface, note: n }, 'representor lookup degraded');
      const dev = await resolveDeviceNetdev(this.sysfs, m, { verifyRepresentor: this.verifyRepresentor }, note);
      if (!dev.ok) {
        const e = dev.error;
        return err(e.code === 'representor-not-found' ? { ...e, cause: `bond ${a.interface} member ${m.interface}: ${e.cause}` } : e);
      }
      if (!netdevs.some((d) => d.name === dev.value.name)) netdevs.push(dev.value);
    }
    return ok(netdevs);
  }
}
