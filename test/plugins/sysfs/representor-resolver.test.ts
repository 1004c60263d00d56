import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeError } from '../../../core/api/errors.js';
import type { Sysfs } from '../../../core/api/ports.js';
import type { Result } from '../../../core/api/result.js';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';
import { resolveRepresentor, switchPorts } from '../../../plugins/sysfs/representor-resolver.js';
import { buildSysfs, defaultSpec, SWITCH_ID, withPf, type SysfsSpec, type SysfsTree } from '../fixtures/sysfs-tree.js';

/** Builds a tree from `spec`, runs `fn` on it, removes it. */
async function onTree<T>(spec: SysfsSpec, fn: (sysfs: Sysfs) => Promise<T>): Promise<T> {
  const tree = await buildSysfs(spec);
  try {
    return await fn(new NodeSysfs(tree.root));
  } finally {
    await tree.cleanup();
  }
}

function failure<T>(r: Result<T>): string {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  if (r.ok) throw new Error('unreachable');
  assert.equal(r.error.code, 'representor-not-found');
  return describeError(r.error);
}

describe('resolveRepresentor on the default tree', () => {
  let tree: SysfsTree;
  let sysfs: Sysfs;
  before(async () => {
    tree = await buildSysfs();
    sysfs = new NodeSysfs(tree.root);
  });
  after(() => tree.cleanup());

  test('each VF of PF function 0 resolves to its pf0vfN representor', async () => {
    assert.deepEqual(await resolveRepresentor(sysfs, '0000:03:00.2'), { ok: true, value: { name: 'eth0' } });
    assert.deepEqual(await resolveRepresentor(sysfs, '0000:03:00.3'), { ok: true, value: { name: 'eth1' } });
    assert.deepEqual(await resolveRepresentor(sysfs, '0000:03:00.4'), { ok: true, value: { name: 'eth2' } });
  });

  test('VF 0 of PF function 1 on the same switch resolves to pf1vf0, not pf0vf0', async () => {
    assert.deepEqual(await resolveRepresentor(sysfs, '0000:03:08.0'), { ok: true, value: { name: 'eth10' } });
  });

  test('an upper-case PCI address is normalised to the sysfs form', async () => {
    assert.deepEqual(await resolveRepresentor(sysfs, '0000:03:00.2'.toUpperCase()), { ok: true, value: { name: 'eth0' } });
  });

  test('a PF address is "not a VF"', async () => {
    const msg = failure(await resolveRepresentor(sysfs, '0000:03:00.0'));
    assert.match(msg, /0000:03:00\.0 is not a VF \(no \/sys\/bus\/pci\/devices\/0000:03:00\.0\/physfn link\)/);
  });

  test('a device that is not a VF and has no netdev is "not a VF" too', async () => {
    assert.match(failure(await resolveRepresentor(sysfs, '0000:00:1f.0')), /0000:00:1f\.0 is not a VF/);
  });

  test('an address with no device at all says so', async () => {
    assert.match(failure(await resolveRepresentor(sysfs, '0000:09:00.0')), /no PCI device 0000:09:00\.0 in \/sys\/bus\/pci\/devices/);
  });

  test('a VF whose PF is in legacy mode (no switch id) is "PF is not in switchdev mode"', async () => {
    const msg = failure(await resolveRepresentor(sysfs, '0000:05:00.2'));
    assert.match(msg, /^no VF representor for device 0000:05:00\.2: PF 0000:05:00\.0 of VF 0000:05:00\.2 is not in switchdev mode/);
    assert.match(msg, /eno1/);
  });

  for (const bad of ['../../etc', '0000:03:00.2/../../../etc', '0000:03:00.2\n', '', '0000:03:00', '0000:03:00.8', '0000:03:20.0', 'zzzz:03:00.2']) {
    test(`the malformed address ${JSON.stringify(bad)} is rejected before any sysfs read`, async () => {
      const untouchable: Sysfs = {
        readFile: () => Promise.reject(new Error(`read ${bad}`)),
        readlink: () => Promise.reject(new Error(`readlink ${bad}`)),
        readdir: () => Promise.reject(new Error(`readdir ${bad}`)),
      };
      assert.match(failure(await resolveRepresentor(untouchable, bad)), /is not a PCI address \(expected dddd:bb:dd\.f\)/);
    });
  }
});

