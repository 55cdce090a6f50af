import { randomUUID } from 'node:crypto';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ServiceBusClient, isServiceBusError } from '@azure/service-bus';
import type { ServiceBusClientOptions, ServiceBusReceivedMessage } from '@azure/service-bus';

import { startServiceBusEmulator } from '../../src/index.js';
import type { ServiceBusEmulator } from '../../src/index.js';

/**
 * Broker faults for chaos runs, driven through the in-process API and the HTTP control
 * endpoint, and seen through the real SDK over real AMQP.
 */

const LONG = 'long-lock'; // locks outlive every test: only a fault can end them early
const SHORT = 'short-lock'; // PT2S locks: a lost delivery comes back soon

let emulator: ServiceBusEmulator;
const clients: ServiceBusClient[] = [];

beforeAll(async () => {
  emulator = await startServiceBusEmulator({
    controlPort: 0,
    faultSeed: 11,
    config: {
      UserConfig: {
        Namespaces: [
          {
            Name: 'sbemulatorns',
            Queues: [
              { Name: LONG, Properties: { LockDuration: 'PT5M', MaxDeliveryCount: 10 } },
              { Name: SHORT, Properties: { LockDuration: 'PT2S', MaxDeliveryCount: 10 } },
            ],
          },
        ],
      },
    },
  });
});
afterEach(async () => {
  emulator.faults.clear();
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  emulator.faults.loseLocks(); // what a test left locked becomes receivable
  for (const queue of [LONG, SHORT]) await drain(queue);
});
afterAll(async () => {
  await emulator.stop();
});

function client(options: ServiceBusClientOptions = {}): ServiceBusClient {
  const c = new ServiceBusClient(emulator.connectionString, {
    retryOptions: { maxRetries: 0, timeoutInMs: 10_000 },
    ...options,
  });
  clients.push(c);
  return c;
}

async function drain(queue: string): Promise<void> {
  const c = new ServiceBusClient(emulator.connectionString);
  try {
    const receiver = c.createReceiver(queue, { receiveMode: 'receiveAndDelete' });
    while ((await receiver.receiveMessages(100, { maxWaitTimeInMs: 200 })).length > 0);
    const dlq = c.createReceiver(queue, {
      receiveMode: 'receiveAndDelete',
      subQueueType: 'deadLetter',
    });
    while ((await dlq.receiveMessages(100, { maxWaitTimeInMs: 200 })).length > 0);
  } finally {
    await c.close();
  }
}

async function sendOne(queue: string): Promise<string> {
  const messageId = `m-${randomUUID()}`;
  await client().createSender(queue).sendMessages({ body: 'work', messageId });
  return messageId;
}

async function receiveOne(
  receiver: ReturnType<ServiceBusClient['createReceiver']>,
  timeoutMs = 15_000,
): Promise<ServiceBusReceivedMessage> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 1_000 });
    if (m) return m;
  }
  throw new Error('no message arrived');
}

async function eventually(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function errorOf(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return {
      code: isServiceBusError(error) ? error.code : (error as { code?: string }).code,
      message: (error as Error).message,
    };
  }
  throw new Error('expected the call to fail');
}

