// A small Kubernetes API server for integration tests: list and watch (with resourceVersion,
// replay from an event log, 410 when the requested version is older than the log, optional
// bookmarks) for the four kinds the agent reads, and POST of Events. Fault hooks let a test
// close streams, answer 410 or 500, go silent, or refuse connections for a while.
//
// Paths (as client-node 1.4 requests them; typescript-stack.md §1):
//   GET  /api/v1/pods | /api/v1/namespaces | /apis/k8s.cni.cncf.io/v1/network-attachment-definitions
//        | /apis/k8s.cni.cncf.io/v1beta1/multi-networkpolicies           list, or ?watch=true&resourceVersion=N
//   POST /api/v1/namespaces/{ns}/events                                   recorded in `events`
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Resource = 'pods' | 'namespaces' | 'nads' | 'policies';

interface ResourceInfo {
  readonly path: string;
  readonly listKind: string;
  readonly kind: string;
  readonly apiVersion: string;
}

export const RESOURCES: Readonly<Record<Resource, ResourceInfo>> = {
  pods: { path: '/api/v1/pods', listKind: 'PodList', kind: 'Pod', apiVersion: 'v1' },
  namespaces: { path: '/api/v1/namespaces', listKind: 'NamespaceList', kind: 'Namespace', apiVersion: 'v1' },
  nads: { path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions', listKind: 'NetworkAttachmentDefinitionList', kind: 'NetworkAttachmentDefinition', apiVersion: 'k8s.cni.cncf.io/v1' },
  policies: { path: '/apis/k8s.cni.cncf.io/v1beta1/multi-networkpolicies', listKind: 'MultiNetworkPolicyList', kind: 'MultiNetworkPolicy', apiVersion: 'k8s.cni.cncf.io/v1beta1' },
};

export type K8sObject = { metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; [k: string]: unknown }; [k: string]: unknown };

interface WatchEvent {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: K8sObject;
}

interface Watcher {
  readonly resource: Resource;
  readonly res: ServerResponse;
  muted: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly resource: Resource | 'events' | 'other';
  readonly watch: boolean;
  readonly query: Readonly<Record<string, string>>;
  readonly authorization: string | undefined;
}

const keyOf = (o: K8sObject): string => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

