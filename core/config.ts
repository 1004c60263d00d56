// The agent's options: parsed from flags once (core/cli/args.ts), validated here once with
// ajv, then injected. A bad value stops startup with one clear sentence.
import { Ajv, type JSONSchemaType } from 'ajv';
import type { Encapsulation } from './pipeline/compile.js';

export interface AgentConfig {
  readonly kubeconfig?: string;
  readonly master?: string;
  readonly hostnameOverride?: string;
  readonly networkPlugins: string[];
  readonly podRulesPath?: string;
  readonly tcDriver: string;
  readonly verbosity: number;
  readonly manifests?: string[];
  readonly stateful: boolean;
  readonly ctZone: number;
  /** ['auto'] (untagged, plus 802.1Q on networks that trunk VLANs) or an explicit list. */
  readonly encapsulations: ('auto' | Encapsulation)[];
  readonly plugins: string[];
  /**
   * `per-port` (default): pod egress on each representor's ingress hook, pod ingress on its
   * egress hook. `shared-block`: both on one ingress block shared by every port of the
   * eswitch, where a switchdev NIC can offload them (docs/tc-rule-pipeline.md).
   */
  readonly layout: 'per-port' | 'shared-block';
  /** shared-block: the uplink of representors that report no eswitch (`phys_switch_id`). */
  readonly uplink?: string;
  /** Agent: seconds between full passes that observe every programmed netdev (drift repair); 0 = never. Default 300. */
  readonly resyncSeconds?: number;
  /** Agent: sync once, print what was applied, exit (0 = everything applied). */
  readonly once?: boolean;
  /** Agent: `host:port` for /healthz and /readyz; absent = no health server. */
  readonly healthAddress?: string;
}

export const DEFAULT_RESYNC_SECONDS = 300;

export const BUILTIN_DRIVERS = ['cmdline', 'netlink', 'dry-run'] as const;
export const BUILTIN_ADAPTERS = ['accelerated-bridge', 'bond', 'sriov'] as const;

const schema: JSONSchemaType<AgentConfig> = {
  type: 'object',
  additionalProperties: false,
  required: ['networkPlugins', 'tcDriver', 'verbosity', 'stateful', 'ctZone', 'encapsulations', 'plugins', 'layout'],
  properties: {
    kubeconfig: { type: 'string', minLength: 1, nullable: true },
    master: { type: 'string', pattern: '^https?://', nullable: true },
    hostnameOverride: { type: 'string', minLength: 1, maxLength: 253, nullable: true },
    networkPlugins: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$' } },
    podRulesPath: { type: 'string', minLength: 1, nullable: true },
    tcDriver: { type: 'string', minLength: 1 },
    verbosity: { type: 'integer', minimum: 0, maximum: 10 },
    manifests: { type: 'array', items: { type: 'string', minLength: 1 }, nullable: true },
    stateful: { type: 'boolean' },
    ctZone: { type: 'integer', minimum: 0, maximum: 65535 },
    encapsulations: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: ['auto', 'untagged', '802.1Q', '802.1ad'] } },
    plugins: { type: 'array', items: { type: 'string', minLength: 1 } },
    layout: { type: 'string', enum: ['per-port', 'shared-block'] },
    uplink: { type: 'string', pattern: '^[^/:\\s]{1,15}$', nullable: true },
    resyncSeconds: { type: 'integer', minimum: 0, maximum: 86400, nullable: true },
    once: { type: 'boolean', nullable: true },
    healthAddress: { type: 'string', pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]*):[0-9]{1,5}$', nullable: true },
  },
};

const validate = new Ajv({ allErrors: false, strict: true }).compile(schema);

const FLAG_OF: Record<string, string> = {
  kubeconfig: '--kubeconfig',
  master: '--master',
  hostnameOverride: '--hostname-override',
  networkPlugins: '--network-plugins',
  podRulesPath: '--pod-rules-path',
  tcDriver: '--tc-driver',
  verbosity: '-v',
  manifests: '--manifests',
  ctZone: '--ct-zone',
  encapsulations: '--encapsulations',
  plugins: '--plugin',
  layout: '--layout',
  uplink: '--uplink',
  resyncSeconds: '--resync-seconds',
  once: '--once',
  healthAddress: '--health-address',
};

/** Returns the config, or one sentence naming the flag and the problem. */
export function validateConfig(input: unknown): { ok: true; value: AgentConfig } | { ok: false; error: string } {
  if (validate(input)) {
    if (input.encapsulations.includes('auto') && input.encapsulations.length > 1) return { ok: false, error: `--encapsulations ${JSON.stringify(input.encapsulations)}: 'auto' stands alone` };
    return { ok: true, value: input };
  }
  const e = validate.errors?.[0];
  const top = (e?.instancePath ?? '').split('/')[1] ?? (e?.params as { missingProperty?: string } | undefined)?.missingProperty ?? '';
  const flag = FLAG_OF[top] ?? top;
  const value = top && input && typeof input === 'object' ? JSON.stringify((input as Record<string, unknown>)[top]) : '';
  return { ok: false, error: `${flag}${value ? ` ${value}` : ''}: ${e?.message ?? 'invalid'}` };
}