describe('lock lost early', () => {
  it('loseLocks: renew and complete fail with MessageLockLost; redelivered with count + 1', async () => {
    const messageId = await sendOne(LONG);
    const receiver = client().createReceiver(LONG, { maxAutoLockRenewalDurationInMs: 0 });
    const first = await receiveOne(receiver);
    expect(first.deliveryCount).toBe(0);
    const lostBefore = emulator.faults.counts().locksLost;

    const lost = emulator.faults.loseLocks({ queue: LONG, messageId });
    expect(lost).toEqual([
      { queue: LONG, sequenceNumber: Number(first.sequenceNumber), messageId, deliveryCount: 1 },
    ]);
    expect((await errorOf(receiver.renewMessageLock(first))).code).toBe('MessageLockLost');
    expect((await errorOf(receiver.completeMessage(first))).code).toBe('MessageLockLost');

    const again = await receiveOne(receiver);
    expect(again.messageId).toBe(messageId);
    expect(again.deliveryCount).toBe(1);
    await receiver.completeMessage(again);
    expect(emulator.faults.counts().locksLost).toBe(lostBefore + 1);
  });

  it('lockLoss rate: the broker forgets a lock afterMs after handing it out', async () => {
    const messageId = await sendOne(LONG);
    emulator.faults.set({ lockLoss: { rate: 1, afterMs: 300 } });
    const receiver = client().createReceiver(LONG, { maxAutoLockRenewalDurationInMs: 0 });
    const first = await receiveOne(receiver);
    emulator.faults.clear();
    await eventually('the lock to be forgotten', () => emulator.inspect(LONG).active === 1);
    expect((await errorOf(receiver.renewMessageLock(first))).code).toBe('MessageLockLost');
    const again = await receiveOne(receiver);
    expect(again).toMatchObject({ messageId, deliveryCount: 1 });
    await receiver.completeMessage(again);
  });
});

describe('settlement faults', () => {
  it('a failed settlement is answered with amqp:internal-error and not applied', async () => {
    await sendOne(LONG);
    const failedBefore = emulator.faults.counts().settlementsFailed;
    emulator.faults.set({ settlementFailure: { rate: 1 } });
    const receiver = client().createReceiver(LONG, { maxAutoLockRenewalDurationInMs: 0 });
    const message = await receiveOne(receiver);
    const error = await errorOf(receiver.completeMessage(message));
    expect(error.code).toBe('GeneralError');
    expect(error.message).toContain('The service was unable to process the request');
    expect(emulator.inspect(LONG)).toMatchObject({ active: 0, locked: 1 });
    expect(emulator.faults.counts().settlementsFailed).toBe(failedBefore + 1);
  });

  it('applied: true completes the message although the client is told it failed', async () => {
    await sendOne(LONG);
    emulator.faults.set({
      settlementFailure: { rate: 1, condition: 'com.microsoft:server-busy', applied: true },
    });
    const receiver = client().createReceiver(LONG, { maxAutoLockRenewalDurationInMs: 0 });
    const message = await receiveOne(receiver);
    expect((await errorOf(receiver.completeMessage(message))).code).toBe('ServiceBusy');
    expect(emulator.inspect(LONG)).toMatchObject({ active: 0, locked: 0 });
  });

  it('a hung settlement is never answered: the SDK times out and the lock stays', async () => {
    await sendOne(LONG);
    const hungBefore = emulator.faults.counts().settlementsHung;
    emulator.faults.set({ settlementHang: { rate: 1 } });
    const receiver = client({
      retryOptions: { maxRetries: 0, timeoutInMs: 1_500 },
    }).createReceiver(LONG, { maxAutoLockRenewalDurationInMs: 0 });
    const message = await receiveOne(receiver);
    const error = await errorOf(receiver.completeMessage(message));
    expect(error.code).toBe('ServiceTimeout');
    expect(emulator.inspect(LONG)).toMatchObject({ locked: 1 });
    expect(emulator.faults.counts().settlementsHung).toBe(hungBefore + 1);
  });
});

