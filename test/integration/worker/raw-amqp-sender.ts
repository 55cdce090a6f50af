import { createHmac } from 'node:crypto';

import type { ServiceBusEmulator } from '@podbus/servicebus-emulator';
import rhea from 'rhea';
import type { Connection, EventContext, Message, Sender } from 'rhea';

/**
 * A sender that speaks raw AMQP 1.0 (rhea) to the Service Bus emulator, for what the SDK cannot
 * send: binary message IDs, several data sections, hand-encoded bodies. Every message goes in a
 * batch envelope (message format 0x80013700, as `sendMessages([...])` sends), whose parts the
 * emulator stores byte for byte: a format-0 transfer would be decoded and re-encoded by rhea on
 * the way in, which changes what the test means to send (a binary message ID comes back out as
 * a zero-padded uuid, a hostile body never arrives).
 */
export interface RawSender {
  /** Sends one message given as rhea fields (message_id, body, ...). */
  send(message: Message): Promise<void>;
  /** Sends one already encoded AMQP message (its sections, as bytes). */
  sendEncoded(encoded: Buffer): Promise<void>;
  close(): void;
}

const BATCH_FORMAT = 0x80013700;

export async function openRawSender(sb: ServiceBusEmulator, queue: string): Promise<RawSender> {
  const members = new Map(
    sb.connectionString.split(';').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at), part.slice(at + 1)] as const;
    }),
  );
  const keyName = members.get('SharedAccessKeyName')!;
  const key = members.get('SharedAccessKey')!;
  const container = rhea.create_container({ id: `raw-sender-${Math.random()}` });
  container.on('error', () => undefined);
  const connection: Connection = container.connect({
    host: '127.0.0.1',
    port: sb.port,
    reconnect: false,
    username: keyName,
  } as never);
  await new Promise((resolve) => connection.once('connection_open', resolve));
  await putToken(connection, `sb://localhost:${sb.port}/${queue}`, keyName, key);
  const sender = connection.open_sender({ target: { address: queue } });
  await new Promise((resolve) => sender.once('sendable', resolve));

  const sendEncoded = (encoded: Buffer): Promise<void> => {
    const envelope = rhea.message.encode({ body: rhea.message.data_sections([encoded]) });
    return transfer(sender, envelope);
  };
  return {
    send: (message) => sendEncoded(rhea.message.encode(message)),
    sendEncoded,
    close: () => connection.close(),
  };
}

function transfer(sender: Sender, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const delivery = sender.send(payload, undefined, BATCH_FORMAT);
    const onAccepted = (ctx: EventContext) => {
      if (ctx.delivery !== delivery) return;
      done();
      resolve();
    };
    const onRejected = (ctx: EventContext) => {
      if (ctx.delivery !== delivery) return;
      done();
      const error = (ctx.delivery.remote_state as { error?: { description?: string } }).error;
      reject(new Error(`the emulator rejected the message: ${error?.description ?? '?'}`));
    };
    const done = () => {
      sender.removeListener('accepted', onAccepted);
      sender.removeListener('rejected', onRejected);
    };
    sender.on('accepted', onAccepted);
    sender.on('rejected', onRejected);
  });
}

/** CBS authorization for one entity, as the SDK does it before attaching a link. */
async function putToken(
  connection: Connection,
  audience: string,
  keyName: string,
  key: string,
): Promise<void> {
  const replyTo = `cbs-reply-${Math.random().toString(36).slice(2)}`;
  const receiver = connection.open_receiver({
    source: { address: '$cbs' },
    target: { address: replyTo },
    name: replyTo,
  });
  const sender = connection.open_sender({ target: { address: '$cbs' } });
  await new Promise((resolve) => sender.once('sendable', resolve));
  const reply = new Promise<Message>((resolve) =>
    receiver.once('message', (ctx: EventContext) => resolve(ctx.message as Message)),
  );
  sender.send({
    message_id: 'put-token-1',
    reply_to: replyTo,
    body: sasToken(audience, keyName, key, Math.floor(Date.now() / 1000) + 600),
    application_properties: {
      operation: 'put-token',
      name: audience,
      type: 'servicebus.windows.net:sastoken',
    },
  });
  const status = (await reply).application_properties?.['status-code'];
  if (status !== 200) throw new Error(`put-token answered ${String(status)}`);
  sender.close();
  receiver.close();
}

/**
 * A Service Bus SAS token, as the service documents it: HMAC-SHA256 with the key over
 * `<URL-encoded audience>\n<expiry>`, in `SharedAccessSignature sr=&sig=&se=&skn=`.
 */
function sasToken(audience: string, keyName: string, key: string, expiresAt: number): string {
  const sr = encodeURIComponent(audience);
  const sig = createHmac('sha256', key).update(`${sr}\n${expiresAt}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${expiresAt}&skn=${encodeURIComponent(keyName)}`;
}
