import {
  isServiceBusError,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
} from '@azure/service-bus';

import { scrubText } from '../shared/redaction.js';
import { SharedExclusiveLock } from '../shared/shared-exclusive-lock.js';
import type { HandlingOutcome } from './outcome.js';

/** Service Bus caps property sizes; keep descriptions readable and well under the limits. */
const MAX_DESCRIPTION_CHARS = 1024;
const MAX_LAST_ERROR_CHARS = 512;

/** Application property set on abandon so the next delivery (and the DLQ) shows why. */
export const LAST_ERROR_PROPERTY = 'podbus-last-error';

export type SettleResult = 'settled' | 'lock-lost' | 'left' | 'failed';

type SettlingReceiver = Pick<
  ServiceBusReceiver,
  'completeMessage' | 'deadLetterMessage' | 'abandonMessage'
>;

/**
 * How long a settlement holds its turn while waiting for its reply. A reply takes milliseconds;
 * a disposition that is never answered (the SDK times it out after a minute, and retries it)
 * must not hold back every settlement queued behind it.
 */
export const SETTLEMENT_TURN_MS = 1_000;

/**
 * How long podbus waits for the broker to answer one settlement before giving up on it: as
 * long as the SDK waits for one attempt. With the SDK's default retries (3, 30 s apart) a
 * settlement that can never be answered (see dispositionSettler) would hold its message, its
 * lock renewed, for five and a half minutes. Given up, the message comes back when its lock
 * lapses and its redelivery finds its pod; an answer that comes after all changes nothing.
 */
export const SETTLEMENT_DEADLINE_MS = 60_000;

export interface SettlerTimings {
  /** See SETTLEMENT_TURN_MS. */
  readonly turnMs?: number;
  /** See SETTLEMENT_DEADLINE_MS. */
  readonly deadlineMs?: number;
}

/**
 * Settles messages concurrently where that is safe, and one at a time where it is not.
 *
 * rhea 3.0.5 (under @azure/service-bus 7.9.5) merges the dispositions of consecutive deliveries
 * written in the same event-loop tick into one AMQP disposition frame carrying the first one's
 * outcome, and does not compare the first two outcomes of a run (`write_dispositions` in
 * rhea/lib/session.js checks `first !== last && !are_outcomes_equivalent(...)`). A complete and
 * a dead-letter settled at the same moment can then both be applied with the first one's
 * outcome: a poison message silently completed, or a created pod's message dead-lettered.
 * test/integration/worker/rhea-dispositions.test.ts shows the library behaviour.
 *
 * A merge is harmless when every disposition in it is the same outcome, and completes are:
 * each is a bare `accepted`, nothing of the message in it. So completes go out concurrently
 * (one per settlement round trip would cap a worker at about 1 / round trip messages per
 * second, whatever its concurrency). Every other disposition (a dead-letter with its reason and
 * description, an abandon with its properties) goes out alone: after every settlement before it
 * has had its turn, and before any after it is sent, so nothing shares its tick.
 *
 * A turn ends with the reply, or after `turnMs` when the reply does not come: after the SDK
 * reconnects (a dropped connection), a message received before the drop is settled on the dead
 * link's delivery, so nothing is sent and the SDK times the settlement out after 60 s, four
 * times (podbus gives up after the first: SETTLEMENT_DEADLINE_MS). Waiting for it held every
 * later dead-letter or abandon back by those minutes (the soak found it). Merging needs two dispositions pending on one live session in the same tick; rhea
 * writes a pending disposition on the next tick (`_register` -> `process.nextTick`), so once
 * `turnMs` has passed the earlier one is written, or its connection is gone.
 */
export function dispositionSettler(receiver: SettlingReceiver, timings: SettlerTimings = {}) {
  const turnMs = timings.turnMs ?? SETTLEMENT_TURN_MS;
  const deadlineMs = timings.deadlineMs ?? SETTLEMENT_DEADLINE_MS;
  const lock = new SharedExclusiveLock();
  return (
    message: ServiceBusReceivedMessage,
    outcome: HandlingOutcome,
  ): ReturnType<typeof settle> => {
    const send = () => settle(receiver, message, outcome, deadlineMs);
    switch (outcome.action) {
      case 'complete':
        return takeTurn(lock, 'shared', send, turnMs);
      case 'dead-letter':
      case 'abandon':
        return takeTurn(lock, 'exclusive', send, turnMs);
      case 'lock-lost':
      case 'leave-locked':
        // Nothing goes to the broker.
        return send();
    }
  };
}

