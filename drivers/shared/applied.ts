// What a plan changes when every op of it succeeds; both drivers report it in `Applied`.
import type { Applied, Plan } from '../../core/model/plan.js';

export function countApplied(plan: Plan): Applied {
  let added = 0;
  let replaced = 0;
  let deleted = 0;
  let qdisc: Applied['qdisc'] = 'unchanged';
  for (const op of plan.ops) {
    if (op.op === 'add') added++;
    else if (op.op === 'replace') replaced++;
    else if (op.op === 'delete') deleted++;
    else if (op.op === 'bind') qdisc = 'added'; // a port's clsact, bound to the block
    else qdisc = op.op === 'add-qdisc' ? 'added' : 'deleted'; // the last qdisc op wins
  }
  return { added, replaced, deleted, qdisc };
}
