import rhea from 'rhea';
import type { Typed } from 'rhea';

/**
 * The corner of rhea the emulator uses, in one place. rhea is CommonJS whose module object is a
 * container instance, so it is imported as a default and its helpers read off it. The
 * composite-section constructors (`header`, `properties`) exist at runtime but are missing from
 * rhea's typings, hence the narrow casts here.
 */
interface TypesRuntime {
  Reader: new (buffer: Buffer) => {
    position: number;
    read(): Typed;
    remaining(): number;
  };
  Writer: new () => { write(value: Typed): void; toBuffer(): Buffer };
  Map32(items: Typed[]): Typed;
}

export const amqpTypes = rhea.types as typeof rhea.types & TypesRuntime;
export const amqpMessage = rhea.message;

interface CompositeFactory {
  (fields: Record<string, unknown>): { described(): Typed };
}

const messageInternals = rhea.message as unknown as {
  header: CompositeFactory;
  properties: CompositeFactory;
  accepted(): { described(): Typed };
  rejected(fields: Record<string, unknown>): { described(): Typed };
  released(): { described(): Typed };
  modified(fields: Record<string, unknown>): { described(): Typed };
};

export const SECTION = {
  header: 0x70,
  deliveryAnnotations: 0x71,
  messageAnnotations: 0x72,
  properties: 0x73,
  applicationProperties: 0x74,
  data: 0x75,
  sequence: 0x76,
  value: 0x77,
  footer: 0x78,
} as const;

export function headerSection(fields: Record<string, unknown>): Typed {
  return messageInternals.header(fields).described();
}

export function propertiesSection(fields: Record<string, unknown>): Typed {
  return messageInternals.properties(fields).described();
}

export function encodeTyped(values: readonly Typed[]): Buffer {
  const writer = new amqpTypes.Writer();
  for (const v of values) writer.write(v);
  return writer.toBuffer();
}

export const outcomes = {
  accepted: (): Typed => messageInternals.accepted().described(),
  rejected: (condition: string, description: string, info?: Record<string, unknown>): Typed =>
    messageInternals
      .rejected({ error: info ? { condition, description, info } : { condition, description } })
      .described(),
  /** Settles a dead-letter request without an error (an error would fail the SDK's call). */
  rejectedWithoutError: (): Typed => messageInternals.rejected({}).described(),
  released: (): Typed => messageInternals.released().described(),
  modified: (undeliverableHere: boolean): Typed =>
    messageInternals
      .modified({ delivery_failed: false, undeliverable_here: undeliverableHere })
      .described(),
};

/** AMQP error conditions the emulator sends (specs/servicebus-amqp.md §3, §5, §7). */
export const CONDITION = {
  notFound: 'amqp:not-found',
  unauthorized: 'amqp:unauthorized-access',
  notAllowed: 'amqp:not-allowed',
  notImplemented: 'amqp:not-implemented',
  invalidField: 'amqp:invalid-field',
  decodeError: 'amqp:decode-error',
  internalError: 'amqp:internal-error',
  messageSizeExceeded: 'amqp:link:message-size-exceeded',
  lockLost: 'com.microsoft:message-lock-lost',
  messageNotFound: 'com.microsoft:message-not-found',
  deadLetter: 'com.microsoft:dead-letter',
  connectionForced: 'amqp:connection:forced',
} as const;
