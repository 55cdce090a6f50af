/**
 * A Service Bus message ID as text: the one function the worker, `podbus dlq` and the logs use,
 * so a message is called the same everywhere, and its pod name and `podbus.io/message-id`
 * annotation are derived from the same text on every replica.
 *
 * AMQP 1.0 (§3.2.4) allows a message-id to be a string, a ulong, a uuid or binary. What
 * `ServiceBusReceivedMessage.messageId` holds for each, with @azure/service-bus 7.9.5 on
 * rhea 3.0.5 (rhea/lib/types.js decodes them):
 * - string: the string;
 * - ulong: a number, or an 8-byte Buffer when it does not fit in 2^53 (`read_ulong`);
 * - uuid: a 16-byte Buffer (no dashes: rhea does not mark it as a uuid);
 * - binary: a Buffer.
 * Bytes become lowercase hex, two digits per byte: a one-to-one mapping, so two different
 * binary IDs never share a text (and so never a pod name). `String(buffer)` would decode them
 * as UTF-8, turning every invalid byte into U+FFFD: distinct IDs would collide.
 * A uuid and a 16-byte binary ID with the same bytes are the same text, as are a large ulong and
 * an 8-byte binary ID: rhea hands them over identically.
 */
export type ServiceBusMessageId = string | number | bigint | Uint8Array | null | undefined;

/** The ID as text; '' when the message has none (the parser dead-letters that). */
export function messageIdText(id: ServiceBusMessageId): string {
  if (id === undefined || id === null) return '';
  if (id instanceof Uint8Array)
    return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
  return String(id);
}
