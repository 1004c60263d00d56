// The reconciler's way into a driver for a whole pass: every target of the pass in one
// observeMany / applyMany when the driver has them, else observe / apply per target, at most
// `concurrency` at a time. A driver that throws (a bug) fails the targets of that call, never
// the pass.
import type { Result } from '../api/result.js';
import type { PlanFor, TcDriver } from '../api/tc-driver.js';
import type { Netdev } from '../model/attachment.js';
import type { Applied } from '../model/plan.js';
import type { ObservedTc } from '../model/tc.js';

/** A driver call that threw instead of returning a Result. */
export class Threw {
  constructor(readonly cause: unknown) {}
  get message(): string {
    return this.cause instanceof Error ? this.cause.message : String(this.cause);
  }
}

export type Outcome<T> = Result<T> | Threw;

export function observeAll(driver: TcDriver, devs: readonly Netdev[], concurrency: number): Promise<Outcome<ObservedTc>[]> {
  if (driver.observeMany) return many(devs, (all) => driver.observeMany!(all));
  return each(devs, concurrency, (d) => driver.observe(d));
}

export function applyAll(driver: TcDriver, work: readonly PlanFor[], concurrency: number): Promise<Outcome<Applied>[]> {
  if (driver.applyMany) return many(work, (all) => driver.applyMany!(all));
  return each(work, concurrency, (w) => driver.apply(w.dev, w.plan));
}

async function many<I, T>(items: readonly I[], call: (items: readonly I[]) => Promise<Result<T>[]>): Promise<Outcome<T>[]> {
  if (items.length === 0) return [];
  try {
    const rs = await call(items);
    if (rs.length !== items.length) throw new Error(`driver returned ${rs.length} results for ${items.length} targets`);
    return rs;
  } catch (e) {
    return items.map(() => new Threw(e));
  }
}

async function each<I, T>(items: readonly I[], concurrency: number, call: (item: I) => Promise<Result<T>>): Promise<Outcome<T>[]> {
  const out: Outcome<T>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      // through then(): a driver method that throws before returning its promise is caught too
      out[i] = await Promise.resolve(items[i]!).then(call).catch((e: unknown) => new Threw(e));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
