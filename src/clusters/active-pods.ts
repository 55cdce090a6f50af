import type { V1Pod } from '@kubernetes/client-node';

import {
  Backoff,
  sleep as realSleep,
  type BackoffOptions,
  type RandomFn,
  type SleepFn,
} from './backoff.js';
import type {
  ListPodsOptions,
  PodList,
  WatchEventType,
  WatchHandle,
  WatchPodsOptions,
} from './cluster-client.js';
import { ClusterError } from './errors.js';
import { MANAGED_BY_SELECTOR } from '../message/metadata-keys.js';
import { silentLogger, type ClusterLogger } from './logger.js';

// Every pod podbus creates carries this label; the pod builder defines it.
export { MANAGED_BY_SELECTOR } from '../message/metadata-keys.js';

/** The slice of ClusterClient the tracker uses; tests script it. */
export interface PodWatchSource {
  readonly name: string;
  listPods(options: ListPodsOptions): Promise<PodList>;
  watchPods(
    options: WatchPodsOptions,
    onEvent: (type: WatchEventType, object: unknown) => void,
    onDone: (err: ClusterError | null) => void,
  ): Promise<WatchHandle>;
}

interface PodLike {
  metadata?: { name?: string; resourceVersion?: string; deletionTimestamp?: unknown };
  status?: { phase?: string };
}

/**
 * What the list/watch saw of podbus's pods, passed on to whoever follows them to their end (the
 * results keeper). Pods are as received: from a list, client-node's models (timestamps are
 * Dates); from a watch, the parsed JSON (timestamps are strings). `listed` replaces everything
 * known before (the first list and every relist, e.g. after a 410): a pod missing from it was
 * deleted while nobody watched.
 */
export type PodObservation =
  | { readonly kind: 'listed'; readonly pods: readonly unknown[] }
  | { readonly kind: 'changed'; readonly pod: unknown }
  | { readonly kind: 'deleted'; readonly pod: unknown };

/**
 * Active = occupying a slot: not Succeeded/Failed and not being deleted. Pending (including
 * image pulls and unschedulable pods), Running and Unknown all count.
 */
