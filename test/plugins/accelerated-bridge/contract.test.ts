// Runs the shared CniAdapter contract against the accelerated-bridge adapter.
import { after } from 'node:test';
import manifest from '../../../plugins/accelerated-bridge/index.js';
import { NodeSysfs } from '../../../plugins/sysfs/node-sysfs.js';
import { cniAdapterContract } from '../../contracts/cni-adapter.contract.js';
import { context, loadAdapter, network, pod, vfStatus } from '../fixtures/adapters.js';
import { buildSysfs } from '../fixtures/sysfs-tree.js';

const tree = await buildSysfs();
after(() => tree.cleanup());

const net = network('default/accel-a', 'accelerated-bridge');
const byPci = vfStatus('default/accel-a', 'net1', { 'pci-address': '0000:03:00.2' }, { ips: ['10.1.1.101'] });
const byRep = vfStatus('default/accel-a', 'net2', { 'representor-device': 'eth1' });
const ctx = context([{ name: '', interface: 'eth0', ips: ['10.244.1.4'], default: true }, byPci, byRep], [net]);

cniAdapterContract('accelerated-bridge', {
  create: (sysfs) => loadAdapter(manifest, sysfs, undefined),
  handled: [net],
  unhandled: [network('default/sriov', 'sriov'), network('default/bond', 'bond'), network('default/broken', '')],
  valid: [
    { pod, net, status: byPci, ctx },
    { pod, net, status: byRep, ctx },
  ],
  resolvingSysfs: new NodeSysfs(tree.root),
});
