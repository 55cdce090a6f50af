import { afterEach, describe, expect, it } from '@jest/globals';

import { OFFICIAL_DEFAULTS } from '../../src/config.js';
import type { QueueSettings } from '../../src/config.js';
import { PayloadStore } from '../../src/payload-store.js';
import { MessageState, Queue, QueueOperationError } from '../../src/queue.js';
import type { QueueListener, StoredMessage } from '../../src/queue.js';
import { FakeClock, bodyOf, decode, incoming } from './support.js';

const stores: PayloadStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

interface Harness {
  queue: Queue;
  dlq: Queue;
  clock: FakeClock;
  events: string[];
}

function harness(overrides: Partial<QueueSettings> = {}): Harness {
  const settings: QueueSettings = { name: 'q', ...OFFICIAL_DEFAULTS, ...overrides };
  const clock = new FakeClock();
  const payloads = new PayloadStore();
  stores.push(payloads);
  const events: string[] = [];
  let lockId = 0;
  let assigned = 0;
  const deps = {
    clock: clock.fn,
    payloads,
    nextLockId: () => ++lockId,
    assignMessageId: () => `assigned-${++assigned}`,
  };
  const dlq = new Queue(settings, { ...deps }, { deadLetter: true });
  const queue = new Queue(settings, { ...deps, deadLetterQueue: dlq });
  const listener = (name: string): QueueListener => ({
    enqueued: (_q, m) => events.push(`${name}:enqueued:${m.seq}`),
    removed: (_q, m) => events.push(`${name}:removed:${m.seq}`),
    updated: (_q, m, bare) =>
      events.push(`${name}:updated:${m.seq}:${m.deliveryCount}${bare ? ':payload' : ''}`),
    available: () => events.push(`${name}:available`),
  });
  queue.setListener(listener('q'));
  dlq.setListener(listener('dlq'));
  return { queue, dlq, clock, events };
}

function send(q: Queue, body: unknown, fields: Record<string, unknown> = {}): number {
  return q.enqueue(incoming({ body, message_id: `id-${String(body)}`, ...fields })).sequenceNumber;
}

function lockedBody(q: Queue): unknown {
  const m = q.lockNext();
  return m ? bodyOf(q.encode(m)) : undefined;
}

function appProps(q: Queue, m: StoredMessage): unknown {
  return decode(q.encode(m)).application_properties;
}

