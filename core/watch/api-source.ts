// The cluster from the API server: one supervised informer per kind, every object admitted
// (trimmed, validated) into the store. An invalid object is logged; an invalid policy is
// kept as an InvalidPolicy (fail closed) and reported by the reconciler from the snapshot.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { describeError } from '../api/errors.js';
import type { Logger } from '../api/ports.js';
import { ok, type Result } from '../api/result.js';
import { abortable } from './abortable.js';
import { admit } from './admit.js';
import { Interner } from './intern.js';
import { KIND_INFO, KINDS, objectKey, type Kind } from './kinds.js';
import type { ClusterSource } from './source.js';
import type { ClusterStore } from './store.js';
import { DEFAULT_INFORMER_TIMING, SupervisedInformer, type InformerStats, type InformerTiming, type ListFn, LIST_PAGE_SIZE } from './supervised-informer.js';
import { trimObject } from './trim.js';

type List = KubernetesListObject<KubernetesObject>;

/** List functions: typed for core kinds, raw for the CRDs. */
export function listFunctions(kc: KubeConfig): Record<Kind, ListFn<KubernetesObject>> {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const page = (cont: string | undefined) => ({ limit: LIST_PAGE_SIZE, ...(cont !== undefined ? { _continue: cont } : {}) });
  const crd = (kind: Kind) => async (signal: AbortSignal, cont: string | undefined): Promise<List> => {
    const i = KIND_INFO[kind];
    return (await custom.listCustomObjectForAllNamespaces({ group: i.group!, version: i.version, plural: i.plural, ...page(cont) }, abortable(signal))) as List;
  };
  return {
    Pod: async (signal, cont) => (await core.listPodForAllNamespaces(page(cont), abortable(signal))) as List,
    Namespace: async (signal, cont) => (await core.listNamespace(page(cont), abortable(signal))) as List,
    NetworkAttachmentDefinition: crd('NetworkAttachmentDefinition'),
    MultiNetworkPolicy: crd('MultiNetworkPolicy'),
  };
}

export class ApiSource implements ClusterSource {
  private readonly informers: SupervisedInformer<KubernetesObject>[];
  private readonly log: Logger;

  constructor(kc: KubeConfig, store: ClusterStore, log: Logger, timing: InformerTiming = DEFAULT_INFORMER_TIMING) {
    this.log = log.child({ component: 'api-source' });
    const server = kc.getCurrentCluster()?.server ?? '?';
    const lists = listFunctions(kc);
    // one table for all kinds: pods repeat their namespace's name, container lists, statuses
    const interner = new Interner();
    this.informers = KINDS.map((kind) => {
      const source = `${server}${KIND_INFO[kind].path}`;
      const upsert = (obj: unknown): void => {
        const a = admit(kind, obj, source, true); // the informer trimmed it (see below)
        if (a.ok) {
          if (a.error) this.log.warn({ kind, object: a.key, error: describeError(a.error) }, 'invalid policy kept; it fails closed');
          store.put(kind, a.key, a.value);
        } else {
          this.log.warn({ kind, object: a.key, error: describeError(a.error) }, 'invalid object ignored');
          if (a.key) store.remove(kind, a.key);
        }
      };
      const remove = (obj: unknown): void => {
        const key = objectKey(obj);
        if (key) store.remove(kind, key);
      };
      return new SupervisedInformer<KubernetesObject>(kind, KIND_INFO[kind].path, kc, lists[kind], (raw) => trimObject(kind, raw, interner) as KubernetesObject, { upsert, remove }, timing, log);
    });
  }

  async start(): Promise<Result<void>> {
    for (const i of this.informers) i.start();
    return ok(undefined);
  }

  async whenSynced(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.whenSynced()));
    this.log.info('all informers synced');
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  stats(): Record<Kind, InformerStats> {
    return Object.fromEntries(this.informers.map((i) => [i.kind, { ...i.stats }])) as Record<Kind, InformerStats>;
  }
}
