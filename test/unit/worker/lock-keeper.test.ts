import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';

import { Emitter } from '../../../src/shared/typed-events.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import { LockKeeper, type RenewResult } from '../../../src/worker/lock-keeper.js';

class LockLostError extends Error {}

describe('LockKeeper', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const lockFor = (ms: number) => new Date(Date.now() + ms);

  it('renews before expiry, at lockedUntil - min(remaining / 2, 10 s), and keeps the lock', async () => {
    const renewedAt: number[] = [];
    const keeper = new LockKeeper({
      renew: async () => {
        renewedAt.push(Date.now());
        return lockFor(60_000);
      },
      isLockLost: (e) => e instanceof LockLostError,
      lockedUntil: lockFor(60_000),
      maxRenewalDurationMs: 10 * 60_000,
    });
    const start = Date.now();

    await jest.advanceTimersByTimeAsync(180_000); // three lock durations
    keeper.stop();

    expect(keeper.lost).toBe(false);
    // 60 s lock, renewed 10 s before each expiry: at 50 s, 100 s, 150 s.
    expect(renewedAt.map((t) => t - start)).toEqual([50_000, 100_000, 150_000]);
  });

  it('renews a short lock at half its remaining time', async () => {
    const renewedAt: number[] = [];
    const start = Date.now();
    const keeper = new LockKeeper({
      renew: async () => {
        renewedAt.push(Date.now() - start);
        return lockFor(5_000);
      },
      isLockLost: () => false,
      lockedUntil: lockFor(5_000),
      maxRenewalDurationMs: 60_000,
    });
    await jest.advanceTimersByTimeAsync(6_000);
    keeper.stop();
    expect(renewedAt).toEqual([2_500, 5_000]);
  });

  it('aborts its signal when the broker says the lock is lost, and reports it', async () => {
    const results: RenewResult[] = [];
    const events = new Emitter<WorkerEvents>();
    events.on('lockRenewal', ({ delivery, result }) => {
      expect(delivery).toEqual({ messageId: 'm-1', deliveryCount: 0 });
      results.push(result);
    });
    const keeper = new LockKeeper({
      renew: async () => {
        throw new LockLostError('lock lost');
      },
      isLockLost: (e) => e instanceof LockLostError,
      lockedUntil: lockFor(10_000),
      maxRenewalDurationMs: 60_000,
      reportTo: { events, delivery: { messageId: 'm-1', deliveryCount: 0 } },
    });
    expect(keeper.lostSignal.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(keeper.lostSignal.aborted).toBe(true);
    expect(keeper.lost).toBe(true);
    expect(results).toEqual([expect.objectContaining({ ok: false, lockLost: true })]);
  });

  it('retries a transient renewal error while the lock is still valid', async () => {
    let calls = 0;
    const keeper = new LockKeeper({
      renew: async () => {
        calls += 1;
        if (calls === 1) throw new Error('connection reset');
        return lockFor(10_000);
      },
      isLockLost: () => false,
      lockedUntil: lockFor(10_000),
      maxRenewalDurationMs: 60_000,
      retryAfterErrorMs: 1_000,
    });
    await jest.advanceTimersByTimeAsync(6_500); // first attempt at 5 s fails, retry at 6 s
    expect(calls).toBe(2);
    expect(keeper.lost).toBe(false);
    keeper.stop();
  });

  it('stops renewing after the renewal budget and reports the lock lost once it expires', async () => {
    let calls = 0;
    const keeper = new LockKeeper({
      renew: async () => {
        calls += 1;
        return lockFor(10_000);
      },
      isLockLost: () => false,
      lockedUntil: lockFor(10_000),
      maxRenewalDurationMs: 12_000,
    });
    await jest.advanceTimersByTimeAsync(60_000);
    // Renewed at 5 s and 10 s (both inside the 12 s budget), then left to expire at 20 s.
    expect(calls).toBe(2);
    expect(keeper.lostSignal.aborted).toBe(true);
  });

  it('does nothing after stop()', async () => {
    let calls = 0;
    const keeper = new LockKeeper({
      renew: async () => {
        calls += 1;
        return lockFor(10_000);
      },
      isLockLost: () => false,
      lockedUntil: lockFor(10_000),
      maxRenewalDurationMs: 60_000,
    });
    keeper.stop();
    await jest.advanceTimersByTimeAsync(30_000);
    expect(calls).toBe(0);
    expect(keeper.lostSignal.aborted).toBe(false);
  });

  it('confirm() renews at once and reports a lock the broker dropped early', async () => {
    let lost = false;
    const renewedAt: number[] = [];
    const start = Date.now();
    const keeper = new LockKeeper({
      renew: async () => {
        renewedAt.push(Date.now() - start);
        if (lost) throw new LockLostError('lock lost');
        return lockFor(60_000);
      },
      isLockLost: (e) => e instanceof LockLostError,
      lockedUntil: lockFor(60_000),
      maxRenewalDurationMs: 10 * 60_000,
    });
    await jest.advanceTimersByTimeAsync(5_000);
    await keeper.confirm();
    expect(keeper.lostSignal.aborted).toBe(false);
    // The schedule starts over from the confirmed lock: next renewal 50 s after it.
    await jest.advanceTimersByTimeAsync(50_000);
    expect(renewedAt).toEqual([5_000, 55_000]);

    lost = true; // the broker forgot the lock, long before it would expire
    await jest.advanceTimersByTimeAsync(1_000);
    await keeper.confirm();
    expect(keeper.lostSignal.aborted).toBe(true);
    keeper.stop();
  });

  it('confirm() after a transient renewal error keeps the lock it has', async () => {
    let fail = true;
    const keeper = new LockKeeper({
      renew: async () => {
        if (fail) throw new Error('ServiceBusy');
        return lockFor(60_000);
      },
      isLockLost: (e) => e instanceof LockLostError,
      lockedUntil: lockFor(60_000),
      maxRenewalDurationMs: 10 * 60_000,
    });
    await keeper.confirm();
    expect(keeper.lostSignal.aborted).toBe(false);
    fail = false;
    await jest.advanceTimersByTimeAsync(1_000); // the retry after the error
    expect(keeper.lockedUntil.getTime()).toBe(Date.now() + 60_000); // renewed by the retry
    keeper.stop();
  });
});
