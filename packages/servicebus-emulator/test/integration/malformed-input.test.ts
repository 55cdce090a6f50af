import { createRequire } from 'node:module';
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ServiceBusClient } from '@azure/service-bus';
import rhea from 'rhea';
import type { Connection, EventContext, Message, Receiver, Sender } from 'rhea';

import { startServiceBusEmulator } from '../../src/index.js';
import type { ServiceBusEmulator } from '../../src/index.js';
import { createSasToken } from '../../src/sas.js';

/**
 * Bad input never takes the emulator down: each case below sends something broken over a raw
 * socket or a raw rhea client (the SDK never sends these), checks the AMQP error that closes the
 * link or connection, and every test ends by proving the emulator still serves the real SDK.
 */

// rhea's frame codec, to hand-craft frames (not part of its public surface)
const require = createRequire(import.meta.url);
const frames = require('rhea/lib/frames.js') as {
  open(fields: Record<string, unknown>): unknown;
  begin(fields: Record<string, unknown>): unknown;
  amqp_frame(channel: number, performative: unknown, payload?: Buffer): unknown;
  write_frame(frame: unknown): Buffer;
};

const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x00, 0x01, 0x00, 0x00]);
const QUEUE = 'challenges';

let emulator: ServiceBusEmulator;
let audienceBase: string;
const warnings: string[] = [];

beforeAll(async () => {
  emulator = await startServiceBusEmulator({
    logger: {
      info: () => undefined,
      warn: (...a) => warnings.push(a.join(' ')),
      error: () => undefined,
    },
  });
  audienceBase = `sb://localhost:${emulator.port}/`;
});
afterAll(async () => {
  await emulator.stop();
});

/** The real SDK still works: send one message and get it back. */
async function emulatorStillServes(): Promise<void> {
  const client = new ServiceBusClient(emulator.connectionString);
  try {
    const id = `alive-${Date.now()}-${Math.random()}`;
    await client.createSender(QUEUE).sendMessages({ body: 'alive', messageId: id });
    const receiver = client.createReceiver(QUEUE, { receiveMode: 'receiveAndDelete' });
    const [msg] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    expect(msg?.messageId).toBe(id);
  } finally {
    await client.close();
  }
}

// ---- raw socket ----------------------------------------------------------------------------

interface RawResult {
  received: Buffer;
  closed: boolean;
}

/** Writes `chunks` (one after another) and collects what comes back until the socket closes. */
function rawExchange(chunks: Buffer[], timeoutMs = 3_000): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket: Socket = tcpConnect(emulator.port, '127.0.0.1');
    const received: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(received), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (d) => received.push(d));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

function frame(channel: number, performative: unknown): Buffer {
  return frames.write_frame(frames.amqp_frame(channel, performative));
}

/** A frame whose body is `body` (size, doff 2, type AMQP, channel 0). */
function rawFrame(body: Buffer, channel = 0): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head[4] = 2;
  head[5] = 0;
  head.writeUInt16BE(channel, 6);
  return Buffer.concat([head, body]);
}

const OPEN = (): Buffer => frame(0, frames.open({ container_id: 'raw-test' }));

