import type { V1Pod } from '@kubernetes/client-node';

/**
 * The worker's view of the cluster pool: just what pod placement needs. The cluster pool in
 * src/clusters implements it (see fleet-adapter.ts); placement tests use small in-memory fleets.
 */

/** The result of one create call, after the cluster client's own retries. */
export type CreateAttempt =
  | { kind: 'created' }
  /** 409: a pod with this name is already there (read it to tell redelivery from clash). */
  | { kind: 'exists' }
  /** The API refused the pod itself (422, 400): permanent for this message. */
  | { kind: 'rejected'; reason: string }
  /**
   * This cluster has no room for the pod now (at maxActivePods, or its ResourceQuota used up):
   * nothing was written; try another cluster, or wait for capacity.
   */
  | { kind: 'full'; reason: string }
  /** Nothing was written (refused connection, 401/403, missing namespace, 429...): safe to try another cluster. */
  | { kind: 'unavailable'; reason: string; retryAfterMs?: number }
  /** The outcome is unknown (timeout, reset mid-request, 5xx): the pod may exist there. */
  | { kind: 'unknown'; reason: string; retryAfterMs?: number };

export type ReadAttempt =
  /** The pod's podbus annotations (undefined when absent: not a podbus pod). */
  | { kind: 'found'; messageId: string | undefined; requestHash: string | undefined }
  | { kind: 'absent' }
  | { kind: 'unreachable'; reason: string; retryAfterMs?: number };

/** Told how long a call waited for the cluster's client-side rate limit (pacing, no failure). */
export type RateLimitWaitListener = (waitedMs: number) => void;

/** How one create is sent: see FleetCluster.createPod. */
export interface CreateOptions {
  readonly signal?: AbortSignal;
  readonly onRateLimitWait?: RateLimitWaitListener;
  readonly beforeLateSend?: () => Promise<void>;
}

export interface FleetCluster {
  readonly name: string;
  /**
   * `beforeLateSend` runs before each attempt of this create that goes out late: a retry the
   * cluster's client makes on its own, or one its rate limiter held back (placement rule 6
   * holds for those too: see AttemptSignals.confirmLock).
   */
  createPod(pod: V1Pod, options?: CreateOptions): Promise<CreateAttempt>;
  readPod(
    name: string,
    signal?: AbortSignal,
    onRateLimitWait?: RateLimitWaitListener,
  ): Promise<ReadAttempt>;
  /**
   * True when a live watch cache of this cluster's podbus pods has no pod of that name: a
   * best-effort lookup may then skip the GET. False when unsure.
   */
  knownAbsent(name: string): boolean;
}

export type SkipReason = 'unhealthy' | 'full';

export interface Candidates {
  /** Clusters to try, best first (healthy and with capacity). */
  readonly ordered: readonly FleetCluster[];
  /** Clusters left out of `ordered`, and why. */
  readonly skipped: readonly { name: string; why: SkipReason }[];
}

export interface Fleet {
  readonly clusters: readonly FleetCluster[];
  /** Orders the clusters for one message by the configured strategy and preference. */
  candidates(messageId: string, preferredCluster?: string): Candidates;
  /** Resolves when some cluster may have room again; rejects when the signal aborts. */
  waitForCapacity(signal: AbortSignal): Promise<void>;
}
