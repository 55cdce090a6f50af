import { Emitter, type EventSource } from '../shared/typed-events.js';
import {
  ActivePodTracker,
  type ActivePodTrackerOptions,
  type PodObservation,
  type PodPresence,
} from './active-pods.js';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './circuit-breaker.js';
import { ClusterClient, type ClusterClientOptions } from './cluster-client.js';
import type { ClusterEntry } from './cluster-entry.js';
import { ClusterError } from './errors.js';
import type { ClusterEvents } from './events.js';
import { silentLogger, type ClusterLogger } from './logger.js';
import { PODBUS_PERMISSIONS, permissionLabel } from './permissions.js';
import { createSelector, type Selection, type Selector, type StrategyName } from './strategies.js';

/** What the pool uses of a client; `ClusterClient` is the implementation, tests pass fakes. */
export type PoolClient = Pick<
  ClusterClient,
  | 'name'
  | 'namespace'
  | 'entry'
  | 'createPod'
  | 'getPod'
  | 'deletePod'
  | 'annotatePod'
  | 'readPodLog'
  | 'getLease'
  | 'createLease'
  | 'replaceLease'
  | 'listPods'
  | 'watchPods'
  | 'checkAccess'
  | 'canCreatePods'
  | 'version'
  | 'close'
>;

/** Client settings shared by every cluster (per-entry parts come from the entry). */
export type SharedClientOptions = Omit<
  ClusterClientOptions,
  'entry' | 'breaker' | 'events' | 'logger'
>;

export type TrackerSettings = Omit<ActivePodTrackerOptions, 'source' | 'maxActivePods' | 'logger'>;

export interface ClusterPoolOptions {
  readonly entries: readonly ClusterEntry[];
  readonly strategy: StrategyName;
  readonly logger?: ClusterLogger;
  readonly client?: SharedClientOptions;
  readonly breaker?: Partial<BreakerOptions>;
  readonly tracker?: TrackerSettings;
  readonly now?: () => number;
  /** Seam for tests. */
  readonly createClient?: (options: ClusterClientOptions) => PoolClient;
}

export interface ClusterStatus {
  readonly name: string;
  readonly breaker: BreakerState;
  readonly activePods: number;
  readonly maxActivePods: number;
  readonly hasCapacity: boolean;
  /** The active-pod count has completed its first list. */
  readonly synced: boolean;
}

/** Result of `check()`: can podbus work with this cluster? */
export interface ClusterCheck {
  readonly name: string;
  readonly ok: boolean;
  /** The API server's gitVersion when /version answered. */
  readonly version?: string;
  /** Permissions podbus needs that RBAC denies in the entry's namespace (`patch pods`). */
  readonly denied?: readonly string[];
  /** Permissions of opt-in features that RBAC denies (they do not make the check fail). */
  readonly deniedOptional?: readonly string[];
  readonly error?: ClusterError;
}

interface Member {
  readonly entry: ClusterEntry;
  readonly client: PoolClient;
  readonly breaker: CircuitBreaker;
  readonly tracker: ActivePodTracker;
}

/**
 * All configured clusters: one client, breaker and active-pod tracker each, plus selection.
 * The worker asks it for candidates, checks for an existing pod across every cluster before
 * creating, and waits on it for capacity (backpressure).
 */
export class ClusterPool {
  private readonly emitter = new Emitter<ClusterEvents>();
  /** What happens on the clusters: every call, created pod, breaker and capacity change. */
  readonly events: EventSource<ClusterEvents> = this.emitter;
  private readonly members = new Map<string, Member>();
  private readonly selector: Selector;
  private readonly logger: ClusterLogger;
  private readonly capacityWaiters = new Set<() => void>();
  private closed = false;

