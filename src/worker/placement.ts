import type { V1Pod } from '@kubernetes/client-node';

import type {
  CreateAttempt,
  Fleet,
  FleetCluster,
  RateLimitWaitListener,
  ReadAttempt,
} from './fleet.js';

/**
 * Pod placement for one message: where its pod is created, or why it cannot be yet.
 *
 * The rules that turn at-least-once delivery into exactly-once pod creation:
 * 1. Before creating, look for the pod on every cluster when a duplicate is possible.
 *    - `strict` (a redelivery: podbus itself may have created the pod on an earlier delivery):
 *      a cluster that cannot be asked might hold it, so the lookup is retried later rather
 *      than risking a second pod.
 *    - `best-effort` (a first delivery under a strategy that may pick another cluster than
 *      last time): no podbus replica has held this message before (Service Bus raises the
 *      delivery count on every lock expiry or abandon), so only a sender's duplicate send can
 *      have made the pod. Unreachable clusters are skipped: holding every message while one
 *      cluster is down would make failover impossible, and sender duplicates processed at
 *      the same time race anyway (only `hash` + 409, or the queue's duplicate detection,
 *      prevents those).
 *    - `none` (a first delivery under `hash`): the one home cluster answers 409 instead.
 * 2. A 409 on create is resolved by the annotations on the existing pod: same message ID and
 *    same request hash -> this is a redelivery (done); anything else -> a different message
 *    (or something not created by podbus) holds the name (conflict).
 * 3. A create whose outcome is unknown (timeout, reset, 5xx) may have been written, so the
 *    message is pinned to that cluster: it is retried there (a retried create is idempotent
 *    thanks to the deterministic pod name: 201 or 409) and never failed over elsewhere.
 * 4. A create that certainly wrote nothing (refused connection, 401/403, 429, missing
 *    namespace) fails over to the next candidate.
 * 5. A cluster with no room (maxActivePods, or its ResourceQuota used up) is skipped like a
 *    failure, but when every candidate is full the message waits for capacity: no failure.
 * 6. Every create asks the broker for the lock first. A lock it dropped early means the
 *    message is, or soon will be, redelivered, and that delivery's lookup cannot see a create
 *    that had not been sent yet: any create sent later, after a slow lookup, a backoff or a
 *    failover, could make a second pod. That includes the cluster client's own retries of one
 *    create. Only a create already in flight when the lock is lost can still race the
 *    redelivery.
 */
export type PlacementResult =
  | { kind: 'created'; cluster: string }
  | { kind: 'duplicate'; cluster: string }
  | { kind: 'conflict'; cluster: string; description: string }
  | { kind: 'rejected'; cluster: string; description: string }
  /** Nothing decided yet: wait and call `attempt` again. */
  | { kind: 'retry'; why: RetryWhy; detail: string; retryAfterMs?: number };

export type RetryWhy =
  | 'lookup-incomplete'
  | 'pinned-cluster-unavailable'
  | 'all-candidates-failed'
  | 'no-capacity'
  | 'no-healthy-cluster';

export type LookupMode = 'strict' | 'best-effort' | 'none';

export interface AttemptSignals {
  readonly create?: AbortSignal;
  readonly read?: AbortSignal;
  /**
   * Called before every create (rule 6): renews the lock so that a lock the broker dropped
   * early aborts `create` now, not at the next scheduled renewal.
   */
  readonly confirmLock?: () => Promise<void>;
}

export interface PlacementInput {
  readonly pod: V1Pod;
  readonly messageId: string;
  readonly requestHash: string;
  readonly preferredCluster?: string;
  /** How to look for an existing pod before the first create (see rule 1). */
  readonly lookup: LookupMode;
  /** Told each time a call to a cluster waited for its rate limit (not a failure). */
  readonly onRateLimitWait?: RateLimitWaitListener;
}

export class PodPlacement {
  private lookupDone: boolean;
  private pinned: FleetCluster | undefined;

  constructor(
    private readonly fleet: Fleet,
    private readonly input: PlacementInput,
  ) {
    this.lookupDone = input.lookup === 'none';
  }

  /** The cluster this message is pinned to after an unknown create outcome, if any. */
  get pinnedCluster(): string | undefined {
    return this.pinned?.name;
  }