describe('Queue: delivery order, locks and settlement', () => {
  it('hands out messages in sequence order with rising sequence numbers', () => {
    const { queue } = harness();
    expect([send(queue, 'a'), send(queue, 'b'), send(queue, 'c')]).toEqual([1, 2, 3]);
    expect([lockedBody(queue), lockedBody(queue), lockedBody(queue)]).toEqual(['a', 'b', 'c']);
    expect(queue.lockNext()).toBeUndefined();
    expect(queue.stats()).toMatchObject({ active: 0, locked: 3, total: 3 });
  });

  it('locks for the lock duration and shows the broker annotations', () => {
    const { queue, clock } = harness({ lockDurationMs: 30_000 });
    send(queue, 'a');
    clock.advance(10);
    const m = queue.lockNext() as StoredMessage;
    expect(m.lockedUntil).toBe(clock.now + 30_000);
    const wire = decode(queue.encode(m));
    expect(wire.delivery_count).toBe(0);
    expect(wire.ttl).toBe(OFFICIAL_DEFAULTS.defaultMessageTimeToLiveMs);
    expect(wire.message_annotations).toEqual({
      'x-opt-sequence-number': 1,
      'x-opt-enqueued-time': new Date(clock.now - 10),
      'x-opt-enqueue-sequence-number': 1,
      'x-opt-locked-until': new Date(clock.now + 30_000),
      'x-opt-message-state': 0,
    });
    expect(queue.nextDeadline()).toBe(m.lockedUntil);
  });

  it('complete removes; a second complete or an unknown lock is lock-lost', () => {
    const { queue, events } = harness();
    send(queue, 'a');
    const m = queue.lockNext() as StoredMessage;
    expect(queue.complete(m.lockId)).toBe('ok');
    expect(queue.complete(m.lockId)).toBe('lock-lost');
    expect(queue.complete(999)).toBe('lock-lost');
    expect(queue.stats()).toMatchObject({ active: 0, locked: 0, total: 0 });
    expect(events).toEqual(['q:enqueued:1', 'q:available', 'q:removed:1']);
  });

  it('an expired lock is lost even before the deadline is processed', () => {
    const { queue, clock } = harness({ lockDurationMs: 5_000 });
    send(queue, 'a');
    const m = queue.lockNext() as StoredMessage;
    clock.advance(5_000);
    expect(queue.complete(m.lockId)).toBe('lock-lost');
    expect(queue.renewLock(m.lockId)).toBeUndefined();
  });

  it('lock expiry returns the message to its place with deliveryCount + 1', () => {
    const { queue, clock, events } = harness({ lockDurationMs: 5_000, maxDeliveryCount: 10 });
    send(queue, 'a');
    send(queue, 'b');
    const a = queue.lockNext() as StoredMessage;
    const firstLock = a.lockId;
    expect(queue.nextDeadline()).toBe(a.lockedUntil);
    clock.advance(4_999);
    queue.processDue();
    expect(queue.stats().locked).toBe(1);
    clock.advance(1);
    events.length = 0;
    queue.processDue();
    expect(events).toEqual(['q:updated:1:1', 'q:available']);
    const again = queue.lockNext() as StoredMessage;
    expect(again.seq).toBe(1); // before b
    expect(decode(queue.encode(again)).delivery_count).toBe(1);
    expect(again.lockId).not.toBe(firstLock);
    expect(queue.complete(firstLock)).toBe('lock-lost');
  });

  it('renewLock extends the lock and moves its deadline', () => {
    const { queue, clock } = harness({ lockDurationMs: 5_000 });
    send(queue, 'a');
    const m = queue.lockNext() as StoredMessage;
    clock.advance(4_000);
    expect(queue.renewLock(m.lockId)).toBe(clock.now + 5_000);
    clock.advance(4_000);
    queue.processDue();
    expect(queue.complete(m.lockId)).toBe('ok');
  });

  it('abandon counts a delivery, keeps the position and applies properties', () => {
    const { queue, events } = harness({ maxDeliveryCount: 10 });
    send(queue, 'a', { application_properties: { keep: 1 } });
    send(queue, 'b');
    const a = queue.lockNext() as StoredMessage;
    const firstLock = a.lockId;
    events.length = 0;
    expect(queue.abandon(firstLock, { reason: 'busy' })).toBe('ok');
    expect(events).toEqual(['q:updated:1:1:payload', 'q:available']);
    const again = queue.lockNext() as StoredMessage;
    expect(again.seq).toBe(1);
    expect(again.deliveryCount).toBe(1);
    expect(appProps(queue, again)).toEqual({ keep: 1, reason: 'busy' });
    expect(queue.abandon(firstLock)).toBe('lock-lost');
  });

  it('release (AMQP released) returns the message without counting a delivery', () => {
    const { queue } = harness();
    send(queue, 'a');
    const m = queue.lockNext() as StoredMessage;
    expect(queue.release(m.lockId)).toBe('ok');
    expect((queue.lockNext() as StoredMessage).deliveryCount).toBe(0);
  });

  it('takeNext (receiveAndDelete) removes the message at once', () => {
    const { queue, events } = harness();
    send(queue, 'a');
    const m = queue.takeNext() as StoredMessage;
    expect(bodyOf(queue.encode(m))).toBe('a');
    queue.discard(m);
    expect(queue.stats().total).toBe(0);
    expect(events).toContain('q:removed:1');
    expect(queue.takeNext()).toBeUndefined();
  });

  it('assigns a message id when the sender set none', () => {
    const { queue } = harness();
    queue.enqueue(incoming({ body: 'x' }));
    const m = queue.lockNext() as StoredMessage;
    expect(decode(queue.encode(m)).message_id).toBe('assigned-1');
  });
});

