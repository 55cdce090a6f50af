import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
} from '@azure/service-bus';
import fc from 'fast-check';
import rhea from 'rhea';

import { installSafeAmqpDecode } from '../../src/worker/safe-amqp-decode.js';
import { openRawSender, type RawSender } from '../integration/worker/raw-amqp-sender.js';
import {
  startServiceBusEmulatorProcess,
  type EmulatorProcess,
} from './support/emulator-process.js';
import {
  anyChallengeLike,
  DEAD_LETTER_REASONS,
  handle,
  newFleet,
  podsOf,
  validChallenge,
  type SdkMessage,
} from './support/message-path.js';

/**
 * The same property as message-path.test.ts, with the SDK in the loop: each generated message
 * is encoded by rhea exactly as a raw AMQP sender writes it (message IDs as string, ulong, uuid
 * or binary; bodies as one or several data sections, an amqp-sequence or an amqp-value;
 * application properties), goes through the Service Bus emulator (in its own process, see
 * support/emulator-process.ts), and is received by the real
 * @azure/service-bus receiver the worker uses (peekLock, skipParsingBodyAsJson, rhea's decoder
 * made safe). What the SDK hands over is then handled as the worker does.
 */
const QUEUE = 'challenges';

let emulator: EmulatorProcess;
let raw: RawSender;
let client: ServiceBusClient;
let receiver: ServiceBusReceiver;

beforeAll(async () => {
  installSafeAmqpDecode();
  emulator = await startServiceBusEmulatorProcess();
  raw = await openRawSender(emulator as never, QUEUE);
  client = new ServiceBusClient(emulator.connectionString);
  receiver = client.createReceiver(QUEUE, {
    receiveMode: 'peekLock',
    maxAutoLockRenewalDurationInMs: 0,
    skipParsingBodyAsJson: true,
  });
});
afterAll(async () => {
  raw?.close();
  await client?.close();
  await emulator?.stop();
});

const typedMessageId = fc.oneof(
  fc.string({ minLength: 1, maxLength: 100 }).map((s) => rhea.types.wrap_string(s)),
  fc.nat().map((n) => rhea.types.wrap_ulong(n)),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64BE(n);
    return rhea.types.wrap_ulong(bytes);
  }),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => rhea.types.wrap_uuid(Buffer.from(a))),
  fc.uint8Array({ maxLength: 40 }).map((a) => rhea.types.wrap_binary(Buffer.from(a))),
  fc.constant(undefined),
);

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

const bodySection = fc.oneof(
  fc.oneof(validChallenge, anyChallengeLike).map((v) => rhea.message.data_section(json(v))),
  fc.tuple(validChallenge, fc.array(fc.nat(), { minLength: 1, maxLength: 4 })).map(([v, cuts]) => {
    const bytes = json(v);
    const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const parts = [...at, bytes.length].map((end, i) => bytes.subarray(at[i - 1] ?? 0, end));
    return rhea.message.data_sections(parts);
  }),
  fc.uint8Array({ maxLength: 200 }).map((a) => rhea.message.data_section(Buffer.from(a))),
  fc
    .array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })
    .map((l) => rhea.message.sequence_section(l)),
  // amqp-value: a string, a map, a list, a number...
  fc.oneof(
    validChallenge.map((v) => JSON.stringify(v)),
    validChallenge,
    fc.jsonValue({ maxDepth: 3 }),
  ),
);

interface Wire {
  message_id?: unknown;
  content_type?: string;
  application_properties?: Record<string, unknown>;
  body: unknown;
}

const wireMessage: fc.Arbitrary<Wire> = fc
  .record({
    message_id: typedMessageId,
    content_type: fc.option(fc.constantFrom('application/json', 'text/plain')),
    application_properties: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 10 }),
      fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean()),
      { maxKeys: 3 },
    ),
    body: bodySection,
  })
  .map(({ message_id, content_type, ...rest }) => ({
    ...rest,
    ...(message_id !== undefined && { message_id }),
    ...(content_type !== null && { content_type }),
  }));

function encodable(wire: Wire): Buffer | undefined {
  try {
    return rhea.message.encode(wire as never);
  } catch {
    return undefined;
  }
}

async function receiveOne(): Promise<ServiceBusReceivedMessage> {
  const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 10_000 });
  if (!message) throw new Error('the message sent was never received');
  return message;
}

describe('fuzz: the message path through AMQP and the SDK', () => {
  it('whatever a raw AMQP sender writes, the worker ends it as exactly one pod or one dead letter', async () => {
    await fc.assert(
      fc.asyncProperty(wireMessage, async (wire) => {
        // What rhea cannot encode (say, an integral double past 2^32 in a map) is no message.
        const encoded = encodable(wire);
        fc.pre(encoded !== undefined);
        await raw.sendEncoded(encoded!);
        const received = await receiveOne();
        try {
          const fleet = newFleet();
          const outcome = await handle(received as unknown as SdkMessage, fleet);
          const pods = podsOf(fleet);
          if (outcome.action === 'complete') {
            expect(pods).toHaveLength(1);
          } else {
            expect(outcome).toMatchObject({ action: 'dead-letter' });
            if (outcome.action === 'dead-letter')
              expect(DEAD_LETTER_REASONS).toContain(outcome.reason);
            expect(pods).toEqual([]);
          }
        } finally {
          await receiver.completeMessage(received);
        }
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('a valid challenge, however a sender frames it in AMQP, becomes one pod named by its ID', async () => {
    const faithfulBody = fc.oneof(
      validChallenge.map((v) => ({ body: rhea.message.data_section(json(v)) })),
      fc.tuple(validChallenge, fc.integer({ min: 1, max: 30 })).map(([v, cut]) => {
        const bytes = json(v);
        const at = Math.min(cut, bytes.length);
        return { body: rhea.message.data_sections([bytes.subarray(0, at), bytes.subarray(at)]) };
      }),
      validChallenge.map((v) => ({ body: JSON.stringify(v) })),
      validChallenge.map((v) => ({ body: v })),
    );
    const id = fc.oneof(
      fc.uuid().map((u) => ({ typed: rhea.types.wrap_string(u), text: u })),
      fc.nat().map((n) => ({ typed: rhea.types.wrap_ulong(n), text: String(n) })),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => ({
        typed: rhea.types.wrap_uuid(Buffer.from(a)),
        text: Buffer.from(a).toString('hex'),
      })),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => ({
        typed: rhea.types.wrap_binary(Buffer.from(a)),
        text: Buffer.from(a).toString('hex'),
      })),
    );
    await fc.assert(
      fc.asyncProperty(faithfulBody, id, async (body, { typed, text }) => {
        await raw.send({ ...body, message_id: typed } as never);
        const received = await receiveOne();
        try {
          const fleet = newFleet();
          const outcome = await handle(received as unknown as SdkMessage, fleet);
          expect(outcome).toMatchObject({ action: 'complete', outcome: 'created' });
          expect(podsOf(fleet).map((p) => p.messageId)).toEqual([text]);
        } finally {
          await receiver.completeMessage(received);
        }
      }),
      { numRuns: 200 },
    );
  }, 120_000);
});
