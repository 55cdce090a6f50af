import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';

import { startServiceBusEmulator, type ServiceBusEmulator } from '@podbus/servicebus-emulator';
import type { HandlingOutcome } from '../../../src/worker/outcome.js';
import { dispositionSettler, LAST_ERROR_PROPERTY } from '../../../src/worker/settle.js';

/**
 * Why podbus sends a dead-letter or an abandon alone (src/worker/settle.ts): rhea 3.0.5 merges
 * the dispositions of consecutive deliveries settled in the same tick into one frame carrying
 * the first outcome. If this first test starts failing after a dependency upgrade, rhea fixed
 * it and dispositionSettler's comment should say from which version on.
 */
describe('concurrent settlement of consecutive deliveries', () => {
  let sb: ServiceBusEmulator;
  let client: ServiceBusClient;
  beforeAll(async () => {
    sb = await startServiceBusEmulator();
    client = new ServiceBusClient(sb.connectionString);
  });
  afterAll(async () => {
    await client.close();
    await sb.stop();
  });

  async function receiveAll(ids: readonly string[]): Promise<{
    receiver: ReturnType<ServiceBusClient['createReceiver']>;
    messages: ServiceBusReceivedMessage[];
  }> {
    const sender = client.createSender('challenges');
    await sender.sendMessages(ids.map((messageId) => ({ messageId, body: messageId })));
    await sender.close();
    const receiver = client.createReceiver('challenges');
    const messages: ServiceBusReceivedMessage[] = [];
    while (messages.length < ids.length) {
      const batch = await receiver.receiveMessages(ids.length - messages.length, {
        maxWaitTimeInMs: 5_000,
      });
      expect(batch.length).toBeGreaterThan(0);
      messages.push(...batch);
    }
    return { receiver, messages };
  }

  const receiveThree = (prefix: string) =>
    receiveAll(['a', 'b', 'c'].map((id) => `${prefix}-${id}`));

  async function deadLetterReasons(): Promise<Record<string, string | undefined>> {
    const dlq = client.createReceiver('challenges', {
      subQueueType: 'deadLetter',
      receiveMode: 'receiveAndDelete',
    });
    const letters = await dlq.receiveMessages(10, { maxWaitTimeInMs: 1_000 });
    await dlq.close();
    return Object.fromEntries(letters.map((m) => [String(m.messageId), m.deadLetterReason]));
  }

  it('through the plain SDK, the second outcome is replaced by the first (the library bug)', async () => {
    const { receiver, messages } = await receiveThree('plain');
    await Promise.all(
      messages.map((m) =>
        receiver.deadLetterMessage(m, {
          deadLetterReason: `reason-${String(m.messageId)}`,
          deadLetterErrorDescription: '',
        }),
      ),
    );
    await receiver.close();
    expect(await deadLetterReasons()).toEqual({
      'plain-a': 'reason-plain-a',
      'plain-b': 'reason-plain-a', // merged into a's disposition frame
      'plain-c': 'reason-plain-c',
    });
  });

  it('through podbus’s settler, every message keeps its own outcome', async () => {
    const { receiver, messages } = await receiveThree('serial');
    const settle = dispositionSettler(receiver);
    const results = await Promise.all(
      messages.map((m) =>
        settle(m, {
          action: 'dead-letter',
          reason: 'PodRejected',
          description: `d-${String(m.messageId)}`,
        }),
      ),
    );
    expect(results.map((r) => r.result)).toEqual(['settled', 'settled', 'settled']);
    await receiver.close();
    const dlq = client.createReceiver('challenges', {
      subQueueType: 'deadLetter',
      receiveMode: 'receiveAndDelete',
    });
    const letters = await dlq.receiveMessages(10, { maxWaitTimeInMs: 1_000 });
    await dlq.close();
    expect(
      Object.fromEntries(letters.map((m) => [m.messageId, m.deadLetterErrorDescription])),
    ).toEqual({
      'serial-a': 'd-serial-a',
      'serial-b': 'd-serial-b',
      'serial-c': 'd-serial-c',
    });
  });

  it('completes, dead-letters and abandons settled all at once each end as they should', async () => {
    // Consecutive deliveries cycle through the three outcomes, so every pair of neighbours in
    // rhea's disposition list differs: the plain SDK would merge some of them (first test).
    const ids = Array.from({ length: 60 }, (_, i) => `mixed-${i}`);
    const outcomeOf = (id: string): HandlingOutcome => {
      const i = Number(id.split('-')[1]);
      if (i % 3 === 0)
        return { action: 'dead-letter', reason: 'PodRejected', description: `d-${id}` };
      if (i % 3 === 1) return { action: 'complete', outcome: 'created', cluster: 'a' };
      return { action: 'abandon', why: `why-${id}` };
    };
    const expected = (action: HandlingOutcome['action']) =>
      ids.filter((id) => outcomeOf(id).action === action).sort();
    const { receiver, messages } = await receiveAll(ids);
    const settle = dispositionSettler(receiver);

    const results = await Promise.all(
      messages.map((m) => settle(m, outcomeOf(String(m.messageId)))),
    );
    expect(results.every((r) => r.result === 'settled')).toBe(true);
    await receiver.close();

    const dlq = client.createReceiver('challenges', {
      subQueueType: 'deadLetter',
      receiveMode: 'receiveAndDelete',
    });
    const letters = await dlq.receiveMessages(100, { maxWaitTimeInMs: 1_000 });
    await dlq.close();
    expect(letters.map((m) => String(m.messageId)).sort()).toEqual(expected('dead-letter'));
    for (const letter of letters) {
      expect(letter.deadLetterReason).toBe('PodRejected');
      expect(letter.deadLetterErrorDescription).toBe(`d-${String(letter.messageId)}`);
    }

    // Abandoned messages come back once more, with the property the abandon set; completed
    // ones never do.
    const again = client.createReceiver('challenges', { receiveMode: 'receiveAndDelete' });
    const back: ServiceBusReceivedMessage[] = [];
    for (;;) {
      const batch = await again.receiveMessages(100, { maxWaitTimeInMs: 1_000 });
      if (batch.length === 0) break;
      back.push(...batch);
    }
    await again.close();
    expect(back.map((m) => String(m.messageId)).sort()).toEqual(expected('abandon'));
    for (const m of back) {
      expect(m.deliveryCount).toBe(1);
      expect(m.applicationProperties?.[LAST_ERROR_PROPERTY]).toBe(`why-${String(m.messageId)}`);
    }
  });
});
