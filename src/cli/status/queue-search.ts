import type {
  ServiceBusClient,
  ServiceBusReceivedMessage,
  ServiceBusReceiver,
} from '@azure/service-bus';

import { installSafeAmqpDecode } from '../../worker/safe-amqp-decode.js';
import {
  dlqReceiver,
  peekMessages,
  summarize,
  type DeadLetterSummary,
} from '../dead-letter-queue.js';

/**
 * Where `podbus status` looks on Service Bus: the challenge queue and its dead-letter queue, by
 * peeking (nothing is locked, removed or counted as a delivery, so the worker is not disturbed).
 *
 * A peek reads a queue from its oldest message on; Service Bus offers no lookup by message ID.
 * So the search reads at most `limit` messages of each queue: on a longer queue a message
 * further back is not seen, and the result says the search was incomplete rather than "not
 * there". One search serves every ID asked about.
 */

/** A message waiting in the queue: the dead-letter summary's fields without the reason. */
export type QueuedMessage = Omit<
  DeadLetterSummary,
  'deadLetterReason' | 'deadLetterErrorDescription'
> & {
  /** active (receivable), deferred (set aside by a receiver), scheduled (not yet enqueued). */
  readonly state: ServiceBusReceivedMessage['state'];
  /** ISO 8601, for a scheduled message. */
  readonly scheduledFor?: string;
};

/** What one peek-based search of a queue found, or why it could not be done. */
export type QueueSearch<T> =
  | {
      readonly searched: true;
      /** How many messages were peeked. */
      readonly peeked: number;
      /** False when the peek stopped at the limit: messages further back were not looked at. */
      readonly complete: boolean;
      /** The messages with the IDs asked about (several deliveries may share an ID). */
      readonly found: ReadonlyMap<string, readonly T[]>;
    }
  | { readonly searched: false; readonly problem: string };

export interface ServiceBusSearch {
  readonly queue: QueueSearch<QueuedMessage>;
  readonly deadLetterQueue: QueueSearch<DeadLetterSummary>;
}

export interface ServiceBusSearchOptions {
  /**
   * Still being made when an Entra ID credential is loading; a client that cannot be made
   * (a credential missing its environment) fails the search like an unreachable namespace.
   */
  readonly client: ServiceBusClient | Promise<ServiceBusClient>;
  readonly queue: string;
  /** Messages peeked at most, in each of the two queues. */
  readonly limit: number;
  /** One line saying what went wrong and what to do (never the connection string). */
  readonly describeError: (error: unknown) => string;
}

/** Peeks both queues at once and picks out the messages with the given IDs. */
export async function searchServiceBus(
  ids: readonly string[],
  options: ServiceBusSearchOptions,
): Promise<ServiceBusSearch> {
  const { client, queue, limit } = options;
  // The queue holds whatever senders sent, hostile bodies included: read it safely.
  installSafeAmqpDecode();
  const [queued, deadLettered] = await Promise.all([
    search(
      async () => (await client).createReceiver(queue, { skipParsingBodyAsJson: true }),
      ids,
      limit,
      options,
      queuedMessage,
    ),
    search(async () => dlqReceiver(await client, queue), ids, limit, options, summarize),
  ]);
  return { queue: queued, deadLetterQueue: deadLettered };
}

async function search<T>(
  open: () => Promise<ServiceBusReceiver>,
  ids: readonly string[],
  limit: number,
  options: ServiceBusSearchOptions,
  describe: (m: ServiceBusReceivedMessage) => T & { messageId: string },
): Promise<QueueSearch<T>> {
  let receiver: ServiceBusReceiver | undefined;
  try {
    receiver = await open();
    const messages = await peekMessages(receiver, limit);
    const wanted = new Set(ids);
    const found = new Map<string, T[]>();
    for (const message of messages) {
      const summary = describe(message);
      if (!wanted.has(summary.messageId)) continue;
      found.set(summary.messageId, [...(found.get(summary.messageId) ?? []), summary]);
    }
    return { searched: true, peeked: messages.length, complete: messages.length < limit, found };
  } catch (error) {
    return { searched: false, problem: options.describeError(error) };
  } finally {
    await receiver?.close().catch(() => undefined);
  }
}

function queuedMessage(m: ServiceBusReceivedMessage): QueuedMessage {
  const {
    deadLetterReason: _reason,
    deadLetterErrorDescription: _description,
    ...rest
  } = summarize(m);
  return {
    ...rest,
    state: m.state,
    ...(m.state === 'scheduled' &&
      m.scheduledEnqueueTimeUtc !== undefined && {
        scheduledFor: m.scheduledEnqueueTimeUtc.toISOString(),
      }),
  };
}
