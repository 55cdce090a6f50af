import { describe, expect, test } from '@jest/globals';
import type { ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';

import {
  processSnapshot,
  resubmission,
  summarize,
  type DeadLetterSummary,
} from '../../../src/cli/dead-letter-queue.js';

function message(
  seq: number,
  id: string,
  extra: Partial<ServiceBusReceivedMessage> = {},
): ServiceBusReceivedMessage {
  const body = Buffer.from(
    JSON.stringify({ challengeId: `c-${id}`, containers: [{ image: 'nginx' }] }),
  );
  const applicationProperties = {
    team: 'red',
    DeadLetterReason: 'PolicyViolation',
    DeadLetterErrorDescription: 'not allowed',
    'podbus-last-error': 'timeout',
  };
  return {
    messageId: id,
    body,
    sequenceNumber: { toString: () => String(seq) },
    deliveryCount: 1,
    contentType: 'application/json',
    applicationProperties,
    deadLetterReason: 'PolicyViolation',
    deadLetterErrorDescription: 'not allowed',
    state: 'active',
    _rawAmqpMessage: {
      body,
      bodyType: 'data',
      properties: { messageId: id, contentType: 'application/json', correlationId: 'corr' },
      applicationProperties,
      messageAnnotations: { 'x-opt-sequence-number': seq },
    },
    ...extra,
  } as unknown as ServiceBusReceivedMessage;
}

/** A DLQ receiver over an in-memory list that records settlements. */
function fakeReceiver(
  messages: ServiceBusReceivedMessage[],
  fail: { complete?: Set<string> } = {},
) {
  const queue = [...messages];
  const log: string[] = [];
  const receiver = {
    receiveMessages: async (n: number) => queue.splice(0, n),
    completeMessage: async (m: ServiceBusReceivedMessage) => {
      if (fail.complete?.has(String(m.messageId))) throw new Error('lock lost');
      log.push(`complete ${String(m.messageId)}`);
    },
    abandonMessage: async (m: ServiceBusReceivedMessage) => {
      log.push(`abandon ${String(m.messageId)}`);
    },
  } as unknown as ServiceBusReceiver;
  return { receiver, log };
}

function targets(...ms: ServiceBusReceivedMessage[]): Map<string, DeadLetterSummary> {
  return new Map(ms.map((m) => [summarize(m).sequenceNumber, summarize(m)]));
}

describe('processSnapshot: never loses a message', () => {
  test('completes a target only after its action succeeded; others are abandoned, untouched', async () => {
    const [a, b, c] = [message(1, 'a'), message(2, 'b'), message(3, 'c')];
    const { receiver, log } = fakeReceiver([a!, b!, c!]);
    const acted: string[] = [];
    const result = await processSnapshot(receiver, targets(a!, c!), async (m) => {
      acted.push(String(m.messageId));
    });
    expect(acted).toEqual(['a', 'c']);
    expect(result.done.map((s) => s.messageId)).toEqual(['a', 'c']);
    expect(log).toEqual(['complete a', 'complete c', 'abandon b']);
    expect(result.error).toBeUndefined();
  });

  test('when the send fails, the message is abandoned (stays in the DLQ) and the run stops', async () => {
    const [a, b, c] = [message(1, 'a'), message(2, 'b'), message(3, 'c')];
    const { receiver, log } = fakeReceiver([a!, b!, c!]);
    const result = await processSnapshot(receiver, targets(a!, b!, c!), async (m) => {
      if (m.messageId === 'b') throw new Error('send failed');
    });
    expect(result.done.map((s) => s.messageId)).toEqual(['a']);
    expect((result.error as Error).message).toBe('send failed');
    expect(log).toEqual(['complete a', 'abandon b', 'abandon c']);
    expect(log.filter((l) => l.startsWith('complete'))).not.toContain('complete b');
  });

  test('a complete that fails after the send is a warning (the message is in both queues, not lost)', async () => {
    const a = message(1, 'a');
    const { receiver } = fakeReceiver([a], { complete: new Set(['a']) });
    const warnings: string[] = [];
    const result = await processSnapshot(receiver, targets(a), async () => undefined, {
      onWarning: (w) => warnings.push(w),
    });
    expect(result.done).toHaveLength(1);
    expect(warnings[0]).toContain(
      '"a" was handled but could not be removed from the dead-letter queue',
    );
  });

  test('targets that never arrive are reported as vanished', async () => {
    const a = message(1, 'a');
    const { receiver } = fakeReceiver([]);
    const result = await processSnapshot(receiver, targets(a), async () => undefined);
    expect(result.vanished.map((s) => s.messageId)).toEqual(['a']);
  });
});

describe('resubmission', () => {
  test('same body section, messageId and properties; dead-letter properties and broker annotations dropped', () => {
    const m = message(7, 'run-7');
    const copy = resubmission(m);
    expect(copy.body).toBe(m.body);
    expect(copy.bodyType).toBe('data');
    expect(copy.properties).toEqual({
      messageId: 'run-7',
      contentType: 'application/json',
      correlationId: 'corr',
    });
    expect(copy.applicationProperties).toEqual({ team: 'red' });
    expect(copy.messageAnnotations).toBeUndefined();
    expect(copy.header).toBeUndefined();
  });
});

describe('summarize', () => {
  test('challengeId from either form; descriptions scrubbed of secrets', () => {
    const s = summarize(
      message(1, 'x', {
        body: Buffer.from('{"ChallengeId":"web-1","Containers":[{"Name":"nginx"}]}'),
        deadLetterErrorDescription:
          'failed with Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=c2VjcmV0',
      }),
    );
    expect(s.challengeId).toBe('web-1');
    expect(s.deadLetterErrorDescription).not.toContain('c2VjcmV0');
    expect(s.sequenceNumber).toBe('1');
  });
});
