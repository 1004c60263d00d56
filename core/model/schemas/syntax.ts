// Kubernetes name syntax (k8s.io/apimachinery/pkg/util/validation), as plain predicates.

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const isDnsSubdomain = (s: string): boolean => s.length <= 253 && DNS_SUBDOMAIN.test(s);

/** A label or annotation key: `[dns-subdomain/]name`, name 1–63 characters. */
export function isQualifiedName(s: string): boolean {
  const parts = s.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1] ?? '';
  if (parts.length === 2 && !((parts[0] ?? '') !== '' && isDnsSubdomain(parts[0] ?? ''))) return false;
  return name.length <= 63 && QUALIFIED_NAME_PART.test(name);
}

/** A label value: empty, or 1–63 characters starting and ending with an alphanumeric. */
export const isLabelValue = (s: string): boolean => s.length <= 63 && LABEL_VALUE.test(s);

/** IANA_SVC_NAME: 1–15 of [a-z0-9-], at least one letter, no '-' at either end, no '--'. */
export const isPortName = (s: string): boolean =>
  s.length >= 1 &&
  s.length <= 15 &&
  /^[-a-z0-9]+$/.test(s) &&
  /[a-z]/.test(s) &&
  !s.startsWith('-') &&
  !s.endsWith('-') &&
  !s.includes('--');
