// The public plugin API: what a third-party CNI adapter or TC driver package may use. A
// plugin imports it as `multi-networkpolicy-tc/plugin-api`; the agent resolves that name
// to this module for every plugin it loads (core/agent/plugin-api-hook.ts), so a plugin
// needs no copy of the agent in its own node_modules and always gets the running agent's
// tokens. Documented in docs/writing-a-cni-adapter.md. Additive changes only: a breaking
// change bumps PluginMeta.apiVersion.

// Contracts and their inversify tokens (Symbol.for, so they are equal across copies).
export { CniAdapter, type AdapterContext } from './cni-adapter.js';
export { TcDriver } from './tc-driver.js';
export { definePlugin, AgentSettings, type PluginManifest, type PluginMeta } from './plugin.js';
// The agent's own inversify ContainerModule: a plugin needs no inversify of its own (no
// second copy, no version skew with the container it is loaded into).
export { ContainerModule, type ContainerModuleLoadOptions } from 'inversify';
// Ports: the only ways a plugin reaches the host.
export { Exec, Logger, Sysfs, Clock, type ExecResult } from './ports.js';
// Errors as values.
export { ok, err, type Result } from './result.js';
export { describeError, type AgentError } from './errors.js';
// The data a plugin receives and returns.
export type { Attachment, DeviceInfo, Endpoint, Netdev, NetworkAttachment, NetworkStatusEntry, PodRef } from '../model/attachment.js';
export type { Pod } from '../model/k8s.js';
export type { FlowerMatch, Hook, ObservedTc, TcAction, TcFilter } from '../model/tc.js';
export type { Applied, Plan, PlanOp } from '../model/plan.js';
// Helpers for adapters of switchdev VF CNIs: the sysfs representor lookup and the
// network-status parsing the built-in adapters use (shared, not copied).
export { pciAttachment } from '../../plugins/accelerated-bridge/pci-attachment.js';
export { resolveDeviceNetdev, type DeviceNetdevOptions } from '../../plugins/sysfs/device-netdev.js';
export { resolveRepresentor, type NoteSink } from '../../plugins/sysfs/representor-resolver.js';
export { isNetdevName, normalizePciAddress } from '../../plugins/sysfs/names.js';

/** The module specifier plugins import this API by. */
export const PLUGIN_API_SPECIFIER = 'multi-networkpolicy-tc/plugin-api';
