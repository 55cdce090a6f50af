import {
  ANNOTATION_RESULT_SENT,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
} from '../message/metadata-keys.js';
import { podState, stuckReason, vanishedPodState, type PodEnd } from './pod-outcome.js';
import type { PodSnapshot } from './pod-snapshot.js';
import type { CleanupSettings, ResultsSettings } from './settings.js';

/** What the results keeper knows of a pod besides the pod itself. */
export interface PodFacts {
  readonly pod: PodSnapshot;
  /** Deleted (DELETED seen, or missing from a relist): `pod` is its last seen state. */
  readonly gone: boolean;
  /** This process sent its result (the mark may not have landed yet). */
  readonly sentHere: boolean;
}

export interface StepSettings {
  /** Undefined when results are off. */
  readonly results: Pick<ResultsSettings, 'stuckAfterSeconds'> | undefined;
  readonly cleanup: CleanupSettings;
}

/**
 * The one thing to do next about a pod, or when to look again:
 * - `report`: it ended and its result was not sent;
 * - `mark`: its result was sent from here, and the pod does not say so yet;
 * - `delete`: cleanup's time has come (`reason` for the metrics);
 * - `wait`: nothing now; `until` is when something may be due (undefined: on the next change);
 * - `forget`: nothing will ever be due (gone, or not podbus's).
 */
export type NextStep =
  | { readonly kind: 'report'; readonly end: PodEnd }
  | { readonly kind: 'mark' }
  | { readonly kind: 'delete'; readonly reason: 'finished' | 'stuck'; readonly afterMs: number }
  | { readonly kind: 'wait'; readonly until?: number }
  | { readonly kind: 'forget' };

/**
 * Decides from the pod, what this process did, and the time; pure, so every leader decides alike.
 *
 * Cleanup deletes only pods labelled `app.kubernetes.io/managed-by=podbus` (the watch selects
 * only those; this checks again), never one someone is already deleting, and only once its
 * result is sent (when results are on). A finished pod goes `ttlSecondsAfterFinished` after its
 * end; a stuck one (image pull failing, unschedulable) `stuckPendingSeconds` after its creation.
 *
 * Neither before `minimumAgeSeconds` after its creation: a pod is also the memory that its
 * message was handled. A replica that dies between creating the pod and completing the message
 * leaves the message to come back when its lock lapses (within the queue's LockDuration, at most
 * 5 minutes in Service Bus); the redelivery must then find the pod, or it creates a second one
 * (a second run, with a result of its own). A short challenge with a TTL of 0 would otherwise be
 * gone by then.
 */
export function nextStep(facts: PodFacts, now: number, settings: StepSettings): NextStep {
  const { pod } = facts;
  if (pod.labels[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE) return { kind: 'forget' };
  const marked = pod.annotations[ANNOTATION_RESULT_SENT] !== undefined;
  const reported = marked || facts.sentHere;
  const results = settings.results;

  if (results !== undefined && !reported) {
    const stuckAfterMs = results.stuckAfterSeconds * 1000;
    const state = facts.gone
      ? vanishedPodState(pod, now, stuckAfterMs)
      : podState(pod, now, stuckAfterMs);
    if (state.ended) return { kind: 'report', end: state };
    return state.stuckUntil === undefined
      ? { kind: 'wait' }
      : { kind: 'wait', until: state.stuckUntil };
  }
  if (facts.gone) return { kind: 'forget' };
  if (facts.sentHere && !marked) return { kind: 'mark' };
  if (pod.deletionRequestedAt !== undefined) return { kind: 'wait' };
  return cleanupStep(pod, now, settings);
}

function cleanupStep(pod: PodSnapshot, now: number, settings: StepSettings): NextStep {
  const step = cleanupDue(pod, now, settings);
  const oldEnough = (pod.createdAt ?? 0) + settings.cleanup.minimumAgeSeconds * 1000;
  if (step.kind !== 'delete' || now >= oldEnough) return step;
  return { kind: 'wait', until: oldEnough };
}

function cleanupDue(pod: PodSnapshot, now: number, settings: StepSettings): NextStep {
  const { ttlSecondsAfterFinished: ttl, stuckPendingSeconds: stuckLimit } = settings.cleanup;
  // Stuck or not is the pod's own state; the results setting only says when it is reported.
  const state = podState(pod, now, Number.POSITIVE_INFINITY);
  if (state.ended) {
    if (ttl === 'never') return { kind: 'forget' };
    const due = state.endedAt + ttl * 1000;
    if (now < due) return { kind: 'wait', until: due };
    return { kind: 'delete', reason: 'finished', afterMs: now - state.endedAt };
  }
  if (stuckLimit === 'never' || pod.createdAt === undefined) return { kind: 'wait' };
  const due = pod.createdAt + stuckLimit * 1000;
  if (stuckReason(pod) === undefined) return { kind: 'wait' };
  if (now < due) return { kind: 'wait', until: due };
  return { kind: 'delete', reason: 'stuck', afterMs: now - pod.createdAt };
}
