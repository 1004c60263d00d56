// The four kinds the agent watches, where the API serves them, and their cache keys.

export type Kind = 'Pod' | 'Namespace' | 'NetworkAttachmentDefinition' | 'MultiNetworkPolicy';

export const KINDS: readonly Kind[] = ['Namespace', 'NetworkAttachmentDefinition', 'MultiNetworkPolicy', 'Pod'];

export interface KindInfo {
  /** Collection path for list and watch across all namespaces. */
  readonly path: string;
  readonly group?: string;
  readonly version: string;
  readonly plural: string;
}

export const KIND_INFO: Readonly<Record<Kind, KindInfo>> = {
  Pod: { path: '/api/v1/pods', version: 'v1', plural: 'pods' },
  Namespace: { path: '/api/v1/namespaces', version: 'v1', plural: 'namespaces' },
  NetworkAttachmentDefinition: {
    path: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions',
    group: 'k8s.cni.cncf.io',
    version: 'v1',
    plural: 'network-attachment-definitions',
  },
  MultiNetworkPolicy: {
    path: '/apis/k8s.cni.cncf.io/v1beta1/multi-networkpolicies',
    group: 'k8s.cni.cncf.io',
    version: 'v1beta1',
    plural: 'multi-networkpolicies',
  },
};

/** `namespace/name`, or `name` for cluster-scoped objects: the same key ListWatch uses. */
export function objectKey(obj: unknown): string | undefined {
  const m = (obj as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  if (!m || typeof m.name !== 'string' || m.name === '') return undefined;
  return typeof m.namespace === 'string' && m.namespace !== '' ? `${m.namespace}/${m.name}` : m.name;
}
