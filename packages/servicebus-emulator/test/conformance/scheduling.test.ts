import { describe, expect, it } from '@jest/globals';

import { receiveAndComplete, sleep, uniqueId, useConformanceTarget } from './helpers.js';

const QUEUE = 'conf-schedule';
/** Clock skew allowed between this process and the target. */
const SKEW_MS = 250;

describe('Service Bus conformance: scheduled messages', () => {
  const { pool } = useConformanceTarget(QUEUE);

  it('holds a message sent with scheduledEnqueueTimeUtc until that time', async () => {
    const client = pool.client();
    const id = uniqueId('sched');
    const at = new Date(Date.now() + 2_500);
    await client
      .createSender(QUEUE)
      .sendMessages({ body: 'wake up', messageId: id, scheduledEnqueueTimeUtc: at });
    const receiver = client.createReceiver(QUEUE);
    const [peeked] = await receiver.peekMessages(1);
    expect(peeked?.state).toBe('scheduled');
    expect(peeked?.messageId).toBe(id);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 1_000 })).toHaveLength(0);

    const [msg] = await receiveAndComplete(receiver, 1, 8_000);
    const receivedAt = Date.now();
    expect(msg?.messageId).toBe(id);
    expect(receivedAt).toBeGreaterThanOrEqual(at.getTime() - SKEW_MS);
    expect(msg?.enqueuedTimeUtc!.getTime()).toBeGreaterThanOrEqual(at.getTime() - SKEW_MS);
    expect(msg?.scheduledEnqueueTimeUtc?.getTime()).toBe(at.getTime());
    expect(msg?.state).toBe('active');
  });

  it('scheduleMessages returns sequence numbers; a cancelled one never arrives', async () => {
    const client = pool.client();
    const sender = client.createSender(QUEUE);
    const at = new Date(Date.now() + 2_000);
    const [keep] = await sender.scheduleMessages({ body: 'keep', messageId: uniqueId('k') }, at);
    const [drop] = await sender.scheduleMessages({ body: 'drop', messageId: uniqueId('d') }, at);
    expect(keep).toBeDefined();
    expect(drop).toBeDefined();
    expect(drop!.toNumber()).toBeGreaterThan(keep!.toNumber());
    await sender.cancelScheduledMessages([drop!]);

    const receiver = client.createReceiver(QUEUE);
    const peeked = await receiver.peekMessages(5);
    expect(peeked.map((m) => m.body)).toEqual(['keep']);
    expect(peeked[0]?.state).toBe('scheduled');

    const [msg] = await receiveAndComplete(receiver, 1, 8_000);
    expect(msg?.body).toBe('keep');
    expect(msg?.sequenceNumber?.toNumber()).toBe(keep!.toNumber());
    await sleep(500);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 1_000 })).toHaveLength(0);
  });
});