describe('connection drops', () => {
  it('dropConnections("all") resets every connection; the SDK reconnects and goes on', async () => {
    const received: string[] = [];
    const c = client({ retryOptions: { maxRetries: 5, retryDelayInMs: 100 } });
    const receiver = c.createReceiver(LONG);
    const subscription = receiver.subscribe(
      {
        processMessage: async (m) => {
          received.push(String(m.messageId));
        },
        processError: async () => undefined,
      },
      { autoCompleteMessages: true },
    );
    const before = await sendOne(LONG);
    await eventually('the first message', () => received.includes(before));
    expect(emulator.connections().some((conn) => conn.links.receivers === 1)).toBe(true);

    const dropped = emulator.faults.dropConnections('all');
    expect(dropped.length).toBeGreaterThanOrEqual(1);
    await eventually('the connections to go', () =>
      emulator.connections().every((conn) => !dropped.includes(conn.id)),
    );
    const after = await sendOne(LONG);
    await eventually('the message after the drop', () => received.includes(after), 30_000);
    await subscription.close();
  });

  it('drops one connection by id, with an AMQP close when asked', async () => {
    const a = client();
    await a.createSender(LONG).sendMessages({ body: 'a' });
    const ids = emulator.connections().map((conn) => conn.id);
    const target = ids[ids.length - 1] as number;
    expect(emulator.faults.dropConnections(target, 'close')).toEqual([target]);
    expect(emulator.connections().map((conn) => conn.id)).not.toContain(target);
    expect(emulator.faults.dropConnections(999_999)).toEqual([]);
  });

  it('connectionDrop rate 1: a delivery is lost mid-stream and comes back after its lock', async () => {
    const messageId = await sendOne(SHORT);
    const droppedBefore = emulator.faults.counts().connectionsDropped;
    emulator.faults.set({ connectionDrop: { rate: 1 } });
    const receiver = client({ retryOptions: { maxRetries: 0, timeoutInMs: 3_000 } }).createReceiver(
      SHORT,
    );
    await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 }).catch(() => []);
    // the emulator locked and sent the message, then reset the connection
    expect(emulator.faults.counts().connectionsDropped).toBeGreaterThan(droppedBefore);
    emulator.faults.clear();
    const again = await receiveOne(client().createReceiver(SHORT));
    expect(again.messageId).toBe(messageId);
    expect(again.deliveryCount).toBe(1);
  });
});

describe('delivery delay', () => {
  it('holds deliveries back and still delivers them in full', async () => {
    const ids = [await sendOne(LONG), await sendOne(LONG)];
    const delayedBefore = emulator.faults.counts().deliveriesDelayed;
    emulator.faults.set({ deliveryDelay: { rate: 1, minMs: 200, maxMs: 400 } });
    const receiver = client().createReceiver(LONG, { receiveMode: 'receiveAndDelete' });
    const got: string[] = [];
    while (got.length < 2) got.push(String((await receiveOne(receiver)).messageId));
    expect(got.sort()).toEqual([...ids].sort());
    expect(emulator.faults.counts().deliveriesDelayed).toBe(delayedBefore + 2);
  });
});

describe('what a harness counts', () => {
  it('lists dead letters with their reasons and message ids', async () => {
    const c = client();
    await c.createSender(LONG).sendMessages([
      { body: 1, messageId: 'dl-1' },
      { body: 2, messageId: 'dl-2' },
      { body: 3, messageId: 'dl-3' },
    ]);
    const receiver = c.createReceiver(LONG);
    const all: ServiceBusReceivedMessage[] = [];
    while (all.length < 3) all.push(await receiveOne(receiver));
    for (const m of all) {
      if (m.messageId === 'dl-3') await receiver.deadLetterMessage(m);
      else {
        await receiver.deadLetterMessage(m, {
          deadLetterReason: 'SchemaViolation',
          deadLetterErrorDescription: `bad ${String(m.messageId)}`,
        });
      }
    }
    expect(emulator.deadLetterReasons(LONG)).toEqual({ SchemaViolation: 2, '(none)': 1 });
    const letters = emulator.deadLetters(LONG);
    expect(letters.map((l) => [l.messageId, l.reason, l.description]).sort()).toEqual([
      ['dl-1', 'SchemaViolation', 'bad dl-1'],
      ['dl-2', 'SchemaViolation', 'bad dl-2'],
      ['dl-3', undefined, undefined],
    ]);
    expect(emulator.deadLetters(LONG, { limit: 1 })).toHaveLength(1);
    expect(emulator.inspect(LONG).deadLettered).toBe(3);
  });
});

