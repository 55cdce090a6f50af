import { afterEach, describe, expect, test } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';

import type {
  ClusterClientOptions,
  CreatePodResult,
  PodList,
  WatchEventType,
} from '../../../src/clusters/cluster-client.js';
import type { ClusterEntry } from '../../../src/clusters/cluster-entry.js';
import { ClusterPool, type PoolClient } from '../../../src/clusters/cluster-pool.js';
import { ClusterError } from '../../../src/clusters/errors.js';

/**
 * An in-memory cluster behind the PoolClient interface. Like the real client, it goes through
 * the breaker it was given; lists answer from `pods`, and the test pushes watch events.
 */
class FakeClient implements Partial<PoolClient> {
  readonly name: string;
  readonly namespace = 'challenges';
  readonly entry: ClusterEntry;
  pods = new Map<string, V1Pod>();
  down = false;
  closed = false;
  emit: ((type: WatchEventType, obj: unknown) => void) | undefined;

  constructor(private readonly options: ClusterClientOptions) {
    this.entry = options.entry;
    this.name = options.entry.name;
  }

  private async gated<T>(fn: () => T): Promise<T> {
    const breaker = this.options.breaker!;
    if (!breaker.tryAcquire()) {
      throw new ClusterError({ kind: 'circuit-open', cluster: this.name, message: 'open' });
    }
    if (this.down) {
      const err = new ClusterError({
        kind: 'connection',
        cluster: this.name,
        message: 'refused',
        code: 'ECONNREFUSED',
      });
      breaker.record('failure', 'connection');
      throw err;
    }
    breaker.record('success');
    return fn();
  }

  getPod(name: string): Promise<V1Pod | undefined> {
    return this.gated(() => this.pods.get(name));
  }

  createPod(pod: V1Pod): Promise<CreatePodResult> {
    return this.gated(() => {
      const name = pod.metadata!.name!;
      if (this.pods.has(name)) return { outcome: 'already-exists', afterAmbiguousAttempt: false };
      this.pods.set(name, pod);
      this.options.events?.emit('podCreated', { cluster: this.name, pod });
      return { outcome: 'created', pod };
    });
  }

  async listPods(): Promise<PodList> {
    return { items: [...this.pods.values()], resourceVersion: '1' };
  }

  async watchPods(
    _o: unknown,
    onEvent: (type: WatchEventType, obj: unknown) => void,
    onDone: (err: ClusterError | null) => void,
  ) {
    this.emit = onEvent;
    return { stop: () => onDone(null) };
  }

  denied: string[] = [];

  version() {
    return this.gated(() => ({ gitVersion: 'v1.33.0' }) as never);
  }

