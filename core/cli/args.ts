// Command-line parsing: upstream's flags (same names and meaning) plus ours. Turns argv
// into a plain object that core/config.ts validates; knows nothing of what the flags do.
import { parseArgs } from 'node:util';

export const FLAG_SPEC = {
  kubeconfig: { type: 'string' },
  master: { type: 'string' },
  'hostname-override': { type: 'string' },
  'network-plugins': { type: 'string' },
  'pod-rules-path': { type: 'string' },
  'tc-driver': { type: 'string' },
  v: { type: 'string', short: 'v' },
  manifests: { type: 'string', multiple: true },
  stateless: { type: 'boolean' },
  'ct-zone': { type: 'string' },
  encapsulations: { type: 'string' },
  layout: { type: 'string' },
  uplink: { type: 'string' },
  plugin: { type: 'string', multiple: true },
  // agent
  'resync-seconds': { type: 'string' },
  once: { type: 'boolean' },
  'health-address': { type: 'string' },
  // offline commands
  node: { type: 'string' },
  output: { type: 'string', short: 'o' },
  json: { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
  network: { type: 'string' },
  port: { type: 'string' },
  family: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ParsedArgs {
  readonly command: string | undefined;
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
}

/** klog writes `-v=4`; parseArgs would read the value as `=4`. */
function normalise(argv: readonly string[]): string[] {
  return argv.map((a) => (/^-v=\d+$/.test(a) ? `--v=${a.slice(3)}` : a));
}

export function parse(argv: readonly string[]): ParsedArgs {
  const { values, positionals } = parseArgs({ args: normalise(argv), options: FLAG_SPEC, allowPositionals: true, strict: true });
  const [command, ...rest] = positionals;
  return { command, positionals: rest, values: values as ParsedArgs['values'] };
}

const list = (s: string | undefined): string[] | undefined =>
  s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter((x) => x !== '');

/** The object handed to validateConfig: defaults as upstream's where upstream had the flag. */
export function configInput(v: ParsedArgs['values']): Record<string, unknown> {
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const num = (k: string, d: number): number | string => {
    const s = str(k);
    return s === undefined ? d : /^\d+$/.test(s) ? Number(s) : s;
  };
  const out: Record<string, unknown> = {
    networkPlugins: list(str('network-plugins')) ?? ['accelerated-bridge'],
    tcDriver: str('tc-driver') ?? 'cmdline',
    verbosity: num('v', 0),
    stateful: v['stateless'] !== true,
    ctZone: num('ct-zone', 0),
    encapsulations: list(str('encapsulations')) ?? ['auto'],
    layout: str('layout') ?? 'per-port',
    plugins: (v['plugin'] as string[] | undefined) ?? [],
  };
  if (str('kubeconfig') !== undefined) out['kubeconfig'] = str('kubeconfig');
  if (str('master') !== undefined) out['master'] = str('master');
  if (str('hostname-override') !== undefined) out['hostnameOverride'] = str('hostname-override');
  if (str('pod-rules-path') !== undefined) out['podRulesPath'] = str('pod-rules-path');
  if (v['manifests'] !== undefined) out['manifests'] = v['manifests'];
  if (str('resync-seconds') !== undefined) out['resyncSeconds'] = num('resync-seconds', 0);
  if (v['once'] === true) out['once'] = true;
  if (str('uplink') !== undefined) out['uplink'] = str('uplink');
  if (str('health-address') !== undefined) out['healthAddress'] = str('health-address');
  return out;
}
