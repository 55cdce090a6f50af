import type { ClusterEvents } from '../clusters/events.js';
import type { ResultEvents } from '../results/events.js';
import type { EventSource } from '../shared/typed-events.js';
import type { WorkerEvents } from '../worker/events.js';

/**
 * What podbus's observability listens to: the worker's events, its cluster pool's, and, when
 * results or cleanup are on, the results service's.
 */
export interface EventSources {
  readonly worker: EventSource<WorkerEvents>;
  readonly clusters: EventSource<ClusterEvents>;
  readonly results?: EventSource<ResultEvents>;
}
