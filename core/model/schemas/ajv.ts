// The one ajv setup for Kubernetes input: strict mode, first error only (validation stops at
// the first problem, which is the one reported), `verbose` so errors carry the offending data.
import { Ajv } from 'ajv';
import addFormatsCjs from 'ajv-formats';
import { parseCidr, parseIp } from './ip.js';
import { isLabelValue, isPortName, isQualifiedName } from './syntax.js';

const addFormats = addFormatsCjs.default; // CJS default-export interop under NodeNext

/** Plain words for each custom format, used when a value fails it: `"x" is not <words>`. */
export const FORMAT_WORDS: Readonly<Record<string, string>> = {
  cidr: 'a valid CIDR (an IPv4 or IPv6 address, "/", a prefix length)',
  ip: 'a valid IP address',
  'label-key':
    'a valid label key (an optional DNS subdomain and "/", then 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)',
  'label-value':
    'a valid label value (at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)',
  'iana-svc-name':
    'a valid port name (1-15 lowercase letters, digits and "-", at least one letter, no "-" at either end, no "--")',
};

/**
 * `x-problem` is an annotation our schemas use to replace ajv's wording for any error raised
 * by the schema object that carries it (for example an int-or-string port).
 */
export function makeAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: false, verbose: true });
  addFormats(ajv);
  ajv.addVocabulary(['x-problem']);
  ajv.addFormat('cidr', { type: 'string', validate: (s: string) => parseCidr(s) !== undefined });
  ajv.addFormat('ip', { type: 'string', validate: (s: string) => parseIp(s) !== undefined });
  ajv.addFormat('label-key', { type: 'string', validate: isQualifiedName });
  ajv.addFormat('label-value', { type: 'string', validate: isLabelValue });
  ajv.addFormat('iana-svc-name', { type: 'string', validate: isPortName });
  return ajv;
}
