import { createRequire } from 'node:module';
import { connect as tcpConnect } from 'node:net';
import type { Socket } from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ServiceBusClient } from '@azure/service-bus';
import rhea from 'rhea';
import type { Connection, Delivery, EventContext, Message, Receiver, Sender } from 'rhea';

import { startServiceBusEmulator } from '../../src/index.js';
import type { ServiceBusEmulator } from '../../src/index.js';
import { scanSections } from '../../src/amqp-scan.js';
import { keepTransfersUndecoded } from '../../src/raw-transfers.js';
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
): Promise<{
  sender: Sender;
  request(message: Message): Promise<Message>;
  /** Sends the bytes `encode(messageId, replyTo)` returns as the request. */
  requestRaw(encode: (messageId: string, replyTo: string) => Buffer): Promise<Message>;
}> {
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
    requestRaw: (encode) =>
      new Promise((resolve) => {
        const id = `req-${++n}`;
        pending.set(id, resolve);
        sender.send(encode(id, replyTo), undefined, 0);
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

  it('rejects an undecodable single message with amqp:decode-error, keeping the connection', async () => {
    const own = await rawConnection();
    await authorize(own, QUEUE);
    const sender = own.connection.open_sender({ target: { address: QUEUE } });
    await opened(sender);
    const rejected = new Promise<string | undefined>((resolve) =>
      sender.on('rejected', (ctx: EventContext) =>
        resolve(
          (ctx.delivery?.remote_state as { error?: { condition?: string } } | undefined)?.error
            ?.condition,
        ),
      ),
    );
    sender.send(Buffer.from([0x00, 0x53, 0x75, 0xb0, 0xff, 0xff, 0xff, 0xff]), undefined, 0);
    expect(await rejected).toBe('amqp:decode-error');
    expect(sender.is_open()).toBe(true);
    expect(own.connection.is_open()).toBe(true);
    own.connection.close();
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

// ---- hostile but well-formed bodies -----------------------------------------------------------

/** A list nested `depth` levels deep around a null (9 bytes a level, no recursion to build). */
function nestedList(depth: number): Buffer {
  let inner = Buffer.from([0x40]);
  for (let i = 0; i < depth; i++) {
    const head = Buffer.alloc(9);
    head[0] = 0xd0;
    head.writeUInt32BE(inner.length + 4, 1);
    head.writeUInt32BE(1, 5);
    inner = Buffer.concat([head, inner]);
  }
  return inner;
}

function section(code: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0x53, code]), value]);
}

/** A data section written with a 4-byte length (rhea itself would write 1 for short data). */
function data32(content: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0xb0;
  head.writeUInt32BE(content.length, 1);
  return section(0x75, Buffer.concat([head, content]));
}

/** The properties section (and application properties) of an ordinary message. */
function head(fields: Record<string, unknown>): Buffer {
  const encoded = rhea.message.encode({ ...fields, body: null });
  const spans = scanSections(encoded);
  const start = (spans.find((s) => s.code === 0x73) as { start: number }).start;
  return encoded.subarray(start, (spans.find((s) => s.code === 0x77) as { start: number }).start);
}

/** The bare message (properties onwards) of a delivery as the emulator sent it. */
function bareOf(delivered: Buffer): Buffer {
  const first = scanSections(delivered).find((s) => s.code >= 0x73) as { start: number };
  return delivered.subarray(first.start);
}

/** A raw receiver whose connection hands over deliveries as the bytes that arrived. */
async function rawReceive(
  address: string,
  mode: 'receiveAndDelete' | 'peekLock',
): Promise<{ raw: Raw; next(): Promise<{ bytes: Buffer; delivery: Delivery }> }> {
  const raw = await rawConnection();
  await authorize(raw, address);
  keepTransfersUndecoded(raw.connection); // after the $cbs reply, which the helper decodes
  const receiver = raw.connection.open_receiver({
    source: { address },
    credit_window: 0,
    autoaccept: false,
    rcv_settle_mode: mode === 'peekLock' ? 1 : 0,
  } as never);
  const queue: { bytes: Buffer; delivery: Delivery }[] = [];
  const waiting: ((m: { bytes: Buffer; delivery: Delivery }) => void)[] = [];
  receiver.on('message', (ctx: EventContext) => {
    const m = { bytes: ctx.message as unknown as Buffer, delivery: ctx.delivery as Delivery };
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  await new Promise((r) => receiver.once('receiver_open', r));
  return {
    raw,
    next: () => {
      receiver.add_credit(1);
      const ready = queue.shift();
      return ready ? Promise.resolve(ready) : new Promise((r) => waiting.push(r));
    },
  };
}

async function rawSend(
  raw: Raw,
  bytes: Buffer,
): Promise<{ state: string; condition?: string; description?: string }> {
  const sender = raw.connection.open_sender({ target: { address: QUEUE } });
  await opened(sender);
  return new Promise((resolve) => {
    const delivery = sender.send(bytes, undefined, 0);
    const onState = (ctx: EventContext): void => {
      if (ctx.delivery !== delivery) return;
      const error = (
        ctx.delivery?.remote_state as { error?: { condition?: string; description?: string } }
      )?.error;
      resolve({
        state: ctx.delivery?.remote_state?.constructor?.name ?? '?',
        condition: error?.condition,
        description: error?.description,
      });
    };
    sender.on('accepted', onState);
    sender.on('rejected', onState);
  });
}

describe('hostile bodies are stored and delivered verbatim', () => {
  let raw: Raw;
  beforeAll(async () => {
    raw = await rawConnection();
    await authorize(raw, QUEUE);
  });
  afterAll(() => {
    raw.connection.close();
  });
  afterEach(async () => {
    await emulatorStillServes();
  });

  it('keeps several data sections byte for byte', async () => {
    const bare = Buffer.concat([
      head({ message_id: 'multi-data' }),
      data32(Buffer.from('{"a":')),
      data32(Buffer.from('1}')),
      data32(Buffer.alloc(0)),
    ]);
    expect((await rawSend(raw, bare)).condition).toBeUndefined();
    const receiver = await rawReceive(QUEUE, 'receiveAndDelete');
    const { bytes } = await receiver.next();
    expect(bareOf(bytes).toString('hex')).toBe(bare.toString('hex'));
    receiver.raw.connection.close();
  });

  it('keeps an amqp-value nested 20,000 levels deep, through delivery and dead-lettering', async () => {
    const bare = Buffer.concat([
      head({ message_id: 'deep-value' }),
      section(0x77, nestedList(20_000)),
    ]);
    const sent = await rawSend(raw, bare);
    expect(sent.condition).toBeUndefined();

    const receiver = await rawReceive(QUEUE, 'peekLock');
    const { bytes, delivery } = await receiver.next();
    expect(bareOf(bytes).equals(bare)).toBe(true);
    delivery.reject({
      condition: 'com.microsoft:dead-letter',
      info: { DeadLetterReason: 'TooDeep', DeadLetterErrorDescription: 'nested' },
    } as never);
    await eventually(() => emulator.inspect(QUEUE).deadLettered === 1);
    expect(emulator.deadLetters(QUEUE)).toEqual([
      expect.objectContaining({ messageId: 'deep-value', reason: 'TooDeep' }),
    ]);

    const dlq = await rawReceive(`${QUEUE}/$DeadLetterQueue`, 'receiveAndDelete');
    const dead = bareOf((await dlq.next()).bytes);
    expect(
      dead.subarray(dead.length - bare.length + head({ message_id: 'deep-value' }).length),
    ).toEqual(section(0x77, nestedList(20_000)));
    receiver.raw.connection.close();
    dlq.raw.connection.close();
  });

  it('dead-letters a message whose application properties nest deeply, copying them as they are', async () => {
    const deepProperty = Buffer.concat([
      Buffer.from([0xa1, 4]),
      Buffer.from('deep'),
      nestedList(20_000),
    ]);
    const props = Buffer.alloc(9);
    props[0] = 0xd1;
    props.writeUInt32BE(deepProperty.length + 4, 1);
    props.writeUInt32BE(2, 5);
    const bare = Buffer.concat([
      head({ message_id: 'deep-props' }),
      section(0x74, Buffer.concat([props, deepProperty])),
      data32(Buffer.from('x')),
    ]);
    expect((await rawSend(raw, bare)).condition).toBeUndefined();
    const receiver = await rawReceive(QUEUE, 'peekLock');
    const { delivery } = await receiver.next();
    delivery.reject({
      condition: 'com.microsoft:dead-letter',
      info: { DeadLetterReason: 'R' },
    } as never);
    await eventually(() => emulator.inspect(QUEUE).deadLettered === 1);
    expect(emulator.deadLetterReasons(QUEUE)).toEqual({ R: 1 });
    const dlq = await rawReceive(`${QUEUE}/$DeadLetterQueue`, 'receiveAndDelete');
    const dead = bareOf((await dlq.next()).bytes);
    expect(dead.includes(deepProperty)).toBe(true);
    receiver.raw.connection.close();
    dlq.raw.connection.close();
  });

  it('rejects message annotations it would have to decode deeply, keeping the link', async () => {
    const annotations = Buffer.concat([
      Buffer.from([0xa3, 5]),
      Buffer.from('x-opt'),
      nestedList(20_000),
    ]);
    const map = Buffer.alloc(9);
    map[0] = 0xd1;
    map.writeUInt32BE(annotations.length + 4, 1);
    map.writeUInt32BE(2, 5);
    const message = Buffer.concat([
      section(0x72, Buffer.concat([map, annotations])),
      head({ message_id: 'deep-annotations' }),
      data32(Buffer.from('x')),
    ]);
    const outcome = await rawSend(raw, message);
    expect(outcome.condition).toBe('amqp:decode-error');
    expect(outcome.description).toMatch(/message annotations/);
    expect(raw.connection.is_open()).toBe(true);
    expect(emulator.inspect(QUEUE).active).toBe(0);
  });

  it('refuses a message id longer than the service allows', async () => {
    const outcome = await rawSend(
      raw,
      rhea.message.encode({ message_id: 'x'.repeat(129), body: 'b' }),
    );
    expect(outcome.condition).toBe('amqp:decode-error');
    expect(outcome.description).toBe('the message id has 129 characters; at most 128 are allowed');
  });

  it('answers a $management request nested 20,000 levels deep with 400, keeping the link', async () => {
    await authorize(raw, `${QUEUE}/$management`);
    const mgmt = await requestLinks(raw, `${QUEUE}/$management`);
    const reply = await mgmt.requestRaw((messageId, to) =>
      Buffer.concat([
        head({
          message_id: messageId,
          reply_to: to,
          application_properties: { operation: 'com.microsoft:peek-message' },
        }),
        section(0x77, nestedList(20_000)),
      ]),
    );
    expect(reply.application_properties?.statusCode).toBe(400);
    expect(reply.application_properties?.errorCondition).toBe('amqp:decode-error');
    expect(mgmt.sender.is_open()).toBe(true);
    const peek = await mgmt.request({
      body: {
        'from-sequence-number': rhea.types.wrap_long(1_000_000),
        'message-count': rhea.types.wrap_int(1),
      },
      application_properties: { operation: 'com.microsoft:peek-message' },
    });
    expect(peek.application_properties?.statusCode).toBe(204);
  });
});

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