  /**
   * One round of placement. `create` aborts create calls (lock lost: stop before writing);
   * `read` aborts lookups too (also shutdown: a lookup can always be redone later, while an
   * in-flight create is better left to finish within the grace period).
   */
  async attempt(signals: AttemptSignals = {}): Promise<PlacementResult> {
    if (!this.lookupDone) {
      const found = await this.lookup(signals.read ?? signals.create);
      if (found) return found;
      this.lookupDone = true;
    }
    if (this.pinned) return this.createOnPinned(this.pinned, signals);
    return this.createOnCandidates(signals);
  }

  /**
   * One create, unless the lock is gone: the broker is asked first (rule 6). Undefined when
   * the create signal is (or became) aborted: nothing was sent.
   */
  private async create(
    cluster: FleetCluster,
    signals: AttemptSignals,
  ): Promise<CreateAttempt | undefined> {
    await signals.confirmLock?.();
    if (signals.create?.aborted) return undefined;
    return cluster.createPod(this.input.pod, {
      signal: signals.create,
      onRateLimitWait: this.input.onRateLimitWait,
      beforeLateSend: signals.confirmLock,
    });
  }

  private async lookup(signal?: AbortSignal): Promise<PlacementResult | undefined> {
    const podName = this.podName;
    // A best-effort lookup trusts a live watch cache's "not there" (no GET per cluster per
    // message); a strict one always asks every API server.
    const ask = (cluster: FleetCluster): Promise<ReadAttempt> =>
      this.input.lookup === 'best-effort' && cluster.knownAbsent(podName)
        ? Promise.resolve({ kind: 'absent' })
        : cluster.readPod(podName, signal, this.input.onRateLimitWait);
    const reads = await Promise.all(
      this.fleet.clusters.map(async (cluster) => ({ cluster, read: await ask(cluster) })),
    );
    const found = reads.find((r) => r.read.kind === 'found');
    if (found) return this.judgeExisting(found.cluster.name, found.read);
    if (signal?.aborted) {
      // Interrupted (shutdown, lock lost): an unanswered cluster is not an unreachable one.
      return { kind: 'retry', why: 'lookup-incomplete', detail: 'lookup interrupted' };
    }
    const unreachable = reads.filter((r) => r.read.kind === 'unreachable');
    if (unreachable.length > 0 && this.input.lookup === 'strict') {
      return {
        kind: 'retry',
        why: 'lookup-incomplete',
        detail: `cannot tell whether pod ${podName} already exists: ${unreachable
          .map((r) => `${r.cluster.name} (${(r.read as { reason: string }).reason})`)
          .join(', ')} unreachable`,
        retryAfterMs: maxRetryAfter(unreachable.map((r) => r.read)),
      };
    }
    return undefined;
  }

  private async createOnCandidates(signals: AttemptSignals): Promise<PlacementResult> {
    const readSignal = signals.read ?? signals.create;
    const { ordered, skipped } = this.fleet.candidates(
      this.input.messageId,
      this.input.preferredCluster,
    );
    if (ordered.length === 0) {
      const allFull = skipped.length > 0 && skipped.every((s) => s.why === 'full');
      return {
        kind: 'retry',
        why: allFull ? 'no-capacity' : 'no-healthy-cluster',
        detail: skipped.map((s) => `${s.name}: ${s.why}`).join(', ') || 'no clusters configured',
      };
    }
    const failures: string[] = [];
    const full: string[] = [];
    let retryAfterMs: number | undefined;
    for (const cluster of ordered) {
      const result = await this.create(cluster, signals);
      if (result === undefined) return stoppedBeforeCreate(cluster);
      const decided = this.decided(cluster, result, readSignal);
      if (decided) return decided;
      switch (result.kind) {
        case 'full':
          full.push(`${cluster.name}: ${result.reason}`);
          break;
        case 'unknown':
          this.pinned = cluster;
          return {
            kind: 'retry',
            why: 'pinned-cluster-unavailable',
            detail: `create on ${cluster.name} may or may not have happened (${result.reason}); retrying there only`,
            retryAfterMs: result.retryAfterMs,
          };
        case 'unavailable':
          failures.push(`${cluster.name}: ${result.reason}`);
          retryAfterMs = maxOf(retryAfterMs, result.retryAfterMs);
          break;
      }
    }
    if (failures.length === 0) {
      // Every cluster tried is full: wait for a pod to end, as when none had room to begin with.
      return { kind: 'retry', why: 'no-capacity', detail: full.join('; ') };
    }
    return {
      kind: 'retry',
      why: 'all-candidates-failed',
      detail: [...failures, ...full].join('; '),
      retryAfterMs,
    };
  }

