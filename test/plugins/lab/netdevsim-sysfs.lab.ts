// Kernel check, VM lab only (not part of `npm test`): the real sysfs of a netdevsim device in
// switchdev mode read through NodeSysfs('/'). Run from /work/main:
//   ../shared/lab/run-in-vm.sh 'node --import tsx --test test/plugins/lab/netdevsim-sysfs.lab.ts'
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { execa } from 'execa';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';
import { switchPorts } from '../../../plugins/sysfs/representor-resolver.js';
import { resolveDeviceNetdev } from '../../../plugins/sysfs/device-netdev.js';

const inLab = process.env['KLAB_GUEST'] === '1';
const DEV = '/sys/bus/netdevsim/devices/netdevsim10';

describe('NodeSysfs on a real kernel (netdevsim switchdev)', { skip: inLab ? false : 'runs only in the VM lab' }, () => {
  const sysfs = new NodeSysfs('/');
  let pf = '';
  const reps = new Map<string, string>();

  before(async () => {
    await execa('modprobe', ['netdevsim']);
    await writeFile('/sys/bus/netdevsim/new_device', '10 1');
    for (let i = 0; i < 50 && (await readdir(`${DEV}/net`).catch(() => [])).length === 0; i++) await sleep(100);
    await writeFile(`${DEV}/sriov_numvfs`, '2');
    await execa('devlink', ['dev', 'eswitch', 'set', 'netdevsim/netdevsim10', 'mode', 'switchdev']);
    for (const n of await readdir(`${DEV}/net`)) {
      const ppn = (await readFile(`${DEV}/net/${n}/phys_port_name`, 'utf8')).trim();
      if (/^p\d+$/.test(ppn)) pf = n;
      else reps.set(ppn, n);
    }
    assert.ok(pf !== '' && reps.size === 2, `netdevsim setup: pf=${pf} reps=${[...reps]}`);
  });

  test('the kernel refuses phys_switch_id of lo with an errno that NodeSysfs maps to undefined', async () => {
    const code = await readFile('/sys/class/net/lo/phys_switch_id').then(() => 'readable', (e: NodeJS.ErrnoException) => e.code);
    console.log(`# lo/phys_switch_id: ${code}`);
    assert.notEqual(code, 'readable');
    assert.equal(await sysfs.readFile('/sys/class/net/lo/phys_switch_id'), undefined);
    assert.equal(await sysfs.readFile('/sys/class/net/lo/phys_port_name'), undefined);
  });

  test('switchPorts lists the PF port and both representors with their phys_port_name', async () => {
    const r = await switchPorts(sysfs, pf);
    assert.ok(r.ok, JSON.stringify(r));
    console.log(`# ${JSON.stringify(r.value)}`);
    const byName = new Map(r.value.ports.map((p) => [p.name, p.portName]));
    assert.equal(byName.size, 3);
    assert.match(byName.get(pf) ?? '', /^p\d+$/);
    assert.equal(byName.get(reps.get('pf0vf0') ?? ''), 'pf0vf0');
    assert.equal(byName.get(reps.get('pf0vf1') ?? ''), 'pf0vf1');
  });

  test('switchPorts of lo says it is not a switchdev port', async () => {
    const r = await switchPorts(sysfs, 'lo');
    assert.equal(r.ok, false);
  });

  test('a representor-device that exists passes the existence check, one that does not fails', async () => {
    const rep = reps.get('pf0vf1') ?? '';
    const at = (name: string) => ({ adapter: 'x', network: 'default/n', interface: 'net1', ips: [], deviceInfo: { type: 'pci', pci: { 'representor-device': name } } });
    assert.deepEqual(await resolveDeviceNetdev(sysfs, at(rep), { verifyRepresentor: true }), { ok: true, value: { name: rep } });
    assert.equal((await resolveDeviceNetdev(sysfs, at('nosuch0'), { verifyRepresentor: true })).ok, false);
  });
});
