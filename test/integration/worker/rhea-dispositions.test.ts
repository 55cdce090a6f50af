import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';

import { startServiceBusEmulator, type ServiceBusEmulator } from '@podbus/servicebus-emulator';
import { serialSettler } from '../../../src/worker/settle.js';

/**
 * Why podbus settles one message at a time (src/worker/settle.ts): rhea 3.0.5 merges the
 * dispositions of consecutive deliveries settled in the same tick into one frame carrying the
 * first outcome. If this first test starts failing after a dependency upgrade, rhea fixed it
 * and serialSettler's comment should say from which version on.
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

  async function receiveThree(prefix: string): Promise<{
    receiver: ReturnType<ServiceBusClient['createReceiver']>;
    messages: ServiceBusReceivedMessage[];
  }> {
    const sender = client.createSender('challenges');
    await sender.sendMessages(
      ['a', 'b', 'c'].map((id) => ({ messageId: `${prefix}-${id}`, body: id })),
    );
    await sender.close();
    const receiver = client.createReceiver('challenges');
    const messages = await receiver.receiveMessages(3, { maxWaitTimeInMs: 5_000 });
    expect(messages).toHaveLength(3);
    return { receiver, messages };
  }

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

  it('through podbus’s serial settler, every message keeps its own outcome', async () => {
    const { receiver, messages } = await receiveThree('serial');
    const settle = serialSettler(receiver);
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
});
