// Validates Kubernetes manifests against the Kubernetes OpenAPI schemas, with two
// independent generated sources (nothing hand-written):
//   - kubernetes-models: JSON-schema validators generated from the Kubernetes OpenAPI spec
//     (types, required fields, enums, formats) for every built-in kind;
//   - @kubernetes/client-node's models, generated from the same spec (v1.34.0): their
//     attribute maps list every field a kind has, which gives the strict check the schemas
//     lack (the OpenAPI spec does not say additionalProperties: false, so a typo such as
//     `hostNetwrok` would pass the first check and be dropped silently by the API server).
// Custom resources are validated against the openAPIV3Schema of the CRD that defines them.
import * as k8s from '@kubernetes/client-node';
import { Ajv, type ValidateFunction } from 'ajv';

export interface Manifest {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly [k: string]: unknown;
}

export const describe = (m: Manifest): string => `${m.apiVersion}/${m.kind} ${m.metadata?.namespace ? `${m.metadata.namespace}/` : ''}${m.metadata?.name}`;

type ModelClass = { getAttributeTypeMap(): { name: string; baseName: string; type: string }[] };
const models = k8s as unknown as Record<string, ModelClass | undefined>;

/** `apps/v1` + `DaemonSet` → the client-node model name `V1DaemonSet`. */
function modelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').pop()!;
  return `${version[0]!.toUpperCase()}${version.slice(1)}${kind}`;
}

/** Fields that no schema of the kind declares, as JSON paths. */
export function unknownFields(value: unknown, type: string, path = ''): string[] {
  if (value === null || value === undefined) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`)) : [];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return typeof value === 'object' ? Object.entries(value as object).flatMap(([k, v]) => unknownFields(v, map[1]!, `${path}.${k}`)) : [];
  const model = models[type];
  if (!model || typeof value !== 'object' || Array.isArray(value)) return [];
  const attrs = model.getAttributeTypeMap();
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const a = attrs.find((x) => x.baseName === k);
    if (!a) {
      out.push(`${path}.${k}`);
      continue;
    }
    // JSONSchemaPropsOrArray / OrBool are typed `any` in the models; their object form is a schema.
    const nested = type === 'V1JSONSchemaProps' && (k === 'items' || k === 'additionalProperties') && typeof v === 'object' && !Array.isArray(v) ? 'V1JSONSchemaProps' : a.type;
    out.push(...unknownFields(v, nested, `${path}.${k}`));
  }
  return out;
}

type KmModel = { new (data: unknown): { validate(): void } };

/** The kubernetes-models class of a built-in kind, or undefined when it has none. */
async function kmModel(apiVersion: string, kind: string): Promise<KmModel | undefined> {
  try {
    const mod = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, KmModel | undefined>;
    return mod[kind];
  } catch {
    return undefined;
  }
}

const crAjv = new Ajv({ strict: false, allErrors: true });
for (const k of ['x-kubernetes-int-or-string', 'x-kubernetes-map-type', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-validations']) crAjv.addKeyword(k);

/** Structural schemas prune unknown fields; for validation here they are errors (strict). */
function strictSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(strictSchema);
  if (!s || typeof s !== 'object') return s;
  const o = Object.fromEntries(Object.entries(s as Record<string, unknown>).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, ps]) => [p, strictSchema(ps)])) : strictSchema(v)]));
  if (o['type'] === 'object' && o['properties'] && o['additionalProperties'] === undefined && !o['x-kubernetes-preserve-unknown-fields']) o['additionalProperties'] = false;
  return o;
}

export class ManifestValidator {
  private readonly crds = new Map<string, ValidateFunction>();

  /** Custom resources of these CRDs become valid kinds (validated with their schema). */
  addCrds(crds: readonly Manifest[]): void {
    for (const crd of crds) {
      const spec = crd['spec'] as { group: string; names: { kind: string }; versions: { name: string; schema?: { openAPIV3Schema?: object } }[] };
      for (const v of spec.versions) {
        if (v.schema?.openAPIV3Schema) this.crds.set(`${spec.group}/${v.name}/${spec.names.kind}`, crAjv.compile(strictSchema(v.schema.openAPIV3Schema) as object));
      }
    }
  }

  /** Problems of one manifest; empty when it is valid for its kind. */
  async validate(m: Manifest): Promise<string[]> {
    if (typeof m.apiVersion !== 'string' || typeof m.kind !== 'string') return ['no apiVersion/kind'];
    const cr = this.crds.get(`${m.apiVersion}/${m.kind}`);
    if (cr) return cr(m) ? [] : (cr.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params['additionalProperty'])})` : ''}`);
    const Model = await kmModel(m.apiVersion, m.kind);
    if (!Model) return [`no OpenAPI schema for ${m.apiVersion} ${m.kind}`];
    const problems: string[] = [];
    try {
      new Model(m).validate();
    } catch (e) {
      problems.push((e as Error).message);
    }
    const type = modelName(m.apiVersion, m.kind);
    if (!models[type]) problems.push(`no client-node model ${type} for the strict field check`);
    else problems.push(...unknownFields(m, type).map((p) => `unknown field ${p}`));
    return problems;
  }
}
