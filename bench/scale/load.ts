// Objects as the API server serves them, admitted into the agent's store the way its
// informers do (trim, validate). A generated object that does not validate is a bug in the
// generator: it throws instead of quietly failing closed.
import { admit } from '../../core/watch/admit.js';
import type { Kind } from '../../core/watch/kinds.js';
import type { ClusterStore } from '../../core/watch/store.js';
import type { K8sObject, Resource } from '../../test/fake-apiserver/server.js';

export const KIND_OF: Readonly<Record<Resource, Kind>> = { namespaces: 'Namespace', nads: 'NetworkAttachmentDefinition', pods: 'Pod', policies: 'MultiNetworkPolicy' };

let rv = 1;

export function put(store: ClusterStore, resource: Resource, obj: K8sObject): void {
  const kind = KIND_OF[resource];
  const a = admit(kind, { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv++) } }, 'bench');
  if (!a.ok || a.error) throw new Error(`generated ${kind} ${a.key} is invalid: ${JSON.stringify(a.error)}`);
  store.put(kind, a.key, a.value);
}

export function putAll(store: ClusterStore, objects: readonly (readonly [Resource, K8sObject])[]): void {
  for (const [resource, obj] of objects) put(store, resource, obj);
}
