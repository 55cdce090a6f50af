import {
  DEFAULT_BACKOFF,
  backoffDelay,
  type BackoffOptions,
  type RandomFn,
  type SleepFn,
} from './backoff.js';
import type { ClusterError } from './errors.js';

/**
 * How one API call is retried on the same cluster. Modelled on client-go (rest/request.go),
 * which retries 429/5xx when the server sends Retry-After, up to 10 times; podbus also retries
 * 5xx without Retry-After, timeouts and broken connections, but fewer times, because the worker
 * above has its own, longer retry budget and may try another cluster instead.
 */
export interface RetryPolicy {
  /**
   * Attempts per call, including the first (1 = no retries).
   * @defaultValue 4
   */
  readonly maxAttempts: number;
  readonly backoff: BackoffOptions;
  /**
   * A Retry-After longer than this is not slept through inside the call: the call fails at once
   * with the `throttled`/`server-error` error carrying `retryAfterMs`, so the caller can decide
   * (another cluster, or hold the message) instead of sitting on a lock.
   * @defaultValue 30_000
   */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  backoff: DEFAULT_BACKOFF,
  maxRetryAfterMs: 30_000,
};

export interface RetryEvent {
  readonly error: ClusterError;
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  readonly delayMs: number;
}

export interface RetryOptions {
  readonly policy: RetryPolicy;
  readonly classify: (err: unknown) => ClusterError;
  readonly sleep: SleepFn;
  readonly random: RandomFn;
  /** The caller's signal; aborts the sleep between attempts too. */
  readonly signal?: AbortSignal;
  /**
   * Called on a 401. Resolves true when fresh credentials were found (a rotated token file):
   * the call is then retried once, immediately, outside the attempt budget.
   */
  readonly onUnauthorized?: (err: ClusterError) => Promise<boolean>;
  readonly onRetry?: (event: RetryEvent) => void;
}

/**
 * Runs `attempt` until it succeeds, fails with a kind that is not retryable, or the attempts are
 * used up. Throws the last `ClusterError`, with `attempts` set.
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { policy, classify, signal } = options;
  let credentialsRefreshed = false;
  let failures = 0;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (raw) {
      const error = classify(raw);
      if (error.kind === 'unauthorized' && !credentialsRefreshed && options.onUnauthorized) {
        credentialsRefreshed = true;
        if (await options.onUnauthorized(error)) continue;
      }
      failures += 1;
      const tooLong =
        error.retryAfterMs !== undefined && error.retryAfterMs > policy.maxRetryAfterMs;
      if (!error.retryable || failures >= policy.maxAttempts || tooLong || signal?.aborted) {
        throw error.with({ attempts: n });
      }
      const delayMs = backoffDelay(failures, policy.backoff, options.random, error.retryAfterMs);
      options.onRetry?.({ error, attempt: n, delayMs });
      try {
        await options.sleep(delayMs, signal);
      } catch (abort) {
        throw classify(abort).with({ attempts: n });
      }
    }
  }
}
