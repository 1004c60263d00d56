// Plugin manifest of the dry-run TC driver (`--tc-driver dry-run`): plans are applied to an
// in-memory host, never run. The agent keeps no history of them (nothing reads it there).
import { ContainerModule } from 'inversify';
import { definePlugin } from '../../core/api/plugin.js';
import { TcDriver } from '../../core/api/tc-driver.js';
import { DryRunTcDriver } from './dry-run-driver.js';

export default definePlugin({
  meta: { name: 'dry-run', kind: 'tc-driver', apiVersion: 1 },
  module: () =>
    new ContainerModule(({ bind }) => {
      bind<DryRunTcDriver>(TcDriver)
        .to(DryRunTcDriver)
        .inSingletonScope()
        .onActivation((_context, driver) => {
          driver.recording = false;
          return driver;
        });
    }),
});
