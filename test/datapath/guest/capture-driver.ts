// A TC driver that installs nothing: every target looks empty (no qdisc, no filters, ports
// unbound), and each plan the reconciler would apply is recorded with its target. It gives
// the exact plans the agent runs on a clean host — binds, then filters in make-before-break
// order — for a test to install its own way (with skip_sw).
import { ok } from '../../../core/api/result.js';
import type { TcDriver } from '../../../core/api/tc-driver.js';
import type { Netdev } from '../../../core/model/attachment.js';
import type { Plan } from '../../../core/model/plan.js';
import type { ObservedTc } from '../../../core/model/tc.js';

export class CaptureDriver implements TcDriver {
  readonly name = 'capture';
  readonly plans: { target: Netdev; plan: Plan }[] = [];

  async observe(dev: Netdev) {
    const empty: ObservedTc = { qdisc: null, filters: [], foreign: { ingress: 0, egress: 0 }, ...(dev.block ? { ports: dev.block.ports.map((name) => ({ name, state: 'absent' as const })) } : {}) };
    return ok(empty);
  }

  async apply(dev: Netdev, plan: Plan) {
    this.plans.push({ target: dev, plan });
    const n = (op: string): number => plan.ops.filter((o) => o.op === op).length;
    return ok({ added: n('add'), replaced: n('replace'), deleted: n('delete'), qdisc: plan.ops.some((o) => o.op === 'add-qdisc' || o.op === 'bind') ? ('added' as const) : ('unchanged' as const) });
  }
}
