import { describe, expect, it } from '@jest/globals';

import {
  errorCode,
  receiveAndComplete,
  receiveCount,
  uniqueId,
  useConformanceTarget,
} from './helpers.js';

const QUEUE = 'conf-settle';

describe('Service Bus conformance: settlement', () => {
  const { pool } = useConformanceTarget(QUEUE);

  it('complete removes the message for good', async () => {
    const client = pool.client();
    await client.createSender(QUEUE).sendMessages({ body: 'done', messageId: uniqueId('c') });
    const receiver = client.createReceiver(QUEUE);
    const [msg] = await receiveCount(receiver, 1);
    expect(msg).toBeDefined();
    await receiver.completeMessage(msg!);
    expect(await receiver.peekMessages(10)).toHaveLength(0);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 500 })).toHaveLength(0);
  });

  it('a lock that no longer exists is answered with MessageLockLost', async () => {
    // the SDK refuses a second settlement locally, so ask the service about the gone lock
    const client = pool.client({ retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
    await client.createSender(QUEUE).sendMessages({ body: 'twice', messageId: uniqueId('t') });
    const receiver = client.createReceiver(QUEUE);
    const [msg] = await receiveCount(receiver, 1);
    await receiver.completeMessage(msg!);
    let error: unknown;
    try {
      await receiver.renewMessageLock(msg!);
    } catch (e) {
      error = e;
    }
    expect(errorCode(error)).toBe('MessageLockLost');
  });

  it('abandon returns the message with deliveryCount + 1 and the modified properties', async () => {
    const client = pool.client();
    const id = uniqueId('abandon');
    await client
      .createSender(QUEUE)
      .sendMessages({ body: { n: 1 }, messageId: id, applicationProperties: { keep: 'me' } });
    const receiver = client.createReceiver(QUEUE);
    const [first] = await receiveCount(receiver, 1);
    expect(first?.deliveryCount).toBe(0);
    await receiver.abandonMessage(first!, { attempt: 'one', keep: 'changed' });
    const [second] = await receiveAndComplete(receiver, 1);
    expect(second?.messageId).toBe(id);
    expect(second?.body).toEqual({ n: 1 });
    expect(second?.deliveryCount).toBe(1);
    expect(second?.sequenceNumber?.toNumber()).toBe(first?.sequenceNumber?.toNumber());
    expect(second?.applicationProperties).toEqual({ keep: 'changed', attempt: 'one' });
    expect(second?.lockToken).not.toBe(first?.lockToken);
  });

  it('defer hides the message until it is received by sequence number', async () => {
    const client = pool.client();
    const id = uniqueId('defer');
    await client.createSender(QUEUE).sendMessages({ body: 'later', messageId: id });
    const receiver = client.createReceiver(QUEUE);
    const [msg] = await receiveCount(receiver, 1);
    const seq = msg!.sequenceNumber!;
    await receiver.deferMessage(msg!);

    // not handed out by a normal receive, but visible to peek as deferred
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 500 })).toHaveLength(0);
    const [peeked] = await client.createReceiver(QUEUE).peekMessages(1);
    expect(peeked?.state).toBe('deferred');

    const [deferred] = await receiver.receiveDeferredMessages([seq]);
    expect(deferred?.messageId).toBe(id);
    expect(deferred?.body).toBe('later');
    expect(deferred?.state).toBe('deferred');
    expect(deferred?.deliveryCount).toBe(1);
    expect(deferred?.lockToken).toBeDefined();

    // abandoning a deferred message keeps it deferred
    await receiver.abandonMessage(deferred!);
    const [again] = await receiver.receiveDeferredMessages([seq]);
    expect(again?.deliveryCount).toBe(2);

    // settling a deferred message goes through $management (update-disposition)
    await receiver.completeMessage(again!);
    expect(await client.createReceiver(QUEUE).peekMessages(5)).toHaveLength(0);
  });

  it('renews the lock of a deferred message received by sequence number', async () => {
    const client = pool.client();
    await client.createSender(QUEUE).sendMessages({ body: 'renew', messageId: uniqueId('r') });
    const receiver = client.createReceiver(QUEUE);
    const [msg] = await receiveCount(receiver, 1);
    await receiver.deferMessage(msg!);
    const [deferred] = await receiver.receiveDeferredMessages([msg!.sequenceNumber!]);
    const before = deferred!.lockedUntilUtc!.getTime();
    await new Promise((r) => setTimeout(r, 1_100));
    const renewed = await receiver.renewMessageLock(deferred!);
    expect(renewed.getTime()).toBeGreaterThan(before);
    await receiver.completeMessage(deferred!);
  });

  it('dead-letters with reason, description and custom properties, keeping the message', async () => {
    const client = pool.client();
    const id = uniqueId('dl');
    await client.createSender(QUEUE).sendMessages({
      body: { challengeId: 'x' },
      messageId: id,
      subject: 'challenge',
      applicationProperties: { origin: 'test' },
    });
    const receiver = client.createReceiver(QUEUE);
    const [msg] = await receiveCount(receiver, 1);
    await receiver.deadLetterMessage(msg!, {
      deadLetterReason: 'BadImage',
      deadLetterErrorDescription: 'image nginx:latest is not allowed',
      extra: 'value',
    });
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 500 })).toHaveLength(0);

    const dlq = client.createReceiver(QUEUE, { subQueueType: 'deadLetter' });
    const [dead] = await receiveAndComplete(dlq, 1);
    expect(dead?.messageId).toBe(id);
    expect(dead?.body).toEqual({ challengeId: 'x' });
    expect(dead?.subject).toBe('challenge');
    expect(dead?.deadLetterReason).toBe('BadImage');
    expect(dead?.deadLetterErrorDescription).toBe('image nginx:latest is not allowed');
    expect(dead?.applicationProperties).toMatchObject({
      origin: 'test',
      extra: 'value',
      DeadLetterReason: 'BadImage',
    });
    expect(dead?.deliveryCount).toBe(0);
  });

  it('dead-letters a deferred message through $management', async () => {
    const client = pool.client();
    const id = uniqueId('dl-deferred');
    await client.createSender(QUEUE).sendMessages({ body: 'deferred-then-dead', messageId: id });
    const receiver = client.createReceiver(QUEUE);
    const [msg] = await receiveCount(receiver, 1);
    await receiver.deferMessage(msg!);
    const [deferred] = await receiver.receiveDeferredMessages([msg!.sequenceNumber!]);
    await receiver.deadLetterMessage(deferred!, {
      deadLetterReason: 'Gave up',
      deadLetterErrorDescription: 'after deferral',
    });
    expect(await receiver.peekMessages(5)).toHaveLength(0);
    const [dead] = await receiveAndComplete(
      client.createReceiver(QUEUE, { subQueueType: 'deadLetter' }),
      1,
    );
    expect(dead?.messageId).toBe(id);
    expect(dead?.deadLetterReason).toBe('Gave up');
    expect(dead?.deliveryCount).toBe(1);
  });

  it('receiving a message by sequence number that is not deferred fails', async () => {
    const client = pool.client({ retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
    await client.createSender(QUEUE).sendMessages({ body: 'active', messageId: uniqueId('a') });
    const receiver = client.createReceiver(QUEUE);
    const [peeked] = await receiver.peekMessages(1);
    let error: unknown;
    try {
      await receiver.receiveDeferredMessages([peeked!.sequenceNumber!]);
    } catch (e) {
      error = e;
    }
    expect(errorCode(error)).toBe('MessageNotFound');
    await receiveAndComplete(receiver, 1);
  });
});
