import type { MessageForm } from './challenge-request.js';
import { jsonType } from './schema-errors.js';

/** Top-level keys that only the seed form has, and those only the camelCase form has. */
const SEED_KEYS = ['ChallengeId', 'Containers'];
const CAMEL_KEYS = ['challengeId', 'containers', 'cluster', 'labels', 'activeDeadlineSeconds'];

export type FormResult =
  | { readonly ok: true; readonly form: MessageForm }
  | { readonly ok: false; readonly description: string };

/**
 * Which wire form a message uses, decided by its top-level keys: any seed key -> seed form,
 * otherwise camelCase (whose schema then names what is missing). A message with keys of both
 * forms is refused instead of guessed: `{"ChallengeId": .., "containers": ..}` could mean either.
 */
export function detectForm(value: unknown): FormResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, description: notAnObject(value) };
  }
  const keys = Object.keys(value);
  const seed = keys.filter((k) => SEED_KEYS.includes(k));
  const camel = keys.filter((k) => CAMEL_KEYS.includes(k));
  if (seed.length > 0 && camel.length > 0) {
    return {
      ok: false,
      description:
        `the message mixes the seed form (${quoted(seed)}) with the camelCase form ` +
        `(${quoted(camel)}); use one form: {"ChallengeId", "Containers": [{"Name": <image>}]} ` +
        `or {"challengeId", "containers": [{"image": <image>, ...}], ...}`,
    };
  }
  return { ok: true, form: seed.length > 0 ? 'seed' : 'camelCase' };
}

function notAnObject(value: unknown): string {
  const base = `the message must be a JSON object, not ${jsonType(value)}`;
  if (typeof value === 'string' && /^\s*[{[]/.test(value)) {
    // A string holding one object is accepted (decode-body.ts); this one holds something else.
    return (
      `${base}: the body is a JSON string holding JSON that is not one object (serialised ` +
      `twice?); send the challenge object itself as the body`
    );
  }
  return base;
}

function quoted(keys: readonly string[]): string {
  return keys.map((k) => `"${k}"`).join(', ');
}
