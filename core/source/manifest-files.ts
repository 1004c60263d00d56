// Offline cluster source: Kubernetes manifests in files and directories → a Cluster. Reading
// the files is the only I/O; parseManifests (pure) does the rest. Every problem is collected
// as an error (the CLI refuses to run with any); nothing here throws on bad input.
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { AgentError } from '../api/errors.js';
import { NAMESPACE_NAME_LABEL, keyOf, type MultiNetworkPolicy, type Namespace, type NetworkAttachmentDefinition, type Pod } from '../model/k8s.js';
import { parsePath, type PathSegment } from '../model/schemas/field-path.js';
import type { Cluster, InvalidPolicy } from '../model/snapshot.js';
import { describeObject, validateNamespace, validateNetwork, validatePod, validatePolicy } from '../model/validate.js';

export interface ManifestFile {
  /** The path as given (or found under a given directory); used in every message. */
  readonly source: string;
  readonly text: string;
}

export interface LoadedManifests {
  readonly cluster: Cluster;
  readonly errors: readonly AgentError[];
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The apiVersion each kind must carry. */
const API_VERSIONS: Readonly<Record<string, string>> = {
  Pod: 'v1',
  Namespace: 'v1',
  NetworkAttachmentDefinition: 'k8s.cni.cncf.io/v1',
  MultiNetworkPolicy: 'k8s.cni.cncf.io/v1beta1',
};

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

// ---------------------------------------------------------------------------------------
// YAML helpers (also used by the conformance case loader)

/** One parsed YAML document with what is needed to point at a line. */
export interface YamlDoc {
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

export function parseYaml(text: string): YamlDoc[] {
  const lines = new LineCounter();
  return parseAllDocuments(text, { lineCounter: lines }).map((doc) => ({ doc, lines }));
}

/** The first syntax error of a document: its line and its message without the code excerpt. */
export function yamlError(d: YamlDoc): { line: number; problem: string } | undefined {
  const e = d.doc.errors[0];
  if (e === undefined) return undefined;
  const line = e.linePos?.[0].line ?? d.lines.linePos(e.pos[0]).line;
  return { line, problem: e.message.split(/ at line \d+/)[0] ?? e.message };
}

/** The line of the deepest node on `path` that exists in the document. */
export function lineOf(d: YamlDoc, path: readonly PathSegment[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = d.doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return d.lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Puts the line of the reported field into an input-invalid error's source (`file:line`). */
export function locate(e: AgentError, d: YamlDoc, base: readonly PathSegment[]): AgentError {
  if (e.code !== 'input-invalid') return e;
  const line = lineOf(d, [...base, ...parsePath(e.field)]);
  return line === undefined ? e : { ...e, source: `${e.source}:${line}` };
}

export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** Adds the implied `kubernetes.io/metadata.name` label (the API server sets it on every namespace). */
export function withNameLabel(ns: Namespace): Namespace {
  const name = ns.metadata.name;
  return { ...ns, metadata: { ...ns.metadata, labels: { ...ns.metadata.labels, [NAMESPACE_NAME_LABEL]: name } } };
}

// ---------------------------------------------------------------------------------------
// pure: texts → cluster

interface Sink {
  readonly namespaces: Namespace[];
  readonly pods: Pod[];
  readonly networks: NetworkAttachmentDefinition[];
  readonly policies: MultiNetworkPolicy[];
  readonly invalidPolicies: InvalidPolicy[];
  readonly errors: AgentError[];
  /** `Kind key` → source, to refuse the same object twice. */
  readonly seen: Map<string, string>;
}

const where = (docIndex: number, path: readonly PathSegment[]): string =>
  `document ${docIndex}${path.map((s) => (typeof s === 'number' ? `[${s}]` : ` ${s}`)).join('')}`;

function addObject(sink: Sink, source: string, d: YamlDoc, docIndex: number, path: PathSegment[], value: unknown, listKind?: string): void {
  const at = lineOf(d, path);
  const fileError = (field: string, problem: string): void => {
    const line = lineOf(d, [...path, 'kind']);
    sink.errors.push({ code: 'file-invalid', source, ...(line !== undefined ? { line } : {}), field, problem });
  };
  if (!isRecord(value)) {
    fileError(where(docIndex, path), 'is not a Kubernetes object (a mapping with apiVersion and kind)');
    return;
  }
  const kind = typeof value.kind === 'string' ? value.kind : listKind;
  if (kind === undefined) {
    fileError(where(docIndex, path), 'kind is required');
    return;
  }
  if (kind === 'List' || (kind.endsWith('List') && kind.slice(0, -4) in API_VERSIONS)) {
    if (!Array.isArray(value.items)) {
      fileError(where(docIndex, path), `${kind} needs a list of items`);
      return;
    }
    const itemKind = kind === 'List' ? undefined : kind.slice(0, -4);
    value.items.forEach((item, i) => addObject(sink, source, d, docIndex, [...path, 'items', i], item, itemKind));
    return;
  }
  const apiVersion = API_VERSIONS[kind];
  if (apiVersion === undefined) {
    fileError(where(docIndex, path), `unknown kind ${kind}`);
    return;
  }
  // Items of a typed list (PodList) come without kind and apiVersion from the API server.
  const given = value.apiVersion ?? (listKind !== undefined ? apiVersion : undefined);
  const obj = defaultNamespace(kind, value);
  const object = describeObject(kind, obj);
  const invalid = (field: string, problem: string): AgentError =>
    locate({ code: 'input-invalid', source, object, field, problem }, d, path);
  if (given !== apiVersion) {
    sink.errors.push(invalid('apiVersion', `must be ${apiVersion} for kind ${kind} (got ${JSON.stringify(given ?? null)})`));
    return;
  }
  const checked = validate(kind, obj, source);
  if (!checked.ok) sink.errors.push(locate(checked.error, d, path));
  const kept = checked.ok ? checked.value : checked.invalid;
  if (kept === undefined) return;
  const id = `${kind} ${'metadata' in kept ? keyOf(kept) : `${kept.namespace}/${kept.name}`}`;
  const first = sink.seen.get(id);
  if (first !== undefined) {
    sink.errors.push(invalid('metadata.name', `${id} is already defined in ${first}`));
    return;
  }
  sink.seen.set(id, `${source}${at !== undefined ? `:${at}` : ''}`);
  if (!checked.ok) sink.invalidPolicies.push(kept as InvalidPolicy);
  else if (kind === 'Pod') sink.pods.push(kept as Pod);
  else if (kind === 'Namespace') sink.namespaces.push(kept as Namespace);
  else if (kind === 'NetworkAttachmentDefinition') sink.networks.push(kept as NetworkAttachmentDefinition);
  else sink.policies.push(kept as MultiNetworkPolicy);
}

/** Like kubectl with no context namespace: a namespaced object without one is in `default`. */
function defaultNamespace(kind: string, obj: Record<string, unknown>): Record<string, unknown> {
  if (kind === 'Namespace' || !isRecord(obj.metadata) || obj.metadata.namespace !== undefined) return obj;
  return { ...obj, metadata: { ...obj.metadata, namespace: 'default' } };
}

type Checked =
  | { ok: true; value: Pod | Namespace | NetworkAttachmentDefinition | MultiNetworkPolicy }
  | { ok: false; error: AgentError; invalid?: InvalidPolicy };

function validate(kind: string, obj: unknown, source: string): Checked {
  switch (kind) {
    case 'Pod':
      return validatePod(obj, source);
    case 'Namespace':
      return validateNamespace(obj, source);
    case 'NetworkAttachmentDefinition':
      return validateNetwork(obj, source);
    default: {
      const r = validatePolicy(obj, source);
      return r.ok ? r : { ok: false, error: r.error, invalid: r.invalid };
    }
  }
}

/** Adds namespaces that objects live in but no manifest declares, and the implied name label. */
export function completeNamespaces(
  declared: readonly Namespace[],
  used: Iterable<string>,
): Namespace[] {
  const names = new Set(declared.map((n) => n.metadata.name));
  const implicit = [...new Set(used)]
    .filter((n) => n !== '' && !names.has(n))
    .sort()
    .map((name): Namespace => ({ kind: 'Namespace', metadata: { name } }));
  return [...declared, ...implicit].map(withNameLabel);
}

export function parseManifests(files: readonly ManifestFile[]): LoadedManifests {
  const sink: Sink = { namespaces: [], pods: [], networks: [], policies: [], invalidPolicies: [], errors: [], seen: new Map() };
  for (const { source, text } of files) {
    parseYaml(text).forEach((d, i) => {
      const syntax = yamlError(d);
      if (syntax) {
        sink.errors.push({ code: 'file-invalid', source, line: syntax.line, field: `document ${i + 1}`, problem: syntax.problem });
        return;
      }
      const value: unknown = d.doc.toJS();
      if (value === null || value === undefined) return; // an empty document (`---` at the end)
      addObject(sink, source, d, i + 1, [], value);
    });
  }
  const used = [
    ...sink.pods.map((p) => p.metadata.namespace),
    ...sink.networks.map((n) => n.metadata.namespace),
    ...sink.policies.map((p) => p.metadata.namespace),
    ...sink.invalidPolicies.map((p) => p.namespace),
  ];
  const cluster: Cluster = {
    namespaces: completeNamespaces(sink.namespaces, used),
    pods: sink.pods,
    networks: sink.networks,
    policies: sink.policies,
    invalidPolicies: sink.invalidPolicies,
  };
  return { cluster: deepFreeze(cluster), errors: sink.errors };
}

// ---------------------------------------------------------------------------------------
// I/O edge

async function collect(path: string, out: string[], seen: Set<string>, errors: AgentError[], explicit: boolean): Promise<void> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error) {
    errors.push({ code: 'file-invalid', source: path, problem: st.code === 'ENOENT' ? 'no such file or directory' : st.message });
    return;
  }
  const real = await realpath(path);
  if (seen.has(real)) return; // given twice, or reached again through a symlink
  seen.add(real);
  if (st.isFile()) {
    if (explicit || EXTENSIONS.has(extname(path).toLowerCase())) out.push(path);
    return;
  }
  if (!st.isDirectory()) return;
  // Sorted by code unit, so the result does not depend on the locale or the file system.
  // Hidden entries are skipped (editor files, `..data` of mounted ConfigMaps).
  const names = (await readdir(path)).filter((n) => !n.startsWith('.')).sort();
  for (const name of names) await collect(join(path, name), out, seen, errors, false);
}

/**
 * Every `.yaml`/`.yml`/`.json` file under each path (a file given by name is read whatever its
 * extension), parsed into a frozen Cluster; `errors` lists everything that is wrong.
 */
export async function loadManifests(paths: readonly string[]): Promise<LoadedManifests> {
  const errors: AgentError[] = [];
  const found: string[] = [];
  const seen = new Set<string>();
  for (const p of paths) await collect(p, found, seen, errors, true);
  const files: ManifestFile[] = [];
  for (const source of found) {
    const text = await readFile(source, 'utf8').catch((e: Error) => e);
    if (text instanceof Error) errors.push({ code: 'file-invalid', source, problem: text.message });
    else files.push({ source, text });
  }
  const parsed = parseManifests(files);
  return { cluster: parsed.cluster, errors: [...errors, ...parsed.errors] };
}
