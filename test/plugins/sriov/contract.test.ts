// Runs the shared CniAdapter contract against the sriov adapter.
import { after } from 'node:test';
import manifest from '../../../plugins/sriov/index.js';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';
import { cniAdapterContract } from '../../contracts/cni-adapter.contract.js';
import { context, loadAdapter, network, pod, vfStatus } from '../fixtures/adapters.js';
import { buildSysfs } from '../fixtures/sysfs-tree.js';

const tree = await buildSysfs();
after(() => tree.cleanup());

const net = network('default/sriov-a', 'sriov');
const byPci = vfStatus('default/sriov-a', 'net1', { 'pci-address': '0000:03:00.2' }, { ips: ['10.1.1.101'] });
const ctx = context([{ name: '', interface: 'eth0', ips: ['10.244.1.4'], default: true }, byPci], [net]);
const fixedNet = network('default/sriov-fixed', 'sriov', { deviceID: '0000:03:00.3' });
const noInfo = { name: 'default/sriov-fixed', interface: 'net2', ips: ['10.1.2.5'] };

cniAdapterContract('sriov', {
  create: (sysfs) => loadAdapter(manifest, sysfs, undefined),
  handled: [net, fixedNet],
  unhandled: [network('default/accel', 'accelerated-bridge'), network('default/bond', 'bond'), network('default/broken', '')],
  valid: [
    { pod, net, status: byPci, ctx },
    { pod, net: fixedNet, status: noInfo, ctx: context([noInfo], [fixedNet]) },
  ],
  resolvingSysfs: new NodeSysfs(tree.root),
});
