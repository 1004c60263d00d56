// A CNI adapter for the host-device CNI (`"type": "host-device"`) when the device it moves
// into the pod is a VF of a NIC in switchdev mode. The pod interface is the VF; policies
// are enforced on the VF's representor, which stays on the host.
//
// Where the VF comes from:
//   1. network-status device-info (the SR-IOV device plugin allocated the VF), else
//   2. the NAD config's `pciBusID` (host-device's own way to name a PCI device).
// A config that names the VF only by `device` (a netdev name) cannot be enforced: once the
// netdev is in the pod, the host no longer sees that name.
import { describeError, err, ok, pciAttachment, resolveDeviceNetdev } from 'multi-networkpolicy-tc/plugin-api';

/** @typedef {import('multi-networkpolicy-tc/plugin-api').CniAdapter} CniAdapter */
/** @typedef {import('multi-networkpolicy-tc/plugin-api').AdapterContext} AdapterContext */
/** @typedef {import('multi-networkpolicy-tc/plugin-api').Attachment} Attachment */
/** @typedef {import('multi-networkpolicy-tc/plugin-api').Netdev} Netdev */
/** @typedef {import('multi-networkpolicy-tc/plugin-api').NetworkAttachment} NetworkAttachment */
/** @typedef {import('multi-networkpolicy-tc/plugin-api').NetworkStatusEntry} NetworkStatusEntry */
/** @typedef {import('multi-networkpolicy-tc/plugin-api').Pod} Pod */
/** @typedef {import('multi-networkpolicy-tc/plugin-api').Logger} Logger */
/** @typedef {import('multi-networkpolicy-tc/plugin-api').Sysfs} Sysfs */
/**
 * @template T
 * @typedef {import('multi-networkpolicy-tc/plugin-api').Result<T>} Result
 */

/** @implements {CniAdapter} */
export class HostDeviceAdapter {
  /**
   * @param {Sysfs} sysfs the host's /sys, read-only (a fake tree in tests)
   * @param {Logger} logger the agent's pino logger
   */
  constructor(sysfs, logger) {
    /** @readonly */
    this.name = 'host-device';
    this.sysfs = sysfs;
    this.log = logger.child({ component: 'adapter', plugin: this.name });
  }

  /**
   * Pure: is this network one of ours?
   * @param {NetworkAttachment} net
   * @returns {boolean}
   */
  handles(net) {
    return net.cniType === 'host-device';
  }

  /**
   * Pure: the attachment of one network-status entry, or why it cannot be enforced.
   * @param {Pod} pod
   * @param {NetworkAttachment} net
   * @param {NetworkStatusEntry} status
   * @param {AdapterContext} _ctx
   * @returns {Result<Attachment>}
   */
  attachment(pod, net, status, _ctx) {
    if (status['device-info'] !== undefined) return pciAttachment(this.name, pod, net.key, status);
    const pciBusID = net.config['pciBusID'];
    if (typeof pciBusID === 'string' && pciBusID !== '') {
      return pciAttachment(this.name, pod, net.key, { ...status, 'device-info': { type: 'pci', pci: { 'pci-address': pciBusID } } });
    }
    return err({
      code: 'attachment-invalid',
      pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
      network: net.key,
      field: 'config pciBusID',
      problem: 'is missing and network-status has no device-info: name the VF by pciBusID (a netdev name cannot be found once it is in the pod)',
    });
  }

  /**
   * Reads sysfs: the VF's representor, with the agent's shared resolver.
   * @param {Attachment} a
   * @returns {Promise<Result<readonly Netdev[]>>}
   */
  async resolveNetdevs(a) {
    const note = (/** @type {string} */ n) => this.log.warn({ network: a.network, interface: a.interface, note: n }, 'representor lookup degraded');
    const dev = await resolveDeviceNetdev(this.sysfs, a, { verifyRepresentor: true }, note);
    if (!dev.ok) {
      this.log.debug({ error: describeError(dev.error) }, 'no representor');
      return dev;
    }
    return ok([dev.value]);
  }
}