  constructor(options: ClusterPoolOptions) {
    if (options.entries.length === 0) throw new Error('at least one cluster is required');
    this.logger = options.logger ?? silentLogger;
    this.selector = createSelector(options.strategy);
    // Before any member exists, so that no pod is created uncounted.
    this.emitter.on('podCreated', ({ cluster, pod }) => {
      this.members.get(cluster)?.tracker.noteCreated(pod);
    });
    this.emitter.on('breakerStateChanged', () => this.wakeCapacityWaiters());
    const makeClient = options.createClient ?? ((o: ClusterClientOptions) => new ClusterClient(o));
    try {
      for (const entry of options.entries) {
        if (this.members.has(entry.name)) throw new Error(`duplicate cluster name ${entry.name}`);
        this.members.set(entry.name, this.createMember(entry, options, makeClient));
      }
    } catch (err) {
      void this.close();
      throw err;
    }
  }

  private createMember(
    entry: ClusterEntry,
    options: ClusterPoolOptions,
    makeClient: (o: ClusterClientOptions) => PoolClient,
  ): Member {
    const logger = this.logger;
    const breaker = new CircuitBreaker({
      cluster: entry.name,
      options: options.breaker,
      now: options.now,
      events: this.emitter,
    });
    const client = makeClient({
      ...options.client,
      entry,
      logger,
      breaker,
      now: options.client?.now ?? options.now,
      events: this.emitter,
    });
    const tracker = new ActivePodTracker({
      ...options.tracker,
      now: options.tracker?.now ?? options.now,
      source: client,
      maxActivePods: entry.maxActivePods,
      logger,
    });
    tracker.onChange((t) => {
      this.emitter.emit('activePodsChanged', { cluster: entry.name, activePods: t.count });
      this.wakeCapacityWaiters();
    });
    return { entry, client, breaker, tracker };
  }

  /** Starts the active-pod watches. */
  start(): void {
    for (const m of this.members.values()) m.tracker.start();
  }

  get clusterNames(): string[] {
    return [...this.members.keys()];
  }

  client(name: string): PoolClient | undefined {
    return this.members.get(name)?.client;
  }

  /**
   * Clusters to try for this message, best first, by the configured strategy; those with an
   * open breaker or no capacity are left out and listed in `skipped`.
   */
  candidates(messageId: string, preferredCluster?: string): Selection {
    const views = [...this.members.values()].map((m) => ({
      name: m.entry.name,
      weight: m.entry.weight,
      activePods: m.tracker.count,
      maxActivePods: m.entry.maxActivePods,
      healthy: m.breaker.isAvailable(),
      hasCapacity: m.tracker.hasCapacity(),
    }));
    return this.selector.select(views, { messageId, preferred: preferredCluster });
  }

  /**
   * Why no cluster can take a pod right now (every one full or with its breaker open), or
   * undefined when at least one can. For the worker's admission gate and /readyz.
   */
  unavailableReason(): string | undefined {
    const reasons: string[] = [];
    for (const m of this.members.values()) {
      const healthy = m.breaker.isAvailable();
      const room = m.tracker.hasCapacity();
      if (healthy && room) return undefined;
      if (!healthy) reasons.push(`${m.entry.name}: circuit breaker ${m.breaker.state}`);
      else reasons.push(`${m.entry.name}: ${this.fullReason(m.entry.name)!}`);
    }
    return reasons.join(', ');
  }

  /**
   * Holds a capacity slot on `cluster` for one create (see ActivePodTracker.reserve): the
   * release function, or undefined when the cluster is full.
   */
  reserveCapacity(cluster: string): (() => void) | undefined {
    const member = this.members.get(cluster);
    if (member === undefined) throw new Error(`unknown cluster ${cluster}`);
    return member.tracker.reserve();
  }

  /**
   * The namespace's ResourceQuota refused a pod on `cluster` (a 403 `exceeded quota`): the
   * cluster counts as full until one of its pods ends (see ActivePodTracker.noteQuotaFull).
   */
  noteQuotaExceeded(cluster: string, reason: string): void {
    const member = this.members.get(cluster);
    if (member === undefined) throw new Error(`unknown cluster ${cluster}`);
    member.tracker.noteQuotaFull(reason);
  }

