import { describe, expect, it } from '@jest/globals';

import { receiveAndComplete, receiveCount, uniqueId, useConformanceTarget } from './helpers.js';

const QUEUE = 'conf-dlq';
const MAX_DELIVERY_COUNT = 3; // config.json

describe('Service Bus conformance: MaxDeliveryCount and the dead-letter queue', () => {
  const { pool } = useConformanceTarget(QUEUE);

  it('moves a message delivered MaxDeliveryCount times to the DLQ with MaxDeliveryCountExceeded', async () => {
    const client = pool.client();
    const id = uniqueId('poison');
    const body = { challengeId: 'poison', containers: [{ name: 'busybox' }] };
    await client.createSender(QUEUE).sendMessages({
      body,
      messageId: id,
      subject: 'challenge',
      contentType: 'application/json',
      applicationProperties: { tenant: 'blue', attempt: 0 },
    });
    const receiver = client.createReceiver(QUEUE);
    const counts: number[] = [];
    for (let i = 0; i < MAX_DELIVERY_COUNT; i++) {
      const [msg] = await receiveCount(receiver, 1);
      expect(msg?.messageId).toBe(id);
      counts.push(msg!.deliveryCount!);
      await receiver.abandonMessage(msg!);
    }
    expect(counts).toEqual([0, 1, 2]);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 700 })).toHaveLength(0);

    const dlq = client.createReceiver(QUEUE, { subQueueType: 'deadLetter' });
    const [dead] = await receiveAndComplete(dlq, 1);
    expect(dead).toBeDefined();
    expect(dead?.messageId).toBe(id);
    expect(dead?.body).toEqual(body);
    expect(dead?.subject).toBe('challenge');
    expect(dead?.contentType).toBe('application/json');
    expect(dead?.applicationProperties).toMatchObject({ tenant: 'blue', attempt: 0 });
    expect(dead?.deadLetterReason).toBe('MaxDeliveryCountExceeded');
    expect(typeof dead?.deadLetterErrorDescription).toBe('string');
    expect(await receiver.peekMessages(5)).toHaveLength(0);
  });

  it('peeks the dead-letter queue without consuming it', async () => {
    const client = pool.client();
    const id = uniqueId('peek-dlq');
    await client.createSender(QUEUE).sendMessages({ body: 'x', messageId: id });
    const receiver = client.createReceiver(QUEUE);
    const [msg] = await receiveCount(receiver, 1);
    await receiver.deadLetterMessage(msg!, {
      deadLetterReason: 'Manual',
      deadLetterErrorDescription: 'by hand',
    });
    const dlq = client.createReceiver(QUEUE, { subQueueType: 'deadLetter' });
    const [peeked] = await dlq.peekMessages(1);
    expect(peeked?.messageId).toBe(id);
    expect(peeked?.deadLetterReason).toBe('Manual');
    const [received] = await receiveAndComplete(dlq, 1);
    expect(received?.messageId).toBe(id);
    expect(await dlq.peekMessages(1)).toHaveLength(0);
  });
});
