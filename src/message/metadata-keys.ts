/**
 * Label and annotation keys podbus owns on every pod it creates. The two unprefixed labels are
 * the seed's (existing dashboards and selectors use them); the rest are podbus's own. Message
 * labels and operator labels can never override these (see build-pod.ts).
 *
 * They live in message/, beside the names and the request hash they carry (names.ts,
 * request-hash.ts), because they are part of the message -> pod contract
 * (docs/message-contract.md, "Names"): which of a message's identities a pod is found by. That
 * makes message/ the lowest layer that owns them, so everything that needs them imports
 * downwards: policy (a message may not set them), pod (writes them), clusters (selects podbus's
 * pods by them) and worker (reads a found pod's annotations).
 */
export const LABEL_MESSAGE_ID = 'messageId';
export const LABEL_CHALLENGE_ID = 'challengeId';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'podbus';

/** The original (unsanitised) Service Bus messageId. */
export const ANNOTATION_MESSAGE_ID = 'podbus.io/message-id';
/** The original challengeId (the label holds a sanitised form). */
export const ANNOTATION_CHALLENGE_ID = 'podbus.io/challenge-id';
/** requestHash() of the request that created the pod: tells a redelivery from an ID clash. */
export const ANNOTATION_REQUEST_HASH = 'podbus.io/request-hash';
/**
 * The queue the pod's result goes to, decided when the message arrived (its `replyTo` when the
 * operator allows it, else `results.queueName`): a publisher on any replica, after any restart,
 * sends the result where the sender was promised it. Absent when neither applied.
 */
export const ANNOTATION_REPLY_TO = 'podbus.io/reply-to';
/** The message's W3C `traceparent` (from `traceparent` or `Diagnostic-Id`), when valid. */
export const ANNOTATION_TRACEPARENT = 'podbus.io/traceparent';
/**
 * Set once the pod's result was sent (RFC 3339 time of sending): a new leader does not send
 * it again, and cleanup may delete the pod from then on.
 */
export const ANNOTATION_RESULT_SENT = 'podbus.io/result-sent';

export const PODBUS_LABEL_KEYS: readonly string[] = [
  LABEL_MESSAGE_ID,
  LABEL_CHALLENGE_ID,
  LABEL_MANAGED_BY,
];

/** Selects every pod podbus created (for watches, counts and cleanup). */
export const MANAGED_BY_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;
