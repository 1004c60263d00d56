// Options of the netlink driver (`driver: { name: 'netlink', options }`).
export const NetlinkOptions = Symbol.for('mnp-tc.tc-netlink.Options');

export interface NetlinkOptions {
  /** How long one receive may wait for the kernel (SO_RCVTIMEO), default 5 s. */
  readonly receiveTimeoutMs?: number;
  /** At most this many plan ops per sendto (default 128; see windows.ts). */
  readonly windowOps?: number;
}

export const DEFAULT_RECEIVE_TIMEOUT_MS = 5_000;
export const DEFAULT_WINDOW_OPS = 128;

export const netlinkOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    receiveTimeoutMs: { type: 'integer', minimum: 10, maximum: 600_000 },
    windowOps: { type: 'integer', minimum: 1, maximum: 256 },
  },
} as const;
