// Options of the bond adapter (`adapters: [{ name: 'bond', options }]`). A token of its own, so
// loading both adapters does not give one token two bindings.
export const BondOptions = Symbol.for('mnp-tc.bond.Options');

export interface BondOptions {
  /** Check that a member's network-status `representor-device` exists in sysfs (default true). */
  readonly verifyRepresentor?: boolean;
}

export const bondOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { verifyRepresentor: { type: 'boolean' } },
} as const;
