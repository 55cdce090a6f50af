import { afterEach, describe, expect, it } from '@jest/globals';
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';

import type { CallOptions } from '../../../src/clusters/cluster-client.js';
import { LeaderElector, type LeaseStore } from '../../../src/results/leader-elector.js';
import type { ResultEvents } from '../../../src/results/events.js';
import { FakeClock, settle } from './support/fake-clock.js';

/**
 * One Lease as the API server keeps it: a resourceVersion per write, 409 for a write based on
 * an older one, 'exists' for a second create. Serialised through JSON like the wire, so the
 * MicroTimes the elector writes are checked for their six fraction digits.
 */
class LeaseServer {
  lease: V1Lease | undefined;
  private version = 0;
  readonly writes: V1Lease[] = [];

  read(): V1Lease | undefined {
    return this.lease === undefined
      ? undefined
      : (JSON.parse(JSON.stringify(this.lease)) as V1Lease);
  }

  write(lease: V1Lease, creating: boolean): V1Lease | 'exists' | 'conflict' {
    if (creating && this.lease !== undefined) return 'exists';
    if (!creating && lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) {
      return 'conflict';
    }
    const wire = JSON.parse(JSON.stringify(lease)) as V1Lease;
    for (const time of [wire.spec?.renewTime, wire.spec?.acquireTime]) {
      expect(String(time)).toMatch(/\.\d{6}Z$/);
    }
    this.version += 1;
    wire.metadata = { ...wire.metadata, resourceVersion: String(this.version) };
    this.lease = wire;
    this.writes.push(wire);
    return this.read()!;
  }
}

/** One replica's view of the server: its calls can be cut off (a partition, a dead process). */
class ReplicaStore implements LeaseStore {
  /** 'hang': calls never answer (until their signal aborts); 'fail': they throw. */
  cut: 'no' | 'hang' | 'fail' = 'no';
  calls = 0;

  constructor(private readonly server: LeaseServer) {}

  async getLease(_name: string, options?: CallOptions): Promise<V1Lease | undefined> {
    await this.gate(options);
    return this.server.read();
  }

  async createLease(lease: V1Lease, options?: CallOptions): Promise<V1Lease | 'exists'> {
    await this.gate(options);
    return this.server.write(lease, true) as V1Lease | 'exists';
  }

  async replaceLease(lease: V1Lease, options?: CallOptions): Promise<V1Lease | 'conflict'> {
    await this.gate(options);
    return this.server.write(lease, false) as V1Lease | 'conflict';
  }

  private async gate(options?: CallOptions): Promise<void> {
    this.calls += 1;
    if (this.cut === 'fail') throw new Error('connect ECONNREFUSED');
    if (this.cut === 'hang') {
      await new Promise<never>((_, reject) => {
        options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), {
          once: true,
        });
      });
    }
  }
}

const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

let electors: LeaderElector[] = [];
afterEach(async () => {
  await Promise.all(electors.map((e) => e.stop()));
  electors = [];
});

function candidate(clock: FakeClock, store: LeaseStore, identity: string) {
  const events: { name: keyof ResultEvents; payload: unknown }[] = [];
  const elector = new LeaderElector({
    cluster: 'aks-1',
    store,
    leaseName: 'podbus-results',
    identity,
    ...TIMING,
    monotonic: () => clock.now,
    wallClock: () => Date.parse('2026-12-05T10:00:00Z') + clock.now,
    sleep: clock.sleep,
    random: () => 0,
    events: { emit: (name, payload) => events.push({ name, payload }) },
  });
  electors.push(elector);
  return { elector, events };
}

