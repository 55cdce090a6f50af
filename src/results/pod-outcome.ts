import type { ContainerSnapshot, PodSnapshot } from './pod-snapshot.js';

/** How a challenge's pod ended: the result's `outcome` and the result message's subject. */
export type ResultOutcome =
  'succeeded' | 'failed' | 'deadline-exceeded' | 'image-pull-failed' | 'unschedulable' | 'deleted';

export const RESULT_OUTCOMES: readonly ResultOutcome[] = [
  'succeeded',
  'failed',
  'deadline-exceeded',
  'image-pull-failed',
  'unschedulable',
  'deleted',
];

/** A pod that has ended, and how. */
export interface PodEnd {
  readonly ended: true;
  readonly outcome: ResultOutcome;
  /** When it ended (see the schema's finishedAt), epoch ms. */
  readonly endedAt: number;
  readonly reason: string | undefined;
  readonly message: string | undefined;
}

/** A pod that has not ended; `stuckUntil` is when it will count as stuck if it still is. */
export interface PodRunning {
  readonly ended: false;
  readonly stuckUntil?: number;
}

export type PodState = PodEnd | PodRunning;

/** Waiting reasons of a container whose image will not arrive by itself. */
const IMAGE_PULL_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']);

/**
 * Whether a pod has ended, from the pod alone and the time: every replica, and every leader
 * after a restart, decides the same for the same pod, so a result is the same whoever sends it.
 *
 * - Someone asked to delete the pod: `deleted`, unless it had already ended on its own before
 *   (a terminal phase with every container finished by then). A running pod deleted gracefully
 *   ends Failed (exit 143) after the request; that is still `deleted`.
 * - `Succeeded` -> succeeded; `Failed` -> deadline-exceeded when the reason is DeadlineExceeded
 *   (activeDeadlineSeconds), else failed.
 * - `Pending` with an image that cannot be pulled (ErrImagePull, ImagePullBackOff,
 *   InvalidImageName) or unschedulable (PodScheduled=False, Unschedulable): image-pull-failed or
 *   unschedulable once `stuckAfterMs` have passed since its creation and it is still stuck.
 *   It is stamped as ended at creation + stuckAfterMs, a time every replica computes alike.
 * - Anything else is still going (Pending, Running, Unknown).
 */
export function podState(pod: PodSnapshot, now: number, stuckAfterMs: number): PodState {
  const own = ownEnd(pod, now, stuckAfterMs);
  const requested = pod.deletionRequestedAt;
  if (requested === undefined) return own;
  if (own.ended && isTerminal(pod) && own.endedAt <= requested) return own;
  return {
    ended: true,
    outcome: 'deleted',
    endedAt: requested,
    reason: 'Deleted',
    message: 'the pod was deleted before it ended',
  };
}

/**
 * The state of a pod that vanished without its last state being seen (deleted while the watch
 * was down, then missing from the relist): whatever its last seen state says if that was an
 * end, else `deleted` at `now`.
 */
export function vanishedPodState(lastSeen: PodSnapshot, now: number, stuckAfterMs: number): PodEnd {
  const state = podState(lastSeen, now, stuckAfterMs);
  if (state.ended) return state;
  return {
    ended: true,
    outcome: 'deleted',
    endedAt: now,
    reason: 'Deleted',
    message: 'the pod was deleted before it ended (its deletion was not watched)',
  };
}

function isTerminal(pod: PodSnapshot): boolean {
  return pod.phase === 'Succeeded' || pod.phase === 'Failed';
}

function ownEnd(pod: PodSnapshot, now: number, stuckAfterMs: number): PodState {
  if (isTerminal(pod)) {
    const failed = pod.phase === 'Failed';
    const deadline = failed && pod.reason === 'DeadlineExceeded';
    const firstFailure = pod.containers.find(
      (c) => c.state === 'terminated' && c.exitCode !== undefined && c.exitCode !== 0,
    );
    return {
      ended: true,
      outcome: deadline ? 'deadline-exceeded' : failed ? 'failed' : 'succeeded',
      endedAt: terminalTime(pod),
      reason: pod.reason ?? (failed ? firstFailure?.reason : 'Completed'),
      message: pod.message ?? (failed ? firstFailure?.message : undefined),
    };
  }
  if (pod.phase !== 'Pending' && pod.phase !== undefined) return { ended: false };
  const stuck = stuckReason(pod);
  if (stuck === undefined || pod.createdAt === undefined) return { ended: false };
  const stuckUntil = pod.createdAt + stuckAfterMs;
  if (now < stuckUntil) return { ended: false, stuckUntil };
  return { ended: true, endedAt: stuckUntil, ...stuck };
}

/** Why a pending pod will not start by itself, if it will not. */
export function stuckReason(
  pod: PodSnapshot,
): Pick<PodEnd, 'outcome' | 'reason' | 'message'> | undefined {
  const pulling = pod.containers.find(
    (c) => c.state === 'waiting' && c.reason !== undefined && IMAGE_PULL_FAILURES.has(c.reason),
  );
  if (pulling !== undefined) {
    return { outcome: 'image-pull-failed', reason: pulling.reason, message: pulling.message };
  }
  const scheduled = pod.conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { outcome: 'unschedulable', reason: 'Unschedulable', message: scheduled.message };
  }
  return undefined;
}

/**
 * When a terminal pod ended: its last container's finish; without any (a pod failed before a
 * container ran, e.g. evicted), the latest condition change, its start, its creation.
 */
function terminalTime(pod: PodSnapshot): number {
  const finished = pod.containers.flatMap((c: ContainerSnapshot) =>
    c.finishedAt === undefined ? [] : [c.finishedAt],
  );
  if (finished.length > 0) return Math.max(...finished);
  const transitions = pod.conditions.flatMap((c) =>
    c.lastTransitionAt === undefined ? [] : [c.lastTransitionAt],
  );
  if (transitions.length > 0) return Math.max(...transitions);
  return pod.createdAt ?? 0;
}

/** When the pod's first container started, if one ever did. */
export function startedAt(pod: PodSnapshot): number | undefined {
  const starts = pod.containers.flatMap((c) => (c.startedAt === undefined ? [] : [c.startedAt]));
  return starts.length > 0 ? Math.min(...starts) : undefined;
}
