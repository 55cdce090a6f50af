/**
 * Label and annotation keys podbus owns on every pod it creates. The two unprefixed labels are
 * the seed's (existing dashboards and selectors use them); the rest are podbus's own. Message
 * labels and operator labels can never override these (see build-pod.ts).
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

export const PODBUS_LABEL_KEYS: readonly string[] = [
  LABEL_MESSAGE_ID,
  LABEL_CHALLENGE_ID,
  LABEL_MANAGED_BY,
];

/** Selects every pod podbus created (for watches, counts and cleanup). */
export const MANAGED_BY_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;
