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
 * times. Waiting for it held every later dead-letter or abandon back by those minutes (the soak
 * found it). Merging needs two dispositions pending on one live session in the same tick; rhea
 * writes a pending disposition on the next tick (`_register` -> `process.nextTick`), so once
 * `turnMs` has passed the earlier one is written, or its connection is gone.
 */
export function dispositionSettler(receiver: SettlingReceiver, turnMs = SETTLEMENT_TURN_MS) {
  const lock = new SharedExclusiveLock();
  return (
    message: ServiceBusReceivedMessage,
    outcome: HandlingOutcome,
  ): ReturnType<typeof settle> => {
    const send = () => settle(receiver, message, outcome);
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
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    elapsed,
  ]).finally(() => clearTimeout(timer));
}

/**
 * Applies a handling outcome to the broker. Settlement failures are reported, not thrown:
 * the message then simply comes back when its lock expires, and the duplicate lookup on
 * redelivery finds the pod that was already created. Use it through `dispositionSettler`.
 */
export async function settle(
  receiver: SettlingReceiver,
  message: ServiceBusReceivedMessage,
  outcome: HandlingOutcome,
): Promise<{ result: SettleResult; error?: unknown }> {
  try {
    switch (outcome.action) {
      case 'complete':
        await receiver.completeMessage(message);
        break;
      case 'dead-letter':
        await receiver.deadLetterMessage(message, {
          deadLetterReason: outcome.reason,
          deadLetterErrorDescription: brokerText(outcome.description, MAX_DESCRIPTION_CHARS),
        });
        break;
      case 'abandon':
        await receiver.abandonMessage(message, {
          [LAST_ERROR_PROPERTY]: brokerText(outcome.why, MAX_LAST_ERROR_CHARS),
        });
        break;
      case 'lock-lost':
        return { result: 'lock-lost' };
      case 'leave-locked':
        return { result: 'left' };
    }
    return { result: 'settled' };
  } catch (error) {
    if (isServiceBusError(error) && error.code === 'MessageLockLost') {
      return { result: 'lock-lost', error };
    }
    return { result: 'failed', error };
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
