import { beforeEach, describe, expect, test } from '@jest/globals';

import { CircuitBreaker, type BreakerStateChange } from '../../../src/clusters/circuit-breaker.js';
import type { ClusterEvents } from '../../../src/clusters/events.js';
import { Emitter } from '../../../src/shared/typed-events.js';

let now: number;
let changes: BreakerStateChange[];
let breaker: CircuitBreaker;

beforeEach(() => {
  now = 1_000;
  changes = [];
  const events = new Emitter<ClusterEvents>();
  events.on('breakerStateChanged', (c) => changes.push(c));
  breaker = new CircuitBreaker({
    cluster: 'alpha',
    options: { failureThreshold: 3, openMs: 1000, maxOpenMs: 4000, probeTimeoutMs: 10_000 },
    now: () => now,
    events,
  });
});

const fail = (n: number, kind = 'connection' as const) => {
  for (let i = 0; i < n; i++) breaker.record('failure', kind);
};

describe('CircuitBreaker', () => {
  test('starts closed and lets calls through', () => {
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(true);
  });

  test('opens after failureThreshold consecutive failures and refuses calls', () => {
    fail(2);
    expect(breaker.state).toBe('closed');
    fail(1, 'connection');
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.isAvailable()).toBe(false);
    expect(changes).toEqual([
      {
        cluster: 'alpha',
        from: 'closed',
        to: 'open',
        reason: '3 consecutive failures (last: connection)',
        at: 1000,
      },
    ]);
  });

  test('a success in between resets the count; neutral outcomes do not', () => {
    fail(2);
    breaker.record('success');
    fail(2);
    expect(breaker.state).toBe('closed');
    breaker.record('neutral');
    fail(1);
    expect(breaker.state).toBe('open');
  });

  test('after the cool-down one probe goes through (half-open); success closes', () => {
    fail(3);
    now += 999;
    expect(breaker.tryAcquire()).toBe(false);
    now += 1;
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false); // only one probe at a time
    breaker.record('success');
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
    expect(changes.map((c) => c.to)).toEqual(['open', 'half-open', 'closed']);
  });

  test('a failed probe re-opens with a doubled cool-down, capped', () => {
    fail(3);
    const cooldowns: number[] = [];
    for (let i = 0; i < 4; i++) {
      const openedAt = now;
      while (!breaker.isAvailable()) now += 100;
      cooldowns.push(now - openedAt);
      expect(breaker.tryAcquire()).toBe(true);
      breaker.record('failure', 'timeout');
      expect(breaker.state).toBe('open');
    }
    expect(cooldowns).toEqual([1000, 2000, 4000, 4000]);
    expect(changes.at(-1)?.reason).toBe('probe failed (last: timeout)');
  });

  test('closing resets the cool-down to openMs', () => {
    fail(3);
    now += 1000;
    breaker.tryAcquire();
    breaker.record('failure');
    now += 2000;
    breaker.tryAcquire();
    breaker.record('success');
    fail(3);
    now += 1000;
    expect(breaker.isAvailable()).toBe(true);
  });

  test('a neutral probe result frees the probe slot without closing', () => {
    fail(3);
    now += 1000;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.record('neutral');
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
  });

  test('a lost probe is replaced after probeTimeoutMs', () => {
    fail(3);
    now += 1000;
    expect(breaker.tryAcquire()).toBe(true);
    now += 9_999;
    expect(breaker.tryAcquire()).toBe(false);
    now += 1;
    expect(breaker.tryAcquire()).toBe(true);
  });

  test('results arriving while open (calls started earlier) are ignored', () => {
    fail(3);
    breaker.record('success');
    expect(breaker.state).toBe('open');
  });
});
