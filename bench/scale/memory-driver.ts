// A TC driver for the pure-pipeline benchmark: each netdev's filters in a Map, plans applied
// without the fake kernel's checks (drivers/dry-run does those, at O(n) per op), so a pass's
// time is the agent's own work. It counts what a real driver would have had to do.
import { ok, type Result } from '../../core/api/result.js';
import type { TcDriver } from '../../core/api/tc-driver.js';
import type { Netdev } from '../../core/model/attachment.js';
import type { Applied, Plan } from '../../core/model/plan.js';
import type { ObservedTc, TcFilter } from '../../core/model/tc.js';

export interface DriverCounts {
  observes: number;
  applies: number;
  added: number;
  replaced: number;
  deleted: number;
}

export const zeroCounts = (): DriverCounts => ({ observes: 0, applies: 0, added: 0, replaced: 0, deleted: 0 });

export class MemoryTcDriver implements TcDriver {
  readonly name = 'memory';
  readonly counts: DriverCounts = zeroCounts();
  private readonly devs = new Map<string, { qdisc: boolean; next: number; filters: Map<number, TcFilter> }>();

  async observe(dev: Netdev): Promise<Result<ObservedTc>> {
    this.counts.observes++;
    const d = this.devs.get(dev.name);
    if (!d) return ok({ qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 } });
    return ok({ qdisc: d.qdisc ? 'clsact' : null, filters: [...d.filters.values()], foreign: { ingress: 0, egress: 0 } });
  }

  async apply(dev: Netdev, plan: Plan): Promise<Result<Applied>> {
    this.counts.applies++;
    let d = this.devs.get(dev.name);
    if (!d) this.devs.set(dev.name, (d = { qdisc: false, next: 1, filters: new Map() }));
    let added = 0;
    let replaced = 0;
    let deleted = 0;
    let qdisc: Applied['qdisc'] = 'unchanged';
    for (const op of plan.ops) {
      if (op.op === 'add-qdisc') {
        d.qdisc = true;
        qdisc = 'added';
      } else if (op.op === 'delete-qdisc') {
        deleted += d.filters.size;
        d.qdisc = false;
        d.filters.clear();
        qdisc = 'deleted';
      } else if (op.op === 'add') {
        const handle = d.next++;
        d.filters.set(handle, { ...op.filter, handle });
        added++;
      } else if (op.op === 'replace') {
        d.filters.set(op.filter.handle, op.filter);
        replaced++;
      } else if (op.op === 'delete') {
        d.filters.delete(op.filter.handle);
        deleted++;
      }
    }
    this.counts.added += added;
    this.counts.replaced += replaced;
    this.counts.deleted += deleted;
    return ok({ added, replaced, deleted, qdisc });
  }

  filterCount(): number {
    let n = 0;
    for (const d of this.devs.values()) n += d.filters.size;
    return n;
  }
}
