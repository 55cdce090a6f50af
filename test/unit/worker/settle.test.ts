import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';

import {
  dispositionSettler,
  LAST_ERROR_PROPERTY,
  SETTLEMENT_DEADLINE_MS,
  SettlementTimeoutError,
  settle,
} from '../../../src/worker/settle.js';

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

describe('dispositionSettler: what may be written in the same tick', () => {
  /** Every call starts now and ends when the test says so. */
  function gatedReceiver() {
    const log: string[] = [];
    const pending: (() => void)[] = [];
    const call = (op: string) => async (m: ServiceBusReceivedMessage) => {
      log.push(`${op} ${String(m.messageId)}`);
      await new Promise<void>((resolve) => pending.push(resolve));
      log.push(`done ${String(m.messageId)}`);
    };
    return {
      log,
      receiver: {
        completeMessage: call('complete'),
        deadLetterMessage: call('dead-letter'),
        abandonMessage: call('abandon'),
      },
      /** Answers every settlement sent so far. */
      answer: async () => {
        for (const resolve of pending.splice(0)) resolve();
        await new Promise((r) => setImmediate(r));
      },
    };
  }
  const msg = (id: string) => ({ messageId: id }) as ServiceBusReceivedMessage;
  const complete = { action: 'complete', outcome: 'created', cluster: 'a' } as const;

  it('sends completes together, and a dead-letter or abandon only alone', async () => {
    const { log, receiver, answer } = gatedReceiver();
    const settle = dispositionSettler(receiver);
    const all = Promise.all([
      settle(msg('c1'), complete),
      settle(msg('c2'), complete),
      settle(msg('d'), { action: 'dead-letter', reason: 'PodRejected', description: 'no' }),
      settle(msg('c3'), complete),
      settle(msg('a'), { action: 'abandon', why: 'later' }),
    ]);
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['complete c1', 'complete c2']);
    await answer();
    expect(log.slice(2)).toEqual(['done c1', 'done c2', 'dead-letter d']);
    await answer();
    expect(log.slice(5)).toEqual(['done d', 'complete c3']);
    await answer();
    expect(log.slice(7)).toEqual(['done c3', 'abandon a']);
    await answer();
    expect((await all).map((r) => r.result)).toEqual(Array(5).fill('settled'));
  });

  it('sends nothing, and waits for nothing, for a message it leaves or whose lock is lost', async () => {
    const { log, receiver } = gatedReceiver();
    const settle = dispositionSettler(receiver);
    void settle(msg('d'), { action: 'dead-letter', reason: 'PodRejected', description: 'no' });
    await expect(
      settle(msg('l'), { action: 'leave-locked', why: 'create in flight' }),
    ).resolves.toEqual({
      result: 'left',
    });
    expect(log).toEqual(['dead-letter d']);
  });
});

describe('a settlement the broker never answers', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  /** The SDK after a reconnect: a message from the dead link is never answered. */
  function unanswered(sent: string[]) {
    const never = (id: string) => {
      sent.push(id);
      return new Promise<void>(() => undefined);
    };
    const ok = async (id: string) => {
      sent.push(id);
    };
    const id = (m: unknown) => String((m as ServiceBusReceivedMessage).messageId);
    return {
      completeMessage: (m: ServiceBusReceivedMessage) =>
        id(m) === 'dead-link' ? never(id(m)) : ok(id(m)),
      deadLetterMessage: (m: ServiceBusReceivedMessage) =>
        id(m) === 'dead-link' ? never(id(m)) : ok(id(m)),
      abandonMessage: async () => undefined,
    };
  }
  const complete = { action: 'complete', outcome: 'created', cluster: 'a' } as const;
  const dead = { messageId: 'dead-link' } as ServiceBusReceivedMessage;
  const live = { messageId: 'live' } as ServiceBusReceivedMessage;

  it('is given up after the deadline: failed, so the lock lapses and the message comes back', async () => {
    jest.useFakeTimers();
    const result = settle(unanswered([]), dead, complete);
    await jest.advanceTimersByTimeAsync(SETTLEMENT_DEADLINE_MS);
    const { result: outcome, error } = await result;
    expect(outcome).toBe('failed');
    expect(error).toBeInstanceOf(SettlementTimeoutError);
    expect((error as Error).message).toBe(
      'the broker did not answer the settlement within 60 s; the message comes back when its lock lapses',
    );
  });

  it('holds a dead-letter after it back by one turn, not until it is given up', async () => {
    jest.useFakeTimers();
    const sent: string[] = [];
    const settleNext = dispositionSettler(unanswered(sent), { turnMs: 1_000, deadlineMs: 60_000 });
    const first = settleNext(dead, complete);
    const second = settleNext(live, {
      action: 'dead-letter',
      reason: 'PodRejected',
      description: 'no',
    });
    await jest.advanceTimersByTimeAsync(999);
    expect(sent).toEqual(['dead-link']);
    await jest.advanceTimersByTimeAsync(1);
    await expect(second).resolves.toEqual({ result: 'settled' });
    expect(sent).toEqual(['dead-link', 'live']);
    await jest.advanceTimersByTimeAsync(60_000);
    await expect(first).resolves.toMatchObject({ result: 'failed' });
  });
  it('ends the turn of an unanswered dead-letter after a second: what is queued behind it goes', async () => {
    jest.useFakeTimers();
    const sent: string[] = [];
    const settleNext = dispositionSettler(unanswered(sent), { turnMs: 1_000, deadlineMs: 60_000 });
    const deadLetter = { action: 'dead-letter', reason: 'PodRejected', description: 'no' } as const;
    const first = settleNext(dead, deadLetter);
    const second = settleNext(live, complete);
    const third = settleNext({ messageId: 'live-2' } as ServiceBusReceivedMessage, deadLetter);
    await jest.advanceTimersByTimeAsync(999);
    expect(sent).toEqual(['dead-link']);
    await jest.advanceTimersByTimeAsync(1);
    await expect(second).resolves.toEqual({ result: 'settled' });
    await expect(third).resolves.toEqual({ result: 'settled' });
    expect(sent).toEqual(['dead-link', 'live', 'live-2']);
    await jest.advanceTimersByTimeAsync(60_000);
    await expect(first).resolves.toMatchObject({ result: 'failed' });
  });
});
