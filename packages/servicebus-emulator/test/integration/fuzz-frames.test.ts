import { createServer, connect as tcpConnect } from 'node:net';
import type { Server, Socket } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ServiceBusClient } from '@azure/service-bus';
import type { ServiceBusReceiver } from '@azure/service-bus';
import fc from 'fast-check';

import { startServiceBusEmulator } from '../../src/index.js';
import type { ServiceBusEmulator } from '../../src/index.js';

/**
 * Property-based fuzzing of the AMQP listener over raw TCP (fast-check): random bytes, frames
 * with random bodies, and mutations (bytes flipped, inserted, cut) of what the real SDK sends
 * to send and receive a message. Whatever arrives, the emulator answers with an error or waits
 * for more, never crashes, and keeps serving: after every case a fresh connection is answered,
 * and an SDK receiver connected before the first case still receives at the end.
 */

const QUEUE = 'challenges';
const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x00, 0x01, 0x00, 0x00]);
const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x03, 0x01, 0x00, 0x00]);

let emulator: ServiceBusEmulator;
/**
 * What the SDK wrote to the emulator to send one message and receive it, byte for byte, in the
 * writes it made (it waits for the emulator's answers in between: SASL, then AMQP).
 */
let transcript: Buffer[];
let bystander: ServiceBusClient;
let bystanderReceiver: ServiceBusReceiver;

beforeAll(async () => {
  emulator = await startServiceBusEmulator({});
  transcript = await recordSdkSession();
  bystander = new ServiceBusClient(emulator.connectionString);
  bystanderReceiver = bystander.createReceiver(QUEUE, { receiveMode: 'receiveAndDelete' });
  // Drain what recording left, so the bystander's check at the end sees only its own message.
  await bystanderReceiver.receiveMessages(100, { maxWaitTimeInMs: 500 });
});
afterAll(async () => {
  await bystander?.close();
  await emulator?.stop();
});

/** A TCP proxy in front of the emulator that keeps what the client sent. */
async function recordSdkSession(): Promise<Buffer[]> {
  const sent: Buffer[] = [];
  const proxy: Server = createServer((client: Socket) => {
    const upstream = tcpConnect(emulator.port, '127.0.0.1');
    client.on('data', (d: Buffer) => {
      sent.push(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as { port: number }).port;
  const client = new ServiceBusClient(
    emulator.connectionString.replace(/localhost:\d+/, `localhost:${port}`),
  );
  try {
    await client.createSender(QUEUE).sendMessages({ body: { hello: 'fuzz' }, messageId: 'rec-1' });
    const receiver = client.createReceiver(QUEUE);
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    if (message) await receiver.completeMessage(message);
  } finally {
    await client.close();
    await new Promise((resolve) => proxy.close(resolve));
  }
  return sent;
}

interface Exchange {
  received: Buffer;
  /** The emulator closed the connection (as opposed to waiting for more bytes). */
  closed: boolean;
}

/**
 * Writes the chunks one after another, 5 ms apart (a client takes turns with the server: rhea
 * reads nothing pipelined after a SASL init until more bytes come), and collects the answer
 * until the connection closes, `enough` says so, or `quietMs` pass without a byte.
 */
function exchange(
  chunks: readonly Buffer[],
  options: { quietMs?: number; enough?: (received: Buffer) => boolean } = {},
): Promise<Exchange> {
  const quietMs = options.quietMs ?? 200;
  return new Promise((resolve) => {
    const socket = tcpConnect(emulator.port, '127.0.0.1');
    const received: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(received), closed });
    };
    const quiet = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), quietMs);
    };
    socket.on('data', (d: Buffer) => {
      received.push(d);
      if (options.enough?.(Buffer.concat(received))) finish(false);
      else quiet();
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (done) return;
        socket.write(chunk);
        await new Promise((r) => setTimeout(r, 5));
      }
      if (!done) quiet();
    });
  });
}

/** A fresh connection is still answered: the emulator is alive and listening. */
async function stillAnswers(): Promise<void> {
  const answer = await exchange([AMQP_HEADER], {
    quietMs: 2_000,
    enough: (received) => received.length >= 8,
  });
  expect(answer.received.subarray(0, 4).toString('latin1')).toBe('AMQP');
}

/** An AMQP frame (size, doff 2, type 0, channel) around `body`. */
function frame(body: Uint8Array, channel: number): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head[4] = 2;
  head.writeUInt16BE(channel, 6);
  return Buffer.concat([head, body]);
}

/** The recorded writes up to the AMQP open (SASL header and init, AMQP header, open). */
function openedPrefix(): Buffer[] {
  const chunks: Buffer[] = [];
  for (const chunk of transcript) {
    chunks.push(chunk);
    // The open performative: descriptor 0x00 0x53 0x10 right after an 8-byte frame header.
    if (chunk.includes(Buffer.from([0x00, 0x53, 0x10]))) return chunks;
  }
  throw new Error('the recorded session has no open frame');
}

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'cut'; at: number; length: number }
  | { kind: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    xor: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant('cut' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const m of mutations) {
    const at = m.at % (out.length + 1);
    switch (m.kind) {
      case 'flip':
        if (at < out.length) out[at] = out[at]! ^ m.xor;
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
        break;
      case 'cut':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)]);
        break;
      case 'truncate':
        out = out.subarray(0, at);
        break;
    }
  }
  return out;
}

/** The mutated bytes, cut where the SDK's own writes were cut (clipped to what is left). */
function asWrites(bytes: Buffer): Buffer[] {
  const writes: Buffer[] = [];
  let from = 0;
  for (const chunk of transcript) {
    if (from >= bytes.length) break;
    writes.push(bytes.subarray(from, from + chunk.length));
    from += chunk.length;
  }
  if (from < bytes.length) writes.push(bytes.subarray(from));
  return writes;
}

describe('fuzz: raw AMQP input', () => {
  it('recorded a real session to mutate', () => {
    expect(transcript[0]!.subarray(0, 8)).toEqual(SASL_HEADER);
    expect(Buffer.concat(transcript).length).toBeGreaterThan(500);
  });

  it('random bytes are refused (the connection is closed), never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
        const answer = await exchange([Buffer.from(bytes)]);
        // Fewer than the 8 bytes of a protocol header leave the emulator waiting for the rest.
        if (bytes.length >= 8) expect(answer.closed).toBe(true);
        await stillAnswers();
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('a frame with a random body after a good open is answered with an error close', async () => {
    const prefix = openedPrefix();
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 120 }),
        fc.integer({ min: 0, max: 3 }),
        async (body, channel) => {
          const answer = await exchange([...prefix, frame(body, channel)], { quietMs: 1_000 });
          expect(answer.closed).toBe(true);
          await stillAnswers();
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);

  it('mutations of a real SDK session: an error answer or a wait, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        await exchange(asWrites(mutate(Buffer.concat(transcript), mutations)));
        await stillAnswers();
      }),
      { numRuns: 150 },
    );
  }, 180_000);

  it('a client connected all along is still served', async () => {
    const sender = bystander.createSender(QUEUE);
    await sender.sendMessages({ body: 'after the fuzzing', messageId: 'bystander-1' });
    // Replayed sessions may have queued copies of the recorded message before it.
    const seen: unknown[] = [];
    for (let i = 0; i < 20 && !seen.includes('bystander-1'); i += 1) {
      const batch = await bystanderReceiver.receiveMessages(250, { maxWaitTimeInMs: 2_000 });
      seen.push(...batch.map((m) => m.messageId));
    }
    expect(seen).toContain('bystander-1');
  });
});
