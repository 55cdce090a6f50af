import { describe, expect, it } from '@jest/globals';

import { Emitter } from '../../../src/shared/typed-events.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import {
  handleMessage,
  type HandlerDeps,
  type InboundMessage,
  type Prepared,
} from '../../../src/worker/message-handler.js';
import { MemoryCluster, MemoryFleet, podFor } from './support/memory-fleet.js';

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i += 1) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error('condition never became true');
}

/**
 * Backoff sleeps return at once and move a fake offset, so budgets are exact and tests never
 * wait; the clock is real time plus that offset, so event-driven waits (capacity) still time out.
 */
function harness(overrides: Partial<HandlerDeps> = {}) {
  const a = new MemoryCluster('a');
  const b = new MemoryCluster('b');
  const fleet = new MemoryFleet([a, b]);
  let clock = 0;
  const sleeps: number[] = [];
  const events = new Emitter<WorkerEvents>();
  const deps: HandlerDeps = {
    prepare: (m): Prepared => ({
      ok: true,
      pod: podFor(m.messageId, 'h1'),
      requestHash: 'h1',
      challengeId: 'c1',
    }),
    fleet,
    stickyPlacement: false,
    retryDelayMs: (attempt, retryAfterMs) => Math.max(1000 * 2 ** attempt, retryAfterMs ?? 0),
    retryBudgetMs: 60_000,
    maxHoldMs: 600_000,
    sleep: async (ms, signal) => {
      signal.throwIfAborted();
      sleeps.push(ms);
      clock += ms;
    },
    now: () => Date.now() + clock,
    events,
    ...overrides,
  };
  const elapse = (ms: number) => (clock += ms);
  const lockLost = new AbortController();
  const stopWaiting = new AbortController();
  let confirmLock: (() => Promise<void>) | undefined;
  const run = (message: Partial<InboundMessage> = {}) =>
    handleMessage({ messageId: 'msg-1', body: '{}', deliveryCount: 0, ...message }, deps, {
      lockLost: lockLost.signal,
      stopWaiting: stopWaiting.signal,
      ...(confirmLock && { confirmLock }),
    });
  const onConfirmLock = (confirm: () => Promise<void>) => (confirmLock = confirm);
  return {
    a,
    b,
    fleet,
    deps,
    events,
    sleeps,
    run,
    lockLost,
    stopWaiting,
    onConfirmLock,
    elapse,
  };
}

/** Who the harness's message is once prepared: every outcome after prepare names it. */
const identity = { challengeId: 'c1', pod: 'msg-1' };
const created = { action: 'complete', outcome: 'created', ...identity } as const;

