import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NetworkStatusEntry } from '../../../core/model/attachment.js';
import type { Pod } from '../../../core/model/k8s.js';
import { parseNetworkStatus, pciAddress, podAddresses } from '../../../core/model/network-status.js';

const pod = (status?: unknown, namespace = 'testns1'): Pod => ({
  metadata: {
    name: 'testpod1',
    namespace,
    ...(status === undefined
      ? {}
      : { annotations: { 'k8s.v1.cni.cncf.io/network-status': typeof status === 'string' ? status : JSON.stringify(status) } }),
  },
  spec: {},
  status: { phase: 'Running' },
});

// Upstream NewFakeNetworkStatus("testns1", "net-attach1") (reference §6.6).
const upstreamStatus = [
  { name: '', interface: 'eth0', ips: ['10.244.1.4'], mac: 'aa:e1:20:71:15:01', default: true, dns: {} },
  {
    name: 'testns1/net-attach1', interface: 'net1', ips: ['10.1.1.101'], mac: '42:90:65:12:3e:bf', dns: {},
    'device-info': { type: 'pci', version: '1.0.0', pci: { 'pci-address': '0000:03:00.2' } },
  },
  {
    name: 'some-other-network', interface: 'net2', ips: ['20.1.1.101'], mac: '42:90:65:12:3e:bf', dns: {},
    'device-info': { type: 'pci', version: '1.0.0', pci: { 'pci-address': '0000:03:00.3' } },
  },
];

describe('parseNetworkStatus', () => {
  test('a pod without the annotation has no entries and no error', () => {
    assert.deepEqual(parseNetworkStatus(pod()), { entries: [], warnings: [] });
  });

  test('the upstream fixture: default entry kept and marked, names normalised, device-info kept', () => {
    const s = parseNetworkStatus(pod(upstreamStatus));
    assert.equal(s.error, undefined);
    assert.deepEqual(s.warnings, []);
    assert.deepEqual(s.entries, [
      { name: '', interface: 'eth0', ips: ['10.244.1.4'], mac: 'aa:e1:20:71:15:01', default: true },
      {
        name: 'testns1/net-attach1', interface: 'net1', ips: ['10.1.1.101'], mac: '42:90:65:12:3e:bf',
        'device-info': { type: 'pci', version: '1.0.0', pci: { 'pci-address': '0000:03:00.2' } },
      },
      {
        name: 'testns1/some-other-network', interface: 'net2', ips: ['20.1.1.101'], mac: '42:90:65:12:3e:bf',
        'device-info': { type: 'pci', version: '1.0.0', pci: { 'pci-address': '0000:03:00.3' } },
      },
    ]);
  });

  test('a bare name gets the pod namespace (upstream bug 12 kept it raw, so it never matched)', () => {
    const s = parseNetworkStatus(pod([{ name: 'net1', ips: [] }], 'ns-a'));
    assert.equal(s.entries[0]?.name, 'ns-a/net1');
  });

  test('whitespace around the parts of a name is trimmed', () => {
    const s = parseNetworkStatus(pod([{ name: ' other / net1 ' }, { name: '\tnet2 ' }]));
    assert.deepEqual(s.entries.map((e) => e.name), ['other/net1', 'testns1/net2']);
  });

  test('an entry whose name is not name or ns/name is dropped with a warning', () => {
    const s = parseNetworkStatus(pod([{ name: 'a/b/c' }, { name: '/x' }, { name: '' }, { name: 'ok' }]));
    assert.deepEqual(s.entries.map((e) => e.name), ['testns1/ok']);
    assert.equal(s.warnings.length, 3);
    assert.match(s.warnings[0] ?? '', /entry \[0\] dropped: network name "a\/b\/c"/);
  });

  test('invalid IPs are dropped with a warning, valid ones kept in order', () => {
    const s = parseNetworkStatus(pod([{ name: 'ns/n', ips: ['10.1.1.1', 'bogus', '2001:db8::1', '10.1.1.01', '10.1.1.2/24'] }]));
    assert.deepEqual(s.entries[0]?.ips, ['10.1.1.1', '2001:db8::1']);
    assert.equal(s.warnings.length, 3);
    assert.match(s.warnings[0] ?? '', /entry \[0\] \(ns\/n\): invalid IP "bogus" dropped/);
  });

  const broken: [string, unknown, RegExp][] = [
    ['invalid JSON', '[{"name": "a",', /is not valid JSON/],
    ['an object instead of a list', { name: 'a' }, /network-status: must be a list \(got a mapping\)/],
    ['an entry without name', [{ interface: 'net1' }], /network-status\[0\]\.name: is required/],
    ['ips that is not a list', [{ name: 'a', ips: '10.0.0.1' }], /network-status\[0\]\.ips: must be a list/],
    ['a non-string IP', [{ name: 'a', ips: [10] }], /network-status\[0\]\.ips\[0\]: must be a string/],
    ['a non-boolean default', [{ name: 'a', default: 'yes' }], /\[0\]\.default: must be true or false/],
    ['device-info without type', [{ name: 'a', 'device-info': {} }], /\[0\]\["device-info"\]\.type: is required/],
    ['a non-string pci-address', [{ name: 'a', 'device-info': { type: 'pci', pci: { 'pci-address': 3 } } }], /\["pci-address"\]: must be a string/],
  ];
  for (const [what, status, error] of broken) {
    test(`${what}: an error and no entries`, () => {
      const s = parseNetworkStatus(pod(status));
      assert.deepEqual(s.entries, []);
      assert.match(s.error ?? '', error);
    });
  }
});

describe('podAddresses', () => {
  test('the addresses of every interface of the pod on that network, and only that network', () => {
    const p = pod([
      { name: '', ips: ['10.244.0.5'], default: true },
      { name: 'net-a', interface: 'net1', ips: ['10.1.0.5', 'fd00::5'] },
      { name: 'other/net-a', interface: 'net2', ips: ['10.9.0.5'] },
      { name: 'testns1/net-a', interface: 'net3', ips: ['10.1.0.6'] },
    ]);
    assert.deepEqual(podAddresses(p, 'testns1/net-a'), ['10.1.0.5', 'fd00::5', '10.1.0.6']);
    assert.deepEqual(podAddresses(p, 'other/net-a'), ['10.9.0.5']);
    assert.deepEqual(podAddresses(p, 'testns1/none'), []);
  });
  test('a pod with a broken annotation has no addresses', () => {
    assert.deepEqual(podAddresses(pod('nope'), 'testns1/net-a'), []);
  });
});

describe('pciAddress (upstream U19-U23)', () => {
  const entry = (info?: unknown): NetworkStatusEntry => ({ name: 'ns/n', ...(info ? { 'device-info': info } : {}) }) as NetworkStatusEntry;
  test('U19 a pci device-info gives its address', () => {
    assert.deepEqual(pciAddress(entry({ type: 'pci', pci: { 'pci-address': '0000:03:01.1' } })), { ok: true, value: '0000:03:01.1' });
  });
  const rows: [string, unknown, RegExp][] = [
    ['U20 no device-info', undefined, /no device-info/],
    ['U21 type memif', { type: 'memif' }, /type is "memif"/],
    ['U22 type pci without pci', { type: 'pci' }, /no pci section/],
    ['U23 empty pci-address', { type: 'pci', pci: { 'pci-address': '' } }, /pci-address is empty/],
  ];
  for (const [what, info, error] of rows) {
    test(`${what} is an error`, () => {
      const r = pciAddress(entry(info));
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.error, error);
    });
  }
});
