import { describe, expect, it } from '@jest/globals';
import rhea from 'rhea';

import { LockTokens, swapGuidByteOrder, uuidToString } from '../../src/lock-token.js';

describe('lock tokens', () => {
  it('puts the GUID on the wire in .NET byte order, which the SDK turns back into RFC order', () => {
    const tokens = new LockTokens(Buffer.from('0102030405060708', 'hex'));
    const tag = tokens.toDeliveryTag(0x0a0b);
    expect(tag.toString('hex')).toBe('04030201060508070000000000000a0b');
    // what @azure/service-bus does with the tag: reorder, then uuid_to_string
    const sdkToken = rhea.uuid_to_string(swapGuidByteOrder(tag));
    expect(sdkToken).toBe('01020304-0506-0708-0000-000000000a0b');
    // and what it sends back in $management requests
    expect(tokens.fromUuid(rhea.string_to_uuid(sdkToken))).toBe(0x0a0b);
    expect(tokens.fromDeliveryTag(tag)).toBe(0x0a0b);
    expect(uuidToString(tokens.toUuid(0x0a0b))).toBe(sdkToken);
  });

  it('does not accept tokens of another emulator run', () => {
    const a = new LockTokens();
    const b = new LockTokens();
    expect(b.fromUuid(a.toUuid(5))).toBeUndefined();
    expect(a.fromUuid(Buffer.alloc(3))).toBeUndefined();
    expect(a.fromDeliveryTag(undefined)).toBeUndefined();
  });

  it('swap is its own inverse', () => {
    const b = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    expect(swapGuidByteOrder(swapGuidByteOrder(b))).toEqual(b);
  });
});
