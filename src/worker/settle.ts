import {
  isServiceBusError,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
} from '@azure/service-bus';

import type { HandlingOutcome } from './outcome.js';

/** Service Bus caps property sizes; keep descriptions readable and well under the limits. */
const MAX_DESCRIPTION_CHARS = 1024;
const MAX_LAST_ERROR_CHARS = 512;

/** Application property set on abandon so the next delivery (and the DLQ) shows why. */
export const LAST_ERROR_PROPERTY = 'podbus-last-error';

export type SettleResult = 'settled' | 'lock-lost' | 'failed';

/**
 * Applies a handling outcome to the broker. Settlement failures are reported, not thrown:
 * the message then simply comes back when its lock expires, and the duplicate lookup on
 * redelivery finds the pod that was already created.
 */
export async function settle(
  receiver: Pick<ServiceBusReceiver, 'completeMessage' | 'deadLetterMessage' | 'abandonMessage'>,
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
          deadLetterErrorDescription: truncate(outcome.description, MAX_DESCRIPTION_CHARS),
        });
        break;
      case 'abandon':
        await receiver.abandonMessage(message, {
          [LAST_ERROR_PROPERTY]: truncate(outcome.why, MAX_LAST_ERROR_CHARS),
        });
        break;
      case 'lock-lost':
        return { result: 'lock-lost' };
    }
    return { result: 'settled' };
  } catch (error) {
    if (isServiceBusError(error) && error.code === 'MessageLockLost') {
      return { result: 'lock-lost', error };
    }
    return { result: 'failed', error };
  }
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
