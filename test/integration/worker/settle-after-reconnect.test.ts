import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';

import { startServiceBusEmulator, type ServiceBusEmulator } from '@podbus/servicebus-emulator';
import { dispositionSettler } from '../../../src/worker/settle.js';

/**
 * A settlement the broker never answers must not hold back the ones queued behind it
 * (src/worker/settle.ts). After the SDK reconnects, a message received before the connection
 * dropped is settled on the dead link's delivery: nothing reaches the broker and the SDK times
 * the settlement out (after 60 s, four times, with the default retry options).
 */
describe('settling after a dropped connection', () => {
  let sb: ServiceBusEmulator;
  // No retries and a short timeout, so the unanswered settlement fails within the test.
  let client: ServiceBusClient;
  beforeAll(async () => {
    sb = await startServiceBusEmulator();
    client = new ServiceBusClient(sb.connectionString, {
      retryOptions: { maxRetries: 0, timeoutInMs: 5_000 },
    });
  });
  afterAll(async () => {
    await client.close();
    await sb.stop();
  });

  async function send(messageId: string): Promise<void> {
    const sender = new ServiceBusClient(sb.connectionString);
    try {
      await sender.createSender('challenges').sendMessages({ messageId, body: messageId });
    } finally {
      await sender.close();
    }
  }

  async function receiveOne(
    receiver: ReturnType<ServiceBusClient['createReceiver']>,
  ): Promise<ServiceBusReceivedMessage> {
    for (;;) {
      const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 }).catch(() => []);
      if (m) return m;
    }
  }

  it('a message received after the reconnect is settled while the earlier one still waits', async () => {
    await send('before-drop');
    const receiver = client.createReceiver('challenges');
    const early = await receiveOne(receiver);
    expect(sb.faults.dropConnections('all').length).toBeGreaterThan(0);
    await send('after-drop');
    const late = await receiveOne(receiver); // the SDK has reattached the receiver by now
    expect(late.messageId).toBe('after-drop');

    const settle = dispositionSettler(receiver);
    const finished: string[] = [];
    const settlements = [early, late].map((m) =>
      settle(m, { action: 'dead-letter', reason: 'PodRejected', description: 'test' }).then((r) => {
        finished.push(`${String(m.messageId)}: ${r.result}`);
        return r;
      }),
    );
    await Promise.all(settlements);

    // The late message did not wait for the early one's settlement to time out.
    expect(finished).toEqual(['after-drop: settled', 'before-drop: failed']);
    expect(sb.inspect('challenges')).toMatchObject({ active: 0, locked: 1, deadLettered: 1 });
    await receiver.close();
  }, 60_000);
});
