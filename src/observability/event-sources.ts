import type { ClusterEvents } from '../clusters/events.js';
import type { EventSource } from '../shared/typed-events.js';
import type { WorkerEvents } from '../worker/events.js';

/** What podbus's observability listens to: the worker's events and its cluster pool's. */
export interface EventSources {
  readonly worker: EventSource<WorkerEvents>;
  readonly clusters: EventSource<ClusterEvents>;
}
