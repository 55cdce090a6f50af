import { randomBytes } from 'node:crypto';

/**
 * Lock tokens. A lock is a number inside the emulator; on the wire it is a GUID whose first
 * 8 bytes are random per emulator run (so tokens from a previous run or another emulator never
 * match) and whose last 8 bytes are the lock number.
 *
 * Service Bus transmits the delivery tag in .NET `Guid.ToByteArray()` order: bytes 0-3, 4-5 and
 * 6-7 are little-endian. The SDK reverses those groups to get the RFC-order token it shows and
 * later sends back in $management requests (specs/servicebus-amqp.md §4). The swap is its own
 * inverse.
 */
export class LockTokens {
  private readonly prefix: Buffer;

  constructor(prefix: Buffer = randomBytes(8)) {
    if (prefix.length !== 8) throw new Error('lock token prefix must be 8 bytes');
    this.prefix = Buffer.from(prefix);
  }

  /** RFC-order GUID bytes for a lock number (what $management carries). */
  toUuid(lockId: number): Buffer {
    const b = Buffer.allocUnsafe(16);
    this.prefix.copy(b, 0);
    b.writeBigUInt64BE(BigInt(lockId), 8);
    return b;
  }

  /** The delivery tag for a lock number (.NET byte order). */
  toDeliveryTag(lockId: number): Buffer {
    return swapGuidByteOrder(this.toUuid(lockId));
  }

  /** The lock number of RFC-order GUID bytes, or undefined when they are not ours. */
  fromUuid(uuid: Buffer | undefined): number | undefined {
    if (!uuid || uuid.length !== 16) return undefined;
    if (uuid.compare(this.prefix, 0, 8, 0, 8) !== 0) return undefined;
    const n = uuid.readBigUInt64BE(8);
    return n > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(n);
  }

  fromDeliveryTag(tag: Buffer | undefined): number | undefined {
    if (!tag || tag.length !== 16) return undefined;
    return this.fromUuid(swapGuidByteOrder(tag));
  }
}

/** Converts between RFC 4122 byte order and .NET Guid byte order (an involution). */
export function swapGuidByteOrder(b: Buffer): Buffer {
  if (b.length !== 16) throw new Error('a GUID has 16 bytes');
  const out = Buffer.from(b);
  out[0] = b[3] as number;
  out[1] = b[2] as number;
  out[2] = b[1] as number;
  out[3] = b[0] as number;
  out[4] = b[5] as number;
  out[5] = b[4] as number;
  out[6] = b[7] as number;
  out[7] = b[6] as number;
  return out;
}

/** Canonical text form (lower-case, dashed) of RFC-order GUID bytes. */
export function uuidToString(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
