import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeError } from '../../../core/api/errors.js';
import type { CniAdapter } from '../../../core/api/cni-adapter.js';
import type { Result } from '../../../core/api/result.js';
import type { Attachment, NetworkStatusEntry } from '../../../core/model/attachment.js';
import manifest from '../../../plugins/accelerated-bridge/index.js';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';
import { captureLog, context, loadAdapter, network, pod, vfStatus } from '../fixtures/adapters.js';
import { buildSysfs, SWITCH_ID, withPf, type SysfsTree } from '../fixtures/sysfs-tree.js';

const net = network('default/accel-a', 'accelerated-bridge');
const noCtx = context([], [net]);

function invalid(r: Result<unknown>): { field: string; text: string } {
  assert.equal(r.ok, false, `expected attachment-invalid, got ${JSON.stringify(r)}`);
  if (r.ok || r.error.code !== 'attachment-invalid') throw new Error(`wrong result ${JSON.stringify(r)}`);
  return { field: r.error.field, text: describeError(r.error) };
}

describe('accelerated-bridge adapter', () => {
  let tree: SysfsTree;
  let adapter: CniAdapter;
  before(async () => {
    tree = await buildSysfs();
    adapter = loadAdapter(manifest, new NodeSysfs(tree.root), undefined);
  });
  after(() => tree.cleanup());

  test('the manifest declares a cni-adapter named accelerated-bridge with API version 1', () => {
    assert.deepEqual(manifest.meta, { name: 'accelerated-bridge', kind: 'cni-adapter', apiVersion: 1 });
    assert.equal(adapter.name, 'accelerated-bridge');
  });

  test('handles only networks whose CNI type is accelerated-bridge', () => {
    assert.equal(adapter.handles(net), true);
    assert.equal(adapter.handles(network('default/sriov', 'sriov')), false);
    assert.equal(adapter.handles(network('default/bond', 'bond')), false);
    assert.equal(adapter.handles(network('default/broken', '')), false);
  });

  describe('attachment()', () => {
    test('a status with a PCI address becomes an attachment with interface, ips, mac and device-info', () => {
      const status = vfStatus('default/accel-a', 'net1', { 'pci-address': '0000:03:00.2' }, { ips: ['10.1.1.101', 'fd00::5'] });
      assert.deepEqual(adapter.attachment(pod, net, status, noCtx), {
        ok: true,
        value: {
          adapter: 'accelerated-bridge',
          network: 'default/accel-a',
          interface: 'net1',
          ips: ['10.1.1.101', 'fd00::5'],
          mac: '02:00:00:00:00:01',
          deviceInfo: status['device-info'],
        },
      });
    });

    test('missing ips are an empty list, not an error', () => {
      const { ips: _ips, ...status } = vfStatus('default/accel-a', 'net1', { 'pci-address': '0000:03:00.2' });
      const r = adapter.attachment(pod, net, status, noCtx);
      assert.ok(r.ok);
      assert.deepEqual(r.value.ips, []);
    });

    test('representor-device alone is enough (upstream wrongly required pci-address too)', () => {
      const r = adapter.attachment(pod, net, vfStatus('default/accel-a', 'net1', { 'representor-device': 'eth1' }), noCtx);
      assert.ok(r.ok, JSON.stringify(r));
    });

    test('a missing interface name is rejected naming the field', () => {
      const { interface: _i, ...status } = vfStatus('default/accel-a', 'net1', { 'pci-address': '0000:03:00.2' });
      const e = invalid(adapter.attachment(pod, net, status, noCtx));
      assert.equal(e.field, 'interface');
      assert.equal(e.text, 'pod default/pod-a network default/accel-a: interface is missing from the network-status entry');
    });

    const rejected: [string, NetworkStatusEntry, string, RegExp][] = [
      ['no device-info', { name: 'default/accel-a', interface: 'net1' }, 'device-info', /is missing/],
      ['device-info of type netdev', { name: 'default/accel-a', interface: 'net1', 'device-info': { type: 'netdev' } }, 'device-info.type', /is "netdev", expected "pci"/],
      ['a pci type without the pci object', { name: 'default/accel-a', interface: 'net1', 'device-info': { type: 'pci' } }, 'device-info.pci', /neither pci-address nor representor-device/],
      ['empty pci-address and representor-device', vfStatus('default/accel-a', 'net1', { 'pci-address': '', 'representor-device': '' }), 'device-info.pci', /neither/],
      ['a path in pci-address', vfStatus('default/accel-a', 'net1', { 'pci-address': '../../etc' }), 'device-info.pci.pci-address', /"..\/..\/etc" is not a PCI address/],
      ['a path in representor-device', vfStatus('default/accel-a', 'net1', { 'representor-device': '../../etc' }), 'device-info.pci.representor-device', /is not a netdev name/],
      ['ips that are not strings', { ...vfStatus('default/accel-a', 'net1', { 'pci-address': '0000:03:00.2' }), ips: [5] as unknown as string[] }, 'ips', /not a list of strings/],
    ];
    for (const [what, status, field, problem] of rejected) {
      test(`${what} is rejected as attachment-invalid on ${field}`, () => {
        const e = invalid(adapter.attachment(pod, net, status, noCtx));
        assert.equal(e.field, field);
        assert.match(e.text, problem);
      });
    }
  });

  describe('resolveNetdevs()', () => {
    const attach = (pci: Record<string, string>): Attachment => {
      const r = adapter.attachment(pod, net, vfStatus('default/accel-a', 'net1', pci), noCtx);
      assert.ok(r.ok, JSON.stringify(r));
      return r.value;
    };

    test('a PCI address resolves through sysfs to its representor', async () => {
      assert.deepEqual(await adapter.resolveNetdevs(attach({ 'pci-address': '0000:03:00.3' })), { ok: true, value: [{ name: 'eth1' }] });
    });

    test('representor-device is used as written when it exists, even if the PCI address says otherwise', async () => {
      const a = attach({ 'pci-address': '0000:03:00.2', 'representor-device': 'eth2' });
      assert.deepEqual(await adapter.resolveNetdevs(a), { ok: true, value: [{ name: 'eth2' }] });
    });

    test('a representor-device that does not exist is refused by default', async () => {
      const r = await adapter.resolveNetdevs(attach({ 'representor-device': 'eth7' }));
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(describeError(r.error), 'no VF representor for device eth7: representor-device eth7 from network-status does not exist on this host (no /sys/class/net/eth7)');
    });

    test('with verifyRepresentor false the representor-device is trusted without a sysfs read', async () => {
      const trusting = loadAdapter(manifest, new NodeSysfs(tree.root), { verifyRepresentor: false });
      assert.deepEqual(await trusting.resolveNetdevs(attach({ 'representor-device': 'eth7' })), { ok: true, value: [{ name: 'eth7' }] });
    });

    test('a sysfs failure comes back as representor-not-found naming the VF', async () => {
      const r = await adapter.resolveNetdevs(attach({ 'pci-address': '0000:05:00.2' }));
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.match(describeError(r.error), /^no VF representor for device 0000:05:00\.2: PF 0000:05:00\.0 of VF 0000:05:00\.2 is not in switchdev mode/);
    });

    test('an attachment without device-info is an error value', async () => {
      const r = await adapter.resolveNetdevs({ adapter: 'accelerated-bridge', network: 'default/accel-a', interface: 'net1', ips: [] });
      assert.equal(r.ok, false);
    });

    test('a port that throws (EACCES, EIO) becomes an error value', async () => {
      const broken = loadAdapter(manifest, { readFile: () => Promise.reject(new Error('EIO: i/o error')), readlink: () => Promise.reject(new Error('EIO: i/o error')), readdir: () => Promise.reject(new Error('EIO: i/o error')) }, undefined);
      const r = await broken.resolveNetdevs(attach({ 'pci-address': '0000:03:00.3' }));
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.match(describeError(r.error), /reading sysfs failed: EIO: i\/o error/);
    });

    test('a degraded lookup (uplink without phys_port_name) is logged as a warning with the network', async () => {
      const degraded = await buildSysfs(withPf('0000:03:00.0', (pf) => ({
        ...pf,
        netdevs: pf.netdevs.map((n) => (n.name === 'enp3s0f0' ? { name: n.name, switchId: SWITCH_ID } : n)),
      })));
      try {
        const log = captureLog();
        const a = loadAdapter(manifest, new NodeSysfs(degraded.root), undefined, log.logger);
        assert.deepEqual(await a.resolveNetdevs(attach({ 'pci-address': '0000:03:00.2' })), { ok: true, value: [{ name: 'eth0' }] });
        const warn = log.lines.find((l) => l['msg'] === 'representor lookup degraded');
        assert.ok(warn, JSON.stringify(log.lines));
        assert.equal(warn['level'], 40);
        assert.equal(warn['plugin'], 'accelerated-bridge');
        assert.equal(warn['network'], 'default/accel-a');
      } finally {
        await degraded.cleanup();
      }
    });
  });
});
