import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ServiceBusClient } from '@azure/service-bus';
import rhea from 'rhea';
import type { Connection, Delivery, EventContext, Message, Receiver } from 'rhea';

import { startServiceBusEmulator } from '../../src/index.js';
import type { ServiceBusEmulator } from '../../src/index.js';
import { swapGuidByteOrder } from '../../src/lock-token.js';

/**
 * Link-level behaviour the SDK depends on but cannot show through its API: credit accounting,
 * drain answers, delivery tags and settlement, checked with a raw rhea client
 * (specs/servicebus-amqp.md §3-§5, §10). Authentication is off here (acceptAnyToken) to keep the
 * raw client short; $cbs is covered by malformed-input.test.ts and the conformance suite.
 */
const QUEUE = 'links';
const SHORT_LOCK_QUEUE = 'links-short-lock';

let emulator: ServiceBusEmulator;
let connection: Connection;

beforeAll(async () => {
  emulator = await startServiceBusEmulator({
    acceptAnyToken: true,
    config: {
      UserConfig: {
        Namespaces: [
          {
            Queues: [
              { Name: QUEUE, Properties: { LockDuration: 'PT30S', MaxDeliveryCount: 10 } },
              // below the official minimum (PT5S): podbus accepts it, which keeps this test short
              {
                Name: SHORT_LOCK_QUEUE,
                Properties: { LockDuration: 'PT1S', MaxDeliveryCount: 10 },
              },
            ],
          },
        ],
      },
    },
  });
  const container = rhea.create_container({ id: 'links-test' });
  container.on('error', () => undefined);
  connection = container.connect({
    host: '127.0.0.1',
    port: emulator.port,
    reconnect: false,
  } as never);
  await new Promise((r) => connection.once('connection_open', r));
});
afterAll(async () => {
  connection.close();
  await emulator.stop();
});

async function send(count: number, queue = QUEUE): Promise<void> {
  const client = new ServiceBusClient(emulator.connectionString);
  await client
    .createSender(queue)
    .sendMessages(Array.from({ length: count }, (_, i) => ({ body: `m${i}`, messageId: `m${i}` })));
  await client.close();
}

interface Collected {
  receiver: Receiver;
  deliveries: { message: Message; delivery: Delivery }[];
  drained: number;
}

async function openReceiver(
  mode: 'peekLock' | 'receiveAndDelete',
  queue = QUEUE,
): Promise<Collected> {
  const receiver = connection.open_receiver({
    source: { address: queue },
    credit_window: 0,
    autoaccept: false,
    rcv_settle_mode: mode === 'peekLock' ? 1 : 0,
    snd_settle_mode: mode === 'peekLock' ? 0 : 1,
  });
  const collected: Collected = { receiver, deliveries: [], drained: 0 };
  receiver.on('message', (ctx: EventContext) =>
    collected.deliveries.push({
      message: ctx.message as Message,
      delivery: ctx.delivery as Delivery,
    }),
  );
  receiver.on('receiver_drained', () => collected.drained++);
  await new Promise((r) => receiver.once('receiver_open', r));
  return collected;
}

