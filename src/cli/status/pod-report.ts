import type { CoreV1Event, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

import {
  ANNOTATION_CHALLENGE_ID,
  ANNOTATION_MESSAGE_ID,
  LABEL_CHALLENGE_ID,
} from '../../message/metadata-keys.js';

/**
 * A challenge's pod as `podbus status` shows it: a compact `kubectl describe pod`, from the pod
 * and its Events. Pure: the caller fetched both and says what time it is.
 */

/** Where a challenge's pod is on its way, in one word (`PodReport.state`). */
export type PodState =
  | 'pending'
  | 'image-pull-failing'
  | 'unschedulable'
  | 'running'
  | 'terminating'
  | 'succeeded'
  | 'failed'
  | 'deadline-exceeded'
  | 'unknown';

/** Pod states that never change by themselves again: the end `--watch` follows a pod to. */
export const FINAL_POD_STATES: ReadonlySet<PodState> = new Set([
  'succeeded',
  'failed',
  'deadline-exceeded',
]);

export interface ContainerReport {
  readonly name: string;
  readonly image: string;
  readonly state: 'waiting' | 'running' | 'terminated' | 'not-started';
  /** The kubelet's reason: ContainerCreating, ErrImagePull, Completed, Error, OOMKilled, ... */
  readonly reason?: string;
  readonly message?: string;
  readonly exitCode?: number;
  readonly restarts: number;
  readonly startedAt?: string;
  readonly finishedAt?: string;
}

export interface EventReport {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  /** How often the component recorded it (repeats are folded into one Event). */
  readonly count: number;
  /** RFC 3339: when it was last recorded. */
  readonly lastSeen?: string;
  readonly from?: string;
}

export interface PodReport {
  readonly cluster: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly phase: string;
  readonly state: PodState;
  /** Why the pod is in that state, in the API's words (pod reason, a waiting container, ...). */
  readonly reason?: string;
  readonly message?: string;
  readonly challengeId?: string;
  readonly node?: string;
  readonly podIP?: string;
  readonly createdAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Since creation, at the time of the report. */
  readonly ageSeconds?: number;
  /** Set once someone asked to delete the pod. */
  readonly deletionRequestedAt?: string;
  readonly containers: readonly ContainerReport[];
  /** Oldest first. */
  readonly events: readonly EventReport[];
  /** Why the events could not be read (the pod itself could). */
  readonly eventsProblem?: string;
}

/** Waiting reasons of a container whose image will not arrive by itself. */
const IMAGE_PULL_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']);

/** The message ID a pod was created for (podbus's annotation), if podbus created it. */
export function messageIdOfPod(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.[ANNOTATION_MESSAGE_ID];
}

export function podReport(
  cluster: string,
  pod: V1Pod,
  events: readonly CoreV1Event[] | { readonly problem: string },
  now: number,
): PodReport {
  const meta = pod.metadata ?? {};
  const status = pod.status ?? {};
  const containers = containerReports(pod);
  const created = iso(meta.creationTimestamp);
  const { state, reason, message } = stateOf(pod, containers);
  // The annotation holds the challenge ID as sent; the label only a sanitised form.
  const challengeId =
    meta.annotations?.[ANNOTATION_CHALLENGE_ID] ?? meta.labels?.[LABEL_CHALLENGE_ID];
  const finished = containers.map((c) => c.finishedAt).filter((t) => t !== undefined);
  return {
    cluster,
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    ...(meta.uid !== undefined && { uid: meta.uid }),
    phase: status.phase ?? 'Pending',
    state,
    ...(reason !== undefined && { reason }),
    ...(message !== undefined && { message }),
    ...(challengeId !== undefined && { challengeId }),
    ...(pod.spec?.nodeName !== undefined && { node: pod.spec.nodeName }),
    ...(status.podIP !== undefined && { podIP: status.podIP }),
    ...(created !== undefined && {
      createdAt: created,
      ageSeconds: Math.max(0, Math.floor((now - Date.parse(created)) / 1000)),
    }),
    ...(status.startTime !== undefined && { startedAt: iso(status.startTime) }),
    ...(FINAL_POD_STATES.has(state) &&
      finished.length === containers.length &&
      finished.length > 0 && { finishedAt: finished.sort().at(-1) }),
    ...(meta.deletionTimestamp !== undefined && {
      deletionRequestedAt: iso(meta.deletionTimestamp),
    }),
    containers,
    events: 'problem' in events ? [] : eventReports(events),
    ...('problem' in events && { eventsProblem: events.problem }),
  };
}

function stateOf(
  pod: V1Pod,
  containers: readonly ContainerReport[],
): { state: PodState; reason?: string; message?: string } {
  const status = pod.status ?? {};
  const own = { reason: status.reason, message: status.message };
  const failedContainer = containers.find(
    (c) => c.state === 'terminated' && c.exitCode !== undefined && c.exitCode !== 0,
  );
  switch (status.phase) {
    case 'Succeeded':
      return { state: 'succeeded', ...own };
    case 'Failed':
      if (status.reason === 'DeadlineExceeded') return { state: 'deadline-exceeded', ...own };
      return {
        state: 'failed',
        reason: status.reason ?? failedContainer?.reason,
        message: status.message ?? failedContainer?.message,
      };
    case 'Running':
      if (pod.metadata?.deletionTimestamp !== undefined) return { state: 'terminating', ...own };
      return { state: 'running', ...own };
    case 'Unknown':
      return { state: 'unknown', ...own };
    default:
      break;
  }
  if (pod.metadata?.deletionTimestamp !== undefined) return { state: 'terminating', ...own };
  const pulling = containers.find(
    (c) => c.state === 'waiting' && c.reason !== undefined && IMAGE_PULL_FAILURES.has(c.reason),
  );
  if (pulling) {
    return { state: 'image-pull-failing', reason: pulling.reason, message: pulling.message };
  }
  const scheduled = (status.conditions ?? []).find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { state: 'unschedulable', reason: scheduled.reason, message: scheduled.message };
  }
  const waiting = containers.find((c) => c.state === 'waiting' && c.reason !== undefined);
  return { state: 'pending', reason: waiting?.reason ?? own.reason, message: own.message };
}

