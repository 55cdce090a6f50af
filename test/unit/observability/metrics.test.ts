import { describe, expect, it } from '@jest/globals';

import type { ClusterEvents } from '../../../src/clusters/events.js';
import { recordMetrics, WorkerMetrics } from '../../../src/observability/metrics.js';
import { Emitter } from '../../../src/shared/typed-events.js';
import type { ResultEvents } from '../../../src/results/events.js';
import type { WorkerEvents } from '../../../src/worker/events.js';

function setup() {
  const metrics = new WorkerMetrics({ defaultMetrics: false });
  const worker = new Emitter<WorkerEvents>();
  const clusters = new Emitter<ClusterEvents>();
  const results = new Emitter<ResultEvents>();
  recordMetrics(metrics, { worker, clusters, results });
  /** The samples of every podbus metric, histogram buckets and sums left out. */
  const samples = async () =>
    (await metrics.registry.metrics())
      .split('\n')
      .filter((line) => line.startsWith('podbus_') && !/_(bucket|sum)\{/.test(line));
  return { worker, clusters, results, samples, metrics };
}

const delivery = { messageId: 'm-1', deliveryCount: 0 };

describe('recordMetrics: the worker metrics follow the events', () => {
  it('counts messages from receipt to settlement, by outcome and dead-letter reason', async () => {
    const { worker, samples } = setup();
    worker.emit('messageReceived', { delivery });
    worker.emit('inFlightChanged', { inFlight: 1 });
    worker.emit('messagePrepared', { delivery, jsonStringBody: true });
    worker.emit('messagePrepared', { delivery, jsonStringBody: false });
    worker.emit('retry', { delivery, why: 'no-capacity', detail: 'full', delayMs: 0 });
    worker.emit('lockRenewal', { delivery, result: { ok: true, lockedUntil: new Date() } });
    worker.emit('lockRenewal', {
      delivery,
      result: { ok: false, lockLost: false, error: new Error('reset') },
    });
    worker.emit('lockRenewal', {
      delivery,
      result: { ok: false, lockLost: true, error: new Error('lost') },
    });
    const deadLetter = {
      action: 'dead-letter',
      reason: 'PolicyViolation',
      description: 'not allowed',
    } as const;
    worker.emit('messageHandled', {
      delivery,
      outcome: deadLetter,
      settled: 'settled',
      left: 'dead_lettered',
      durationMs: 1,
    });
    // The lock was gone before the dead letter went out: counted as lock_lost, no reason.
    worker.emit('messageHandled', {
      delivery,
      outcome: deadLetter,
      settled: 'lock-lost',
      left: 'lock_lost',
      durationMs: 1,
    });
    // Settling failed: the redelivery is counted when it ends, not this one.
    worker.emit('messageHandled', {
      delivery,
      outcome: { action: 'complete', outcome: 'created', cluster: 'a' },
      settled: 'failed',
      left: 'created',
      error: new Error('detached'),
      durationMs: 1,
    });
    worker.emit('inFlightChanged', { inFlight: 0 });
    worker.emit('receiverError', {
      source: 'receive',
      code: undefined,
      error: new Error('x'),
      entityPath: 'q',
    });
    expect(await samples()).toEqual([
      'podbus_messages_received_total 1',
      'podbus_messages_settled_total{outcome="dead_lettered"} 1',
      'podbus_messages_settled_total{outcome="lock_lost"} 1',
      'podbus_messages_dead_lettered_total{reason="PolicyViolation"} 1',
      'podbus_messages_json_string_body_total 1',
      'podbus_messages_in_flight 0',
      'podbus_lock_renewals_total{result="ok"} 1',
      'podbus_lock_renewals_total{result="error"} 1',
      'podbus_lock_renewals_total{result="lost"} 1',
      'podbus_receiver_errors_total{source="receive"} 1',
      'podbus_transient_retries_total{kind="no-capacity"} 1',
    ]);
  });

  it('follows the clusters: create latency, breaker health, active pods, throttling', async () => {
    const { clusters, samples } = setup();
    const call = { cluster: 'alpha', attempts: 1, durationMs: 250 } as const;
    clusters.emit('call', { ...call, operation: 'create', outcome: 'ok' });
    clusters.emit('call', { ...call, operation: 'create', outcome: 'throttled' });
    clusters.emit('call', { ...call, operation: 'get', outcome: 'ok' });
    const change = { cluster: 'alpha', reason: 'r', at: 0 };
    clusters.emit('breakerStateChanged', { ...change, from: 'closed', to: 'open' });
    clusters.emit('breakerStateChanged', {
      ...change,
      cluster: 'beta',
      from: 'open',
      to: 'half-open',
    });
    clusters.emit('activePodsChanged', { cluster: 'alpha', activePods: 7 });
    clusters.emit('rateLimited', { cluster: 'alpha', operation: 'create', waitedMs: 250 });
    clusters.emit('rateLimited', { cluster: 'alpha', operation: 'get', waitedMs: 1_500 });
    clusters.emit('rateLimitPaused', { cluster: 'beta', forMs: 3_000 });
    const ofClusters = (await samples()).filter((l) => /^podbus_(pod|cluster)_/.test(l));
    expect(ofClusters).toEqual([
      'podbus_pod_create_duration_seconds_count{cluster="alpha",result="ok"} 1',
      'podbus_pod_create_duration_seconds_count{cluster="alpha",result="throttled"} 1',
      'podbus_cluster_healthy{cluster="alpha"} 0',
      'podbus_cluster_healthy{cluster="beta"} 1',
      'podbus_cluster_active_pods{cluster="alpha"} 7',
      'podbus_cluster_throttled_seconds_total{cluster="alpha"} 1.75',
      'podbus_cluster_rate_limit_wait_seconds_count{cluster="alpha"} 2',
      'podbus_cluster_rate_limit_pauses_total{cluster="beta"} 1',
    ]);
  });
});

describe('recordMetrics: results and cleanup', () => {
  const pod = {
    messageId: 'm-1',
    challengeId: 'web-1',
    cluster: 'aks-1',
    pod: 'm-1',
    uid: 'u-1',
  };

  it('counts results by outcome, with time to running, run time and lag', async () => {
    const { results, samples, metrics } = setup();
    results.emit('resultSent', {
      pod,
      outcome: 'failed',
      queue: 'results',
      resultMessageId: 'podbus-result-u-1',
      toStartMs: 1500,
      runMs: 4000,
      lagMs: 250,
    });
    results.emit('resultSent', {
      pod,
      outcome: 'image-pull-failed',
      queue: 'results',
      resultMessageId: 'podbus-result-u-2',
      lagMs: 1000,
    });
    results.emit('resultFailed', { pod, step: 'mark', error: new Error('503'), retryInMs: 1000 });
    results.emit('backlogChanged', { cluster: 'aks-1', unsent: 3 });
    results.emit('podDeleted', { pod, reason: 'finished', afterMs: 10 });
    results.emit('podDeleted', { pod, reason: 'stuck', afterMs: 10 });
    results.emit('deleteFailed', { pod, error: new Error('x'), retryInMs: 5 });
    results.emit('leadershipChanged', { cluster: 'aks-1', leading: true, identity: 'a', why: 'x' });
    results.emit('leadershipChanged', { cluster: 'aks-2', leading: true, identity: 'a', why: 'x' });
    results.emit('leadershipChanged', {
      cluster: 'aks-2',
      leading: false,
      identity: 'a',
      why: 'y',
    });
    results.emit('leaseFailed', { cluster: 'aks-2', error: new Error('403') });
    expect(await samples()).toEqual(
      expect.arrayContaining([
        'podbus_results_sent_total{cluster="aks-1",outcome="failed"} 1',
        'podbus_results_sent_total{cluster="aks-1",outcome="image-pull-failed"} 1',
        'podbus_result_errors_total{cluster="aks-1",step="mark"} 1',
        'podbus_results_unsent{cluster="aks-1"} 3',
        'podbus_result_lag_seconds_count{cluster="aks-1"} 2',
        'podbus_pod_time_to_running_seconds_count{cluster="aks-1"} 1',
        'podbus_challenge_run_seconds_count{cluster="aks-1",outcome="failed"} 1',
        'podbus_pods_deleted_total{cluster="aks-1",reason="finished"} 1',
        'podbus_pods_deleted_total{cluster="aks-1",reason="stuck"} 1',
        'podbus_pod_delete_errors_total{cluster="aks-1"} 1',
        'podbus_results_leader{cluster="aks-1"} 1',
        'podbus_results_leader{cluster="aks-2"} 0',
        'podbus_lease_errors_total{cluster="aks-2"} 1',
      ]),
    );
    const lag = await metrics.resultLag.get();
    expect(lag.values.find((v) => v.metricName === 'podbus_result_lag_seconds_sum')?.value).toBe(
      1.25,
    );
    const run = await metrics.challengeRunDuration.get();
    expect(run.values.find((v) => v.metricName === 'podbus_challenge_run_seconds_sum')?.value).toBe(
      4,
    );
  });
});
