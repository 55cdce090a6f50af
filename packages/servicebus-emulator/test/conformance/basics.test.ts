import { describe, expect, it } from '@jest/globals';

import {
  errorCode,
  receiveAndComplete,
  receiveCount,
  uniqueId,
  useConformanceTarget,
} from './helpers.js';

const QUEUE = 'conf-basic';
const LOCK_DURATION_MS = 60_000; // config.json
const DEFAULT_TTL_MS = 3_600_000; // official default

describe('Service Bus conformance: sending, receiving, message format', () => {
  const { pool } = useConformanceTarget(QUEUE);

  it('round-trips body, properties and application properties of a single message', async () => {
    const client = pool.client();
    const id = uniqueId('single');
    const before = Date.now();
    await client.createSender(QUEUE).sendMessages({
      body: { challengeId: 'c-1', containers: [{ name: 'nginx:1.27' }] },
      messageId: id,
      correlationId: 'corr-1',
      subject: 'challenge',
      contentType: 'application/json',
      to: 'workers',
      replyTo: 'results',
      timeToLive: 120_000,
      applicationProperties: { text: 'x', count: 7, negative: -3, ratio: 0.5, flag: true },
    });
    const after = Date.now();
    const [msg] = await receiveAndComplete(client.createReceiver(QUEUE), 1);
    expect(msg).toBeDefined();
    if (!msg) return;
    expect(msg.body).toEqual({ challengeId: 'c-1', containers: [{ name: 'nginx:1.27' }] });
    expect(msg.messageId).toBe(id);
    expect(msg.correlationId).toBe('corr-1');
    expect(msg.subject).toBe('challenge');
    expect(msg.contentType).toBe('application/json');
    expect(msg.to).toBe('workers');
    expect(msg.replyTo).toBe('results');
    expect(msg.timeToLive).toBe(120_000);
    expect(msg.applicationProperties).toEqual({
      text: 'x',
      count: 7,
      negative: -3,
      ratio: 0.5,
      flag: true,
    });
    // broker-set annotations
    expect(msg.deliveryCount).toBe(0);
    expect(msg.state).toBe('active');
    expect(msg.sequenceNumber?.toNumber()).toBeGreaterThan(0);
    const enqueued = msg.enqueuedTimeUtc?.getTime() ?? 0;
    expect(enqueued).toBeGreaterThanOrEqual(before - 1_000);
    expect(enqueued).toBeLessThanOrEqual(after + 1_000);
    expect(msg.expiresAtUtc?.getTime()).toBe(enqueued + 120_000);
    const lockedUntil = msg.lockedUntilUtc?.getTime() ?? 0;
    expect(lockedUntil - Date.now()).toBeGreaterThan(LOCK_DURATION_MS - 10_000);
    expect(lockedUntil - Date.now()).toBeLessThanOrEqual(LOCK_DURATION_MS + 1_000);
    expect(msg.lockToken).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('round-trips a binary body byte for byte', async () => {
    const client = pool.client();
    const body = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));
    await client.createSender(QUEUE).sendMessages({ body, messageId: uniqueId('bin') });
    const [msg] = await receiveAndComplete(client.createReceiver(QUEUE), 1);
    expect(Buffer.isBuffer(msg?.body)).toBe(true);
    expect(Buffer.compare(msg?.body as Buffer, body)).toBe(0);
  });

  it('applies the queue default time-to-live when the sender sets none', async () => {
    const client = pool.client();
    await client.createSender(QUEUE).sendMessages({ body: 'ttl', messageId: uniqueId('ttl') });
    const [msg] = await receiveAndComplete(client.createReceiver(QUEUE), 1);
    const enqueued = msg?.enqueuedTimeUtc?.getTime() ?? 0;
    expect(msg?.expiresAtUtc?.getTime()).toBe(enqueued + DEFAULT_TTL_MS);
  });

  it('assigns a message id when the sender sets none', async () => {
    const client = pool.client();
    await client.createSender(QUEUE).sendMessages([{ body: 'a' }, { body: 'b' }]);
    const msgs = await receiveAndComplete(client.createReceiver(QUEUE), 2);
    expect(msgs).toHaveLength(2);
    const ids = msgs.map((m) => m.messageId);
    for (const id of ids) {
      expect(typeof id).toBe('string');
      expect((id as string).length).toBeGreaterThan(0);
    }
    expect(new Set(ids).size).toBe(2);
  });

  it('delivers batches (array and ServiceBusMessageBatch) in order with rising sequence numbers', async () => {
    const client = pool.client();
    const sender = client.createSender(QUEUE);
    await sender.sendMessages(Array.from({ length: 5 }, (_, i) => ({ body: `array-${i}` })));
    const batch = await sender.createMessageBatch();
    for (let i = 0; i < 5; i++) {
      expect(batch.tryAddMessage({ body: `batch-${i}`, applicationProperties: { i } })).toBe(true);
    }
    await sender.sendMessages(batch);
    const msgs = await receiveAndComplete(client.createReceiver(QUEUE), 10);
    expect(msgs.map((m) => m.body)).toEqual([
      ...Array.from({ length: 5 }, (_, i) => `array-${i}`),
      ...Array.from({ length: 5 }, (_, i) => `batch-${i}`),
    ]);
    expect(msgs[7]?.applicationProperties).toEqual({ i: 2 });
    const seqs = msgs.map((m) => m.sequenceNumber?.toNumber() ?? 0);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(10);
  });

  it('receiveAndDelete removes the message on delivery', async () => {
    const client = pool.client();
    await client.createSender(QUEUE).sendMessages({ body: 'rad', messageId: uniqueId('rad') });
    const receiver = client.createReceiver(QUEUE, { receiveMode: 'receiveAndDelete' });
    const [msg] = await receiveCount(receiver, 1);
    expect(msg?.body).toBe('rad');
    expect(msg?.lockToken).toBeUndefined();
    const peekReceiver = client.createReceiver(QUEUE);
    expect(await peekReceiver.peekMessages(10)).toHaveLength(0);
    expect(await peekReceiver.receiveMessages(1, { maxWaitTimeInMs: 500 })).toHaveLength(0);
  });

  it('peeks without locking, and returns nothing on an empty queue', async () => {
    const client = pool.client();
    const receiver = client.createReceiver(QUEUE);
    expect(await receiver.peekMessages(5)).toEqual([]);
    await client.createSender(QUEUE).sendMessages([
      { body: 'p1', messageId: uniqueId('p') },
      { body: 'p2', messageId: uniqueId('p') },
    ]);
    const peeked = await client.createReceiver(QUEUE).peekMessages(5);
    expect(peeked.map((m) => m.body)).toEqual(['p1', 'p2']);
    expect(peeked[0]?.lockToken).toBeUndefined();
    // peeking does not take the messages or count a delivery
    const received = await receiveAndComplete(receiver, 2);
    expect(received.map((m) => m.deliveryCount)).toEqual([0, 0]);
  });

  it('rejects a message above 256 KB with MessageSizeExceeded and accepts one below', async () => {
    const client = pool.client({ retryOptions: { maxRetries: 0, timeoutInMs: 20_000 } });
    const sender = client.createSender(QUEUE);
    const tooBig = Buffer.alloc(300 * 1024, 1);
    let error: unknown;
    try {
      await sender.sendMessages({ body: tooBig, messageId: uniqueId('big') });
    } catch (e) {
      error = e;
    }
    expect(errorCode(error)).toBe('MessageSizeExceeded');
    await sender.sendMessages({ body: Buffer.alloc(200 * 1024, 2), messageId: uniqueId('ok') });
    const [msg] = await receiveAndComplete(client.createReceiver(QUEUE), 1);
    expect((msg?.body as Buffer).length).toBe(200 * 1024);
  });

  it('refuses an unknown entity with MessagingEntityNotFound', async () => {
    const client = pool.client({ retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
    let sendError: unknown;
    try {
      await client.createSender('no-such-queue').sendMessages({ body: 'x' });
    } catch (e) {
      sendError = e;
    }
    expect(errorCode(sendError)).toBe('MessagingEntityNotFound');
    let receiveError: unknown;
    try {
      await client.createReceiver('no-such-queue').receiveMessages(1, { maxWaitTimeInMs: 1000 });
    } catch (e) {
      receiveError = e;
    }
    expect(errorCode(receiveError)).toBe('MessagingEntityNotFound');
  });
});