function containerReports(pod: V1Pod): ContainerReport[] {
  const statuses = new Map<string, V1ContainerStatus>(
    (pod.status?.containerStatuses ?? []).map((s) => [s.name, s]),
  );
  return (pod.spec?.containers ?? []).map((container) => {
    const s = statuses.get(container.name);
    const base = {
      name: container.name,
      image: container.image ?? '',
      restarts: s?.restartCount ?? 0,
    };
    const { waiting, running, terminated } = s?.state ?? {};
    if (terminated) {
      return {
        ...base,
        state: 'terminated' as const,
        exitCode: terminated.exitCode,
        ...(terminated.reason !== undefined && { reason: terminated.reason }),
        ...(terminated.message !== undefined && { message: terminated.message }),
        ...(terminated.startedAt !== undefined && { startedAt: iso(terminated.startedAt) }),
        ...(terminated.finishedAt !== undefined && { finishedAt: iso(terminated.finishedAt) }),
      };
    }
    if (running) {
      return {
        ...base,
        state: 'running' as const,
        ...(running.startedAt !== undefined && { startedAt: iso(running.startedAt) }),
      };
    }
    if (waiting) {
      return {
        ...base,
        state: 'waiting' as const,
        ...(waiting.reason !== undefined && { reason: waiting.reason }),
        ...(waiting.message !== undefined && { message: waiting.message }),
      };
    }
    return { ...base, state: 'not-started' as const };
  });
}

/**
 * Oldest first. The kubelet stamps whole seconds and the scheduler microseconds, so within one
 * second the order of writes (resourceVersion, etcd's revision) decides, not the stamps.
 */
function eventReports(events: readonly CoreV1Event[]): EventReport[] {
  const second = (e: CoreV1Event): string => (iso(lastTime(e)) ?? '').slice(0, 19);
  const revision = (e: CoreV1Event): number => Number(e.metadata?.resourceVersion ?? 0) || 0;
  return [...events]
    .sort((a, b) => second(a).localeCompare(second(b)) || revision(a) - revision(b))
    .map((e) => {
      const lastSeen = iso(lastTime(e));
      const from = e.source?.component || e.reportingComponent || undefined;
      return {
        type: e.type ?? 'Normal',
        reason: e.reason ?? '',
        message: e.message ?? '',
        count: e.count ?? e.series?.count ?? 1,
        ...(lastSeen !== undefined && { lastSeen }),
        ...(from !== undefined && { from }),
      };
    });
}

function lastTime(e: CoreV1Event): Date | string | undefined {
  return e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp;
}

/**
 * client-node gives Dates (a watch gives strings); the report holds RFC 3339, with
 * milliseconds only when the API had them.
 */
function iso(value: Date | string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return undefined;
  return date.toISOString().replace('.000Z', 'Z');
}
