// What a plugin package exports: a manifest whose module() binds its class to a shared
// token. The loader checks meta and validates options with the schema before module() runs.
import type { ContainerModule } from 'inversify';

export interface PluginMeta {
  readonly name: string;
  readonly kind: 'cni-adapter' | 'tc-driver';
  readonly apiVersion: 1;
}

export interface PluginManifest<O = unknown> {
  readonly meta: PluginMeta;
  /** JSON schema for the options; checked with ajv before module() runs. */
  readonly optionsSchema?: object;
  module(options: O): ContainerModule;
}

/** Identity function that only helps type inference. */
export const definePlugin = <O>(m: PluginManifest<O>): PluginManifest<O> => m;

/** Settings every plugin may read, bound by the core. */
export const AgentSettings = Symbol.for('mnp-tc.AgentSettings');
export interface AgentSettings {
  readonly ctZone: number;
  readonly stateful: boolean;
}
