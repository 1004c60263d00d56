// Pure: a case's cluster as manifest YAML, for the real agent process (`--manifests`), which
// the zero-gap test starts, restarts and feeds policy changes through its file watch.
import { stringify } from 'yaml';
import type { Cluster } from '../../core/model/snapshot.js';

const API = {
  Namespace: 'v1',
  Pod: 'v1',
  NetworkAttachmentDefinition: 'k8s.cni.cncf.io/v1',
  MultiNetworkPolicy: 'k8s.cni.cncf.io/v1beta1',
} as const;

const doc = (kind: keyof typeof API, obj: object): string => stringify({ ...obj, apiVersion: API[kind], kind });

export function clusterManifest(c: Cluster): string {
  return [
    ...c.namespaces.map((o) => doc('Namespace', o)),
    ...c.networks.map((o) => doc('NetworkAttachmentDefinition', o)),
    ...c.pods.map((o) => doc('Pod', o)),
    ...c.policies.map((o) => doc('MultiNetworkPolicy', o)),
  ].join('---\n');
}
