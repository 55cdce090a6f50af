import type { ResultOutcome } from './pod-outcome.js';
import type { ChallengeIdentity } from './result-body.js';

/**
 * Which pod an event is about, and the challenge it ran: the fields every log line about a
 * result carries, so they join the worker's lines of the same message (messageId, challengeId,
 * traceparent) and the cluster's view (cluster, pod, uid).
 */
export interface PodIdentity extends ChallengeIdentity {
  readonly cluster: string;
  readonly pod: string;
  readonly uid: string;
}

/**
 * What the results keepers and leader electors say happened: event name -> payload. The app
 * subscribes podbus's metrics and log lines (src/observability/); nothing here knows who
 * listens.
 */
export interface ResultEvents {
  /** This process started or stopped being the results leader of a cluster. */
  leadershipChanged: {
    readonly cluster: string;
    readonly leading: boolean;
    readonly identity: string;
    readonly why: string;
  };
  /** Reading or writing the Lease failed (not a lost race: an error, e.g. 403 or a timeout). */
  leaseFailed: { readonly cluster: string; readonly error: unknown };
  /** A pod's result was sent (possibly again: a repeat carries the same resultMessageId). */
  resultSent: {
    readonly pod: PodIdentity;
    readonly outcome: ResultOutcome;
    readonly queue: string;
    readonly resultMessageId: string;
    /** Set when the result went to the default queue because `queue` refused it. */
    readonly refusedBy?: { readonly queue: string; readonly error: unknown };
    /** Creation to the first container's start, when one started. */
    readonly toStartMs?: number;
    /** First container's start to the end, when one started. */
    readonly runMs?: number;
    /** The end of the pod to this result being sent. */
    readonly lagMs: number;
  };
  /** A step of reporting failed; it is tried again after `retryInMs` while this process leads. */
  resultFailed: {
    readonly pod: PodIdentity;
    readonly step: 'send' | 'mark';
    readonly error: unknown;
    readonly retryInMs?: number;
    /**
     * Set when the send failed because this queue will not take results (it does not exist, is
     * disabled, or the worker may not send to it): nothing goes out until someone fixes it.
     */
    readonly refusedBy?: string;
  };
  /** Cleanup deleted a pod (`stuck`: it never started; `finished`: it ended). */
  podDeleted: {
    readonly pod: PodIdentity;
    readonly reason: 'finished' | 'stuck';
    /** How long after its end (finished) or its creation (stuck) it was deleted. */
    readonly afterMs: number;
  };
  /** Deleting a pod failed; tried again later. */
  deleteFailed: { readonly pod: PodIdentity; readonly error: unknown; readonly retryInMs: number };
  /** Pods that have ended and whose result is not sent yet, as this process sees them. */
  backlogChanged: { readonly cluster: string; readonly unsent: number };
}
