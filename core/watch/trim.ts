// Objects from the API carry much more than the engine reads (managedFields, full container
// specs, status conditions). The cache keeps only what select/render need, so 10 000 pods
// cost little memory. Pure: copies the known fields as they are (types unchecked; validation
// comes after) and freezes the result.
import { NETWORK_STATUS_ANNOTATION, NETWORKS_ANNOTATION, POLICY_FOR_ANNOTATION } from '../model/k8s.js';
import type { Kind } from './kinds.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Copies the listed keys that are present (undefined ones are left out). */
function pick(o: unknown, keys: readonly string[]): Obj {
  const out: Obj = {};
  if (!isObj(o)) return out;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function meta(m: unknown, annotations: readonly string[], labels: boolean): Obj {
  const out = pick(m, labels ? ['name', 'namespace', 'uid', 'resourceVersion', 'labels'] : ['name', 'namespace', 'uid', 'resourceVersion']);
  if (isObj(m) && isObj(m.annotations)) {
    const kept = pick(m.annotations, annotations);
    if (Object.keys(kept).length > 0) out.annotations = kept;
  }
  return out;
}

function typeMeta(o: Obj): Obj {
  return pick(o, ['apiVersion', 'kind']);
}

function trimPod(o: Obj): Obj {
  const spec = isObj(o.spec) ? o.spec : {};
  const out: Obj = { ...typeMeta(o), metadata: meta(o.metadata, [NETWORK_STATUS_ANNOTATION, NETWORKS_ANNOTATION], true) };
  const s = pick(spec, ['nodeName', 'hostNetwork']);
  if (Array.isArray(spec.containers)) {
    // Only containers with ports matter (named ports); every container needs its name.
    s.containers = spec.containers.map((c: unknown) => {
      const kept = pick(c, ['name']);
      if (isObj(c) && Array.isArray(c.ports)) kept.ports = c.ports.map((p: unknown) => pick(p, ['name', 'containerPort', 'protocol']));
      return kept;
    });
  }
  out.spec = s;
  if (isObj(o.status)) out.status = pick(o.status, ['phase']);
  return out;
}

/** The fields of `raw` that the engine reads, frozen. Unknown shapes pass through for validation to reject. */
export function trimObject(kind: Kind, raw: unknown): unknown {
  if (!isObj(raw)) return raw;
  let out: Obj;
  switch (kind) {
    case 'Pod':
      out = trimPod(raw);
      break;
    case 'Namespace':
      out = { ...typeMeta(raw), metadata: meta(raw.metadata, [], true) };
      break;
    case 'NetworkAttachmentDefinition':
      out = { ...typeMeta(raw), metadata: meta(raw.metadata, [], false), ...(isObj(raw.spec) ? { spec: pick(raw.spec, ['config']) } : {}) };
      break;
    case 'MultiNetworkPolicy':
      // The whole spec is policy; only the metadata is trimmed.
      out = { ...typeMeta(raw), metadata: meta(raw.metadata, [POLICY_FOR_ANNOTATION], true), ...(raw.spec !== undefined ? { spec: raw.spec } : {}) };
      break;
  }
  return deepFreeze(out);
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
