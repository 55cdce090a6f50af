import type { PodObservation } from '../clusters/active-pods.js';
import { backoffDelay, type BackoffOptions, type RandomFn } from '../clusters/backoff.js';
import type { CallOptions, PodLogOptions, PodRef } from '../clusters/cluster-client.js';
import { ANNOTATION_REPLY_TO, ANNOTATION_RESULT_SENT } from '../message/metadata-keys.js';
import { resultQueueFor } from '../policy/result-queue.js';
import type { EventSink } from '../shared/typed-events.js';
import type { PodIdentity, ResultEvents } from './events.js';
import { readLogTails } from './log-tail.js';
import { nextStep, type NextStep, type StepSettings } from './next-step.js';
import { startedAt, type PodEnd } from './pod-outcome.js';
import { podSnapshot, type PodSnapshot } from './pod-snapshot.js';
import { buildResult, challengeIdentity, type LogTail } from './result-body.js';
import { resultMessage, resultMessageId } from './result-message.js';
import { isRefusedByQueue, type ResultSender } from './result-sender.js';
import type { CleanupSettings, ResultsSettings } from './settings.js';

/** The cluster calls the keeper makes (ClusterClient has them); unit tests pass a fake. */
export interface KeeperClient {
  readonly name: string;
  readonly namespace: string;
  annotatePod(
    ref: PodRef,
    annotations: Readonly<Record<string, string>>,
    options?: CallOptions,
  ): Promise<'annotated' | 'not-found' | 'replaced'>;
  deletePod(
    name: string,
    options?: CallOptions & { readonly uid?: string },
  ): Promise<'deleted' | 'not-found' | 'conflict'>;
  readPodLog(name: string, options: PodLogOptions): Promise<string>;
}

/** Whether this process may act for the cluster now (LeaderElector has this shape). */
export interface Leadership {
  holds(): boolean;
  termSignal(): AbortSignal | undefined;
  onChange(listener: (leading: boolean) => void): () => void;
}

export interface ResultsKeeperOptions {
  readonly client: KeeperClient;
  readonly leadership: Leadership;
  /** Undefined when results are off (cleanup alone). */
  readonly results:
    { readonly settings: ResultsSettings; readonly sender: ResultSender } | undefined;
  readonly cleanup: CleanupSettings;
  readonly events: EventSink<ResultEvents>;
  /**
   * How often every known pod is looked at again (stuck limits and TTLs come due with time,
   * not with events).
   * @defaultValue 1000
   */
  readonly tickMs?: number;
  /**
   * Results and deletions in flight at once for this cluster.
   * @defaultValue 8
   */
  readonly maxConcurrent?: number;
  /** @defaultValue { baseMs: 1000, maxMs: 60_000, jitter: 'full' } */
  readonly retry?: BackoffOptions;
  readonly now?: () => number;
  readonly random?: RandomFn;
}

/** What the keeper remembers of one pod (by uid). */
interface Entry {
  pod: PodSnapshot;
  gone: boolean;
  sentHere: boolean;
  /** A delete was accepted: wait for the watch to show it. */
  deleteIssued: boolean;
  busy: boolean;
  failures: number;
  retryAt: number;
}

/**
 * Follows one cluster's podbus pods to their end, from the pod watch the capacity tracker
 * already keeps, and while this process leads the cluster: sends each ended pod's result, marks
 * the pod (`podbus.io/result-sent`), and deletes finished pods when cleanup says so. Every
 * replica keeps the same picture, so a new leader (after a crash, a restart, a lost lease)
 * carries on from the pods alone:
 *
 * - at least once: a result is marked only after it was sent; a leader that dies between the
 *   two leaves the pod unmarked and the next leader sends it again, under the same messageId
 *   (from the pod's uid), which duplicate detection on the results queue drops;
 * - a sent result whose mark fails is remembered here and not sent again by this process;
 * - a pod deleted before its result (by someone else, or while the watch was down and relisted
 *   after a 410) is reported from its last seen state (`deleted` unless it had ended);
 * - nothing is done without the lease: `holds()` is checked right before every send and delete,
 *   and the term's signal aborts what is in flight when leadership ends.
 */
export class ResultsKeeper {
  readonly cluster: string;
  private readonly options: ResultsKeeperOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly random: RandomFn;
  private readonly maxConcurrent: number;
  private readonly retry: BackoffOptions;
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private unsent = -1;

  constructor(options: ResultsKeeperOptions) {
    this.options = options;
    this.cluster = options.client.name;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.maxConcurrent = options.maxConcurrent ?? 8;
    this.retry = options.retry ?? { baseMs: 1000, maxMs: 60_000, jitter: 'full' };
  }

