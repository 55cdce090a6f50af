import { afterEach, describe, expect, test } from '@jest/globals';

import {
  ActivePodTracker,
  MANAGED_BY_SELECTOR,
  isActivePod,
  type PodWatchSource,
} from '../../../src/clusters/active-pods.js';
import type {
  ListPodsOptions,
  PodList,
  WatchEventType,
  WatchPodsOptions,
} from '../../../src/clusters/cluster-client.js';
import { ClusterError } from '../../../src/clusters/errors.js';

// ---------------------------------------------------------------------------------------------
// A scripted PodWatchSource: lists answer from a queue (or wait for one), watches are driven by
// the test through FakeWatch.

interface FakeWatch {
  readonly options: WatchPodsOptions;
  emit(type: WatchEventType, object: unknown): void;
  end(err: ClusterError | null): void;
  stopped: boolean;
}

class FakeSource implements PodWatchSource {
  readonly name = 'alpha';
  readonly listCalls: ListPodsOptions[] = [];
  readonly watches: FakeWatch[] = [];
  private readonly listQueue: (PodList | ClusterError)[] = [];
  private listWaiter: (() => void) | undefined;
  /** When set, the next watchPods fails before being established. */
  failNextWatch: ClusterError | undefined;
  /** When set, watchPods does not resolve until this promise does (a hanging connect). */
  holdWatch: Promise<void> | undefined;

  queueList(answer: PodList | ClusterError): void {
    this.listQueue.push(answer);
    this.listWaiter?.();
  }

  async listPods(options: ListPodsOptions): Promise<PodList> {
    this.listCalls.push(options);
    while (this.listQueue.length === 0) {
      await new Promise<void>((resolve, reject) => {
        this.listWaiter = resolve;
        options.signal?.addEventListener('abort', () => reject(options.signal?.reason), {
          once: true,
        });
      });
    }
    const next = this.listQueue.shift()!;
    if (next instanceof ClusterError) throw next;
    return next;
  }

  async watchPods(
    options: WatchPodsOptions,
    onEvent: (type: WatchEventType, object: unknown) => void,
    onDone: (err: ClusterError | null) => void,
  ) {
    let done = false;
    const end = (err: ClusterError | null) => {
      if (done) return;
      done = true;
      onDone(err);
    };
    if (this.holdWatch) await this.holdWatch;
    const w: FakeWatch = {
      options,
      stopped: false,
      emit: (type, object) => !done && onEvent(type, object),
      end,
    };
    this.watches.push(w);
    if (this.failNextWatch) {
      const e = this.failNextWatch;
      this.failNextWatch = undefined;
      end(e);
    }
    return {
      stop: () => {
        w.stopped = true;
        end(null);
      },
    };
  }
}

