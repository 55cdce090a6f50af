import type { EventSources } from './event-sources.js';
import type { Logger } from './logger.js';

/**
 * The log lines of what the worker and the clusters say happened. Conventions: a constant
 * message plus fields; every line about one message starts with its `messageId` and
 * `deliveryCount` and carries its `challengeId` and `pod` once known, so the lines of one
 * message can be joined; the last line of a delivery is `message handled`, with `outcome`
 * (created | duplicate | dead_lettered | abandoned | lock_lost | left_locked) and `durationMs`.
 * Lines about a pod's result and cleanup carry the same `messageId`, `challengeId` and
 * `traceparent` (read back from the pod), with `cluster`, `pod` and `uid`.
 */
export function logEvents(logger: Logger, { worker, clusters, results }: EventSources): void {
  worker.on('stateChanged', ({ from, to }) => logger.info({ from, to }, 'worker state changed'));
  worker.on('receiving', ({ queue, maxConcurrentCalls }) =>
    logger.info({ queue, maxConcurrentCalls }, 'receiving messages'),
  );
  worker.on('gateClosed', ({ why }) =>
    logger.info({ why }, 'not taking messages until a cluster can accept pods'),
  );
  worker.on('gateOpened', () => logger.info('taking messages again'));
  worker.on('messagePrepared', ({ delivery, jsonStringBody }) => {
    if (!jsonStringBody) return;
    logger.info(
      { ...delivery },
      'the body is a JSON string holding the challenge (encoded twice); accepted',
    );
  });
  worker.on('retry', ({ delivery, why, detail, delayMs }) =>
    logger.warn({ ...delivery, why, detail, delayMs }, 'will retry'),
  );
  worker.on('lockRenewal', ({ delivery, result }) => {
    if (result.ok) return;
    logger.warn(
      { ...delivery, err: result.error, lockLost: result.lockLost },
      'lock renewal failed',
    );
  });
  worker.on('handlerFailed', ({ delivery, error }) =>
    logger.error({ ...delivery, err: error }, 'unexpected error while handling a message'),
  );
  worker.on('messageHandled', ({ delivery, outcome, settled, left, error, durationMs }) => {
    if (settled === 'failed') {
      logger.error(
        { ...delivery, err: error, intended: outcome.action, durationMs },
        'settling the message failed; it will be redelivered',
      );
      return;
    }
    const fields = {
      ...delivery,
      cluster: 'cluster' in outcome ? outcome.cluster : undefined,
      outcome: left,
      durationMs,
      ...(outcome.action === 'dead-letter'
        ? { reason: outcome.reason, description: outcome.description }
        : {}),
      ...('why' in outcome ? { why: outcome.why } : {}),
    };
    if (left === 'created' || left === 'duplicate') logger.info(fields, 'message handled');
    else logger.warn(fields, 'message handled');
  });
  worker.on('receiverError', ({ source, code, error, entityPath, fix }) =>
    logger.warn(
      { err: error, errorSource: source, code, entityPath, ...(fix !== undefined && { fix }) },
      fix === undefined ? 'Service Bus receiver error' : `Service Bus refused podbus: ${fix}`,
    ),
  );
  worker.on('probeFailed', ({ code, error, fix }) =>
    logger.warn(
      { err: error, code, ...(fix !== undefined && { fix }) },
      fix === undefined ? 'Service Bus probe failed' : `Service Bus refused podbus: ${fix}`,
    ),
  );
  worker.on('stopStepFailed', (failure) => {
    if (failure.timedOut)
      logger.warn({ limitMs: failure.limitMs }, `${failure.step} timed out; going on`);
    else logger.warn({ err: failure.error }, `${failure.step} failed; going on`);
  });
  worker.on('graceExpired', ({ inFlight }) =>
    logger.warn(
      { count: inFlight },
      'shutdown grace period over; leaving the messages still in flight locked (a create may still land): the broker redelivers them when their locks lapse',
    ),
  );

  clusters.on('rateLimitPaused', ({ cluster, forMs }) =>
    logger.warn(
      { cluster, forMs },
      'the API server is throttling (429): holding every request to it as it asked',
    ),
  );
  clusters.on('breakerStateChanged', (change) => {
    const fields = { ...change };
    const message = `cluster circuit breaker ${change.to}`;
    if (change.to === 'open') logger.warn(fields, message);
    else logger.info(fields, message);
  });

  if (results === undefined) return;
  results.on('leadershipChanged', ({ cluster, leading, identity, why }) =>
    logger.info(
      { cluster, identity, why },
      leading
        ? 'leading the cluster: this replica sends its results and cleans up its pods'
        : 'no longer leading the cluster: another replica sends its results',
    ),
  );
  results.on('leaseFailed', ({ cluster, error }) =>
    logger.warn({ cluster, err: error }, 'reading or writing the results lease failed'),
  );
  results.on('resultSent', ({ pod, outcome, queue, resultMessageId, refusedBy, lagMs }) => {
    if (refusedBy !== undefined) {
      logger.warn(
        { ...pod, queue: refusedBy.queue, err: refusedBy.error },
        'the replyTo queue refused the result; sending it to the results queue instead',
      );
    }
    logger.info({ ...pod, outcome, queue, resultMessageId, lagMs }, 'result sent');
  });
  results.on('resultFailed', ({ pod, step, error, retryInMs, refusedBy }) => {
    const fields = { ...pod, step, err: error, retryInMs };
    if (step === 'mark') {
      logger.warn(fields, 'marking the pod as reported failed; will retry (its result was sent)');
    } else if (refusedBy !== undefined) {
      // No result gets out, and no pod is cleaned up, until someone fixes the queue.
      logger.error(
        { ...fields, queue: refusedBy },
        `the results queue "${refusedBy}" refused the result (it does not exist, is disabled, or the worker may not send to it): create it with duplicate detection, or let the worker send to it (Send in the connection string's policy, or Azure Service Bus Data Sender for an Entra ID identity); will retry`,
      );
    } else {
      logger.warn(fields, 'sending the result failed; will retry');
    }
  });
  results.on('podDeleted', ({ pod, reason, afterMs }) =>
    logger.info({ ...pod, reason, afterMs }, 'pod deleted by cleanup'),
  );
  results.on('deleteFailed', ({ pod, error, retryInMs }) =>
    logger.warn({ ...pod, err: error, retryInMs }, 'deleting the pod failed; will retry'),
  );
}
