import rhea from 'rhea';

import { UndecodableBody } from '../message/undecodable-body.js';

/**
 * Makes rhea's decoding of received messages safe for podbus.
 *
 * rhea 3.0.5 decodes every incoming format-0 transfer as soon as its last frame arrives:
 * `Incoming.prototype.on_transfer` (rhea/lib/session.js) calls `message.decode`
 * (rhea/lib/message.js), whose `types.Reader.read` (rhea/lib/types.js) recurses once per level
 * of nesting of lists, maps, arrays and described values. A sender can nest a body a few
 * thousand levels deep in 30 KB; the decoder then throws RangeError (maximum call stack size)
 * inside the connection's input handler. The connection is torn down, the delivery is never
 * settled, the broker hands the message to the next connection, which fails the same way: the
 * receiver resets on every delivery of that one message until the broker gives up, and /readyz
 * stays red meanwhile.
 *
 * The guard replaces `message.decode` (the property session.js calls through) with a decoder
 * that first scans the message without recursion: a section nested deeper than MAX_NESTING,
 * or one that is malformed, is not handed to rhea. The sections that are fine are decoded by
 * rhea as before; the body becomes an `UndecodableBody` naming the problem, so the handler
 * dead-letters the message (InvalidJson) and it never loops. Anything rhea still throws on is
 * caught the same way. A message podbus can decode gets exactly what rhea's decoder returns.
 *
 * The patch is process-wide (rhea is one module instance for the SDK, rhea-promise and anything
 * else in the process), installed once by whatever receives messages (the worker, `podbus dlq`).
 */
export const MAX_NESTING = 100;

const SECTIONS: Readonly<Record<number, string>> = {
  0x70: 'header',
  0x71: 'delivery-annotations',
  0x72: 'message-annotations',
  0x73: 'properties',
  0x74: 'application-properties',
  0x75: 'data',
  0x76: 'amqp-sequence',
  0x77: 'amqp-value',
  0x78: 'footer',
};
/** Sections by their symbolic descriptors (AMQP 1.0 §3.2). */
const SECTION_CODES: Readonly<Record<string, number>> = {
  'amqp:header:list': 0x70,
  'amqp:delivery-annotations:map': 0x71,
  'amqp:message-annotations:map': 0x72,
  'amqp:properties:list': 0x73,
  'amqp:application-properties:map': 0x74,
  'amqp:data:binary': 0x75,
  'amqp:amqp-sequence:list': 0x76,
  'amqp:value:*': 0x77,
  'amqp:footer:map': 0x78,
};

type Decode = typeof rhea.message.decode;
type Message = ReturnType<Decode>;
const ORIGINAL = Symbol.for('podbus.rhea.message.decode');

/** Installs the guard on rhea's decoder (idempotent). */
export function installSafeAmqpDecode(): void {
  const codec = rhea.message as unknown as Record<string | symbol, unknown>;
  if (codec[ORIGINAL] !== undefined) return;
  const original = (codec.decode as Decode).bind(rhea.message);
  codec[ORIGINAL] = original;
  codec.decode = (buffer: Buffer) => safeDecode(buffer, original);
}

/** `decode` (rhea's), made safe: see the module comment. */
export function safeDecode(buffer: Buffer, decode: Decode): Message {
  const sections = scanSections(buffer);
  const problems = sections.filter((s) => s.problem !== undefined);
  if (problems.length === 0) {
    try {
      return decode(buffer);
    } catch (error) {
      return undecodable(decode, sections, `rhea could not decode it (${errorText(error)})`);
    }
  }
  return undecodable(
    decode,
    sections.filter((s) => s.problem === undefined),
    problems.map((s) => `its ${s.name} ${s.problem!}`).join('; '),
  );
}

/**
 * The decodable sections as rhea decodes them, each on its own (one that rhea still cannot
 * decode is left out), with the body standing for the problem.
 */
function undecodable(decode: Decode, fine: readonly Section[], problem: string): Message {
  const message = decode(Buffer.alloc(0));
  for (const section of fine) {
    try {
      Object.assign(message, { ...decode(section.bytes) });
    } catch {
      // Left out: the body already says the message cannot be decoded.
    }
  }
  message.body = new UndecodableBody(problem);
  return message;
}

interface Section {
  /** `amqp-value section`, `properties section`, ...; `message` for bytes that are no section. */
  readonly name: string;
  readonly bytes: Buffer;
  readonly problem?: string;
}

class MalformedMessage extends Error {}

function need(buf: Buffer, pos: number, n: number): void {
  if (pos + n > buf.length) {
    throw new MalformedMessage(`is cut short: ${n} bytes at byte ${pos}, ${buf.length - pos} left`);
  }
}

/**
 * The message's sections (AMQP 1.0 §3.2: described values, one after another), each with the
 * reason rhea must not decode it. Bytes from where the encoding stops making sense to the end
 * are one last, malformed part.
 */
