import { describe, expect, it } from '@jest/globals';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';

import { LAST_ERROR_PROPERTY, settle } from '../../../src/worker/settle.js';

/** podbus's settling port, recording what would go onto the message. */
function recordingReceiver() {
  const calls: { op: string; properties: Record<string, unknown> | undefined }[] = [];
  return {
    calls,
    receiver: {
      completeMessage: async () => {
        calls.push({ op: 'complete', properties: undefined });
      },
      deadLetterMessage: async (_m: unknown, options?: Record<string, unknown>) => {
        calls.push({ op: 'dead-letter', properties: options });
      },
      abandonMessage: async (_m: unknown, properties?: Record<string, unknown>) => {
        calls.push({ op: 'abandon', properties });
      },
    },
  };
}

const message = {} as ServiceBusReceivedMessage;
const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl';
const KEY = 'c2VjcmV0LWtleS12YWx1ZS1mb3ItdGVzdHM=';

describe('settle: what podbus writes onto a message is scrubbed like a log line', () => {
  it('scrubs the dead-letter description', async () => {
    const { calls, receiver } = recordingReceiver();
    await settle(receiver, message, {
      action: 'dead-letter',
      reason: 'PodRejected',
      description: `cluster a rejected the pod: admission webhook "audit.example.com" denied the request: token ${JWT} may not create pods`,
    });
    expect(calls).toEqual([
      {
        op: 'dead-letter',
        properties: {
          deadLetterReason: 'PodRejected',
          deadLetterErrorDescription:
            'cluster a rejected the pod: admission webhook "audit.example.com" denied the request: token [REDACTED] may not create pods',
        },
      },
    ]);
  });

  it('scrubs podbus-last-error, before cutting it to size', async () => {
    const { calls, receiver } = recordingReceiver();
    const secret = `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=${KEY}`;
    // Long enough that the 512-character cut falls inside the key.
    const why = `${'x'.repeat(512 - secret.length + 12)}${secret}`;
    await settle(receiver, message, { action: 'abandon', why });
    const lastError = calls[0]?.properties?.[LAST_ERROR_PROPERTY] as string;
    expect(lastError).not.toContain(KEY.slice(0, 6));
    expect(lastError).toContain('SharedAccessKey=[REDACTED]');
  });

  it('leaves a message it must not hand back alone: no settlement at all', async () => {
    const { calls, receiver } = recordingReceiver();
    await expect(
      settle(receiver, message, { action: 'leave-locked', why: 'a create may still land' }),
    ).resolves.toEqual({ result: 'left' });
    expect(calls).toEqual([]);
  });
});
