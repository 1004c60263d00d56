import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeError } from '../../../core/api/errors.js';
import type { CniAdapter } from '../../../core/api/cni-adapter.js';
import type { Result } from '../../../core/api/result.js';
import type { NetworkStatusEntry } from '../../../core/model/attachment.js';
import manifest from '../../../plugins/bond/index.js';
import { bondLinks } from '../../../plugins/bond/links.js';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';
import { context, loadAdapter, network, pod, vfStatus } from '../fixtures/adapters.js';
import { buildSysfs, type SysfsTree } from '../fixtures/sysfs-tree.js';

const bondNet = network('default/bond-net', 'bond', { mode: 'active-backup', linksInContainer: true, links: [{ name: 'net1' }, { name: 'net2' }] });
const accelA = network('default/accel-a', 'accelerated-bridge');
const accelB = network('default/accel-b', 'accelerated-bridge');
const sriov = network('default/sriov-b', 'sriov');

const bondStatus: NetworkStatusEntry = { name: 'default/bond-net', interface: 'bond0', ips: ['10.1.1.7'], mac: '02:00:00:00:00:07' };
const member1 = vfStatus('default/accel-a', 'net1', { 'pci-address': '0000:03:00.2' });
const member2 = vfStatus('default/accel-b', 'net2', { 'pci-address': '0000:03:00.3', 'representor-device': 'eth1' });
const defaultNet: NetworkStatusEntry = { name: '', interface: 'eth0', ips: ['10.244.1.4'], default: true };

function invalid(r: Result<unknown>): string {
  assert.equal(r.ok, false, `expected attachment-invalid, got ${JSON.stringify(r)}`);
  if (r.ok || r.error.code !== 'attachment-invalid') throw new Error(`wrong result ${JSON.stringify(r)}`);
  return describeError(r.error);
}

