import { describe, expect, it } from '@jest/globals';

import type { SleepFn } from '../../../src/clusters/backoff.js';
import { RateLimiter } from '../../../src/clusters/rate-limiter.js';

/** Time that moves only when the test says so; sleeps end when it passes their deadline. */
class FakeClock {
  private t = 0;
  private sleepers: { at: number; resolve: () => void }[] = [];

  readonly now = () => this.t;

  readonly sleep: SleepFn = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper = { at: this.t + ms, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal.reason);
      });
    });

  /** Moves time forward, waking sleepers in deadline order. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    for (;;) {
      await flush();
      const next = this.sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      this.sleepers = this.sleepers.filter((s) => s !== next);
      this.t = next.at;
      next.resolve();
    }
    this.t = target;
    await flush();
  }
}

const flush = () => new Promise((r) => setImmediate(r));

function limiter(qps: number, burst: number) {
  const clock = new FakeClock();
  return { clock, limiter: new RateLimiter({ limit: { qps, burst }, ...clock }) };
}

/** Starts `n` acquires at once; records when (fake time) each got its token. */
function backlog(l: RateLimiter, clock: FakeClock, n: number) {
  const grantedAt: number[] = [];
  for (let i = 0; i < n; i += 1) {
    void l.acquire().then(() => grantedAt.push(clock.now()));
  }
  return grantedAt;
}

describe('RateLimiter (token bucket)', () => {
  it('grants a burst at once, then one token per 1/qps seconds', async () => {
    const { clock, limiter: l } = limiter(10, 3);
    const grantedAt = backlog(l, clock, 6);
    await clock.advance(0);
    expect(grantedAt).toEqual([0, 0, 0]);
    await clock.advance(1_000);
    expect(grantedAt).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it('never lets a backlog through faster than burst + qps x elapsed', async () => {
    const { clock, limiter: l } = limiter(50, 10);
    const grantedAt = backlog(l, clock, 500);
    for (let second = 1; second <= 5; second += 1) {
      await clock.advance(1_000);
      expect(grantedAt.length).toBe(10 + 50 * second);
    }
  });

  it('refills while idle, but never beyond the burst', async () => {
    const { clock, limiter: l } = limiter(10, 3);
    backlog(l, clock, 3);
    await clock.advance(60_000);
    const grantedAt = backlog(l, clock, 4);
    await clock.advance(0);
    expect(grantedAt).toEqual([60_000, 60_000, 60_000]);
    await clock.advance(100);
    expect(grantedAt).toHaveLength(4);
  });

  it('reports the wait, and gives up without taking a token when it is longer than allowed', async () => {
    const { clock, limiter: l } = limiter(10, 1);
    await expect(l.acquire()).resolves.toEqual({ ok: true, waitedMs: 0 });
    await expect(l.acquire(undefined, 50)).resolves.toEqual({ ok: false, waitMs: 100 });
    // Nothing was taken: the next caller waits 100 ms, not 200.
    const next = l.acquire();
    await clock.advance(100);
    await expect(next).resolves.toEqual({ ok: true, waitedMs: 100 });
  });

  it('gives the token back when the caller stops waiting', async () => {
    const { clock, limiter: l } = limiter(10, 1);
    await l.acquire();
    const stop = new AbortController();
    const abandoned = l.acquire(stop.signal);
    stop.abort(new Error('lock lost'));
    await expect(abandoned).rejects.toThrow('lock lost');
    const next = l.acquire();
    await clock.advance(100);
    await expect(next).resolves.toEqual({ ok: true, waitedMs: 100 });
  });

  it('holds every request, waiting or new, while the server asked to wait (429 Retry-After)', async () => {
    const { clock, limiter: l } = limiter(10, 1);
    await l.acquire();
    const waiting = backlog(l, clock, 1);
    l.pauseFor(2_000);
    const fresh = backlog(l, clock, 1);
    await clock.advance(1_999);
    expect([...waiting, ...fresh]).toEqual([]);
    await clock.advance(1);
    expect([...waiting, ...fresh]).toEqual([2_000, 2_000]);
  });

  it('does not limit at qps 0, but still honours a pause', async () => {
    const { clock, limiter: l } = limiter(0, 1);
    const grantedAt = backlog(l, clock, 100);
    await clock.advance(0);
    expect(grantedAt).toHaveLength(100);
    l.pauseFor(1_000);
    const after = backlog(l, clock, 1);
    await clock.advance(1_000);
    expect(after).toEqual([1_000]);
  });
});
