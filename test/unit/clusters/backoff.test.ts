import { describe, expect, test } from '@jest/globals';

import {
  Backoff,
  backoffDelay,
  sleep,
  type BackoffOptions,
} from '../../../src/clusters/backoff.js';

const opts = (jitter: BackoffOptions['jitter']): BackoffOptions => ({
  baseMs: 100,
  maxMs: 1000,
  jitter,
});

describe('backoffDelay', () => {
  test('without jitter the ceiling doubles per retry and stops at the cap', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((r) => backoffDelay(r, opts('none')));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  test('full jitter spans [0, ceiling] through the injected random', () => {
    expect(backoffDelay(3, opts('full'), () => 0)).toBe(0);
    expect(backoffDelay(3, opts('full'), () => 0.5)).toBe(200);
    expect(backoffDelay(3, opts('full'), () => 0.999999)).toBe(399);
  });

  test('equal jitter never goes below half the ceiling', () => {
    expect(backoffDelay(3, opts('equal'), () => 0)).toBe(200);
    expect(backoffDelay(3, opts('equal'), () => 0.999999)).toBe(399);
  });

  test('the cap holds for every random value and huge retry numbers', () => {
    for (const r of [0, 0.3, 0.7, 0.9999]) {
      expect(backoffDelay(500, opts('full'), () => r)).toBeLessThanOrEqual(1000);
    }
  });

  test('Retry-After wins when longer than the computed delay, even above the cap', () => {
    expect(backoffDelay(1, opts('full'), () => 0.5, 3000)).toBe(3000);
    expect(backoffDelay(4, opts('none'), () => 0.5, 300)).toBe(800);
    expect(backoffDelay(1, opts('none'), () => 0, 1500.2)).toBe(1501);
  });
});

describe('Backoff sequence', () => {
  test('grows, and starts over after reset', () => {
    const b = new Backoff(opts('none'));
    expect([b.next(), b.next(), b.next()]).toEqual([100, 200, 400]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.next()).toBe(100);
  });
});

describe('sleep', () => {
  test('rejects with the signal reason when aborted', async () => {
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });

  test('rejects at once when already aborted, resolves otherwise', async () => {
    await expect(sleep(1, AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
