/**
 * A lean reader and writer for the few AMQP 1.0 encodings on the emulator's hot path (OASIS
 * AMQP 1.0 §1.6 type encodings, §3.2 message sections). Scanning a message means walking value
 * extents without building objects, so storing and delivering a message allocates next to
 * nothing; rhea's full decoder is still used wherever a value has to be understood in depth.
 */

/** A message that cannot be decoded; the sender gets `amqp:decode-error`. */
export class MessageFormatError extends Error {
  override readonly name = 'MessageFormatError';
}

export interface SectionSpan {
  /** Section code 0x70..0x78. */
  code: number;
  /** Offset of the section (its 0x00 descriptor marker). */
  start: number;
  /** Offset of the section's value (after the descriptor). */
  value: number;
  end: number;
}

const SECTION_SYMBOLS: Record<string, number> = {
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

const DATA = 0x75;
const VALUE = 0x77;

function need(buf: Buffer, pos: number, n: number): void {
  if (pos + n > buf.length) throw new MessageFormatError(`value at byte ${pos} is truncated`);
}

/**
 * The end offset of the (possibly described) value starting at `pos`. Iterative: a described
 * value is a descriptor and a value, each possibly described again, so a chain of descriptors
 * (0x00 0x00 0x00 ...) adds values to skip instead of recursing.
 */
export function valueEnd(buf: Buffer, pos: number): number {
  let p = pos;
  let pending = 1;
  while (pending > 0) {
    need(buf, p, 1);
    if (buf[p] === 0x00) {
      p += 1;
      pending += 1; // the descriptor, then the value it describes
    } else {
      p = primitiveEnd(buf, p);
      pending -= 1;
    }
  }
  return p;
}

/** The end offset of the value at `pos`, which is not described. */
function primitiveEnd(buf: Buffer, pos: number): number {
  const code = buf[pos] as number;
  const p = pos + 1;
  switch (code >> 4) {
    case 0x4:
      return p;
    case 0x5:
      need(buf, p, 1);
      return p + 1;
    case 0x6:
      need(buf, p, 2);
      return p + 2;
    case 0x7:
      need(buf, p, 4);
      return p + 4;
    case 0x8:
      need(buf, p, 8);
      return p + 8;
    case 0x9:
      need(buf, p, 16);
      return p + 16;
    case 0xa:
    case 0xc:
    case 0xe: {
      need(buf, p, 1);
      const end = p + 1 + (buf[p] as number);
      need(buf, p, end - p);
      return end;
    }
    case 0xb:
    case 0xd:
    case 0xf: {
      need(buf, p, 4);
      const end = p + 4 + buf.readUInt32BE(p);
      need(buf, p, end - p);
      return end;
    }
    default:
      throw new MessageFormatError(`unknown AMQP type code 0x${code.toString(16)} at byte ${pos}`);
  }
}

/** The section code of a described value at `pos`, and where its value starts. */
function sectionHeader(buf: Buffer, pos: number): { code: number; value: number } {
  need(buf, pos, 2);
  if (buf[pos] !== 0x00) {
    throw new MessageFormatError(`byte ${pos} does not start an AMQP message section`);
  }
  const d = pos + 1;
  const type = buf[d] as number;
  let code: number | undefined;
  let value: number;
  if (type === 0x53) {
    need(buf, d, 2);
    code = buf[d + 1] as number;
    value = d + 2;
  } else if (type === 0x80) {
    need(buf, d, 9);
    code = buf.readUInt32BE(d + 1) === 0 ? buf.readUInt32BE(d + 5) : undefined;
    value = d + 9;
  } else if (type === 0xa3 || type === 0xb3) {
    value = valueEnd(buf, d);
    const start = type === 0xa3 ? d + 2 : d + 5;
    code = SECTION_SYMBOLS[buf.toString('latin1', start, value)];
  } else {
    throw new MessageFormatError(`byte ${pos} does not start an AMQP message section`);
  }
  if (code === undefined || code < 0x70 || code > 0x78) {
    throw new MessageFormatError(`byte ${pos} is not an AMQP message section`);
  }
  return { code, value };
}

/** Splits an encoded message into its sections, validating bounds and section order. */
export function scanSections(buf: Buffer): SectionSpan[] {
  const spans: SectionSpan[] = [];
  let pos = 0;
  let last = 0;
  while (pos < buf.length) {
    const { code, value } = sectionHeader(buf, pos);
    const end = valueEnd(buf, value);
    const isBody = code >= DATA && code <= VALUE;
    if (isBody ? code < last : code <= last) {
      throw new MessageFormatError(`message section 0x${code.toString(16)} is out of order`);
    }
    if (isBody && last >= DATA && last <= VALUE && code !== last) {
      throw new MessageFormatError('a message may carry only one kind of body section');
    }
    if (isBody && code !== DATA && last === code && code === VALUE) {
      throw new MessageFormatError('a message may carry only one amqp-value section');
    }
    last = code;
    spans.push({ code, start: pos, value, end });
    pos = end;
  }
  return spans;
}

/** Offset of element `index` of the list at `pos`, or -1 when the list is shorter. */
export function listElement(buf: Buffer, pos: number, index: number): number {
  need(buf, pos, 1);
  const code = buf[pos] as number;
  let count: number;
  let p: number;
  if (code === 0x45) return -1;
  if (code === 0xc0) {
    need(buf, pos, 3);
    count = buf[pos + 2] as number;
    p = pos + 3;
  } else if (code === 0xd0) {
    need(buf, pos, 9);
    count = buf.readUInt32BE(pos + 5);
    p = pos + 9;
  } else {
    throw new MessageFormatError(`expected a list at byte ${pos}`);
  }
  if (index >= count) return -1;
  for (let i = 0; i < index; i++) p = valueEnd(buf, p);
  return p;
}

/** Number of entries (keys + values) of the map at `pos`. */
export function mapItemCount(buf: Buffer, pos: number): number {
  need(buf, pos, 1);
  const code = buf[pos] as number;
  if (code === 0xc1) {
    need(buf, pos, 3);
    return buf[pos + 2] as number;
  }
  if (code === 0xd1) {
    need(buf, pos, 9);
    return buf.readUInt32BE(pos + 5);
  }
  throw new MessageFormatError(`expected a map at byte ${pos}`);
}

/** Offsets of the entries of the map at `pos`: key, value, key, value, ... */
export function mapEntryOffsets(buf: Buffer, pos: number): number[] {
  const count = mapItemCount(buf, pos);
  const end = valueEnd(buf, pos);
  let p = pos + (buf[pos] === 0xc1 ? 3 : 9);
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) {
    if (p >= end) throw new MessageFormatError(`map at byte ${pos} has fewer entries than it says`);
    offsets.push(p);
    p = valueEnd(buf, p);
  }
  if (p > end) throw new MessageFormatError(`map at byte ${pos} overruns its size`);
  return offsets;
}

