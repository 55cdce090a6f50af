import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';

import type { CallOptions } from '../clusters/cluster-client.js';
import { sleep as realSleep, type RandomFn, type SleepFn } from '../clusters/backoff.js';
import type { EventSink } from '../shared/typed-events.js';
import type { ResultEvents } from './events.js';

/** The Lease calls the elector makes (ClusterClient has them); unit tests pass a fake. */
export interface LeaseStore {
  getLease(name: string, options?: CallOptions): Promise<V1Lease | undefined>;
  createLease(lease: V1Lease, options?: CallOptions): Promise<V1Lease | 'exists'>;
  replaceLease(lease: V1Lease, options?: CallOptions): Promise<V1Lease | 'conflict'>;
}

export interface LeaderElectorOptions {
  readonly cluster: string;
  readonly store: LeaseStore;
  readonly leaseName: string;
  /** Unique per process: `<hostname>_<random>` (client-go uses the pod name and a UUID). */
  readonly identity: string;
  /** How long a lease nobody renews is honoured by the others (from when they saw it change). */
  readonly leaseDurationMs: number;
  /** How long the leader keeps leading without a successful renewal. */
  readonly renewDeadlineMs: number;
  /** How often candidates try to acquire, and the leader renews. */
  readonly retryPeriodMs: number;
  readonly events?: EventSink<Pick<ResultEvents, 'leadershipChanged' | 'leaseFailed'>>;
  /** A clock that only moves forward, for deadlines and observations (performance.now). */
  readonly monotonic?: () => number;
  /** Wall-clock time written into the Lease (acquireTime, renewTime). */
  readonly wallClock?: () => number;
  readonly sleep?: SleepFn;
  readonly random?: RandomFn;
}

/** client-go's JitterFactor: candidates wait retryPeriod × [1, 1.2). */
const JITTER = 0.2;

/**
 * Leader election over one coordination.k8s.io/v1 Lease, as client-go's leaderelection does it
 * (tools/leaderelection/leaderelection.go), so exactly one replica per cluster publishes results
 * and deletes pods:
 *
 * - A candidate reads the Lease every retryPeriod (jittered). It takes the Lease when it does not
 *   exist (create), when it was released (no holder), or when its record (holder, renewTime) has
 *   not changed for leaseDuration *as measured on this process's clock since it last saw it
 *   change*: clocks of different machines are never compared. Writes carry the resourceVersion
 *   read, so two candidates racing for one expired lease cannot both win (409 for the second).
 * - The leader renews every retryPeriod. When no renewal succeeded for renewDeadline (shorter
 *   than leaseDuration, so before anyone else may take over), it stops leading at once: its
 *   term's signal aborts, and `holds()` turns false even before the loop notices.
 * - `stop()` releases a held Lease (no holder, leaseDuration 1 s, as client-go's
 *   ReleaseOnCancel), so another replica takes over at its next try instead of after expiry.
 */
export class LeaderElector {
  readonly identity: string;
  private readonly options: LeaderElectorOptions;
  private readonly monotonic: () => number;
  private readonly wallClock: () => number;
  private readonly sleep: SleepFn;
  private readonly random: RandomFn;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  /** The last Lease read or written (its resourceVersion is the one to write against). */
  private observed: V1Lease | undefined;
  /** Local time at which the observed holder/renewTime last changed. */
  private observedAt = 0;
  /** Set while leading: the current term, and the local time of its last renewal. */
  private term: { controller: AbortController; renewedAt: number } | undefined;
  private readonly listeners = new Set<(leading: boolean) => void>();

  constructor(options: LeaderElectorOptions) {
    this.options = options;
    this.identity = options.identity;
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.wallClock = options.wallClock ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
  }

  /**
   * True while this process leads and its last renewal is younger than renewDeadline. Checked
   * right before every publish and delete: a leader whose renewals stall stops acting at its
   * deadline even if the loop that would notice is itself stalled.
   */
  holds(): boolean {
    const term = this.term;
    if (term === undefined || term.controller.signal.aborted) return false;
    return this.monotonic() - term.renewedAt < this.options.renewDeadlineMs;
  }

  /** Aborted when the current term ends; undefined while not leading. */
  termSignal(): AbortSignal | undefined {
    return this.term?.controller.signal;
  }

  /** Called with true when this process starts leading, false when it stops. */
  onChange(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.loop ??= this.run().catch((error: unknown) => {
      this.options.events?.emit('leaseFailed', { cluster: this.options.cluster, error });
    });
  }

