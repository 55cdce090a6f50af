import {
  backoffDelay,
  CLIENT_CLOSE_GRACE_MS,
  ClusterPool,
  connectionsForConcurrency,
  sleep,
} from '../clusters/index.js';
import type { Config } from '../config/config.js';
import { logEvents } from '../observability/event-logs.js';
import { startHealthServer, type HealthServer } from '../observability/health-server.js';
import type { Logger } from '../observability/logger.js';
import { recordMetrics, WorkerMetrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import { TRACING_FLUSH_GRACE_MS, type TracingSettings } from '../observability/tracing-env.js';
import { policyForConfig } from '../policy/policy.js';
import {
  cleanupEnabled,
  ResultsService,
  resultsEnabled,
  serviceBusSender,
} from '../results/results-service.js';
import { pollingGate } from '../worker/admission-gate.js';
import { fleetFromPool } from '../worker/fleet-adapter.js';
import { createPrepare } from '../worker/prepare.js';
import { Worker, workerStopBudgetMs } from '../worker/worker.js';

/**
 * How long the results service may take to stop (in-flight results and deletions, releasing
 * the leases, closing its Service Bus connection). It stops beside the worker, so this counts
 * in the worst case only when it is longer than the worker's stop.
 */
export const RESULTS_STOP_BUDGET_MS = 5_000;

/**
 * The longest `WorkerApp.stop()` can take with this configuration: the worker's stop (grace
 * period, then closing the Service Bus connection) and, beside it, the results service's; then
 * closing the cluster connections; then (with tracing) exporting the last spans. The
 * deployment's terminationGracePeriodSeconds must exceed it, or the kubelet kills the process
 * mid-shutdown (deploy/worker/base/deployment.yaml; a test holds them together).
 */
export function worstCaseStopMs(
  config: Pick<Config, 'worker'>,
  options: { readonly tracing?: boolean } = {},
): number {
  return (
    Math.max(workerStopBudgetMs(config.worker.shutdownGraceMs), RESULTS_STOP_BUDGET_MS) +
    CLIENT_CLOSE_GRACE_MS +
    (options.tracing ? TRACING_FLUSH_GRACE_MS : 0)
  );
}

/** A running worker with everything it owns; `stop()` shuts it all down in order. */
export interface WorkerApp {
  readonly worker: Worker;
  readonly pool: ClusterPool;
  /** Undefined when both results and cleanup are off. */
  readonly results: ResultsService | undefined;
  readonly metrics: WorkerMetrics;
  /** Undefined when `http.enabled` is false. */
  readonly health: HealthServer | undefined;
  stop(): Promise<void>;
}

export interface WorkerAppOptions {
  readonly logger: Logger;
  /** Process-wide metrics (node_*, process_*) are on unless a test turns them off. */
  readonly defaultMetrics?: boolean;
  /**
   * Settles when the app should stop (the first SIGTERM): the app is then returned at once,
   * even if the worker is still starting, so that `stop()` can be called from the first
   * instant. The worker's start waits for Service Bus and for a cluster that can take a pod,
   * which may be never.
   */
  readonly stopRequested?: Promise<unknown>;
  /**
   * Export traces (observability/tracing-env.ts decides from OTEL_*): OpenTelemetry is loaded
   * only then, so a worker that does not trace never loads it.
   */
  readonly tracing?: { readonly settings: TracingSettings; readonly serviceVersion: string };
}

/**
 * The composition root of `podbus run`: config -> cluster pool -> fleet -> worker, their
 * events subscribed by the metrics and the log, plus the health/metrics server. Nothing here
 * decides behaviour; it only wires parts together.
 */
export async function startWorkerApp(
  config: Config,
  options: WorkerAppOptions,
): Promise<WorkerApp> {
  const { logger } = options;
  const metrics = new WorkerMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  const tracing = await startTracingIfAsked(config, options);
  const pool = createPool(config, logger, metrics);
  const worker = new Worker({
    connection: config.serviceBus,
    queueName: config.serviceBus.queueName,
    maxConcurrentCalls: config.serviceBus.maxConcurrentCalls,
    maxLockRenewalMs: config.serviceBus.maxAutoLockRenewalDurationMs,
    shutdownGraceMs: config.worker.shutdownGraceMs,
    handler: {
      prepare: createPrepare({
        policy: policyForConfig(config),
        pod: config,
        clusterNames: pool.clusterNames,
        allowClusterPreference: config.selection.allowMessageClusterPreference,
        results: config.results,
      }),
      fleet: fleetFromPool(pool),
      stickyPlacement: config.selection.strategy === 'hash',
      retryDelayMs: (attempt, retryAfterMs) =>
        backoffDelay(
          attempt + 1,
          {
            baseMs: config.worker.retry.initialDelayMs,
            maxMs: config.worker.retry.maxDelayMs,
            jitter: 'equal',
          },
          Math.random,
          retryAfterMs,
        ),
      retryBudgetMs: config.worker.transientRetryBudgetMs,
      // Hand a held message back while its lock still holds (the lock keeper stops renewing
      // at maxAutoLockRenewalDurationMs).
      maxHoldMs: Math.floor(config.serviceBus.maxAutoLockRenewalDurationMs * 0.9),
      sleep,
      now: Date.now,
    },
    gate: pollingGate(() => pool.unavailableReason()),
    ...(tracing !== undefined && { deliveryScope: tracing.deliveryScope }),
  });
  // Subscribed to the pod watches before the pool starts, so it sees their first lists.
  const results =
    resultsEnabled(config) || cleanupEnabled(config)
      ? new ResultsService({
          pool,
          settings: config,
          sender: serviceBusSender(config.serviceBus),
        })
      : undefined;
  // Before anything starts, so that no event goes unrecorded.
  const events = {
    worker: worker.events,
    clusters: pool.events,
    ...(results !== undefined && { results: results.events }),
  };
  recordMetrics(metrics, events);
  logEvents(logger, events);
  tracing?.record(events);
  if (results !== undefined) {
    logger.info(
      {
        identity: results.identity,
        resultsQueue: config.results.queueName === '' ? undefined : config.results.queueName,
        ttlSecondsAfterFinished: config.cleanup.ttlSecondsAfterFinished,
        stuckPendingSeconds: config.cleanup.stuckPendingSeconds,
      },
      'results and cleanup: one replica per cluster acts, elected through a Lease',
    );
  }
  const stopResults = () => bounded(results?.stop(), RESULTS_STOP_BUDGET_MS);

  let health: HealthServer | undefined;
  try {
    results?.start();
    pool.start();
    if (config.http.enabled) {
      health = await startHealthServer({
        host: config.http.host,
        port: config.http.port,
        registry: metrics.registry,
        readiness: [
          { name: 'servicebus', check: () => worker.receiverProblem() },
          {
            name: 'clusters',
            check: () =>
              pool.status().some((s) => s.breaker !== 'open')
                ? undefined
                : 'every cluster circuit breaker is open',
          },
        ],
      });
      logger.info({ port: health.port }, 'serving /healthz, /readyz and /metrics');
    }
    await startUnlessStopped(worker, options);
  } catch (error) {
    await Promise.allSettled([worker.stop(), stopResults()]);
    await Promise.allSettled([pool.close(), health?.close()]);
    await tracing?.shutdown().catch(() => undefined);
    throw error;
  }

  return {
    worker,
    pool,
    results,
    metrics,
    health,
    async stop() {
      // Side by side: the leases are released at once, so another replica takes over the
      // results while this one drains its messages.
      await Promise.all([worker.stop(), stopResults()]);
      await pool.close();
      await health?.close();
      // Last: the spans of the deliveries the stop settled are exported too.
      const traces = await tracing?.shutdown().catch((error: unknown) => {
        logger.warn({ err: error }, 'exporting the last traces failed');
        return 'exported' as const;
      });
      if (traces === 'abandoned') {
        logger.warn(
          { limitMs: TRACING_FLUSH_GRACE_MS },
          'the last traces could not be exported in time; giving them up (does the OTLP endpoint answer?)',
        );
      }
    },
  };
}

/** Waits for `step` at most `limitMs`; what is left then is abandoned (the process is ending). */
async function bounded(step: Promise<void> | undefined, limitMs: number): Promise<void> {
  if (step === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, limitMs);
  });
  try {
    await Promise.race([step.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the worker, or returns early when a stop is requested while it starts. */
async function startUnlessStopped(worker: Worker, options: WorkerAppOptions): Promise<void> {
  const starting = worker.start();
  if (options.stopRequested === undefined) return starting;
  const first = await Promise.race([
    starting.then(() => 'started' as const),
    options.stopRequested.then(() => 'stop' as const),
  ]);
  if (first === 'stop') {
    // stop() ends the start (its waits are released); a failure then is only worth a line.
    starting.catch((error: unknown) =>
      options.logger.warn({ err: error }, 'the worker failed while stopping during start-up'),
    );
  }
}

async function startTracingIfAsked(
  config: Config,
  options: WorkerAppOptions,
): Promise<Tracing | undefined> {
  if (options.tracing === undefined) return undefined;
  const { startTracing } = await import('../observability/tracing.js');
  const tracing = startTracing({ ...options.tracing, queue: config.serviceBus.queueName });
  options.logger.info({ ...options.tracing.settings }, 'exporting traces (OpenTelemetry)');
  return tracing;
}

function createPool(config: Config, logger: Logger, metrics: WorkerMetrics): ClusterPool {
  for (const entry of config.clusters) {
    metrics.clusterCapacityPods.set({ cluster: entry.name }, entry.maxActivePods);
    metrics.clusterHealthy.set({ cluster: entry.name }, 1);
  }
  return new ClusterPool({
    entries: config.clusters,
    strategy: config.selection.strategy,
    logger,
    client: {
      requestTimeoutMs: config.worker.clusterRequestTimeoutMs,
      agent: { connections: connectionsForConcurrency(config.serviceBus.maxConcurrentCalls) },
    },
  });
}