/**
 * Sends under the lock, holding the turn until the reply or `turnMs`, whichever comes first;
 * the caller still gets the settlement's own outcome, however long that takes.
 */
function takeTurn<T>(
  lock: SharedExclusiveLock,
  mode: 'shared' | 'exclusive',
  send: () => Promise<T>,
  turnMs: number,
): Promise<T> {
  return new Promise<T>((resolve) => {
    void lock[mode](() => {
      const sent = send();
      resolve(sent);
      return atMost(sent, turnMs);
    });
  });
}

/** Resolves when `promise` settles or after `ms`, whichever comes first. */
function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  return within(
    promise.catch(() => undefined),
    ms,
  ).then(() => undefined);
}

/** `promise`'s value, or 'timeout' when it has not settled after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([promise, elapsed]).finally(() => clearTimeout(timer));
}

/** The broker did not answer a settlement within the deadline (SETTLEMENT_DEADLINE_MS). */
export class SettlementTimeoutError extends Error {
  override readonly name = 'SettlementTimeoutError';
  constructor(deadlineMs: number) {
    super(
      `the broker did not answer the settlement within ${deadlineMs / 1000} s; ` +
        'the message comes back when its lock lapses',
    );
  }
}

/**
 * Applies a handling outcome to the broker. Settlement failures are reported, not thrown:
 * the message then simply comes back when its lock expires, and the duplicate lookup on
 * redelivery finds the pod that was already created. So does a settlement the broker has not
 * answered after `deadlineMs`. Use it through `dispositionSettler`.
 */
export async function settle(
  receiver: SettlingReceiver,
  message: ServiceBusReceivedMessage,
  outcome: HandlingOutcome,
  deadlineMs = SETTLEMENT_DEADLINE_MS,
): Promise<{ result: SettleResult; error?: unknown }> {
  if (outcome.action === 'lock-lost') return { result: 'lock-lost' };
  if (outcome.action === 'leave-locked') return { result: 'left' };
  try {
    const sent = send(receiver, message, outcome);
    // A settlement given up on may still fail later: nobody waits for it any more.
    sent.catch(() => undefined);
    if ((await within(sent, deadlineMs)) === 'timeout') {
      return { result: 'failed', error: new SettlementTimeoutError(deadlineMs) };
    }
    return { result: 'settled' };
  } catch (error) {
    if (isServiceBusError(error) && error.code === 'MessageLockLost') {
      return { result: 'lock-lost', error };
    }
    return { result: 'failed', error };
  }
}

function send(
  receiver: SettlingReceiver,
  message: ServiceBusReceivedMessage,
  outcome: Extract<HandlingOutcome, { action: 'complete' | 'dead-letter' | 'abandon' }>,
): Promise<void> {
  switch (outcome.action) {
    case 'complete':
      return receiver.completeMessage(message);
    case 'dead-letter':
      return receiver.deadLetterMessage(message, {
        deadLetterReason: outcome.reason,
        deadLetterErrorDescription: brokerText(outcome.description, MAX_DESCRIPTION_CHARS),
      });
    case 'abandon':
      return receiver.abandonMessage(message, {
        [LAST_ERROR_PROPERTY]: brokerText(outcome.why, MAX_LAST_ERROR_CHARS),
      });
  }
}

/**
 * Text that goes onto the message, where anyone who can peek the queue or its dead-letter queue
 * reads it: scrubbed like a log line (an API server or a webhook may echo a token, an SDK error
 * a connection string), then cut to size. Scrubbing first, so a cut never leaves half a secret
 * that the patterns no longer recognise.
 */
function brokerText(text: string, max: number): string {
  return truncate(scrubText(text), max);
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
