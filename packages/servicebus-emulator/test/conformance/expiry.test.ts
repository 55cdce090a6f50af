import { describe, expect, it } from '@jest/globals';

import { receiveAndComplete, sleep, uniqueId, useConformanceTarget } from './helpers.js';

const DEAD_LETTERING = 'conf-expiry'; // DeadLetteringOnMessageExpiration: true
const DROPPING = 'conf-expiry-drop'; // DeadLetteringOnMessageExpiration: false

describe('Service Bus conformance: message time-to-live', () => {
  const { pool } = useConformanceTarget(DEAD_LETTERING, DROPPING);

  it('dead-letters an expired message with TTLExpiredException when the queue asks for it', async () => {
    const client = pool.client();
    const id = uniqueId('ttl');
    await client.createSender(DEAD_LETTERING).sendMessages({
      body: 'short-lived',
      messageId: id,
      timeToLive: 1_000,
      applicationProperties: { kept: true },
    });
    await sleep(1_500);
    const receiver = client.createReceiver(DEAD_LETTERING);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 1_000 })).toHaveLength(0);
    const dlq = client.createReceiver(DEAD_LETTERING, { subQueueType: 'deadLetter' });
    const [dead] = await receiveAndComplete(dlq, 1, 15_000);
    expect(dead?.messageId).toBe(id);
    expect(dead?.body).toBe('short-lived');
    expect(dead?.deadLetterReason).toBe('TTLExpiredException');
    expect(dead?.applicationProperties).toMatchObject({ kept: true });
  });

  it('drops an expired message when the queue does not dead-letter on expiration', async () => {
    const client = pool.client();
    await client.createSender(DROPPING).sendMessages([
      { body: 'expires', messageId: uniqueId('gone'), timeToLive: 1_000 },
      { body: 'stays', messageId: uniqueId('stays') },
    ]);
    await sleep(1_500);
    const receiver = client.createReceiver(DROPPING);
    const [msg] = await receiveAndComplete(receiver, 1);
    expect(msg?.body).toBe('stays');
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 700 })).toHaveLength(0);
    const dlq = client.createReceiver(DROPPING, { subQueueType: 'deadLetter' });
    expect(await dlq.receiveMessages(1, { maxWaitTimeInMs: 700 })).toHaveLength(0);
  });
});
