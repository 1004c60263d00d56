// Pure: a network-status entry of a switchdev VF interface → an Attachment, or the field that
// makes it unusable. Upstream required `pci-address` even when the CNI wrote
// `representor-device` (accelerated-bridge CNI writes the latter); either one is enough here.
import type { AgentError } from '../../core/api/errors.js';
import { err, ok, type Result } from '../../core/api/result.js';
import type { Attachment, DeviceInfo, NetworkStatusEntry } from '../../core/model/attachment.js';
import type { Pod } from '../../core/model/k8s.js';
import { isNetdevName, normalizePciAddress } from '../sysfs/names.js';

export function pciAttachment(adapter: string, pod: Pod, network: string, status: NetworkStatusEntry): Result<Attachment> {
  const invalid = (field: string, problem: string): { ok: false; error: AgentError } =>
    err({ code: 'attachment-invalid', pod: `${pod.metadata.namespace}/${pod.metadata.name}`, network, field, problem });

  const iface = status.interface;
  if (typeof iface !== 'string' || iface === '') return invalid('interface', 'is missing from the network-status entry');
  const ips = status.ips ?? [];
  if (!Array.isArray(ips) || !ips.every((ip) => typeof ip === 'string')) return invalid('ips', 'is not a list of strings');

  // The annotation is JSON from the pod: check shapes, not just presence.
  const info: unknown = status['device-info'];
  if (!isRecord(info)) return invalid('device-info', 'is missing (a VF pci-address or representor-device is needed)');
  if (info['type'] !== 'pci') return invalid('device-info.type', `is ${JSON.stringify(info['type'])}, expected "pci"`);
  const pci = isRecord(info['pci']) ? info['pci'] : {};
  const address = pci['pci-address'];
  const rep = pci['representor-device'];
  const hasAddress = typeof address === 'string' && address !== '';
  const hasRep = typeof rep === 'string' && rep !== '';
  if (!hasAddress && !hasRep) return invalid('device-info.pci', 'has neither pci-address nor representor-device');
  if (hasRep && !isNetdevName(rep)) return invalid('device-info.pci.representor-device', `${JSON.stringify(rep)} is not a netdev name`);
  // A bad address next to a usable representor-device is never read, so it does not reject the entry.
  if (!hasRep && normalizePciAddress(address as string) === undefined) {
    return invalid('device-info.pci.pci-address', `${JSON.stringify(address)} is not a PCI address (dddd:bb:dd.f)`);
  }

  const deviceInfo: DeviceInfo = {
    type: 'pci',
    ...(typeof info['version'] === 'string' ? { version: info['version'] } : {}),
    pci: {
      ...(hasAddress ? { 'pci-address': address } : {}),
      ...(hasRep ? { 'representor-device': rep } : {}),
      ...(typeof pci['pf-pci-address'] === 'string' ? { 'pf-pci-address': pci['pf-pci-address'] } : {}),
    },
  };
  return ok({
    adapter,
    network,
    interface: iface,
    ips,
    ...(typeof status.mac === 'string' ? { mac: status.mac } : {}),
    deviceInfo,
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
