// Builds a TopologyPlan in the guest and tears it down: what is built is remembered, so a
// step only adds what is new (a deleted pod keeps its namespace and representor, as a VF
// keeps its representor: the agent must still remove that pod's rules). The uplink veth, when
// the plan has one, is built with the first sync and stays until teardown.
import { access } from 'node:fs/promises';
import type { Engine } from './engine.js';
import { ipBatch, sleep } from './sh.js';
import { addrLines, nsLines, rootLines, teardownLines, type TopologyPlan } from '../topology.js';

export class LabTopology {
  readonly bridges = new Set<string>();
  readonly namespaces = new Set<string>();
  readonly hosts = new Set<string>();
  private readonly addrs = new Map<string, string>(); // ns → addresses as built (JSON)

  constructor(private readonly engine: Engine) {}

  async sync(plan: TopologyPlan): Promise<void> {
    await ipBatch(rootLines(plan, this));
    for (const b of plan.bridges) this.bridges.add(b);
    if (plan.uplink) this.hosts.add(plan.uplink.host);
    for (const ns of plan.namespaces) {
      const wanted = JSON.stringify(ns.addrs);
      if (!this.namespaces.has(ns.name)) {
        this.namespaces.add(ns.name);
        for (const l of ns.links) this.hosts.add(l.host);
        await ipBatch(nsLines(ns), ns.name);
      } else if (this.addrs.get(ns.name) !== wanted) {
        // a step changed the pod's addresses: re-address every interface of it
        await ipBatch([...Object.keys(ns.addrs).map((d) => `addr flush dev ${d}`), ...addrLines(ns)], ns.name);
      }
      this.addrs.set(ns.name, wanted);
    }
  }

  async teardown(): Promise<void> {
    // sockets keep a namespace (and its veth ends) alive after `netns del`
    for (const ns of this.namespaces) await this.engine.closeNs(ns);
    await ipBatch(teardownLines(this));
    // names repeat in the next case: wait until the kernel has really let them go
    for (const h of this.hosts) {
      for (let i = 0; i < 100 && (await exists(`/sys/class/net/${h}`)); i++) await sleep(50);
    }
    this.bridges.clear();
    this.namespaces.clear();
    this.hosts.clear();
    this.addrs.clear();
  }
}

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);
