/**
 * Kubernetes label syntax (k8s.io/apimachinery validation): a key is an optional DNS-1123
 * subdomain prefix and "/", then a name of at most 63 characters; a value is at most 63
 * characters of the same alphabet, possibly empty. Annotation keys follow the same key rule.
 */
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_NAME = 63;
const MAX_PREFIX = 253;

/** What is wrong with `key` as a label (or annotation) key, or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > MAX_PREFIX || !DNS1123_SUBDOMAIN.test(prefix))) {
    return `"${key}" has a prefix that is not a lower-case DNS subdomain such as example.com`;
  }
  if (name.length > MAX_NAME || !LABEL_NAME.test(name)) {
    return `"${key}" is not a valid label key (at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, optionally after a "prefix/")`;
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > MAX_NAME || !LABEL_NAME.test(value)) {
    return `"${value}" is not a valid label value (at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit)`;
  }
  return undefined;
}

/** The DNS prefix of a key (`app.kubernetes.io` for `app.kubernetes.io/name`), if any. */
export function labelKeyPrefix(key: string): string | undefined {
  const slash = key.indexOf('/');
  return slash >= 0 ? key.slice(0, slash) : undefined;
}

/** Whether `key`'s prefix is `domain` or a subdomain of it (kubernetes.io covers app.kubernetes.io). */
export function keyHasDomainPrefix(key: string, domain: string): boolean {
  const prefix = labelKeyPrefix(key)?.toLowerCase();
  const wanted = domain.replace(/\/$/, '').toLowerCase();
  return prefix !== undefined && (prefix === wanted || prefix.endsWith(`.${wanted}`));
}