describe('LeaderElector: one results publisher per cluster', () => {
  it('creates a missing Lease and leads; renews it every retryPeriod', async () => {
    const clock = new FakeClock();
    const server = new LeaseServer();
    const { elector, events } = candidate(clock, new ReplicaStore(server), 'a');
    elector.start();
    await settle();
    expect(elector.holds()).toBe(true);
    expect(server.lease?.spec).toMatchObject({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
      acquireTime: '2026-12-05T10:00:00.000000Z',
      renewTime: '2026-12-05T10:00:00.000000Z',
    });
    await clock.advance(2_000);
    expect(server.lease?.spec?.renewTime).toBe('2026-12-05T10:00:02.000000Z');
    expect(server.lease?.spec?.acquireTime).toBe('2026-12-05T10:00:00.000000Z');
    expect(events).toEqual([
      {
        name: 'leadershipChanged',
        payload: { cluster: 'aks-1', leading: true, identity: 'a', why: 'acquired the lease' },
      },
    ]);
  });

  it('a second replica waits while the leader renews, and never leads at the same time', async () => {
    const clock = new FakeClock();
    const server = new LeaseServer();
    const a = candidate(clock, new ReplicaStore(server), 'a').elector;
    const b = candidate(clock, new ReplicaStore(server), 'b').elector;
    a.start();
    await settle();
    b.start();
    await clock.walk(120_000, 500, () => expect([a.holds(), b.holds()]).toEqual([true, false]));
  });

  it('when the leader is cut off, it stops acting at its renew deadline, before anyone takes over', async () => {
    const clock = new FakeClock();
    const server = new LeaseServer();
    const storeA = new ReplicaStore(server);
    const a = candidate(clock, storeA, 'a');
    const b = candidate(clock, new ReplicaStore(server), 'b');
    a.elector.start();
    await settle();
    b.elector.start();
    await clock.advance(4_000);
    const term = a.elector.termSignal()!;
    const lastRenewal = clock.now; // a renewed at 4 s
    storeA.cut = 'hang';

    let aStoppedAt: number | undefined;
    let bLeadsAt: number | undefined;
    await clock.walk(40_000, 250, () => {
      expect(a.elector.holds() && b.elector.holds()).toBe(false);
      if (aStoppedAt === undefined && !a.elector.holds()) aStoppedAt = clock.now;
      if (bLeadsAt === undefined && b.elector.holds()) bLeadsAt = clock.now;
    });
    expect(aStoppedAt).toBe(lastRenewal + TIMING.renewDeadlineMs);
    expect(term.aborted).toBe(true);
    // b counts the lease duration from when it saw the last renewal change the record.
    expect(bLeadsAt).toBeGreaterThanOrEqual(lastRenewal + TIMING.leaseDurationMs);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(a.events.map((e) => e.payload)).toContainEqual({
      cluster: 'aks-1',
      leading: false,
      identity: 'a',
      why: 'no renewal succeeded within 10000 ms',
    });
  });

  it('holds() turns false at the deadline even when no timer could run (a stalled process)', async () => {
    const clock = new FakeClock();
    const store = new ReplicaStore(new LeaseServer());
    const { elector } = candidate(clock, store, 'a');
    elector.start();
    await settle();
    store.cut = 'hang';
    await clock.advance(1_000);
    // The event loop stalls (a long GC, a CPU-starved container): time passes, no timer fires.
    clock.now += 8_999;
    expect(elector.holds()).toBe(true);
    clock.now += 1;
    expect(elector.holds()).toBe(false);
    expect(elector.termSignal()?.aborted).toBe(false); // the loop has not noticed yet
  });

  it('renewal errors short of the deadline keep the lead; a working API renews it again', async () => {
    const clock = new FakeClock();
    const store = new ReplicaStore(new LeaseServer());
    const { elector, events } = candidate(clock, store, 'a');
    elector.start();
    await settle();
    store.cut = 'fail';
    await clock.advance(6_000);
    expect(elector.holds()).toBe(true);
    store.cut = 'no';
    await clock.advance(2_000);
    await clock.advance(8_000);
    expect(elector.holds()).toBe(true);
    expect(events.filter((e) => e.name === 'leaseFailed').length).toBeGreaterThan(0);
    expect(events.filter((e) => e.name === 'leadershipChanged')).toHaveLength(1);
  });

  it('stop() releases the Lease: the next replica takes over at its next try', async () => {
    const clock = new FakeClock();
    const server = new LeaseServer();
    const a = candidate(clock, new ReplicaStore(server), 'a').elector;
    const b = candidate(clock, new ReplicaStore(server), 'b').elector;
    a.start();
    await settle();
    b.start();
    await clock.advance(5_000);
    await a.stop();
    expect(server.lease?.spec?.holderIdentity).toBe('');
    const released = clock.now;
    await clock.advance(2_500);
    expect(b.holds()).toBe(true);
    expect(clock.now - released).toBeLessThan(TIMING.leaseDurationMs);
  });

  it('two replicas racing for an expired lease: only one wins (the other gets 409)', async () => {
    const clock = new FakeClock();
    const server = new LeaseServer();
    server.write(
      {
        metadata: { name: 'podbus-results' },
        spec: {
          holderIdentity: 'dead',
          leaseDurationSeconds: 15,
          renewTime: new V1MicroTime('2026-12-05T09:00:00Z'),
          acquireTime: new V1MicroTime('2026-12-05T09:00:00Z'),
        },
      },
      true,
    );
    const a = candidate(clock, new ReplicaStore(server), 'a').elector;
    const b = candidate(clock, new ReplicaStore(server), 'b').elector;
    a.start();
    b.start();
    await clock.walk(60_000, 250, () => expect(a.holds() && b.holds()).toBe(false));
    expect([a.holds(), b.holds()].filter(Boolean)).toHaveLength(1);
  });
});
