/**
 * JSON with object keys sorted (by UTF-16 code unit, JavaScript's default sort) at every
 * level and no whitespace, so equal data always serialises to equal text. `undefined` object
 * members are dropped as JSON.stringify drops them. Only plain JSON data is expected.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined)
      Object.defineProperty(sorted, key, { value: sortKeys(member), enumerable: true });
  }
  return sorted;
}