describe('bond adapter', () => {
  let tree: SysfsTree;
  let adapter: CniAdapter;
  before(async () => {
    tree = await buildSysfs();
    adapter = loadAdapter(manifest, new NodeSysfs(tree.root), undefined);
  });
  after(() => tree.cleanup());

  test('handles only networks whose CNI type is bond', () => {
    assert.equal(adapter.name, 'bond');
    assert.deepEqual(manifest.meta, { name: 'bond', kind: 'cni-adapter', apiVersion: 1 });
    assert.equal(adapter.handles(bondNet), true);
    assert.equal(adapter.handles(accelA), false);
  });

  test('a bond over two accelerated-bridge links carries the IPs and both members, resolved to both representors', async () => {
    const ctx = context([defaultNet, member1, member2, bondStatus], [bondNet, accelA, accelB]);
    const r = adapter.attachment(pod, bondNet, bondStatus, ctx);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.value.adapter, 'bond');
    assert.equal(r.value.interface, 'bond0');
    assert.deepEqual(r.value.ips, ['10.1.1.7']);
    assert.deepEqual(
      r.value.members?.map((m) => [m.adapter, m.network, m.interface, m.deviceInfo?.pci]),
      [
        ['accelerated-bridge', 'default/accel-a', 'net1', { 'pci-address': '0000:03:00.2' }],
        ['accelerated-bridge', 'default/accel-b', 'net2', { 'pci-address': '0000:03:00.3', 'representor-device': 'eth1' }],
      ],
    );
    assert.deepEqual(await adapter.resolveNetdevs(r.value), { ok: true, value: [{ name: 'eth0' }, { name: 'eth1' }] });
  });

  test('links inside a conflist bond plugin are found too', () => {
    const conflist = network('default/bond-net', 'bond', { plugins: [{ type: 'bond', links: [{ name: 'net1' }] }, { type: 'tuning' }] });
    const r = adapter.attachment(pod, conflist, bondStatus, context([member1, bondStatus], [conflist, accelA]));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.value.members?.length, 1);
  });

  test('a member on a network that is not accelerated-bridge is rejected, naming the link and its CNI type', () => {
    const onSriov = { ...member2, name: 'default/sriov-b' };
    const msg = invalid(adapter.attachment(pod, bondNet, bondStatus, context([member1, onSriov, bondStatus], [bondNet, accelA, sriov])));
    assert.equal(msg, 'pod default/pod-a network default/bond-net: bond link net2 is on network default/sriov-b, of CNI type "sriov"; bond members must be on accelerated-bridge networks');
  });

  test('a member on a network without a NAD is rejected', () => {
    const msg = invalid(adapter.attachment(pod, bondNet, bondStatus, context([member1, member2, bondStatus], [bondNet, accelA])));
    assert.match(msg, /bond link net2 is on network default\/accel-b, which has no NetworkAttachmentDefinition/);
  });

  test('a link with no network-status entry in the pod is rejected', () => {
    const msg = invalid(adapter.attachment(pod, bondNet, bondStatus, context([member1, bondStatus], [bondNet, accelA, accelB])));
    assert.equal(msg, 'pod default/pod-a network default/bond-net: bond link net2 has no network-status entry in the pod');
  });

  test('a member without usable device-info is rejected with the member field', () => {
    const noInfo: NetworkStatusEntry = { name: 'default/accel-b', interface: 'net2' };
    const msg = invalid(adapter.attachment(pod, bondNet, bondStatus, context([member1, noInfo, bondStatus], [bondNet, accelA, accelB])));
    assert.match(msg, /network default\/bond-net: bond link net2 \(network default\/accel-b\) device-info is missing/);
  });

  test('a bond NAD without links is rejected', () => {
    const noLinks = network('default/bond-net', 'bond', { mode: 'active-backup' });
    assert.match(invalid(adapter.attachment(pod, noLinks, bondStatus, context([bondStatus], [noLinks]))), /config links is missing or empty/);
  });

  test('the bond entry itself needs an interface name', () => {
    const { interface: _i, ...anon } = bondStatus;
    assert.match(invalid(adapter.attachment(pod, bondNet, anon, context([member1, member2, anon], [bondNet, accelA, accelB]))), /interface is missing/);
  });

  test('one member that cannot be resolved fails the bond, naming the member', async () => {
    const legacy = vfStatus('default/accel-b', 'net2', { 'pci-address': '0000:05:00.2' });
    const r = adapter.attachment(pod, bondNet, bondStatus, context([member1, legacy, bondStatus], [bondNet, accelA, accelB]));
    assert.ok(r.ok, JSON.stringify(r));
    const d = await adapter.resolveNetdevs(r.value);
    assert.equal(d.ok, false);
    if (d.ok) return;
    assert.match(describeError(d.error), /^no VF representor for device 0000:05:00\.2: bond bond0 member net2: PF 0000:05:00\.0 .* not in switchdev mode/);
  });

  test('a bond attachment without members resolves to an error, not an empty list', async () => {
    const r = await adapter.resolveNetdevs({ adapter: 'bond', network: 'default/bond-net', interface: 'bond0', ips: [] });
    assert.equal(r.ok, false);
  });
});

describe('bondLinks', () => {
  const rows: [string, Record<string, unknown>, unknown][] = [
    ['a flat config', { type: 'bond', links: [{ name: 'net1' }, { name: 'net2' }] }, { ok: true, value: ['net1', 'net2'] }],
    ['no links', { type: 'bond' }, { ok: false, error: 'is missing or empty' }],
    ['links not a list', { type: 'bond', links: 'net1' }, { ok: false, error: 'is missing or empty' }],
    ['a link without a name', { type: 'bond', links: [{ name: 'net1' }, {}] }, { ok: false, error: 'entry 1 has no name' }],
    ['a link listed twice', { type: 'bond', links: [{ name: 'net1' }, { name: 'net1' }] }, { ok: false, error: 'lists net1 twice' }],
  ];
  for (const [what, config, expected] of rows) {
    test(`${what}: ${JSON.stringify(expected)}`, () => assert.deepEqual(bondLinks(config), expected));
  }
});