  checkAccess() {
    return this.gated(() => ({ allowed: this.denied.length === 0, denied: this.denied }));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const entry = (name: string, over: Partial<ClusterEntry> = {}): ClusterEntry => ({
  name,
  server: `https://${name}.example:443`,
  token: 't',
  insecureSkipTlsVerify: false,
  namespace: 'challenges',
  weight: 1,
  maxActivePods: 0,
  labels: {},
  ...over,
});

const running = (name: string): V1Pod => ({ metadata: { name }, status: { phase: 'Running' } });

let pool: ClusterPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

function makePool(entries: ClusterEntry[], over: { now?: () => number } = {}) {
  const fakes = new Map<string, FakeClient>();
  pool = new ClusterPool({
    entries,
    strategy: 'hash',
    breaker: { failureThreshold: 1, openMs: 1000 },
    now: over.now,
    createClient: (options) => {
      const fake = new FakeClient(options);
      fakes.set(fake.name, fake);
      return fake as unknown as PoolClient;
    },
  });
  return { pool, fakes };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('ClusterPool', () => {
  test('rejects an empty or duplicate cluster list', () => {
    expect(() => makePool([])).toThrow('at least one cluster');
    expect(() => makePool([entry('a'), entry('a')])).toThrow('duplicate cluster name a');
  });

  describe('candidates', () => {
    test('open breakers are skipped; after the cool-down the cluster is offered again', async () => {
      let now = 0;
      const { pool, fakes } = makePool([entry('a'), entry('b')], { now: () => now });
      fakes.get('a')!.down = true;
      await pool
        .client('a')!
        .getPod('x')
        .catch(() => undefined); // a fails once -> open (threshold 1)
      const sel = pool.candidates('m1');
      expect(sel.candidates).toEqual(['b']);
      expect(sel.skipped).toEqual([{ name: 'a', reason: 'unhealthy' }]);
      expect(pool.status().find((s) => s.name === 'a')?.breaker).toBe('open');
      now += 1000;
      expect([...pool.candidates('m1').candidates].sort()).toEqual(['a', 'b']);
    });

    test('full clusters are skipped; the preferred cluster goes first', async () => {
      const { pool, fakes } = makePool([entry('a', { maxActivePods: 1 }), entry('b'), entry('c')]);
      fakes.get('a')!.pods.set('busy', running('busy'));
      pool.start();
      await settle();
      const sel = pool.candidates('m1', 'c');
      expect(sel.candidates[0]).toBe('c');
      expect(sel.candidates).not.toContain('a');
      expect(sel.skipped).toEqual([{ name: 'a', reason: 'full' }]);
    });
  });

  describe('capacity and backpressure', () => {
    test('a create counts at once; waitForCapacity resolves when the watch sees a pod finish', async () => {
      const { pool, fakes } = makePool([entry('a', { maxActivePods: 1 })]);
      pool.start();
      await settle();
      expect(pool.hasCapacity()).toBe(true);
      await pool.client('a')!.createPod({ metadata: { name: 'p1' } });
      expect(pool.status()[0]).toMatchObject({ activePods: 1, hasCapacity: false, synced: true });
      expect(pool.unavailableReason()).toBe('a: full (1/1)');

      let resolved = false;
      const waiting = pool.waitForCapacity().then(() => (resolved = true));
      await settle();
      expect(resolved).toBe(false);
      fakes.get('a')!.emit!('MODIFIED', {
        metadata: { name: 'p1' },
        status: { phase: 'Succeeded' },
      });
      await waiting;
      expect(pool.unavailableReason()).toBeUndefined();
    });

    test('waitForCapacity rejects when the signal aborts or the pool closes', async () => {
      const { pool, fakes } = makePool([entry('a', { maxActivePods: 1 })]);
      fakes.get('a')!.pods.set('busy', running('busy'));
      pool.start();
      await settle();
      const ac = new AbortController();
      const aborted = pool.waitForCapacity(ac.signal);
      ac.abort(new Error('shutdown'));
      await expect(aborted).rejects.toThrow('shutdown');
      const closing = pool.waitForCapacity();
      await pool.close();
      await expect(closing).rejects.toThrow('closed');
    });

    test('unavailableReason names every cluster when none can take a pod', async () => {
      const { pool, fakes } = makePool([entry('a'), entry('b', { maxActivePods: 2 })]);
      fakes.get('a')!.down = true;
      await pool
        .client('a')!
        .getPod('x')
        .catch(() => undefined);
      expect(pool.unavailableReason()).toBe(
        'a: circuit breaker open, b: active pod count not known yet',
      );
    });
  });

  test('check() reports version, RBAC gaps and errors per cluster', async () => {
    const { pool, fakes } = makePool([entry('a'), entry('b'), entry('c')]);
    fakes.get('b')!.denied = ['delete'];
    fakes.get('c')!.down = true;
    const checks = await pool.check();
    expect(checks.map(({ name, ok, version, denied }) => ({ name, ok, version, denied }))).toEqual([
      { name: 'a', ok: true, version: 'v1.33.0', denied: [] },
      { name: 'b', ok: false, version: 'v1.33.0', denied: ['delete'] },
      { name: 'c', ok: false, version: undefined, denied: undefined },
    ]);
    expect(checks[2]!.error?.kind).toBe('connection');
  });

  test('close() stops the watches and closes every client; idempotent', async () => {
    const { pool, fakes } = makePool([entry('a'), entry('b')]);
    pool.start();
    await settle();
    await pool.close();
    await pool.close();
    expect([...fakes.values()].every((f) => f.closed)).toBe(true);
  });
});
