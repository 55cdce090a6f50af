import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';

import { settleWhileLocked } from '../../../src/worker/delivery.js';
import { LockKeeper } from '../../../src/worker/lock-keeper.js';

describe('settleWhileLocked', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('keeps renewing the lock while the settlement waits, and stops once it is done', async () => {
    const renewedAt: number[] = [];
    const start = Date.now();
    const keeper = new LockKeeper({
      renew: async () => {
        renewedAt.push(Date.now() - start);
        return new Date(Date.now() + 60_000);
      },
      isLockLost: () => false,
      lockedUntil: new Date(start + 60_000),
      maxRenewalDurationMs: 30 * 60_000,
    });
    // The settlement waits behind a hung disposition of another message for three minutes.
    let settled!: () => void;
    const settling = new Promise<void>((resolve) => (settled = resolve));
    const done = settleWhileLocked(
      keeper,
      async () => ({ action: 'complete', outcome: 'created', cluster: 'a' }),
      () => settling.then(() => 'settled'),
    );

    await jest.advanceTimersByTimeAsync(180_000);
    expect(renewedAt).toEqual([50_000, 100_000, 150_000]);
    expect(keeper.lost).toBe(false);

    settled();
    await expect(done).resolves.toBe('settled');
    await jest.advanceTimersByTimeAsync(180_000);
    expect(renewedAt).toHaveLength(3);
  });

  it('lets the lock go when the settlement fails', async () => {
    const stop = jest.fn();
    await expect(
      settleWhileLocked(
        { stop },
        async () => ({ action: 'abandon', why: 'x' }),
        async () => {
          throw new Error('link detached');
        },
      ),
    ).rejects.toThrow('link detached');
    expect(stop).toHaveBeenCalledTimes(1);
  });
});
