import type { SleepFn } from './backoff.js';

/**
 * Client-side rate limit of one cluster's API server, per replica: a token bucket like
 * client-go's (`flowcontrol.NewTokenBucketRateLimiter`, rest.Config QPS/Burst). Every request
 * to the API server takes a token: `burst` of them are there at once, and they come back at
 * `qps` per second. 50 replicas that come back after an outage with a backlog then send at most
 * 50 x qps requests per second to a cluster, not as many as their concurrency allows.
 */
export interface RateLimit {
  /** Tokens per second; 0 turns the limit off. */
  readonly qps: number;
  /** Tokens available at once (whole number, at least 1). */
  readonly burst: number;
}

/**
 * The defaults, per cluster and per replica: what kube-controller-manager, every built-in
 * controller together, may send (`--kube-api-qps 20 --kube-api-burst 30`), four times
 * client-go's 5/10. docs/clusters.md ("Rate limit") says why and how to size it for a fleet.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = { qps: 20, burst: 30 };

export type Acquired =
  /** The token is taken; the request may go. */
  | { readonly ok: true; readonly waitedMs: number }
  /** The next token is further away than the caller would wait; nothing was taken. */
  | { readonly ok: false; readonly waitMs: number };

export class RateLimiter {
  private readonly limit: RateLimit;
  private readonly now: () => number;
  private readonly sleep: SleepFn;
  /** May go negative: tokens promised to callers that are still waiting for them. */
  private tokens: number;
  private updatedAt: number;
  /** No token is good before this (the server's Retry-After). */
  private pausedUntil = 0;

  constructor(options: { limit: RateLimit; now: () => number; sleep: SleepFn }) {
    this.limit = options.limit;
    this.now = options.now;
    this.sleep = options.sleep;
    this.tokens = options.limit.burst;
    this.updatedAt = options.now();
  }

  /**
   * Waits for a token, unless it would take longer than `maxWaitMs`. Rejects with the signal's
   * reason when it aborts first (the token is then given back).
   */
  async acquire(signal?: AbortSignal, maxWaitMs = Number.POSITIVE_INFINITY): Promise<Acquired> {
    const waitMs = this.reserve();
    if (waitMs > maxWaitMs) {
      this.giveBack();
      return { ok: false, waitMs };
    }
    let waitedMs = 0;
    // A pause that started while this caller waited (another request got a 429) holds it too.
    for (let next = waitMs; next > 0; next = this.pausedForMs()) {
      try {
        await this.sleep(next, signal);
      } catch (error) {
        this.giveBack();
        throw error;
      }
      waitedMs += next;
    }
    return { ok: true, waitedMs };
  }

  /**
   * The API server said "not before `ms` from now" (APF's 429 with Retry-After): no request of
   * this replica goes to it before then, not only the one retried.
   */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  /** How long from now no token is good (0 when not paused). */
  pausedForMs(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  /** Takes the next token: how long until it may be used. */
  private reserve(): number {
    const paused = this.pausedForMs();
    if (this.limit.qps <= 0) return paused;
    this.refill();
    this.tokens -= 1;
    const forToken = this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.limit.qps;
    return Math.max(Math.ceil(forToken), paused);
  }

  private giveBack(): void {
    if (this.limit.qps <= 0) return;
    this.refill();
    this.tokens = Math.min(this.limit.burst, this.tokens + 1);
  }

  private refill(): void {
    const now = this.now();
    const earned = ((now - this.updatedAt) * this.limit.qps) / 1000;
    this.tokens = Math.min(this.limit.burst, this.tokens + earned);
    this.updatedAt = now;
  }
}