/** The text of a string or symbol value; undefined for any other type. */
export function readText(buf: Buffer, pos: number): string | undefined {
  const code = buf[pos];
  if (code !== 0xa1 && code !== 0xb1 && code !== 0xa3 && code !== 0xb3) return undefined;
  const end = valueEnd(buf, pos);
  const start = code === 0xa1 || code === 0xa3 ? pos + 2 : pos + 5;
  return buf.toString(code === 0xa1 || code === 0xb1 ? 'utf8' : 'latin1', start, end);
}

/** A uint/ulong-typed value (null -> undefined). */
export function readUnsigned(buf: Buffer, pos: number): number | undefined {
  const code = buf[pos];
  switch (code) {
    case 0x40:
      return undefined;
    case 0x43:
    case 0x44:
      return 0;
    case 0x52:
    case 0x53:
      need(buf, pos, 2);
      return buf[pos + 1];
    case 0x70:
      need(buf, pos, 5);
      return buf.readUInt32BE(pos + 1);
    case 0x80:
      need(buf, pos, 9);
      return buf.readUInt32BE(pos + 1) * 0x1_0000_0000 + buf.readUInt32BE(pos + 5);
    default:
      throw new MessageFormatError(`expected an unsigned integer at byte ${pos}`);
  }
}

/** The text of a message-id value (string, ulong, uuid, binary; null -> undefined). */
export function readMessageId(buf: Buffer, pos: number): string | undefined {
  const code = buf[pos] as number;
  const end = valueEnd(buf, pos);
  switch (code) {
    case 0x40:
      return undefined;
    case 0xa1:
      return buf.toString('utf8', pos + 2, end);
    case 0xb1:
      return buf.toString('utf8', pos + 5, end);
    case 0x98: {
      const h = buf.toString('hex', pos + 1, end);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    case 0xa0:
      return buf.toString('hex', pos + 2, end);
    case 0xb0:
      return buf.toString('hex', pos + 5, end);
    default:
      return String(readUnsigned(buf, pos));
  }
}

/** The bytes of a binary value (data section content). */
export function binaryContent(buf: Buffer, pos: number): Buffer {
  const code = buf[pos];
  const end = valueEnd(buf, pos);
  if (code === 0xa0) return buf.subarray(pos + 2, end);
  if (code === 0xb0) return buf.subarray(pos + 5, end);
  throw new MessageFormatError(`expected binary data at byte ${pos}`);
}

// ---- writing ------------------------------------------------------------------------------

/** Appends AMQP values into a pre-sized buffer. */
export class HeadWriter {
  pos = 0;

  constructor(readonly buf: Buffer) {}

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  uint32(n: number): void {
    this.buf.writeUInt32BE(n >>> 0, this.pos);
    this.pos += 4;
  }

  /** A non-negative integer below 2^53 as 8 big-endian bytes. */
  uint64(n: number): void {
    this.buf.writeUInt32BE(Math.floor(n / 0x1_0000_0000), this.pos);
    this.buf.writeUInt32BE(n % 0x1_0000_0000, this.pos + 4);
    this.pos += 8;
  }

  symbol(s: string): void {
    this.byte(0xa3);
    this.byte(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  bytes(b: Buffer): void {
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }
}

/** Encoded size of `symbol(s)` for a short ASCII symbol. */
export function symbolSize(s: string): number {
  return 2 + s.length;
}
