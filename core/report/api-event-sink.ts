// Events through the API (CoreV1Api createNamespacedEvent), deduplicated: the same event is
// sent again only after `repeatMs`. A failure (RBAC) is logged once and never disturbs
// enforcement.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../api/ports.js';
import { describeApiError } from '../watch/api-error.js';
import { toV1Event, type AgentEvent, type EventSink } from './events.js';

export class ApiEventSink implements EventSink {
  private readonly core: CoreV1Api;
  private readonly log: Logger;
  private queue: Promise<void> = Promise.resolve();
  private readonly sent = new Map<string, number>();
  private warned = false;

  constructor(
    kc: KubeConfig,
    private readonly node: string,
    log: Logger,
    private readonly repeatMs = 15 * 60_000,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.log = log.child({ component: 'events' });
  }

  emit(e: AgentEvent): void {
    const key = `${e.regarding.kind}/${e.regarding.namespace ?? ''}/${e.regarding.name}|${e.reason}|${e.message}`;
    const now = Date.now();
    const last = this.sent.get(key);
    if (last !== undefined && now - last < this.repeatMs) return;
    this.sent.set(key, now);
    if (this.sent.size > 10_000) for (const k of [...this.sent.keys()].slice(0, 5_000)) this.sent.delete(k);
    const body = toV1Event(e, this.node, new Date(now));
    this.queue = this.queue.then(async () => {
      try {
        await this.core.createNamespacedEvent({ namespace: body.metadata!.namespace!, body });
      } catch (err) {
        // RBAC may not allow events. Say so once.
        if (!this.warned) this.log.warn({ error: describeApiError(err) }, 'cannot create events');
        this.warned = true;
      }
    });
  }

  flush(): Promise<void> {
    return this.queue;
  }
}

