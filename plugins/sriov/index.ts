import { ContainerModule } from 'inversify';
import { CniAdapter } from '../../core/api/cni-adapter.js';
import { definePlugin } from '../../core/api/plugin.js';
import { SriovAdapter } from './adapter.js';

export default definePlugin<undefined>({
  meta: { name: 'sriov', kind: 'cni-adapter', apiVersion: 1 },
  module: () =>
    new ContainerModule(({ bind }) => {
      bind(CniAdapter).to(SriovAdapter).inSingletonScope();
    }),
});
