import type { V1Pod } from '@kubernetes/client-node';

import { ClusterError, type ClusterPool } from '../clusters/index.js';
import { ANNOTATION_MESSAGE_ID, ANNOTATION_REQUEST_HASH } from '../message/metadata-keys.js';
import type {
  CreateOptions,
  CreateAttempt,
  Fleet,
  FleetCluster,
  RateLimitWaitListener,
  ReadAttempt,
} from './fleet.js';

/**
 * The cluster pool seen through the worker's Fleet port. The translation is where "did this
 * create maybe happen?" is decided: ClusterError.mayHaveTakenEffect says it, and placement
 * pins the message to that cluster when it is true.
 */
export function fleetFromPool(pool: ClusterPool): Fleet {
  const clusters = new Map<string, FleetCluster>(
    pool.clusterNames.map((name) => [name, fleetCluster(name, pool)]),
  );
  return {
    clusters: [...clusters.values()],
    candidates: (messageId, preferredCluster) => {
      const selection = pool.candidates(messageId, preferredCluster);
      return {
        ordered: selection.candidates.map((name) => clusters.get(name)!),
        skipped: selection.skipped.map((s) => ({ name: s.name, why: s.reason })),
      };
    },
    waitForCapacity: (signal) => pool.waitForCapacity(signal),
  };
}

function fleetCluster(name: string, pool: ClusterPool): FleetCluster {
  const client = pool.client(name)!;
  return {
    name,
    async createPod(pod: V1Pod, options: CreateOptions = {}): Promise<CreateAttempt> {
      // Concurrent messages must not all take the last free slot of this cluster.
      const release = pool.reserveCapacity(name);
      if (release === undefined) {
        return { kind: 'full', reason: pool.fullReason(name) ?? 'full' };
      }
      try {
        const result = await client.createPod(pod, options);
        return result.outcome === 'created' ? { kind: 'created' } : { kind: 'exists' };
      } catch (error) {
        return createFailure(error);
      } finally {
        release();
      }
    },
    knownAbsent: (podName) => pool.podPresence(name, podName) === 'absent',
    async readPod(
      podName: string,
      signal?: AbortSignal,
      onRateLimitWait?: RateLimitWaitListener,
    ): Promise<ReadAttempt> {
      try {
        const pod = await client.getPod(podName, { signal, onRateLimitWait });
        if (pod === undefined) return { kind: 'absent' };
        const annotations = pod.metadata?.annotations ?? {};
        return {
          kind: 'found',
          messageId: annotations[ANNOTATION_MESSAGE_ID],
          requestHash: annotations[ANNOTATION_REQUEST_HASH],
        };
      } catch (error) {
        const failure = asClusterError(error, name);
        return { kind: 'unreachable', reason: failure.detail, retryAfterMs: failure.retryAfterMs };
      }
    },
  };

  function createFailure(error: unknown): CreateAttempt {
    const failure = asClusterError(error, name);
    if (failure.kind === 'quota-exceeded') {
      // Full until one of its pods ends (or a while passes): other messages skip it meanwhile.
      pool.noteQuotaExceeded(name, failure.detail);
    }
    const reason = failure.detail;
    // Whatever the last answer says, an earlier attempt of this create (the client retries)
    // may have written the pod: only this cluster may be asked again. A refusal read as "full"
    // or "rejected" here would fail the message over, or dead-letter it, beside its pod.
    if (failure.mayHaveTakenEffect)
      return { kind: 'unknown', reason, retryAfterMs: failure.retryAfterMs };
    if (failure.kind === 'rejected') return { kind: 'rejected', reason: rejectionText(failure) };
    if (failure.kind === 'quota-exceeded') return { kind: 'full', reason };
    return { kind: 'unavailable', reason, retryAfterMs: failure.retryAfterMs };
  }
}

function asClusterError(error: unknown, cluster: string): ClusterError {
  return error instanceof ClusterError
    ? error
    : new ClusterError({ kind: 'unknown', cluster, message: String(error) });
}

/** The API's own words, plus each cause's field, so the DLQ entry says what to fix. */
function rejectionText(error: ClusterError): string {
  const causes = (error.causes ?? [])
    .map((c) => [c.field, c.message].filter(Boolean).join(': '))
    .filter((text) => text !== '' && !error.detail.includes(text));
  return causes.length === 0 ? error.detail : `${error.detail} (${causes.join('; ')})`;
}
