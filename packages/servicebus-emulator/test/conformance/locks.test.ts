import { describe, expect, it } from '@jest/globals';
import type { ProcessErrorArgs, ServiceBusReceivedMessage } from '@azure/service-bus';

import {
  errorCode,
  receiveAndComplete,
  receiveCount,
  sleep,
  uniqueId,
  useConformanceTarget,
} from './helpers.js';

const QUEUE = 'conf-locks';
const LOCK_DURATION_MS = 5_000; // config.json: PT5S, the official minimum

describe('Service Bus conformance: peek-lock, lock expiry and renewal', () => {
  const { pool } = useConformanceTarget(QUEUE);

  it('redelivers a message whose lock expired, with deliveryCount + 1; the old lock is lost', async () => {
    const client = pool.client({ retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
    const id = uniqueId('expire');
    await client.createSender(QUEUE).sendMessages({ body: 'slow', messageId: id });
    const first = client.createReceiver(QUEUE, { maxAutoLockRenewalDurationInMs: 0 });
    const [held] = await receiveCount(first, 1);
    expect(held?.deliveryCount).toBe(0);
    const lockedUntil = held!.lockedUntilUtc!.getTime();
    expect(lockedUntil - Date.now()).toBeLessThanOrEqual(LOCK_DURATION_MS + 500);

    // while the lock holds, nobody else gets the message
    const second = client.createReceiver(QUEUE, { maxAutoLockRenewalDurationInMs: 0 });
    expect(await second.receiveMessages(1, { maxWaitTimeInMs: 1_000 })).toHaveLength(0);

    await sleep(Math.max(0, lockedUntil - Date.now()) + 300);
    const [again] = await receiveCount(second, 1, 10_000);
    expect(again?.messageId).toBe(id);
    expect(again?.deliveryCount).toBe(1);
    expect(again?.lockToken).not.toBe(held?.lockToken);

    let error: unknown;
    try {
      await first.completeMessage(held!);
    } catch (e) {
      error = e;
    }
    expect(errorCode(error)).toBe('MessageLockLost');
    await second.completeMessage(again!);
  });

  it('renewMessageLock extends the lock by the lock duration', async () => {
    const client = pool.client();
    await client.createSender(QUEUE).sendMessages({ body: 'renew', messageId: uniqueId('renew') });
    const receiver = client.createReceiver(QUEUE, { maxAutoLockRenewalDurationInMs: 0 });
    const [msg] = await receiveCount(receiver, 1);
    const before = msg!.lockedUntilUtc!.getTime();
    await sleep(1_500);
    const renewed = await receiver.renewMessageLock(msg!);
    expect(renewed.getTime()).toBeGreaterThanOrEqual(before + 1_000);
    expect(renewed.getTime() - Date.now()).toBeGreaterThan(LOCK_DURATION_MS - 1_500);
    expect(msg!.lockedUntilUtc!.getTime()).toBe(renewed.getTime());
    await receiver.completeMessage(msg!);
  });

  it('auto-renewal keeps a handler that runs 3x the lock duration in possession', async () => {
    const client = pool.client();
    const id = uniqueId('long');
    await client.createSender(QUEUE).sendMessages({ body: 'long job', messageId: id });

    const errors: string[] = [];
    const recordError = async (args: ProcessErrorArgs): Promise<void> => {
      errors.push(`${args.errorSource}: ${args.error.message}`);
    };
    let initialLock = 0;
    let finalLock = 0;
    let started!: () => void;
    const handlerStarted = new Promise<void>((r) => (started = r));
    let finished!: (m: ServiceBusReceivedMessage) => void;
    const handlerFinished = new Promise<ServiceBusReceivedMessage>((r) => (finished = r));
    const receiver = client.createReceiver(QUEUE, { maxAutoLockRenewalDurationInMs: 60_000 });
    receiver.subscribe(
      {
        processMessage: async (m) => {
          initialLock = m.lockedUntilUtc!.getTime();
          started();
          await sleep(3 * LOCK_DURATION_MS + 500);
          finalLock = m.lockedUntilUtc!.getTime();
          finished(m);
        },
        processError: recordError,
      },
      { autoCompleteMessages: true },
    );
    await handlerStarted;

    // a competing receiver on another connection must not get the message meanwhile
    const seenByRival: string[] = [];
    const rival = pool.client().createReceiver(QUEUE);
    const rivalSub = rival.subscribe(
      {
        processMessage: async (m) => {
          seenByRival.push(String(m.messageId));
        },
        processError: recordError,
      },
      { autoCompleteMessages: true },
    );

    const msg = await handlerFinished;
    await sleep(500); // the auto-complete goes out after the handler returns
    await rivalSub.close();

    expect(msg.messageId).toBe(id);
    expect(finalLock).toBeGreaterThan(initialLock + 2 * LOCK_DURATION_MS);
    expect(seenByRival).toEqual([]);
    expect(errors).toEqual([]);
    expect(await receiver.peekMessages(5)).toHaveLength(0);
  }, 40_000);

  it('a receiver never holds more messages than the credit it granted', async () => {
    const client = pool.client();
    await client
      .createSender(QUEUE)
      .sendMessages(
        Array.from({ length: 6 }, (_, i) => ({ body: `m${i}`, messageId: uniqueId('c') })),
      );
    const receiver = client.createReceiver(QUEUE, { maxAutoLockRenewalDurationInMs: 0 });
    const firstTwo = await receiveCount(receiver, 2);
    expect(firstTwo).toHaveLength(2);
    // the other four are still available to anybody (not locked by receiver's earlier credit)
    const other = client.createReceiver(QUEUE);
    const rest = await receiveAndComplete(other, 4);
    expect(rest.map((m) => m.body)).toEqual(['m2', 'm3', 'm4', 'm5']);
    for (const m of firstTwo) await receiver.completeMessage(m);
  });
});
