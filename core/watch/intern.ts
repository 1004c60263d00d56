// One copy of what many cached objects repeat. Replicas of one workload carry equal
// container port lists, every running pod the same `{ phase: 'Running' }`, and the same
// namespace, node and label strings; the store then holds each once instead of per pod
// (docs/performance.md, "Agent memory"). Shared values are frozen plain data, so sharing is
// invisible to readers. Each table is bounded: when full it starts over (later objects share
// new copies), so values of deleted objects are not kept forever.

/** Strings longer than this are not worth a table entry (and are rarely repeated). */
const MAX_STRING = 128;

export class Interner {
  private readonly strings = new Map<string, string>();
  private readonly values = new Map<string, unknown>();

  constructor(private readonly limit = 20_000) {}

  /** The first equal string seen; anything that is not a short string comes back as it is. */
  string<T>(s: T): T {
    if (typeof s !== 'string' || s.length > MAX_STRING) return s;
    const known = this.strings.get(s);
    if (known !== undefined) return known as T;
    if (this.strings.size >= this.limit) this.strings.clear();
    this.strings.set(s, s);
    return s;
  }

  /**
   * The first equal value seen, deep-frozen. Only for plain JSON data (objects, arrays,
   * strings, finite numbers, booleans, null): anything else comes back unshared, as its JSON
   * text would not tell it apart from a different value.
   */
  value<T>(v: T): T {
    if (!isJsonData(v)) return v;
    const key = JSON.stringify(v);
    const known = this.values.get(key);
    if (known !== undefined) return known as T;
    if (this.values.size >= this.limit) this.values.clear();
    this.values.set(key, deepFreeze(v));
    return v;
  }

  get size(): { readonly strings: number; readonly values: number } {
    return { strings: this.strings.size, values: this.values.size };
  }
}

function isJsonData(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object':
      if (v === null) return true;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!(i in v) || !isJsonData(v[i])) return false;
        return true;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype) return false;
      for (const x of Object.values(v)) if (!isJsonData(x)) return false;
      return true;
    default:
      return false;
  }
}

export function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
