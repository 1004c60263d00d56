// Turns the first ajv error into a field path and a problem in plain words.
import type { ErrorObject } from 'ajv';
import { FORMAT_WORDS } from './ajv.js';
import { formatPath, pointerSegments, type PathSegment } from './field-path.js';

export interface Problem {
  readonly path: readonly PathSegment[];
  readonly problem: string;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
};

/** How a value looks in a message: `"ICMP"`, `80`, `a list`, `a mapping`. */
export function shown(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

// Errors that only summarise an inner error that ajv reported first.
const SUMMARY = new Set(['if', 'propertyNames', 'anyOf', 'oneOf', 'allOf']);

export function firstProblem(errors: readonly ErrorObject[] | null | undefined, root: unknown): Problem {
  const e = errors?.find((x) => !SUMMARY.has(x.keyword)) ?? errors?.[0];
  if (e === undefined) return { path: [], problem: 'is invalid' };
  const path = pointerSegments(e.instancePath, root);
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  const params = e.params as Record<string, unknown>;
  const custom = typeof parent['x-problem'] === 'string' ? (parent['x-problem'] as string) : undefined;
  switch (e.keyword) {
    case 'required':
      return { path: [...path, String(params.missingProperty)], problem: 'is required' };
    case 'uniqueItems': {
      const i = Number(params.i);
      const j = Number(params.j);
      const item = Array.isArray(e.data) ? e.data[i] : undefined;
      return { path: [...path, Math.max(i, j)], problem: `${shown(item)} is listed twice (also at index ${Math.min(i, j)})` };
    }
  }
  const words = FORMAT_WORDS[String(params.format)] ?? `in format ${String(params.format)}`;
  if (e.keyword === 'format' && e.propertyName !== undefined) {
    return { path, problem: `key ${JSON.stringify(e.propertyName)} is not ${words}` };
  }
  if (custom !== undefined) return { path, problem: `${custom} (got ${shown(e.data)})` };
  switch (e.keyword) {
    case 'format':
      return { path, problem: `${shown(e.data)} is not ${words}` };
    case 'type': {
      // YAML turns unquoted 80, true, yes-like words into non-strings
      const hint = params.type === 'string' && (typeof e.data === 'number' || typeof e.data === 'boolean') ? '; quote it in YAML' : '';
      return { path, problem: `must be ${TYPE_WORDS[String(params.type)] ?? String(params.type)} (got ${shown(e.data)}${hint})` };
    }
    case 'enum':
      return {
        path,
        problem: `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')} (got ${shown(e.data)})`,
      };
    case 'const':
      return { path, problem: `must be ${String(params.allowedValue)} (got ${shown(e.data)})` };
    case 'minimum':
    case 'maximum':
      if (typeof parent.minimum === 'number' && typeof parent.maximum === 'number') {
        return { path, problem: `must be between ${parent.minimum} and ${parent.maximum} (got ${shown(e.data)})` };
      }
      return { path, problem: `must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params.limit)} (got ${shown(e.data)})` };
    case 'minLength':
    case 'minItems':
      return { path, problem: 'must not be empty' };
    case 'pattern':
      return { path, problem: `${shown(e.data)} does not match ${String(params.pattern)}` };
    case 'additionalProperties':
      return { path: [...path, String(params.additionalProperty)], problem: 'is not a known field' };
    default:
      return { path, problem: e.message ?? 'is invalid' };
  }
}

export const fieldOf = (p: Problem): string => formatPath(p.path) || '(object)';
