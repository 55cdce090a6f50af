import { describe, expect, it } from '@jest/globals';

import { testPolicy } from '../policy/test-policy.js';
import { inboundMessage } from '../../../src/worker/inbound.js';
import { createPrepare } from '../../../src/worker/prepare.js';

const prepare = createPrepare({
  policy: testPolicy(),
  pod: {} as never,
  clusterNames: ['a'],
  allowClusterPreference: true,
});
const body = Buffer.from('{"challengeId":"c","containers":[{"image":"nginx"}]}');

describe('inboundMessage: a received message as the handler reads it', () => {
  it('names binary and uuid IDs by their bytes, so different IDs never share a name', () => {
    // String(buffer) decodes UTF-8: both of these would read as "\uFFFD\uFFFD".
    expect(inboundMessage({ messageId: Buffer.from([0xff, 0xfe]), body }).messageId).toBe('fffe');
    expect(inboundMessage({ messageId: Buffer.from([0xfe, 0xff]), body }).messageId).toBe('feff');
    expect(inboundMessage({ messageId: 42, body }).messageId).toBe('42');
    expect(inboundMessage({ messageId: 'web-1', body }).messageId).toBe('web-1');
  });

  it('a message without an ID is dead-lettered, not made into a pod named "undefined"', () => {
    expect(prepare(inboundMessage({ messageId: undefined, body }))).toEqual({
      ok: false,
      reason: 'SchemaViolation',
      description: 'the message has no messageId; podbus names the pod after it',
    });
  });
});