const pod = (
  name: string,
  phase?: string,
  extra: { rv?: string; deleting?: boolean } = {},
): object => ({
  metadata: {
    name,
    resourceVersion: extra.rv ?? '1',
    ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  status: phase === undefined ? {} : { phase },
});

const list = (rv: string, ...items: object[]): PodList => ({
  items: items as PodList['items'],
  resourceVersion: rv,
});

const clusterError = (kind: ClusterError['kind'], extra: { retryAfterMs?: number } = {}) =>
  new ClusterError({ kind, cluster: 'alpha', message: kind, ...extra });

/** Lets the tracker's promise chains run (no timers involved). */
async function until(predicate: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (predicate()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

let tracker: ActivePodTracker | undefined;
afterEach(async () => {
  await tracker?.stop();
  tracker = undefined;
});

function setup(max = 0, opts: { now?: () => number } = {}) {
  const source = new FakeSource();
  const sleeps: number[] = [];
  tracker = new ActivePodTracker({
    source,
    maxActivePods: max,
    backoff: { baseMs: 100, maxMs: 1000, jitter: 'none' },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0,
    now: opts.now ?? (() => 0),
  });
  return { source, sleeps, tracker };
}

describe('isActivePod', () => {
  test('Pending, Running, Unknown and phase-less pods are active; terminal or deleting are not', () => {
    expect(isActivePod(pod('a', 'Pending'))).toBe(true);
    expect(isActivePod(pod('a', 'Running'))).toBe(true);
    expect(isActivePod(pod('a', 'Unknown'))).toBe(true);
    expect(isActivePod(pod('a'))).toBe(true);
    expect(isActivePod(pod('a', 'Succeeded'))).toBe(false);
    expect(isActivePod(pod('a', 'Failed'))).toBe(false);
    expect(isActivePod(pod('a', 'Running', { deleting: true }))).toBe(false);
  });
});

describe('ActivePodTracker', () => {
  test('lists with the podbus label, counts active pods, then watches from the list RV', async () => {
    const { source, tracker } = setup();
    tracker.start();
    expect(tracker.synced).toBe(false);
    source.queueList(
      list(
        '100',
        pod('a', 'Running'),
        pod('b', 'Pending'),
        pod('c', 'Succeeded'),
        pod('d', 'Failed'),
      ),
    );
    await until(() => source.watches.length === 1, 'watch');
    expect(source.listCalls[0]?.labelSelector).toBe(MANAGED_BY_SELECTOR);
    expect(tracker.synced).toBe(true);
    expect(tracker.count).toBe(2);
    const opts = source.watches[0]!.options;
    expect(opts).toMatchObject({
      labelSelector: MANAGED_BY_SELECTOR,
      resourceVersion: '100',
      allowWatchBookmarks: true,
    });
    expect(opts.timeoutSeconds).toBeGreaterThanOrEqual(300);
    expect(opts.timeoutSeconds).toBeLessThan(600);
  });

  test('follows ADDED, MODIFIED (phase changes, deletion) and DELETED events', async () => {
    const { source, tracker } = setup();
    const seen: number[] = [];
    tracker.onChange((t) => seen.push(t.count));
    tracker.start();
    source.queueList(list('1'));
    await until(() => source.watches.length === 1);
    const w = source.watches[0]!;
    w.emit('ADDED', pod('a', 'Pending', { rv: '2' }));
    w.emit('ADDED', pod('b', 'Pending', { rv: '3' }));
    w.emit('MODIFIED', pod('a', 'Running', { rv: '4' }));
    expect(tracker.count).toBe(2);
    w.emit('MODIFIED', pod('a', 'Succeeded', { rv: '5' }));
    expect(tracker.count).toBe(1);
    w.emit('MODIFIED', pod('b', 'Running', { rv: '6', deleting: true }));
    expect(tracker.count).toBe(0);
    w.emit('DELETED', pod('b', 'Running', { rv: '7', deleting: true }));
    w.emit('DELETED', pod('a', 'Succeeded', { rv: '8' }));
    expect(tracker.count).toBe(0);
    expect(seen).toEqual([0, 1, 2, 1, 0]);
  });

  test("client-node's 30 s silence TimeoutError: re-watch from the last RV, no relist, no sleep", async () => {
    const { source, sleeps, tracker } = setup();
    tracker.start();
    source.queueList(list('10'));
    await until(() => source.watches.length === 1);
    source.watches[0]!.emit('ADDED', pod('a', 'Running', { rv: '11' }));
    source.watches[0]!.emit('BOOKMARK', { metadata: { resourceVersion: '15' } });
    source.watches[0]!.end(clusterError('timeout'));
    await until(() => source.watches.length === 2);
    expect(source.watches[1]!.options.resourceVersion).toBe('15');
    expect(source.listCalls).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(tracker.count).toBe(1);
  });

  test('ERROR event (expired RV arrives as 200 + ERROR 410) -> relist replaces the state', async () => {
    const { source, tracker } = setup();
    tracker.start();
    source.queueList(list('10', pod('a', 'Running'), pod('b', 'Running')));
    await until(() => source.watches.length === 1);
    expect(tracker.count).toBe(2);
    source.watches[0]!.emit('ERROR', {
      kind: 'Status',
      code: 410,
      reason: 'Expired',
      message: 'too old resource version: 10 (20)',
    });
    source.watches[0]!.end(null); // client-node calls done(null) after an ERROR event
    await until(() => source.listCalls.length === 2, 'relist');
    source.queueList(list('30', pod('b', 'Running'), pod('c', 'Pending'), pod('d', 'Pending')));
    await until(() => source.watches.length === 2);
    expect(tracker.count).toBe(3);
    expect(source.watches[1]!.options.resourceVersion).toBe('30');
  });

  test('HTTP 410 on the watch -> relist', async () => {
    const { source, tracker } = setup();
    tracker.start();
    source.queueList(list('10'));
    await until(() => source.watches.length === 1);
    source.watches[0]!.end(clusterError('expired'));
    await until(() => source.listCalls.length === 2, 'relist');
  });

  test('other watch errors back off (growing, jitter injected) and resume from the same RV', async () => {
    const { source, sleeps, tracker } = setup();
    tracker.start();
    source.queueList(list('10'));
    await until(() => source.watches.length === 1);
    source.watches[0]!.end(clusterError('connection'));
    await until(() => source.watches.length === 2);
    source.watches[1]!.end(clusterError('unauthorized'));
    await until(() => source.watches.length === 3);
    source.failNextWatch = clusterError('timeout'); // not established: a real failure
    source.watches[2]!.end(clusterError('server-error', { retryAfterMs: 700 }));
    await until(() => source.watches.length === 5);
    expect(sleeps).toEqual([100, 200, 700, 800]);
    expect(source.watches.map((w) => w.options.resourceVersion)).toEqual([
      '10',
      '10',
      '10',
      '10',
      '10',
    ]);
    expect(source.listCalls).toHaveLength(1);

    // An event resets the backoff.
    source.watches[4]!.emit('ADDED', pod('x', 'Running', { rv: '12' }));
    source.watches[4]!.end(clusterError('connection'));
    await until(() => source.watches.length === 6);
    expect(sleeps.at(-1)).toBe(100);
    expect(source.watches[5]!.options.resourceVersion).toBe('12');
  });

  test('a watch that ends at once with nothing received is not retried in a tight loop', async () => {
    const { source, sleeps, tracker } = setup();
    tracker.start();
    source.queueList(list('10'));
    await until(() => source.watches.length === 1);
    source.watches[0]!.end(null);
    await until(() => source.watches.length === 2);
    source.watches[1]!.end(null);
    await until(() => source.watches.length === 3);
    expect(sleeps).toEqual([100, 200]);
  });

  test('repeated ERROR right after each relist backs off', async () => {
    const { source, sleeps, tracker } = setup();
    tracker.start();
    for (let i = 0; i < 3; i++) {
      source.queueList(list(String(10 + i)));
      await until(() => source.watches.length === i + 1);
      source.watches[i]!.emit('ERROR', { kind: 'Status', code: 500, message: 'internal' });
      source.watches[i]!.end(null);
      await until(() => source.listCalls.length === i + 2);
    }
    expect(sleeps).toEqual([100, 200]);
  });

  test('a failed list is retried after a backoff; an expired continue token restarts at once', async () => {
    const { source, sleeps, tracker } = setup();
    tracker.start();
    source.queueList(clusterError('connection'));
    source.queueList({
      items: [pod('a', 'Running')] as PodList['items'],
      resourceVersion: '5',
      continueToken: 'c1',
    });
    source.queueList(clusterError('expired'));
    source.queueList({
      items: [pod('a', 'Running')] as PodList['items'],
      resourceVersion: '6',
      continueToken: 'c2',
    });
    source.queueList(list('6', pod('b', 'Running')));
    await until(() => source.watches.length === 1);
    expect(sleeps).toEqual([100]);
    expect(source.listCalls.map((c) => c.continueToken)).toEqual([
      undefined,
      undefined,
      'c1',
      undefined,
      'c2',
    ]);
    expect(tracker.count).toBe(2);
    expect(source.watches[0]!.options.resourceVersion).toBe('6');
  });

  test('capacity: none until synced when bounded; full at maxActivePods; unbounded always has room', async () => {
    const { source, tracker } = setup(2);
    expect(tracker.hasCapacity()).toBe(false);
    tracker.start();
    source.queueList(list('1', pod('a', 'Running')));
    await until(() => source.watches.length === 1);
    expect(tracker.hasCapacity()).toBe(true);
    source.watches[0]!.emit('ADDED', pod('b', 'Pending'));
    expect(tracker.hasCapacity()).toBe(false);
    source.watches[0]!.emit('MODIFIED', pod('a', 'Succeeded'));
    expect(tracker.hasCapacity()).toBe(true);

    const unbounded = new ActivePodTracker({ source: new FakeSource(), maxActivePods: 0 });
    expect(unbounded.hasCapacity()).toBe(true);
  });

  test('a used-up ResourceQuota makes the cluster full until one of its pods ends, or a while passes', async () => {
    let clock = 0;
    const { source, tracker } = setup(0, { now: () => clock });
    tracker.start();
    source.queueList(list('1', pod('a', 'Running'), pod('b', 'Running')));
    await until(() => source.watches.length === 1);
    const changes: number[] = [];
    tracker.onChange((t) => changes.push(t.count));
    const quota =
      '403 pods "c" is forbidden: exceeded quota: challenges, requested: pods=1, used: pods=2, limited: pods=2';

    tracker.noteQuotaFull(quota);
    expect(tracker.hasCapacity()).toBe(false);
    expect(tracker.quotaFullReason).toBe(quota);
    expect(tracker.reserve()).toBeUndefined();
    expect(changes).toEqual([2]); // capacity waiters are told
    // Another pod starting changes nothing; one ending frees the quota.
    source.watches[0]!.emit('ADDED', pod('x', 'Pending'));
    expect(tracker.hasCapacity()).toBe(false);
    source.watches[0]!.emit('MODIFIED', pod('a', 'Succeeded'));
    source.watches[0]!.emit('MODIFIED', pod('x', 'Failed'));
    expect(tracker.hasCapacity()).toBe(true);
    expect(tracker.quotaFullReason).toBeUndefined();

    // Freed in a way the watch cannot see (another pod in the namespace, a raised quota): the
    // next create finds out after quotaRecheckMs (30 s by default).
    tracker.noteQuotaFull(quota);
    clock += 29_999;
    expect(tracker.hasCapacity()).toBe(false);
    clock += 1;
    expect(tracker.hasCapacity()).toBe(true);
  });

  test('noteCreated counts a pod at once; the watch event replaces the guess (no double count)', async () => {
    const { source, tracker } = setup(2);
    tracker.start();
    source.queueList(list('1'));
    await until(() => source.watches.length === 1);
    tracker.noteCreated({ metadata: { name: 'p1' } });
    tracker.noteCreated({ metadata: { name: 'p2' } });
    expect(tracker.count).toBe(2);
    expect(tracker.hasCapacity()).toBe(false);
    source.watches[0]!.emit('ADDED', pod('p1', 'Pending'));
    expect(tracker.count).toBe(2);
    source.watches[0]!.emit('MODIFIED', pod('p1', 'Succeeded'));
    expect(tracker.count).toBe(1);
  });

  test('reserve holds a slot for an in-flight create so concurrent creates cannot overshoot', async () => {
    const { source, tracker } = setup(2);
    expect(tracker.reserve()).toBeUndefined(); // bounded and not synced yet: no room known
    tracker.start();
    source.queueList(list('1', pod('a', 'Running')));
    await until(() => source.watches.length === 1);

    const first = tracker.reserve();
    expect(first).toBeDefined();
    expect(tracker.reserve()).toBeUndefined(); // 1 active + 1 in flight = 2 = max
    expect(tracker.hasCapacity()).toBe(false);

    // The create succeeded: the pod is counted, then the reservation is released.
    tracker.noteCreated({ metadata: { name: 'b' } });
    first!();
    first!(); // releasing twice is harmless
    expect(tracker.count).toBe(2);
    expect(tracker.hasCapacity()).toBe(false);

    // A failed create only releases: the slot is free again.
    source.watches[0]!.emit('MODIFIED', pod('a', 'Succeeded'));
    const failed = tracker.reserve();
    expect(failed).toBeDefined();
    failed!();
    expect(tracker.hasCapacity()).toBe(true);
  });

  test('presence: unknown until synced and while no watch is live; absent only from a live cache', async () => {
    const { source, tracker } = setup(0);
    expect(tracker.presence('a')).toBe('unknown');
    tracker.start();
    source.queueList(list('1', pod('a', 'Succeeded')));
    await until(() => source.watches.length === 1);
    await until(() => tracker.presence('zzz') !== 'unknown');
    expect(tracker.presence('a')).toBe('present'); // terminal pods still hold their name
    expect(tracker.presence('zzz')).toBe('absent');
    tracker.noteCreated({ metadata: { name: 'mine' } });
    expect(tracker.presence('mine')).toBe('present');
    source.watches[0]!.emit('ADDED', pod('b', 'Pending'));
    expect(tracker.presence('b')).toBe('present');

    // Between watches (the next one still connecting) the cache may be stale: unsure again.
    let release!: () => void;
    source.holdWatch = new Promise<void>((resolve) => (release = resolve));
    source.watches[0]!.end(clusterError('connection'));
    await until(() => tracker.presence('zzz') === 'unknown');
    expect(tracker.presence('a')).toBe('present');
    source.holdWatch = undefined;
    release();
    await until(() => tracker.presence('zzz') === 'absent');
  });

  test('relist drops optimistic entries noted before it began that it did not show', async () => {
    let now = 0;
    const { source, tracker } = setup(0, { now: () => now });
    tracker.start();
    source.queueList(list('1'));
    await until(() => source.watches.length === 1);
    now = 10;
    tracker.noteCreated({ metadata: { name: 'gone' } });
    tracker.noteCreated({ metadata: { name: 'kept' } });
    now = 20;
    source.watches[0]!.end(clusterError('expired'));
    await until(() => source.listCalls.length === 2);
    now = 30;
    tracker.noteCreated({ metadata: { name: 'during-list' } });
    source.queueList(list('9', pod('kept', 'Running')));
    await until(() => source.watches.length === 2);
    expect(tracker.count).toBe(2); // kept (confirmed) + during-list (optimistic)
  });

  test('an unconfirmed optimistic count expires after optimisticTtlMs', async () => {
    let now = 0;
    const source = new FakeSource();
    tracker = new ActivePodTracker({
      source,
      maxActivePods: 1,
      optimisticTtlMs: 1000,
      now: () => now,
    });
    tracker.noteCreated({ metadata: { name: 'p' } });
    expect(tracker.count).toBe(1);
    now = 1001;
    expect(tracker.count).toBe(0);
  });

  test('stop() ends the loop and stops the current watch; a pending list is abandoned', async () => {
    const { source, tracker } = setup();
    tracker.start();
    source.queueList(list('1'));
    await until(() => source.watches.length === 1);
    await tracker.stop();
    expect(source.watches[0]!.stopped).toBe(true);

    const second = setup();
    second.tracker.start();
    await until(() => second.source.listCalls.length === 1);
    await second.tracker.stop(); // list never answered: must not hang
  });

  test('stop() does not wait for a watch that is still connecting; its handle is stopped later', async () => {
    const { source, tracker } = setup();
    let release!: () => void;
    source.holdWatch = new Promise<void>((r) => (release = r));
    tracker.start();
    source.queueList(list('1'));
    await until(() => source.listCalls.length === 1);
    await settle();
    await tracker.stop(); // would hang if it awaited the held watchPods
    release();
    await until(() => source.watches.length === 1);
    await until(() => source.watches[0]!.stopped, 'late handle stopped');
  });
});
