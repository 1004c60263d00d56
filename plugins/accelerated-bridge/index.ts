import { ContainerModule } from 'inversify';
import { CniAdapter } from '../../core/api/cni-adapter.js';
import { definePlugin } from '../../core/api/plugin.js';
import { AcceleratedBridgeAdapter } from './adapter.js';
import { AcceleratedBridgeOptions, acceleratedBridgeOptionsSchema } from './options.js';

export default definePlugin<AcceleratedBridgeOptions | undefined>({
  meta: { name: 'accelerated-bridge', kind: 'cni-adapter', apiVersion: 1 },
  optionsSchema: acceleratedBridgeOptionsSchema,
  module: (options) =>
    new ContainerModule(({ bind }) => {
      bind(AcceleratedBridgeOptions).toConstantValue(options ?? {});
      bind(CniAdapter).to(AcceleratedBridgeAdapter).inSingletonScope();
    }),
});