describe('malformed input on a raw socket', () => {
  afterEach(async () => {
    await emulatorStillServes();
  });

  it('closes a connection that does not speak AMQP', async () => {
    const result = await rawExchange([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
    expect(result.closed).toBe(true);
  });

  it('closes a connection asking for an unsupported AMQP version', async () => {
    const result = await rawExchange([
      Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x00, 0x00, 0x09, 0x01]),
    ]);
    expect(result.closed).toBe(true);
  });

  it('answers an undecodable frame with close(amqp:decode-error)', async () => {
    // a performative with a descriptor that is not an AMQP type code
    const garbage = rawFrame(Buffer.from([0x00, 0x53, 0xff, 0x45]));
    const result = await rawExchange([AMQP_HEADER, OPEN(), garbage]);
    expect(result.closed).toBe(true);
    expect(result.received.toString('latin1')).toContain('amqp:decode-error');
  });

  it('answers a frame with a truncated body with close(amqp:decode-error)', async () => {
    const truncated = rawFrame(Buffer.from([0x00, 0x53, 0x10, 0xd0, 0x00, 0x00, 0xff, 0xff]));
    const result = await rawExchange([AMQP_HEADER, OPEN(), truncated]);
    expect(result.closed).toBe(true);
    expect(result.received.toString('latin1')).toMatch(/amqp:(decode|internal)-error/);
  });

  it('closes the connection on a frame for a session that does not exist', async () => {
    // end on channel 7, which was never begun
    const end = rawFrame(Buffer.from([0x00, 0x53, 0x17, 0x45]), 7);
    const result = await rawExchange([AMQP_HEADER, OPEN(), end]);
    expect(result.closed).toBe(true);
    expect(result.received.toString('latin1')).toMatch(/amqp:(decode|internal)-error/);
  });

  it('survives a client that disconnects mid-frame', async () => {
    const begin = frame(
      0,
      frames.begin({ next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100 }),
    );
    const result = await rawExchange([AMQP_HEADER, OPEN(), begin.subarray(0, 5)], 500);
    expect(result.closed).toBe(false); // the server waits for the rest; the client gives up
  });
});

// ---- raw rhea client ------------------------------------------------------------------------

interface Raw {
  connection: Connection;
  closed: Promise<{ condition?: string; description?: string }>;
}

function rawConnection(): Promise<Raw> {
  const container = rhea.create_container({ id: 'raw-rhea' });
  container.on('error', () => undefined);
  const connection = container.connect({
    host: '127.0.0.1',
    port: emulator.port,
    reconnect: false,
    username: 'RootManageSharedAccessKey',
  } as never);
  const closed = new Promise<{ condition?: string; description?: string }>((resolve) => {
    const onClose = (ctx: EventContext): void => {
      const e = ctx.connection.error as { condition?: string; description?: string } | undefined;
      resolve({ condition: e?.condition, description: e?.description });
    };
    connection.on('connection_close', onClose);
    connection.on('connection_error', onClose);
    connection.on('disconnected', (ctx: EventContext) => onClose(ctx));
  });
  return new Promise((resolve) =>
    connection.once('connection_open', () => resolve({ connection, closed })),
  );
}

interface LinkOutcome {
  condition?: string;
  description?: string;
}

/** Waits for a link to be refused or closed with an error. */
function linkError(link: Sender | Receiver): Promise<LinkOutcome> {
  return new Promise((resolve) => {
    const handler = (ctx: EventContext): void => {
      const l = (ctx.sender ?? ctx.receiver) as Sender | Receiver;
      const e = l.error as LinkOutcome | undefined;
      resolve({ condition: e?.condition, description: e?.description });
    };
    link.on(link.is_sender() ? 'sender_error' : 'receiver_error', handler);
    link.on(link.is_sender() ? 'sender_close' : 'receiver_close', handler);
  });
}

function opened(link: Sender | Receiver): Promise<void> {
  return new Promise((resolve) =>
    link.once(link.is_sender() ? 'sendable' : 'receiver_open', () => resolve()),
  );
}

/** A request/response pair on `address` ($cbs or <entity>/$management). */
async function requestLinks(
  raw: Raw,
  address: string,
): Promise<{ sender: Sender; request(message: Message): Promise<Message> }> {
  const replyTo = `reply-${Math.random().toString(36).slice(2)}`;
  const receiver = raw.connection.open_receiver({
    source: { address },
    target: { address: replyTo },
    name: replyTo,
    credit_window: 100,
  });
  const sender = raw.connection.open_sender({ target: { address } });
  await opened(sender);
  const pending = new Map<string, (m: Message) => void>();
  receiver.on('message', (ctx: EventContext) => {
    const m = ctx.message as Message;
    pending.get(String(m.correlation_id))?.(m);
  });
  let n = 0;
  return {
    sender,
    request: (message) =>
      new Promise((resolve) => {
        const id = `req-${++n}`;
        pending.set(id, resolve);
        sender.send({ ...message, message_id: id, reply_to: replyTo });
      }),
  };
}

