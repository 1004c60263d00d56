// Running ip/tc in the guest: argument arrays, batches on stdin (an exec costs 50-300 ms
// under TCG, a batch line almost nothing). A failure throws with the command and its stderr.
import { ExecaExec } from '../../../drivers/shared/execa-exec.js';

export const exec = new ExecaExec();

export class CommandError extends Error {}

export async function run(file: string, args: readonly string[], input?: string): Promise<string> {
  const r = await exec.run(file, args, input === undefined ? { timeoutMs: 120_000 } : { input, timeoutMs: 120_000 });
  if (r.exitCode !== 0) throw new CommandError(`${file} ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim()}${input ? `\n  input:\n    ${input.trim().split('\n').slice(0, 40).join('\n    ')}` : ''}`);
  return r.stdout;
}

/** `ip [-n NS] -batch -`; stops at the first failing line. */
export async function ipBatch(lines: readonly string[], ns?: string): Promise<void> {
  if (lines.length === 0) return;
  await run('ip', [...(ns ? ['-n', ns] : []), '-batch', '-'], `${lines.join('\n')}\n`);
}

export async function tcBatch(lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  await run('tc', ['-batch', '-'], `${lines.join('\n')}\n`);
}

/** `tc -s -j filter show dev DEV HOOK`, parsed (the raw kernel view, foreign filters included). */
export async function tcFilters(dev: string, hook: 'ingress' | 'egress'): Promise<TcJsonFilter[]> {
  const out = await run('tc', ['-s', '-j', 'filter', 'show', 'dev', dev, hook]);
  return (JSON.parse(out === '' ? '[]' : out) as TcJsonFilter[]).filter((f) => f.options !== undefined);
}

export async function tcQdiscs(dev: string): Promise<{ kind: string; handle?: string; parent?: string }[]> {
  const out = await run('tc', ['-j', 'qdisc', 'show', 'dev', dev]);
  return JSON.parse(out === '' ? '[]' : out) as { kind: string }[];
}

export interface TcJsonFilter {
  readonly protocol: string;
  readonly pref: number;
  readonly kind: string;
  readonly chain?: number;
  readonly options?: {
    readonly handle?: number;
    readonly keys?: Record<string, unknown>;
    readonly actions?: readonly { readonly kind?: string; readonly control_action?: { type?: string }; readonly stats?: { packets?: number } }[];
    readonly in_hw?: boolean;
    readonly not_in_hw?: boolean;
    readonly skip_sw?: boolean;
    readonly in_hw_count?: number;
  } & Record<string, unknown>;
}

/** Packets counted by the first action of each filter that drops (its verdict). */
export function dropPackets(filters: readonly TcJsonFilter[]): number {
  let n = 0;
  for (const f of filters) {
    const acts = f.options?.actions ?? [];
    if (acts.length === 1 && acts[0]?.control_action?.type === 'drop') n += acts[0]?.stats?.packets ?? 0;
  }
  return n;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
