// Plugin manifest of the cmdline TC driver (`--tc-driver cmdline`).
import { ContainerModule } from 'inversify';
import { definePlugin } from '../../core/api/plugin.js';
import { TcDriver } from '../../core/api/tc-driver.js';
import { CmdlineTcDriver } from './cmdline-driver.js';
import { CmdlineOptions, cmdlineOptionsSchema } from './options.js';

export default definePlugin<CmdlineOptions | undefined>({
  meta: { name: 'cmdline', kind: 'tc-driver', apiVersion: 1 },
  optionsSchema: cmdlineOptionsSchema,
  module: (options) =>
    new ContainerModule(({ bind }) => {
      bind(CmdlineOptions).toConstantValue(options ?? {});
      bind(TcDriver).to(CmdlineTcDriver).inSingletonScope();
    }),
});
