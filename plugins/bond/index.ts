import { ContainerModule } from 'inversify';
import { CniAdapter } from '../../core/api/cni-adapter.js';
import { definePlugin } from '../../core/api/plugin.js';
import { BondAdapter } from './adapter.js';
import { BondOptions, bondOptionsSchema } from './options.js';

export default definePlugin<BondOptions | undefined>({
  meta: { name: 'bond', kind: 'cni-adapter', apiVersion: 1 },
  optionsSchema: bondOptionsSchema,
  module: (options) =>
    new ContainerModule(({ bind }) => {
      bind(BondOptions).toConstantValue(options ?? {});
      bind(CniAdapter).to(BondAdapter).inSingletonScope();
    }),
});