  /** Takes in what the pod watch saw (ActivePodTracker.onPods). */
  observe(observation: PodObservation): void {
    switch (observation.kind) {
      case 'listed': {
        const listed = new Set<string>();
        for (const raw of observation.pods) {
          const pod = podSnapshot(raw);
          if (pod === undefined) continue;
          listed.add(pod.uid);
          this.upsert(pod, false);
        }
        // Deleted while nobody watched: the last state seen is all there is.
        for (const [uid, entry] of this.entries) if (!listed.has(uid)) entry.gone = true;
        break;
      }
      case 'changed':
      case 'deleted': {
        const pod = podSnapshot(observation.pod);
        if (pod !== undefined) this.upsert(pod, observation.kind === 'deleted');
        break;
      }
    }
    this.reconcile();
  }

  start(): void {
    if (this.timer !== undefined || this.stopping.signal.aborted) return;
    this.unsubscribe = this.options.leadership.onChange((leading) => {
      if (leading) this.reconcile();
    });
    this.timer = setInterval(() => this.reconcile(), this.options.tickMs ?? 1000);
    this.timer.unref();
  }

  /** Stops acting; what is in flight is aborted and awaited. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('results keeper stopped'));
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.idle();
  }

  /** Resolves when nothing is in flight (tests; stop). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Looks at every known pod: counts the ended ones whose result is not sent, and, while this
   * process leads, starts what is due (up to maxConcurrent at once).
   */
  reconcile(): void {
    if (this.stopping.signal.aborted) return;
    const now = this.now();
    const settings = this.stepSettings();
    const leading = this.options.leadership.holds();
    let unsent = 0;
    for (const [uid, entry] of this.entries) {
      if (entry.busy) continue;
      const step = nextStep(entry, now, settings);
      if (step.kind === 'report') unsent += 1;
      if (step.kind === 'forget') {
        // A pod that still exists stays known (a late event must not make it new again).
        if (entry.gone) this.entries.delete(uid);
        continue;
      }
      if (!leading || step.kind === 'wait' || now < entry.retryAt) continue;
      if (step.kind === 'delete' && entry.deleteIssued) continue;
      if (this.inFlight.size >= this.maxConcurrent) continue;
      this.run(entry, step);
    }
    if (unsent !== this.unsent) {
      this.unsent = unsent;
      this.options.events.emit('backlogChanged', { cluster: this.cluster, unsent });
    }
  }

  // -------------------------------------------------------------------------------------------

  private stepSettings(): StepSettings {
    return { results: this.options.results?.settings, cleanup: this.options.cleanup };
  }

  private upsert(pod: PodSnapshot, gone: boolean): void {
    const entry = this.entries.get(pod.uid);
    if (entry === undefined) {
      this.entries.set(pod.uid, {
        pod,
        gone,
        sentHere: false,
        deleteIssued: false,
        busy: false,
        failures: 0,
        retryAt: 0,
      });
      return;
    }
    // The mark stays once seen or made here: an event from before it may arrive after it.
    const mark = entry.pod.annotations[ANNOTATION_RESULT_SENT];
    entry.pod =
      mark === undefined || pod.annotations[ANNOTATION_RESULT_SENT] !== undefined
        ? pod
        : { ...pod, annotations: { ...pod.annotations, [ANNOTATION_RESULT_SENT]: mark } };
    entry.gone ||= gone;
  }

  private run(entry: Entry, step: Exclude<NextStep, { kind: 'wait' | 'forget' }>): void {
    const term = this.options.leadership.termSignal();
    if (term === undefined) return;
    const signal = AbortSignal.any([term, this.stopping.signal]);
    entry.busy = true;
    const task = (async () => {
      switch (step.kind) {
        case 'report':
          return this.report(entry, step.end, signal);
        case 'mark':
          return this.mark(entry);
        case 'delete':
          return this.delete(entry, step.reason, step.afterMs, signal);
      }
    })().finally(() => {
      entry.busy = false;
      this.inFlight.delete(task);
      this.reconcile();
    });
    this.inFlight.add(task);
  }

