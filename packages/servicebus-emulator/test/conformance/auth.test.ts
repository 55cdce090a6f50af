import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ServiceBusClient } from '@azure/service-bus';

import { errorCode, purge, receiveAndComplete, uniqueId } from './helpers.js';
import { TARGET_START_TIMEOUT_MS, startTarget } from './target.js';
import type { ConformanceTarget } from './target.js';

const QUEUE = 'conf-auth';

/** The target's connection string with one key=value replaced. */
function withPart(connectionString: string, key: string, value: string): string {
  return connectionString
    .split(';')
    .filter((p) => p.length > 0)
    .map((p) => (p.startsWith(`${key}=`) ? `${key}=${value}` : p))
    .join(';');
}

describe('Service Bus conformance: shared access signatures', () => {
  let target: ConformanceTarget;
  const clients: ServiceBusClient[] = [];
  const client = (connectionString: string): ServiceBusClient => {
    const c = new ServiceBusClient(connectionString, {
      retryOptions: { maxRetries: 0, timeoutInMs: 10_000 },
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    target = await startTarget();
  }, TARGET_START_TIMEOUT_MS);
  afterAll(async () => {
    await target?.stop();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  async function sendOutcome(connectionString: string): Promise<string> {
    try {
      await client(connectionString)
        .createSender(QUEUE)
        .sendMessages({ body: 'x', messageId: uniqueId('a') });
      return 'sent';
    } catch (e) {
      return errorCode(e) ?? String(e);
    }
  }

  it('accepts the configured key', async () => {
    const c = client(target.connectionString);
    await purge(c, QUEUE);
    await c.createSender(QUEUE).sendMessages({ body: 'ok', messageId: uniqueId('ok') });
    const [msg] = await receiveAndComplete(c.createReceiver(QUEUE), 1);
    expect(msg?.body).toBe('ok');
  });

  it('rejects a wrong key with UnauthorizedAccess (the official emulator ignores authentication)', async () => {
    const outcome = await sendOutcome(
      withPart(target.connectionString, 'SharedAccessKey', 'wrong-key'),
    );
    expect(outcome).toBe(target.authentication === 'verified' ? 'UnauthorizedAccess' : 'sent');
  });

  it('rejects an unknown key name with UnauthorizedAccess', async () => {
    const outcome = await sendOutcome(
      withPart(target.connectionString, 'SharedAccessKeyName', 'NoSuchPolicy'),
    );
    expect(outcome).toBe(target.authentication === 'verified' ? 'UnauthorizedAccess' : 'sent');
  });

  it('rejects receivers with a wrong key too', async () => {
    let outcome = 'received';
    try {
      await client(withPart(target.connectionString, 'SharedAccessKey', 'wrong-key'))
        .createReceiver(QUEUE, { receiveMode: 'receiveAndDelete' })
        .receiveMessages(10, { maxWaitTimeInMs: 500 });
    } catch (e) {
      outcome = errorCode(e) ?? String(e);
    }
    expect(outcome).toBe(target.authentication === 'verified' ? 'UnauthorizedAccess' : 'received');
  });
});
