// Objects as the API server serves them, admitted into the agent's store the way its
// informers do (trim with the source's Interner, validate). A generated object that does not
// validate is a bug in the generator: it throws instead of quietly failing closed.
import { admit } from '../../core/watch/admit.js';
import { Interner } from '../../core/watch/intern.js';
import type { Kind } from '../../core/watch/kinds.js';
import type { ClusterStore } from '../../core/watch/store.js';
import { trimObject } from '../../core/watch/trim.js';
import type { K8sObject, Resource } from '../../test/fake-apiserver/server.js';

export const KIND_OF: Readonly<Record<Resource, Kind>> = { namespaces: 'Namespace', nads: 'NetworkAttachmentDefinition', pods: 'Pod', policies: 'MultiNetworkPolicy' };

let rv = 1;

/** `interner`: the source's table (core/watch/api-source.ts keeps one for all kinds). */
export function put(store: ClusterStore, resource: Resource, obj: K8sObject, interner?: Interner): void {
  const kind = KIND_OF[resource];
  const raw = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv++) } };
  const a = interner ? admit(kind, trimObject(kind, raw, interner), 'bench', true) : admit(kind, raw, 'bench');
  if (!a.ok || a.error) throw new Error(`generated ${kind} ${a.key} is invalid: ${JSON.stringify(a.error)}`);
  store.put(kind, a.key, a.value);
}

export function putAll(store: ClusterStore, objects: readonly (readonly [Resource, K8sObject])[], interner: Interner = new Interner()): void {
  for (const [resource, obj] of objects) put(store, resource, obj, interner);
}
