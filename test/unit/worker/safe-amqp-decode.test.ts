import { describe, expect, it } from '@jest/globals';
import rhea from 'rhea';

import { UndecodableBody } from '../../../src/message/undecodable-body.js';
import {
  installSafeAmqpDecode,
  MAX_NESTING,
  safeDecode,
} from '../../../src/worker/safe-amqp-decode.js';
import { nestedLists } from '../../support/nested-amqp-lists.js';

const decode = rhea.message.decode.bind(rhea.message);

/** `depth` maps (map32) {"k": ...}. */
function nestedMaps(depth: number): Buffer {
  let inner = Buffer.from([0x40]);
  for (let i = 0; i < depth; i += 1) {
    const key = Buffer.from([0xa1, 1, 0x6b]);
    const head = Buffer.alloc(9);
    head[0] = 0xd1;
    head.writeUInt32BE(inner.length + key.length + 4, 1);
    head.writeUInt32BE(2, 5);
    inner = Buffer.concat([head, key, inner]);
  }
  return inner;
}

const section = (code: number, value: Buffer) =>
  Buffer.concat([Buffer.from([0x00, 0x53, code]), value]);
/** A header and a properties section (rhea's encoder adds a null amqp-value body: cut it). */
const properties = rhea.message
  .encode({ message_id: 'deep-1', content_type: 'application/json' })
  .subarray(0, -4);

describe('safeDecode: rhea decodes what it can, and a message it cannot is marked, not thrown', () => {
  it('gives exactly what rhea gives for messages within bounds', () => {
    const messages = [
      { message_id: 'a', body: rhea.message.data_section(Buffer.from('{"x":1}')) },
      {
        message_id: rhea.types.wrap_binary(Buffer.from([0xff, 0xfe])),
        application_properties: { n: 1, s: 'x', nested: { a: [1, 2, { b: true }] } },
        body: rhea.message.data_sections([Buffer.from('{"x":'), Buffer.from('1}')]),
      },
      { ttl: 5000, delivery_count: 3, body: { map: { deep: [[[['ok']]]] } } },
      { body: rhea.message.sequence_section([1, 'two', [3]]) },
      {
        message_annotations: { 'x-opt-sequence-number': 7 },
        body: [rhea.types.wrap_array([1, 2, 3], 0x71, undefined)],
      },
      { body: nestedLists(MAX_NESTING - 1) },
    ];
    for (const m of messages) {
      const encoded = Buffer.isBuffer(m.body) ? section(0x77, m.body) : rhea.message.encode(m);
      expect(safeDecode(encoded, decode)).toEqual(decode(encoded));
    }
  });

  it('marks a body nested deeper than rhea can decode, and keeps the other sections', () => {
    const encoded = Buffer.concat([properties, section(0x77, nestedLists(5000))]);
    // rhea's own decoder: the RangeError that would reset the connection.
    expect(() => decode(encoded)).toThrow('Maximum call stack size exceeded');
    const message = safeDecode(encoded, decode);
    expect(message.message_id).toBe('deep-1');
    expect(message.content_type).toBe('application/json');
    expect(message.body).toEqual(
      new UndecodableBody(`its amqp-value section nests values deeper than ${MAX_NESTING} levels`),
    );
  });

  it('marks the message when another section is too deep, naming that section', () => {
    const encoded = Buffer.concat([
      properties,
      section(0x74, nestedMaps(MAX_NESTING + 1)),
      section(0x75, Buffer.concat([Buffer.from([0xa0, 2]), Buffer.from('{}')])),
    ]);
    const message = safeDecode(encoded, decode);
    expect(message.message_id).toBe('deep-1');
    expect(message.application_properties).toBeUndefined();
    expect(message.body).toEqual(
      new UndecodableBody(
        `its application-properties section nests values deeper than ${MAX_NESTING} levels`,
      ),
    );
  });

  it('walks chains of described values without recursion too', () => {
    const depth = 20_000;
    const chain = Buffer.concat([Buffer.alloc(depth, 0x00), Buffer.alloc(depth + 1, 0x40)]);
    const encoded = Buffer.concat([properties, section(0x77, chain)]);
    expect(() => decode(encoded)).toThrow('Maximum call stack size exceeded');
    expect(safeDecode(encoded, decode).body).toEqual(
      new UndecodableBody(`its amqp-value section nests values deeper than ${MAX_NESTING} levels`),
    );
  });

  it('marks a malformed message instead of throwing', () => {
    const encoded = Buffer.concat([properties, section(0x77, nestedLists(3)).subarray(0, 12)]);
    const message = safeDecode(encoded, decode);
    expect(message.body).toBeInstanceOf(UndecodableBody);
    expect(message.message_id).toBe('deep-1');
    expect((message.body as UndecodableBody).problem).toMatch(
      /^its amqp-value section is cut short: \d+ bytes at byte \d+, \d+ left$/,
    );
  });

  it('installs itself as rhea.message.decode once', () => {
    installSafeAmqpDecode();
    const installed = rhea.message.decode;
    installSafeAmqpDecode();
    expect(rhea.message.decode).toBe(installed);
    const encoded = Buffer.concat([properties, section(0x77, nestedLists(5000))]);
    expect(rhea.message.decode(encoded).body).toBeInstanceOf(UndecodableBody);
  });
});