describe('the HTTP control endpoint', () => {
  const url = (path: string): string => `${emulator.controlUrl as string}${path}`;
  async function call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(url(path), {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('listens on 127.0.0.1 and sets, reads and clears faults', async () => {
    expect(emulator.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const set = await call('PATCH', '/faults', { lockLoss: { rate: 0.5, afterMs: 100 } });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ seed: 11, faults: { lockLoss: { rate: 0.5, afterMs: 100 } } });
    expect(emulator.faults.get()).toEqual({ lockLoss: { rate: 0.5, afterMs: 100 } });
    await call('PATCH', '/faults', { lockLoss: null, connectionDrop: { rate: 0.01 } });
    expect(emulator.faults.get()).toEqual({ connectionDrop: { rate: 0.01, how: 'reset' } });
    await call('PUT', '/faults', { settlementHang: { rate: 0.1 } });
    expect(emulator.faults.get()).toEqual({ settlementHang: { rate: 0.1, applied: false } });
    const cleared = await call('DELETE', '/faults');
    expect(cleared.json.faults).toEqual({});
    expect(cleared.json.injected).toMatchObject({ connectionsDropped: expect.any(Number) });
  });

  it('answers bad requests with 400, 404 or 405 and a message naming the problem', async () => {
    expect(await call('PATCH', '/faults', { lockLoss: { rate: 7 } })).toEqual({
      status: 400,
      json: { error: 'lockLoss.rate must be between 0 and 1, got 7' },
    });
    const notJson = await fetch(url('/faults'), { method: 'PATCH', body: '{oops' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: 'the request body is not valid JSON' });
    expect((await call('GET', '/queues/nope')).status).toBe(404);
    expect((await call('GET', '/queues/nope')).json.error).toMatch(/no queue named 'nope'/);
    expect((await call('POST', '/queues')).status).toBe(405);
    expect((await call('GET', '/elsewhere')).status).toBe(404);
    expect(
      (await call('POST', '/faults/drop-connections', { target: 'some', how: 'reset' })).json,
    ).toEqual({ error: 'target must be "all", "one" or a connection id' });
    expect(emulator.faults.get()).toEqual({});
  });

  it('loses locks, drops connections and reports queues and dead letters', async () => {
    const messageId = await sendOne(LONG);
    const receiver = client().createReceiver(LONG, { maxAutoLockRenewalDurationInMs: 0 });
    const message = await receiveOne(receiver);

    const queue = await call('GET', `/queues/${LONG.toUpperCase()}`);
    expect(queue.json).toMatchObject({ name: LONG, active: 0, locked: 1, deadLettered: 0 });
    const lost = await call('POST', '/faults/lose-locks', { queue: LONG, messageId });
    expect(lost.json.lost).toEqual([
      { queue: LONG, sequenceNumber: Number(message.sequenceNumber), messageId, deliveryCount: 1 },
    ]);
    const again = await receiveOne(receiver);
    await receiver.deadLetterMessage(again, {
      deadLetterReason: 'Poison',
      deadLetterErrorDescription: 'test',
    });

    const all = await call('GET', '/queues');
    expect(all.json.queues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: LONG, deadLettered: 1, deadLetterReasons: { Poison: 1 } }),
      ]),
    );
    const letters = await call('GET', `/queues/${LONG}/dead-letters?limit=10`);
    expect(letters.json.deadLetters).toEqual([
      expect.objectContaining({ messageId, reason: 'Poison', deliveryCount: 1 }),
    ]);

    const connections = (await call('GET', '/connections')).json.connections as { id: number }[];
    expect(connections.length).toBeGreaterThanOrEqual(1);
    const dropped = await call('POST', '/faults/drop-connections', { target: 'one' });
    expect(dropped.json.dropped).toHaveLength(1);
    expect(connections.map((c) => c.id)).toContain((dropped.json.dropped as number[])[0]);
  });
});