export class FakeApiServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private rv = 100;
  private uid = 0;
  private readonly objects: Record<Resource, Map<string, K8sObject>> = { pods: new Map(), namespaces: new Map(), nads: new Map(), policies: new Map() };
  private readonly history: Record<Resource, WatchEvent[]> = { pods: [], namespaces: [], nads: [], policies: [] };
  /** Watches asking for a version at or below this get 410 Gone. */
  private readonly compactedAt: Record<Resource, number> = { pods: 0, namespaces: 0, nads: 0, policies: 0 };
  private readonly watchers = new Set<Watcher>();
  /** Pending injected answers: an HTTP status, 'hang' (never answer) or 'close' (a 200 watch that ends at once). */
  private readonly faults = { list: new Map<Resource, (number | 'hang')[]>(), watch: new Map<Resource, (number | 'close')[]>() };
  /** How 410 is delivered: as the HTTP status of the watch, or as an ERROR event in a 200 stream. */
  goneAs: 'http' | 'event' = 'http';
  /** Answers a request with this status instead (401/403 tests); undefined lets it through. */
  deny: ((path: string, method: string) => number | undefined) | undefined;
  readonly requests: RecordedRequest[] = [];
  /** List responses served (pages included). */
  listPages = 0;
  readonly events: unknown[] = [];
  port = 0;

  static async start(): Promise<FakeApiServer> {
    const s = new FakeApiServer();
    await s.listen(0);
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  // ---- objects -------------------------------------------------------------------------

  /** Adds or replaces an object; a new resourceVersion is assigned and watchers are told. */
  apply(resource: Resource, obj: K8sObject): K8sObject {
    const info = RESOURCES[resource];
    const old = this.objects[resource].get(keyOf(obj));
    const rv = ++this.rv;
    const stored: K8sObject = {
      apiVersion: info.apiVersion,
      kind: info.kind,
      ...structuredClone(obj),
      metadata: { ...structuredClone(obj.metadata), resourceVersion: String(rv), uid: obj.metadata.uid ?? old?.metadata.uid ?? `uid-${++this.uid}` },
    };
    this.objects[resource].set(keyOf(stored), stored);
    this.publish(resource, { rv, type: old ? 'MODIFIED' : 'ADDED', object: stored });
    return stored;
  }

  delete(resource: Resource, key: string): void {
    const old = this.objects[resource].get(key);
    if (!old) throw new Error(`fake apiserver: no ${resource} ${key}`);
    this.objects[resource].delete(key);
    const rv = ++this.rv;
    this.publish(resource, { rv, type: 'DELETED', object: { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } } });
  }

  get(resource: Resource, key: string): K8sObject | undefined {
    const o = this.objects[resource].get(key);
    return o ? structuredClone(o) : undefined;
  }

  list(resource: Resource): K8sObject[] {
    return [...this.objects[resource].values()].map((o) => structuredClone(o));
  }

  // ---- faults --------------------------------------------------------------------------

  /** Ends every watch stream of `resource` (all if omitted), as the apiserver does on its timeout. */
  closeWatches(resource?: Resource): void {
    for (const w of [...this.watchers]) {
      if (resource && w.resource !== resource) continue;
      this.watchers.delete(w);
      w.res.end();
    }
  }

  /** Forgets the event log: a watch from an older version gets 410 Gone and must relist. */
  compact(resource?: Resource): void {
    for (const r of resource ? [resource] : (Object.keys(RESOURCES) as Resource[])) {
      this.compactedAt[r] = this.rv;
      this.history[r] = [];
    }
  }

  /** Sends an in-stream ERROR 410 on every open watch of `resource`, then closes them. */
  expireWatches(resource: Resource): void {
    this.compact(resource);
    for (const w of [...this.watchers]) {
      if (w.resource !== resource) continue;
      this.watchers.delete(w);
      w.res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' } })}\n`);
    }
  }

  /** The next `times` lists of `resource` answer `status`. */
  failList(resource: Resource, times: number, status = 500): void {
    this.faults.list.set(resource, [...(this.faults.list.get(resource) ?? []), ...Array<number>(times).fill(status)]);
  }

  /** The next `times` watch requests of `resource` answer `status`. */
  failWatch(resource: Resource, times: number, status = 500): void {
    this.faults.watch.set(resource, [...(this.faults.watch.get(resource) ?? []), ...Array<number>(times).fill(status)]);
  }

  /** The next `times` watches of `resource` are accepted and closed at once, with nothing sent. */
  closeNextWatches(resource: Resource, times: number): void {
    this.faults.watch.set(resource, [...(this.faults.watch.get(resource) ?? []), ...Array<'close'>(times).fill('close')]);
  }

  /** The next `times` lists of `resource` never get an answer. */
  hangList(resource: Resource, times: number): void {
    this.faults.list.set(resource, [...(this.faults.list.get(resource) ?? []), ...Array<'hang'>(times).fill('hang')]);
  }

  /** The open watch streams of `resource` stay connected but deliver nothing more (half-open). */
  silence(resource: Resource): void {
    for (const w of this.watchers) if (w.resource === resource) w.muted = true;
  }

  /** A BOOKMARK with the current version on every open, unmuted watch. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (w.muted) continue;
      const kind = RESOURCES[w.resource];
      w.res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: kind.kind, apiVersion: kind.apiVersion, metadata: { resourceVersion: String(this.rv) } } })}\n`);
    }
  }

  /** Stops listening and drops every connection: the API is unreachable until `restore()`. */
  async refuse(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.watchers.clear();
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  async restore(): Promise<void> {
    await this.listen(this.port);
  }

  async stop(): Promise<void> {
    await this.refuse();
  }

  watchCount(resource?: Resource): number {
    return [...this.watchers].filter((w) => !resource || w.resource === resource).length;
  }

  // ---- HTTP ----------------------------------------------------------------------------

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  private publish(resource: Resource, ev: WatchEvent): void {
    this.history[resource].push(ev);
    for (const w of this.watchers) if (w.resource === resource && !w.muted) w.res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(u.searchParams);
    const resource = (Object.keys(RESOURCES) as Resource[]).find((r) => RESOURCES[r].path === u.pathname);
    const eventsPath = /^\/api\/v1\/namespaces\/[^/]+\/events$/.test(u.pathname);
    const watch = query['watch'] === 'true' || query['watch'] === '1';
    this.requests.push({ method: req.method ?? 'GET', resource: resource ?? (eventsPath ? 'events' : 'other'), watch, query, authorization: req.headers.authorization });
    const denied = this.deny?.(u.pathname, req.method ?? 'GET');
    if (denied !== undefined) return json(res, denied, status(denied, denied === 401 ? 'Unauthorized' : 'Forbidden', `injected ${denied}`));

    if (req.method === 'POST' && eventsPath) {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const ev = JSON.parse(body) as K8sObject;
        this.events.push(ev);
        json(res, 201, { ...ev, metadata: { ...ev.metadata, resourceVersion: String(++this.rv) } });
      });
      return;
    }
    if (req.method !== 'GET' || !resource) {
      // The preflight lists namespaces with ?limit=1; anything else is unknown here.
      json(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${req.method} ${u.pathname})`));
      return;
    }
    if (!watch) return this.serveList(resource, res, Number(query['limit'] ?? 0), query['continue']);
    this.serveWatch(resource, Number(query['resourceVersion'] ?? '0'), res);
  }

  /** Pages of a list: `continue` is `<resourceVersion>:<offset>`, so every page shows one snapshot's version. */
  private serveList(resource: Resource, res: ServerResponse, limit: number, cont: string | undefined): void {
    const fault = this.faults.list.get(resource)?.shift();
    if (fault === 'hang') return;
    if (fault !== undefined) return json(res, fault, status(fault, 'InternalError', 'injected list failure'));
    const info = RESOURCES[resource];
    const [rv, offset] = cont ? cont.split(':').map(Number) as [number, number] : [this.rv, 0];
    const all = [...this.objects[resource].values()];
    const items = (limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset)).map((o) => structuredClone(o));
    const more = limit > 0 && offset + limit < all.length;
    this.listPages++;
    json(res, 200, { kind: info.listKind, apiVersion: info.apiVersion, metadata: { resourceVersion: String(rv), ...(more ? { continue: `${rv}:${offset + limit}` } : {}) }, items });
  }

  private serveWatch(resource: Resource, from: number, res: ServerResponse): void {
    const fault = this.faults.watch.get(resource)?.shift();
    if (fault === 'close') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end();
      return;
    }
    if (fault !== undefined) return json(res, fault, status(fault, 'InternalError', 'injected watch failure'));
    if (from < this.compactedAt[resource]) {
      if (this.goneAs === 'http') return json(res, 410, status(410, 'Expired', 'too old resource version'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // client-node's start() waits for the headers
    for (const ev of this.history[resource]) if (ev.rv > from) res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
    const w: Watcher = { resource, res, muted: false };
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
