import { describe, expect, test } from '@jest/globals';

import { ClusterError, type ClusterErrorKind } from '../../../src/clusters/errors.js';
import { withRetries, type RetryOptions } from '../../../src/clusters/retry.js';

const err = (kind: ClusterErrorKind, extra: { retryAfterMs?: number } = {}) =>
  new ClusterError({ kind, cluster: 'a', message: kind, ...extra });

function harness(overrides: Partial<RetryOptions> = {}) {
  const sleeps: number[] = [];
  const options: RetryOptions = {
    policy: {
      maxAttempts: 4,
      backoff: { baseMs: 100, maxMs: 1000, jitter: 'none' },
      maxRetryAfterMs: 5000,
    },
    classify: (e) => (e instanceof ClusterError ? e : err('unknown')),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...overrides,
  };
  return { sleeps, options };
}

/** An attempt function that fails with the given errors, then succeeds. */
function script(...failures: ClusterError[]) {
  const calls: number[] = [];
  const fn = async (n: number) => {
    calls.push(n);
    const f = failures.shift();
    if (f) throw f;
    return 'ok';
  };
  return { calls, fn };
}

describe('withRetries', () => {
  test('retries retryable kinds with growing delays, then succeeds', async () => {
    const { sleeps, options } = harness();
    const { calls, fn } = script(err('server-error'), err('connection'), err('timeout'));
    await expect(withRetries(fn, options)).resolves.toBe('ok');
    expect(calls).toEqual([1, 2, 3, 4]);
    expect(sleeps).toEqual([100, 200, 400]);
  });

  test('gives up after maxAttempts with attempts recorded', async () => {
    const { sleeps, options } = harness();
    const { fn } = script(...Array.from({ length: 10 }, () => err('server-error')));
    await expect(withRetries(fn, options)).rejects.toMatchObject({
      kind: 'server-error',
      attempts: 4,
    });
    expect(sleeps).toHaveLength(3);
  });

  test('does not retry permanent kinds', async () => {
    for (const kind of [
      'rejected',
      'forbidden',
      'tls',
      'already-exists',
      'namespace-missing',
    ] as const) {
      const { sleeps, options } = harness();
      const { calls, fn } = script(err(kind));
      await expect(withRetries(fn, options)).rejects.toMatchObject({ kind, attempts: 1 });
      expect(calls).toEqual([1]);
      expect(sleeps).toEqual([]);
    }
  });

  test('honours Retry-After: sleeps at least as long as the server asked', async () => {
    const { sleeps, options } = harness();
    const { fn } = script(
      err('throttled', { retryAfterMs: 2000 }),
      err('throttled', { retryAfterMs: 1 }),
    );
    await expect(withRetries(fn, options)).resolves.toBe('ok');
    expect(sleeps).toEqual([2000, 200]);
  });

  test('a Retry-After beyond maxRetryAfterMs ends the call at once, keeping retryAfterMs', async () => {
    const { sleeps, options } = harness();
    const { fn } = script(err('throttled', { retryAfterMs: 60_000 }));
    await expect(withRetries(fn, options)).rejects.toMatchObject({
      kind: 'throttled',
      retryAfterMs: 60_000,
      attempts: 1,
    });
    expect(sleeps).toEqual([]);
  });

  test('401: one immediate extra attempt when fresh credentials were found', async () => {
    let refreshed = 0;
    const { sleeps, options } = harness({
      onUnauthorized: async () => {
        refreshed += 1;
        return true;
      },
    });
    const { calls, fn } = script(err('unauthorized'));
    await expect(withRetries(fn, options)).resolves.toBe('ok');
    expect(calls).toEqual([1, 2]);
    expect(refreshed).toBe(1);
    expect(sleeps).toEqual([]);
  });

  test('401 again after the refresh, or no new credentials: unauthorized', async () => {
    const twice = harness({ onUnauthorized: async () => true });
    const a = script(err('unauthorized'), err('unauthorized'));
    await expect(withRetries(a.fn, twice.options)).rejects.toMatchObject({ kind: 'unauthorized' });
    expect(a.calls).toEqual([1, 2]);

    const same = harness({ onUnauthorized: async () => false });
    const b = script(err('unauthorized'));
    await expect(withRetries(b.fn, same.options)).rejects.toMatchObject({ kind: 'unauthorized' });
    expect(b.calls).toEqual([1]);
  });

  test('an abort during the backoff sleep surfaces as the classified abort', async () => {
    const ac = new AbortController();
    const { options } = harness({
      signal: ac.signal,
      classify: (e) => (e instanceof ClusterError ? e : err('aborted')),
      sleep: async () => {
        ac.abort();
        throw new Error('aborted');
      },
    });
    const { fn } = script(err('timeout'));
    await expect(withRetries(fn, options)).rejects.toMatchObject({ kind: 'aborted' });
  });

  test('reports each retry', async () => {
    const events: unknown[] = [];
    const { options } = harness({
      onRetry: (e) => events.push({ kind: e.error.kind, attempt: e.attempt, delayMs: e.delayMs }),
    });
    const { fn } = script(err('server-error'));
    await withRetries(fn, options);
    expect(events).toEqual([{ kind: 'server-error', attempt: 1, delayMs: 100 }]);
  });
});

describe('ClusterError.mayHaveTakenEffect', () => {
  test('derived from kind and code', () => {
    const e = (kind: ClusterErrorKind, code?: string) =>
      new ClusterError({ kind, cluster: 'a', message: 'm', code }).mayHaveTakenEffect;
    expect(e('connection', 'ECONNREFUSED')).toBe(false);
    expect(e('connection', 'UND_ERR_SOCKET')).toBe(true);
    expect(e('timeout')).toBe(true);
    expect(e('timeout', 'UND_ERR_CONNECT_TIMEOUT')).toBe(false);
    expect(e('server-error')).toBe(true);
    expect(e('throttled')).toBe(false);
    expect(e('unauthorized')).toBe(false);
    expect(e('tls', 'CERT_HAS_EXPIRED')).toBe(false);
    expect(e('circuit-open')).toBe(false);
  });
});