async function authorize(raw: Raw, entity: string): Promise<void> {
  const cbs = await requestLinks(raw, '$cbs');
  const audience = `${audienceBase}${entity}`;
  const token = createSasToken(
    audience,
    'RootManageSharedAccessKey',
    'SAS_KEY_VALUE',
    Math.floor(Date.now() / 1000) + 600,
  );
  const reply = await cbs.request({
    body: token,
    application_properties: {
      operation: 'put-token',
      name: audience,
      type: 'servicebus.windows.net:sastoken',
    },
  });
  expect(reply.application_properties?.['status-code']).toBe(200);
}

describe('malformed input from a raw AMQP client', () => {
  let raw: Raw;
  beforeAll(async () => {
    raw = await rawConnection();
  });
  afterAll(() => {
    raw.connection.close();
  });
  afterEach(async () => {
    await emulatorStillServes();
  });

  it('refuses a link to an unknown entity with amqp:not-found and the wording the SDK maps', async () => {
    const outcome = await linkError(raw.connection.open_sender({ target: { address: 'nowhere' } }));
    expect(outcome.condition).toBe('amqp:not-found');
    expect(outcome.description).toMatch(/The messaging entity .* could not be found/);
  });

  it('refuses a link without a put-token first with amqp:unauthorized-access', async () => {
    const fresh = await rawConnection();
    const outcome = await linkError(fresh.connection.open_receiver({ source: { address: QUEUE } }));
    expect(outcome.condition).toBe('amqp:unauthorized-access');
    fresh.connection.close();
  });

  it('answers bad put-token requests with 401 and 400', async () => {
    const cbs = await requestLinks(raw, '$cbs');
    const bad = await cbs.request({
      body: 'SharedAccessSignature sr=x&sig=y&se=1&skn=z',
      application_properties: {
        operation: 'put-token',
        name: `${audienceBase}${QUEUE}`,
        type: 'servicebus.windows.net:sastoken',
      },
    });
    expect(bad.application_properties?.['status-code']).toBe(401);
    const noName = await cbs.request({
      body: 'x',
      application_properties: { operation: 'put-token' },
    });
    expect(noName.application_properties?.['status-code']).toBe(400);
    const wrongOp = await cbs.request({
      body: 'x',
      application_properties: { operation: 'delete-token' },
    });
    expect(wrongOp.application_properties?.['status-code']).toBe(400);
  });

  it('answers an unknown $management operation with an error and closes that link only', async () => {
    await authorize(raw, `${QUEUE}/$management`);
    const mgmt = await requestLinks(raw, `${QUEUE}/$management`);
    const closed = linkError(mgmt.sender);
    const reply = await mgmt.request({
      body: {},
      application_properties: { operation: 'com.microsoft:explode' },
    });
    expect(reply.application_properties?.statusCode).toBe(400);
    expect(reply.application_properties?.errorCondition).toBe('amqp:not-implemented');
    expect((await closed).condition).toBe('amqp:not-implemented');

    // the connection and a fresh link still work
    const again = await requestLinks(raw, `${QUEUE}/$management`);
    const peek = await again.request({
      body: {
        'from-sequence-number': rhea.types.wrap_long(1_000_000),
        'message-count': rhea.types.wrap_int(1),
      },
      application_properties: { operation: 'com.microsoft:peek-message' },
    });
    expect(peek.application_properties?.statusCode).toBe(204);
  });

  it('answers a $management request with a malformed body with 400, keeping the link', async () => {
    await authorize(raw, `${QUEUE}/$management`);
    const mgmt = await requestLinks(raw, `${QUEUE}/$management`);
    const notAMap = await mgmt.request({
      body: 'hello',
      application_properties: { operation: 'com.microsoft:renew-lock' },
    });
    expect(notAMap.application_properties?.statusCode).toBe(400);
    expect(notAMap.application_properties?.errorCondition).toBe('amqp:invalid-field');
    const badTokens = await mgmt.request({
      body: { 'lock-tokens': ['not-a-uuid'] },
      application_properties: { operation: 'com.microsoft:renew-lock' },
    });
    expect(badTokens.application_properties?.statusCode).toBe(400);
    const badDisposition = await mgmt.request({
      body: {
        'lock-tokens': rhea.types.wrap_array([Buffer.alloc(16)], 0x98, undefined),
        'disposition-status': 'exploded',
      },
      application_properties: { operation: 'com.microsoft:update-disposition' },
    });
    expect(badDisposition.application_properties?.statusCode).toBe(410); // unknown lock first
    expect(mgmt.sender.is_open()).toBe(true);
  });

  it('rejects an undecodable batch and an unknown message format, keeping the sender link', async () => {
    await authorize(raw, QUEUE);
    const sender = raw.connection.open_sender({ target: { address: QUEUE } });
    await opened(sender);
    const outcome = (
      payload: Buffer,
      format: number,
    ): Promise<{ state: string; condition?: string }> =>
      new Promise((resolve) => {
        const delivery = sender.send(payload, undefined, format);
        const onState = (ctx: EventContext): void => {
          if (ctx.delivery !== delivery) return;
          const error = (
            ctx.delivery?.remote_state as { error?: { condition?: string } } | undefined
          )?.error;
          resolve({
            state: ctx.delivery?.remote_state?.constructor?.name ?? '?',
            condition: error?.condition,
          });
        };
        sender.on('accepted', onState);
        sender.on('rejected', onState);
      });
    const batch = await outcome(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0x80013700);
    expect(batch.condition).toBe('amqp:decode-error');
    const unknown = await outcome(rhea.message.encode({ body: 'x' }), 0x1234);
    expect(unknown.condition).toBe('amqp:not-implemented');
    const good = await outcome(rhea.message.encode({ body: 'fine', message_id: 'raw-ok' }), 0);
    expect(good.condition).toBeUndefined();
    expect(sender.is_open()).toBe(true);
    // take the accepted message out again
    const client = new ServiceBusClient(emulator.connectionString);
    const [msg] = await client
      .createReceiver(QUEUE, { receiveMode: 'receiveAndDelete' })
      .receiveMessages(1, { maxWaitTimeInMs: 3_000 });
    expect(msg?.messageId).toBe('raw-ok');
    await client.close();
  });

  it('closes the connection with amqp:decode-error on an undecodable single message', async () => {
    const own = await rawConnection();
    await authorize(own, QUEUE);
    const sender = own.connection.open_sender({ target: { address: QUEUE } });
    await opened(sender);
    sender.send(Buffer.from([0x00, 0x53, 0x75, 0xb0, 0xff, 0xff, 0xff, 0xff]), undefined, 0);
    const closed = await own.closed;
    expect(closed.condition).toBe('amqp:decode-error');
  });

  it('refuses session receivers and sends to a dead-letter queue', async () => {
    await authorize(raw, QUEUE);
    const session = await linkError(
      raw.connection.open_receiver({
        source: { address: QUEUE, filter: { 'com.microsoft:session-filter': 'abc' } },
      }),
    );
    expect(session.condition).toBe('amqp:not-implemented');
    const dlq = await linkError(
      raw.connection.open_sender({ target: { address: `${QUEUE}/$DeadLetterQueue` } }),
    );
    expect(dlq.condition).toBe('amqp:not-allowed');
  });
});
