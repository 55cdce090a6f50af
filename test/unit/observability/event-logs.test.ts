import { describe, expect, it } from '@jest/globals';

import type { ClusterEvents } from '../../../src/clusters/events.js';
import { logEvents } from '../../../src/observability/event-logs.js';
import { createLogger } from '../../../src/observability/logger.js';
import { Emitter } from '../../../src/shared/typed-events.js';
import type { ResultEvents } from '../../../src/results/events.js';
import type { WorkerEvents } from '../../../src/worker/events.js';

function setup() {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    pretty: false,
    destination: { write: (line: string) => lines.push(line) },
  });
  const worker = new Emitter<WorkerEvents>();
  const clusters = new Emitter<ClusterEvents>();
  const results = new Emitter<ResultEvents>();
  logEvents(logger, { worker, clusters, results });
  /** The lines written so far, without the fields that change from run to run. */
  const logged = () =>
    lines.map((line) => {
      const {
        time: _t,
        pid: _p,
        hostname: _h,
        ...rest
      } = JSON.parse(line) as Record<string, unknown>;
      return rest;
    });
  return { worker, clusters, results, logged };
}

const received = { messageId: 'm-1', deliveryCount: 1 };
const prepared = { ...received, challengeId: 'web-1', pod: 'm-1' };
const err = (message: string) => expect.objectContaining({ type: 'Error', message });

describe('logEvents: the log lines of the worker', () => {
  it('logs the lifecycle: state, receiving, the admission gate, shutdown', () => {
    const { worker, logged } = setup();
    worker.emit('stateChanged', { from: 'initialized', to: 'running' });
    worker.emit('receiving', { queue: 'challenges', maxConcurrentCalls: 8 });
    worker.emit('gateClosed', { why: 'alpha: full (3/3)' });
    worker.emit('gateOpened', {});
    worker.emit('stopStepFailed', { step: 'closing the subscription', timedOut: true, limitMs: 5 });
    worker.emit('stopStepFailed', {
      step: 'closing the Service Bus connection',
      timedOut: false,
      error: new Error('gone'),
    });
    worker.emit('graceExpired', { inFlight: 2 });
    expect(logged()).toEqual([
      { level: 'info', from: 'initialized', to: 'running', msg: 'worker state changed' },
      { level: 'info', queue: 'challenges', maxConcurrentCalls: 8, msg: 'receiving messages' },
      {
        level: 'info',
        why: 'alpha: full (3/3)',
        msg: 'not taking messages until a cluster can accept pods',
      },
      { level: 'info', msg: 'taking messages again' },
      { level: 'warn', limitMs: 5, msg: 'closing the subscription timed out; going on' },
      {
        level: 'warn',
        err: err('gone'),
        msg: 'closing the Service Bus connection failed; going on',
      },
      {
        level: 'warn',
        count: 2,
        msg: 'shutdown grace period over; leaving the messages still in flight locked (a create may still land): the broker redelivers them when their locks lapse',
      },
    ]);
  });

  it('logs what happens to a message, each line naming it', () => {
    const { worker, logged } = setup();
    worker.emit('messagePrepared', { delivery: prepared, jsonStringBody: false });
    worker.emit('messagePrepared', { delivery: prepared, jsonStringBody: true });
    worker.emit('retry', {
      delivery: prepared,
      why: 'all-candidates-failed',
      detail: 'alpha: 429',
      delayMs: 100,
    });
    worker.emit('lockRenewal', {
      delivery: received,
      result: { ok: true, lockedUntil: new Date() },
    });
    worker.emit('lockRenewal', {
      delivery: received,
      result: { ok: false, lockLost: true, error: new Error('lock lost') },
    });
    worker.emit('handlerFailed', { delivery: received, error: new Error('bug') });
    expect(logged()).toEqual([
      {
        level: 'info',
        ...prepared,
        msg: 'the body is a JSON string holding the challenge (encoded twice); accepted',
      },
      {
        level: 'warn',
        ...prepared,
        why: 'all-candidates-failed',
        detail: 'alpha: 429',
        delayMs: 100,
        msg: 'will retry',
      },
      {
        level: 'warn',
        ...received,
        err: err('lock lost'),
        lockLost: true,
        msg: 'lock renewal failed',
      },
      {
        level: 'error',
        ...received,
        err: err('bug'),
        msg: 'unexpected error while handling a message',
      },
    ]);
  });

  it('ends every delivery with one line: info when a pod exists, warn otherwise, error when settling failed', () => {
    const { worker, logged } = setup();
    worker.emit('messageHandled', {
      delivery: prepared,
      outcome: { action: 'complete', outcome: 'duplicate', cluster: 'alpha', ...prepared },
      settled: 'settled',
      left: 'duplicate',
      durationMs: 12,
    });
    worker.emit('messageHandled', {
      delivery: received,
      outcome: { action: 'dead-letter', reason: 'SchemaViolation', description: 'no containers' },
      settled: 'settled',
      left: 'dead_lettered',
      durationMs: 3,
    });
    worker.emit('messageHandled', {
      delivery: prepared,
      outcome: { action: 'abandon', why: 'retry budget spent' },
      settled: 'settled',
      left: 'abandoned',
      durationMs: 60_000,
    });
    worker.emit('messageHandled', {
      delivery: prepared,
      outcome: { action: 'complete', outcome: 'created', cluster: 'alpha' },
      settled: 'failed',
      left: 'created',
      error: new Error('link detached'),
      durationMs: 40,
    });
    expect(logged()).toEqual([
      {
        level: 'info',
        ...prepared,
        cluster: 'alpha',
        outcome: 'duplicate',
        durationMs: 12,
        msg: 'message handled',
      },
      {
        level: 'warn',
        ...received,
        outcome: 'dead_lettered',
        durationMs: 3,
        reason: 'SchemaViolation',
        description: 'no containers',
        msg: 'message handled',
      },
      {
        level: 'warn',
        ...prepared,
        outcome: 'abandoned',
        durationMs: 60_000,
        why: 'retry budget spent',
        msg: 'message handled',
      },
      {
        level: 'error',
        ...prepared,
        err: err('link detached'),
        intended: 'complete',
        durationMs: 40,
        msg: 'settling the message failed; it will be redelivered',
      },
    ]);
  });

  it('logs the Service Bus connection: receiver errors and failed probes', () => {
    const { worker, logged } = setup();
    worker.emit('receiverError', {
      source: 'receive',
      code: 'ServiceCommunicationProblem',
      error: new Error('socket closed'),
      entityPath: 'challenges',
    });
    worker.emit('probeFailed', { code: undefined, error: new Error('peek failed') });
    expect(logged()).toEqual([
      {
        level: 'warn',
        err: err('socket closed'),
        errorSource: 'receive',
        code: 'ServiceCommunicationProblem',
        entityPath: 'challenges',
        msg: 'Service Bus receiver error',
      },
      { level: 'warn', err: err('peek failed'), msg: 'Service Bus probe failed' },
    ]);
  });
});