  /** Why `cluster` has no room for another pod, or undefined when it has. */
  fullReason(cluster: string): string | undefined {
    const member = this.members.get(cluster);
    if (member === undefined) throw new Error(`unknown cluster ${cluster}`);
    const { tracker, entry } = member;
    const quota = tracker.quotaFullReason;
    if (quota !== undefined) return `full (ResourceQuota: ${quota})`;
    if (tracker.hasCapacity()) return undefined;
    if (!tracker.synced) return 'active pod count not known yet';
    return `full (${tracker.count}/${entry.maxActivePods})`;
  }

  /** What `cluster`'s watch cache says about a pod name (see ActivePodTracker.presence). */
  podPresence(cluster: string, podName: string): PodPresence {
    const member = this.members.get(cluster);
    if (member === undefined) throw new Error(`unknown cluster ${cluster}`);
    return member.tracker.presence(podName);
  }

  /**
   * Every list and watch event of `cluster`'s pod watch (see ActivePodTracker.onPods): the pods
   * followed to their end without a second watch. Subscribe before `start()`.
   */
  observePods(cluster: string, listener: (observation: PodObservation) => void): () => void {
    const member = this.members.get(cluster);
    if (member === undefined) throw new Error(`unknown cluster ${cluster}`);
    return member.tracker.onPods(listener);
  }

  /** Whether any cluster has room for one more pod (health is not considered). */
  hasCapacity(): boolean {
    for (const m of this.members.values()) if (m.tracker.hasCapacity()) return true;
    return false;
  }

  /**
   * Resolves as soon as some cluster has capacity (at once if one has). Event-driven: the
   * trackers' counts change when the watch sees pods finish. Rejects with the signal's reason.
   */
  waitForCapacity(signal?: AbortSignal): Promise<void> {
    if (this.hasCapacity()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const check = () => {
        if (!this.hasCapacity() && !this.closed) return;
        cleanup();
        if (this.closed) reject(new Error('cluster pool closed'));
        else resolve();
      };
      const onAbort = () => {
        cleanup();
        reject(signal?.reason);
      };
      const cleanup = () => {
        this.capacityWaiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
      };
      this.capacityWaiters.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Preflight for every cluster, in parallel: /version (reachability, TLS, token) and a
   * SelfSubjectAccessReview per permission podbus uses (permissions.ts). For `podbus clusters`
   * and startup logs.
   */
  async check(options: { signal?: AbortSignal } = {}): Promise<ClusterCheck[]> {
    return Promise.all(
      [...this.members.values()].map(async (m): Promise<ClusterCheck> => {
        const name = m.entry.name;
        try {
          const version = (await m.client.version(options)).gitVersion;
          const access = await m.client.checkAccess(PODBUS_PERMISSIONS, options);
          const optional = new Set(
            PODBUS_PERMISSIONS.filter((p) => p.optional).map((p) => permissionLabel(p)),
          );
          const denied = access.denied.filter((label) => !optional.has(label));
          const deniedOptional = access.denied.filter((label) => optional.has(label));
          return { name, ok: denied.length === 0, version, denied, deniedOptional };
        } catch (err) {
          const error =
            err instanceof ClusterError
              ? err
              : new ClusterError({ kind: 'unknown', cluster: name, message: String(err) });
          return { name, ok: false, error };
        }
      }),
    );
  }

  status(): ClusterStatus[] {
    return [...this.members.values()].map((m) => ({
      name: m.entry.name,
      breaker: m.breaker.state,
      activePods: m.tracker.count,
      maxActivePods: m.entry.maxActivePods,
      hasCapacity: m.tracker.hasCapacity(),
      synced: m.tracker.synced,
    }));
  }

  /** Stops the watches, then closes every client's connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeCapacityWaiters();
    const members = [...this.members.values()];
    await Promise.allSettled(members.map((m) => m.tracker.stop()));
    await Promise.allSettled(members.map((m) => m.client.close()));
  }

  private wakeCapacityWaiters(): void {
    for (const check of [...this.capacityWaiters]) check();
  }
}
