// Capped exponential backoff: initial, 2×, 4×, … up to max. Pure; `jitter` in [0,1) spreads
// the restarts of many agents (a DaemonSet) after an API server outage.
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export function backoffDelay(b: Backoff, attempt: number, jitter = 0): number {
  const base = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(base * (1 - 0.2 * jitter));
}
