// The TcDriver contract against the dry-run driver (the cmdline run is in the lab VM).
import 'reflect-metadata';
import { DryRunTcDriver } from '../../../drivers/dry-run/dry-run-driver.js';
import { tcDriverContract } from '../../contracts/tc-driver.contract.js';

tcDriverContract('dry-run', async () => {
  const driver = new DryRunTcDriver();
  const dev = { name: 'rep1' };
  return {
    driver,
    dev,
    seed: async (s) => {
      const foreign = (s.matchall ?? []).map((m) => ({ ...m, protocol: 'all', kind: 'matchall' }));
      driver.seed(dev.name, { qdisc: s.qdisc, filters: s.filters ?? [], foreign });
    },
  };
});
