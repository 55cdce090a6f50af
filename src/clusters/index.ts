/** Public surface of src/clusters: one import for the worker, the CLI and the config loader. */
export type { ClusterEntry } from './cluster-entry.js';
export {
  ClusterError,
  healthImpactOf,
  isClusterError,
  isRetryableKind,
  type ClusterErrorKind,
  type HealthImpact,
  type StatusCause,
} from './errors.js';
export { classifyError } from './classify.js';
export { DEFAULT_BACKOFF, Backoff, backoffDelay, sleep, type BackoffOptions } from './backoff.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
export {
  ClusterClient,
  CLIENT_CLOSE_GRACE_MS,
  type AccessReport,
  type CallEvent,
  type CallOptions,
  type ClusterClientOptions,
  type CreatePodResult,
  type ListPodsOptions,
  type PodLogOptions,
  type PodRef,
  type Operation,
  type PodList,
  type WatchEventType,
  type WatchHandle,
  type WatchPodsOptions,
} from './cluster-client.js';
export {
  CircuitBreaker,
  DEFAULT_BREAKER_OPTIONS,
  type BreakerOptions,
  type BreakerState,
  type BreakerStateChange,
} from './circuit-breaker.js';
export {
  STRATEGY_NAMES,
  createSelector,
  type ClusterView,
  type Selection,
  type SkipReason,
  type StrategyName,
} from './strategies.js';
export {
  ActivePodTracker,
  MANAGED_BY_SELECTOR,
  isActivePod,
  type PodObservation,
  type PodPresence,
} from './active-pods.js';
export { connectionsForConcurrency } from './connection.js';
export {
  PODBUS_PERMISSIONS,
  permissionLabel,
  type NeededPermission,
  type Permission,
} from './permissions.js';
export type { ClusterEvents } from './events.js';
export {
  ClusterPool,
  type ClusterCheck,
  type ClusterPoolOptions,
  type ClusterStatus,
  type PoolClient,
} from './cluster-pool.js';
export type { ClusterLogger } from './logger.js';
