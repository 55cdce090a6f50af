import type { V1Pod } from '@kubernetes/client-node';

import { sleep } from '../../clusters/backoff.js';
import { isClusterError } from '../../clusters/errors.js';
import { podNameForMessageId } from '../../message/names.js';
import { scrubText } from '../../shared/redaction.js';
import { challengeStatus, type ChallengeState, type ChallengeStatus } from './challenge-status.js';
import { podEvents, type ClusterAnswer, type StatusClusterClient } from './cluster-search.js';
import type { FindOptions } from './find-challenges.js';
import { followPod, type PodNews } from './pod-follower.js';
import { FINAL_POD_STATES, messageIdOfPod } from './pod-report.js';
import type { ServiceBusSearch } from './queue-search.js';

export interface FollowOptions extends FindOptions {
  /**
   * How often the queues are searched again for a challenge that has no pod yet (it may be
   * dead-lettered instead). Pods are watched, never polled.
   */
  readonly recheckMs: number;
  /** Stops following (Ctrl-C); the statuses as they are then are returned. */
  readonly signal: AbortSignal;
  /** Every new status of a challenge; `ended` once, with its last one. */
  readonly onStatus: (status: ChallengeStatus, ended: boolean) => void;
}

/** States after which nothing more happens to a challenge by itself. */
export function hasEnded(state: ChallengeState): boolean {
  return (
    (FINAL_POD_STATES as ReadonlySet<string>).has(state) ||
    state === 'dead-lettered' ||
    state === 'deleted'
  );
}

/**
 * `podbus status --watch`: follows every challenge to its end. Each challenge's pod name is
 * watched on every cluster (pod-follower.ts), so its creation, each phase and container change
 * and its deletion are seen as they happen; until a pod exists, the queues are searched again
 * every `recheckMs` to notice a dead-lettering. A challenge ends when its pod succeeds or fails,
 * when it is dead-lettered or its pod deleted; one that is nowhere to be found at the start has
 * nothing to follow and ends at once.
 */
export async function followChallenges(
  ids: readonly string[],
  options: FollowOptions,
): Promise<ChallengeStatus[]> {
  const followers = ids.map((id) => new ChallengeFollower(id, options));
  const stopAll = new AbortController();
  const stop = AbortSignal.any([options.signal, stopAll.signal]);
  let serviceBus = await options.searchServiceBus(ids);
  const allEnded = Promise.all(followers.map((f) => f.ended));
  for (const f of followers) f.start(serviceBus, stop);

  const recheck = async (): Promise<void> => {
    while (!stop.aborted) {
      await sleep(options.recheckMs, stop).catch(() => undefined);
      const waiting = followers.filter((f) => f.waitsForPod).map((f) => f.messageId);
      if (stop.aborted || waiting.length === 0) continue;
      serviceBus = await options.searchServiceBus(waiting);
      for (const f of followers) if (waiting.includes(f.messageId)) f.serviceBusChanged(serviceBus);
    }
  };
  const rechecking = recheck();
  await Promise.race([
    allEnded,
    new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve())),
  ]);
  stopAll.abort();
  await rechecking;
  await Promise.all(followers.map((f) => f.stopped));
  return followers.map((f) => f.current()).filter((s) => s !== undefined);
}

