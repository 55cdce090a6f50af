/** Why a message was dead-lettered: the `DeadLetterReason` a person sees in the DLQ. */
export type DeadLetterReason =
  'InvalidJson' | 'SchemaViolation' | 'PolicyViolation' | 'MessageIdConflict' | 'PodRejected';

/** What the worker decided to do with one message. */
export type HandlingOutcome =
  | { action: 'complete'; outcome: 'created' | 'duplicate'; cluster: string }
  | { action: 'dead-letter'; reason: DeadLetterReason; description: string; cluster?: string }
  /** Give the message back to the queue (deliveryCount + 1): retry budget spent or shutting down. */
  | { action: 'abandon'; why: string }
  /** The lock is gone; settling is impossible and the broker will redeliver. */
  | { action: 'lock-lost'; why: string }
  /**
   * Settle nothing and let the lock lapse (shutting down while a create may still land): the
   * broker redelivers only after the lock duration, when the lookup can see what happened.
   */
  | { action: 'leave-locked'; why: string };
