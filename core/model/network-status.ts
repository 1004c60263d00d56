// Reads a pod's `k8s.v1.cni.cncf.io/network-status` annotation (written by Multus): one entry
// per interface. Names are normalised to `namespace/name` so they compare equal to
// policy-for entries and NAD keys (upstream kept the raw name, so `net1` never matched).
import type { ValidateFunction } from 'ajv';
import { err, ok, type Result } from '../api/result.js';
import type { NetworkStatusEntry } from './attachment.js';
import { NETWORK_STATUS_ANNOTATION, type Pod } from './k8s.js';
import { makeAjv } from './schemas/ajv.js';
import { formatPath } from './schemas/field-path.js';
import { parseIp } from './schemas/ip.js';
import { firstProblem } from './schemas/problem.js';

export interface NetworkStatus {
  readonly entries: readonly NetworkStatusEntry[];
  /** The annotation is not valid JSON or not a list of entries: then there are no entries. */
  readonly error?: string;
  /** Parts that were dropped: invalid IPs, entries without a usable name. */
  readonly warnings: readonly string[];
}

const str = { type: 'string' } as const;
const statusSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['name'],
    properties: {
      name: str,
      interface: str,
      ips: { type: 'array', items: str },
      mac: str,
      default: { type: 'boolean' },
      'device-info': {
        type: 'object',
        required: ['type'],
        properties: {
          type: str,
          version: str,
          pci: {
            type: 'object',
            properties: { 'pci-address': str, 'representor-device': str, 'pf-pci-address': str },
          },
        },
      },
    },
  },
} as const;

const checkStatus: ValidateFunction<NetworkStatusEntry[]> = makeAjv().compile<NetworkStatusEntry[]>(statusSchema);

/** `ns/name` stays, `name` gets `namespace`, anything else (`a/b/c`, `/x`) is unusable. */
function normaliseName(raw: string, namespace: string): string | undefined {
  const parts = raw.split('/').map((p) => p.trim());
  if (parts.length === 1 && parts[0]) return `${namespace}/${parts[0]}`;
  if (parts.length === 2 && parts[0] && parts[1]) return `${parts[0]}/${parts[1]}`;
  return undefined;
}

export function parseNetworkStatus(pod: Pod): NetworkStatus {
  const text = pod.metadata.annotations?.[NETWORK_STATUS_ANNOTATION];
  if (text === undefined) return { entries: [], warnings: [] };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { entries: [], warnings: [], error: `${NETWORK_STATUS_ANNOTATION} is not valid JSON: ${(e as Error).message}` };
  }
  if (!checkStatus(data)) {
    const p = firstProblem(checkStatus.errors, data);
    return { entries: [], warnings: [], error: `${NETWORK_STATUS_ANNOTATION}${formatPath(p.path)}: ${p.problem}` };
  }
  const warnings: string[] = [];
  const entries: NetworkStatusEntry[] = [];
  for (const [i, e] of data.entries()) {
    const name = e.name === '' && e.default === true ? '' : normaliseName(e.name, pod.metadata.namespace);
    if (name === undefined) {
      warnings.push(`entry [${i}] dropped: network name ${JSON.stringify(e.name)} is not "name" or "namespace/name"`);
      continue;
    }
    const ips = (e.ips ?? []).filter((ip) => {
      if (parseIp(ip) !== undefined) return true;
      warnings.push(`entry [${i}] (${name}): invalid IP ${JSON.stringify(ip)} dropped`);
      return false;
    });
    entries.push({
      name,
      ...(e.interface !== undefined ? { interface: e.interface } : {}),
      ...(e.ips !== undefined ? { ips } : {}),
      ...(e.mac !== undefined ? { mac: e.mac } : {}),
      ...(e.default !== undefined ? { default: e.default } : {}),
      ...(e['device-info'] !== undefined ? { 'device-info': e['device-info'] } : {}),
    });
  }
  return { entries, warnings };
}

/** The addresses of `pod` on `network` (`namespace/name`), over all its interfaces there. */
export function podAddresses(pod: Pod, network: string): string[] {
  return parseNetworkStatus(pod)
    .entries.filter((e) => e.name === network)
    .flatMap((e) => e.ips ?? []);
}

/** The PCI address of a VF interface, or why the entry has none (upstream GetDeviceIDFromNetworkStatus). */
export function pciAddress(entry: NetworkStatusEntry): Result<string, string> {
  const info = entry['device-info'];
  if (info === undefined) return err('no device-info');
  if (info.type !== 'pci') return err(`device-info type is ${JSON.stringify(info.type)}, not "pci"`);
  if (info.pci === undefined) return err('device-info has no pci section');
  const address = info.pci['pci-address'];
  if (!address) return err('device-info pci-address is empty');
  return ok(address);
}