  private async report(entry: Entry, end: PodEnd, signal: AbortSignal): Promise<void> {
    const { settings, sender } = this.options.results!;
    const pod = entry.pod;
    const identity = this.identityOf(pod);
    let logs: Map<string, LogTail> | undefined;
    if (settings.logTailBytes > 0 && !entry.gone) {
      const read = (name: string, options: PodLogOptions) =>
        this.options.client.readPodLog(name, options);
      logs = await readLogTails(read, pod.name, pod.containers, settings.logTailBytes, signal);
    }
    const sentAt = this.now();
    const result = buildResult(pod, end, {
      cluster: this.cluster,
      namespace: this.options.client.namespace,
      now: sentAt,
      ...(logs !== undefined && { logs }),
    });
    const message = resultMessage(result);
    // The annotation is checked again, as the message's replyTo was: whoever may patch pods in
    // the namespace can write it, and allowedReplyTo may have narrowed since the pod was made.
    let queue =
      resultQueueFor(pod.annotations[ANNOTATION_REPLY_TO], settings) ?? settings.queueName;
    let refusedBy: { queue: string; error: unknown } | undefined;
    try {
      if (!this.options.leadership.holds()) return;
      try {
        await sender.send(queue, message, signal);
      } catch (error) {
        if (queue === settings.queueName || !isRefusedByQueue(error)) throw error;
        // A queue a sender named refused it: the default queue gets the result instead.
        refusedBy = { queue, error };
        queue = settings.queueName;
        if (!this.options.leadership.holds()) return;
        await sender.send(queue, message, signal);
      }
    } catch (error) {
      if (signal.aborted) return;
      this.failed(entry, identity, 'send', error, isRefusedByQueue(error) ? queue : undefined);
      return;
    }
    entry.sentHere = true;
    entry.failures = 0;
    const started = startedAt(pod);
    this.options.events.emit('resultSent', {
      pod: identity,
      outcome: end.outcome,
      queue,
      resultMessageId: resultMessageId(pod.uid),
      ...(refusedBy !== undefined && { refusedBy }),
      ...(started !== undefined &&
        pod.createdAt !== undefined && { toStartMs: Math.max(0, started - pod.createdAt) }),
      ...(started !== undefined && { runMs: Math.max(0, end.endedAt - started) }),
      lagMs: Math.max(0, sentAt - end.endedAt),
    });
    if (!entry.gone) await this.mark(entry);
  }

  /**
   * Records on the pod that its result was sent. Not bound to the term: the result is out, and
   * saying so only spares the next leader a repeat.
   */
  private async mark(entry: Entry): Promise<void> {
    const pod = entry.pod;
    const sentAt = new Date(this.now()).toISOString();
    try {
      const outcome = await this.options.client.annotatePod(
        { name: pod.name, uid: pod.uid },
        { [ANNOTATION_RESULT_SENT]: sentAt },
        { signal: this.stopping.signal },
      );
      if (outcome === 'annotated') {
        entry.pod = {
          ...pod,
          annotations: { ...pod.annotations, [ANNOTATION_RESULT_SENT]: sentAt },
        };
      } else {
        // Gone, or replaced by another pod of the same name: nothing of this uid is left to mark.
        entry.gone = true;
      }
      entry.failures = 0;
    } catch (error) {
      if (this.stopping.signal.aborted) return;
      this.failed(entry, this.identityOf(pod), 'mark', error);
    }
  }

  private async delete(
    entry: Entry,
    reason: 'finished' | 'stuck',
    afterMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const pod = entry.pod;
    const identity = this.identityOf(pod);
    if (!this.options.leadership.holds()) return;
    try {
      const outcome = await this.options.client.deletePod(pod.name, { uid: pod.uid, signal });
      if (outcome === 'deleted') {
        entry.deleteIssued = true;
        this.options.events.emit('podDeleted', { pod: identity, reason, afterMs });
      } else {
        entry.gone = true;
      }
      entry.failures = 0;
    } catch (error) {
      if (signal.aborted) return;
      const retryInMs = this.backOff(entry);
      this.options.events.emit('deleteFailed', { pod: identity, error, retryInMs });
    }
  }

  private failed(
    entry: Entry,
    pod: PodIdentity,
    step: 'send' | 'mark',
    error: unknown,
    refusedBy?: string,
  ): void {
    const retryInMs = this.backOff(entry);
    this.options.events.emit('resultFailed', {
      pod,
      step,
      error,
      retryInMs,
      ...(refusedBy !== undefined && { refusedBy }),
    });
  }

  private backOff(entry: Entry): number {
    entry.failures += 1;
    const delay = Math.round(backoffDelay(entry.failures, this.retry, this.random));
    entry.retryAt = this.now() + delay;
    return delay;
  }

  private identityOf(pod: PodSnapshot): PodIdentity {
    return { ...challengeIdentity(pod), cluster: this.cluster, pod: pod.name, uid: pod.uid };
  }
}
