// Plugin manifest of the netlink TC driver (`--tc-driver netlink`): rtnetlink through ffi-rs,
// no child processes.
import { ContainerModule } from 'inversify';
import { definePlugin } from '../../core/api/plugin.js';
import { TcDriver } from '../../core/api/tc-driver.js';
import { openFfiNetlinkSocket } from './ffi-socket.js';
import { NetlinkTcDriver } from './netlink-driver.js';
import { NetlinkOptions, netlinkOptionsSchema } from './options.js';
import { NetlinkSocketFactory } from './socket.js';

export default definePlugin<NetlinkOptions | undefined>({
  meta: { name: 'netlink', kind: 'tc-driver', apiVersion: 1 },
  optionsSchema: netlinkOptionsSchema,
  module: (options) =>
    new ContainerModule(({ bind }) => {
      bind(NetlinkOptions).toConstantValue(options ?? {});
      bind(NetlinkSocketFactory).toConstantValue(openFfiNetlinkSocket);
      bind(TcDriver)
        .to(NetlinkTcDriver)
        .inSingletonScope()
        .onDeactivation((d) => (d as NetlinkTcDriver).dispose());
    }),
});
