import type { V1Pod } from '@kubernetes/client-node';

import type { BreakerStateChange } from './circuit-breaker.js';
import type { CallEvent, Operation } from './cluster-client.js';

/**
 * What the clusters say happened: event name -> payload. The clients and breakers of a
 * `ClusterPool` emit into the pool's emitter; the pool listens to keep its capacity counts and
 * waiters right, and exposes the same events (`pool.events`) to whoever else wants them: the
 * app subscribes podbus's metrics and log lines (src/observability/).
 */
export interface ClusterEvents {
  /** One API call finished, after its retries: which operation, how it ended, how long. */
  call: CallEvent;
  /** A request waited `waitedMs` for the cluster's client-side rate limit (rate-limiter.ts). */
  rateLimited: {
    readonly cluster: string;
    readonly operation: Operation;
    readonly waitedMs: number;
  };
  /** An APF 429 asked to wait: no request of this replica goes to the cluster for `forMs`. */
  rateLimitPaused: { readonly cluster: string; readonly forMs: number };
  /** A client created a pod: the pool counts it at once (ActivePodTracker.noteCreated). */
  podCreated: { readonly cluster: string; readonly pod: V1Pod };
  /** A cluster's circuit breaker changed state (`reason` says why). */
  breakerStateChanged: BreakerStateChange;
  /** The number of active (non-terminal) podbus pods on a cluster changed. */
  activePodsChanged: { readonly cluster: string; readonly activePods: number };
}
