/**
 * Pods as the pod watch hands them over (parsed JSON, timestamps as RFC 3339 text), built the
 * way the kubelet and scheduler leave them in each state.
 */
export const T0 = Date.parse('2026-12-05T10:00:00Z');

export const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

export interface PodOptions {
  readonly name?: string;
  readonly uid?: string;
  readonly phase?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly annotations?: Record<string, string>;
  readonly labels?: Record<string, string>;
  readonly containers?: readonly ContainerOptions[];
  readonly conditions?: readonly Record<string, unknown>[];
  /** deletionTimestamp and its grace period, in seconds after T0. */
  readonly deletion?: { readonly at: number; readonly grace: number };
}

export interface ContainerOptions {
  readonly name?: string;
  readonly image?: string;
  readonly state?: Record<string, unknown>;
  readonly restartCount?: number;
}

export function rawPod(options: PodOptions = {}): Record<string, unknown> {
  const name = options.name ?? 'msg-1';
  const containers = options.containers ?? [{}];
  return {
    metadata: {
      name,
      uid: options.uid ?? `uid-${name}`,
      creationTimestamp: at(0),
      labels: {
        messageId: name,
        challengeId: 'web-101',
        'app.kubernetes.io/managed-by': 'podbus',
        ...options.labels,
      },
      annotations: {
        'podbus.io/message-id': name,
        'podbus.io/challenge-id': 'web-101',
        ...options.annotations,
      },
      ...(options.deletion && {
        deletionTimestamp: at(options.deletion.at),
        deletionGracePeriodSeconds: options.deletion.grace,
      }),
    },
    spec: {
      containers: containers.map((c, i) => ({
        name: c.name ?? `web-101-0${i + 1}`,
        image: c.image ?? 'registry.example/web:1',
      })),
    },
    status: {
      ...(options.phase !== undefined && { phase: options.phase }),
      ...(options.reason !== undefined && { reason: options.reason }),
      ...(options.message !== undefined && { message: options.message }),
      ...(options.conditions && { conditions: options.conditions }),
      containerStatuses: containers
        .filter((c) => c.state !== undefined)
        .map((c, i) => ({
          name: c.name ?? `web-101-0${i + 1}`,
          image: c.image ?? 'registry.example/web:1',
          state: c.state,
          restartCount: c.restartCount ?? 0,
        })),
    },
  };
}

export const terminated = (
  exitCode: number,
  startedS: number,
  finishedS: number,
  reason?: string,
) => ({
  terminated: {
    exitCode,
    reason: reason ?? (exitCode === 0 ? 'Completed' : 'Error'),
    startedAt: at(startedS),
    finishedAt: at(finishedS),
  },
});

export const running = (startedS: number) => ({ running: { startedAt: at(startedS) } });

export const waiting = (reason: string, message?: string) => ({
  waiting: { reason, ...(message !== undefined && { message }) },
});

export const unschedulable = (message = '0/1 nodes are available: 1 Too many pods.') => [
  {
    type: 'PodScheduled',
    status: 'False',
    reason: 'Unschedulable',
    message,
    lastTransitionTime: at(1),
  },
];

/** The pods of every outcome, as the kubelet and scheduler leave them. */
export const POD_IN_EACH_STATE = {
  succeeded: rawPod({ phase: 'Succeeded', containers: [{ state: terminated(0, 2, 7) }] }),
  failed: rawPod({
    phase: 'Failed',
    containers: [{ state: terminated(0, 2, 5) }, { state: terminated(3, 2, 6) }],
  }),
  deadlineExceeded: rawPod({
    phase: 'Failed',
    reason: 'DeadlineExceeded',
    message: 'Pod was active on the node longer than the specified deadline',
    containers: [{ state: terminated(137, 2, 62, 'Error') }],
  }),
  imagePull: rawPod({
    phase: 'Pending',
    containers: [
      {
        image: 'unreachable.example/app:1',
        state: waiting('ImagePullBackOff', 'Back-off pulling image'),
      },
    ],
  }),
  invalidImage: rawPod({
    phase: 'Pending',
    containers: [
      { image: 'Busybox:1.36', state: waiting('InvalidImageName', "couldn't parse image name") },
    ],
  }),
  unschedulable: rawPod({ phase: 'Pending', conditions: unschedulable() }),
  running: rawPod({ phase: 'Running', containers: [{ state: running(2) }] }),
  deletedWhileRunning: rawPod({
    phase: 'Failed',
    containers: [{ state: terminated(143, 2, 11) }],
    deletion: { at: 40, grace: 30 },
  }),
};