  private async createOnPinned(
    cluster: FleetCluster,
    signals: AttemptSignals,
  ): Promise<PlacementResult> {
    const readSignal = signals.read ?? signals.create;
    const result = await this.create(cluster, signals);
    if (result === undefined) return stoppedBeforeCreate(cluster);
    const decided = this.decided(cluster, result, readSignal);
    if (decided) return decided;
    if (result.kind === 'full') {
      // Quota admission runs before the name is checked: the pod an earlier create may have
      // made can be what fills the quota, and then every retry says "exceeded quota", never
      // 409. Look for it.
      const read = await cluster.readPod(this.podName, readSignal, this.input.onRateLimitWait);
      if (read.kind === 'found') return this.judgeExisting(cluster.name, read);
    }
    const failure = result as Extract<CreateAttempt, { kind: 'unknown' | 'unavailable' | 'full' }>;
    return {
      kind: 'retry',
      why: 'pinned-cluster-unavailable',
      detail: `waiting for ${cluster.name}, where an earlier create may have succeeded: ${failure.reason}`,
      retryAfterMs: 'retryAfterMs' in failure ? failure.retryAfterMs : undefined,
    };
  }

  /** The create outcomes that settle the message, whichever cluster answered them. */
  private decided(
    cluster: FleetCluster,
    result: CreateAttempt,
    readSignal?: AbortSignal,
  ): Promise<PlacementResult> | undefined {
    switch (result.kind) {
      case 'created':
        return Promise.resolve({ kind: 'created', cluster: cluster.name });
      case 'exists':
        return this.resolveExisting(cluster, readSignal);
      case 'rejected':
        return Promise.resolve({
          kind: 'rejected',
          cluster: cluster.name,
          description: result.reason,
        });
      default:
        return undefined;
    }
  }

  /** A 409: read the pod to tell a redelivery from an ID clash. */
  private async resolveExisting(
    cluster: FleetCluster,
    signal?: AbortSignal,
  ): Promise<PlacementResult> {
    const read = await cluster.readPod(this.podName, signal, this.input.onRateLimitWait);
    if (read.kind === 'found') return this.judgeExisting(cluster.name, read);
    if (read.kind === 'absent') {
      // Deleted between our create and our read (e.g. cleaned up): create again, same cluster.
      this.pinned = cluster;
      return {
        kind: 'retry',
        why: 'pinned-cluster-unavailable',
        detail: `pod ${this.podName} on ${cluster.name} disappeared after a 409; creating again`,
      };
    }
    this.pinned = cluster;
    return {
      kind: 'retry',
      why: 'pinned-cluster-unavailable',
      detail: `pod ${this.podName} exists on ${cluster.name} but cannot be read: ${read.reason}`,
      retryAfterMs: read.retryAfterMs,
    };
  }

  private judgeExisting(cluster: string, read: ReadAttempt): PlacementResult {
    const found = read.kind === 'found' ? read : { messageId: undefined, requestHash: undefined };
    if (found.messageId === this.input.messageId && found.requestHash === this.input.requestHash) {
      return { kind: 'duplicate', cluster };
    }
    const where = `pod ${this.podName} on cluster ${cluster}`;
    let why: string;
    if (found.requestHash === undefined) {
      why = `${where} was not created by podbus (no request-hash annotation)`;
    } else if (found.messageId !== this.input.messageId) {
      why = `${where} belongs to message ID ${JSON.stringify(found.messageId)}, not this one`;
    } else {
      why =
        `${where} was created from a different request under the same message ID ` +
        `(request hash ${found.requestHash}, this message ${this.input.requestHash})`;
    }
    return {
      kind: 'conflict',
      cluster,
      description: `${why}; message IDs must be unique per challenge run`,
    };
  }

  private get podName(): string {
    const name = this.input.pod.metadata?.name;
    if (!name) throw new Error('placement needs a pod with metadata.name');
    return name;
  }
}

/** The create signal fired (the lock is lost) before anything was sent: try nothing more. */
function stoppedBeforeCreate(cluster: FleetCluster): PlacementResult {
  return {
    kind: 'retry',
    why: 'all-candidates-failed',
    detail: `stopped before creating on ${cluster.name}: the message lock is lost`,
  };
}

function maxOf(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

function maxRetryAfter(reads: readonly ReadAttempt[]): number | undefined {
  return reads.reduce<number | undefined>(
    (acc, r) => (r.kind === 'unreachable' ? maxOf(acc, r.retryAfterMs) : acc),
    undefined,
  );
}
