// Plugin manifest of the dry-run TC driver (`--tc-driver dry-run`): plans are recorded, never run.
import { ContainerModule } from 'inversify';
import { definePlugin } from '../../core/api/plugin.js';
import { TcDriver } from '../../core/api/tc-driver.js';
import { DryRunTcDriver } from './dry-run-driver.js';

export default definePlugin({
  meta: { name: 'dry-run', kind: 'tc-driver', apiVersion: 1 },
  module: () =>
    new ContainerModule(({ bind }) => {
      bind(TcDriver).to(DryRunTcDriver).inSingletonScope();
    }),
});
