import { randomUUID } from 'node:crypto';

import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import type {
  ServiceBusClientOptions,
  ServiceBusReceivedMessage,
  ServiceBusReceiver,
} from '@azure/service-bus';

import { TARGET_START_TIMEOUT_MS, startTarget } from './target.js';
import type { ConformanceTarget } from './target.js';

/** Closes every client a test opened (receivers and senders close with their client). */
export class ClientPool {
  private readonly clients: ServiceBusClient[] = [];

  constructor(private readonly target: () => ConformanceTarget) {}

  client(options: ServiceBusClientOptions = {}): ServiceBusClient {
    const client = new ServiceBusClient(this.target().connectionString, {
      retryOptions: { maxRetries: 2, retryDelayInMs: 200, timeoutInMs: 20_000 },
      ...options,
    });
    this.clients.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    const clients = this.clients.splice(0);
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits for `promise` at most `ms` (without leaving a timer behind); false on timeout. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Receives until `count` messages arrived or `timeoutMs` passed (receiveMessages may return
 * fewer than asked for).
 */
export async function receiveCount(
  receiver: ServiceBusReceiver,
  count: number,
  timeoutMs = 10_000,
): Promise<ServiceBusReceivedMessage[]> {
  const out: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) {
    const batch = await receiver.receiveMessages(count - out.length, {
      maxWaitTimeInMs: Math.max(200, Math.min(5_000, deadline - Date.now())),
    });
    out.push(...batch);
  }
  return out;
}

/** Receives `count` messages and completes them (tests must not leave locked messages behind). */
export async function receiveAndComplete(
  receiver: ServiceBusReceiver,
  count: number,
  timeoutMs = 10_000,
): Promise<ServiceBusReceivedMessage[]> {
  const msgs = await receiveCount(receiver, count, timeoutMs);
  for (const m of msgs) await receiver.completeMessage(m);
  return msgs;
}

/**
 * Empties a queue (and its dead-letter queue) so a test starts from nothing, even on a shared
 * target that earlier runs left messages in.
 */
export async function purge(client: ServiceBusClient, queue: string): Promise<void> {
  for (const subQueueType of [undefined, 'deadLetter'] as const) {
    const receiver = client.createReceiver(queue, {
      receiveMode: 'receiveAndDelete',
      ...(subQueueType ? { subQueueType } : {}),
    });
    try {
      if ((await receiver.peekMessages(1)).length === 0) continue;
      for (;;) {
        const batch = await receiver.receiveMessages(100, { maxWaitTimeInMs: 300 });
        if (batch.length === 0) break;
      }
    } finally {
      await receiver.close();
    }
  }
}

export function errorCode(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

/**
 * The hooks every conformance file needs: one target for the file (started before, stopped
 * after), the named queues emptied before each test, and every client closed after it.
 */
export function useConformanceTarget(...queues: string[]): { pool: ClientPool } {
  let target: ConformanceTarget | undefined;
  const pool = new ClientPool(() => target!);
  beforeAll(async () => {
    target = await startTarget();
  }, TARGET_START_TIMEOUT_MS);
  afterAll(async () => {
    await target?.stop();
  });
  beforeEach(async () => {
    for (const queue of queues) await purge(pool.client(), queue);
  });
  afterEach(async () => {
    await pool.closeAll();
  });
  return { pool };
}
