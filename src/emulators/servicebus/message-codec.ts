import type { Typed } from 'rhea';

import {
  SECTION,
  amqpMessage,
  amqpTypes,
  encodeTyped,
  headerSection,
  mapSectionFromItems,
  propertiesSection,
  sectionCode,
  symbolicMapSection,
} from './amqp.js';

/**
 * Message bytes in and out. The emulator stores the *bare message* (properties, application
 * properties, body, footer) exactly as the sender encoded it and rebuilds only the header and
 * message annotations on every delivery, so a message round-trips byte-for-byte and delivery
 * costs one small encode plus a concat.
 */

/** A message that cannot be decoded; the sender gets `amqp:decode-error`. */
export class MessageFormatError extends Error {
  override readonly name = 'MessageFormatError';
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

interface SectionSpan {
  code: number;
  start: number;
  end: number;
  value: Typed;
}

/** Splits an encoded message into its sections, validating order and bounds. */
export function splitSections(raw: Buffer): SectionSpan[] {
  const reader = new amqpTypes.Reader(raw);
  const spans: SectionSpan[] = [];
  let last = 0;
  while (reader.remaining() > 0) {
    const start = reader.position;
    let value: Typed;
    try {
      value = reader.read();
    } catch (error) {
      throw new MessageFormatError(
        `undecodable message section at byte ${start}: ${(error as Error).message}`,
      );
    }
    if (reader.position > raw.length) {
      throw new MessageFormatError(`message section at byte ${start} is truncated`);
    }
    const code = sectionCode(value);
    if (code === undefined) {
      throw new MessageFormatError(`byte ${start} does not start an AMQP message section`);
    }
    const ordered = code >= SECTION.data && code <= SECTION.value ? code >= last : code > last;
    if (!ordered) {
      throw new MessageFormatError(`message section 0x${code.toString(16)} is out of order`);
    }
    if (
      last >= SECTION.data &&
      last <= SECTION.value &&
      code >= SECTION.data &&
      code <= SECTION.value &&
      code !== last
    ) {
      throw new MessageFormatError('a message may carry only one kind of body section');
    }
    last = code;
    spans.push({ code, start, end: reader.position, value });
  }
  return spans;
}

/** Decodes an incoming message (one encoded AMQP message, not a batch envelope). */
export function parseMessage(raw: Buffer): ParsedMessage {
  const spans = splitSections(raw);
  let ttlMs: number | undefined;
  let annotations: Record<string, unknown> | undefined;
  let messageId: string | undefined;
  let bareStart = raw.length;
  for (const span of spans) {
    if (span.code === SECTION.header) {
      const header = amqpMessage.decode(raw.subarray(span.start, span.end));
      if (typeof header.ttl === 'number' && header.ttl > 0) ttlMs = header.ttl;
    } else if (span.code === SECTION.messageAnnotations) {
      const decoded = amqpMessage.decode(raw.subarray(span.start, span.end)).message_annotations as
        Record<string, unknown> | undefined;
      if (decoded && Object.keys(decoded).length > 0) annotations = decoded;
    } else if (span.code >= SECTION.properties) {
      if (bareStart === raw.length) bareStart = span.start;
      if (span.code === SECTION.properties) {
        const props = amqpMessage.decode(raw.subarray(span.start, span.end));
        messageId = messageIdText(props.message_id);
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
  let decoded;
  try {
    splitSections(envelope);
    decoded = amqpMessage.decode(envelope);
  } catch (error) {
    throw error instanceof MessageFormatError
      ? error
      : new MessageFormatError(`undecodable batch: ${(error as Error).message}`);
  }
  const body = decoded.body as { typecode?: number; content?: unknown; multiple?: boolean };
  if (!body || body.typecode !== SECTION.data) {
    throw new MessageFormatError('a batch must carry its messages as data sections');
  }
  const parts = body.multiple ? (body.content as unknown[]) : [body.content];
  return parts.map((p, i) => {
    if (!Buffer.isBuffer(p)) throw new MessageFormatError(`batch part ${i} is not binary`);
    return p;
  });
}

/** Text form of an AMQP message-id (string, ulong, uuid or binary). */
export function messageIdText(id: unknown): string | undefined {
  if (id === undefined || id === null) return undefined;
  if (typeof id === 'string') return id;
  if (typeof id === 'number') return String(id);
  if (Buffer.isBuffer(id)) {
    return id.length === 16 ? uuidText(id) : id.toString('hex');
  }
  return String(id);
}

function uuidText(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Puts a message id into a bare message that has none (the service assigns one). */
export function withMessageId(bare: Buffer, messageId: string): Buffer {
  const spans = splitSections(bare);
  const props = spans.find((s) => s.code === SECTION.properties);
  if (!props)
    return Buffer.concat([encodeTyped([propertiesSection({ message_id: messageId })]), bare]);
  const decoded = amqpMessage.decode(bare.subarray(props.start, props.end));
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
 * Merges `patch` into the application properties of a bare message, keeping the original AMQP
 * types of entries it does not touch. Used for abandon/defer/dead-letter "properties to
 * modify" and for DeadLetterReason / DeadLetterErrorDescription.
 */
export function patchApplicationProperties(bare: Buffer, patch: Record<string, unknown>): Buffer {
  const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return bare;
  const spans = splitSections(bare);
  const existing = spans.find((s) => s.code === SECTION.applicationProperties);
  const items: Typed[] = [];
  if (existing) {
    const pairs = (existing.value as unknown as { value: Typed[] }).value;
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const key = (pairs[i] as Typed).value as unknown;
      if (typeof key === 'string' && Object.prototype.hasOwnProperty.call(patch, key)) {
        if (patch[key] !== undefined) continue;
      }
      items.push(pairs[i] as Typed, pairs[i + 1] as Typed);
    }
  }
  for (const [k, v] of entries) items.push(amqpTypes.wrap_string(k), amqpTypes.wrap(v));
  const encoded = encodeTyped([mapSectionFromItems(SECTION.applicationProperties, items)]);
  if (existing) {
    return Buffer.concat([bare.subarray(0, existing.start), encoded, bare.subarray(existing.end)]);
  }
  const props = spans.find((s) => s.code === SECTION.properties);
  const at = props ? props.end : 0;
  return Buffer.concat([bare.subarray(0, at), encoded, bare.subarray(at)]);
}

/** The bare message without its body sections (peek with omit-message-body). */
export function withoutBody(bare: Buffer): Buffer {
  const spans = splitSections(bare);
  return Buffer.concat(
    spans
      .filter((s) => s.code < SECTION.data || s.code > SECTION.value)
      .map((s) => bare.subarray(s.start, s.end)),
  );
}

export interface DeliveryFields {
  deliveryCount: number;
  ttlMs: number | undefined;
  /** Sender annotations first, then the broker's x-opt-* values (which win). */
  annotations: Record<string, unknown>;
}

/** Header + message annotations + the stored bare message: what goes on the wire. */
export function encodeForDelivery(fields: DeliveryFields, bare: Buffer): Buffer {
  const header: Record<string, unknown> = { delivery_count: fields.deliveryCount };
  if (fields.ttlMs !== undefined && fields.ttlMs > 0 && fields.ttlMs <= 0xffffffff) {
    header.ttl = fields.ttlMs;
  }
  const head = encodeTyped([
    headerSection(header),
    symbolicMapSection(SECTION.messageAnnotations, fields.annotations),
  ]);
  return Buffer.concat([head, bare], head.length + bare.length);
}

/** Encodes an AMQP map of annotations (for the journal). */
export function encodeAnnotations(annotations: Record<string, unknown>): Buffer {
  return encodeTyped([symbolicMapSection(SECTION.messageAnnotations, annotations)]);
}

export function decodeAnnotations(encoded: Buffer): Record<string, unknown> | undefined {
  if (encoded.length === 0) return undefined;
  const decoded = amqpMessage.decode(encoded).message_annotations as
    Record<string, unknown> | undefined;
  return decoded && Object.keys(decoded).length > 0 ? decoded : undefined;
}
