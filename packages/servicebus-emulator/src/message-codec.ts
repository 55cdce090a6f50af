import type { Typed } from 'rhea';

import { SECTION, amqpMessage, amqpTypes, encodeTyped, propertiesSection } from './amqp.js';
import {
  HeadWriter,
  MessageFormatError,
  binaryContent,
  listElement,
  mapEntryOffsets,
  mapItemCount,
  readMessageId,
  readText,
  readUnsigned,
  scanSections,
  symbolSize,
} from './amqp-scan.js';

/**
 * Message bytes in and out. The emulator stores the *bare message* (properties, application
 * properties, body, footer) exactly as the sender encoded it and rebuilds only the header and
 * message annotations on every delivery, so a message round-trips byte-for-byte and delivery
 * costs one small encode plus a concat.
 */

export { MessageFormatError };

/** Sender annotations deeper than this are refused: they are decoded, kept and re-encoded. */
export const MAX_ANNOTATION_DEPTH = 32;
/** The service's limit on a message id (the SDK enforces it on the client side too). */
export const MAX_MESSAGE_ID_LENGTH = 128;

/**
 * rhea's decoder, for the small parts the emulator must understand; whatever it throws (a
 * stack overflow on absurd nesting included) becomes a MessageFormatError for the client.
 */
export function decodeGuarded(bytes: Buffer, what: string): ReturnType<typeof amqpMessage.decode> {
  try {
    return amqpMessage.decode(bytes);
  } catch (error) {
    throw new MessageFormatError(
      `${what} could not be decoded: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** How deeply arrays and objects nest in a decoded value (iterative: no recursion). */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null || Buffer.isBuffer(v) || v instanceof Date) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(v as object)) stack.push([child, depth + 1]);
  }
  return deepest;
}

export interface ParsedMessage {
  /** Header `ttl` in milliseconds, when the sender set one. */
  ttlMs: number | undefined;
  /** Message annotations the sender set (`x-opt-partition-key`, ...), or undefined. */
  annotations: Record<string, unknown> | undefined;
  /** `x-opt-scheduled-enqueue-time` in epoch milliseconds. */
  scheduledEnqueueTimeMs: number | undefined;
  /** The message id as text (for duplicate detection), or undefined when the sender set none. */
  messageId: string | undefined;
  /** Properties onwards, as sent. */
  bare: Buffer;
}

/** Decodes an incoming message (one encoded AMQP message, not a batch envelope). */
export function parseMessage(raw: Buffer): ParsedMessage {
  const spans = scanSections(raw);
  let ttlMs: number | undefined;
  let annotations: Record<string, unknown> | undefined;
  let messageId: string | undefined;
  let bareStart = raw.length;
  for (const span of spans) {
    if (span.code === SECTION.header) {
      const at = listElement(raw, span.value, 2);
      const ttl = at < 0 ? undefined : readUnsigned(raw, at);
      if (ttl !== undefined && ttl > 0) ttlMs = ttl;
    } else if (span.code === SECTION.messageAnnotations) {
      if (mapItemCount(raw, span.value) > 0) {
        const decoded = decodeGuarded(raw.subarray(span.start, span.end), 'message annotations')
          .message_annotations as Record<string, unknown> | undefined;
        if (decoded && nestingDepth(decoded) > MAX_ANNOTATION_DEPTH) {
          throw new MessageFormatError(
            `message annotations nest deeper than ${MAX_ANNOTATION_DEPTH} levels`,
          );
        }
        if (decoded && Object.keys(decoded).length > 0) annotations = decoded;
      }
    } else if (span.code >= SECTION.properties) {
      if (bareStart === raw.length) bareStart = span.start;
      if (span.code === SECTION.properties) {
        const at = listElement(raw, span.value, 0);
        messageId = at < 0 ? undefined : readMessageId(raw, at);
        if (messageId !== undefined && messageId.length > MAX_MESSAGE_ID_LENGTH) {
          throw new MessageFormatError(
            `the message id has ${messageId.length} characters; at most ${MAX_MESSAGE_ID_LENGTH} are allowed`,
          );
        }
      }
    }
  }
  const scheduled = annotations?.['x-opt-scheduled-enqueue-time'];
  let scheduledEnqueueTimeMs: number | undefined;
  if (scheduled instanceof Date) scheduledEnqueueTimeMs = scheduled.getTime();
  else if (typeof scheduled === 'number') scheduledEnqueueTimeMs = scheduled;
  return {
    ttlMs,
    annotations,
    scheduledEnqueueTimeMs,
    messageId,
    bare: raw.subarray(bareStart),
  };
}

/** The parts of a batch envelope (message format 0x80013700), each a complete message. */
export function splitBatch(envelope: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (const span of scanSections(envelope)) {
    if (span.code === SECTION.data) parts.push(binaryContent(envelope, span.value));
    else if (span.code >= SECTION.sequence && span.code <= SECTION.value) {
      throw new MessageFormatError('a batch must carry its messages as data sections');
    }
  }
  if (parts.length === 0) throw new MessageFormatError('the batch carries no messages');
  return parts;
}

/** Puts a message id into a bare message that has none (the service assigns one). */
export function withMessageId(bare: Buffer, messageId: string): Buffer {
  const spans = scanSections(bare);
  const props = spans.find((s) => s.code === SECTION.properties);
  if (!props)
    return Buffer.concat([encodeTyped([propertiesSection({ message_id: messageId })]), bare]);
  const decoded = decodeGuarded(bare.subarray(props.start, props.end), 'the properties section');
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(decoded)) {
    if (typeof decoded[key] !== 'function') fields[key] = decoded[key];
  }
  fields.message_id = messageId;
  return Buffer.concat([
    bare.subarray(0, props.start),
    encodeTyped([propertiesSection(fields)]),
    bare.subarray(props.end),
  ]);
}

/**
 * Merges `patch` into the application properties of a bare message. Entries it does not touch
 * are copied byte for byte (never decoded, so whatever the sender put there cannot trip the
 * decoder). Used for abandon/defer/dead-letter "properties to modify" and for
 * DeadLetterReason / DeadLetterErrorDescription.
 */
export function patchApplicationProperties(bare: Buffer, patch: Record<string, unknown>): Buffer {
  const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return bare;
  const spans = scanSections(bare);
  const existing = spans.find((s) => s.code === SECTION.applicationProperties);
  const kept: Buffer[] = [];
  let keptCount = 0;
  if (existing) {
    const offsets = mapEntryOffsets(bare, existing.value);
    const mapEnd = existing.end;
    for (let i = 0; i + 1 < offsets.length; i += 2) {
      const keyAt = offsets[i] as number;
      const key = readText(bare, keyAt);
      if (key !== undefined && patch[key] !== undefined) continue;
      const end = i + 2 < offsets.length ? (offsets[i + 2] as number) : mapEnd;
      kept.push(bare.subarray(keyAt, end));
      keptCount += 2;
    }
  }
  const added: Typed[] = [];
  for (const [k, v] of entries) added.push(amqpTypes.wrap_string(k), amqpTypes.wrap(v));
  const addedBytes = encodeTyped(added);
  const content = Buffer.concat([...kept, addedBytes]);
  const head = Buffer.allocUnsafe(3 + 9);
  head[0] = 0x00;
  head[1] = 0x53;
  head[2] = SECTION.applicationProperties;
  head[3] = 0xd1;
  head.writeUInt32BE(content.length + 4, 4);
  head.writeUInt32BE(keptCount + added.length, 8);
  const encoded = Buffer.concat([head, content]);
  if (existing) {
    return Buffer.concat([bare.subarray(0, existing.start), encoded, bare.subarray(existing.end)]);
  }
  const props = spans.find((s) => s.code === SECTION.properties);
  const at = props ? props.end : 0;
  return Buffer.concat([bare.subarray(0, at), encoded, bare.subarray(at)]);
}

/** The message id of a stored bare message as text, or undefined when it has none. */
export function bareMessageId(bare: Buffer): string | undefined {
  const props = scanSections(bare).find((s) => s.code === SECTION.properties);
  if (!props) return undefined;
  const at = listElement(bare, props.value, 0);
  return at < 0 ? undefined : readMessageId(bare, at);
}

/**
 * The string values of the named application properties of a bare message (other types and
 * missing keys are left out), read without decoding anything else.
 */
export function applicationPropertyStrings(
  bare: Buffer,
  names: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  const section = scanSections(bare).find((s) => s.code === SECTION.applicationProperties);
  if (!section) return out;
  const offsets = mapEntryOffsets(bare, section.value);
  for (let i = 0; i + 1 < offsets.length; i += 2) {
    const key = readText(bare, offsets[i] as number);
    if (key === undefined || !names.includes(key)) continue;
    const value = readText(bare, offsets[i + 1] as number);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The bare message without its body sections (peek with omit-message-body). */
export function withoutBody(bare: Buffer): Buffer {
  const spans = scanSections(bare);
  return Buffer.concat(
    spans
      .filter((s) => s.code < SECTION.data || s.code > SECTION.value)
      .map((s) => bare.subarray(s.start, s.end)),
  );
}

/** What the broker stamps on a message each time it hands it out. */
export interface DeliveryFields {
  deliveryCount: number;
  ttlMs: number | undefined;
  sequenceNumber: number;
  enqueuedTime: number;
  enqueueSequenceNumber: number;
  /** Set for locked messages (`x-opt-locked-until`). */
  lockedUntil: number | undefined;
  /** `x-opt-message-state`: 0 active, 1 deferred, 2 scheduled. */
  state: number;
  /** Annotations the sender set, echoed first (the broker's own keys win). */
  senderAnnotations: Record<string, unknown> | undefined;
}

const BROKER_KEYS = new Set([
  'x-opt-sequence-number',
  'x-opt-enqueued-time',
  'x-opt-enqueue-sequence-number',
  'x-opt-locked-until',
  'x-opt-message-state',
]);
const FIXED_ANNOTATIONS_SIZE =
  symbolSize('x-opt-sequence-number') +
  9 +
  symbolSize('x-opt-enqueued-time') +
  9 +
  symbolSize('x-opt-enqueue-sequence-number') +
  9 +
  symbolSize('x-opt-message-state') +
  5;
const LOCKED_UNTIL_SIZE = symbolSize('x-opt-locked-until') + 9;

/**
 * Header + message annotations + the stored bare message, in one buffer: what goes on the wire.
 * `writeBare` copies the `bareLength` stored bytes into the result at the given offset.
 */
export function encodeDelivery(
  fields: DeliveryFields,
  bareLength: number,
  writeBare: (target: Buffer, offset: number) => void,
): Buffer {
  let sender: Buffer | undefined;
  let senderItems = 0;
  if (fields.senderAnnotations) {
    const typed: Typed[] = [];
    for (const [k, v] of Object.entries(fields.senderAnnotations)) {
      if (BROKER_KEYS.has(k)) continue;
      typed.push(amqpTypes.wrap_symbol(k), amqpTypes.wrap(v));
    }
    if (typed.length > 0) {
      sender = encodeTyped(typed);
      senderItems = typed.length;
    }
  }
  const hasTtl = fields.ttlMs !== undefined && fields.ttlMs > 0 && fields.ttlMs <= 0xffffffff;
  // header: descriptor(3) list8(0xc0,size,count) durable priority ttl first-acquirer delivery-count
  const headerItems = 1 + 1 + (hasTtl ? 5 : 1) + 1 + 5;
  const headerSize = 3 + 3 + headerItems;
  const annotationItems =
    FIXED_ANNOTATIONS_SIZE +
    (fields.lockedUntil !== undefined ? LOCKED_UNTIL_SIZE : 0) +
    (sender?.length ?? 0);
  const annotationsSize = 3 + 9 + annotationItems;
  const out = Buffer.allocUnsafe(headerSize + annotationsSize + bareLength);
  const w = new HeadWriter(out);
  w.byte(0x00);
  w.byte(0x53);
  w.byte(SECTION.header);
  w.byte(0xc0);
  w.byte(headerItems + 1);
  w.byte(5);
  w.byte(0x40); // durable
  w.byte(0x40); // priority
  if (hasTtl) {
    w.byte(0x70);
    w.uint32(fields.ttlMs as number);
  } else {
    w.byte(0x40);
  }
  w.byte(0x40); // first-acquirer
  w.byte(0x70);
  w.uint32(fields.deliveryCount);

  w.byte(0x00);
  w.byte(0x53);
  w.byte(SECTION.messageAnnotations);
  w.byte(0xd1);
  w.uint32(annotationItems + 4);
  w.uint32(senderItems + (fields.lockedUntil !== undefined ? 10 : 8));
  if (sender) w.bytes(sender);
  w.symbol('x-opt-sequence-number');
  w.byte(0x81);
  w.uint64(fields.sequenceNumber);
  w.symbol('x-opt-enqueued-time');
  w.byte(0x83);
  w.uint64(fields.enqueuedTime);
  w.symbol('x-opt-enqueue-sequence-number');
  w.byte(0x81);
  w.uint64(fields.enqueueSequenceNumber);
  if (fields.lockedUntil !== undefined) {
    w.symbol('x-opt-locked-until');
    w.byte(0x83);
    w.uint64(fields.lockedUntil);
  }
  w.symbol('x-opt-message-state');
  w.byte(0x71);
  w.uint32(fields.state);
  writeBare(out, w.pos);
  return out;
}
