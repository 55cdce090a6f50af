import type { ServiceBusReceivedMessage } from '@azure/service-bus';

import type { ChallengeResult } from '../../../../src/results/result-body.js';
import { Stack, type StackOptions } from '../../worker/stack.js';

/** The queues results go to in these tests; duplicate detection on, as the README asks. */
export const RESULTS_QUEUE = 'results';
export const TEAM_QUEUE = 'team-a';
const WITH_DEDUP = {
  RequiresDuplicateDetection: true,
  DuplicateDetectionHistoryTimeWindow: 'PT10M',
};

/** Short leases so handovers take seconds: duration 3 s, deadline 2 s, retry 1 s. */
export const FAST_LEASE = {
  leaseDurationSeconds: 3,
  renewDeadlineSeconds: 2,
  retryPeriodSeconds: 1,
};

/** A stack whose worker sends results (and, unless told otherwise, cleans nothing up). */
export function resultsStack(options: StackOptions = {}): Promise<Stack> {
  return Stack.start({
    ...options,
    queues: [
      { name: RESULTS_QUEUE, properties: WITH_DEDUP },
      { name: TEAM_QUEUE, properties: WITH_DEDUP },
      ...(options.queues ?? []),
    ],
    config: {
      results: { queueName: RESULTS_QUEUE, allowedReplyTo: ['team-*'], stuckAfterSeconds: 2 },
      cleanup: { ttlSecondsAfterFinished: 'never', stuckPendingSeconds: 'never' },
      leaderElection: FAST_LEASE,
      policy: { allowedImages: ['registry.example/**', 'unreachable.example/**'] },
      ...options.config,
    },
  });
}

/**
 * Takes results off `queue` until `count` arrived, then keeps listening `quietMs` longer so a
 * result sent twice (and not dropped by duplicate detection) would be seen.
 */
export async function takeResults(
  stack: Stack,
  queue: string,
  count: number,
  { timeoutMs = 40_000, quietMs = 1_500 } = {},
): Promise<ServiceBusReceivedMessage[]> {
  const receiver = stack.serviceBus.createReceiver(queue, { receiveMode: 'receiveAndDelete' });
  const taken: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  try {
    while (taken.length < count && Date.now() < deadline) {
      taken.push(
        ...(await receiver.receiveMessages(count - taken.length, { maxWaitTimeInMs: 500 })),
      );
    }
    if (taken.length < count) {
      throw new Error(
        `${taken.length} of ${count} results arrived on ${queue}: ${taken.map((m) => String(m.correlationId)).join(', ')}`,
      );
    }
    taken.push(...(await receiver.receiveMessages(10, { maxWaitTimeInMs: quietMs })));
    return taken;
  } finally {
    await receiver.close();
  }
}

/** The result bodies by the challenge message they answer. */
export function byChallengeMessage(
  messages: readonly ServiceBusReceivedMessage[],
): Map<string, { message: ServiceBusReceivedMessage; body: ChallengeResult }> {
  return new Map(
    messages.map((m) => [String(m.correlationId), { message: m, body: m.body as ChallengeResult }]),
  );
}
