import type { V1Pod } from '@kubernetes/client-node';

import type {
  CreateOptions,
  Candidates,
  CreateAttempt,
  Fleet,
  FleetCluster,
  ReadAttempt,
} from '../../../../src/worker/fleet.js';
import {
  ANNOTATION_MESSAGE_ID,
  ANNOTATION_REQUEST_HASH,
} from '../../../../src/message/metadata-keys.js';

/** An in-memory cluster for worker unit tests: scripted answers are consumed first. */
export class MemoryCluster implements FleetCluster {
  readonly pods = new Map<string, V1Pod>();
  createScript: (CreateAttempt | 'store-then-unknown')[] = [];
  readScript: ReadAttempt[] = [];
  creates = 0;
  reads = 0;
  /** Stands in for a live watch cache: when set, it answers knownAbsent. */
  cache: Set<string> | undefined;
  /**
   * Stands in for the cluster's rate limit: each create first waits this long for a token,
   * told to the caller and passed to `elapse` (the test's clock).
   */
  pacing: { waitMs: number; elapse: (ms: number) => void } | undefined;

  constructor(readonly name: string) {}

  knownAbsent(name: string): boolean {
    return this.cache !== undefined && !this.cache.has(name);
  }

  /** What the last create was given to run before its client's own retries. */
  beforeLateSend: (() => Promise<void>) | undefined;

  async createPod(pod: V1Pod, options: CreateOptions = {}): Promise<CreateAttempt> {
    this.creates += 1;
    this.beforeLateSend = options.beforeLateSend;
    if (this.pacing) {
      this.pacing.elapse(this.pacing.waitMs);
      options.onRateLimitWait?.(this.pacing.waitMs);
    }
    const scripted = this.createScript.shift();
    if (scripted === 'store-then-unknown') {
      this.pods.set(pod.metadata!.name!, pod);
      return { kind: 'unknown', reason: 'timeout after 10000 ms' };
    }
    if (scripted) return scripted;
    if (this.pods.has(pod.metadata!.name!)) return { kind: 'exists' };
    this.pods.set(pod.metadata!.name!, pod);
    return { kind: 'created' };
  }

  async readPod(name: string): Promise<ReadAttempt> {
    this.reads += 1;
    const scripted = this.readScript.shift();
    if (scripted) return scripted;
    const pod = this.pods.get(name);
    return pod
      ? {
          kind: 'found',
          messageId: pod.metadata?.annotations?.[ANNOTATION_MESSAGE_ID],
          requestHash: pod.metadata?.annotations?.[ANNOTATION_REQUEST_HASH],
        }
      : { kind: 'absent' };
  }
}

/** Candidates in declaration order, preferred first; `down` and `full` clusters are skipped. */
export class MemoryFleet implements Fleet {
  readonly down = new Set<string>();
  readonly full = new Set<string>();
  private readonly capacityWaiters = new Set<() => void>();
  constructor(readonly clusters: MemoryCluster[]) {}

  /** Frees a full cluster and wakes capacity waiters, as a finished pod would. */
  freeCapacity(name: string): void {
    this.full.delete(name);
    for (const wake of this.capacityWaiters) wake();
    this.capacityWaiters.clear();
  }

  get capacityWaiterCount(): number {
    return this.capacityWaiters.size;
  }

  waitForCapacity(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const wake = () => resolve();
      this.capacityWaiters.add(wake);
      signal.addEventListener('abort', () => {
        this.capacityWaiters.delete(wake);
        reject(signal.reason);
      });
    });
  }

  candidates(_messageId: string, preferred?: string): Candidates {
    const ordered = [...this.clusters].sort(
      (a, b) => Number(b.name === preferred) - Number(a.name === preferred),
    );
    const skippedNames = (c: MemoryCluster) => this.down.has(c.name) || this.full.has(c.name);
    return {
      ordered: ordered.filter((c) => !skippedNames(c)),
      skipped: ordered.filter(skippedNames).map((c) => ({
        name: c.name,
        why: this.full.has(c.name) ? ('full' as const) : ('unhealthy' as const),
      })),
    };
  }
}

/** A podbus pod for message `name` (the unit tests use the message ID as the pod name). */
export function podFor(name: string, hash: string, messageId = name): V1Pod {
  return {
    metadata: {
      name,
      annotations: { [ANNOTATION_MESSAGE_ID]: messageId, [ANNOTATION_REQUEST_HASH]: hash },
    },
    spec: { containers: [] },
  };
}
