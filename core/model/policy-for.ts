// Which secondary networks a policy applies to: its `k8s.v1.cni.cncf.io/policy-for`
// annotation. Comma separated; whitespace anywhere is dropped (names cannot contain any);
// empty entries are ignored (upstream kept them as ""); a bare `name` is in the policy's
// namespace; `ns/name` is kept; duplicates are dropped. No annotation: no network.
import { POLICY_FOR_ANNOTATION, type MultiNetworkPolicy } from './k8s.js';
import type { InvalidPolicy } from './snapshot.js';

export function parsePolicyFor(annotation: string | undefined, namespace: string): string[] {
  if (annotation === undefined) return [];
  const out = new Set<string>();
  for (const raw of annotation.split(',')) {
    const entry = raw.replace(/\s+/g, '');
    if (entry === '') continue;
    out.add(entry.includes('/') ? entry : `${namespace}/${entry}`);
  }
  return [...out];
}

/** The networks (`namespace/name`) of a valid or an invalid policy. */
export function policyNetworks(policy: MultiNetworkPolicy | InvalidPolicy): string[] {
  if ('metadata' in policy) {
    return parsePolicyFor(policy.metadata.annotations?.[POLICY_FOR_ANNOTATION], policy.metadata.namespace);
  }
  return parsePolicyFor(policy.annotations[POLICY_FOR_ANNOTATION], policy.namespace);
}
