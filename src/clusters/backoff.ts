/**
 * Exponential backoff with jitter and a cap, honouring a server's Retry-After.
 * Time is injected (`random`, `sleep`) so tests never wait; see style-by-example §6.
 */

export type Jitter = 'full' | 'equal' | 'none';

export interface BackoffOptions {
  /**
   * Delay ceiling for the first retry.
   * @defaultValue 250
   */
  readonly baseMs: number;
  /**
   * No computed delay exceeds this.
   * @defaultValue 10_000
   */
  readonly maxMs: number;
  /**
   * `full`: uniform in [0, ceiling] (AWS "full jitter": spreads replicas that failed together).
   * `equal`: ceiling/2 + uniform in [0, ceiling/2] (never retries immediately).
   * `none`: the ceiling itself (tests, docs).
   * @defaultValue 'full'
   */
  readonly jitter: Jitter;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 10_000, jitter: 'full' };

/** Returns a number in [0, 1), like Math.random. */
export type RandomFn = () => number;

/** Resolves after `ms`, or rejects with the signal's reason when it fires first. */
export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * Delay before retry number `retry` (1 = the first retry): ceiling = min(maxMs, baseMs·2^(retry-1)),
 * jittered. When the server asked for `retryAfterMs`, the delay is max(jittered, retryAfterMs):
 * we never come back sooner than asked, and the jitter still spreads replicas beyond it.
 */
export function backoffDelay(
  retry: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: RandomFn = Math.random,
  retryAfterMs?: number,
): number {
  const exponent = Math.max(0, retry - 1);
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(exponent, 30));
  let delay: number;
  switch (options.jitter) {
    case 'full':
      delay = random() * ceiling;
      break;
    case 'equal':
      delay = ceiling / 2 + (random() * ceiling) / 2;
      break;
    case 'none':
      delay = ceiling;
      break;
  }
  delay = Math.floor(delay);
  return retryAfterMs !== undefined && retryAfterMs > delay ? Math.ceil(retryAfterMs) : delay;
}

/**
 * A backoff sequence for loops that retry until they succeed (watch reconnects): `next()` grows
 * the delay, `reset()` starts over after a success.
 */
export class Backoff {
  private retries = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: RandomFn = Math.random,
  ) {}

  next(retryAfterMs?: number): number {
    this.retries += 1;
    return backoffDelay(this.retries, this.options, this.random, retryAfterMs);
  }

  reset(): void {
    this.retries = 0;
  }

  get attempts(): number {
    return this.retries;
  }
}

/** Real sleep, abortable through the signal. */
export const sleep: SleepFn = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
