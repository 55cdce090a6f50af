import rhea from 'rhea';

import { parseMessage } from '../../src/message-codec.js';
import type { IncomingMessage } from '../../src/queue.js';

/** Encodes a message the way a client would put it on the wire. */
export function encode(fields: Record<string, unknown>): Buffer {
  return rhea.message.encode(fields);
}

/** An incoming message as the sender link would hand it to a queue. */
export function incoming(fields: Record<string, unknown>): IncomingMessage {
  return parseMessage(
    encode({
      ...fields,
      body: rhea.message.data_section(Buffer.from(JSON.stringify(fields.body ?? null))),
    }),
  );
}

/** Decodes what the emulator would put on the wire. */
export function decode(bytes: Buffer): ReturnType<typeof rhea.message.decode> {
  return rhea.message.decode(bytes);
}

export function bodyOf(bytes: Buffer): unknown {
  const msg = decode(bytes);
  const section = msg.body as { content: Buffer };
  return JSON.parse(section.content.toString('utf8'));
}

export class FakeClock {
  constructor(public now = 1_700_000_000_000) {}
  readonly fn = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}