  /** Stops campaigning; a held Lease is released (bounded by retryPeriod). */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('leader elector stopped'));
    await this.loop;
    if (this.term === undefined) return;
    this.endTerm('stopped');
    await this.release();
  }

  // -------------------------------------------------------------------------------------------

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew(this.stopping.signal)) {
        this.beginTerm();
        await this.renewUntilLost();
        continue;
      }
      await this.pause(this.options.retryPeriodMs * (1 + JITTER * this.random()));
    }
  }

  /** Renews every retryPeriod until a renewal misses the deadline (or the elector stops). */
  private async renewUntilLost(): Promise<void> {
    for (;;) {
      await this.pause(this.options.retryPeriodMs);
      const term = this.term;
      if (this.stopped || term === undefined) return;
      const left = term.renewedAt + this.options.renewDeadlineMs - this.monotonic();
      const renewed = left > 0 && (await this.withDeadline(left, (s) => this.tryAcquireOrRenew(s)));
      if (this.stopped) return;
      if (renewed) {
        term.renewedAt = this.monotonic();
      } else if (this.monotonic() - term.renewedAt >= this.options.renewDeadlineMs) {
        this.endTerm(`no renewal succeeded within ${this.options.renewDeadlineMs} ms`);
        return;
      }
    }
  }

  /** One read and, when allowed, one write of the Lease; true when this process holds it now. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { store, leaseName } = this.options;
    const now = new V1MicroTime(this.wallClock());
    try {
      const current = await store.getLease(leaseName, { signal });
      if (current === undefined) {
        const created = await store.createLease(this.record(undefined, now), { signal });
        if (created === 'exists') return false;
        this.observe(created);
        return true;
      }
      this.observe(current);
      const holder = current.spec?.holderIdentity ?? '';
      const mine = holder === this.identity;
      if (!mine && holder !== '' && !this.expired()) return false;
      const written = await store.replaceLease(this.record(current, now), { signal });
      if (written === 'conflict') return false;
      this.observe(written);
      return true;
    } catch (error) {
      if (!signal.aborted) {
        this.options.events?.emit('leaseFailed', { cluster: this.options.cluster, error });
      }
      return false;
    }
  }

  /** The Lease as this process writes it: holder, duration, times, transitions. */
  private record(current: V1Lease | undefined, now: V1MicroTime): V1Lease {
    const spec = current?.spec;
    const mine = spec?.holderIdentity === this.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.options.leaseName,
        ...(current?.metadata?.resourceVersion !== undefined && {
          resourceVersion: current.metadata.resourceVersion,
        }),
        labels: { 'app.kubernetes.io/managed-by': 'podbus' },
      },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.max(1, Math.ceil(this.options.leaseDurationMs / 1000)),
        acquireTime: mine && spec?.acquireTime ? new V1MicroTime(spec.acquireTime) : now,
        renewTime: now,
        leaseTransitions:
          current === undefined ? 0 : (spec?.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
  }

  /** Remembers the Lease; a new holder or renewTime restarts this process's expiry count. */
  private observe(lease: V1Lease): void {
    const before = this.observed?.spec;
    const after = lease.spec;
    const changed =
      this.observed === undefined ||
      before?.holderIdentity !== after?.holderIdentity ||
      timeOf(before?.renewTime) !== timeOf(after?.renewTime);
    this.observed = lease;
    if (changed) this.observedAt = this.monotonic();
  }

  private expired(): boolean {
    return this.monotonic() - this.observedAt >= this.options.leaseDurationMs;
  }

  private beginTerm(): void {
    this.term = { controller: new AbortController(), renewedAt: this.monotonic() };
    this.options.events?.emit('leadershipChanged', {
      cluster: this.options.cluster,
      leading: true,
      identity: this.identity,
      why: 'acquired the lease',
    });
    for (const listener of [...this.listeners]) listener(true);
  }

  private endTerm(why: string): void {
    const term = this.term;
    if (term === undefined) return;
    this.term = undefined;
    term.controller.abort(
      new Error(`no longer the results leader of ${this.options.cluster}: ${why}`),
    );
    this.options.events?.emit('leadershipChanged', {
      cluster: this.options.cluster,
      leading: false,
      identity: this.identity,
      why,
    });
    for (const listener of [...this.listeners]) listener(false);
  }

  /** Gives the Lease up so the next candidate need not wait for it to expire. */
  private async release(): Promise<void> {
    const lease = this.observed;
    if (lease?.spec?.holderIdentity !== this.identity) return;
    const now = new V1MicroTime(this.wallClock());
    const signal = AbortSignal.timeout(Math.max(1, this.options.retryPeriodMs));
    try {
      await this.options.store.replaceLease(
        {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
          },
        },
        { signal },
      );
    } catch (error) {
      this.options.events?.emit('leaseFailed', { cluster: this.options.cluster, error });
    }
  }

  /** `call` with a signal that aborts after `ms` (on the injected clock) or on stop. */
  private async withDeadline<T>(ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = new AbortController();
    const signal = AbortSignal.any([this.stopping.signal, deadline.signal]);
    this.sleep(ms, signal).then(
      () => deadline.abort(new Error('renew deadline')),
      () => undefined,
    );
    try {
      return await call(signal);
    } finally {
      deadline.abort();
    }
  }

  private async pause(ms: number): Promise<void> {
    try {
      await this.sleep(ms, this.stopping.signal);
    } catch {
      // stopped
    }
  }
}

function timeOf(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return new Date(value).getTime();
}