describe('handleMessage', () => {
  it('dead-letters what prepare refuses, without touching any cluster', async () => {
    const { a, b, run } = harness({
      prepare: () => ({ ok: false, reason: 'InvalidJson', description: 'body is not JSON' }),
    });
    await expect(run()).resolves.toEqual({
      action: 'dead-letter',
      reason: 'InvalidJson',
      description: 'body is not JSON',
    });
    expect(a.creates + a.reads + b.creates + b.reads).toBe(0);
  });

  it('completes after the pod is created', async () => {
    const { a, run } = harness();
    await expect(run()).resolves.toEqual({ ...created, cluster: 'a' });
    expect(a.pods.has('msg-1')).toBe(true);
  });

  it('a first delivery fails over past a cluster it cannot ask; a redelivery holds', async () => {
    const first = harness();
    first.a.readScript = [{ kind: 'unreachable', reason: 'refused' }];
    first.fleet.down.add('a');
    await expect(first.run({ deliveryCount: 0 })).resolves.toMatchObject({ cluster: 'b' });

    const again = harness({ retryBudgetMs: 1_500 });
    again.a.readScript = [
      { kind: 'unreachable', reason: 'refused' },
      { kind: 'unreachable', reason: 'refused' },
    ];
    again.fleet.down.add('a');
    await expect(again.run({ deliveryCount: 1 })).resolves.toMatchObject({ action: 'abandon' });
    expect(again.b.creates).toBe(0);
  });

  it('skips the lookup only for a first delivery under sticky placement', async () => {
    const sticky = harness({ stickyPlacement: true });
    await sticky.run({ deliveryCount: 0 });
    expect(sticky.a.reads + sticky.b.reads).toBe(0);

    const redelivered = harness({ stickyPlacement: true });
    await redelivered.run({ deliveryCount: 1 });
    expect(redelivered.a.reads + redelivered.b.reads).toBe(2);
  });

  it('dead-letters MessageIdConflict and PodRejected with the cluster named', async () => {
    const conflict = harness();
    conflict.b.pods.set('msg-1', podFor('msg-1', 'someone-else'));
    await expect(conflict.run()).resolves.toMatchObject({
      action: 'dead-letter',
      reason: 'MessageIdConflict',
      cluster: 'b',
    });

    const rejected = harness();
    rejected.a.createScript = [
      { kind: 'rejected', reason: 'spec.containers[0].image: Required value' },
    ];
    await expect(rejected.run()).resolves.toEqual({
      action: 'dead-letter',
      reason: 'PodRejected',
      description: 'cluster a rejected the pod: spec.containers[0].image: Required value',
      cluster: 'a',
      ...identity,
    });
  });

  it('retries transient failures with growing delays that honour Retry-After', async () => {
    const { a, b, run, sleeps } = harness();
    a.createScript = [
      { kind: 'unavailable', reason: '503', retryAfterMs: 5_000 },
      { kind: 'unavailable', reason: '503' },
    ];
    b.createScript = [
      { kind: 'unavailable', reason: 'refused' },
      { kind: 'unavailable', reason: 'refused' },
    ];
    await expect(run()).resolves.toEqual({ ...created, cluster: 'a' });
    expect(sleeps).toEqual([5_000, 2_000]);
  });

  it('abandons once the retry budget would be exceeded, never in a tight loop', async () => {
    const { fleet, run, sleeps } = harness({ retryBudgetMs: 10_000 });
    fleet.down.add('a').add('b');
    const outcome = await run();
    expect(outcome).toMatchObject({ action: 'abandon' });
    expect((outcome as { why: string }).why).toContain(
      'retry budget of 10000 ms spent (no-healthy-cluster)',
    );
    expect(sleeps).toEqual([1_000, 2_000, 4_000]); // the next (8 s) would pass the budget
  });

  it('does not count time waiting for a cluster’s rate limit against the retry budget', async () => {
    const { a, b, run, sleeps, elapse } = harness({ retryBudgetMs: 10_000 });
    // Each create waits 30 s for its token (a busy replica under a small qps), then fails.
    for (const cluster of [a, b]) {
      cluster.pacing = { waitMs: 30_000, elapse };
      cluster.createScript = [
        { kind: 'unavailable', reason: 'refused' },
        { kind: 'unavailable', reason: 'refused' },
      ];
    }
    await expect(run()).resolves.toEqual({ ...created, cluster: 'a' });
    // Two rounds of failures (1 s, 2 s backoff) fit the 10 s budget; 180 s of pacing did not count.
    expect(sleeps).toEqual([1_000, 2_000]);
  });

  it('a message waits out an outage and flows when a cluster returns', async () => {
    const { fleet, run, events } = harness();
    fleet.down.add('a').add('b');
    let waited = 0;
    events.on('retry', () => {
      waited += 1;
      if (waited === 3) fleet.down.delete('b');
    });
    await expect(run()).resolves.toEqual({ ...created, cluster: 'b' });
  });

  it('waits for capacity without spending the retry budget, and creates when a pod finishes', async () => {
    const { fleet, run, sleeps, b } = harness({ retryBudgetMs: 1 });
    fleet.full.add('a').add('b');
    const outcome = run();
    await until(() => fleet.capacityWaiterCount === 1);
    fleet.freeCapacity('b');
    await expect(outcome).resolves.toEqual({ ...created, cluster: 'b' });
    expect(sleeps).toEqual([]); // no backoff sleeps: the wait was event-driven
    expect(b.pods.has('msg-1')).toBe(true);
  });

  it('hands a message back once it has been held for maxHoldMs waiting for capacity', async () => {
    const { fleet, run } = harness({ maxHoldMs: 50 });
    fleet.full.add('a').add('b');
    await expect(run()).resolves.toMatchObject({
      action: 'abandon',
      why: expect.stringMatching(/^held \d+ ms waiting for capacity: a: full, b: full$/),
    });
  });

  it('hands the message back when shutdown interrupts a capacity wait', async () => {
    const { fleet, run, stopWaiting } = harness();
    fleet.full.add('a').add('b');
    const outcome = run();
    await until(() => fleet.capacityWaiterCount === 1);
    stopWaiting.abort();
    await expect(outcome).resolves.toMatchObject({
      action: 'abandon',
      why: expect.stringContaining('shutting down while waiting (no-capacity)'),
    });
  });

  it('hands the message back when shutdown interrupts a wait', async () => {
    const { fleet, run, stopWaiting } = harness();
    fleet.down.add('a').add('b');
    stopWaiting.abort();
    await expect(run()).resolves.toMatchObject({
      action: 'abandon',
      why: 'shutting down while waiting (lookup-incomplete): lookup interrupted',
    });
  });

  it('stops before creating anything once the lock is lost', async () => {
    const { a, b, run, lockLost } = harness();
    lockLost.abort(new Error('lock expired at 12:00:00'));
    await expect(run()).resolves.toEqual({
      action: 'lock-lost',
      why: 'lock expired at 12:00:00',
      ...identity,
    });
    expect(a.creates + b.creates).toBe(0);
  });

  it('renews the lock before failing over, and stops there when the broker says it is lost', async () => {
    const { a, b, run, lockLost, onConfirmLock } = harness();
    a.createScript = [{ kind: 'unavailable', reason: 'connection refused' }];
    onConfirmLock(async () => {
      if (a.creates > 0) lockLost.abort(new Error('MessageLockLost: the lock was lost'));
    });
    await expect(run()).resolves.toEqual({
      action: 'lock-lost',
      why: 'MessageLockLost: the lock was lost',
      ...identity,
    });
    expect([a.creates, b.creates]).toEqual([1, 0]);
  });

  it('a lock dropped during the backoff before a pinned retry stops the retry', async () => {
    const { a, b, run, lockLost, onConfirmLock } = harness();
    a.createScript = [{ kind: 'unknown', reason: '503 Service Unavailable' }];
    // The broker forgot the lock while the handler slept; only asking it tells.
    onConfirmLock(async () => {
      if (a.creates > 0) lockLost.abort(new Error('MessageLockLost: the lock was lost'));
    });
    await expect(run()).resolves.toEqual({
      action: 'lock-lost',
      why: 'MessageLockLost: the lock was lost',
      ...identity,
    });
    expect([a.creates, b.creates]).toEqual([1, 0]);
  });

  it('shutting down while pinned, leaves the message locked instead of handing it back', async () => {
    const { a, b, run, stopWaiting } = harness({
      sleep: async (_ms, signal) => {
        stopWaiting.abort(); // the worker starts shutting down during the backoff
        signal.throwIfAborted();
      },
    });
    a.createScript = [{ kind: 'unknown', reason: 'timeout after 10000 ms' }];
    await expect(run()).resolves.toEqual({
      action: 'leave-locked',
      why: 'shutting down while waiting (pinned-cluster-unavailable): create on a may or may not have happened (timeout after 10000 ms); retrying there only',
      ...identity,
    });
    expect([a.creates, b.creates]).toEqual([1, 0]);
  });

  it('says what happens to the message, naming it: prepared, then each retry', async () => {
    const { fleet, run, events } = harness({
      prepare: (m): Prepared => ({
        ok: true,
        pod: podFor(m.messageId, 'h1'),
        requestHash: 'h1',
        challengeId: 'c1',
        jsonStringBody: true,
      }),
    });
    const said: unknown[] = [];
    events.on('messagePrepared', (e) => said.push(['prepared', e]));
    events.on('retry', (e) => {
      said.push(['retry', e]);
      fleet.down.delete('a');
    });
    fleet.down.add('a').add('b');
    await expect(run({ deliveryCount: 2 })).resolves.toEqual({ ...created, cluster: 'a' });
    const delivery = { messageId: 'msg-1', deliveryCount: 2, ...identity };
    expect(said).toEqual([
      ['prepared', { delivery, jsonStringBody: true }],
      [
        'retry',
        { delivery, why: 'no-healthy-cluster', detail: expect.any(String), delayMs: 1_000 },
      ],
    ]);
  });

  it('hands the message back, still named, when a bug throws while placing its pod', async () => {
    const { run, events, fleet } = harness();
    const failures: unknown[] = [];
    events.on('handlerFailed', (e) => failures.push(e));
    fleet.candidates = () => {
      throw new Error('bug in candidates');
    };
    await expect(run()).resolves.toEqual({
      action: 'abandon',
      why: 'unexpected error: bug in candidates',
      ...identity,
    });
    expect(failures).toEqual([
      { delivery: { messageId: 'msg-1', deliveryCount: 0 }, error: new Error('bug in candidates') },
    ]);
  });
});