describe('logEvents: the log lines of the clusters', () => {
  it('logs breaker changes, opening as a warning, and an API server’s 429 pause', () => {
    const { clusters, logged } = setup();
    const change = { cluster: 'alpha', reason: '5 consecutive failures (last: connection)', at: 1 };
    clusters.emit('breakerStateChanged', { ...change, from: 'closed', to: 'open' });
    clusters.emit('breakerStateChanged', { ...change, from: 'half-open', to: 'closed' });
    clusters.emit('call', {
      cluster: 'alpha',
      operation: 'create',
      outcome: 'ok',
      attempts: 1,
      durationMs: 5,
    });
    // Pacing by the replica's own limit is routine (metrics); an API server pushing back is not.
    clusters.emit('rateLimited', { cluster: 'alpha', operation: 'create', waitedMs: 40 });
    clusters.emit('rateLimitPaused', { cluster: 'alpha', forMs: 2_000 });
    expect(logged()).toEqual([
      { level: 'warn', ...change, from: 'closed', to: 'open', msg: 'cluster circuit breaker open' },
      {
        level: 'info',
        ...change,
        from: 'half-open',
        to: 'closed',
        msg: 'cluster circuit breaker closed',
      },
      {
        level: 'warn',
        cluster: 'alpha',
        forMs: 2_000,
        msg: 'the API server is throttling (429): holding every request to it as it asked',
      },
    ]);
  });
});

describe('logEvents: results and cleanup', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const pod = {
    messageId: 'm-1',
    challengeId: 'web-1',
    traceparent,
    cluster: 'aks-1',
    pod: 'm-1',
    uid: 'u-1',
  };

  it('every line about a result names the message, its trace and its pod', () => {
    const { results, logged } = setup();
    results.emit('leadershipChanged', {
      cluster: 'aks-1',
      leading: true,
      identity: 'h_1',
      why: 'acquired the lease',
    });
    results.emit('resultSent', {
      pod,
      outcome: 'succeeded',
      queue: 'results',
      resultMessageId: 'podbus-result-u-1',
      refusedBy: { queue: 'team-gone', error: new Error('not found') },
      lagMs: 20,
    });
    results.emit('resultFailed', { pod, step: 'send', error: new Error('down'), retryInMs: 500 });
    results.emit('podDeleted', { pod, reason: 'finished', afterMs: 3_600_000 });
    expect(logged()).toEqual([
      {
        level: 'info',
        cluster: 'aks-1',
        identity: 'h_1',
        why: 'acquired the lease',
        msg: 'leading the cluster: this replica sends its results and cleans up its pods',
      },
      {
        level: 'warn',
        ...pod,
        queue: 'team-gone',
        err: err('not found'),
        msg: 'the replyTo queue refused the result; sending it to the results queue instead',
      },
      {
        level: 'info',
        ...pod,
        outcome: 'succeeded',
        queue: 'results',
        resultMessageId: 'podbus-result-u-1',
        lagMs: 20,
        msg: 'result sent',
      },
      {
        level: 'warn',
        ...pod,
        step: 'send',
        err: err('down'),
        retryInMs: 500,
        msg: 'sending the result failed; will retry',
      },
      {
        level: 'info',
        ...pod,
        reason: 'finished',
        afterMs: 3_600_000,
        msg: 'pod deleted by cleanup',
      },
    ]);
    expect(Object.keys(logged()[2]!).slice(1, 4)).toEqual([
      'messageId',
      'challengeId',
      'traceparent',
    ]);
  });

  it('a results queue that refuses results: an error that says what to fix', () => {
    const { results, logged } = setup();
    const error = new Error('The messaging entity could not be found.');
    results.emit('resultFailed', {
      pod,
      step: 'send',
      error,
      retryInMs: 500,
      refusedBy: 'results',
    });
    expect(logged()).toEqual([
      {
        level: 'error',
        ...pod,
        step: 'send',
        err: err('The messaging entity could not be found.'),
        retryInMs: 500,
        queue: 'results',
        msg: 'the results queue "results" refused the result (it does not exist, is disabled, or the worker may not send to it): create it with duplicate detection, or let the worker send to it (Send in the connection string\'s policy, or Azure Service Bus Data Sender for an Entra ID identity); will retry',
      },
    ]);
  });
});
