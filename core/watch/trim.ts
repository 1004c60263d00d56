// Objects from the API carry much more than the engine reads (managedFields, full container
// specs, status conditions). The cache keeps only what select/render need, so 50 000 pods
// cost little memory. Copies the known fields as they are (types unchecked; validation comes
// after) and freezes the result. Pure without an Interner; with one, its tables are the only
// state, and label values are swapped in place for equal shared strings.
//
// How the copies are built matters at that scale (docs/performance.md, "Agent memory"):
//   * no object spread: V8 gave every object built as `{ ...a, b }` its own hidden class
//     (~220 bytes per pod; test/watch/hidden-class.test.ts);
//   * the usual shapes are written as object literals, which V8 sizes exactly (an object
//     grown from `{}` keeps spare slots);
//   * with an Interner, equal container lists, statuses and namespace/node/label strings are
//     one shared copy, and an indented network-status annotation is kept without its
//     whitespace (Multus writes it with MarshalIndent).
import { NETWORK_STATUS_ANNOTATION, NETWORKS_ANNOTATION, POLICY_FOR_ANNOTATION } from '../model/k8s.js';
import { compactJsonText } from './compact-json.js';
import { deepFreeze, type Interner } from './intern.js';
import type { Kind } from './kinds.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Copies the listed keys that are present (undefined ones are left out), in the list's order. */
function pick(o: unknown, keys: readonly string[]): Obj {
  const out: Obj = {};
  if (!isObj(o)) return out;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Without an Interner: nothing is shared. */
const NO_SHARING = {
  string: <T>(s: T): T => s,
  value: <T>(v: T): T => v,
} as const;
type Sharing = Pick<Interner, 'string' | 'value'>;

function meta(m: unknown, annotations: readonly string[], labels: boolean, share: Sharing): Obj {
  const out = pick(m, labels ? ['name', 'namespace', 'uid', 'resourceVersion', 'labels'] : ['name', 'namespace', 'uid', 'resourceVersion']);
  if (out.namespace !== undefined) out.namespace = share.string(out.namespace);
  if (isObj(m) && isObj(m.annotations)) {
    const kept = pick(m.annotations, annotations);
    if (Object.keys(kept).length > 0) out.annotations = kept;
  }
  return out;
}

/** apiVersion and kind, when present: the start of every trimmed object. */
function typeMeta(o: Obj, share: Sharing): Obj {
  const out: Obj = {};
  if (o.apiVersion !== undefined) out.apiVersion = share.string(o.apiVersion);
  if (o.kind !== undefined) out.kind = share.string(o.kind);
  return out;
}

/** Label values shared in place: the labels object is the API's own, not yet handed to anyone. */
function shareLabels(labels: unknown, share: Sharing): unknown {
  if (share === NO_SHARING || !isObj(labels) || Object.isFrozen(labels)) return labels;
  // (equal strings compare equal: the copy is always written back)
  for (const k of Object.keys(labels)) if (typeof labels[k] === 'string') labels[k] = share.string(labels[k]);
  return labels;
}

function podAnnotations(a: unknown, share: Sharing): Obj | undefined {
  if (!isObj(a)) return undefined;
  const raw = a[NETWORK_STATUS_ANNOTATION];
  const status = typeof raw === 'string' && share !== NO_SHARING ? compactJsonText(raw) : raw;
  const networks = a[NETWORKS_ANNOTATION];
  // Literal keys: with a computed key V8 sizes the object like `{}` (test/watch/trim-compact
  // checks they are the annotation names).
  if (status !== undefined && networks !== undefined) return { 'k8s.v1.cni.cncf.io/network-status': status, 'k8s.v1.cni.cncf.io/networks': networks };
  if (status !== undefined) return { 'k8s.v1.cni.cncf.io/network-status': status };
  if (networks !== undefined) return { 'k8s.v1.cni.cncf.io/networks': networks };
  return undefined;
}

function podMeta(m: unknown, share: Sharing): Obj {
  if (!isObj(m)) return {};
  const { name, namespace, uid, resourceVersion } = m;
  const labels = shareLabels(m.labels, share);
  const annotations = podAnnotations(m.annotations, share);
  const ns = share.string(namespace);
  if (name !== undefined && namespace !== undefined && uid !== undefined && resourceVersion !== undefined && labels !== undefined) {
    // what the API serves: one literal
    return annotations !== undefined ? { name, namespace: ns, uid, resourceVersion, labels, annotations } : { name, namespace: ns, uid, resourceVersion, labels };
  }
  const out = pick(m, ['name', 'namespace', 'uid', 'resourceVersion']);
  if (ns !== undefined) out.namespace = ns;
  if (labels !== undefined) out.labels = labels;
  if (annotations !== undefined) out.annotations = annotations;
  return out;
}

function port(p: unknown, share: Sharing): Obj {
  if (!isObj(p)) return {};
  const { name, containerPort, protocol } = p;
  if (name !== undefined && containerPort !== undefined && protocol !== undefined) return { name: share.string(name), containerPort, protocol: share.string(protocol) };
  if (name === undefined && containerPort !== undefined && protocol !== undefined) return { containerPort, protocol: share.string(protocol) };
  const out = pick(p, ['name', 'containerPort', 'protocol']);
  if (out.name !== undefined) out.name = share.string(out.name);
  if (out.protocol !== undefined) out.protocol = share.string(out.protocol);
  return out;
}

/** Only containers with ports matter (named ports); every container needs its name. */
function container(c: unknown, share: Sharing): Obj {
  if (!isObj(c)) return {};
  const name = share.string(c.name);
  const ports = Array.isArray(c.ports) ? c.ports.map((p: unknown) => port(p, share)) : undefined;
  if (name !== undefined) return ports !== undefined ? { name, ports } : { name };
  return ports !== undefined ? { ports } : {};
}

function trimPod(o: Obj, share: Sharing): Obj {
  const spec = isObj(o.spec) ? o.spec : {};
  const metadata = podMeta(o.metadata, share);
  const nodeName = share.string(spec.nodeName);
  const containers = Array.isArray(spec.containers) ? share.value(spec.containers.map((c: unknown) => container(c, share))) : undefined;
  let s: Obj;
  if (nodeName !== undefined && spec.hostNetwork === undefined && containers !== undefined) s = { nodeName, containers };
  else {
    s = pick(spec, ['nodeName', 'hostNetwork']);
    if (nodeName !== undefined) s.nodeName = nodeName;
    if (containers !== undefined) s.containers = containers;
  }
  const status = isObj(o.status) ? share.value(pick(o.status, ['phase'])) : undefined;
  if (o.apiVersion === undefined && o.kind === undefined && status !== undefined) return { metadata, spec: s, status };
  if (o.apiVersion !== undefined && o.kind !== undefined && status !== undefined) {
    return { apiVersion: share.string(o.apiVersion), kind: share.string(o.kind), metadata, spec: s, status };
  }
  const out = typeMeta(o, share);
  out.metadata = metadata;
  out.spec = s;
  if (status !== undefined) out.status = status;
  return out;
}

/**
 * The fields of `raw` that the engine reads, frozen. Unknown shapes pass through for
 * validation to reject. With `share` (one Interner per source), repeated parts are shared.
 */
export function trimObject(kind: Kind, raw: unknown, share?: Interner): unknown {
  if (!isObj(raw)) return raw;
  const sh: Sharing = share ?? NO_SHARING;
  let out: Obj;
  switch (kind) {
    case 'Pod':
      out = trimPod(raw, sh);
      break;
    case 'Namespace':
      out = typeMeta(raw, sh);
      out.metadata = meta(raw.metadata, [], true, sh);
      break;
    case 'NetworkAttachmentDefinition':
      out = typeMeta(raw, sh);
      out.metadata = meta(raw.metadata, [], false, sh);
      if (isObj(raw.spec)) out.spec = pick(raw.spec, ['config']);
      break;
    case 'MultiNetworkPolicy':
      // The whole spec is policy; only the metadata is trimmed.
      out = typeMeta(raw, sh);
      out.metadata = meta(raw.metadata, [POLICY_FOR_ANNOTATION], true, sh);
      if (raw.spec !== undefined) out.spec = raw.spec;
      break;
  }
  return deepFreeze(out);
}
