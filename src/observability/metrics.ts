import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import type { EventSources } from './event-sources.js';

/**
 * The worker's Prometheus metrics. One instance per worker (its own registry), so tests and
 * `podbus local` can run several workers in one process without name clashes.
 * Names follow Prometheus conventions: `_total` counters, `_seconds` durations, base units.
 */
export class WorkerMetrics {
  readonly registry = new Registry();

  readonly messagesReceived = new Counter({
    name: 'podbus_messages_received_total',
    help: 'Messages received from the Service Bus queue.',
    registers: [this.registry],
  });

  readonly messagesSettled = new Counter({
    name: 'podbus_messages_settled_total',
    help: 'Messages by final outcome: created, duplicate (pod already existed), dead_lettered, abandoned, lock_lost, left_locked (left to its lock expiry at shutdown: a create may still land).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly messagesDeadLettered = new Counter({
    name: 'podbus_messages_dead_lettered_total',
    help: 'Messages dead-lettered, by DeadLetterReason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly jsonStringBodies = new Counter({
    name: 'podbus_messages_json_string_body_total',
    help: 'Deliveries accepted whose body was a JSON string holding the challenge (the sender JSON-encoded it twice).',
    registers: [this.registry],
  });

  readonly podCreateDuration = new Histogram({
    name: 'podbus_pod_create_duration_seconds',
    help: 'Latency of pod create calls (including client retries), by cluster and result.',
    labelNames: ['cluster', 'result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly clusterHealthy = new Gauge({
    name: 'podbus_cluster_healthy',
    help: '1 when the cluster circuit breaker is closed (or half-open), 0 when open.',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly clusterActivePods = new Gauge({
    name: 'podbus_cluster_active_pods',
    help: 'Active (non-terminal) podbus pods per cluster, from the watch-backed count.',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly clusterCapacityPods = new Gauge({
    name: 'podbus_cluster_capacity_pods',
    help: 'Configured maxActivePods per cluster (0 = unbounded).',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly clusterThrottledSeconds = new Counter({
    name: 'podbus_cluster_throttled_seconds_total',
    help: "Time requests to the cluster waited for this replica's client-side rate limit (qps/burst, and pauses an API server's 429 asked for), in seconds.",
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly clusterRateLimitWait = new Histogram({
    name: 'podbus_cluster_rate_limit_wait_seconds',
    help: 'How long each request that had to wait for the client-side rate limit waited, by cluster.',
    labelNames: ['cluster'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly clusterRateLimitPauses = new Counter({
    name: 'podbus_cluster_rate_limit_pauses_total',
    help: 'Times an API server answered 429 with Retry-After and every request to it was held for that long.',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly messagesInFlight = new Gauge({
    name: 'podbus_messages_in_flight',
    help: 'Messages currently being handled (locked by this worker).',
    registers: [this.registry],
  });

  readonly lockRenewals = new Counter({
    name: 'podbus_lock_renewals_total',
    help: 'Message lock renewals, by result (ok, lost, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly receiverErrors = new Counter({
    name: 'podbus_receiver_errors_total',
    help: 'Errors reported by the Service Bus receiver, by SDK error source.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly transientRetries = new Counter({
    name: 'podbus_transient_retries_total',
    help: 'In-process retries of a message after a transient failure, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly resultsSent = new Counter({
    name: 'podbus_results_sent_total',
    help: 'Result messages sent, by cluster and outcome (succeeded, failed, deadline-exceeded, image-pull-failed, unschedulable, deleted). A repeat after a leader change counts again; its messageId is the same, so duplicate detection on the results queue drops it.',
    labelNames: ['cluster', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly resultErrors = new Counter({
    name: 'podbus_result_errors_total',
    help: 'Failed steps of reporting a result, by cluster and step (send: the message was not sent; mark: the pod was not annotated). Each is retried while this replica leads.',
    labelNames: ['cluster', 'step'] as const,
    registers: [this.registry],
  });

  readonly resultsUnsent = new Gauge({
    name: 'podbus_results_unsent',
    help: 'Pods that have ended and whose result is not sent yet, per cluster, as this replica sees them (every replica sees the same pods: aggregate with max).',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly resultLag = new Histogram({
    name: 'podbus_result_lag_seconds',
    help: 'From the end of a pod (or the moment it counted as stuck) to its result being sent.',
    labelNames: ['cluster'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });

  readonly podTimeToRunning = new Histogram({
    name: 'podbus_pod_time_to_running_seconds',
    help: "From a pod's creation to its first container running, per cluster (observed once per pod, when its result is sent).",
    labelNames: ['cluster'] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });

  readonly challengeRunDuration = new Histogram({
    name: 'podbus_challenge_run_seconds',
    help: "From a challenge pod's first container running to its end, by cluster and outcome (observed when its result is sent).",
    labelNames: ['cluster', 'outcome'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400],
    registers: [this.registry],
  });

  readonly podsDeleted = new Counter({
    name: 'podbus_pods_deleted_total',
    help: 'Pods deleted by cleanup, by cluster and reason (finished: ttlSecondsAfterFinished after their end; stuck: stuckPendingSeconds after their creation).',
    labelNames: ['cluster', 'reason'] as const,
    registers: [this.registry],
  });

  readonly podDeleteErrors = new Counter({
    name: 'podbus_pod_delete_errors_total',
    help: 'Failed cleanup deletions, by cluster (each is retried).',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly resultsLeader = new Gauge({
    name: 'podbus_results_leader',
    help: "1 while this replica holds the cluster's results lease (publishes results and deletes pods for it), else 0. Summed over replicas: 1 per cluster when healthy.",
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  readonly leaseErrors = new Counter({
    name: 'podbus_lease_errors_total',
    help: 'Failed reads or writes of the results lease, by cluster (a lost race is not an error).',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}

/**
 * Keeps `metrics` in step with what the worker and the clusters say happened. Every metric is
 * the consequence of one event; see WorkerEvents and ClusterEvents for what each one means.
 */
export function recordMetrics(
  metrics: WorkerMetrics,
  { worker, clusters, results }: EventSources,
): void {
  worker.on('messageReceived', () => metrics.messagesReceived.inc());
  worker.on('inFlightChanged', ({ inFlight }) => metrics.messagesInFlight.set(inFlight));
  worker.on('messagePrepared', ({ jsonStringBody }) => {
    if (jsonStringBody) metrics.jsonStringBodies.inc();
  });
  worker.on('retry', ({ why }) => metrics.transientRetries.inc({ kind: why }));
  worker.on('lockRenewal', ({ result }) =>
    metrics.lockRenewals.inc({ result: result.ok ? 'ok' : result.lockLost ? 'lost' : 'error' }),
  );
  worker.on('messageHandled', ({ outcome, settled, left }) => {
    // Not settled: the broker redelivers it, and that delivery is counted when it ends.
    if (settled === 'failed') return;
    metrics.messagesSettled.inc({ outcome: left });
    if (outcome.action === 'dead-letter' && settled === 'settled') {
      metrics.messagesDeadLettered.inc({ reason: outcome.reason });
    }
  });
  worker.on('receiverError', ({ source }) => metrics.receiverErrors.inc({ source }));

  clusters.on('call', (call) => {
    if (call.operation !== 'create') return;
    metrics.podCreateDuration.observe(
      { cluster: call.cluster, result: call.outcome },
      call.durationMs / 1000,
    );
  });
  clusters.on('rateLimited', ({ cluster, waitedMs }) => {
    metrics.clusterThrottledSeconds.inc({ cluster }, waitedMs / 1000);
    metrics.clusterRateLimitWait.observe({ cluster }, waitedMs / 1000);
  });
  clusters.on('rateLimitPaused', ({ cluster }) => metrics.clusterRateLimitPauses.inc({ cluster }));
  clusters.on('breakerStateChanged', ({ cluster, to }) =>
    metrics.clusterHealthy.set({ cluster }, to === 'open' ? 0 : 1),
  );
  clusters.on('activePodsChanged', ({ cluster, activePods }) =>
    metrics.clusterActivePods.set({ cluster }, activePods),
  );

  if (results === undefined) return;
  results.on('resultSent', ({ pod, outcome, toStartMs, runMs, lagMs }) => {
    const { cluster } = pod;
    metrics.resultsSent.inc({ cluster, outcome });
    metrics.resultLag.observe({ cluster }, lagMs / 1000);
    if (toStartMs !== undefined) metrics.podTimeToRunning.observe({ cluster }, toStartMs / 1000);
    if (runMs !== undefined)
      metrics.challengeRunDuration.observe({ cluster, outcome }, runMs / 1000);
  });
  results.on('resultFailed', ({ pod, step }) =>
    metrics.resultErrors.inc({ cluster: pod.cluster, step }),
  );
  results.on('backlogChanged', ({ cluster, unsent }) =>
    metrics.resultsUnsent.set({ cluster }, unsent),
  );
  results.on('podDeleted', ({ pod, reason }) =>
    metrics.podsDeleted.inc({ cluster: pod.cluster, reason }),
  );
  results.on('deleteFailed', ({ pod }) => metrics.podDeleteErrors.inc({ cluster: pod.cluster }));
  results.on('leadershipChanged', ({ cluster, leading }) =>
    metrics.resultsLeader.set({ cluster }, leading ? 1 : 0),
  );
  results.on('leaseFailed', ({ cluster }) => metrics.leaseErrors.inc({ cluster }));
}
