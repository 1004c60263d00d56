// Options of the cmdline driver (`driver: { name: 'cmdline', options }`).
export const CmdlineOptions = Symbol.for('mnp-tc.tc-cmdline.Options');

export interface CmdlineOptions {
  /** The tc binary, looked up in PATH unless absolute (default `tc`). */
  readonly tc?: string;
  /** Kill tc after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Netdevs observed by one tc process (default 128). */
  readonly batchNetdevs?: number;
  /** Lines of plans applied by one tc process (default 5 000; one netdev's plan is never split). */
  readonly batchLines?: number;
}

export const cmdlineOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tc: { type: 'string', minLength: 1 },
    timeoutMs: { type: 'integer', minimum: 100 },
    batchNetdevs: { type: 'integer', minimum: 1 },
    batchLines: { type: 'integer', minimum: 1 },
  },
} as const;