const until = async (check: () => boolean, ms = 3_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

describe('receiver links', () => {
  const open: Receiver[] = [];
  afterEach(async () => {
    for (const r of open.splice(0)) r.close();
    // leave nothing behind for the next test
    const client = new ServiceBusClient(emulator.connectionString);
    const rad = client.createReceiver(QUEUE, { receiveMode: 'receiveAndDelete' });
    while ((await rad.receiveMessages(100, { maxWaitTimeInMs: 300 })).length > 0);
    await client.close();
  });

  it('delivers exactly the granted credit, in order, with .NET-order GUID tags and lock annotations', async () => {
    await send(10);
    const c = await openReceiver('peekLock');
    open.push(c.receiver);
    c.receiver.add_credit(3);
    await until(() => c.deliveries.length >= 3);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.deliveries.map((d) => d.message.message_id)).toEqual(['m0', 'm1', 'm2']);
    expect(emulator.inspect(QUEUE)).toMatchObject({ locked: 3, active: 7 });
    for (const { delivery, message } of c.deliveries) {
      const tag = delivery.tag as Buffer;
      expect(tag).toHaveLength(16);
      expect(delivery.settled).toBe(false);
      expect(message.message_annotations?.['x-opt-locked-until']).toBeInstanceOf(Date);
      // the SDK's lockToken: tag in RFC order; unique per delivery
      expect(rhea.uuid_to_string(swapGuidByteOrder(tag))).toMatch(/^[0-9a-f-]{36}$/);
    }
    c.receiver.add_credit(2);
    await until(() => c.deliveries.length >= 5);
    expect(c.deliveries.map((d) => d.message.message_id)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('answers a drain on an empty queue at once, giving the credit back', async () => {
    const c = await openReceiver('peekLock');
    open.push(c.receiver);
    c.receiver.add_credit(5);
    c.receiver.drain_credit();
    await until(() => c.drained > 0, 2_000);
    expect(c.drained).toBe(1);
    expect((c.receiver as unknown as { credit: number }).credit).toBe(0);
  });

  it('drains after delivering what there is, and also when all credit was used', async () => {
    await send(2);
    const c = await openReceiver('peekLock');
    open.push(c.receiver);
    c.receiver.add_credit(5);
    c.receiver.drain_credit();
    await until(() => c.drained > 0, 2_000);
    expect(c.deliveries).toHaveLength(2);
    expect((c.receiver as unknown as { credit: number }).credit).toBe(0);

    await send(1);
    c.receiver.drain = false;
    c.receiver.add_credit(1);
    await until(() => c.deliveries.length === 3);
    c.receiver.drain_credit(); // no credit left: still answered
    await until(() => c.drained > 1, 2_000);
    expect(c.drained).toBe(2);
  });

  it('answers every settlement with a settled disposition', async () => {
    await send(4);
    const before = emulator.inspect(QUEUE);
    const c = await openReceiver('peekLock');
    open.push(c.receiver);
    c.receiver.add_credit(4);
    await until(() => c.deliveries.length === 4);
    const states: string[] = [];
    const settled = new Promise<void>((resolve) => {
      c.receiver.on('settled', (ctx: EventContext) => {
        const state = ctx.delivery?.remote_state as
          { constructor?: { composite_type?: string } } | undefined;
        states.push(String(state?.constructor?.composite_type));
        if (states.length === 4) resolve();
      });
    });
    const [a, b, d, e] = c.deliveries.map((x) => x.delivery);
    // one per tick: rhea (this raw client) would otherwise merge neighbouring dispositions with
    // different outcomes into one range (the emulator never does that on its side, see settle.ts)
    const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
    a!.accept();
    await tick();
    b!.modified({ undeliverable_here: false });
    await tick();
    d!.modified({ undeliverable_here: true });
    await tick();
    e!.reject({ condition: 'com.microsoft:dead-letter', info: { DeadLetterReason: 'r' } });
    await settled;
    expect(states.sort()).toEqual(['accepted', 'modified', 'modified', 'rejected']);
    expect(emulator.inspect(QUEUE)).toMatchObject({
      deferred: before.deferred + 1,
      deadLettered: before.deadLettered + 1,
    });
  });

  it('never reports a lost lock as accepted when settling neighbours in the same tick', async () => {
    await send(2, SHORT_LOCK_QUEUE);
    const c = await openReceiver('peekLock', SHORT_LOCK_QUEUE);
    open.push(c.receiver);
    c.receiver.add_credit(1);
    await until(() => c.deliveries.length === 1);
    await new Promise((r) => setTimeout(r, 600));
    c.receiver.add_credit(1);
    await until(() => c.deliveries.length === 2);
    await new Promise((r) => setTimeout(r, 600)); // first lock expired, second still held
    const outcomes = new Map<string, string>();
    const both = new Promise<void>((resolve) => {
      c.receiver.on('settled', (ctx: EventContext) => {
        const state = ctx.delivery?.remote_state as
          { constructor?: { composite_type?: string }; error?: { condition?: string } } | undefined;
        const id = c.deliveries.find((d) => d.delivery === ctx.delivery)?.message.message_id;
        outcomes.set(
          String(id),
          `${state?.constructor?.composite_type}:${state?.error?.condition ?? ''}`,
        );
        if (outcomes.size === 2) resolve();
      });
    });
    for (const d of c.deliveries) d.delivery.accept(); // same tick
    await both;
    expect(Object.fromEntries(outcomes)).toEqual({
      m0: 'rejected:com.microsoft:message-lock-lost',
      m1: 'accepted:',
    });
  });

  it('sends receiveAndDelete deliveries pre-settled and removes them', async () => {
    await send(3);
    const c = await openReceiver('receiveAndDelete');
    open.push(c.receiver);
    c.receiver.add_credit(3);
    await until(() => c.deliveries.length === 3);
    expect(c.deliveries.every((d) => d.delivery.remote_settled)).toBe(true);
    expect(emulator.inspect(QUEUE).active).toBe(0);
  });

  it('shares arriving messages between waiting receivers in turn', async () => {
    const x = await openReceiver('peekLock');
    const y = await openReceiver('peekLock');
    open.push(x.receiver, y.receiver);
    x.receiver.add_credit(10);
    y.receiver.add_credit(10);
    await new Promise((r) => setTimeout(r, 100));
    await send(10); // one batch
    await until(() => x.deliveries.length + y.deliveries.length === 10);
    expect([x.deliveries.length, y.deliveries.length]).toEqual([5, 5]);
  });

  it('lets only one of two receivers lock each message', async () => {
    await send(20);
    const x = await openReceiver('peekLock');
    const y = await openReceiver('peekLock');
    open.push(x.receiver, y.receiver);
    x.receiver.add_credit(15);
    y.receiver.add_credit(15);
    await until(() => x.deliveries.length + y.deliveries.length === 20);
    await new Promise((r) => setTimeout(r, 200));
    const ids = [...x.deliveries, ...y.deliveries].map((d) => String(d.message.message_id));
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
    expect(x.deliveries.length).toBeGreaterThan(0);
    expect(y.deliveries.length).toBeGreaterThan(0);
  });
});