export function isActivePod(pod: PodLike | V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

export interface ActivePodTrackerOptions {
  readonly source: PodWatchSource;
  /** 0 = unbounded. */
  readonly maxActivePods: number;
  /** @defaultValue MANAGED_BY_SELECTOR */
  readonly labelSelector?: string;
  /**
   * Reconnect backoff after errors (client-node's ListWatch uses 1 s doubling to 30 s).
   * @defaultValue { baseMs: 1000, maxMs: 30_000, jitter: 'equal' }
   */
  readonly backoff?: BackoffOptions;
  /**
   * An optimistic count for a created pod that neither the list nor the watch has confirmed
   * is dropped after this long.
   * @defaultValue 120_000
   */
  readonly optimisticTtlMs?: number;
  /** @defaultValue 500 */
  readonly pageSize?: number;
  /**
   * After the namespace's ResourceQuota refused a pod, how long the cluster counts as full when
   * none of its podbus pods ends meanwhile (see `noteQuotaFull`).
   * @defaultValue 30_000
   */
  readonly quotaRecheckMs?: number;
  readonly sleep?: SleepFn;
  readonly random?: RandomFn;
  readonly now?: () => number;
  readonly logger?: ClusterLogger;
}

type WatchEnd =
  | { readonly kind: 'closed' }
  | { readonly kind: 'relist'; readonly why: string }
  | { readonly kind: 'error'; readonly error: ClusterError };

/**
 * Watch-backed count of active podbus pods on one cluster (list, then watch from the list's
 * resourceVersion, like client-node's ListWatch, but counting instead of caching):
 *
 * - resumes the watch from the last resourceVersion (including BOOKMARKs) when the server
 *   ends it or client-node's 30 s silence timer fires (`TimeoutError`);
 * - relists on an ERROR event (an expired resourceVersion arrives as HTTP 200 + ERROR/410) or
 *   an HTTP 410;
 * - backs off (with jitter) on every other failure and keeps trying until stopped;
 * - counts a pod this replica just created at once (`noteCreated`), so capacity holds before
 *   the watch event arrives; the list and the watch then replace the guess with the truth.
 *
 * The count spans every replica's pods (they all carry the label), but is eventually
 * consistent: replicas creating at the same moment can overshoot `maxActivePods` by up to
 * their combined concurrency.
 */
export type PodPresence = 'present' | 'absent' | 'unknown';

export class ActivePodTracker {
  readonly cluster: string;
  readonly maxActivePods: number;
  private readonly source: PodWatchSource;
  private readonly selector: string;
  private readonly backoff: Backoff;
  private readonly sleep: SleepFn;
  private readonly now: () => number;
  private readonly random: RandomFn;
  private readonly logger: ClusterLogger;
  private readonly optimisticTtlMs: number;
  private readonly pageSize: number;
  private readonly quotaRecheckMs: number;
  /** Set while the namespace's ResourceQuota is known to be used up (see `noteQuotaFull`). */
  private quotaFull:
    { readonly reason: string; readonly count: number; readonly until: number } | undefined;
  private quotaTimer: NodeJS.Timeout | undefined;

  /** name → active? for every labelled pod the list/watch has shown us. */
  private readonly pods = new Map<string, boolean>();
  /** name → time noted, for pods created here that the list/watch has not shown yet. */
  private readonly optimistic = new Map<string, number>();
  /** Creates in flight on this replica: they hold a slot until they end (see `reserve`). */
  private reserved = 0;
  private resourceVersion: string | undefined;
  private isSynced = false;
  private lastCount = -1;
  private readonly listeners = new Set<(tracker: ActivePodTracker) => void>();
  private readonly podListeners = new Set<(observation: PodObservation) => void>();
  private loop: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private currentWatch: WatchHandle | undefined;

  constructor(options: ActivePodTrackerOptions) {
    this.source = options.source;
    this.cluster = options.source.name;
    this.maxActivePods = options.maxActivePods;
    this.selector = options.labelSelector ?? MANAGED_BY_SELECTOR;
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff(
      options.backoff ?? { baseMs: 1000, maxMs: 30_000, jitter: 'equal' },
      this.random,
    );
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.optimisticTtlMs = options.optimisticTtlMs ?? 120_000;
    this.pageSize = options.pageSize ?? 500;
    this.quotaRecheckMs = options.quotaRecheckMs ?? 30_000;
  }

  /** Active pods now (confirmed + optimistically counted). */
  get count(): number {
    this.expireOptimistic();
    let n = this.optimistic.size;
    for (const active of this.pods.values()) if (active) n += 1;
    return n;
  }

  /** True once the first list has completed. */
  get synced(): boolean {
    return this.isSynced;
  }

  /**
   * Whether one more pod fits. An unbounded cluster always has room; a bounded one has none
   * until the first list tells us how many pods it already runs.
   */
  hasCapacity(): boolean {
    if (this.quotaFullReason !== undefined) return false;
    if (this.maxActivePods === 0) return true;
    return this.isSynced && this.count + this.reserved < this.maxActivePods;
  }

  /**
   * The API server refused a pod because the namespace's ResourceQuota is used up (`exceeded
   * quota`): the cluster has no room, whatever maxActivePods says, until one of the pods it
   * runs ends (the count drops below what it is now) or `quotaRecheckMs` passes, since the
   * quota may also free up in ways this watch does not see (other pods in the namespace, a
   * raised quota). The next create then finds out.
   */
  noteQuotaFull(reason: string): void {
    this.quotaFull = { reason, count: this.count, until: this.now() + this.quotaRecheckMs };
    clearTimeout(this.quotaTimer);
    // Capacity waiters are woken by changes; the end of the recheck period is one.
    this.quotaTimer = setTimeout(() => this.notify(true), this.quotaRecheckMs);
    this.quotaTimer.unref();
    this.notify(true);
  }

  /** The quota's refusal while it still holds, else undefined. */
  get quotaFullReason(): string | undefined {
    const full = this.quotaFull;
    if (full === undefined) return undefined;
    if (this.count < full.count || this.now() >= full.until) {
      this.quotaFull = undefined;
      return undefined;
    }
    return full.reason;
  }

  /**
   * Holds one slot for a create about to be sent, so concurrent creates on this replica cannot
   * overshoot maxActivePods between "there is room" and the created pod being counted.
   * Returns the release function (call it when the create ended, whatever the outcome; a
   * created pod is counted by `noteCreated` before that), or undefined when there is no room.
   */
  reserve(): (() => void) | undefined {
    if (!this.hasCapacity()) return undefined;
    this.reserved += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.reserved -= 1;
      this.notify();
    };
  }

  /**
   * What the cache says about a pod name, for best-effort duplicate lookups that would
   * otherwise cost a GET per cluster per message: `present` (listed, watched, or created
   * here), `absent` (not in a cache whose watch is live), or `unknown` (not synced yet, or
   * between watches: the cache may be stale, so ask the API server).
   */
  presence(name: string): PodPresence {
    if (this.pods.has(name) || this.optimistic.has(name)) return 'present';
    return this.isSynced && this.currentWatch !== undefined ? 'absent' : 'unknown';
  }

  /** Counts a pod this replica just created, before the watch reports it. */
  noteCreated(pod: V1Pod | PodLike): void {
    const name = pod.metadata?.name;
    if (name === undefined || this.pods.has(name)) return;
    this.optimistic.set(name, this.now());
    this.notify();
  }

  /** Called whenever the count or the synced flag changes. Returns an unsubscribe function. */
  onChange(listener: (tracker: ActivePodTracker) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls `listener` with every list and watch event from now on (subscribe before `start()` to
   * see the first list). Returns an unsubscribe function.
   */
  onPods(listener: (observation: PodObservation) => void): () => void {
    this.podListeners.add(listener);
    return () => this.podListeners.delete(listener);
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      this.logger.error({ cluster: this.cluster, err }, 'active pod tracker stopped unexpectedly');
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.quotaTimer);
    this.stopping.abort();
    this.currentWatch?.stop();
    await this.loop;
  }

  // -------------------------------------------------------------------------------------------
  // The list/watch loop

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    let relistsWithoutProgress = 0;
    while (!this.stopped) {
      if (this.resourceVersion === undefined) {
        const listed = await this.relist();
        if (!listed) continue;
      }
      const { end, progressed } = await this.watchOnce();
      if (this.stopped) return;
      if (progressed) {
        this.backoff.reset();
        relistsWithoutProgress = 0;
      }
      if (end.kind === 'relist') {
        this.logger.info({ cluster: this.cluster, why: end.why }, 'pod watch: relisting');
        this.resourceVersion = undefined;
        // A server that answers every fresh watch with ERROR must not spin us in a loop.
        if (relistsWithoutProgress++ > 0) await this.pauseFor(end.why);
      } else if (end.kind === 'error') {
        await this.pause(end.error, 'pod watch failed');
      }
    }
  }

  /** Lists all labelled pods (paginated) and replaces the state. False when it failed. */
  private async relist(): Promise<boolean> {
    const startedAt = this.now();
    const seen = new Map<string, boolean>();
    const items: unknown[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string;
    try {
      do {
        const page = await this.source.listPods({
          labelSelector: this.selector,
          limit: this.pageSize,
          continueToken,
          signal: this.stopping.signal,
        });
        for (const pod of page.items) {
          const name = pod.metadata?.name;
          if (name !== undefined) seen.set(name, isActivePod(pod));
        }
        if (this.podListeners.size > 0) items.push(...page.items);
        continueToken = page.continueToken;
        resourceVersion = page.resourceVersion;
      } while (continueToken !== undefined && !this.stopped);
    } catch (err) {
      if (this.stopped) return false;
      const error = err as ClusterError;
      // An expired continue token: start the list over at once.
      if (error.kind !== 'expired') await this.pause(error, 'pod list failed');
      return false;
    }
    if (this.stopped) return false;
    this.pods.clear();
    for (const [name, active] of seen) this.pods.set(name, active);
    for (const [name, notedAt] of this.optimistic) {
      // Noted before the list began: the list would have shown it if it still existed.
      if (seen.has(name) || notedAt < startedAt) this.optimistic.delete(name);
    }
    this.resourceVersion = resourceVersion;
    this.isSynced = true;
    this.notify(true);
    this.tell({ kind: 'listed', pods: items });
    return true;
  }

  /**
   * One watch, from the current resourceVersion until it ends. `progressed` is true when it
   * delivered a real event or ran cleanly for a while (then the backoff starts over).
   */
  private async watchOnce(): Promise<{ end: WatchEnd; progressed: boolean }> {
    const startedAt = this.now();
    let events = 0;
    let relistWhy: string | undefined;
    let finished = false;
    let established = false;
    let resolveEnd!: (end: WatchEnd) => void;
    const ended = new Promise<WatchEnd>((resolve) => (resolveEnd = resolve));

    const onEvent = (type: WatchEventType, object: unknown) => {
      const why = this.apply(type, object);
      if (why !== undefined) relistWhy = why;
      else events += 1;
    };
    const onDone = (err: ClusterError | null) => {
      finished = true;
      if (relistWhy !== undefined) resolveEnd({ kind: 'relist', why: relistWhy });
      else if (err === null) resolveEnd(this.cleanEnd(startedAt, events));
      else if (err.kind === 'expired') resolveEnd({ kind: 'relist', why: err.message });
      // client-node's 30 s silence timer on an established watch: just resume.
      else if (err.kind === 'timeout' && established) resolveEnd({ kind: 'closed' });
      else resolveEnd({ kind: 'error', error: err });
    };

    const starting = this.source.watchPods(
      {
        labelSelector: this.selector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        // Like client-go's reflector: a random server-side timeout in [5, 10) min so that
        // replicas' watches do not all restart together.
        timeoutSeconds: 300 + Math.floor(this.random() * 300),
      },
      onEvent,
      onDone,
    );
    // Connecting can hang (a black-holed server) until client-node's 30 s timer; stop() must
    // not wait for that, so the handle is stopped whenever it does arrive.
    let onStop: (() => void) | undefined;
    const stoppedWhileStarting = new Promise<'stopped'>((resolve) => {
      onStop = () => resolve('stopped');
      if (this.stopped) onStop();
      else this.stopping.signal.addEventListener('abort', onStop, { once: true });
    });
    let handle: WatchHandle | 'stopped';
    try {
      handle = await Promise.race([starting, stoppedWhileStarting]);
    } catch (err) {
      return { end: { kind: 'error', error: err as ClusterError }, progressed: false };
    } finally {
      this.stopping.signal.removeEventListener('abort', onStop!);
    }
    if (handle === 'stopped') {
      starting.then(
        (h) => h.stop(),
        () => undefined,
      );
      return { end: { kind: 'closed' }, progressed: false };
    }
    this.currentWatch = handle;
    established = !finished;
    if (this.stopped) handle.stop();
    const end = await ended;
    this.currentWatch = undefined;
    const ranCleanly = end.kind === 'closed' && this.now() - startedAt >= 1000;
    return { end, progressed: events > 0 || ranCleanly };
  }

  /** A clean end right after starting, with nothing received, counts as a failure. */
  private cleanEnd(startedAt: number, events: number): WatchEnd {
    if (events > 0 || this.now() - startedAt >= 1000) return { kind: 'closed' };
    const error = new ClusterError({
      kind: 'unknown',
      cluster: this.cluster,
      message: 'watch ended immediately without events',
    });
    return { kind: 'error', error };
  }

  /** Applies one watch event; returns a reason when the state must be relisted. */
  private apply(type: WatchEventType, object: unknown): string | undefined {
    const obj = (object ?? {}) as PodLike & { code?: number; message?: string };
    if (type === 'ERROR') {
      return `ERROR event${obj.code === undefined ? '' : ` ${obj.code}`}: ${obj.message ?? ''}`;
    }
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (type === 'BOOKMARK') return undefined;
    const name = obj.metadata?.name;
    if (name === undefined) return undefined;
    this.optimistic.delete(name);
    if (type === 'DELETED') this.pods.delete(name);
    else this.pods.set(name, isActivePod(obj));
    this.notify();
    this.tell(type === 'DELETED' ? { kind: 'deleted', pod: obj } : { kind: 'changed', pod: obj });
    return undefined;
  }

  private async pause(error: ClusterError, msg: string): Promise<void> {
    const delayMs = this.backoff.next(error.retryAfterMs);
    this.logger.warn({ cluster: this.cluster, delayMs, error: error.toJSON?.() ?? error }, msg);
    await this.sleepQuietly(delayMs);
  }

  private async pauseFor(why: string): Promise<void> {
    const delayMs = this.backoff.next();
    this.logger.warn({ cluster: this.cluster, delayMs, why }, 'pod watch: repeated relists');
    await this.sleepQuietly(delayMs);
  }

  private async sleepQuietly(delayMs: number): Promise<void> {
    try {
      await this.sleep(delayMs, this.stopping.signal);
    } catch {
      // stopped
    }
  }

  private expireOptimistic(): void {
    const cutoff = this.now() - this.optimisticTtlMs;
    for (const [name, notedAt] of this.optimistic) {
      if (notedAt < cutoff) this.optimistic.delete(name);
    }
  }

  private tell(observation: PodObservation): void {
    for (const listener of this.podListeners) listener(observation);
  }

  private notify(force = false): void {
    const count = this.count;
    if (!force && count === this.lastCount) return;
    this.lastCount = count;
    for (const listener of this.listeners) listener(this);
  }
}
