import { UndecodableBody } from './undecodable-body.js';

/**
 * Turns a received Service Bus body into a JSON value. The worker's receiver is created with
 * `skipParsingBodyAsJson: true`, so the body arrives as:
 * - a Buffer/Uint8Array (an AMQP data section: what every current SDK sends for bytes/strings),
 * - an array of Buffers (several data sections: their bytes, in order, are the body),
 * - a string (an AMQP value section holding a string),
 * - an already structured value (an AMQP value section holding a map/list), or
 * - an UndecodableBody (the message could not be decoded safely: src/worker/safe-amqp-decode.ts).
 * Text may start with a byte-order mark: .NET's Encoding.UTF8 writes one, and Encoding.Unicode
 * writes UTF-16, so both BOMs are honoured; text without a BOM must be UTF-8.
 */
export type DecodeResult =
  | {
      readonly ok: true;
      readonly value: unknown;
      /** The JSON was a string holding the JSON object: the sender encoded it twice. */
      readonly jsonString?: true;
    }
  | {
      readonly ok: false;
      readonly reason: 'InvalidJson' | 'PolicyViolation';
      readonly description: string;
    };

export interface DecodeOptions {
  readonly maxBodyBytes: number;
  readonly contentType?: string;
  /** The body section the SDK read the body from (`_rawAmqpMessage.bodyType`), when known. */
  readonly bodyType?: 'data' | 'sequence' | 'value';
}

const MAX_ERROR_TEXT = 200;

export function decodeBody(body: unknown, options: DecodeOptions): DecodeResult {
  if (body === undefined || body === null) {
    return invalidJson('the message has no body; expected a JSON object', options);
  }
  if (body instanceof UndecodableBody) {
    return invalidJson(`the AMQP message cannot be decoded: ${body.problem}`, options);
  }
  const sections = dataSections(body, options);
  if (sections !== undefined) return decodeBody(Buffer.concat(sections), options);
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) {
    const bytes = body instanceof Uint8Array ? body : new Uint8Array(body);
    return tooLarge(bytes.byteLength, options) ?? decodeText(bytes, options);
  }
  if (typeof body === 'string') {
    return tooLarge(Buffer.byteLength(body, 'utf8'), options) ?? parseText(body, options);
  }
  return decodeStructured(body, options);
}

/**
 * A body of several AMQP data sections, which the SDK hands over as an array of their contents.
 * The AMQP spec (§3.2.6) makes the body the concatenation of the sections, in order; senders
 * that stream or chunk a payload write it that way.
 */
function dataSections(body: unknown, options: DecodeOptions): Uint8Array[] | undefined {
  if (options.bodyType !== undefined && options.bodyType !== 'data') return undefined;
  if (!Array.isArray(body) || body.length === 0) return undefined;
  return body.every((part) => part instanceof Uint8Array) ? (body as Uint8Array[]) : undefined;
}

function decodeText(bytes: Uint8Array, options: DecodeOptions): DecodeResult {
  const encoding =
    bytes[0] === 0xff && bytes[1] === 0xfe
      ? 'utf-16le'
      : bytes[0] === 0xfe && bytes[1] === 0xff
        ? 'utf-16be'
        : 'utf-8';
  let text: string;
  try {
    // TextDecoder drops the BOM of the chosen encoding (ignoreBOM defaults to false).
    text = new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    return invalidJson(`the body is not valid ${encoding.toUpperCase()} text`, options);
  }
  return parseText(text, options);
}

function parseText(text: string, options: DecodeOptions): DecodeResult {
  const json = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (json.trim() === '') return invalidJson('the body is empty; expected a JSON object', options);
  let value: unknown;
  try {
    value = JSON.parse(json) as unknown;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return invalidJson(`the body is not valid JSON: ${why.slice(0, MAX_ERROR_TEXT)}`, options);
  }
  const inner = typeof value === 'string' ? objectInJsonString(value) : undefined;
  return inner === undefined ? { ok: true, value } : { ok: true, value: inner, jsonString: true };
}

/**
 * A JavaScript sender that writes `sendMessages({ body: JSON.stringify(challenge) })` has its
 * string JSON-encoded once more by the SDK: the body is then the JSON *string*
 * `"{\"challengeId\":...}"`. That string holds exactly one JSON object and could mean nothing
 * else, so it is accepted (the worker counts it: podbus_messages_json_string_body_total).
 * Only one level is unwrapped, and only into an object.
 */
function objectInJsonString(text: string): object | undefined {
  if (!/^\s*\{/.test(text)) return undefined;
  try {
    const inner = JSON.parse(text) as unknown;
    return inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? inner : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An AMQP value body (map, list, number...). A JSON round trip both measures it and turns it
 * into plain JSON data (no Dates, Buffers or prototypes) before the schema sees it.
 */
function decodeStructured(body: unknown, options: DecodeOptions): DecodeResult {
  let json: string | undefined;
  try {
    json = JSON.stringify(body);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return invalidJson(`the AMQP value body cannot be represented as JSON: ${why}`, options);
  }
  if (json === undefined) {
    return invalidJson(`the AMQP value body (${typeof body}) is not JSON data`, options);
  }
  return tooLarge(Buffer.byteLength(json, 'utf8'), options) ?? parseText(json, options);
}

function tooLarge(bytes: number, options: DecodeOptions): DecodeResult | undefined {
  if (bytes <= options.maxBodyBytes) return undefined;
  return {
    ok: false,
    reason: 'PolicyViolation',
    description: `the body is ${bytes} bytes; policy allows at most ${options.maxBodyBytes} (policy.maxBodyBytes)`,
  };
}

function invalidJson(description: string, options: DecodeOptions): DecodeResult {
  const type = options.contentType;
  const note = type && !/json|^text\/plain/i.test(type) ? ` (content type "${type}")` : '';
  return { ok: false, reason: 'InvalidJson', description: `${description}${note}` };
}
