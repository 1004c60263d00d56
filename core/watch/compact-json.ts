// JSON text without its insignificant whitespace. Multus writes the network-status
// annotation with MarshalIndent (newlines and four-space indents: ~40 % of the text), and the
// cache keeps that text for every pod. Readers parse it (core/model/network-status.ts), so
// the compact text must parse to the same value: it is used only when it does.

/**
 * `text` re-serialized without whitespace when it has line breaks and parses to a value that
 * JSON.stringify renders faithfully; otherwise `text` itself (invalid JSON stays as it is,
 * so its parse error is reported unchanged).
 */
export function compactJsonText(text: string): string {
  if (!text.includes('\n')) return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  return faithful(value) ? JSON.stringify(value) : text;
}

/** No number JSON.stringify would change (1e999 parses to Infinity, printed as null; -0 as 0). */
function faithful(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (v === null || typeof v !== 'object') return true;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (!faithful(x)) return false;
  return true;
}