describe('Queue: dead-lettering', () => {
  it('dead-letters after MaxDeliveryCount deliveries, keeping body and properties', () => {
    const { queue, dlq } = harness({ maxDeliveryCount: 3 });
    send(queue, 'poison', { application_properties: { tenant: 't' }, subject: 's' });
    for (let i = 0; i < 3; i++) {
      const m = queue.lockNext() as StoredMessage;
      expect(m.deliveryCount).toBe(i);
      queue.abandon(m.lockId);
    }
    expect(queue.lockNext()).toBeUndefined();
    expect(queue.stats().total).toBe(0);
    const dead = dlq.lockNext() as StoredMessage;
    const wire = decode(dlq.encode(dead));
    expect(bodyOf(dlq.encode(dead))).toBe('poison');
    expect(wire.subject).toBe('s');
    expect(wire.message_id).toBe('id-poison');
    expect(wire.delivery_count).toBe(3);
    expect(wire.application_properties).toEqual({
      tenant: 't',
      DeadLetterReason: 'MaxDeliveryCountExceeded',
      DeadLetterErrorDescription: 'Message could not be consumed after 3 delivery attempts.',
    });
    expect(wire.message_annotations?.['x-opt-enqueue-sequence-number']).toBe(1);
    expect(dead.seq).toBe(1); // the dead-letter queue numbers its own messages
  });

  it('lock expiries count toward MaxDeliveryCount too', () => {
    const { queue, dlq, clock } = harness({ maxDeliveryCount: 2, lockDurationMs: 1_000 });
    send(queue, 'slow');
    queue.lockNext();
    clock.advance(1_000);
    queue.processDue();
    queue.lockNext();
    clock.advance(1_000);
    queue.processDue();
    expect(queue.stats().total).toBe(0);
    expect(dlq.stats().active).toBe(1);
  });

  it('deadLetter moves the message with reason, description and custom properties', () => {
    const { queue, dlq, events } = harness();
    send(queue, 'bad');
    const m = queue.lockNext() as StoredMessage;
    events.length = 0;
    expect(queue.deadLetter(m.lockId, 'Reason', 'Desc', { extra: 'x', ignored: null })).toBe('ok');
    expect(events).toEqual(['dlq:enqueued:1', 'dlq:available', 'q:removed:1']);
    const dead = dlq.lockNext() as StoredMessage;
    expect(appProps(dlq, dead)).toEqual({
      extra: 'x',
      DeadLetterReason: 'Reason',
      DeadLetterErrorDescription: 'Desc',
    });
    expect(dead.deliveryCount).toBe(0);
  });

  it('the dead-letter queue never expires or dead-letters its messages', () => {
    const { queue, dlq, clock } = harness({
      maxDeliveryCount: 1,
      defaultMessageTimeToLiveMs: 1_000,
    });
    send(queue, 'x');
    queue.deadLetter((queue.lockNext() as StoredMessage).lockId, 'r', 'd');
    clock.advance(10_000);
    dlq.processDue();
    const m = dlq.lockNext() as StoredMessage;
    expect(m.expiresAt).toBe(Infinity);
    dlq.abandon(m.lockId);
    dlq.abandon((dlq.lockNext() as StoredMessage).lockId);
    expect(dlq.stats().active).toBe(1);
    const again = dlq.lockNext() as StoredMessage;
    expect(() => dlq.deadLetter(again.lockId, 'r', 'd')).toThrow(QueueOperationError);
  });
});

describe('Queue: deferral', () => {
  it('defers, receives by sequence number, and abandoning keeps it deferred', () => {
    const { queue } = harness({ maxDeliveryCount: 2 });
    const seq = send(queue, 'later');
    send(queue, 'now');
    const m = queue.lockNext() as StoredMessage;
    expect(queue.defer(m.lockId)).toBe('ok');
    expect(queue.stats()).toMatchObject({ deferred: 1, active: 1 });
    expect(bodyOf(queue.encode(queue.lockNext() as StoredMessage))).toBe('now');
    expect(queue.lockNext()).toBeUndefined();

    const [d] = queue.receiveDeferred([seq], true);
    expect(d?.deliveryCount).toBe(1);
    expect(
      decode(queue.encode(d as StoredMessage)).message_annotations?.['x-opt-message-state'],
    ).toBe(1);
    // abandoning a deferred message does not dead-letter it, even past MaxDeliveryCount
    queue.abandon((d as StoredMessage).lockId);
    const [again] = queue.receiveDeferred([seq], true);
    expect(again?.deliveryCount).toBe(2);
    queue.abandon((again as StoredMessage).lockId);
    expect(queue.stats().deferred).toBe(1);
  });

  it('receive-by-sequence-number is all or nothing and only for deferred messages', () => {
    const { queue } = harness();
    const a = send(queue, 'a');
    const b = send(queue, 'b');
    queue.defer((queue.lockNext() as StoredMessage).lockId);
    expect(() => queue.receiveDeferred([a, b], true)).toThrow(/not deferred/);
    expect(queue.stats().deferred).toBe(1); // a was not locked by the failed call
    expect(() => queue.receiveDeferred([12345], true)).toThrow(QueueOperationError);
    const [taken] = queue.receiveDeferred([a], false);
    expect(taken?.state).toBe(MessageState.removed);
  });

  it('an expired lock on a deferred message leaves it deferred', () => {
    const { queue, clock } = harness({ lockDurationMs: 1_000 });
    const seq = send(queue, 'd');
    queue.defer((queue.lockNext() as StoredMessage).lockId);
    queue.receiveDeferred([seq], true);
    clock.advance(1_000);
    queue.processDue();
    expect(queue.stats()).toMatchObject({ deferred: 1, locked: 0, active: 0 });
    expect(queue.receiveDeferred([seq], true)[0]?.deliveryCount).toBe(2);
  });
});

