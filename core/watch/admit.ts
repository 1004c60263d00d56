// The gate between the API and the cache: trim, then validate with the same rules as the
// manifest loader. An invalid MultiNetworkPolicy is kept as an InvalidPolicy (fail closed);
// any other invalid object is left out. Both come back with the error to report. Pure.
import type { AgentError } from '../api/errors.js';
import type { MultiNetworkPolicy, Namespace, NetworkAttachmentDefinition, Pod } from '../model/k8s.js';
import type { InvalidPolicy } from '../model/snapshot.js';
import { validateNamespace, validateNetwork, validatePod, validatePolicy } from '../model/validate.js';
import type { Kind } from './kinds.js';
import { objectKey } from './kinds.js';
import { trimObject } from './trim.js';

export type Cached = Pod | Namespace | NetworkAttachmentDefinition | MultiNetworkPolicy | InvalidPolicy;

export type Admitted =
  /** `value` goes into the cache under `key`; `error` is set when it is an InvalidPolicy. */
  | { readonly ok: true; readonly key: string; readonly value: Cached; readonly error?: AgentError }
  /** Nothing usable: the key (if known) must leave the cache. */
  | { readonly ok: false; readonly key: string | undefined; readonly error: AgentError };

/**
 * `trimmed`: `raw` is already trimObject's output (the informers trim before client-node
 * caches an object). It is then kept as it is, so the store and client-node's cache share one
 * copy of each object instead of two (docs/performance.md: half the cache's memory).
 */
export function admit(kind: Kind, raw: unknown, source: string, trimmed = false): Admitted {
  const obj = trimmed ? raw : trimObject(kind, raw);
  const key = objectKey(obj);
  const fail = (error: AgentError): Admitted => ({ ok: false, key, error });
  if (kind === 'MultiNetworkPolicy') {
    const r = validatePolicy(obj, source);
    if (r.ok) return key ? { ok: true, key, value: r.value } : fail(missingName(kind, source));
    if (!key || r.invalid.name === '' || r.invalid.namespace === '') return fail(r.error);
    return { ok: true, key, value: Object.freeze(r.invalid), error: r.error };
  }
  const r = kind === 'Pod' ? validatePod(obj, source) : kind === 'Namespace' ? validateNamespace(obj, source) : validateNetwork(obj, source);
  if (!r.ok) return fail(r.error);
  return key ? { ok: true, key, value: r.value } : fail(missingName(kind, source));
}

const missingName = (kind: Kind, source: string): AgentError => ({ code: 'input-invalid', source, object: kind, field: 'metadata.name', problem: 'is required' });
