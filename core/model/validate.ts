// The gate every Kubernetes object passes before the engine sees it: schema (ajv, strict
// mode, first error) plus the cross-field rules of the MultiNetworkPolicy API. Failures name
// the source, the object, the field as a path, and the problem in plain words.
import type { ValidateFunction } from 'ajv';
import type { AgentError } from '../api/errors.js';
import { err, ok, type Result } from '../api/result.js';
import type { LabelSelector, MultiNetworkPolicy, Namespace, NetworkAttachmentDefinition, Pod, PolicyType } from './k8s.js';
import { makeAjv } from './schemas/ajv.js';
import { formatPath } from './schemas/field-path.js';
import { namespaceSchema, networkSchema, podSchema, policySchema, policyTypesSchema, selectorSchema } from './schemas/k8s.js';
import { policyProblem, selectorProblem } from './schemas/policy-rules.js';
import { firstProblem, type Problem } from './schemas/problem.js';
import type { InvalidPolicy } from './snapshot.js';

// Compiled once; a compiled validator does not change after compilation.
const ajv = makeAjv();
const checkPolicy = ajv.compile<MultiNetworkPolicy>(policySchema);
const checkSelector = ajv.compile<LabelSelector>(selectorSchema);
const checkPolicyTypes = ajv.compile<PolicyType[]>(policyTypesSchema);
const checkPod = ajv.compile<Pod>(podSchema);
const checkNamespace = ajv.compile<Namespace>(namespaceSchema);
const checkNetwork = ajv.compile<NetworkAttachmentDefinition>(networkSchema);

export type PolicyValidation =
  | { readonly ok: true; readonly value: MultiNetworkPolicy }
  | { readonly ok: false; readonly invalid: InvalidPolicy; readonly error: AgentError };

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** `Kind ns/name` as far as the (possibly broken) object tells. */
export function describeObject(kind: string, obj: unknown): string {
  const meta = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : {};
  const name = str(meta.name) || '<unnamed>';
  const ns = str(meta.namespace);
  return ns ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
}

const inputInvalid = (source: string, object: string, p: Problem): AgentError => ({
  code: 'input-invalid',
  source,
  object,
  field: formatPath(p.path) || '(object)',
  problem: p.problem,
});

function check<T>(fn: ValidateFunction<T>, kind: string, obj: unknown, source: string): Result<T> {
  return fn(obj) ? ok(obj) : err(inputInvalid(source, describeObject(kind, obj), firstProblem(fn.errors, obj)));
}

export const validatePod = (obj: unknown, source: string): Result<Pod> => check(checkPod, 'Pod', obj, source);

export const validateNamespace = (obj: unknown, source: string): Result<Namespace> =>
  check(checkNamespace, 'Namespace', obj, source);

export const validateNetwork = (obj: unknown, source: string): Result<NetworkAttachmentDefinition> =>
  check(checkNetwork, 'NetworkAttachmentDefinition', obj, source);

/** A selector that passes the schema and the operator/values rule. */
export function isValidSelector(sel: unknown): sel is LabelSelector {
  return checkSelector(sel) && selectorProblem(sel, []) === undefined;
}

/**
 * The directions an invalid policy may affect, when they can be known: its own policyTypes if
 * those are valid, else the Kubernetes default (Ingress, plus Egress when `spec.egress` is a
 * non-empty list, or is present but not a list). Undefined when policyTypes itself is broken.
 */
function knownPolicyTypes(spec: Record<string, unknown>): readonly PolicyType[] | undefined {
  const given = spec.policyTypes;
  if (given !== undefined) {
    if (!checkPolicyTypes(given)) return undefined;
    if (given.length > 0) return given;
  }
  const egress = spec.egress;
  const affectsEgress = egress !== undefined && egress !== null && (!Array.isArray(egress) || egress.length > 0);
  return affectsEgress ? ['Ingress', 'Egress'] : ['Ingress'];
}

function invalidPolicy(obj: unknown, p: Problem): InvalidPolicy {
  const meta = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : {};
  const spec = isRecord(obj) && isRecord(obj.spec) ? obj.spec : undefined;
  const annotations = isRecord(meta.annotations)
    ? Object.fromEntries(Object.entries(meta.annotations).filter((e): e is [string, string] => typeof e[1] === 'string'))
    : {};
  const podSelector = spec && isValidSelector(spec.podSelector) ? spec.podSelector : undefined;
  const policyTypes = spec ? knownPolicyTypes(spec) : undefined;
  return {
    namespace: str(meta.namespace),
    name: str(meta.name),
    annotations,
    ...(podSelector !== undefined ? { podSelector } : {}),
    ...(policyTypes !== undefined ? { policyTypes } : {}),
    field: formatPath(p.path) || '(object)',
    problem: p.problem,
  };
}

/**
 * A valid MultiNetworkPolicy, or the InvalidPolicy to fail closed with (keeping the
 * podSelector and policyTypes when those parts are valid) and the error to report.
 */
export function validatePolicy(obj: unknown, source: string): PolicyValidation {
  const problem = checkPolicy(obj) ? policyProblem(obj) : firstProblem(checkPolicy.errors, obj);
  if (problem === undefined) return { ok: true, value: obj as MultiNetworkPolicy };
  return {
    ok: false,
    invalid: invalidPolicy(obj, problem),
    error: inputInvalid(source, describeObject('MultiNetworkPolicy', obj), problem),
  };
}