describe('Queue: scheduling', () => {
  it('keeps a scheduled message until its time, then delivers it', () => {
    const { queue, clock, events } = harness();
    const at = clock.now + 10_000;
    const seq = queue.enqueue(
      incoming({
        body: 's',
        message_annotations: { 'x-opt-scheduled-enqueue-time': new Date(at) },
      }),
    ).sequenceNumber;
    expect(queue.stats().scheduled).toBe(1);
    expect(queue.lockNext()).toBeUndefined();
    expect(queue.nextDeadline()).toBe(at);
    const [peeked] = queue.peek(1, 10);
    expect(
      decode(queue.encode(peeked as StoredMessage)).message_annotations?.['x-opt-message-state'],
    ).toBe(2);
    clock.advance(9_999);
    queue.processDue();
    expect(queue.lockNext()).toBeUndefined();
    clock.advance(1);
    events.length = 0;
    queue.processDue();
    expect(events).toEqual(['q:available']);
    const m = queue.lockNext() as StoredMessage;
    expect(m.seq).toBe(seq);
    expect(m.enqueuedAt).toBe(at);
    expect(m.expiresAt).toBe(at + OFFICIAL_DEFAULTS.defaultMessageTimeToLiveMs);
  });

  it('a scheduled time in the past enqueues at once', () => {
    const { queue, clock } = harness();
    queue.enqueue(
      incoming({
        body: 'p',
        message_annotations: { 'x-opt-scheduled-enqueue-time': new Date(clock.now - 1) },
      }),
    );
    expect(queue.lockNext()).toBeDefined();
  });

  it('cancels scheduled messages and ignores numbers that are not scheduled', () => {
    const { queue, clock } = harness();
    const at = new Date(clock.now + 1_000);
    const s1 = queue.enqueue(
      incoming({ body: 1, message_annotations: { 'x-opt-scheduled-enqueue-time': at } }),
    ).sequenceNumber;
    const s2 = queue.enqueue(
      incoming({ body: 2, message_annotations: { 'x-opt-scheduled-enqueue-time': at } }),
    ).sequenceNumber;
    const active = send(queue, 'active');
    queue.cancelScheduled([s1, active, 999]);
    expect(queue.stats()).toMatchObject({ scheduled: 1, active: 1 });
    clock.advance(1_000);
    queue.processDue();
    expect([queue.lockNext()?.seq, queue.lockNext()?.seq]).toEqual(
      [s2, active].sort((a, b) => a - b),
    );
  });
});

