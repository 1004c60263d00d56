// The sriov adapter: VF interfaces of sriov-cni networks, enforced on the representor found
// through sysfs (sriov-cni never names it), with the resolver the other PCI adapters use.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeError } from '../../../core/api/errors.js';
import type { CniAdapter } from '../../../core/api/cni-adapter.js';
import manifest from '../../../plugins/sriov/index.js';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';
import * as sharedResolver from '../../../plugins/sysfs/device-netdev.js';
import { context, loadAdapter, network, pod, vfStatus } from '../fixtures/adapters.js';
import { buildSysfs, type SysfsTree } from '../fixtures/sysfs-tree.js';
import { readFile } from 'node:fs/promises';

const net = network('default/sriov-a', 'sriov', { vlan: 100, ipam: { type: 'whereabouts' } });
const noCtx = context([], [net]);

describe('sriov adapter', () => {
  let tree: SysfsTree;
  let adapter: CniAdapter;
  before(async () => {
    tree = await buildSysfs();
    adapter = loadAdapter(manifest, new NodeSysfs(tree.root), undefined);
  });
  after(() => tree.cleanup());

  test('the manifest declares a cni-adapter named sriov with API version 1', () => {
    assert.deepEqual(manifest.meta, { name: 'sriov', kind: 'cni-adapter', apiVersion: 1 });
    assert.equal(adapter.name, 'sriov');
  });

  test('handles only networks whose CNI type is sriov (a conflist is typed by its first plugin)', () => {
    assert.equal(adapter.handles(net), true);
    assert.equal(adapter.handles(network('default/accel', 'accelerated-bridge')), false);
    assert.equal(adapter.handles(network('default/host', 'host-device')), false);
  });

  test('the VF pci-address from device-info (the device plugin) becomes the attachment', () => {
    const status = vfStatus('default/sriov-a', 'net1', { 'pci-address': '0000:03:00.4' }, { ips: ['10.1.1.7'] });
    const r = adapter.attachment(pod, net, status, noCtx);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.value.adapter, 'sriov');
    assert.equal(r.value.network, 'default/sriov-a');
    assert.deepEqual(r.value.ips, ['10.1.1.7']);
    assert.equal(r.value.deviceInfo?.pci?.['pci-address'], '0000:03:00.4');
  });

  test('the representor of that VF is found through sysfs: 0000:03:00.4 is VF 2 of PF0 -> eth2', async () => {
    const a = adapter.attachment(pod, net, vfStatus('default/sriov-a', 'net1', { 'pci-address': '0000:03:00.4' }), noCtx);
    assert.ok(a.ok);
    assert.deepEqual(await adapter.resolveNetdevs(a.value), { ok: true, value: [{ name: 'eth2' }] });
  });

  test('a VF of the second PF resolves on that PF (pf1vf0 -> eth10)', async () => {
    const a = adapter.attachment(pod, net, vfStatus('default/sriov-a', 'net1', { 'pci-address': '0000:03:08.0' }), noCtx);
    assert.ok(a.ok);
    assert.deepEqual(await adapter.resolveNetdevs(a.value), { ok: true, value: [{ name: 'eth10' }] });
  });

  test('without device-info the config deviceID names the VF, as sriov-cni reads it', async () => {
    const fixed = network('default/sriov-fixed', 'sriov', { deviceID: '0000:03:00.3' });
    const r = adapter.attachment(pod, fixed, { name: 'default/sriov-fixed', interface: 'net2', ips: ['10.1.2.5'] }, context([], [fixed]));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.value.deviceInfo, { type: 'pci', pci: { 'pci-address': '0000:03:00.3' } });
    assert.deepEqual(await adapter.resolveNetdevs(r.value), { ok: true, value: [{ name: 'eth1' }] });
  });

  test('device-info wins over a config deviceID', () => {
    const fixed = network('default/sriov-fixed', 'sriov', { deviceID: '0000:03:00.3' });
    const r = adapter.attachment(pod, fixed, vfStatus('default/sriov-fixed', 'net1', { 'pci-address': '0000:03:00.2' }), context([], [fixed]));
    assert.ok(r.ok);
    assert.equal(r.value.deviceInfo?.pci?.['pci-address'], '0000:03:00.2');
  });

  test('neither device-info nor deviceID: the interface cannot be enforced, and the message says what is missing', () => {
    const r = adapter.attachment(pod, net, { name: 'default/sriov-a', interface: 'net1', ips: [] }, noCtx);
    assert.ok(!r.ok);
    assert.match(describeError(r.error), /pod default\/pod-a network default\/sriov-a: device-info is missing/);
  });

  test('a VF of a NIC in legacy mode (no switchdev) has no representor: the error names the PF and the mode', async () => {
    const a = adapter.attachment(pod, net, vfStatus('default/sriov-a', 'net1', { 'pci-address': '0000:05:00.2' }), noCtx);
    assert.ok(a.ok);
    const r = await adapter.resolveNetdevs(a.value);
    assert.ok(!r.ok);
    assert.match(describeError(r.error), /0000:05:00\.2: PF 0000:05:00\.0 of VF 0000:05:00\.2 is not in switchdev mode/);
  });

  test('a pci-address that is not a VF on this host is a representor-not-found error, not a throw', async () => {
    const a = adapter.attachment(pod, net, vfStatus('default/sriov-a', 'net1', { 'pci-address': '0000:00:1f.0' }), noCtx);
    assert.ok(a.ok);
    const r = await adapter.resolveNetdevs(a.value);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'representor-not-found');
  });

  test('the adapter shares the sysfs resolver instead of carrying its own copy', async () => {
    const src = await readFile(new URL('../../../plugins/sriov/adapter.ts', import.meta.url), 'utf8');
    assert.match(src, /from '\.\.\/sysfs\/device-netdev\.js'/);
    assert.doesNotMatch(src, /physfn|virtfn|phys_switch_id/, 'no sysfs walking of its own');
    assert.equal(typeof sharedResolver.resolveDeviceNetdev, 'function');
  });
});