function scanSections(buf: Buffer): Section[] {
  const sections: Section[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let name = 'message';
    try {
      const { code, value } = sectionHeader(buf, pos);
      name = `${SECTIONS[code] ?? `0x${code.toString(16)}`} section`;
      const scan = scanValue(buf, value);
      const deep = scan.depth > MAX_NESTING;
      sections.push({
        name,
        bytes: buf.subarray(pos, scan.end),
        ...(deep && { problem: `nests values deeper than ${MAX_NESTING} levels` }),
      });
      pos = scan.end;
    } catch (error) {
      if (!(error instanceof MalformedMessage)) throw error;
      sections.push({ name, bytes: buf.subarray(pos), problem: error.message });
      return sections;
    }
  }
  return sections;
}

function sectionHeader(buf: Buffer, pos: number): { code: number; value: number } {
  need(buf, pos, 2);
  if (buf[pos] !== 0x00) throw new MalformedMessage(`has no section at byte ${pos}`);
  const type = buf[pos + 1];
  if (type === 0x53) {
    need(buf, pos, 3);
    return { code: buf[pos + 2]!, value: pos + 3 };
  }
  if (type === 0x80) {
    need(buf, pos, 10);
    return { code: Number(buf.readBigUInt64BE(pos + 2)), value: pos + 10 };
  }
  if (type === 0xa3 || type === 0xb3) {
    const sizeBytes = type === 0xa3 ? 1 : 4;
    need(buf, pos + 2, sizeBytes);
    const size = sizeBytes === 1 ? buf[pos + 2]! : buf.readUInt32BE(pos + 2);
    const from = pos + 2 + sizeBytes;
    need(buf, from, size);
    const code = SECTION_CODES[buf.toString('latin1', from, from + size)];
    if (code === undefined) throw new MalformedMessage(`has no section at byte ${pos}`);
    return { code, value: from + size };
  }
  throw new MalformedMessage(`has no section at byte ${pos}`);
}

/**
 * Walks one value (AMQP 1.0 §1.6 encodings) without recursion: compound values are opened with
 * an explicit stack, so any depth costs heap, not call stack. Returns where the value ends and
 * how deep it nests; `opaque` when it holds an array of described values, whose inside is
 * skipped by its size (rare; rhea's own decode is still guarded by a catch).
 */
function scanValue(buf: Buffer, start: number): { end: number; depth: number; opaque: boolean } {
  interface Frame {
    remaining: number;
    readonly end?: number;
    readonly element?: number;
  }
  const stack: Frame[] = [];
  let pos = start;
  let pending = 1;
  let depth = 0;
  let opaque = false;
  const open = (frame: Frame) => {
    if (stack.length >= MAX_NESTING && frame.end !== undefined) {
      // Deep enough to refuse: skip the rest of this value by its size.
      depth = Math.max(depth, stack.length + 1);
      pos = frame.end;
      return;
    }
    stack.push(frame);
    depth = Math.max(depth, stack.length);
  };
  for (;;) {
    const frame = stack[stack.length - 1];
    if (frame === undefined ? pending === 0 : frame.remaining === 0) {
      if (frame === undefined) return { end: pos, depth, opaque };
      if (frame.end !== undefined && pos !== frame.end) {
        throw new MalformedMessage(
          `has a value ending at byte ${pos} that should end at ${frame.end}`,
        );
      }
      stack.pop();
      continue;
    }
    if (frame === undefined) pending -= 1;
    else frame.remaining -= 1;
    let code: number;
    if (frame?.element !== undefined) {
      code = frame.element;
    } else {
      need(buf, pos, 1);
      code = buf[pos]!;
      pos += 1;
    }
    if (code === 0x00) {
      // A described value: its descriptor, then the value itself.
      open({ remaining: 2 });
      continue;
    }
    const fixed = FIXED_WIDTH[code >> 4];
    if (fixed !== undefined) {
      need(buf, pos, fixed);
      pos += fixed;
      continue;
    }
    const wide = code >> 4 === 0xb || code >> 4 === 0xd || code >> 4 === 0xf;
    const sizeBytes = wide ? 4 : 1;
    need(buf, pos, sizeBytes);
    const size = wide ? buf.readUInt32BE(pos) : buf[pos]!;
    const end = pos + sizeBytes + size;
    need(buf, pos, sizeBytes + size);
    switch (code >> 4) {
      case 0xa:
      case 0xb:
        pos = end;
        break;
      case 0xc:
      case 0xd: {
        const count = wide ? buf.readUInt32BE(pos + 4) : buf[pos + 1]!;
        pos += 2 * sizeBytes;
        open({ remaining: count, end });
        break;
      }
      case 0xe:
      case 0xf: {
        const count = wide ? buf.readUInt32BE(pos + 4) : buf[pos + 1]!;
        pos += 2 * sizeBytes;
        need(buf, pos, 1);
        const element = buf[pos]!;
        pos += 1;
        if (element === 0x00) {
          opaque = true;
          depth = Math.max(depth, stack.length + 1);
          pos = end;
        } else {
          open({ remaining: count, end, element });
        }
        break;
      }
      default:
        throw new MalformedMessage(
          `has an unknown AMQP type code 0x${code.toString(16)} at byte ${pos - 1}`,
        );
    }
  }
}

/** Fixed widths by the high nibble of a type code (AMQP 1.0 §1.6, "fixed width"). */
const FIXED_WIDTH: Readonly<Record<number, number>> = {
  0x4: 0,
  0x5: 1,
  0x6: 2,
  0x7: 4,
  0x8: 8,
  0x9: 16,
};

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
