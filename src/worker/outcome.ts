/** Why a message was dead-lettered: the `DeadLetterReason` a person sees in the DLQ. */
export type DeadLetterReason =
  'InvalidJson' | 'SchemaViolation' | 'PolicyViolation' | 'MessageIdConflict' | 'PodRejected';

/**
 * Who a message turned out to be once prepared: the challenge it asks for and the name of its
 * pod. Absent when the message could not be prepared (it is dead-lettered as it is).
 */
export interface PreparedIdentity {
  readonly challengeId?: string;
  readonly pod?: string;
}

/** What the worker decided to do with one message, and who the message was. */
export type HandlingOutcome = PreparedIdentity &
  (
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
    | { action: 'leave-locked'; why: string }
  );

/** How a message left the worker: one value per settlement path (the metrics' `outcome`). */
export type MessageOutcome =
  'created' | 'duplicate' | 'dead_lettered' | 'abandoned' | 'lock_lost' | 'left_locked';
