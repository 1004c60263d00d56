// Kubernetes Events: one on startup (on the Node), and a Warning on every policy that cannot
// be enforced as written (invalid, or a part that allows nothing) and on every pod whose rules
// could not be applied. The message names the object and the field. Events are deduplicated:
// a condition is announced when it appears, again if it disappears and comes back, and at
// most once per `repeatMs` while it lasts (api-event-sink.ts). Offline the sink is a no-op.
import type { CoreV1Event } from '@kubernetes/client-node';
import type { Logger } from '../api/ports.js';
import type { Failure, PassResult, Reporter } from '../agent/reconciler.js';

export interface EventRef {
  readonly kind: 'Node' | 'Pod' | 'MultiNetworkPolicy';
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
}

export interface AgentEvent {
  readonly regarding: EventRef;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface EventSink {
  emit(e: AgentEvent): void;
  /** Waits for the events already emitted to be sent (shutdown, tests). */
  flush(): Promise<void>;
}

export const noopEventSink: EventSink = { emit: () => undefined, flush: async () => undefined };

const API_VERSION: Readonly<Record<EventRef['kind'], string>> = { Node: 'v1', Pod: 'v1', MultiNetworkPolicy: 'k8s.cni.cncf.io/v1beta1' };
const COMPONENT = 'multi-networkpolicy-tc';

/** The core/v1 Event for `e`, as this node reports it. Pure. */
export function toV1Event(e: AgentEvent, node: string, now: Date): CoreV1Event {
  const ns = e.regarding.namespace ?? 'default';
  const base = e.regarding.name.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 200);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${base}.`, namespace: ns },
    involvedObject: {
      apiVersion: API_VERSION[e.regarding.kind],
      kind: e.regarding.kind,
      name: e.regarding.name,
      ...(e.regarding.namespace ? { namespace: e.regarding.namespace } : {}),
      ...(e.regarding.uid ? { uid: e.regarding.uid } : {}),
    },
    type: e.type,
    reason: e.reason,
    message: e.message.slice(0, 1024),
    source: { component: COMPONENT, host: node },
    reportingComponent: COMPONENT,
    reportingInstance: node,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

/** Turns pass results and failures into events; remembers which conditions are active. */
export class EventReporter implements Reporter {
  private active = new Set<string>();

  constructor(
    private readonly sink: EventSink,
    private readonly node: string,
  ) {}

  failed(f: Failure): void {
    const where = f.netdev ? ` on ${f.netdev}` : '';
    for (const ep of f.endpoints) {
      this.sink.emit({
        regarding: { kind: 'Pod', namespace: ep.pod.namespace, name: ep.pod.name, uid: ep.pod.uid },
        type: 'Warning',
        reason: f.stage === 'resolve' ? 'RepresentorNotFound' : 'PolicyRulesNotApplied',
        message: `node ${this.node}: interface ${ep.attachment.interface} (network ${ep.attachment.network})${where}: ${f.message}; previous rules left in place, retrying`,
      });
    }
  }

  passDone(r: PassResult): void {
    const now = new Map<string, AgentEvent>();
    for (const p of r.snapshot.invalidPolicies) {
      const types = p.policyTypes && p.policyTypes.length > 0 ? p.policyTypes.join(' and ') : 'Ingress and Egress';
      const e: AgentEvent = {
        regarding: { kind: 'MultiNetworkPolicy', namespace: p.namespace, name: p.name },
        type: 'Warning',
        reason: 'PolicyInvalid',
        message: `MultiNetworkPolicy ${p.namespace}/${p.name} cannot be enforced: ${p.field}: ${p.problem}; the pods it may select are isolated for ${types} and it allows nothing (fail closed)`,
      };
      now.set(`${p.namespace}/${p.name}|invalid|${e.message}`, e);
    }
    for (const ep of r.program.programs) {
      for (const d of ep.rules.diagnostics) {
        if (!d.policy || d.id === 'policy-invalid') continue;
        const [namespace, name] = splitKey(d.policy);
        const e: AgentEvent = {
          regarding: { kind: 'MultiNetworkPolicy', namespace, name },
          type: 'Warning',
          reason: 'PolicyPartlyEnforced',
          message: `MultiNetworkPolicy ${d.policy} ${d.field ?? ''}: ${d.detail} (${d.id})`.replace(/ +:/, ':'),
        };
        now.set(`${d.policy}|${d.id}|${e.message}`, e);
      }
    }
    for (const u of r.unavailable) {
      for (const ep of u.endpoints) {
        const e: AgentEvent = {
          regarding: { kind: 'Pod', namespace: ep.pod.namespace, name: ep.pod.name, uid: ep.pod.uid },
          type: 'Warning',
          reason: 'PolicyPartlyEnforced',
          message: `node ${this.node}: interface ${ep.attachment.interface} (network ${ep.attachment.network}) on ${u.netdev}: cannot program ${u.netdev}: ${u.problem}`,
        };
        now.set(`${ep.key}|unavailable|${e.message}`, e);
      }
    }
    for (const [k, e] of now) if (!this.active.has(k)) this.sink.emit(e);
    this.active = new Set(now.keys());
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return i < 0 ? ['default', key] : [key.slice(0, i), key.slice(i + 1)];
}
