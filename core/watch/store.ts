// The cache: the latest object of each kind by key, and frozen Snapshots of it. Every change
// bumps `rev` and tells the listeners (the reconciler only marks itself dirty). Sources
// feed it object by object (informers) or a whole cluster at a time (manifest files).
import type { MultiNetworkPolicy, Namespace, NetworkAttachmentDefinition, Pod } from '../model/k8s.js';
import type { Cluster, InvalidPolicy, Snapshot } from '../model/snapshot.js';
import type { Cached } from './admit.js';
import { KINDS, type Kind } from './kinds.js';

/** Called after every change, with the object before and after it (undefined: absent). */
export type ChangeListener = (kind: Kind, key: string, before: Cached | undefined, after: Cached | undefined) => void;

const isInvalid = (v: Cached): v is InvalidPolicy => !('metadata' in v);

export class ClusterStore {
  private readonly maps: Record<Kind, Map<string, Cached>> = {
    Pod: new Map(),
    Namespace: new Map(),
    NetworkAttachmentDefinition: new Map(),
    MultiNetworkPolicy: new Map(),
  };
  private revision = 0;
  private cached: Snapshot | undefined;
  private readonly listeners: ChangeListener[] = [];

  get rev(): number {
    return this.revision;
  }

  size(kind: Kind): number {
    return this.maps[kind].size;
  }

  get(kind: Kind, key: string): Cached | undefined {
    return this.maps[kind].get(key);
  }

  onChange(l: ChangeListener): void {
    this.listeners.push(l);
  }

  put(kind: Kind, key: string, value: Cached): void {
    const before = this.maps[kind].get(key);
    if (before === value) return;
    this.maps[kind].set(key, value);
    this.changed(kind, key, before, value);
  }

  remove(kind: Kind, key: string): void {
    const before = this.maps[kind].get(key);
    if (before === undefined) return;
    this.maps[kind].delete(key);
    this.changed(kind, key, before, undefined);
  }

  /** Makes the cache equal to `cluster`, changing (and announcing) only the objects that differ. */
  replace(cluster: Cluster): number {
    const next: Record<Kind, Map<string, Cached>> = {
      Pod: new Map(cluster.pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p])),
      Namespace: new Map(cluster.namespaces.map((n) => [n.metadata.name, n])),
      NetworkAttachmentDefinition: new Map(cluster.networks.map((n) => [`${n.metadata.namespace}/${n.metadata.name}`, n])),
      MultiNetworkPolicy: new Map<string, Cached>([
        ...cluster.policies.map((p): [string, Cached] => [`${p.metadata.namespace}/${p.metadata.name}`, p]),
        ...cluster.invalidPolicies.map((p): [string, Cached] => [`${p.namespace}/${p.name}`, p]),
      ]),
    };
    let changes = 0;
    for (const kind of KINDS) {
      const now = this.maps[kind];
      for (const key of [...now.keys()]) {
        if (!next[kind].has(key)) {
          this.remove(kind, key);
          changes++;
        }
      }
      for (const [key, value] of next[kind]) {
        const old = now.get(key);
        if (old !== undefined && JSON.stringify(old) === JSON.stringify(value)) continue;
        this.put(kind, key, value);
        changes++;
      }
    }
    return changes;
  }

  /** The current state as a frozen Snapshot; the same object until the next change. */
  snapshot(): Snapshot {
    if (this.cached?.rev === this.revision) return this.cached;
    const values = <T>(kind: Kind): T[] => [...this.maps[kind].values()] as T[];
    const policies = values<Cached>('MultiNetworkPolicy');
    this.cached = Object.freeze({
      rev: this.revision,
      namespaces: Object.freeze(values<Namespace>('Namespace')),
      pods: Object.freeze(values<Pod>('Pod')),
      networks: Object.freeze(values<NetworkAttachmentDefinition>('NetworkAttachmentDefinition')),
      policies: Object.freeze(policies.filter((p): p is MultiNetworkPolicy => !isInvalid(p))),
      invalidPolicies: Object.freeze(policies.filter(isInvalid)),
    });
    return this.cached;
  }

  private changed(kind: Kind, key: string, before: Cached | undefined, after: Cached | undefined): void {
    this.revision++;
    for (const l of this.listeners) l(kind, key, before, after);
  }
}
