// The TcDriver contract against the netlink driver, talking to a fake rtnetlink socket backed
// by the dry-run driver's kernel model (the real kernel runs it in contract.lab.ts).
import 'reflect-metadata';
import { pino } from 'pino';
import { NetlinkTcDriver } from '../../../drivers/tc-netlink/netlink-driver.js';
import { tcDriverContract } from '../../contracts/tc-driver.contract.js';
import { FakeKernel, FakeKernelSocket } from './fake-kernel-socket.js';

const logger = pino({ level: 'silent' });

// windowOps 3: the contract's plans span several windows, so the undo and window cuts run too
for (const windowOps of [128, 3]) {
  tcDriverContract(`netlink (fake kernel, windows of ${windowOps})`, async () => {
    const kernel = new FakeKernel();
    kernel.addDevice('lo');
    const dev = { name: 'rep1' };
    kernel.addDevice(dev.name);
    const driver = new NetlinkTcDriver(() => ({ ok: true, value: new FakeKernelSocket(kernel) }), logger, { windowOps });
    return {
      driver,
      dev,
      seed: async (s) => {
        const filters = (s.filters ?? []).map((f) => ({ hook: f.hook, chain: f.chain, pref: f.pref, protocol: f.protocol, kind: 'flower', flower: f }));
        const matchall = (s.matchall ?? []).map((m) => ({ ...m, protocol: 'all', kind: 'matchall' }));
        kernel.seed(dev.name, s.qdisc, [...filters, ...matchall]);
      },
      cleanup: async () => driver.dispose(),
    };
  });
}
