import type { ServiceBusClient, ServiceBusMessage } from '@azure/service-bus';

import type { PlannedMessage } from './message-plan.js';
import type { Rng } from './random.js';
import { QUEUE } from './stack.js';

/** One send of one planned message (a message sent twice has two). */
interface Send {
  readonly at: number;
  readonly message: PlannedMessage;
  readonly copy: 1 | 2;
}

export interface SendResult {
  /** First send attempt of each message's first copy, by plan index (epoch ms). */
  readonly sentAt: Map<number, number>;
  readonly sends: number;
  /** Batches that failed and were sent again (each may have reached the queue the first time). */
  readonly resends: number;
}

const TICK_MS = 100;

/**
 * Messages per sendMessages call. Sends pile up while a send is retried (a dropped broker
 * connection, a stalled harness), and a batch over the broker's 256 KB frame is refused
 * outright: a seeded 10,000-message run died of it. The planned messages are under 1 KB each.
 */
const MAX_BATCH = 100;

/**
 * Sends the plan evenly over `durationMs`, in small batches every 100 ms, like a steady stream
 * of senders. A second copy goes out 2 to 15 s after the first, as a sender that retries a send
 * it was not sure of. A batch that fails is sent again until it goes through, as a careful
 * sender does: the failed attempt may have been enqueued all the same, one more reason the
 * queue's duplicate detection is on.
 */
export async function sendPlan(
  client: ServiceBusClient,
  plan: readonly PlannedMessage[],
  rng: Rng,
  durationMs: number,
): Promise<SendResult> {
  const spacing = plan.length > 0 ? durationMs / plan.length : 0;
  const schedule: Send[] = [];
  for (const message of plan) {
    const at = Math.round(message.index * spacing);
    schedule.push({ at, message, copy: 1 });
    if (message.sentTwice) schedule.push({ at: at + rng.int(2_000, 15_000), message, copy: 2 });
  }
  schedule.sort((a, b) => a.at - b.at);

  const sender = client.createSender(QUEUE);
  const sentAt = new Map<number, number>();
  let resends = 0;
  const started = Date.now();
  try {
    for (let next = 0; next < schedule.length;) {
      const due: Send[] = [];
      const now = Date.now() - started;
      while (next < schedule.length && schedule[next]!.at <= now) due.push(schedule[next++]!);
      if (due.length > 0) {
        const attempt = Date.now();
        for (const send of due) {
          if (send.copy === 1) sentAt.set(send.message.index, attempt);
        }
        for (let i = 0; i < due.length; i += MAX_BATCH) {
          resends += await sendUntilAccepted(
            sender,
            due.slice(i, i + MAX_BATCH).map((s) => s.message.message),
          );
        }
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  } finally {
    await sender.close();
  }
  return { sentAt, sends: schedule.length, resends };
}

async function sendUntilAccepted(
  sender: ReturnType<ServiceBusClient['createSender']>,
  messages: ServiceBusMessage[],
): Promise<number> {
  for (let failures = 0; ; failures += 1) {
    try {
      await sender.sendMessages(messages);
      return failures;
    } catch (error) {
      if (failures >= 50) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
