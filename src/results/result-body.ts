import {
  ANNOTATION_CHALLENGE_ID,
  ANNOTATION_MESSAGE_ID,
  ANNOTATION_TRACEPARENT,
  LABEL_CHALLENGE_ID,
  LABEL_MESSAGE_ID,
} from '../message/metadata-keys.js';
import { validTraceparent } from '../message/trace-context.js';
import { scrubText } from '../shared/redaction.js';
import { startedAt, type PodEnd, type ResultOutcome } from './pod-outcome.js';
import type { ContainerSnapshot, PodSnapshot } from './pod-snapshot.js';

/**
 * The body of a result message, as schema/challenge-result.schema.json publishes it (a unit test
 * validates what this module builds against that file).
 */
export interface ChallengeResult {
  readonly version: 1;
  readonly messageId: string;
  readonly challengeId: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly pod: { readonly name: string; readonly uid: string };
  readonly outcome: ResultOutcome;
  readonly reason?: string;
  readonly message?: string;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt: string;
  readonly durations: {
    readonly toStartSeconds?: number;
    readonly runSeconds?: number;
    readonly totalSeconds: number;
  };
  readonly containers: readonly ContainerResult[];
  readonly traceparent?: string;
  readonly reportedAt: string;
}

export interface ContainerResult {
  readonly name: string;
  readonly image: string;
  readonly state: ContainerSnapshot['state'];
  readonly exitCode?: number;
  readonly signal?: number;
  readonly reason?: string;
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly runSeconds?: number;
  readonly restartCount: number;
  readonly log?: LogTail;
}

/** The end of a container's log, or why it could not be read. */
export type LogTail =
  { readonly tail: string; readonly truncated: boolean } | { readonly error: string };

/** Kubernetes texts (a kubelet message, a termination message) are cut to this many characters. */
export const MAX_TEXT_CHARS = 1024;

export interface ResultContext {
  readonly cluster: string;
  readonly namespace: string;
  readonly now: number;
  /** Log tails by container name (only with results.logTailBytes). */
  readonly logs?: ReadonlyMap<string, LogTail>;
}

/** The identity a pod carries of its challenge message (annotations, else the labels). */
export interface ChallengeIdentity {
  readonly messageId: string;
  readonly challengeId: string;
  readonly traceparent?: string;
}

export function challengeIdentity(pod: PodSnapshot): ChallengeIdentity {
  const traceparent = validTraceparent(pod.annotations[ANNOTATION_TRACEPARENT]);
  return {
    messageId: pod.annotations[ANNOTATION_MESSAGE_ID] ?? pod.labels[LABEL_MESSAGE_ID] ?? pod.name,
    challengeId: pod.annotations[ANNOTATION_CHALLENGE_ID] ?? pod.labels[LABEL_CHALLENGE_ID] ?? '',
    ...(traceparent !== undefined && { traceparent }),
  };
}

/** The result of a pod that ended. Pure: the same pod, end and context give the same body. */
export function buildResult(
  pod: PodSnapshot,
  end: PodEnd,
  context: ResultContext,
): ChallengeResult {
  const identity = challengeIdentity(pod);
  const created = pod.createdAt ?? end.endedAt;
  const started = startedAt(pod);
  const finished = Math.max(end.endedAt, created);
  return {
    version: 1,
    messageId: identity.messageId,
    challengeId: identity.challengeId,
    cluster: context.cluster,
    namespace: context.namespace,
    pod: { name: pod.name, uid: pod.uid },
    outcome: end.outcome,
    ...(end.reason !== undefined && { reason: end.reason }),
    ...(end.message !== undefined && { message: cut(end.message) }),
    createdAt: iso(created),
    ...(started !== undefined && { startedAt: iso(started) }),
    finishedAt: iso(finished),
    durations: {
      ...(started !== undefined && { toStartSeconds: seconds(created, started) }),
      ...(started !== undefined && { runSeconds: seconds(started, finished) }),
      totalSeconds: seconds(created, finished),
    },
    containers: pod.containers.map((c) => containerResult(c, context.logs?.get(c.name))),
    ...(identity.traceparent !== undefined && { traceparent: identity.traceparent }),
    reportedAt: iso(context.now),
  };
}

function containerResult(c: ContainerSnapshot, log: LogTail | undefined): ContainerResult {
  return {
    name: c.name,
    image: c.image,
    state: c.state,
    ...(c.exitCode !== undefined && { exitCode: c.exitCode }),
    ...(c.signal !== undefined && { signal: c.signal }),
    ...(c.reason !== undefined && { reason: c.reason }),
    ...(c.message !== undefined && { message: cut(c.message) }),
    ...(c.startedAt !== undefined && { startedAt: iso(c.startedAt) }),
    ...(c.finishedAt !== undefined && { finishedAt: iso(c.finishedAt) }),
    ...(c.startedAt !== undefined &&
      c.finishedAt !== undefined && { runSeconds: seconds(c.startedAt, c.finishedAt) }),
    restartCount: c.restartCount,
    ...(log !== undefined && { log }),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Whole milliseconds as seconds, never negative (clocks of different machines). */
function seconds(from: number, to: number): number {
  return Math.max(0, to - from) / 1000;
}

/**
 * A Kubernetes text as a result carries it: scrubbed like a log line (a termination message is
 * whatever the challenge wrote, and may hold a token it read), then cut to size.
 */
function cut(text: string): string {
  const clean = scrubText(text);
  return clean.length <= MAX_TEXT_CHARS ? clean : `${clean.slice(0, MAX_TEXT_CHARS - 1)}…`;
}