describe('Queue: time-to-live', () => {
  it('drops expired messages, or dead-letters them when configured', () => {
    for (const deadLettering of [false, true]) {
      const { queue, dlq, clock } = harness({ deadLetteringOnMessageExpiration: deadLettering });
      send(queue, 'short', { ttl: 1_000 });
      send(queue, 'long');
      expect(queue.nextDeadline()).toBe(clock.now + 1_000);
      clock.advance(1_000);
      queue.processDue();
      expect(queue.stats().total).toBe(1);
      expect(dlq.stats().total).toBe(deadLettering ? 1 : 0);
      if (deadLettering) {
        const dead = dlq.lockNext() as StoredMessage;
        expect(appProps(dlq, dead)).toMatchObject({ DeadLetterReason: 'TTLExpiredException' });
      }
    }
  });

  it('uses the smaller of the message TTL and the queue default', () => {
    const { queue, clock } = harness({ defaultMessageTimeToLiveMs: 60_000 });
    send(queue, 'a', { ttl: 120_000 });
    send(queue, 'b', { ttl: 1_000 });
    const [a, b] = queue.peek(0, 2);
    expect(a?.expiresAt).toBe(clock.now + 60_000);
    expect(b?.expiresAt).toBe(clock.now + 1_000);
    expect(decode(queue.encode(a as StoredMessage)).ttl).toBe(60_000);
  });

  it('does not hand out a message whose TTL passed even if no timer ran yet', () => {
    const { queue, clock } = harness();
    send(queue, 'a', { ttl: 100 });
    send(queue, 'b');
    clock.advance(100);
    expect(bodyOf(queue.encode(queue.lockNext() as StoredMessage))).toBe('b');
    expect(queue.stats().total).toBe(1);
  });

  it('a locked message expires only when its lock ends', () => {
    const { queue, dlq, clock } = harness({
      lockDurationMs: 5_000,
      deadLetteringOnMessageExpiration: true,
    });
    send(queue, 'a', { ttl: 1_000 });
    const m = queue.lockNext() as StoredMessage;
    clock.advance(2_000);
    queue.processDue();
    expect(queue.stats().locked).toBe(1);
    expect(queue.complete(m.lockId)).toBe('ok'); // still completable under lock
    send(queue, 'b', { ttl: 1_000 });
    const b = queue.lockNext() as StoredMessage;
    clock.advance(2_000);
    queue.processDue();
    queue.abandon(b.lockId);
    expect(queue.stats().total).toBe(0);
    expect(dlq.stats().total).toBe(1);
  });
});

describe('Queue: duplicate detection', () => {
  it('drops a resend inside the window and accepts it after', () => {
    const { queue, clock } = harness({
      requiresDuplicateDetection: true,
      duplicateDetectionHistoryTimeWindowMs: 10_000,
    });
    const first = queue.enqueue(incoming({ body: 1, message_id: 'same' }));
    const dup = queue.enqueue(incoming({ body: 2, message_id: 'same' }));
    expect(first).toEqual({ sequenceNumber: 1, duplicate: false });
    expect(dup).toEqual({ sequenceNumber: 1, duplicate: true });
    queue.complete((queue.lockNext() as StoredMessage).lockId);
    expect(queue.enqueue(incoming({ body: 3, message_id: 'same' })).duplicate).toBe(true);
    clock.advance(10_000);
    expect(queue.enqueue(incoming({ body: 4, message_id: 'same' }))).toEqual({
      sequenceNumber: 2,
      duplicate: false,
    });
  });

  it('does nothing when the queue does not require it', () => {
    const { queue } = harness();
    queue.enqueue(incoming({ body: 1, message_id: 'same' }));
    queue.enqueue(incoming({ body: 2, message_id: 'same' }));
    expect(queue.stats().active).toBe(2);
  });
});

describe('Queue: peek and scale', () => {
  it('peeks every state in sequence order from a sequence number', () => {
    const { queue, clock } = harness();
    send(queue, 'a');
    send(queue, 'b');
    queue.enqueue(
      incoming({
        body: 'c',
        message_annotations: { 'x-opt-scheduled-enqueue-time': new Date(clock.now + 1e6) },
      }),
    );
    send(queue, 'd');
    queue.lockNext();
    queue.defer((queue.lockNext() as StoredMessage).lockId);
    expect(queue.peek(1, 10).map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(queue.peek(2, 2).map((m) => m.seq)).toEqual([2, 3]);
    expect(queue.peek(5, 10)).toEqual([]);
  });

  it('keeps per-message work logarithmic: 100k messages through lock+complete quickly', () => {
    const { queue, clock } = harness({ lockDurationMs: 60_000 });
    const n = 100_000;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) send(queue, i);
    for (let i = 0; i < n; i++) {
      const m = queue.lockNext() as StoredMessage;
      if (i % 1000 === 0) clock.advance(1);
      queue.complete(m.lockId);
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    expect(queue.stats().total).toBe(0);
    // generous: a quadratic scan would take minutes here; linear-log takes about a second
    expect(seconds).toBeLessThan(20);
  });
});
