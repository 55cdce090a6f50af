import type { DeadLetterSummary } from '../dead-letter-queue.js';
import type { ClusterAnswer } from './cluster-search.js';
import { podReport, type PodReport, type PodState } from './pod-report.js';
import type { QueueSearch, QueuedMessage, ServiceBusSearch } from './queue-search.js';

/**
 * Where one challenge is, put together from the two queues and every cluster (pure): what
 * `podbus status` prints, and the element of its `--json` array (docs/cli.md documents it).
 */

/** One word for where the challenge is (`ChallengeStatus.state`). */
export type ChallengeState =
  | PodState
  | 'queued'
  | 'scheduled'
  | 'deferred'
  | 'dead-lettered'
  /** Its pod was deleted while `--watch` followed it. */
  | 'deleted'
  /** Searched everywhere (within the peek limit) and not there. */
  | 'not-found'
  /** Not in the places that answered, and some place could not be searched. */
  | 'unknown';

/** How one queue was searched for this ID, and what was there. */
export type PlaceReport<T> =
  | {
      readonly searched: true;
      readonly peeked: number;
      readonly complete: boolean;
      readonly messages: readonly T[];
    }
  | { readonly searched: false; readonly problem: string };

export interface ClusterReport {
  readonly name: string;
  readonly result: ClusterAnswer['result'];
  /** For `other-pod`: the message the pod of that name was made for. */
  readonly messageId?: string;
  /** For `unreachable`: what went wrong and what to do. */
  readonly problem?: string;
}

export interface ChallengeStatus {
  readonly messageId: string;
  /** The pod name podbus derives from the message ID (src/message/names.ts). */
  readonly podName: string;
  readonly state: ChallengeState;
  /** The challenge ID, from the pod or the message body, when known. */
  readonly challengeId?: string;
  readonly queue: PlaceReport<QueuedMessage>;
  readonly deadLetterQueue: PlaceReport<DeadLetterSummary>;
  /** Pods made for this message (normally one; more only after a sender's duplicate send). */
  readonly pods: readonly PodReport[];
  readonly clusters: readonly ClusterReport[];
}

export interface StatusInput {
  readonly messageId: string;
  readonly podName: string;
  readonly serviceBus: ServiceBusSearch;
  readonly answers: readonly ClusterAnswer[];
  readonly now: number;
}

export function challengeStatus(input: StatusInput): ChallengeStatus {
  const { messageId } = input;
  const queue = placeReport(input.serviceBus.queue, messageId);
  const deadLetterQueue = placeReport(input.serviceBus.deadLetterQueue, messageId);
  const pods = input.answers.flatMap((a) =>
    a.result === 'found' ? [podReport(a.cluster, a.pod, a.events, input.now)] : [],
  );
  const clusters = input.answers.map(clusterReport);
  const state = stateOf(pods, queue, deadLetterQueue, clusters);
  const challengeId =
    pods.find((p) => p.challengeId !== undefined)?.challengeId ??
    messagesOf(deadLetterQueue).find((m) => m.challengeId !== undefined)?.challengeId ??
    messagesOf(queue).find((m) => m.challengeId !== undefined)?.challengeId;
  return {
    messageId,
    podName: input.podName,
    state,
    ...(challengeId !== undefined && { challengeId }),
    queue,
    deadLetterQueue,
    pods,
    clusters,
  };
}

/**
 * The pod, once there is one, is where the challenge is; before that the dead-letter queue or
 * the queue. A message can be in the queue and have its pod at once (the worker holds it while
 * it settles, or a redelivery): the pod wins.
 */
function stateOf(
  pods: readonly PodReport[],
  queue: PlaceReport<QueuedMessage>,
  deadLetterQueue: PlaceReport<DeadLetterSummary>,
  clusters: readonly ClusterReport[],
): ChallengeState {
  const pod = pods[0];
  if (pod !== undefined) return pod.state;
  if (messagesOf(deadLetterQueue).length > 0) return 'dead-lettered';
  const queued = messagesOf(queue)[0];
  if (queued !== undefined) return queued.state === 'active' ? 'queued' : queued.state;
  const searchedEverywhere =
    queue.searched &&
    queue.complete &&
    deadLetterQueue.searched &&
    deadLetterQueue.complete &&
    clusters.every((c) => c.result !== 'unreachable');
  return searchedEverywhere ? 'not-found' : 'unknown';
}

function placeReport<T extends { messageId: string }>(
  search: QueueSearch<T>,
  messageId: string,
): PlaceReport<T> {
  if (!search.searched) return search;
  return {
    searched: true,
    peeked: search.peeked,
    complete: search.complete,
    messages: search.found.get(messageId) ?? [],
  };
}

function clusterReport(answer: ClusterAnswer): ClusterReport {
  switch (answer.result) {
    case 'other-pod':
      return {
        name: answer.cluster,
        result: answer.result,
        ...(answer.messageId !== undefined && { messageId: answer.messageId }),
      };
    case 'unreachable':
      return { name: answer.cluster, result: answer.result, problem: answer.problem };
    default:
      return { name: answer.cluster, result: answer.result };
  }
}

export function messagesOf<T>(place: PlaceReport<T>): readonly T[] {
  return place.searched ? place.messages : [];
}
