import { describe, expect, it } from '@jest/globals';
import rhea from 'rhea';

import {
  MessageFormatError,
  encodeDelivery,
  parseMessage,
  patchApplicationProperties,
  splitBatch,
  withMessageId,
  withoutBody,
} from '../../src/message-codec.js';
import { encodeTyped, headerSection } from '../../src/amqp.js';
import { scanSections } from '../../src/amqp-scan.js';
import { decode, encode } from './support.js';

const body = rhea.message.data_section(Buffer.from('{"a":1}'));

describe('message codec', () => {
  it('keeps the bare message byte for byte and reads header, annotations and id', () => {
    const when = new Date('2030-01-01T00:00:00Z');
    const raw = encode({
      ttl: 5000,
      message_annotations: { 'x-opt-scheduled-enqueue-time': when, 'x-opt-partition-key': 'p' },
      message_id: 'id-1',
      subject: 's',
      application_properties: { n: 1 },
      body,
    });
    const parsed = parseMessage(raw);
    expect(parsed.ttlMs).toBe(5000);
    expect(parsed.messageId).toBe('id-1');
    expect(parsed.scheduledEnqueueTimeMs).toBe(when.getTime());
    expect(parsed.annotations).toEqual({
      'x-opt-scheduled-enqueue-time': when,
      'x-opt-partition-key': 'p',
    });
    const bareOnly = encode({
      message_id: 'id-1',
      subject: 's',
      application_properties: { n: 1 },
      body,
    });
    // rhea always writes a header section first; the bare part is what follows the annotations
    expect(raw.subarray(raw.length - parsed.bare.length).equals(parsed.bare)).toBe(true);
    expect(decode(parsed.bare).subject).toBe('s');
    expect(bareOnly.length).toBeGreaterThanOrEqual(parsed.bare.length);
  });

  it('renders header and broker annotations in front of the stored bytes', () => {
    const { bare } = parseMessage(encode({ message_id: 'x', body }));
    const fields = {
      deliveryCount: 2,
      ttlMs: 1000,
      sequenceNumber: 2 ** 40 + 7,
      enqueuedTime: 1_700_000_000_123,
      enqueueSequenceNumber: 3,
      lockedUntil: 1_700_000_060_123,
      state: 1,
      senderAnnotations: {
        'x-opt-partition-key': 'p',
        'x-opt-sequence-number': 'ignored: the broker value wins',
      },
    };
    const out = encodeDelivery(fields, bare.length, (t, at) => bare.copy(t, at));
    const msg = decode(out);
    expect(msg.delivery_count).toBe(2);
    expect(msg.ttl).toBe(1000);
    expect(msg.message_annotations).toEqual({
      'x-opt-partition-key': 'p',
      'x-opt-sequence-number': 2 ** 40 + 7,
      'x-opt-enqueued-time': new Date(1_700_000_000_123),
      'x-opt-enqueue-sequence-number': 3,
      'x-opt-locked-until': new Date(1_700_000_060_123),
      'x-opt-message-state': 1,
    });
    expect(msg.message_id).toBe('x');
    expect((msg.body as { content: Buffer }).content.toString()).toBe('{"a":1}');
    // without TTL and lock
    const plain = decode(
      encodeDelivery(
        {
          ...fields,
          ttlMs: undefined,
          lockedUntil: undefined,
          senderAnnotations: undefined,
          deliveryCount: 0,
        },
        bare.length,
        (t, at) => bare.copy(t, at),
      ),
    );
    expect(plain.ttl).toBeUndefined();
    expect(plain.delivery_count).toBe(0);
    expect(Object.keys(plain.message_annotations ?? {})).toEqual([
      'x-opt-sequence-number',
      'x-opt-enqueued-time',
      'x-opt-enqueue-sequence-number',
      'x-opt-message-state',
    ]);
  });

  it('adds a message id to a message without one', () => {
    const noProps = parseMessage(encode({ body })).bare;
    expect(parseMessage(noProps).messageId).toBeUndefined();
    expect(decode(withMessageId(noProps, 'assigned')).message_id).toBe('assigned');
    const propsNoId = parseMessage(encode({ subject: 'keep', body })).bare;
    const withId = decode(withMessageId(propsNoId, 'assigned-2'));
    expect(withId.message_id).toBe('assigned-2');
    expect(withId.subject).toBe('keep');
  });

  it('patches application properties, keeping untouched entries and their types', () => {
    const { bare } = parseMessage(
      encode({
        message_id: 'm',
        application_properties: { keep: rhea.types.wrap_long(5), change: 'old' },
        body,
      }),
    );
    const patched = decode(patchApplicationProperties(bare, { change: 'new', added: true }));
    expect(patched.application_properties).toEqual({ keep: 5, change: 'new', added: true });
    expect(patched.message_id).toBe('m');
    const none = parseMessage(encode({ message_id: 'm', body })).bare;
    expect(
      decode(patchApplicationProperties(none, { DeadLetterReason: 'r' })).application_properties,
    ).toEqual({
      DeadLetterReason: 'r',
    });
    expect(patchApplicationProperties(none, {})).toBe(none);
  });

  it('can omit the body (peek with omit-message-body)', () => {
    const { bare } = parseMessage(encode({ message_id: 'm', body }));
    const msg = decode(withoutBody(bare));
    expect(msg.message_id).toBe('m');
    expect(msg.body).toBeUndefined();
  });

  it('splits a batch envelope into complete messages', () => {
    const parts = [encode({ message_id: 'a', body }), encode({ message_id: 'b', body })];
    const envelope = encode({ body: rhea.message.data_sections(parts) });
    expect(splitBatch(envelope).map((p) => parseMessage(p).messageId)).toEqual(['a', 'b']);
    const single = encode({ body: rhea.message.data_section(parts[0]) });
    expect(splitBatch(single)).toHaveLength(1);
    expect(() => splitBatch(encode({ body: 'not data' }))).toThrow(MessageFormatError);
  });

  it('rejects garbage and misordered sections with MessageFormatError', () => {
    expect(() => parseMessage(Buffer.from([0xde, 0xad, 0xbe, 0xef]))).toThrow(MessageFormatError);
    expect(() => parseMessage(Buffer.from([0x00, 0x53, 0x77, 0xa1, 0x10, 0x41]))).toThrow(
      MessageFormatError,
    );
    const header = encodeTyped([headerSection({ ttl: 1 })]);
    const props = parseMessage(encode({ message_id: 'x', body })).bare;
    expect(() => parseMessage(Buffer.concat([props, header]))).toThrow(/out of order/);
    // a described value that is not a message section
    expect(() => parseMessage(Buffer.from([0x00, 0x53, 0x10, 0x45]))).toThrow(MessageFormatError);
  });

  it('walks a chain of 100,000 descriptors without recursing', () => {
    // amqp-value section whose value is described 100,000 times over, around a null
    const chain = Buffer.concat([
      Buffer.from([0x00, 0x53, 0x77]),
      Buffer.alloc(100_000 * 2, Buffer.from([0x00, 0x40])),
      Buffer.from([0x40]),
    ]);
    expect(scanSections(chain)).toEqual([{ code: 0x77, start: 0, value: 3, end: chain.length }]);
    expect(() => scanSections(chain.subarray(0, chain.length - 1))).toThrow(MessageFormatError);
  });
});
