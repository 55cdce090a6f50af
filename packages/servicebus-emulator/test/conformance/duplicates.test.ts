import { describe, expect, it } from '@jest/globals';

import { receiveAndComplete, uniqueId, useConformanceTarget } from './helpers.js';

const QUEUE = 'conf-dedup'; // RequiresDuplicateDetection, window PT1M

describe('Service Bus conformance: duplicate detection', () => {
  const { pool } = useConformanceTarget(QUEUE);

  it('accepts but drops a resend of a message id inside the window', async () => {
    const client = pool.client();
    const sender = client.createSender(QUEUE);
    const dup = uniqueId('dup');
    const other = uniqueId('other');
    await sender.sendMessages({ body: 'first', messageId: dup });
    await sender.sendMessages({ body: 'second', messageId: dup });
    await sender.sendMessages([
      { body: 'third', messageId: dup },
      { body: 'distinct', messageId: other },
    ]);
    const receiver = client.createReceiver(QUEUE);
    const msgs = await receiveAndComplete(receiver, 2);
    expect(msgs.map((m) => [m.messageId, m.body])).toEqual([
      [dup, 'first'],
      [other, 'distinct'],
    ]);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 700 })).toHaveLength(0);
  });

  it('still detects the duplicate after the original was completed', async () => {
    const client = pool.client();
    const sender = client.createSender(QUEUE);
    const id = uniqueId('done');
    await sender.sendMessages({ body: 'once', messageId: id });
    const receiver = client.createReceiver(QUEUE);
    await receiveAndComplete(receiver, 1);
    await sender.sendMessages({ body: 'again', messageId: id });
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 700 })).toHaveLength(0);
  });
});