/** One challenge: what every cluster and the queues last said, and when it ends. */
class ChallengeFollower {
  readonly podName: string;
  private readonly answers = new Map<string, ClusterAnswer>();
  private serviceBus: ServiceBusSearch | undefined;
  /** The pod this message had (on some cluster) was deleted since. */
  private deletedOn: string | undefined;
  private last: ChallengeStatus | undefined;
  private done = false;
  private readonly own = new AbortController();
  private resolveEnded!: () => void;
  readonly ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    readonly messageId: string,
    private readonly options: FollowOptions,
  ) {
    this.podName = podNameForMessageId(messageId);
  }

  get stopped(): Promise<unknown> {
    return this.running;
  }

  /** No pod yet: the queues may still change where it is. */
  get waitsForPod(): boolean {
    return !this.done && this.last !== undefined && this.last.pods.length === 0;
  }

  current(): ChallengeStatus | undefined {
    return this.last;
  }

  start(serviceBus: ServiceBusSearch, stop: AbortSignal): void {
    this.serviceBus = serviceBus;
    const signal = AbortSignal.any([stop, this.own.signal]);
    this.running = Promise.all(
      this.options.clusters.map((client) =>
        followPod(client, this.podName, (news) => this.onNews(client, news), signal),
      ),
    );
  }

  serviceBusChanged(serviceBus: ServiceBusSearch): void {
    this.serviceBus = serviceBus;
    this.update();
  }

  /** Pod news arrive in order per cluster; events are read for each pod state seen. */
  private chain = new Map<string, Promise<void>>();

  private onNews(client: StatusClusterClient, news: PodNews): void {
    const previous = this.chain.get(client.name) ?? Promise.resolve();
    const next = previous.then(async () => {
      const answer = await this.answerFor(client, news);
      if (answer === undefined) return;
      this.answers.set(client.name, answer);
      this.update();
    });
    this.chain.set(client.name, next);
  }

  private async answerFor(
    client: StatusClusterClient,
    news: PodNews,
  ): Promise<ClusterAnswer | undefined> {
    const cluster = client.name;
    switch (news.kind) {
      case 'problem':
        // A pod already seen stays shown while the watch of its cluster reconnects.
        if (this.answers.get(cluster)?.result === 'found') return undefined;
        return {
          cluster,
          result: 'unreachable',
          problem: isClusterError(news.error)
            ? this.options.describeProblem(client.entry, news.error)
            : scrubText(String(news.error)),
        };
      case 'deleted':
        if (this.answers.get(cluster)?.result === 'found') this.deletedOn = cluster;
        return { cluster, result: 'not-found' };
      case 'pod':
        return this.podAnswer(client, news.pod);
    }
  }

  private async podAnswer(
    client: StatusClusterClient,
    pod: V1Pod | undefined,
  ): Promise<ClusterAnswer> {
    const cluster = client.name;
    if (pod === undefined) return { cluster, result: 'not-found' };
    const owner = messageIdOfPod(pod);
    if (owner !== this.messageId) {
      return { cluster, result: 'other-pod', ...(owner !== undefined && { messageId: owner }) };
    }
    return { cluster, result: 'found', pod, events: await podEvents(client, pod) };
  }

  private update(): void {
    if (this.done) return;
    const status = this.compose();
    if (status === undefined) return;
    const first = this.last === undefined;
    const ended = hasEnded(status.state) || (first && status.state === 'not-found');
    if (!ended) {
      this.last = status;
      this.options.onStatus(status, false);
      return;
    }
    this.done = true;
    this.own.abort();
    void this.finish(status);
  }

  /**
   * The last status: after a pod's end the queues are searched once more, so that it says where
   * the message is now (completed long since, normally), not where it was before the pod.
   */
  private async finish(status: ChallengeStatus): Promise<void> {
    let last = status;
    if (status.pods.length > 0 || status.state === 'deleted') {
      this.serviceBus = await this.options.searchServiceBus([this.messageId]);
      last = this.compose() ?? status;
    }
    this.last = last;
    this.options.onStatus(last, true);
    this.resolveEnded();
  }

  /** The status from what every cluster and the queues last said; none before all answered. */
  private compose(): ChallengeStatus | undefined {
    // Report only once every cluster has answered: the first status is a complete one.
    if (this.serviceBus === undefined || this.answers.size < this.options.clusters.length) {
      return undefined;
    }
    const status = challengeStatus({
      messageId: this.messageId,
      podName: this.podName,
      serviceBus: this.serviceBus,
      answers: this.options.clusters.flatMap((c) => this.answers.get(c.name) ?? []),
      now: this.options.now(),
    });
    return status.pods.length === 0 && this.deletedOn !== undefined
      ? { ...status, state: 'deleted' }
      : status;
  }
}
