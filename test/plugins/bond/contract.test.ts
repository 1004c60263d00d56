// Runs the shared CniAdapter contract against the bond adapter.
import { after } from 'node:test';
import manifest from '../../../plugins/bond/index.js';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';
import { cniAdapterContract } from '../../contracts/cni-adapter.contract.js';
import { context, loadAdapter, network, pod, vfStatus } from '../fixtures/adapters.js';
import { buildSysfs } from '../fixtures/sysfs-tree.js';

const tree = await buildSysfs();
after(() => tree.cleanup());

const bondNet = network('default/bond-net', 'bond', { links: [{ name: 'net1' }, { name: 'net2' }] });
const accelA = network('default/accel-a', 'accelerated-bridge');
const accelB = network('default/accel-b', 'accelerated-bridge');
const bond = { name: 'default/bond-net', interface: 'bond0', ips: ['10.1.1.7'] };
const ctx = context(
  [
    vfStatus('default/accel-a', 'net1', { 'pci-address': '0000:03:00.2' }),
    vfStatus('default/accel-b', 'net2', { 'representor-device': 'eth1' }),
    bond,
  ],
  [bondNet, accelA, accelB],
);

cniAdapterContract('bond', {
  create: (sysfs) => loadAdapter(manifest, sysfs, undefined),
  handled: [bondNet],
  unhandled: [accelA, network('default/sriov', 'sriov')],
  valid: [{ pod, net: bondNet, status: bond, ctx }],
  resolvingSysfs: new NodeSysfs(tree.root),
});
