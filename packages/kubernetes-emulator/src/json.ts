/** Narrowing helpers for decoded JSON. */
import type { JsonObject } from './store.js';

/** A JSON object (not null, not an array). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
