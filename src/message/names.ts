import { createHash } from 'node:crypto';

/**
 * Names derived from a challenge message's identity: the pod name (from the Service Bus
 * messageId), label values, and container names (from the challengeId).
 *
 * Rules (docs/message-contract.md, "Names"): an ID that is already valid is used exactly as it
 * is (the seed named pods after the message ID); otherwise it is lower-cased (pod names), its
 * invalid characters replaced by `-`, truncated, and `-` + 16 hex digits of sha256(UTF-8 ID) is
 * appended.
 *
 * Why two different IDs never share a name:
 * - A mapped name always ends in `-` + 16 lowercase hex digits (HASHED_SUFFIX). An ID that is
 *   valid but already ends that way is treated as "changed" and gets a suffix of its own, so
 *   names kept verbatim and mapped names are disjoint sets.
 * - Two mapped names are equal only if the last 17 characters are equal, i.e. the first 64 bits
 *   of the two sha256 digests collide (and their sanitised prefixes agree). For n IDs with the
 *   same prefix the chance of any collision is at most n^2 / 2^65: about 3e-8 for a million
 *   long IDs that share their first 46 characters, and far less in practice. 8-10 hex digits
 *   (32-40 bits) would already reach ~0.5% at 10^5 such IDs, which is why podbus spends 16.
 * - 16 and not 12: a lowercase GUID ends in `-` + 12 hex digits, so a 12-digit suffix would
 *   make every GUID look "mapped" and lose the seed's verbatim pod names.
 * - A deliberate collision (a sender choosing an ID to hit another message's pod name) is still
 *   harmless: the pod carries the original ID and request hash as annotations, so the worker
 *   sees a different request and dead-letters the second message as MessageIdConflict.
 *
 * Changing any rule here renames pods of redelivered messages: a breaking change.
 */

/** Length of a DNS-1123 label and of a label value. */
export const MAX_NAME_LENGTH = 63;
const HASH_HEX_DIGITS = 16;
const HASHED_SUFFIX = /-[0-9a-f]{16}$/;
/** Used when nothing of an ID survives sanitising (empty, all punctuation, non-Latin script). */
const EMPTY_BASE = 'm';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export function isDns1123Label(value: string): boolean {
  return value.length <= MAX_NAME_LENGTH && DNS1123_LABEL.test(value);
}

/** A non-empty Kubernetes label value (the empty value is valid in Kubernetes, not for us). */
export function isLabelValue(value: string): boolean {
  return value.length <= MAX_NAME_LENGTH && LABEL_VALUE.test(value);
}

/** First 16 hex digits of sha256 over the UTF-8 bytes of `id`. */
export function shortHash(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex').slice(0, HASH_HEX_DIGITS);
}

/** The pod name for a Service Bus messageId: a DNS-1123 label (so also a valid hostname). */
export function podNameForMessageId(messageId: string): string {
  return mapIdentifier(messageId, isDns1123Label, toDns1123Characters);
}

/** A label value standing for `id` (used for the `messageId` and `challengeId` labels). */
export function labelValueFor(id: string): string {
  return mapIdentifier(id, isLabelValue, toLabelValueCharacters);
}

/**
 * The name podbus gives the container at `index` (0-based) when the message names none:
 * `<challengeid>-01`, `-02`, ... as the seed did, sanitised to a DNS-1123 label. The suffix is
 * always kept whole, so names within one pod stay unique without a hash.
 */
export function generatedContainerName(challengeId: string, index: number): string {
  const suffix = `-${String(index + 1).padStart(2, '0')}`;
  const base = trimToLength(toDns1123Characters(challengeId), MAX_NAME_LENGTH - suffix.length);
  return `${base || 'container'}${suffix}`;
}

/**
 * Final container names of a message: a container's own `name` wins (the schema already
 * requires it to be a DNS-1123 label), otherwise the generated name for its position. Positions
 * count every container, so naming one container never renames the others.
 */
export function containerNames(
  challengeId: string,
  containers: readonly { readonly name?: string }[],
): string[] {
  return containers.map((c, i) => c.name ?? generatedContainerName(challengeId, i));
}

function mapIdentifier(
  id: string,
  isValid: (value: string) => boolean,
  sanitise: (value: string) => string,
): string {
  if (isValid(id) && !HASHED_SUFFIX.test(id)) return id;
  const suffix = `-${shortHash(id)}`;
  const base = trimToLength(sanitise(id), MAX_NAME_LENGTH - suffix.length);
  return `${base || EMPTY_BASE}${suffix}`;
}

/** Cuts to `max` characters and drops what may not end a name (`-`, `_`, `.`). */
function trimToLength(value: string, max: number): string {
  return value.slice(0, max).replace(/[^A-Za-z0-9]+$/, '');
}

/** Accents are dropped (é -> e) before replacing, so Latin-script IDs stay readable. */
function stripMarks(value: string): string {
  return value.normalize('NFKD').replace(/\p{M}+/gu, '');
}

function toDns1123Characters(value: string): string {
  // Lower-cased before and after: 'İ' only decomposes once lower-cased, and some compatibility
  // characters (e.g. 'ℌ') only become Latin letters, upper-case ones, after decomposing.
  return stripMarks(value.toLowerCase())
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
}

function toLabelValueCharacters(value: string): string {
  return stripMarks(value)
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
}
