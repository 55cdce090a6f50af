import { ServiceBusClient } from '@azure/service-bus';

import { CHALLENGE } from '../consumers/challenge-pod.ts';

const BATCH = 100;

/** Puts the messages on the queue (a backlog) before the consumer starts. */
export async function enqueueBacklog(
  connectionString: string,
  ids: readonly string[],
): Promise<void> {
  const client = new ServiceBusClient(connectionString);
  const sender = client.createSender('challenges');
  for (let i = 0; i < ids.length; i += BATCH) {
    await sender.sendMessages(
      ids.slice(i, i + BATCH).map((messageId) => ({ messageId, body: CHALLENGE })),
    );
  }
  await client.close();
}

/**
 * Sends the messages at `perSecond`, in small batches every `tickMs` (an open-loop load: the
 * pace does not slow down when the consumer does). Returns when each message was handed to
 * the SDK (performance.now()), by ID: the start of its enqueue -> pod latency.
 */
export async function enqueuePaced(
  connectionString: string,
  ids: readonly string[],
  perSecond: number,
  tickMs = 10,
): Promise<Map<string, number>> {
  const client = new ServiceBusClient(connectionString);
  const sender = client.createSender('challenges');
  const sentAt = new Map<string, number>();
  const began = performance.now();
  let sent = 0;
  while (sent < ids.length) {
    const due = Math.min(
      ids.length,
      Math.floor(((performance.now() - began) / 1000) * perSecond) + 1,
    );
    if (due > sent) {
      const batch = ids.slice(sent, due);
      const at = performance.now();
      for (const id of batch) sentAt.set(id, at);
      await sender.sendMessages(batch.map((messageId) => ({ messageId, body: CHALLENGE })));
      sent = due;
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  await client.close();
  return sentAt;
}
