// Options of the accelerated-bridge adapter (`adapters: [{ name: 'accelerated-bridge', options }]`).
export const AcceleratedBridgeOptions = Symbol.for('mnp-tc.accelerated-bridge.Options');

export interface AcceleratedBridgeOptions {
  /** Check that a network-status `representor-device` exists in sysfs before using it (default true). */
  readonly verifyRepresentor?: boolean;
}

export const acceleratedBridgeOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { verifyRepresentor: { type: 'boolean' } },
} as const;
