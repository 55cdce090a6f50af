import type { Delivery, Message } from 'rhea';

import { CONDITION, outcomes } from './amqp.js';
import type { Broker } from './broker.js';
import { MessageFormatError, parseMessage, splitBatch } from './message-codec.js';
import type { ParsedMessage } from './message-codec.js';
import type { Queue } from './queue.js';
import { isPlainMessage } from './raw-transfers.js';
import { settle } from './settle.js';

/**
 * A client's sender link to a queue (our rhea Receiver). Single messages arrive as format 0,
 * `sendMessages(array|batch)` as format 0x80013700 whose data sections are complete messages
 * (specs/servicebus-amqp.md §4). A transfer is accepted only after every message in it is stored
 * and journaled; otherwise it is rejected as a whole.
 */
export const BATCH_FORMAT = 0x80013700;
/** The standard tier's (and the official emulator's) message size limit. */
export const MAX_MESSAGE_SIZE = 256 * 1024;

export interface TransferContext {
  /** The transfer's bytes (plain messages arrive undecoded too, see raw-transfers.ts). */
  message: Message | Buffer;
  format?: number;
  delivery: Delivery;
}

export class ProducerLink {
  constructor(
    readonly queue: Queue,
    private readonly broker: Broker,
  ) {}

  onTransfer(ctx: TransferContext): void {
    const { delivery } = ctx;
    let parts: ParsedMessage[];
    try {
      const format = ctx.format;
      let raws: Buffer[];
      let size: number;
      if (isPlainMessage(format)) {
        // the bytes as sent (see raw-transfers.ts): stored and delivered verbatim
        const raw = ctx.message as Buffer;
        raws = [raw];
        size = raw.length;
      } else if (format === BATCH_FORMAT) {
        const envelope = ctx.message as Buffer;
        size = envelope.length;
        raws = size > MAX_MESSAGE_SIZE ? [] : splitBatch(envelope);
      } else {
        reject(delivery, CONDITION.notImplemented, `message format ${format} is not supported`);
        return;
      }
      if (size > MAX_MESSAGE_SIZE) {
        reject(
          delivery,
          CONDITION.messageSizeExceeded,
          `The received message (delivery-id:${(delivery as unknown as { id: number }).id}, size:${size} bytes) exceeds the limit (${MAX_MESSAGE_SIZE} bytes) currently allowed on the link.`,
        );
        return;
      }
      parts = raws.map((raw) => parseMessage(raw));
    } catch (error) {
      if (error instanceof MessageFormatError) {
        reject(delivery, CONDITION.decodeError, error.message);
        return;
      }
      throw error;
    }
    for (const part of parts) this.queue.enqueue(part);
    this.broker.commit();
    settle(delivery, outcomes.accepted());
  }
}

function reject(delivery: Delivery, condition: string, description: string): void {
  settle(delivery, outcomes.rejected(condition, description));
}
