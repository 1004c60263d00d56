// The package's entry: a plugin manifest as its default export. The agent checks `meta`,
// then calls module() and loads the returned ContainerModule into its container.
import { CniAdapter, ContainerModule, Logger, Sysfs, definePlugin } from 'multi-networkpolicy-tc/plugin-api';
import { HostDeviceAdapter } from './adapter.js';

/** @typedef {import('multi-networkpolicy-tc/plugin-api').Sysfs} SysfsPort */
/** @typedef {import('multi-networkpolicy-tc/plugin-api').Logger} LoggerPort */

export default definePlugin({
  meta: { name: 'host-device', kind: 'cni-adapter', apiVersion: 1 },
  module: () =>
    new ContainerModule(({ bind }) => {
      // toResolvedValue names the dependencies explicitly: no decorators, no reflect-metadata.
      bind(CniAdapter)
        .toResolvedValue((/** @type {SysfsPort} */ sysfs, /** @type {LoggerPort} */ logger) => new HostDeviceAdapter(sysfs, logger), [Sysfs, Logger])
        .inSingletonScope();
    }),
});
