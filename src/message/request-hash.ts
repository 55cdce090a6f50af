import { createHash } from 'node:crypto';

import { canonicalJson } from './canonical-json.js';
import type { ChallengeRequest } from './challenge-request.js';

/**
 * sha256 (64 lowercase hex digits) of the canonical JSON of the normalised request without its
 * messageId. Stored on the pod as the `podbus.io/request-hash` annotation, it tells a
 * redelivery (same body, same hash) from a different message that reuses the ID (different
 * hash -> MessageIdConflict).
 *
 * Properties the worker relies on:
 * - Both wire forms normalise first, so the seed form and the equivalent camelCase message hash
 *   equal; so do `null`/absent optional fields, `labels: {}`/absent, and `cpu: 1`/`cpu: "1"`.
 * - Operator defaults (deadline, resources, pod settings) are NOT part of the hash: a message
 *   redelivered after a config change is still recognised as the same request.
 * - The value is stable across processes and versions. Changing the normalisation or the
 *   canonical form is a breaking change: pods created before the change would look like
 *   conflicts to a worker after it. Add fields only as absent-by-default optional members.
 */
export function requestHash(request: ChallengeRequest): string {
  const { messageId: _messageId, ...withoutId } = request;
  return createHash('sha256').update(canonicalJson(withoutId), 'utf8').digest('hex');
}