describe('resolveRepresentor on altered trees', () => {
  test('a VF no virtfn link points to is "VF index not found"', async () => {
    const spec = withPf('0000:03:00.0', (pf) => ({ ...pf, orphanVfs: ['0000:03:00.7'] }));
    const msg = await onTree(spec, async (s) => failure(await resolveRepresentor(s, '0000:03:00.7')));
    assert.match(msg, /VF index not found: no \/sys\/bus\/pci\/devices\/0000:03:00\.7\/physfn\/virtfn\* link points to 0000:03:00\.7/);
  });

  test('a VF index with no representor names the phys_port_name and switch it looked for', async () => {
    const spec = withPf('0000:03:00.0', (pf) => ({ ...pf, netdevs: pf.netdevs.filter((n) => n.name !== 'eth2') }));
    const msg = await onTree(spec, async (s) => failure(await resolveRepresentor(s, '0000:03:00.4')));
    assert.match(msg, new RegExp(`no representor with phys_port_name pf0vf2 on switch ${SWITCH_ID} \\(uplink enp3s0f0\\)`));
  });

  test('the PF function matters: without pf0vf0, VF 0 of PF 0 does not fall to pf1vf0', async () => {
    const spec = withPf('0000:03:00.0', (pf) => ({ ...pf, netdevs: pf.netdevs.filter((n) => n.name !== 'eth0') }));
    const msg = await onTree(spec, async (s) => failure(await resolveRepresentor(s, '0000:03:00.2')));
    assert.match(msg, /no representor with phys_port_name pf0vf0 on switch aabbcc/);
  });

  test('the switch id matters: a pf0vf0 port on another switch is not the representor', async () => {
    const spec = withPf('0000:03:00.0', (pf) => ({
      ...pf,
      netdevs: pf.netdevs.map((n) => (n.name === 'eth0' ? { ...n, switchId: 'ddeeff' } : n)),
    }));
    const msg = await onTree(spec, async (s) => failure(await resolveRepresentor(s, '0000:03:00.2')));
    assert.match(msg, /no representor with phys_port_name pf0vf0 on switch aabbcc/);
  });

  test('an uplink whose phys_port_name is unreadable is used as a fallback, and the fallback is noted', async () => {
    const spec = withPf('0000:03:00.0', (pf) => ({
      ...pf,
      netdevs: pf.netdevs.map((n) => (n.name === 'enp3s0f0' ? { name: n.name, switchId: SWITCH_ID } : n)),
    }));
    const notes: string[] = [];
    const r = await onTree(spec, (s) => resolveRepresentor(s, '0000:03:00.3', (n) => notes.push(n)));
    assert.deepEqual(r, { ok: true, value: { name: 'eth1' } });
    assert.equal(notes.length, 1);
    assert.match(notes[0] ?? '', /uplink enp3s0f0 has no readable phys_port_name/);
  });

  test('the normal path notes nothing', async () => {
    const notes: string[] = [];
    await onTree(defaultSpec(), (s) => resolveRepresentor(s, '0000:03:00.3', (n) => notes.push(n)));
    assert.deepEqual(notes, []);
  });

  test('a PF with a switch id but only representor names (no p<N>) is not in switchdev mode', async () => {
    const spec = withPf('0000:03:00.0', (pf) => ({ ...pf, netdevs: pf.netdevs.filter((n) => n.name !== 'enp3s0f0') }));
    const msg = await onTree(spec, async (s) => failure(await resolveRepresentor(s, '0000:03:00.2')));
    assert.match(msg, /PF 0000:03:00\.0 of VF 0000:03:00\.2 is not in switchdev mode: none of its netdevs \(eth0, eth1, eth2\)/);
  });

  test('a PF with no netdev is not in switchdev mode and says the net dir is empty', async () => {
    const spec = withPf('0000:03:00.0', (pf) => ({ ...pf, netdevs: [] }));
    const msg = await onTree(spec, async (s) => failure(await resolveRepresentor(s, '0000:03:00.2')));
    assert.match(msg, /is not in switchdev mode: it has no netdev/);
  });

  const oldKernel: SysfsSpec = {
    pfs: [
      {
        address: '0000:03:00.0',
        netdevs: [
          { name: 'enp3s0f0', switchId: SWITCH_ID, portName: 'p0' },
          { name: 'eth0', switchId: SWITCH_ID, portName: '0' },
          { name: 'eth1', switchId: SWITCH_ID, portName: '1' },
        ],
        vfs: ['0000:03:00.2', '0000:03:00.3'],
      },
    ],
  };

  test('old kernels: a bare VF number is accepted when the switch has no pf<F>vf<N> names', async () => {
    const notes: string[] = [];
    const r = await onTree(oldKernel, (s) => resolveRepresentor(s, '0000:03:00.3', (n) => notes.push(n)));
    assert.deepEqual(r, { ok: true, value: { name: 'eth1' } });
    assert.match(notes[0] ?? '', /old phys_port_name form 1/);
  });

  test('a bare VF number is not accepted when the switch uses pf<F>vf<N> names', async () => {
    const spec = withPf('0000:03:00.0', (pf) => ({
      ...pf,
      netdevs: pf.netdevs.map((n) => (n.name === 'eth1' ? { ...n, portName: '1' } : n)),
    }));
    const msg = await onTree(spec, async (s) => failure(await resolveRepresentor(s, '0000:03:00.3')));
    assert.match(msg, /no representor with phys_port_name pf0vf1 on switch aabbcc/);
  });
});

describe('switchPorts', () => {
  test('lists every netdev on the uplink switch, both PFs and all representors, with their port names', async () => {
    const r = await onTree(defaultSpec(), (s) => switchPorts(s, 'enp3s0f0'));
    assert.deepEqual(r, {
      ok: true,
      value: {
        switchId: SWITCH_ID,
        ports: [
          { name: 'enp3s0f0', portName: 'p0' },
          { name: 'enp3s0f1', portName: 'p1' },
          { name: 'eth0', portName: 'pf0vf0' },
          { name: 'eth1', portName: 'pf0vf1' },
          { name: 'eth10', portName: 'pf1vf0' },
          { name: 'eth2', portName: 'pf0vf2' },
        ],
      },
    });
  });

  test('a netdev without a switch id is refused', async () => {
    const msg = await onTree(defaultSpec(), async (s) => failure(await switchPorts(s, 'eno1')));
    assert.match(msg, /eno1 is not a switchdev port/);
  });

  test('a name that is not a netdev name is refused before any read', async () => {
    const msg = await onTree(defaultSpec(), async (s) => failure(await switchPorts(s, '../../etc')));
    assert.match(msg, /is not a netdev name/);
  });
});
