import {
  isServiceBusError,
  type ServiceBusClient,
  type ServiceBusMessage,
  type ServiceBusSender,
} from '@azure/service-bus';

import { createServiceBusClient, type ServiceBusConnection } from '../azure/service-bus-client.js';

/** Where results are sent; the keeper's port to Service Bus (unit tests pass a fake). */
export interface ResultSender {
  /** Sends one message to `queue`; rejects with the SDK's error. */
  send(queue: string, message: ServiceBusMessage, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * Errors that say this queue will not take the result (it does not exist, or the worker's
 * identity may not send to it), as opposed to the broker being unreachable for now: the keeper
 * then sends to the default queue instead of retrying a queue named by a sender.
 */
export function isRefusedByQueue(error: unknown): boolean {
  return (
    isServiceBusError(error) &&
    (error.code === 'MessagingEntityNotFound' ||
      error.code === 'UnauthorizedAccess' ||
      error.code === 'MessagingEntityDisabled')
  );
}

/** Senders kept open at most; replyTo queues beyond it reopen their link when used again. */
const MAX_OPEN_SENDERS = 32;

/**
 * Sends results over a Service Bus connection of their own: the worker's receiver settles on its
 * own connection and links, so nothing a sender does can share rhea's disposition path with the
 * receiver's completes and dead-letters (worker/settle.ts explains that problem; a sender's
 * link is not a receiver's and rhea-promise opens each link in its own session).
 */
export class ServiceBusResultSender implements ResultSender {
  /**
   * Made once, on first use: with an Entra ID credential making the client is asynchronous (the
   * credential is loaded lazily), and a failure there fails each send, as an unreachable broker
   * would, and is retried by the keeper.
   */
  private client: Promise<ServiceBusClient> | undefined;
  /** Open senders by queue, least recently used first. */
  private readonly senders = new Map<string, ServiceBusSender>();

  /** The same connection as the worker's (connection string, or namespace and credential). */
  constructor(private readonly connection: ServiceBusConnection) {}

  async send(queue: string, message: ServiceBusMessage, signal: AbortSignal): Promise<void> {
    const sender = await this.senderFor(queue);
    await sender.sendMessages(message, { abortSignal: signal });
  }

  async close(): Promise<void> {
    const senders = [...this.senders.values()];
    this.senders.clear();
    await Promise.allSettled(senders.map((s) => s.close()));
    const client = await this.client?.catch(() => undefined);
    await client?.close();
  }

  private async senderFor(queue: string): Promise<ServiceBusSender> {
    const client = await this.clientOnce();
    const key = queue.toLowerCase();
    const sender = this.senders.get(key) ?? client.createSender(queue);
    // Most recently used last: re-inserting moves it there.
    this.senders.delete(key);
    if (this.senders.size >= MAX_OPEN_SENDERS) {
      const [oldest, old] = this.senders.entries().next().value!;
      this.senders.delete(oldest);
      void old.close().catch(() => undefined);
    }
    this.senders.set(key, sender);
    return sender;
  }

  private clientOnce(): Promise<ServiceBusClient> {
    this.client ??= createServiceBusClient(this.connection);
    const client = this.client;
    // A client that could not be made is made again on the next send.
    client.catch(() => {
      if (this.client === client) this.client = undefined;
    });
    return client;
  }
}
