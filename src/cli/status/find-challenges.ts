import type { ClusterEntry } from '../../clusters/cluster-entry.js';
import type { ClusterError } from '../../clusters/errors.js';
import { podNameForMessageId } from '../../message/names.js';
import { challengeStatus, type ChallengeStatus } from './challenge-status.js';
import { askCluster, type StatusClusterClient } from './cluster-search.js';
import type { ServiceBusSearch } from './queue-search.js';

export interface FindOptions {
  /** One peek-based search of the queue and its dead-letter queue for all the IDs. */
  readonly searchServiceBus: (ids: readonly string[]) => Promise<ServiceBusSearch>;
  readonly clusters: readonly StatusClusterClient[];
  /** What went wrong with a cluster, and what to do (as `podbus clusters verify` says it). */
  readonly describeProblem: (entry: ClusterEntry, error: ClusterError) => string;
  readonly now: () => number;
}

/**
 * Looks for every challenge everywhere at once: one search of the two queues, and every cluster
 * asked for every challenge's pod, in parallel. A cluster that cannot be asked is reported as
 * such, never as "not there".
 */
export async function findChallenges(
  ids: readonly string[],
  options: FindOptions,
): Promise<ChallengeStatus[]> {
  const [serviceBus, answers] = await Promise.all([
    options.searchServiceBus(ids),
    Promise.all(
      ids.map((id) =>
        Promise.all(
          options.clusters.map((client) =>
            askCluster(client, id, podNameForMessageId(id), options.describeProblem),
          ),
        ),
      ),
    ),
  ]);
  const now = options.now();
  return ids.map((messageId, i) =>
    challengeStatus({
      messageId,
      podName: podNameForMessageId(messageId),
      serviceBus,
      answers: answers[i] ?? [],
      now,
    }),
  );
}
