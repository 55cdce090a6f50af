import { describe, expect, it } from '@jest/globals';

import { TEST_POD_SETTINGS } from '../pod/test-pod-settings.js';
import { TEST_POLICY_SETTINGS, testPolicy } from '../policy/test-policy.js';
import { inboundMessage } from '../../../src/worker/inbound.js';
import { deliveryOf } from '../../../src/worker/message-handler.js';
import { createPrepare } from '../../../src/worker/prepare.js';

const prepare = createPrepare({
  policy: testPolicy(),
  pod: {} as never,
  clusterNames: ['a'],
  allowClusterPreference: true,
  results: { queueName: '', allowedReplyTo: [] },
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

describe('the message properties a pod carries for its result', () => {
  const routed = createPrepare({
    policy: testPolicy(),
    pod: { pod: TEST_POD_SETTINGS, policy: TEST_POLICY_SETTINGS },
    clusterNames: ['a'],
    allowClusterPreference: true,
    results: { queueName: 'results', allowedReplyTo: ['team-*'] },
  });
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const annotations = (message: Parameters<typeof inboundMessage>[0]) => {
    const prepared = routed(inboundMessage(message));
    if (!prepared.ok) throw new Error(prepared.description);
    return prepared.pod.metadata?.annotations;
  };

  it('an allowed replyTo and a valid Diagnostic-Id reach the pod', () => {
    expect(
      annotations({
        messageId: 'm1',
        body,
        replyTo: 'team-a',
        applicationProperties: { 'Diagnostic-Id': traceparent },
      }),
    ).toMatchObject({ 'podbus.io/reply-to': 'team-a', 'podbus.io/traceparent': traceparent });
  });

  it('a replyTo the operator did not allow gives the default queue; a bad trace nothing', () => {
    const written = annotations({
      messageId: 'm1',
      body,
      replyTo: 'challenges',
      applicationProperties: { traceparent: 'not a traceparent' },
    });
    expect(written?.['podbus.io/reply-to']).toBe('results');
    expect(written).not.toHaveProperty(['podbus.io/traceparent']);
  });

  it('and the delivery names the trace, so every log line about the message carries it', () => {
    const inbound = inboundMessage({
      messageId: 'm1',
      body,
      applicationProperties: { traceparent },
    });
    expect(deliveryOf(inbound)).toEqual({ messageId: 'm1', deliveryCount: 0, traceparent });
  });
});
